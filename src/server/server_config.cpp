// TOML configuration for the server (toml++).
#include "server/server_config.h"

#include "net/http_fetch.h"
#include "sso/group_roles.h"

#include <algorithm>
#include <charconv>
#include <toml++/toml.h>

#include "util/split_list.h"
#include "util/toml_guard.h"
#include "vigil/file_hasher.h"

namespace vigil::server {
namespace {

// "a, b,c" -> {"a", "b", "c"}: host lists in the file are one comma-separated string.
std::vector<std::string> SplitHosts(const std::string& hosts) { return SplitList(hosts); }

}  // namespace

Status ParseListen(const std::string& listen, HttpServerOptions& options) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Fail(ErrorCode::kInvalidArgument, "listen must be HOST:PORT, got '" + listen + "'");
  }
  unsigned port = 0;
  const char* begin = listen.data() + colon + 1;
  const char* end = listen.data() + listen.size();
  const auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc{} || ptr != end || port > 65535) {
    return Fail(ErrorCode::kInvalidArgument, "bad port in listen address '" + listen + "'");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  options.host = host;
  options.port = static_cast<std::uint16_t>(port);
  return {};
}

Status LoadServerConfig(const std::string& path, ServerConfig& config) {
  auto bytes = ReadFileLimited(path, 4u << 20);
  if (!bytes) return Fail(bytes.error().code, path + ": " + bytes.error().message);
  const std::string text(bytes->begin(), bytes->end());
  VIGIL_ASSIGN_OR_RETURN(const toml::table table, ParseTomlChecked(text, path));
  // A misspelt key would otherwise be ignored silently and leave a default in force. The keys are
  // the reference's (config_reference.cpp): a key cannot be accepted without being documented.
  const auto& reference = ConfigReference();
  const auto tables = ConfigTables();
  auto check_keys = [&](const toml::table& t, std::string_view section) -> Status {
    const std::string prefix = section.empty() ? "" : std::string(section) + ".";
    for (const auto& [key_name, node] : t) {
      const toml::key& key = key_name;  // clang 14 (the sanitizer stage) cannot capture a binding
      const bool known = std::any_of(reference.begin(), reference.end(), [&](const ConfigKey& k) {
        return k.table == section && k.key == key.str();
      });
      const bool is_table = section.empty() && std::find(tables.begin(), tables.end(), key.str()) != tables.end();
      if (!known && !is_table) {
        return Fail(ErrorCode::kInvalidArgument, path + ":" + std::to_string(node.source().begin.line) +
                                                     ": unknown key '" + prefix + std::string(key.str()) + "'");
      }
      if (is_table && !node.is_table()) {
        return Fail(ErrorCode::kInvalidArgument, path + ":" + std::to_string(node.source().begin.line) + ": '" +
                                                     std::string(key.str()) + "' must be a table ([" +
                                                     std::string(key.str()) + "])");
      }
    }
    return {};
  };
  if (auto known = check_keys(table, ""); !known) return known;
  for (const std::string_view name : tables) {
    if (const auto* t = table[name].as_table()) {
      if (auto known = check_keys(*t, name); !known) return known;
    }
  }
  Status status;
  // "path:LINE: 'section.key' must be ...": where the operator has to look.
  auto section = [&](const toml::table& t) -> std::string {
    for (const auto& [name, value] : table) {
      if (value.as_table() == &t) return std::string(name.str()) + ".";
    }
    return "";
  };
  auto wrong = [&](const char* key, const char* type, const toml::table* in = nullptr) {
    const toml::node* node = in != nullptr ? in->get(key) : nullptr;
    std::string message = path;  // appended piece by piece: GCC 12 misreads a long + chain (-Wrestrict)
    if (node != nullptr) message.append(":").append(std::to_string(node->source().begin.line));
    message.append(": '");
    if (in != nullptr) message.append(section(*in));
    message.append(key).append("' must be ").append(type);
    status = Fail(ErrorCode::kInvalidArgument, message);
  };
  auto read_string = [&](const toml::table& t, const char* key, std::string& out) {
    if (const auto* node = t.get(key)) {
      if (auto value = node->value<std::string>()) out = *value;
      else wrong(key, "a string", &t);
    }
  };
  auto read_int = [&](const toml::table& t, const char* key, auto& out, std::int64_t min, std::int64_t max) {
    if (const auto* node = t.get(key)) {
      auto value = node->value<std::int64_t>();
      if (value && *value >= min && *value <= max) out = static_cast<std::remove_reference_t<decltype(out)>>(*value);
      else wrong(key, ("an integer within " + std::to_string(min) + ".." + std::to_string(max)).c_str(), &t);
    }
  };
  auto read_bool = [&](const toml::table& t, const char* key, bool& out) {
    if (const auto* node = t.get(key)) {
      if (auto value = node->value<bool>()) out = *value;
      else wrong(key, "true or false", &t);
    }
  };
  std::string listen;
  read_string(table, "listen", listen);
  read_string(table, "data_dir", config.data_dir);
  read_string(table, "database_url", config.database_url);
  read_string(table, "log_level", config.log_level);
  read_string(table, "rules_file", config.api.rules_path);
  read_int(table, "threads", config.http.threads, 0, 256);
  read_int(table, "worker_threads", config.http.worker_threads, 0, 256);
  read_int(table, "max_body_bytes", config.http.max_body_bytes, 1024, std::int64_t{1} << 34);
  std::int64_t request_ms = config.http.request_timeout.count(), idle_ms = config.http.idle_timeout.count();
  read_int(table, "request_timeout_ms", request_ms, 100, 3'600'000);
  read_int(table, "idle_timeout_ms", idle_ms, 100, 3'600'000);
  config.http.request_timeout = std::chrono::milliseconds(request_ms);
  config.http.idle_timeout = std::chrono::milliseconds(idle_ms);
  read_int(table, "refresh_interval_ms", config.refresh_interval_ms, 50, 3'600'000);
  read_string(table, "index_snapshot", config.index_snapshot);
  read_int(table, "index_snapshot_minutes", config.index_snapshot_minutes, 0, 7 * 24 * 60);
  std::int64_t rate = 0, burst = 0;
  rate = static_cast<std::int64_t>(config.api.rate_limit.per_second);
  burst = static_cast<std::int64_t>(config.api.rate_limit.burst);
  read_int(table, "rate_limit_per_second", rate, 0, 10'000'000);
  read_int(table, "rate_limit_burst", burst, 0, 10'000'000);
  config.api.rate_limit = {static_cast<double>(rate), static_cast<double>(burst)};
  rate = static_cast<std::int64_t>(config.api.failed_auth_limit.per_second);
  burst = static_cast<std::int64_t>(config.api.failed_auth_limit.burst);
  read_int(table, "failed_auth_per_second", rate, 0, 10'000'000);
  read_int(table, "failed_auth_burst", burst, 0, 10'000'000);
  config.api.failed_auth_limit = {static_cast<double>(rate), static_cast<double>(burst)};
  read_bool(table, "access_log", config.api.access_log);
  if (const auto* limits = table["limits"].as_table()) {
    read_int(*limits, "max_pixels", config.api.decode_limits.max_pixels, 1, std::int64_t{1} << 32);
    read_int(*limits, "max_dimension", config.api.decode_limits.max_dimension, 1, 1 << 20);
  }
  if (const auto* workflow = table["workflow"].as_table()) {
    auto& w = config.workflow;
    read_int(*workflow, "lease_seconds", w.lease_seconds, 1, 86'400);
    read_int(*workflow, "appeal_sla_seconds", w.appeal_sla_seconds, 60, 365 * 86'400);
    read_string(*workflow, "appeal_instructions", w.appeal_instructions);
    const char* sla_keys[] = {"sla_seconds_p0", "sla_seconds_p1", "sla_seconds_p2", "sla_seconds_p3"};
    for (int p = 0; p < 4; ++p) read_int(*workflow, sla_keys[p], w.review_sla_seconds[p], 60, 365 * 86'400);
    read_int(*workflow, "quarantine_distinct_users", w.quarantine_distinct_users, 0, 1'000'000);
    read_string(*workflow, "own_bank", config.api.own_bank);
    const std::string& own = config.api.own_bank;
    if (own.size() > 31 || std::any_of(own.begin(), own.end(), [](char c) {
          return !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
        })) {
      wrong("own_bank", "0-31 of [a-z0-9_-] (each category's own bank is named <own_bank>-<category>)", workflow);
    }
    read_int(*workflow, "quarantine_window_seconds", w.quarantine_window_seconds, 60, 30 * 86'400);
  }
  if (const auto* video = table["video"].as_table()) {
    auto read_double = [&](const char* key, double& out, double min, double max) {
      if (const auto* node = video->get(key)) {
        auto value = node->value<double>();
        if (value && *value >= min && *value <= max) out = *value;
        else wrong(key, ("a number within " + std::to_string(min) + ".." + std::to_string(max)).c_str());
      }
    };
    auto& v = config.api.video;
    read_double("seconds_per_hash", v.seconds_per_hash, 0, 3600);
    read_double("max_duration_seconds", v.limits.max_duration_seconds, 1, 24 * 3600);
    read_double("max_wall_seconds", v.limits.max_wall_seconds, 0.1, 24 * 3600);
    read_int(*video, "max_frames", v.limits.max_frames, 1, std::int64_t{1} << 32);
    read_int(*video, "threads", v.limits.threads, 0, 64);
    read_bool(*video, "allow_truncated", v.allow_truncated);
    read_double("query_match_percent", config.api.video_match.query_match_percent, 0, 100);
    read_double("compared_match_percent", config.api.video_match.compared_match_percent, 0, 100);
  }
  auto& rep = config.reporting;
  if (const auto* t = table["reporter"].as_table()) {
    auto& r = rep.filer.reporter;
    read_string(*t, "company_name", r.company_name);
    read_string(*t, "first_name", r.first_name);
    read_string(*t, "last_name", r.last_name);
    read_string(*t, "email", r.email);
    read_string(*t, "phone", r.phone);
    read_string(*t, "contact_email", r.contact_email);
    read_string(*t, "company_template", r.company_template);
    read_string(*t, "terms_of_service", r.terms_of_service);
    read_string(*t, "legal_url", r.legal_url);
    read_string(*t, "platform", r.platform);
    read_string(*t, "incident_type", r.incident_type);
    read_bool(*t, "industry_classification", r.industry_classification);
  }
  if (const auto* t = table["cybertip"].as_table()) {
    read_string(*t, "base_url", rep.cybertip.base_url);
    read_string(*t, "username", rep.cybertip.username);
    read_string(*t, "password_env", rep.password_env);
    read_string(*t, "approval", rep.filer.approval);
    read_string(*t, "xsd_path", rep.filer.xsd_path);
    read_int(*t, "attempts", rep.cybertip.attempts, 1, 20);
    std::int64_t backoff = rep.cybertip.backoff.count(), timeout = rep.cybertip.timeout.count();
    read_int(*t, "backoff_ms", backoff, 1, 60'000);
    read_int(*t, "timeout_seconds", timeout, 1, 600);
    read_int(*t, "file_interval_seconds", rep.file_interval_seconds, 0, 86'400);
    rep.cybertip.backoff = std::chrono::milliseconds(backoff);
    rep.cybertip.timeout = std::chrono::seconds(timeout);
    if (rep.filer.approval != "separate" && rep.filer.approval != "decision") {
      status = Fail(ErrorCode::kInvalidArgument, path + ": cybertip.approval must be \"separate\" or \"decision\"");
    }
  }
  if (const auto* t = table["vault"].as_table()) {
    read_string(*t, "master_key_env", rep.vault_key_env);
    read_string(*t, "master_key_file", rep.vault_key_file);
    read_int(*t, "retention_days", rep.retention_days, 365, 36'500);
    read_bool(*t, "preserve_on_confirm", rep.preserve_on_confirm);
    read_int(*t, "purge_interval_hours", rep.purge_interval_hours, 0, 24 * 365);
  }
  if (const auto* t = table["uploads"].as_table()) {
    auto& u = config.uploads;
    read_int(*t, "retention_days", u.retention.keep_days, 0, 36'500);
    read_int(*t, "partitions_ahead_days", u.retention.partitions_ahead_days, 0, 60);
    read_int(*t, "maintenance_minutes", u.maintenance_minutes, 0, 7 * 24 * 60);
  }
  if (const auto* t = table["exchanges"].as_table()) {
    read_int(*t, "poll_seconds", config.api.exchange_poll_seconds, 0, 86'400);
    std::string hosts;
    read_string(*t, "allowed_hosts", hosts);
    config.api.exchange_allowed_hosts = SplitHosts(hosts);
    read_string(*t, "list_directory", config.api.exchange_list_directory);
    read_string(*t, "credentials_directory", config.api.exchange_credentials_directory);
  }
  if (const auto* t = table["hma"].as_table()) {
    auto& h = config.api.hma;
    read_bool(*t, "enabled", h.enabled);
    read_string(*t, "listen", h.listen);
    read_string(*t, "key", h.key);
    read_string(*t, "curator_key", h.curator_key);
    read_bool(*t, "require_bearer", h.require_bearer);
    std::string mode = h.record ? "record" : "lookup";
    read_string(*t, "mode", mode);
    if (mode != "lookup" && mode != "record") {
      status = Fail(ErrorCode::kInvalidArgument, path + ": hma.mode must be \"lookup\" or \"record\"");
    }
    h.record = mode == "record";
    std::string hosts;
    read_string(*t, "allowed_hosts", hosts);
    h.allowed_hosts = SplitHosts(hosts);
    read_bool(*t, "allow_private_addresses", h.allow_private_addresses);
    std::int64_t megabytes = static_cast<std::int64_t>(h.max_fetch_bytes >> 20);
    read_int(*t, "fetch_max_mb", megabytes, 1, 4096);
    h.max_fetch_bytes = static_cast<std::uint64_t>(megabytes) << 20;
    read_int(*t, "fetch_timeout_seconds", h.fetch_timeout_seconds, 1, 600);
    read_int(*t, "max_url_fetches", h.max_url_fetches, 1, 256);
    if (h.enabled && h.key.empty() && !h.require_bearer) {
      status = Fail(ErrorCode::kInvalidArgument,
                    path + ": [hma] needs `key` (the Vigil key its callers act as) or require_bearer = true");
    }
    if (h.enabled) {
      HttpServerOptions probe;
      if (auto parsed = ParseListen(h.listen, probe); !parsed) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": hma.listen: " + parsed.error().message);
      }
    }
  }
  if (const auto* t = table["webhooks"].as_table()) {
    auto& w = config.webhooks;
    read_string(*t, "url", w.options.url);
    read_string(*t, "secret_env", w.secret_env);
    std::int64_t timeout = w.options.timeout.count(), backoff = w.options.backoff.count(),
                 max_backoff = w.options.max_backoff.count(), poll = w.options.poll.count();
    read_int(*t, "timeout_seconds", timeout, 1, 300);
    read_int(*t, "max_attempts", w.options.max_attempts, 1, 1000);
    read_int(*t, "backoff_seconds", backoff, 1, 3600);
    read_int(*t, "max_backoff_seconds", max_backoff, 1, 7 * 86'400);
    read_int(*t, "poll_ms", poll, 10, 3'600'000);
    read_int(*t, "concurrency", w.options.concurrency, 1, 64);
    w.options.timeout = std::chrono::seconds(timeout);
    w.options.backoff = std::chrono::seconds(backoff);
    w.options.max_backoff = std::chrono::seconds(max_backoff);
    w.options.poll = std::chrono::milliseconds(poll);
    if (!w.options.url.empty()) {
      if (auto url = net::ParseHttpUrl(w.options.url); !url) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": webhooks.url: " + url.error().message);
      }
    }
  }
  if (const auto* t = table["classifiers"].as_table()) {
    read_string(*t, "file", config.classifiers_file);
  }
  if (const auto* t = table["hash_plugins"].as_table()) {
    read_string(*t, "file", config.hash_plugins_file);
  }
  if (const auto* t = table["retroactive"].as_table()) {
    read_int(*t, "window_days", config.retroactive_days, 0, 36'500);
  }
  if (const auto* t = table["sweep"].as_table()) {
    read_bool(*t, "enabled", config.api.sweep);
    read_int(*t, "pdq_max_distance", config.api.sweep_options.pdq_max_distance, -1, 256);
    read_bool(*t, "block", config.api.sweep_options.block);
  }
  if (const auto* t = table["tls"].as_table()) {
    read_string(*t, "cert_file", config.http.tls_cert_file);
    read_string(*t, "key_file", config.http.tls_key_file);
    if (config.http.tls_cert_file.empty() != config.http.tls_key_file.empty()) {
      status = Fail(ErrorCode::kInvalidArgument, path + ": [tls] needs both cert_file and key_file");
    }
  }
  if (const auto* t = table["sso"].as_table()) {
    auto& sso = config.api.sso;
    read_string(*t, "issuer", sso.oidc.issuer);
    read_string(*t, "client_id", sso.oidc.client_id);
    read_string(*t, "client_secret_env", config.sso_client_secret_env);
    read_string(*t, "client_secret_file", config.sso_client_secret_file);
    read_string(*t, "redirect_uri", sso.oidc.redirect_uri);
    read_string(*t, "scopes", sso.oidc.scopes);
    std::string algorithms;
    read_string(*t, "algorithms", algorithms);
    if (!algorithms.empty()) {
      sso.oidc.algorithms = SplitHosts(algorithms);
      for (const auto& alg : sso.oidc.algorithms) {
        if (alg != "RS256" && alg != "RS384" && alg != "RS512" && alg != "ES256" && alg != "ES384") {
          wrong("algorithms", "a list of RS256, RS384, RS512, ES256, ES384", t);
        }
      }
    }
    read_string(*t, "name_claim", sso.name_claim);
    read_string(*t, "groups_claim", sso.oidc.groups_claim);
    read_string(*t, "group_roles", sso.group_roles);
    read_int(*t, "idle_minutes", sso.idle_minutes, 1, 1440);
    read_int(*t, "absolute_hours", sso.absolute_hours, 1, 168);
    read_int(*t, "clock_skew_seconds", sso.oidc.leeway_seconds, 0, 300);
    read_string(*t, "provider_name", sso.provider_name);
    if (!sso.oidc.issuer.empty() && status) {
      const auto issuer = net::ParseHttpUrl(sso.oidc.issuer);
      const auto redirect = net::ParseHttpUrl(sso.oidc.redirect_uri);
      const auto mapping = sso::ParseGroupRoles(sso.group_roles);
      if (!issuer) status = Fail(ErrorCode::kInvalidArgument, path + ": [sso] issuer: " + issuer.error().message);
      else if (sso.oidc.redirect_uri.empty()) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": [sso] needs redirect_uri: this service's "
                                                          "https://HOST/v1/sso/callback, as registered with the provider");
      } else if (!redirect) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": [sso] redirect_uri: " + redirect.error().message);
      } else if (!redirect->target.starts_with("/v1/sso/callback")) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": [sso] redirect_uri must end in /v1/sso/callback "
                                                          "(this service's https://HOST/v1/sso/callback)");
      } else if (sso.oidc.client_id.empty()) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": [sso] needs client_id");
      } else if (!mapping) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": [sso] " + mapping.error().message);
      } else if (mapping->empty()) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": [sso] group_roles maps no group to a role: nobody could sign in");
      } else if (sso.oidc.scopes.find("openid") == std::string::npos) {
        status = Fail(ErrorCode::kInvalidArgument, path + ": [sso] scopes must include openid");
      } else {
        sso.secure_cookies = redirect->tls;
      }
    }
  }
  if (const auto* t = table["wellness"].as_table()) {
    auto& w = config.api.wellness;
    read_int(*t, "reveal_limit", w.reveal_limit, 1, 500);
    read_int(*t, "break_minutes", w.break_minutes, 1, 240);
    read_int(*t, "exposure_cap_minutes", w.exposure_cap_minutes, 1, 240);
  }
  if (const auto* t = table["legal"].as_table()) {
    read_string(*t, "signing_key_env", rep.signing_key_env);
    read_string(*t, "signing_key_file", rep.signing_key_file);
    read_string(*t, "productions_dir", config.api.productions_dir);
  }
  if (const auto* t = table["sandbox"].as_table()) {
    auto& sb = config.sandbox;
    read_string(*t, "mode", sb.mode);
    read_int(*t, "workers", sb.workers, 0, 256);
    read_int(*t, "memory_mb", sb.memory_mb, 256, 1 << 20);
    read_int(*t, "max_requests_per_worker", sb.max_requests_per_worker, 1, 1'000'000);
    read_int(*t, "image_wall_seconds", sb.image_wall_seconds, 1, 3600);
    read_int(*t, "image_cpu_seconds", sb.image_cpu_seconds, 0, 3600);
    read_string(*t, "user", sb.user);
    read_int(*t, "large_workers", sb.large_workers, 0, 256);
    read_int(*t, "large_queue", sb.large_queue, 0, 4096);
    read_int(*t, "large_pixels", sb.large_pixels, 0, 10'000'000'000);
    read_int(*t, "large_nice", sb.large_nice, 0, 19);
    if (sb.user.empty() || sb.user == "root") {
      status = Fail(ErrorCode::kInvalidArgument, path + ": sandbox.user must name an unprivileged user, not \"" + sb.user + "\"");
    }
    if (sb.mode != "auto" && sb.mode != "required" && sb.mode != "off") {
      status = Fail(ErrorCode::kInvalidArgument, path + ": sandbox.mode must be \"auto\", \"required\" or \"off\"");
    }
  }
  if (const auto* t = table["stream"].as_table()) {
    auto& st = config.stream;
    read_string(*t, "url", st.url);
    read_string(*t, "credentials_file", st.credentials_file);
    read_string(*t, "stream", st.stream);
    read_string(*t, "subjects", st.subjects);
    read_string(*t, "durable", st.durable);
    read_string(*t, "results_stream", st.results_stream);
    read_string(*t, "result_subject", st.result_subject);
    read_string(*t, "dead_letter_subject", st.dead_letter_subject);
    read_bool(*t, "create_streams", st.create_streams);
    read_int(*t, "duplicate_window_seconds", st.duplicate_window_seconds, 1, 7 * 86'400);
    read_int(*t, "concurrency", st.concurrency, 0, 1024);
    read_int(*t, "max_in_flight", st.max_in_flight, 0, 65'536);
    read_int(*t, "max_ack_pending", st.max_ack_pending, 1, 1'000'000);
    read_int(*t, "max_deliveries", st.max_deliveries, 1, 1000);
    read_int(*t, "ack_wait_seconds", st.ack_wait_seconds, 1, 3600);
    read_int(*t, "max_inline_bytes", st.max_inline_bytes, 1, 64 << 20);
    read_string(*t, "media_roots", st.media_roots);
    read_string(*t, "metrics_listen", st.metrics_listen);
    for (const auto* name : {&st.stream, &st.results_stream, &st.durable}) {
      if (name->empty() || name->find_first_of(" .*>\t") != std::string::npos) {
        status = Fail(ErrorCode::kInvalidArgument,
                      path + ": stream names and the durable name must be non-empty, without spaces, '.', '*' or '>' ('" +
                          *name + "')");
      }
    }
  }
  if (!status) return status;
  if (!listen.empty()) return ParseListen(listen, config.http);
  return {};
}

}  // namespace vigil::server
