// `vigil serve`: the matching service. Opens the store, loads every bank into memory, serves the
// HTTP API until SIGTERM/SIGINT, then drains in-flight requests and exits.
#include <algorithm>
#include <cstring>
#include <memory>
#include <unistd.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "classify/classifier_set.h"
#include "cli/commands.h"
#include "cli/service_setup.h"
#include "cli/store_options.h"
#include "server/api_service.h"
#include "server/http_server.h"
#include "sandbox/sandbox_pool.h"
#include "server/reporting_scheduler.h"
#include "server/upload_maintainer.h"
#include "server/reporting_services.h"
#include "vigil/clock.h"
#include "server/server_config.h"
#include "vigil/legal_package.h"
#include "vigil/matcher.h"
#include "vigil/policy.h"
#include "util/module_loader.h"
#include "vigil/version.h"
#include "vigil/file_hasher.h"
#include <cctype>

namespace vigil::cli {
namespace {

struct ServeArgs {
  std::string config_path;
  std::string listen;
  StoreFlags store;
  int threads = -1;
  bool no_access_log = false;
  std::string port_file;
  std::string hma_port_file;
  std::string rules;
};

// Writes `port` to `path` whole, then renames it, so a reader never sees a partial file.
void WritePortFile(const std::string& path, unsigned port) {
  const auto tmp = path + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "%u\n", port);
    std::fclose(f);
    std::filesystem::rename(tmp, path);
  }
}

