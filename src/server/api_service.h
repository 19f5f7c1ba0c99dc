// The HTTP/JSON API (/v1) over the store and the matcher: routing, key authentication and role
// checks, rate limits, JSON errors with the right status, metrics and access logs. The handlers
// live in content_routes.cpp (hash, lookup, content), bank_routes.cpp (banks, imports, entries)
// and admin_routes.cpp (keys, audit, health, metrics, OpenAPI).
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "classify/classifier_set.h"
#include "match/index_follower.h"
#include "server/authenticator.h"
#include "server/http_server.h"
#include "server/log_throttle.h"
#include "server/metrics.h"
#include "server/webhook_sender.h"
#include "vigil/review_queues.h"
#include "vigil/wellness.h"
#include "signals/media_hashing.h"
#include "sso/group_roles.h"
#include "sso/oidc_client.h"
#include "vigil/cases.h"
#include "vigil/image.h"
#include "vigil/matcher.h"
#include "vigil/policy.h"
#include "vigil/exchange.h"
#include "vigil/store.h"
#include "vigil/video.h"
#include "workflow/decision_workflow.h"
#include "workflow/retro_matcher.h"
#include "workflow/upload_workflow.h"

namespace vigil::server {

// [hma]: the HMA-compatible surface (hma_routes.cpp, docs/hma.md) on a listener of its own.
struct HmaOptions {
  bool enabled = false;
  std::string listen = "127.0.0.1:5100";
  // Callers that send no key act as the key named `key` on /h and /m, and as `curator_key` (or
  // `key` when that is empty) on /c. With require_bearer, every caller must send a Vigil key as
  // "Authorization: Bearer ..." and acts as that key.
  std::string key;
  std::string curator_key;
  bool require_bearer = false;
  // "lookup": HMA's behaviour (nothing recorded). "record": media looked up by file or URL is
  // recorded and goes through the policy like POST /v1/content.
  bool record = false;
  // ?url= fetching: hosts allowed (empty: none), internal addresses, size and time limits.
  std::vector<std::string> allowed_hosts;
  bool allow_private_addresses = false;
  std::uint64_t max_fetch_bytes = 100ull << 20;
  int fetch_timeout_seconds = 30;
  int max_url_fetches = 4;  // downloads at once; more are answered 503 (slow ones cannot take every worker)
};

// [sso]: people sign in to the console through the organisation's OpenID provider (sso_routes.cpp,
// docs/operations.md "Single sign-on").
struct SsoOptions {
  sso::OidcSettings oidc;        // issuer "" : single sign-on is off
  std::string group_roles;       // "staff-reviewers=reviewer; legal=legal,reviewer" (group_roles.h)
  std::string name_claim = "preferred_username";  // the claim that is the person's Vigil name
  std::int64_t idle_minutes = 30;
  std::int64_t absolute_hours = 12;
  std::string provider_name = "the identity provider";  // the console's button: "Sign in with ..."
  // Secure, __Host- prefixed cookies: the server serves TLS itself, or the redirect URI is https
  // (a TLS front end). Never set over plain http (the browser would drop them).
  bool secure_cookies = false;
  // Sign-ins that may wait on the provider at once (each holds one of the server's worker threads):
  // `vigil serve` sets half its workers, 1 to 8, so uploads always keep the other half.
  int max_waiting_sign_ins = 1;
};

struct ApiOptions {
  DecodeLimits decode_limits;
  VideoHashOptions video;       // uploads: one frame a second by default
  VpdqMatchOptions video_match;  // HMA's defaults
  RateLimit rate_limit;
  RateLimit failed_auth_limit{10, 100};  // unknown keys one client address may present (0: unlimited)
  std::size_t max_json_bytes = 8ull << 20;  // JSON bodies; media and lists use the server's limit
  bool access_log = true;
  std::string rules_path;  // policy rules (TOML); empty: matches are recorded, nothing is automated
  // The classifiers that score every upload ([classifiers] file); null: none.
  std::shared_ptr<classify::ClassifierSet> classifiers;
  std::string media_dir;   // where uploads that open or join a case are kept for review; empty: none
  std::string own_bank = "platform";  // [workflow] own_bank: confirmed files listed in "<own_bank>-<category>"
  // [sweep]: a violating decision searches past uploads for copies (needs the own bank and the
  // past-upload index, [retroactive] window_days).
  bool sweep = true;
  SweepOptions sweep_options;
  // Law-enforcement productions (POST /v1/legal-requests/{id}/production) are answered to the
  // custodian as a tar archive built in memory, at most max_production_bytes; with productions_dir
  // set (legal.productions_dir, never inside the data directory) they are written there instead.
  std::string productions_dir;
  std::uint64_t max_production_bytes = 512ull << 20;
  // Hashes an upload's bytes; empty: in this process. The service sets the sandboxed workers'.
  std::function<Result<HashedMedia>(std::span<const std::uint8_t>, const MediaHashOptions&)> media_hasher;
  // Licensed-hash plug-ins' values and matches of an upload (sandbox/plugin_signals.h); empty: none.
  std::function<Result<std::vector<PluginSignalMatch>>(std::span<const std::uint8_t>, const MediaHashOptions&)> plugin_signals;
  // Looks up a plug-in type's value without its media (POST /v1/lookup); empty: refused.
  std::function<Result<std::vector<MatchHit>>(const std::string& signal, const std::string& value)> plugin_lookup;
  // Makes a reviewer's blurred preview; empty: in this process.
  std::function<Result<std::vector<std::uint8_t>>(std::span<const std::uint8_t>)> preview_maker;
  // Called before /metrics renders, to mirror counts kept outside the service (decoder workers,
  // background reporting) into it.
  std::function<void(ServiceMetrics&)> collect_metrics;
  // [exchanges]: how often the service looks for exchanges due a sync (0: only by hand), the hosts
  // beyond each service's own that an exchange may reach (a plain list's, a stand-in's), and the
  // directory file lists may be read from ("" : none).
  int exchange_poll_seconds = 30;
  std::vector<std::string> exchange_allowed_hosts;
  std::string exchange_list_directory;
  std::string exchange_credentials_directory;
  HmaOptions hma;
  // [wellness]: the organisation's reveal limit and breaks (include/vigil/wellness.h).
  WellnessPolicy wellness;
  SsoOptions sso;
};

struct ReportingServices;

// What a handler sees: the request, the path parameters and query, and the caller's key.
struct ApiCall {
  Request& request;
  std::map<std::string, std::string> path;   // {name} -> value
  std::map<std::string, std::string> query;  // decoded ?a=b&c=d
  const ApiKeyRecord* key = nullptr;         // null on public routes
  // Who acted, the same in every record (audit log, decisions, claims, legal requests): the key's
  // name, or "anonymous" on public routes (no key may take that name, nor "cli", "policy" or
  // "system", the actors that are not keys).
  std::string actor;
  std::string remote{};  // the client's address
};

class ApiService {
 public:
  using Handler = Response (ApiService::*)(ApiCall&);
  struct Route {
    http::verb method;
    std::string pattern;              // "/v1/banks/{name}"
    std::vector<std::string> roles;   // empty: public
    Handler handler;
  };

