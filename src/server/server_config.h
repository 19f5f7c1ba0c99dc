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
#pragma once

#include <string>

#include "server/api_service.h"
#include "server/http_server.h"
#include "vigil/status.h"

namespace vigil::server {

struct ServerConfig {
  std::string data_dir = "vigil-data";
  std::string database_url;
  HttpServerOptions http;
  ApiOptions api;
  int refresh_interval_ms = 2000;
  WorkflowOptions workflow;
  std::string log_level = "info";
};

// Reads a TOML file into `config` (keys not in the file keep their values). Errors name the file,
// line and column, or the key with a wrong type.
Status LoadServerConfig(const std::string& path, ServerConfig& config);

// "host:port" -> options.host/port.
Status ParseListen(const std::string& listen, HttpServerOptions& options);

}  // namespace vigil::server
