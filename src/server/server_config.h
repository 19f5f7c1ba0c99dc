// `vigil serve` configuration: a TOML file, then flags on top. Every key is optional.
//
//   listen = "127.0.0.1:8750"
//   data_dir = "vigil-data"             # SQLite database and anything else the server keeps
//   database_url = ""                   # a PostgreSQL connection string; empty: SQLite in data_dir
//   threads = 0                         # HTTP threads; 0: one per core
//   max_body_bytes = 67108864
//   request_timeout_ms = 30000
//   idle_timeout_ms = 60000
//   refresh_interval_ms = 2000          # how often the index picks up other processes' changes
//   rate_limit_per_second = 0           # per key; 0: unlimited
//   rate_limit_burst = 0
//   access_log = true
//   log_level = "info"
//   [limits]
//   max_pixels = 100000000
//   max_dimension = 32768
//   [reporter]                          # the reporting company (docs/reporting.md)
//   company_name = "..."  first_name = "..."  last_name = "..."  email = "..."  platform = "..."
//   company_template = "..."  terms_of_service = "..."  legal_url = "..."  contact_email = "..."
//   industry_classification = false     # only with the industry hash-sharing MOU
//   [cybertip]
//   base_url = "https://exttest.cybertip.org/ispws"
//   username = "..."
//   password_env = "VIGIL_CYBERTIP_PASSWORD"   # the password is read from the environment only
//   approval = "separate"               # or "decision": the violating decision is the approval
//   xsd_path = ""                       # NCMEC's schema (GET /xsd): every report is checked
//   attempts = 5  backoff_ms = 500  timeout_seconds = 60
//   file_interval_seconds = 60          # the service files approved reports in the background; 0: off
//   [vault]
//   master_key_env = "VIGIL_VAULT_KEY"  # or master_key_file = "/etc/vigil/vault.key" (64 hex digits)
//   retention_days = 365
//   preserve_on_confirm = true
//   purge_interval_hours = 24           # the service purges expired, unheld evidence; 0: off
//   [sandbox]                           # decoding in confined worker processes (docs/sandbox.md)
//   mode = "auto"  workers = 0  memory_mb = 4096  max_requests_per_worker = 1000  image_wall_seconds = 60
//   image_cpu_seconds = 30  user = "nobody"
//   large_workers = 0  large_queue = 4  large_pixels = 16000000  large_nice = 10   # the large lane
//   [legal]
//   signing_key_env = "VIGIL_SIGNING_KEY"   # or signing_key_file (an Ed25519 seed, 64 hex digits)
#pragma once

#include <string>

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

struct ServerConfig {
  std::string data_dir = "vigil-data";
  std::string database_url;
  HttpServerOptions http;
  ApiOptions api;
  int refresh_interval_ms = 2000;
  WorkflowOptions workflow;
  ReportingConfig reporting;
  SandboxConfig sandbox;
  std::string log_level = "info";
};

// Reads a TOML file into `config` (keys not in the file keep their values). Errors name the file,
// line and column, or the key with a wrong type.
Status LoadServerConfig(const std::string& path, ServerConfig& config);

// "host:port" -> options.host/port.
Status ParseListen(const std::string& listen, HttpServerOptions& options);

}  // namespace vigil::server