  ApiService(Store& store, Matcher& matcher, ApiOptions options);
  ~ApiService();

  // The HttpServer's admission, from the header alone: the route, the key, its role and rate, and
  // the body this route may send. Refusals are answered, counted and logged here.
  Admission Admit(const RequestHeader& header, const std::string& remote);
  // The HttpServer's handler (admits the request first when the server did not).
  Response Handle(Request& request, const RequestInfo& info);
  // Counts (and logs) what the HTTP layer did on its own: refusals before routing, answers that
  // could not be delivered, connection caps and accept back-off.
  void Observe(HttpEvent event, unsigned status, const std::string& detail);
  // The server's callbacks, bound to this service.
  HttpCallbacks Callbacks();
  // Requests whose handlers decode media, parse lists or talk to NCMEC: the HTTP server runs them
  // on its worker pool so that lookups keep flowing on the I/O threads.
  static bool IsHeavy(http::verb method, std::string_view path);
  static const std::string& ConsolePolicy();

  // The CyberTipline filer, the evidence vault and the signing key (reporting_services.h); without
  // them the reporting routes answer 503. Not owned.
  void AttachReporting(ReportingServices* services);

  // Every route, for the OpenAPI document test and the role tests.
  static const std::vector<Route>& Routes();

  // The HMA-compatible surface ([hma], hma_routes.cpp, hma_curation_routes.cpp): its own
  // listener's callbacks. Its routes are authorised, rate-limited, counted and audited as the key
  // the caller acts as (HmaOptions), like /v1; answers and errors ({"message"}) are HMA's.
  struct HmaRoute {
    http::verb method;
    std::string pattern;              // "/c/bank/{bank_name}"
    std::vector<std::string> roles;   // empty: public (the probes, the site map)
    bool curation = false;            // acts as [hma] curator_key
    bool heavy = false;               // decodes media or fetches a URL: the worker pool, the server's body limit
    Handler handler;
  };
  static const std::vector<HmaRoute>& HmaRoutes();
  HttpCallbacks HmaCallbacks();
  // At start: the keys [hma] names exist and are active (kInvalidArgument naming the one that is
  // not); a role that cannot call every route it is used for is logged.
  Status CheckHmaKeys();
  // At start, with [sso]: logs the issuer, the client (confidential or public) and whether the
  // provider's discovery document was reached (an error naming why every sign-in would fail).
  Status CheckSso();

