// `vigil serve` configuration: a TOML file, then flags on top. Every key is optional. Every key the
// file may hold, with its type, default and meaning, is in ConfigReference() (config_reference.cpp):
// the loader refuses any other key, and `vigil docs config` prints the reference (docs/operations.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/api_service.h"
#include "server/http_server.h"
#include "vigil/report_filer.h"
#include "vigil/status.h"

namespace vigil::server {

// Reporting and preservation. Secrets are never in the file: only where to find them.
struct ReportingConfig {
  FilerOptions filer;  // reporter, approval, xsd_path (media_dir comes from data_dir)
  CyberTipConfig cybertip;
  std::string password_env = "VIGIL_CYBERTIP_PASSWORD";
  std::string vault_key_env = "VIGIL_VAULT_KEY";
  std::string vault_key_file;
  std::int64_t retention_days = 365;
  bool preserve_on_confirm = true;
  std::string signing_key_env = "VIGIL_SIGNING_KEY";
  std::string signing_key_file;
  std::int64_t file_interval_seconds = 60;  // background filing of approved reports; 0: off
  std::int64_t purge_interval_hours = 24;   // background purge of expired evidence; 0: off
};

// The decoder sandbox (src/sandbox/): uploads are decoded in confined worker processes.
struct SandboxConfig {
  std::string mode = "auto";  // "auto": use it where the kernel allows; "required": refuse to start without; "off"
  int workers = 0;            // 0: as many as worker_threads (one per core by default)
  std::int64_t memory_mb = 4096;
  int max_requests_per_worker = 1000;
  int image_wall_seconds = 60;  // a worker still decoding an image after this is stopped
  int image_cpu_seconds = 30;   // ... or after using this much CPU (all threads); 0: no budget
  std::string user = "nobody";  // a service running as root runs its workers as this user (never root)
  // The large lane: images declaring more than large_pixels (0: none), and videos, decoded by
  // workers of their own at CPU priority large_nice, so small uploads never wait behind them.
  int large_workers = 0;        // 0: half the small lane's workers, at least 1
  int large_queue = 4;          // requests that may wait for a large-lane worker; more get 503
  std::int64_t large_pixels = 16'000'000;
  int large_nice = 10;
};

// Stream workers (`vigil worker`, src/stream/): upload events from NATS JetStream, results back.
struct StreamConfig {
  std::string url = "nats://127.0.0.1:4222";
  std::string credentials_file;                 // a NATS .creds file; empty: none
  std::string stream = "VIGIL_UPLOADS";         // the upload events' stream
  std::string subjects = "vigil.uploads.>";     // what it captures (created with it) and the consumer reads
  std::string durable = "vigil-workers";        // the durable pull consumer every worker shares
  std::string results_stream = "VIGIL_RESULTS"; // holds results and dead letters
  std::string result_subject = "vigil.results";
  std::string dead_letter_subject = "vigil.dead";
  bool create_streams = true;                   // create missing streams and the consumer at start
  std::int64_t duplicate_window_seconds = 120;  // Nats-Msg-Id de-duplication of streams it creates
  int concurrency = 0;                          // events worked on at once; 0: one per core
  int max_in_flight = 0;                        // events held at once; 0: twice concurrency
  int max_ack_pending = 4096;                   // the consumer's limit, all workers together
  int max_deliveries = 5;
  std::int64_t ack_wait_seconds = 30;
  std::int64_t max_inline_bytes = 1 << 20;
  std::string media_roots;                      // folders media paths may name, separated by ':'
  std::string metrics_listen;                   // HOST:PORT for GET /metrics; empty: none
};

// Uploads that matched nothing: how long they are kept, and how often the maintenance runs.
struct UploadsConfig {
  UploadRetention retention;             // keep_days (0: for good), partitions_ahead_days
  std::int64_t maintenance_minutes = 60; // 0: never (then make partitions with `vigil uploads maintain`)
};

// [webhooks]: events to the platform as signed webhooks (server/webhook_sender.h).
struct WebhooksConfig {
  WebhookOptions options;  // url, timeout, attempts, backoff, poll (the secret is read at start)
  std::string secret_env = "VIGIL_WEBHOOK_SECRET";
};

struct ServerConfig {
  std::string data_dir = "vigil-data";
  std::string database_url;
  HttpServerOptions http;
  ApiOptions api;
  int refresh_interval_ms = 2000;
  std::string index_snapshot;                // a matcher snapshot folder: read at start, written every...
  std::int64_t index_snapshot_minutes = 60;  // ... this often (0: read only)
  WorkflowOptions workflow;
  ReportingConfig reporting;
  SandboxConfig sandbox;
  StreamConfig stream;
  UploadsConfig uploads;
  WebhooksConfig webhooks;
  // [sso]: where the OpenID client's secret is (never in the file); the rest is api.sso.
  std::string sso_client_secret_env = "VIGIL_SSO_CLIENT_SECRET";
  std::string sso_client_secret_file;
  std::string classifiers_file;  // [classifiers] file: classify/classifier_set.h; empty: none
  std::string hash_plugins_file;  // [hash_plugins] file: signals/hash_plugin_spec.h; empty: none
  int retroactive_days = 90;  // [retroactive] window_days: past uploads searched when a bank gains entries; 0: off
  std::string log_level = "info";
};

// One key of the configuration file: what the loader accepts and the reference documents.
struct ConfigKey {
  std::string_view table;      // "" : the top level; else the [table] it sits in
  std::string_view key;
  std::string_view type;       // "string", "integer", "number" or "boolean"
  std::string default_value;   // as TOML, taken from a default ServerConfig
  std::string_view meaning;
};

// Every key, top level first, then table by table ([limits], [video], ...). LoadServerConfig
// refuses a key that is not here, so a key cannot be accepted without being documented.
const std::vector<ConfigKey>& ConfigReference();
// The tables, in the reference's order.
std::vector<std::string_view> ConfigTables();

// Reads a TOML file into `config` (keys not in the file keep their values). Errors name the file,
// line and column, or the key with a wrong type.
Status LoadServerConfig(const std::string& path, ServerConfig& config);

// "host:port" -> options.host/port.
Status ParseListen(const std::string& listen, HttpServerOptions& options);

}  // namespace vigil::server