int RunServe(ServeArgs& args, CLI::App& app) {
  server::ServerConfig config;
  if (!args.config_path.empty()) {
    if (auto loaded = server::LoadServerConfig(args.config_path, config); !loaded) return ReportError("serve", loaded.error());
  }
  // Flags given on the command line win over the file.
  if (app.count("--data-dir") != 0 || config.data_dir.empty()) config.data_dir = args.store.data_dir;
  if (!args.store.database_url.empty()) config.database_url = args.store.database_url;
  if (!args.listen.empty()) {
    if (auto parsed = server::ParseListen(args.listen, config.http); !parsed) return ReportError("serve", parsed.error());
  }
  if (args.threads >= 0) config.http.threads = args.threads;
  if (args.no_access_log) config.api.access_log = false;
  if (!args.rules.empty()) config.api.rules_path = args.rules;
  if (config.database_url.empty() || !config.data_dir.empty()) {
    config.api.media_dir = (std::filesystem::path(config.data_dir) / "media").string();
  }
  // Legal productions are answered to the custodian; written to disk only into legal.productions_dir,
  // and never inside the data directory, whose backups would carry the decrypted evidence.
  if (auto outside = CheckProductionsDir(config.api.productions_dir, config.data_dir); !outside) {
    return ReportError("serve", outside.error());
  }
  SetUpLogging(config.log_level);
  // Single sign-on: the client's secret from the environment or a file (never the config file), and
  // Secure cookies whenever the browser reaches this service over TLS.
  if (!config.api.sso.oidc.issuer.empty()) {
    auto& sso = config.api.sso;
    const char* env = config.sso_client_secret_env.empty() ? nullptr : std::getenv(config.sso_client_secret_env.c_str());
    if (env != nullptr && *env != '\0') {
      sso.oidc.client_secret = env;
    } else if (!config.sso_client_secret_file.empty()) {
      auto bytes = ReadFileLimited(config.sso_client_secret_file, 64 * 1024);
      if (!bytes) {
        return ReportError("serve", {bytes.error().code, "[sso] client_secret_file " + config.sso_client_secret_file + ": " +
                                                             bytes.error().message});
      }
      sso.oidc.client_secret.assign(bytes->begin(), bytes->end());
      while (!sso.oidc.client_secret.empty() && std::isspace(static_cast<unsigned char>(sso.oidc.client_secret.back()))) {
        sso.oidc.client_secret.pop_back();
      }
    }
    if (!config.http.tls_cert_file.empty()) sso.secure_cookies = true;
  }

  if (!args.store.hash_plugins.empty()) config.hash_plugins_file = args.store.hash_plugins;
  auto plugins = RegisterConfiguredPlugins(config);  // before the index loads: it keeps the types it knows
  if (!plugins) return ReportError("serve", plugins.error());
  StoreFlags flags{config.data_dir, config.database_url, ""};  // plug-in types are registered above
  auto store = OpenStoreOrReport(flags, "serve", config.workflow);
  if (!store) return 1;
  Matcher matcher(*store);
  if (auto loaded = LoadIndex(matcher, config); !loaded) return ReportError("serve", loaded.error());

  // Half the worker threads (as configured, before the sandbox's lanes add their own) may wait on
  // the identity provider for sign-ins; uploads keep the rest.
  {
    const int workers = config.http.worker_threads > 0 ? config.http.worker_threads
                                                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    config.api.sso.max_waiting_sign_ins = std::clamp(workers / 2, 1, 8);
  }
  {
    auto classifiers = LoadClassifiers(config, nullptr, "");  // the service checks its rules as it loads them
    if (!classifiers) return ReportError("serve", classifiers.error());
    config.api.classifiers = std::move(*classifiers);
  }
  std::function<sandbox::PoolStats()> plugin_stats;  // the hash plug-ins' pool, mirrored into /metrics
  if (*plugins) {
    auto started = StartHashPlugins(config, **plugins, matcher);
    if (!started) return ReportError("serve", started.error());
    config.api.plugin_signals = std::move(started->signals);
    config.api.plugin_lookup = std::move(started->lookup);
    plugin_stats = std::move(started->stats);
  }
  auto decoders = StartSandbox(config);
  if (!decoders) return ReportError("serve", decoders.error());
  if (*decoders) {
    sandbox::SandboxPool* pool = decoders->get();
    // A request waiting for, or decoding in, the large lane holds an offload thread: add one for
    // each it can hold, so small uploads always find a thread (and a small-lane worker).
    const auto& o = pool->options();
    const int base = config.http.worker_threads > 0 ? config.http.worker_threads
                                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    config.http.worker_threads = std::max(base, o.workers) + o.large_workers + o.large_queue;
    const auto limits = config.api.decode_limits;
    config.api.media_hasher = SandboxHasher(pool);
    config.api.preview_maker = [pool, limits](std::span<const std::uint8_t> bytes) { return pool->Preview(bytes, limits); };
  }

  server::ReportingServices reporting = server::MakeReportingServices(*store, config, SystemClock());
  if (!reporting.vault) {
    spdlog::warn(R"("msg":"evidence vault off","reason":{})", JsonString(reporting.vault_error));
  }
  // Files approved reports and purges expired evidence; started once the server listens.
  const server::SchedulerOptions background = server::SchedulerOptionsFrom(config, reporting);
  server::ReportingScheduler scheduler(reporting, background);
  // Partitions and retention of uploads that matched nothing; stopped before the store closes.
  server::UploadMaintainer uploads(*store, config.uploads.retention,
                                   std::chrono::minutes(config.uploads.maintenance_minutes));
  sandbox::SandboxPool* pool = decoders->get();
  Store* metrics_store = store.get();
  config.api.collect_metrics = [pool, plugin_stats, &scheduler, &uploads, metrics_store](server::ServiceMetrics& metrics) {
    if (auto health = metrics_store->Reports().Health()) {
      metrics.SetReporting(health->reports_by_state, health->stalled, health->withdrawals_pending,
                           health->filed_followups, health->unreportable_cases);
    }
    if (auto quarantined = metrics_store->Cases().ListQuarantine()) {
      metrics.SetQuarantinedEntries(static_cast<std::int64_t>(quarantined->size()));
    }
    using Mirrored = server::ServiceMetrics::Mirrored;
    if (pool != nullptr) {
      const auto d = pool->Stats();
      metrics.MirrorCount(Mirrored::kDecoderWorkers, "requests", d.requests);
      metrics.MirrorCount(Mirrored::kDecoderWorkers, "started", d.workers_started);
      metrics.MirrorCount(Mirrored::kDecoderWorkers, "lost", d.workers_killed);
      metrics.MirrorCount(Mirrored::kDecoderWorkers, "failed_to_start", d.workers_failed);
    }
    if (plugin_stats) {
      const auto p = plugin_stats();
      metrics.MirrorCount(Mirrored::kDecoderWorkers, "plugin_requests", p.requests);
      metrics.MirrorCount(Mirrored::kDecoderWorkers, "plugin_started", p.workers_started);
      metrics.MirrorCount(Mirrored::kDecoderWorkers, "plugin_lost", p.workers_killed);
      metrics.MirrorCount(Mirrored::kDecoderWorkers, "plugin_failed_to_start", p.workers_failed);
    }
    const auto b = scheduler.Counts();
    metrics.MirrorCount(Mirrored::kBackground, "reports_filed", b.reports_filed);
    metrics.MirrorCount(Mirrored::kBackground, "filing_passes", b.filing_passes);
    metrics.MirrorCount(Mirrored::kBackground, "evidence_purged", b.items_purged);
    metrics.MirrorCount(Mirrored::kBackground, "purge_passes", b.purge_passes);
    server::MirrorUploadMaintenance(metrics, uploads.Counts());
  };

  // Webhooks are always signed: a URL without its secret is refused before anything starts.
  server::WebhookOptions webhooks = config.webhooks.options;
  if (!webhooks.url.empty()) {
    const char* secret = config.webhooks.secret_env.empty() ? nullptr : std::getenv(config.webhooks.secret_env.c_str());
    if (secret == nullptr || std::strlen(secret) < 16) {
      return ReportError("serve", Error{ErrorCode::kInvalidArgument,
                                        "[webhooks] url is set but the secret in " +
                                            (config.webhooks.secret_env.empty() ? std::string("(no secret_env)")
                                                                                : config.webhooks.secret_env) +
                                            " is missing or under 16 characters: webhooks are always signed"});
    }
    webhooks.secret = secret;
  }

  server::BlockShutdownSignals();
  server::ApiService service(*store, matcher, config.api);
  if (auto rules = service.LoadRules(); !rules) return ReportError("serve", rules.error());
  service.AttachReporting(&reporting);
  if (config.api.hma.enabled) {
    if (auto keys = service.CheckHmaKeys(); !keys) return ReportError("serve", keys.error());
  }
  server::HttpServer http(config.http, service.Callbacks());
  if (auto started = http.Start(); !started) return ReportError("serve", started.error());
  if (auto retro = service.EnableRetroactiveMatching(config.retroactive_days); !retro) {
    return ReportError("serve", retro.error());
  }
  service.StartRefreshing(std::chrono::milliseconds(config.refresh_interval_ms), config.database_url,
                          config.index_snapshot, std::chrono::minutes(config.index_snapshot_minutes));
  service.StartExchanges();
  if (!webhooks.url.empty()) {
    char host[256] = {};
    (void)gethostname(host, sizeof host - 1);
    service.StartWebhooks(std::move(webhooks), std::string(host) + ":" + std::to_string(getpid()));
  }
  scheduler.Start();  // stopped before the store closes
  uploads.Start();
  spdlog::info(R"("msg":"listening","address":{},"port":{},"tls":{},"store":{},"version":{})", JsonString(config.http.host),
               http.port(), http.tls(), JsonString(store->backend()), JsonString(std::string(Version())));
  {
    // What is on: the rules (the service loaded them above; read again here only to count them),
    // the categories in force, the vault, the background filer and purge, the decoder sandbox.
    std::size_t rule_count = 0;
    Taxonomy taxonomy = Taxonomy::BuiltIn();
    if (!config.api.rules_path.empty()) {
      if (auto counted = PolicyRules::Load(config.api.rules_path)) {
        rule_count = counted->rules().size();
        taxonomy = counted->taxonomy();
      }
    }
    boost::json::array categories;
    for (const auto& c : taxonomy.categories()) categories.emplace_back(c.id);
    spdlog::info(R"("msg":"components","rules_file":{},"rules":{},"categories":{},"vault":{},"background_filer":{},)"
                 R"("file_interval_seconds":{},"evidence_purge":{},"decoder_sandbox":{},"webhooks":{},"classifiers":{})",
                 JsonString(config.api.rules_path), rule_count, boost::json::serialize(categories),
                 reporting.vault != nullptr, background.file_interval.count() > 0, background.file_interval.count(),
                 background.purge_interval.count() > 0, pool != nullptr, JsonString(config.webhooks.options.url),
                 config.api.classifiers ? config.api.classifiers->Stats().size() : 0);
  }
  // The HMA-compatible surface on a listener of its own ([hma]): same service, same workers.
  std::unique_ptr<server::HttpServer> hma;
  if (config.api.hma.enabled) {
    server::HttpServerOptions options = config.http;
    if (auto parsed = server::ParseListen(config.api.hma.listen, options); !parsed) return ReportError("serve", parsed.error());
    hma = std::make_unique<server::HttpServer>(options, service.HmaCallbacks());
    if (auto started = hma->Start(); !started) return ReportError("serve", started.error());
    spdlog::info(R"("msg":"listening for HMA clients","address":{},"port":{},"acts_as":{},"mode":{},"url_hosts":{})",
                 JsonString(options.host), hma->port(),
                 JsonString(config.api.hma.require_bearer ? std::string("the caller's key") : config.api.hma.key),
                 JsonString(config.api.hma.record ? "record" : "lookup"), config.api.hma.allowed_hosts.size());
    if (!args.hma_port_file.empty()) WritePortFile(args.hma_port_file, hma->port());
  }
  if (!args.port_file.empty()) WritePortFile(args.port_file, http.port());
  // The provider is asked once the service listens and says so: a slow one delays nothing.
  if (auto sso = service.CheckSso(); !sso) return ReportError("serve", sso.error());
  // SIGHUP: a renewed certificate, read again for new connections (open ones go on).
  server::WaitForShutdownSignal([&] {
    if (!http.tls()) {
      spdlog::info(R"("msg":"SIGHUP ignored: no [tls] to reload")");
      return;
    }
    auto reloaded = http.ReloadTls();
    if (reloaded && hma) reloaded = hma->ReloadTls();
    if (reloaded) {
      spdlog::info(R"("msg":"TLS certificate reloaded","cert_file":{})", JsonString(config.http.tls_cert_file));
    } else {
      spdlog::error(R"("msg":"TLS reload failed: the certificate in use stays","error":{})",
                    JsonString(reloaded.error().ToString()));
    }
  });
  http.Stop();
  if (hma) hma->Stop();
  service.StopWebhooks();
  service.StopExchanges();
  scheduler.Stop();
  uploads.Stop();
  spdlog::info(R"("msg":"stopped")");
  return 0;
}

}  // namespace

Action RegisterServeCommand(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the matching service (HTTP API under /v1)");
  cmd->add_option("--config", args->config_path, "TOML configuration file (see docs/operations.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (default 127.0.0.1:8750; port 0 picks one)");
  AddStoreFlags(*cmd, args->store);
  cmd->add_option("--threads", args->threads, "HTTP threads (default: one per core)");
  cmd->add_flag("--no-access-log", args->no_access_log, "Do not log every request");
  cmd->add_option("--port-file", args->port_file, "Write the bound port to this file once listening");
  cmd->add_option("--hma-port-file", args->hma_port_file,
                  "Write the HMA-compatible listener's port ([hma], docs/hma.md) to this file once listening");
  cmd->add_option("--rules", args->rules, "Policy rules file (TOML; see docs/workflow.md); reload with POST /v1/rules/reload")
      ->check(CLI::ExistingFile);
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    return RunServe(*args, *cmd);
  };
}

}  // namespace vigil::cli