  // Marks the service ready (after the matcher loaded) and keeps the matcher current with the
  // store until destruction (match/index_follower.h): at once when PostgreSQL (`postgres_url`, ""
  // for SQLite) announces a bank change, and every `interval` regardless; writes a matcher snapshot
  // to `snapshot_dir` after a refresh at most every `snapshot_every` (0: never).
  void StartRefreshing(std::chrono::milliseconds interval, const std::string& postgres_url = "",
                       const std::string& snapshot_dir = "", std::chrono::minutes snapshot_every = {});
  // Retroactive matching (workflow/retro_matcher.h): loads the index of past uploads of the last
  // `window_days`, which then follows new uploads at every refresh; each import's new entries are
  // searched against it and its answer says what was found. Call before StartRefreshing.
  Status EnableRetroactiveMatching(int window_days);
  // Syncs enabled exchanges on their intervals and sends their feedback, one replica at a time (a
  // lease in the store), every options' exchange_poll_seconds; stopped by StopExchanges or the
  // destructor. Call after EnableRetroactiveMatching: what a sync adds is searched retroactively.
  void StartExchanges();
  void StopExchanges();
  // Delivers the events outbox as signed webhooks ([webhooks], server/webhook_sender.h), one
  // replica at a time (`holder` names this one); stopped by StopWebhooks or the destructor.
  void StartWebhooks(WebhookOptions options, const std::string& holder);
  void StopWebhooks();

