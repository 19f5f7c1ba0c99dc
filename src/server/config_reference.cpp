// The configuration file's keys (see server_config.h): what LoadServerConfig accepts and what
// `vigil docs config` prints into docs/operations.md. Defaults are read from a default
// ServerConfig, so the reference shows the values the code starts from.
#include <charconv>

#include "server/server_config.h"

namespace vigil::server {
namespace {

std::string String(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Integer(std::int64_t value) { return std::to_string(value); }

std::string Number(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string out(buffer, ec == std::errc{} ? end : buffer);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";  // a TOML float, not an integer
  return out;
}

std::string Boolean(bool value) { return value ? "true" : "false"; }

std::vector<ConfigKey> MakeReference() {
  const ServerConfig d;
  const auto& http = d.http;
  const auto& api = d.api;
  const auto& w = d.workflow;
  const auto& sb = d.sandbox;
  const auto& st = d.stream;
  const auto& rep = d.reporting;
  const auto& r = rep.filer.reporter;
  return {
      // The top level.
      {"", "listen", "string", String(http.host + ":" + std::to_string(http.port)),
       "HOST:PORT to listen on; port 0 picks a free one (see `--port-file`). `--listen` wins"},
      {"", "data_dir", "string", String(d.data_dir),
       "the SQLite database (`vigil.db`), uploads kept for review (`media/`) and the evidence vault (`vault/`). "
       "`--data-dir` wins"},
      {"", "database_url", "string", String(d.database_url),
       "a PostgreSQL connection string or URI; empty: SQLite in `data_dir`. `--database-url` (or "
       "`VIGIL_DATABASE_URL`) wins"},
      {"", "rules_file", "string", String(api.rules_path),
       "the policy rules and categories of violation (TOML, docs/workflow.md); empty: matches are recorded and "
       "nothing is automated. `--rules` wins; `POST /v1/rules/reload` reads it again"},
      {"", "threads", "integer", Integer(http.threads), "HTTP I/O threads; 0: one per core. `--threads` wins"},
      {"", "worker_threads", "integer", Integer(http.worker_threads),
       "threads for requests that decode media, parse lists or talk to NCMEC, off the I/O threads; 0: one per "
       "core (the decoder sandbox's large lane adds its own)"},
      {"", "max_body_bytes", "integer", Integer(static_cast<std::int64_t>(http.max_body_bytes)),
       "the largest request body (uploads, lists); a larger one gets 413 from its `Content-Length` before it is "
       "read"},
      {"", "request_timeout_ms", "integer", Integer(http.request_timeout.count()),
       "reading one request, headers and body: slow senders are cut off"},
      {"", "idle_timeout_ms", "integer", Integer(http.idle_timeout.count()),
       "a keep-alive connection idle this long is closed"},
      {"", "refresh_interval_ms", "integer", Integer(d.refresh_interval_ms),
       "how often this process reads bank changes made by others in any case; on PostgreSQL they are also pushed "
       "at commit (LISTEN/NOTIFY) and reach the index at once"},
      {"", "index_snapshot", "string", String(d.index_snapshot),
       "a folder for a snapshot of the in-memory index: read at start instead of every entry (then the changes "
       "after it are read from the store), and written every `index_snapshot_minutes`; a snapshot of another "
       "database or a damaged one is refused and the index loads from the store. Empty: none. `vigil index "
       "snapshot` writes one"},
      {"", "index_snapshot_minutes", "integer", Integer(d.index_snapshot_minutes),
       "how often a running server or worker writes `index_snapshot` (after a refresh); 0: only read it"},
      {"", "rate_limit_per_second", "integer", Integer(static_cast<std::int64_t>(api.rate_limit.per_second)),
       "requests a second per key (429 with `Retry-After` past it); 0: unlimited"},
      {"", "rate_limit_burst", "integer", Integer(static_cast<std::int64_t>(api.rate_limit.burst)),
       "a key's bucket of requests; 0: the same as `rate_limit_per_second`"},
      {"", "failed_auth_per_second", "integer", Integer(static_cast<std::int64_t>(api.failed_auth_limit.per_second)),
       "unknown or revoked keys one client address may present a second (each costs a store lookup); past it that "
       "address gets 429 for any key not already in use; 0: unlimited"},
      {"", "failed_auth_burst", "integer", Integer(static_cast<std::int64_t>(api.failed_auth_limit.burst)),
       "an address's bucket of failed key lookups; 0: the same as `failed_auth_per_second`"},
      {"", "access_log", "boolean", Boolean(api.access_log),
       "one JSON log line per request. `--no-access-log` turns it off"},
      {"", "log_level", "string", String(d.log_level), "trace, debug, info, warn, error, critical or off"},
      // [limits]
      {"limits", "max_pixels", "integer", Integer(static_cast<std::int64_t>(api.decode_limits.max_pixels)),
       "an image's width times height, checked from its header before any allocation (413 past it)"},
      {"limits", "max_dimension", "integer", Integer(api.decode_limits.max_dimension),
       "an image's width or height, likewise"},
      // [video]
      {"video", "seconds_per_hash", "number", Number(api.video.seconds_per_hash),
       "one vPDQ frame hash per this many seconds of video; 0: every frame (docs/video.md)"},
      {"video", "max_duration_seconds", "number", Number(api.video.limits.max_duration_seconds),
       "the longest video, as its container declares or its timestamps reach"},
      {"video", "max_frames", "integer", Integer(static_cast<std::int64_t>(api.video.limits.max_frames)),
       "the most frames decoded from one video"},
      {"video", "max_wall_seconds", "number", Number(api.video.limits.max_wall_seconds),
       "the longest one video's decoding may take (a sandboxed worker gets 30 s more before it is stopped)"},
      {"video", "threads", "integer", Integer(api.video.limits.threads),
       "decoder threads per video; 0: FFmpeg picks"},
      {"video", "allow_truncated", "boolean", Boolean(api.video.allow_truncated),
       "a video cut short: false refuses it (400 `truncated`), true hashes the frames that decode"},
      {"video", "query_match_percent", "number", Number(api.video_match.query_match_percent),
       "a video matches a listed one when at least this share of its frames is close to a listed frame (HMA's "
       "rule)"},
      {"video", "compared_match_percent", "number", Number(api.video_match.compared_match_percent),
       "... and at least this share of the listed video's frames is close to one of the upload's"},
      // [workflow]
      {"workflow", "lease_seconds", "integer", Integer(w.lease_seconds),
       "how long a reviewer's claim on a case lasts; a decision after it ran out is refused"},
      {"workflow", "sla_seconds_p0", "integer", Integer(w.review_sla_seconds[0]),
       "the review deadline of a case held at priority P0 (the most urgent)"},
      {"workflow", "sla_seconds_p1", "integer", Integer(w.review_sla_seconds[1]), "... at P1"},
      {"workflow", "sla_seconds_p2", "integer", Integer(w.review_sla_seconds[2]), "... at P2"},
      {"workflow", "sla_seconds_p3", "integer", Integer(w.review_sla_seconds[3]), "... at P3 (the least urgent)"},
      {"workflow", "appeal_sla_seconds", "integer", Integer(w.appeal_sla_seconds), "an appeal's review deadline"},
      {"workflow", "appeal_instructions", "string", String(w.appeal_instructions),
       "how to appeal, told to the user in every statement of reasons"},
      {"workflow", "quarantine_distinct_users", "integer", Integer(w.quarantine_distinct_users),
       "flood quarantine: a list entry whose matches come from this many accounts within the window is "
       "quarantined (a junk entry: a logo, a blank frame): its matches are held for review, never acted on "
       "automatically, until `vigil bank quarantine --release` (audited). 0: off"},
      {"workflow", "quarantine_window_seconds", "integer", Integer(w.quarantine_window_seconds),
       "... the window the accounts are counted in"},
      {"workflow", "own_bank", "string", String(api.own_bank),
       "the platform's own banks: each file of a case decided violating is listed in `<own_bank>-<category>` "
       "(PDQ, SHA-256, MD5, with the case and reviewer as provenance; one bank per category, so a match reads in "
       "the category the file was confirmed in), the next upload of it matches at upload time, and sweeps find "
       "its copies among past uploads (`[sweep]`); an appeal that restores the file takes it out. Made when "
       "missing. Empty: off (and no sweeps)"},
      // [sandbox]
      {"sandbox", "mode", "string", String(sb.mode),
       "\"auto\": decode uploads in confined worker processes where the kernel allows, else in the service "
       "process with a warning; \"required\": refuse to start without them; \"off\" (docs/sandbox.md)"},
      {"sandbox", "workers", "integer", Integer(sb.workers),
       "the small lane's workers; 0: as many as `worker_threads` (one per core)"},
      {"sandbox", "memory_mb", "integer", Integer(sb.memory_mb), "each worker's address-space limit"},
      {"sandbox", "max_requests_per_worker", "integer", Integer(sb.max_requests_per_worker),
       "a worker is replaced after this many requests"},
      {"sandbox", "image_wall_seconds", "integer", Integer(sb.image_wall_seconds),
       "a worker that has not answered an image in this long is stopped"},
      {"sandbox", "image_cpu_seconds", "integer", Integer(sb.image_cpu_seconds),
       "the CPU time (all threads) one image decode or preview may use; 0: no budget"},
      {"sandbox", "user", "string", String(sb.user),
       "a service running as root runs its workers as this user (never root)"},
      {"sandbox", "large_workers", "integer", Integer(sb.large_workers),
       "the large lane's workers (images over `large_pixels`, and videos); 0: half the small lane's, at least 1"},
      {"sandbox", "large_queue", "integer", Integer(sb.large_queue),
       "requests that may wait for a large-lane worker; more get 503"},
      {"sandbox", "large_pixels", "integer", Integer(sb.large_pixels),
       "images declaring more pixels go to the large lane; 0: images never do (videos still)"},
      {"sandbox", "large_nice", "integer", Integer(sb.large_nice), "the large lane's CPU priority (nice, 0-19)"},
      // [stream]
      {"stream", "url", "string", String(st.url),
       "the NATS server(s) `vigil worker` takes upload events from (several separated by commas); reconnects forever"},
      {"stream", "credentials_file", "string", String(st.credentials_file),
       "a NATS credentials file (user JWT and NKey seed); empty: none"},
      {"stream", "stream", "string", String(st.stream), "the JetStream stream of upload events (docs/stream.md)"},
      {"stream", "subjects", "string", String(st.subjects),
       "the subjects of upload events: what the stream captures when a worker creates it, and what the consumer reads"},
      {"stream", "durable", "string", String(st.durable),
       "the durable pull consumer every worker shares: each event goes to one of them"},
      {"stream", "results_stream", "string", String(st.results_stream),
       "the stream that keeps result events and dead letters"},
      {"stream", "result_subject", "string", String(st.result_subject),
       "where each event's result goes: the same JSON as `POST /v1/content` answers, or an error"},
      {"stream", "dead_letter_subject", "string", String(st.dead_letter_subject),
       "where events given up on go, with the reason (malformed, or failing past `max_deliveries`)"},
      {"stream", "create_streams", "boolean", Boolean(st.create_streams),
       "create the streams and the consumer when missing; false: an operator made them"},
      {"stream", "duplicate_window_seconds", "integer", Integer(st.duplicate_window_seconds),
       "how long the streams a worker creates remember a message id (a result published twice is stored once)"},
      {"stream", "concurrency", "integer", Integer(st.concurrency), "events one worker works on at once; 0: one per core"},
      {"stream", "max_in_flight", "integer", Integer(st.max_in_flight),
       "events one worker holds at once (fetched and not yet answered); 0: twice `concurrency`"},
      {"stream", "max_ack_pending", "integer", Integer(st.max_ack_pending),
       "events handed out and not yet acknowledged, all workers together (the consumer's limit)"},
      {"stream", "max_deliveries", "integer", Integer(st.max_deliveries),
       "an event that failed (or whose worker died) this many times goes to the dead letters"},
      {"stream", "ack_wait_seconds", "integer", Integer(st.ack_wait_seconds),
       "an event unacknowledged this long is delivered again; a worker resets the timer every third of it "
       "while it works"},
      {"stream", "max_inline_bytes", "integer", Integer(st.max_inline_bytes),
       "the largest media sent in the event itself; larger media are named by `Vigil-Media-Path`"},
      {"stream", "media_roots", "string", String(st.media_roots),
       "folders, separated by ':', that `Vigil-Media-Path` may name files beneath (nothing outside is read); "
       "empty: media must be inline"},
      {"stream", "metrics_listen", "string", String(st.metrics_listen),
       "HOST:PORT where a worker serves `GET /metrics` (Prometheus) and `GET /healthz`; empty: none"},
      // [reporter]
      {"reporter", "company_name", "string", String(r.company_name),
       "the reporting company, in every CyberTipline report (docs/reporting.md)"},
      {"reporter", "first_name", "string", String(r.first_name), "the reporting person"},
      {"reporter", "last_name", "string", String(r.last_name), "the reporting person"},
      {"reporter", "email", "string", String(r.email), "the reporting person"},
      {"reporter", "phone", "string", String(r.phone), "the reporting person"},
      {"reporter", "contact_email", "string", String(r.contact_email),
       "for law enforcement's follow-up, when it differs"},
      {"reporter", "company_template", "string", String(r.company_template),
       "standing text: how to serve legal process, retention, 24-hour contacts"},
      {"reporter", "terms_of_service", "string", String(r.terms_of_service), "the platform's terms"},
      {"reporter", "legal_url", "string", String(r.legal_url), "the platform's legal page"},
      {"reporter", "platform", "string", String(r.platform),
       "the product the incidents happen on (also in transparency reports' titles)"},
      {"reporter", "incident_type", "string", String(r.incident_type), "the reports' NCMEC incident type"},
      {"reporter", "industry_classification", "boolean", Boolean(r.industry_classification),
       "report the industry classification (A1..B2): only with the industry hash-sharing MOU"},
      // [cybertip]
      {"cybertip", "base_url", "string", String(rep.cybertip.base_url),
       "NCMEC's CyberTipline API (production: https://report.cybertip.org/ispws)"},
      {"cybertip", "username", "string", String(rep.cybertip.username),
       "the CyberTipline account; empty: no background filing"},
      {"cybertip", "password_env", "string", String(rep.password_env),
       "the environment variable holding the password (never in the file)"},
      {"cybertip", "approval", "string", String(rep.filer.approval),
       "\"separate\": a person approves each report; \"decision\": the reviewer's violating decision approves it"},
      {"cybertip", "xsd_path", "string", String(rep.filer.xsd_path),
       "NCMEC's schema (`vigil report xsd`): every report is validated against it; empty: no schema check"},
      {"cybertip", "attempts", "integer", Integer(rep.cybertip.attempts), "tries per request to NCMEC"},
      {"cybertip", "backoff_ms", "integer", Integer(rep.cybertip.backoff.count()),
       "the wait before the first retry, doubled after each failed try (at most 30 s)"},
      {"cybertip", "timeout_seconds", "integer", Integer(rep.cybertip.timeout.count()), "one request to NCMEC"},
      {"cybertip", "file_interval_seconds", "integer", Integer(rep.file_interval_seconds),
       "the service files approved reports in the background this often (with a `username`); 0: off"},
      // [vault]
      {"vault", "master_key_env", "string", String(rep.vault_key_env),
       "the environment variable holding the evidence vault's master key (64 hex digits); when set, it wins "
       "over `master_key_file`"},
      {"vault", "master_key_file", "string", String(rep.vault_key_file),
       "a file holding the master key instead; without a key the evidence routes answer 503"},
      {"vault", "retention_days", "integer", Integer(rep.retention_days),
       "how long preserved evidence is kept (at least 365) unless a legal hold keeps it longer"},
      {"vault", "preserve_on_confirm", "boolean", Boolean(rep.preserve_on_confirm),
       "preserve a case's items in the vault on every violating decision"},
      {"vault", "purge_interval_hours", "integer", Integer(rep.purge_interval_hours),
       "the service purges expired evidence that is not held this often (with the vault open); 0: off"},
      // [uploads]
      {"uploads", "retention_days", "integer", Integer(d.uploads.retention.keep_days),
       "how long uploads that matched nothing keep their record and hashes (for lists that grow later); 0: for "
       "good. Uploads of an account with a case or an enforcement action are never removed"},
      {"uploads", "partitions_ahead_days", "integer", Integer(d.uploads.retention.partitions_ahead_days),
       "PostgreSQL: the daily partitions of such uploads are made this many days ahead"},
      {"uploads", "maintenance_minutes", "integer", Integer(d.uploads.maintenance_minutes),
       "every server and worker runs the upload maintenance (partitions, retention) this often, and once at "
       "start; replicas take turns. 0: never (run `vigil uploads maintain` from cron instead)"},
      // [exchanges]
      {"exchanges", "poll_seconds", "integer", Integer(api.exchange_poll_seconds),
       "how often `vigil serve` looks for enabled exchanges due a sync (each has its own interval) and sends "
       "their feedback; one replica at a time holds each (docs/exchanges.md). 0: only by hand "
       "(`vigil exchange sync`, `POST /v1/exchanges/{name}/sync`)"},
      {"exchanges", "allowed_hosts", "string", String(""),
       "hosts, comma-separated, that exchanges may reach besides each service's own (NCMEC's environments, "
       "api.stopncii.org, graph.facebook.com): a plain list's host, or a stand-in's. An exchange's credentials "
       "are only ever sent to these"},
      {"exchanges", "list_directory", "string", String(api.exchange_list_directory),
       "the directory `url` exchanges may read `file:` lists from; empty: none"},
      {"exchanges", "credentials_directory", "string", String(api.exchange_credentials_directory),
       "the directory the service reads exchanges' `file:` credentials from; empty: none (variables named "
       "`VIGIL_EXCHANGE_*` only). Other variables and files of the process are never read as credentials"},
      // [hma]
      {"hma", "enabled", "boolean", Boolean(api.hma.enabled),
       "serve the HMA-compatible API (Hasher-Matcher-Actioner 2.x routes /h, /m, /c, /status; docs/hma.md) "
       "on a listener of its own, so HMA integrations and ROOST's Coop can use Vigil unchanged"},
      {"hma", "listen", "string", String(api.hma.listen),
       "HOST:PORT of that listener (loopback by default: HMA clients send no credentials; port 0 picks one)"},
      {"hma", "key", "string", String(api.hma.key),
       "the name of the Vigil key callers without a key act as on /h and /m (a `submitter`): its role, rate "
       "limit and audit trail apply to everything they do"},
      {"hma", "curator_key", "string", String(api.hma.curator_key),
       "the key callers act as on /c (banks, content, exchanges: a `bank-admin`); empty: `key`"},
      {"hma", "require_bearer", "boolean", Boolean(api.hma.require_bearer),
       "callers must send a Vigil key (\"Authorization: Bearer ...\") and act as it; for clients that can. "
       "Without it an Authorization header is not read"},
      {"hma", "mode", "string", String(api.hma.record ? "record" : "lookup"),
       "\"lookup\": as HMA, nothing is recorded; \"record\": media looked up by file or URL (POST /m/lookup, "
       "GET /m/lookup?url=) is recorded and goes through the policy like POST /v1/content (ids from "
       "`content_id` and `user_id` query parameters)"},
      {"hma", "allowed_hosts", "string", String(""),
       "hosts, comma-separated, that `?url=` may fetch media from (HMA's ALLOWED_HOSTNAMES); empty: URL "
       "fetching is refused. HTTPS only (plain HTTP to loopback for tests); redirects only to the same host"},
      {"hma", "allow_private_addresses", "boolean", Boolean(api.hma.allow_private_addresses),
       "whether an allowed host may resolve to a loopback, private, link-local or CGNAT address"},
      {"hma", "fetch_max_mb", "integer", Integer(static_cast<std::int64_t>(api.hma.max_fetch_bytes >> 20)),
       "the largest download `?url=` takes (HMA: 100 MB); a larger one is refused, nothing past it read"},
      {"hma", "fetch_timeout_seconds", "integer", Integer(api.hma.fetch_timeout_seconds),
       "the whole download must finish within this (HMA: 30 s)"},
      {"hma", "max_url_fetches", "integer", Integer(api.hma.max_url_fetches),
       "`?url=` downloads at once, all callers together; more are answered 503 with Retry-After, so slow "
       "downloads cannot take every worker that hashes uploads"},
      // [webhooks]
      {"webhooks", "url", "string", String(d.webhooks.options.url),
       "where events to the platform are POSTed as signed webhooks (docs/events.md): https://..., plain http only to "
       "this host; empty: none (the feed GET /v1/events is always there)"},
      {"webhooks", "secret_env", "string", String(d.webhooks.secret_env),
       "the environment variable holding the HMAC-SHA256 key webhooks are signed with (at least 16 characters); `vigil "
       "serve` refuses to start with a url and no such secret"},
      {"webhooks", "timeout_seconds", "integer", Integer(d.webhooks.options.timeout.count()),
       "the receiver must answer within this; otherwise the attempt failed"},
      {"webhooks", "max_attempts", "integer", Integer(d.webhooks.options.max_attempts),
       "attempts before an event is a dead letter (GET /v1/events/dead; POST /v1/events/{id}/redeliver)"},
      {"webhooks", "backoff_seconds", "integer", Integer(d.webhooks.options.backoff.count()),
       "the wait before the second attempt, doubled for each one after"},
      {"webhooks", "max_backoff_seconds", "integer", Integer(d.webhooks.options.max_backoff.count()),
       "the longest wait between attempts"},
      {"webhooks", "poll_ms", "integer", Integer(d.webhooks.options.poll.count()),
       "how often the outbox is looked at for events to send"},
      {"webhooks", "concurrency", "integer", Integer(d.webhooks.options.concurrency),
       "attempts at once, each for another account (an account's events go one at a time, in order): a receiver "
       "slow for some accounts holds up no other"},
      // [classifiers]
      {"classifiers", "file", "string", String(d.classifiers_file),
       "a classifiers file (TOML, `[[classifier]]` tables: Google's Content Safety API, Thorn's Safer Predict, a "
       "model server of the platform's own or a local ONNX model run in the decoder sandbox, docs/classifiers.md): "
       "every upload they take is scored, and rules with "
       "`min_score` may hold it for review (never more). Read at start; a file that does not load stops the start. "
       "Empty: no classifiers"},
      // [hash_plugins]
      {"hash_plugins", "file", "string", String(d.hash_plugins_file),
       "a licensed-hash plug-ins file (TOML, `[[plugin]]` tables: the shared object implementing a hash Vigil cannot "
       "ship, such as PhotoDNA under a licence, its SHA-256, its signal type and value length, docs/hash-plugins.md). "
       "Each plug-in runs only in sandbox workers of its own; every upload is hashed with it and matched against the "
       "entries of its type by its own distance. Read at start; a plug-in that does not load stops the start. Empty: none"},
      // [retroactive]
      {"retroactive", "window_days", "integer", Integer(d.retroactive_days),
       "`vigil serve` keeps the PDQ, SHA-256 and MD5 of the uploads of this many days in memory (~105 B each at 10M; "
       "videos: ~80 B per distinct frame) and "
       "searches every entry an import adds against them: uploads found are recorded with late matches and the "
       "rules decide (`found = \"later\"`, docs/workflow.md). 0: off. Only uploads still kept are found "
       "(`[uploads] retention_days`)"},
      // [sweep]
      {"sweep", "enabled", "boolean", Boolean(api.sweep),
       "a case decided violating sweeps the past uploads of the `[retroactive]` window for copies of its files "
       "(exact digests, PDQ within `pdq_max_distance`): each copy is blocked or held per the rules "
       "(`found = \"sweep\"`) and always put in a case of its account's, linked to the deciding case, for a "
       "person to decide; a sweep never acts on an account or reports on its own. Needs `[workflow] own_bank` "
       "(the copies match its entries) and `[retroactive] window_days` > 0"},
      {"sweep", "pdq_max_distance", "integer", Integer(api.sweep_options.pdq_max_distance),
       "PDQ copies within this distance of a confirmed file are swept; -1: the own bank's distance"},
      {"sweep", "block", "boolean", Boolean(api.sweep_options.block),
       "block each copy while its case waits, when no rule for sweeps says otherwise"},
      // [tls]
      {"tls", "cert_file", "string", String(http.tls_cert_file),
       "PEM file of the server's certificate and its chain: the API and console are served over TLS 1.2/1.3 only "
       "(forward-secret AEAD ciphers; older clients are refused) with Strict-Transport-Security. SIGHUP reads "
       "both files again for new connections (a renewed certificate); open connections go on. Empty: plain HTTP "
       "(put a TLS front end before it, docs/operations.md)"},
      {"tls", "key_file", "string", String(http.tls_key_file), "PEM file of the certificate's private key"},
      // [sso]
      {"sso", "issuer", "string", String(api.sso.oidc.issuer),
       "the OpenID provider people sign in to the console with (its discovery document is ISSUER/.well-known/"
       "openid-configuration and must name this issuer exactly); https, or http to this host only. Empty: no "
       "single sign-on (API keys only). docs/operations.md, single sign-on"},
      {"sso", "client_id", "string", String(api.sso.oidc.client_id), "Vigil's client id at the provider"},
      {"sso", "client_secret_env", "string", String(d.sso_client_secret_env),
       "the environment variable holding the client's secret (client_secret_basic); it wins over "
       "`client_secret_file`. Neither set: a public client (PKCE alone)"},
      {"sso", "client_secret_file", "string", String(d.sso_client_secret_file), "a file holding the secret instead"},
      {"sso", "redirect_uri", "string", String(api.sso.oidc.redirect_uri),
       "this service's callback as registered with the provider: https://HOST/v1/sso/callback (http only to this "
       "host). An https one (or [tls]) makes the cookies Secure"},
      {"sso", "scopes", "string", String(api.sso.oidc.scopes), "the scopes asked for (openid is required)"},
      {"sso", "algorithms", "string", "\"RS256,ES256\"",
       "the ID-token signature algorithms accepted, comma-separated, of RS256, RS384, RS512, ES256, ES384 (never "
       "none or HMAC)"},
      {"sso", "name_claim", "string", String(api.sso.name_claim),
       "the ID-token claim that is the person's Vigil name (the audit log, claims, decisions and queue "
       "memberships name people by it); bound to the provider's subject at the first sign-in"},
      {"sso", "groups_claim", "string", String(api.sso.oidc.groups_claim), "the ID-token claim listing the person's groups"},
      {"sso", "group_roles", "string", String(api.sso.group_roles),
       "which groups give which roles: GROUP=ROLE[,ROLE...] pairs separated by ';' (\"t-and-s=reviewer; "
       "legal=legal,reviewer\"). A person holds every role their groups give; one in none of them is not signed in"},
      {"sso", "idle_minutes", "integer", Integer(api.sso.idle_minutes),
       "a session with no request for this long ends (1-1440; kept to within a minute across replicas)"},
      {"sso", "absolute_hours", "integer", Integer(api.sso.absolute_hours),
       "a session ends this long after sign-in, however busy (1-168); roles are read again at the next sign-in"},
      {"sso", "clock_skew_seconds", "integer", Integer(api.sso.oidc.leeway_seconds),
       "how far the provider's clock may be from this one when checking a token's times (0-300)"},
      {"sso", "provider_name", "string", String(api.sso.provider_name), "the console's button says \"Sign in with ...\""},
      // [wellness]
      {"wellness", "reveal_limit", "integer", Integer(api.wellness.reveal_limit),
       "the organisation's limit: originals a reviewer may reveal before a break (1-500). Managers (admin keys) "
       "may set a lower one per reviewer, reviewers a lower one for themselves; never a higher one. Reaching it "
       "starts a break, enforced by the server (docs/workflow.md, wellness)"},
      {"wellness", "break_minutes", "integer", Integer(api.wellness.break_minutes),
       "a break lasts at least this long (1-240): no original is revealed until it ends"},
      {"wellness", "exposure_cap_minutes", "integer", Integer(api.wellness.exposure_cap_minutes),
       "in the exposure figures, a reveal the console never covered again counts this long at most (1-240)"},
      // [legal]
      {"legal", "signing_key_env", "string", String(rep.signing_key_env),
       "the environment variable holding the Ed25519 seed (64 hex digits) that signs law-enforcement "
       "productions and audit anchors; when set, it wins over `signing_key_file`"},
      {"legal", "signing_key_file", "string", String(rep.signing_key_file), "a file holding the seed instead"},
      {"legal", "productions_dir", "string", String(api.productions_dir),
       "where the service writes law-enforcement productions (legal-request-ID-TIME.tar); empty: answered to the "
       "custodian only, never written to disk. Must be outside data_dir (refused at start-up)"},
  };
}

}  // namespace

const std::vector<ConfigKey>& ConfigReference() {
  static const std::vector<ConfigKey> reference = MakeReference();
  return reference;
}

std::vector<std::string_view> ConfigTables() {
  std::vector<std::string_view> tables;
  for (const auto& k : ConfigReference()) {
    if (!k.table.empty() && (tables.empty() || tables.back() != k.table)) tables.push_back(k.table);
  }
  return tables;
}

}  // namespace vigil::server