 private:
  // content_routes.cpp
  Response PostHash(ApiCall& call);
  Response PostLookup(ApiCall& call);
  Response PostContent(ApiCall& call);
  Response GetContent(ApiCall& call);
  // bank_routes.cpp
  Response ListBanks(ApiCall& call);
  Response CreateBank(ApiCall& call);
  Response GetBank(ApiCall& call);
  Response PatchBank(ApiCall& call);
  Response DeleteBank(ApiCall& call);
  Response ImportList(ApiCall& call);
  Response AddBankMedia(ApiCall& call);
  Response ListEntries(ApiCall& call);
  Response ListImports(ApiCall& call);
  Response ExportBank(ApiCall& call);
  // After an import is applied (any route's): the matcher refreshed, the gauges, and retroactive
  // matching of its new entries; the retroactive result as JSON (null when it is off).
  boost::json::value AfterImport(const std::string& bank, const ImportResult& imported);
  // exchange_routes.cpp
  Response ListExchanges(ApiCall& call);
  Response CreateExchange(ApiCall& call);
  Response GetExchange(ApiCall& call);
  Response PatchExchange(ApiCall& call);
  Response DeleteExchange(ApiCall& call);
  Response SyncExchange(ApiCall& call);
  Response ResetExchange(ApiCall& call);
  Response ListExchangeFeedback(ApiCall& call);
  Response SendExchangeFeedback(ApiCall& call);
  // One exchange's sync or feedback run, as the scheduler and the routes start it; its outcome is
  // counted and logged. `exchange` as read from the store.
  Result<boost::json::object> RunExchangeSync(const Exchange& exchange);
  Result<boost::json::object> RunExchangeFeedback(const Exchange& exchange);
  // Refuses an exchange whose service host this service may not reach (kPermissionDenied).
  Status CheckExchangeHost(const Exchange& exchange) const;
  // An exchange that cannot start (its setup refused): recorded as its run's outcome, logged, and
  // answered as "cannot start: ..." (kInvalidArgument).
  Result<boost::json::object> SetupFailed(const Exchange& exchange, const Error& error);
  // Refuses credentials the service must not read for an exchange (kPermissionDenied): variables
  // not named VIGIL_EXCHANGE_*, files outside [exchanges] credentials_directory.
  Status CheckExchangeCredentials(const Exchange& exchange) const;
  void ExchangePass();
  void UpdateExchangeGauges(const Exchange& exchange, std::int64_t now);
  // hma_routes.cpp: the probes, hashing and matching
  Admission AdmitHma(const RequestHeader& header, const std::string& remote);
  Response HandleHma(Request& request, const RequestInfo& info);
  Response HmaHome(ApiCall& call);
  Response HmaStatus(ApiCall& call);
  Response HmaLivez(ApiCall& call);
  Response HmaReadyz(ApiCall& call);
  Response HmaSiteMap(ApiCall& call);
  Response HmaHashUrl(ApiCall& call);
  Response HmaHashForm(ApiCall& call);
  Response HmaLookupGet(ApiCall& call);
  Response HmaLookupForm(ApiCall& call);
  Response HmaRawLookup(ApiCall& call);
  Response HmaCompare(ApiCall& call);
  Response HmaIndexStatus(ApiCall& call);
  // The media a call names (?url= or a multipart file) hashed for HMA's signal types: signal type
  // -> value, or an HMA error answer. In "record" mode the media is also recorded (`record`).
  struct HmaHashed {
    std::map<std::string, std::string> signals;  // HMA signal type -> value
  };
  std::variant<HmaHashed, Response> HmaHashMedia(ApiCall& call, bool from_url, bool record);
  // signal type -> {bank -> matches}, after the coin flip; or an HMA error answer.
  std::variant<boost::json::object, Response> HmaMatch(ApiCall& call, const std::string& signal_type,
                                                       const std::string& signal, bool bypass_coinflip);
  // The media hashed (and recorded in "record" mode), each signal matched: type -> {bank -> matches}.
  std::variant<boost::json::object, Response> HmaHashAndMatch(ApiCall& call, bool from_url, bool bypass_coinflip);
  // hma_curation_routes.cpp: banks, their content, signal and content types, exchanges
  Response HmaListBanks(ApiCall& call);
  Response HmaCreateBank(ApiCall& call);
  Response HmaGetBank(ApiCall& call);
  Response HmaUpdateBank(ApiCall& call);
  Response HmaDeleteBank(ApiCall& call);
  Response HmaAddContent(ApiCall& call);
  Response HmaGetContent(ApiCall& call);
  Response HmaUpdateContent(ApiCall& call);
  Response HmaDeleteContent(ApiCall& call);
  Response HmaAddSignal(ApiCall& call);
  Response HmaListSignalTypes(ApiCall& call);
  Response HmaUpdateSignalType(ApiCall& call);
  Response HmaSignalTypeIndex(ApiCall& call);
  Response HmaListContentTypes(ApiCall& call);
  Response HmaExchangeApis(ApiCall& call);
  Response HmaExchangeApi(ApiCall& call);
  Response HmaExchangeApiSchema(ApiCall& call);
  Response HmaCreateExchange(ApiCall& call);
  Response HmaListExchanges(ApiCall& call);
  Response HmaGetExchange(ApiCall& call);
  Response HmaUpdateExchange(ApiCall& call);
  Response HmaDeleteExchange(ApiCall& call);
  Response HmaExchangeStatus(ApiCall& call);
  Response HmaExchangeCredentials(ApiCall& call);
  // Removes an entry from its bank through an import (a record is kept); the import's outcome.
  Result<ImportResult> HmaRemoveEntry(ApiCall& call, const Bank& bank, const BankEntry& entry);
  // Adds signals (HMA type -> value) to a bank as one HMA content: {"id", "signals"} or an error.
  Response HmaAddSignals(ApiCall& call, const Bank& bank, const std::map<std::string, std::string>& signals);
  // event_routes.cpp
  Response ListEvents(ApiCall& call);
  Response ListDeadEvents(ApiCall& call);
  Response RedeliverEvent(ApiCall& call);
  // admin_routes.cpp
  Response Healthz(ApiCall& call);
  Response Readyz(ApiCall& call);
  Response Metrics(ApiCall& call);
  Response OpenApi(ApiCall& call);
  Response ListKeys(ApiCall& call);
  Response CreateKey(ApiCall& call);
  Response ApproveKey(ApiCall& call);
  Response RevokeKey(ApiCall& call);
  Response ListAudit(ApiCall& call);
  Response ExportVpdq(ApiCall& call);
  // case_routes.cpp
  Response ListCases(ApiCall& call);
  Response ReportContent(ApiCall& call);
  Response GetCase(ApiCall& call);
  Response ClaimCase(ApiCall& call);
  Response RecordView(ApiCall& call);
  Response CaseMedia(ApiCall& call);
  Response SupplyCaseMedia(ApiCall& call);
  Response DecideCase(ApiCall& call);
  Response ReclassifyCase(ApiCall& call);
  Response GetAccount(ApiCall& call);
  // An account's strikes under the rules' [strikes] (points, cases, what they propose); nullopt
  // when the rules have none.
  std::optional<boost::json::object> StrikesJson(const std::string& user_id);
  Response MarkNotified(ApiCall& call);
  Response FileAppeal(ApiCall& call);
  Response ListAppeals(ApiCall& call);
  Response GetAppeal(ApiCall& call);
  Response ClaimAppeal(ApiCall& call);
  Response DecideAppeal(ApiCall& call);
  // queue_routes.cpp
  Response ListQueues(ApiCall& call);
  Response SetQueueMember(ApiCall& call);
  Response ClaimNextInQueue(ApiCall& call);
  Response MoveCaseToQueue(ApiCall& call);
  // The queues in force (the rules file's, or only the default queue), and the ones a caller
  // works: every one for roles other than reviewer.
  std::shared_ptr<const ReviewQueues> CurrentQueues() const;
  struct QueueAccess {
    std::shared_ptr<const ReviewQueues> queues;
    bool scoped = false;              // a reviewer: only `worked`
    std::vector<std::string> worked;  // declared queues they work (members, or open to all)
    bool Works(const std::string& queue) const;
    void Restrict(CaseStore::CaseQuery& query) const;  // narrows a search to the worked queues
  };
  Result<QueueAccess> WorkedQueues(const ApiCall& call);
  // 404 for a reviewer whose queues do not hold the case (as if it did not exist); nullopt: go on.
  std::optional<Response> RefuseUnworkedCase(const ApiCall& call, std::int64_t case_id);
  // Appeals: the case of the appeal must be in a worked queue.
  std::optional<Response> RefuseUnworkedAppeal(const ApiCall& call, std::int64_t appeal_id);
  // An upload in a case of a queue the reviewer does not work: 404.
  std::optional<Response> RefuseUnworkedContent(const ApiCall& call, const std::string& content_id);
  // 404 unless `name` is an active reviewer key.
  std::optional<Response> RefuseUnknownReviewer(const std::string& name);
  // Admits one reveal of an original for the caller ([wellness]): 429 break_required when the
  // limit is reached or a break runs; nullopt: admitted (refund it if the reveal then fails).
  std::optional<Response> AdmitReveal(const ApiCall& call);
  // wellness_routes.cpp
  Response GetMyWellness(ApiCall& call);
  Response SetMyWellness(ApiCall& call);
  Response StartMyBreak(ApiCall& call);
  Response CoverMyReveals(ApiCall& call);
  Response GetReviewerWellness(ApiCall& call);
  Response SetReviewerWellness(ApiCall& call);
  Response GetExposure(ApiCall& call);
  // admin_routes.cpp
  Response RotateMyKey(ApiCall& call);
  // sso_routes.cpp: console sign-in through the identity provider, sessions, people
  Response SsoInfo(ApiCall& call);
  Response SsoLogin(ApiCall& call);
  Response SsoCallback(ApiCall& call);
  Response SsoLogout(ApiCall& call);
  Response Me(ApiCall& call);
  Response ListSessions(ApiCall& call);
  Response EndSessionRoute(ApiCall& call);
  Response ListPeople(ApiCall& call);
  // The browser's way back to the console after a sign-in that did not happen (logged with `remote`).
  Response SignInFailed(const std::string& why, const std::string& remote);
  std::string CookieAttributes() const;
  Response ReviewerStats(ApiCall& call);
  Response DisableEntry(ApiCall& call);
  Response ListQuarantine(ApiCall& call);
  Response ReleaseQuarantine(ApiCall& call);
  Response ListFeedback(ApiCall& call);
  Response ListOverrides(ApiCall& call);
  Response RevokeOverride(ApiCall& call);
  Response GetRules(ApiCall& call);
  Response ReloadRules(ApiCall& call);
  Response VerifyAudit(ApiCall& call);
  // report_routes.cpp
  Response ListReports(ApiCall& call);
  Response DraftReport(ApiCall& call);
  Response GetReport(ApiCall& call);
  Response PreviewReport(ApiCall& call);
  Response ApproveReport(ApiCall& call);
  Response FileReport(ApiCall& call);
  Response RetractReport(ApiCall& call);
  Response ListEvidence(ApiCall& call);
  Response ReadEvidence(ApiCall& call);
  Response HoldEvidence(ApiCall& call);
  Response PurgeEvidence(ApiCall& call);
  Response ListLegalRequests(ApiCall& call);
  Response CreateLegalRequest(ApiCall& call);
  Response GetLegalRequest(ApiCall& call);
  Response ProduceLegalRequest(ApiCall& call);
  Response Transparency(ApiCall& call);
  // The decision workflow's reporting side: the vault and filer when reporting is attached.
  DecisionWorkflowOptions DecisionOptions();

 public:
  // Loads (or reloads) the rules file named in the options; the old rules stay on error.
  Status LoadRules();

 private:
  std::shared_ptr<const PolicyRules> Rules() const { return uploads_.Rules(); }
  // The rules file's categories of violation, or the built-in ones.
  std::shared_ptr<const Taxonomy> CurrentTaxonomy() const;

  void RefreshIndexGauges();
  // Metrics and the access log for one request.
  void Record(const std::string& route, std::string_view method, unsigned status,
              std::chrono::steady_clock::time_point started, const std::string& remote, const std::string& key_name, const std::string& role = "");

  struct Admitted;
  // What a request's body may weigh: media and lists (heavy writes) up to the server's limit (0),
  // JSON up to max_json_bytes, reads nothing to speak of.
  std::uint64_t BodyLimit(http::verb method, bool heavy) const;
  // Bodies of reads (GET, DELETE): nothing to speak of.
  static constexpr std::uint64_t kSmallBodyBytes = 64 << 10;

  Store& store_;
  ReportingServices* reporting_ = nullptr;
  Matcher& matcher_;
  ApiOptions options_;
  Authenticator auth_;
  std::unique_ptr<sso::OidcClient> oidc_;  // null: single sign-on is off
  sso::GroupRoles group_roles_;
  std::atomic<int> sign_ins_in_flight_{0};
  ServiceMetrics metrics_;
  std::atomic<bool> ready_{false};
  std::atomic<std::int64_t> index_synced_at_{0};
  std::atomic<int> hma_fetches_{0};  // ?url= downloads in progress (HmaOptions::max_url_fetches)  // when the matcher last caught up with the store (µs)
  std::unique_ptr<MediaStore> media_;  // kept media (options_.media_dir); null: none kept
  UploadWorkflow uploads_;
  std::unique_ptr<PastUploadIndex> past_uploads_;  // retroactive matching; null: off
  std::unique_ptr<RetroMatcher> retro_;
  std::unique_ptr<IndexFollower> follower_;  // last: stopped first, before what it refreshes
  std::unique_ptr<DecisionWorkflow> decisions_;  // replaced when reporting is attached
  struct ExchangeLoop {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    std::thread thread;
  };
  std::unique_ptr<ExchangeLoop> exchange_loop_;
  std::unique_ptr<WebhookSender> webhooks_;  // StartWebhooks; stopped in the destructor  // StartExchanges; stopped in the destructor first
  std::mutex production_mu_;  // one legal production at a time (each is held in memory)
  LogThrottle unauthenticated_log_{20, 100};
  // Evidence reads by roles the vault refuses, per key (report_routes.cpp).
  bool RefusedEvidenceReadAllowed(const std::string& key);
  std::mutex evidence_refusals_mu_;
  std::map<std::string, LogThrottle> evidence_refusals_;
};

}  // namespace vigil::server
