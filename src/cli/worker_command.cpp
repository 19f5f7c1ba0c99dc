// `vigil worker`: a stream worker (src/stream/stream_worker.h). Takes upload events from a NATS
// JetStream durable pull consumer, runs each through the upload workflow against the shared store,
// publishes results, and follows bank changes and the rules file like `vigil serve` does. Runs
// until SIGTERM/SIGINT, then hands back what it has not started and finishes the rest.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <thread>

#include "classify/classifier_set.h"
#include "cli/commands.h"
#include "cli/service_setup.h"
#include "cli/store_options.h"
#include "match/index_follower.h"
#include "server/http_server.h"
#include "server/server_config.h"
#include "server/upload_maintainer.h"
#include "stream/jetstream.h"
#include "stream/media_roots.h"
#include "stream/stream_worker.h"
#include "vigil/matcher.h"
#include "vigil/policy.h"
#include "vigil/version.h"

namespace vigil::cli {
namespace {

struct WorkerArgs {
  std::string config_path;
  StoreFlags store;
  std::string nats_url;
  std::string rules;
  int concurrency = -1;
  std::string metrics_listen;
  std::vector<std::string> media_roots;
};

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find(separator, start);
    std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(std::move(part));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::int64_t ModifiedAt(const std::string& path) {
  struct stat st{};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Re-reads the rules file whenever it changes on disk (called after each index refresh).
class RulesFollower {
 public:
  RulesFollower(UploadWorkflow& workflow, std::string path)
      : workflow_(workflow), path_(std::move(path)), mtime_(ModifiedAt(path_)) {}

  void Check() {
    const auto mtime = ModifiedAt(path_);
    if (path_.empty() || mtime == mtime_) return;
    mtime_ = mtime;
    auto loaded = PolicyRules::Load(path_);
    if (!loaded) {
      spdlog::error(R"("msg":"rules file changed but does not load; the previous rules stay","error":{})",
                    JsonString(loaded.error().ToString()));
      return;
    }
    spdlog::info(R"("msg":"rules reloaded","rules":{})", loaded->rules().size());
    workflow_.SetRules(std::make_shared<const PolicyRules>(std::move(*loaded)));
  }

 private:
  UploadWorkflow& workflow_;
  std::string path_;
  std::int64_t mtime_;
};

int RunWorker(WorkerArgs& args, CLI::App& cmd) {
  server::BlockShutdownSignals();  // before any thread starts (the index's too): the signal thread below takes them
  server::ServerConfig config;
  if (!args.config_path.empty()) {
    if (auto loaded = server::LoadServerConfig(args.config_path, config); !loaded) return ReportError("worker", loaded.error());
  }
  if (cmd.count("--data-dir") != 0 || config.data_dir.empty()) config.data_dir = args.store.data_dir;
  if (!args.store.database_url.empty()) config.database_url = args.store.database_url;
  if (!args.rules.empty()) config.api.rules_path = args.rules;
  auto& sc = config.stream;
  if (!args.nats_url.empty()) sc.url = args.nats_url;
  if (args.concurrency >= 0) sc.concurrency = args.concurrency;
  if (!args.metrics_listen.empty()) sc.metrics_listen = args.metrics_listen;
  std::vector<std::string> roots = args.media_roots.empty() ? Split(sc.media_roots, ':') : args.media_roots;
  const int concurrency = sc.concurrency > 0 ? sc.concurrency : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The sandbox's small lane has one decoder worker per event worked on at once.
  if (config.sandbox.workers == 0) config.sandbox.workers = concurrency;
  SetUpLogging(config.log_level);

  auto media_roots = stream::MediaRoots::Open(roots);
  if (!media_roots) return ReportError("worker", media_roots.error());
  std::shared_ptr<const PolicyRules> rules;
  if (!config.api.rules_path.empty()) {
    auto loaded = PolicyRules::Load(config.api.rules_path);
    if (!loaded) return ReportError("worker", loaded.error());
    rules = std::make_shared<const PolicyRules>(std::move(*loaded));
  }
  auto classifiers = LoadClassifiers(config, rules.get(), config.api.rules_path);
  if (!classifiers) return ReportError("worker", classifiers.error());
  auto plugins = RegisterConfiguredPlugins(config);  // before the index loads: it keeps the types it knows
  if (!plugins) return ReportError("worker", plugins.error());
  auto store = OpenStoreOrReport({config.data_dir, config.database_url, ""}, "worker", config.workflow);
  if (!store) return 1;
  Matcher matcher(*store);
  if (auto loaded = LoadIndex(matcher, config); !loaded) return ReportError("worker", loaded.error());
  auto decoders = StartSandbox(config);
  if (!decoders) return ReportError("worker", decoders.error());
  std::unique_ptr<MediaStore> media;
  if (config.database_url.empty() || !config.data_dir.empty()) {
    media = OpenMediaDirectory((std::filesystem::path(config.data_dir) / "media").string());
  }
  UploadWorkflowOptions options;
  options.decode_limits = config.api.decode_limits;
  options.video = config.api.video;
  options.video_match = config.api.video_match;
  options.actor = "policy";
  if (*plugins) {
    auto started = StartHashPlugins(config, **plugins, matcher);
    if (!started) return ReportError("worker", started.error());
    options.plugin_signals = std::move(started->signals);
  }
  if (*classifiers) {
    options.classify = [set = *classifiers](const ClassifierInput& input) { return set->ClassifyUpload(input); };
  }
  UploadWorkflow workflow(store->Cases(), matcher, *decoders ? SandboxHasher(decoders->get()) : MediaHasher(HashMedia),
                          media.get(), options);
  workflow.SetRules(rules);

  // The signal thread: the first SIGTERM/SIGINT stops the worker gracefully.
  std::atomic<bool> stop{false};
  std::atomic<stream::StreamWorker*> running{nullptr};
  std::thread([&stop, &running] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signal = 0;
    sigwait(&set, &signal);
    spdlog::info(R"("msg":"stopping: events not started are handed back, the others finish","signal":{})", signal);
    stop = true;
    if (auto* worker = running.load()) worker->Stop();
  }).detach();

  stream::NatsConnectOptions nats_options;
  nats_options.url = sc.url;
  nats_options.credentials_file = sc.credentials_file;
  nats_options.name = "vigil-worker";
  std::unique_ptr<stream::JetStreamConnection> nats;
  // Metrics and health from the start: /healthz answers 503 until NATS has answered (and while it
  // is disconnected), /metrics is empty until the worker runs.
  std::atomic<stream::JetStreamConnection*> connected_nats{nullptr};
  std::atomic<stream::StreamWorker*> serving{nullptr};
  std::unique_ptr<server::HttpServer> metrics_server;
  if (!sc.metrics_listen.empty()) {
    server::HttpServerOptions http;
    if (auto parsed = server::ParseListen(sc.metrics_listen, http); !parsed) return ReportError("worker", parsed.error());
    http.threads = 1;
    http.worker_threads = 1;
    server::HttpCallbacks callbacks;
    callbacks.handle = [&serving, &connected_nats](server::Request& request, const server::RequestInfo&) {
      server::Response response;
      response.version(request.version());
      if (request.target() == "/metrics" && request.method() == server::http::verb::get) {
        response.result(server::http::status::ok);
        response.set(server::http::field::content_type, "text/plain; version=0.0.4");
        if (auto* worker = serving.load()) response.body() = worker->RenderMetrics();
      } else if (request.target() == "/healthz" && request.method() == server::http::verb::get) {
        auto* connection = connected_nats.load();
        const bool up = connection != nullptr && connection->connected();
        response.result(up ? server::http::status::ok : server::http::status::service_unavailable);
        response.set(server::http::field::content_type, "application/json");
        response.body() = up ? R"({"status":"ok"})"
                          : connection == nullptr ? R"({"status":"connecting to nats"})"
                                                  : R"({"status":"nats disconnected"})";
      } else {
        return server::HttpErrorResponse(server::http::status::not_found, "not_found", "GET /metrics or /healthz");
      }
      response.prepare_payload();
      return response;
    };
    metrics_server = std::make_unique<server::HttpServer>(http, callbacks);
    if (auto started = metrics_server->Start(); !started) return ReportError("worker", started.error());
    spdlog::info(R"("msg":"metrics listening","address":{},"port":{})", JsonString(http.host), metrics_server->port());
  }
  for (int attempt = 0; !stop; ++attempt) {
    auto connected = stream::JetStreamConnection::Connect(nats_options);
    if (connected) {
      nats = std::move(*connected);
      break;
    }
    if (connected.error().code == ErrorCode::kPermissionDenied) {
      return ReportError("worker", {ErrorCode::kPermissionDenied,
                                    "NATS refused this worker's credentials (" + connected.error().message +
                                        "): check the user and password in stream.url or stream.credentials_file"});
    }
    if (attempt % 10 == 0) {
      spdlog::warn(R"("msg":"NATS not reachable yet; retrying","url":{},"error":{})", JsonString(stream::RedactNatsUrls(sc.url)),
                   JsonString(connected.error().message));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (!nats) return 0;  // stopped before NATS was reachable
  connected_nats = nats.get();

  stream::ConsumerSpec consumer;
  consumer.stream = sc.stream;
  consumer.durable = sc.durable;
  consumer.filter_subject = sc.subjects.find(',') == std::string::npos ? sc.subjects : "";
  consumer.ack_wait = std::chrono::seconds(sc.ack_wait_seconds);
  consumer.max_ack_pending = sc.max_ack_pending;
  if (sc.create_streams) {
    stream::StreamSpec uploads;
    uploads.name = sc.stream;
    uploads.subjects = Split(sc.subjects, ',');
    uploads.duplicate_window = std::chrono::seconds(sc.duplicate_window_seconds);
    uploads.max_message_bytes = static_cast<std::int32_t>(std::min<std::int64_t>(sc.max_inline_bytes + (64 << 10), INT32_MAX));
    uploads.work_queue = true;  // an acknowledged event is done: the stream keeps only what is left
    stream::StreamSpec results;
    results.name = sc.results_stream;
    results.subjects = {sc.result_subject, sc.dead_letter_subject};
    results.duplicate_window = uploads.duplicate_window;
    results.max_age = std::chrono::hours(24 * 7);
    for (const auto* spec : {&uploads, &results}) {
      if (auto made = nats->EnsureStream(*spec); !made) return ReportError("worker", made.error());
    }
    if (auto made = nats->EnsureConsumer(consumer); !made) return ReportError("worker", made.error());
  }
  auto subscription = nats->Subscribe(consumer);
  if (!subscription) return ReportError("worker", subscription.error());

  stream::StreamWorkerOptions worker_options;
  worker_options.consumer = consumer;
  worker_options.result_subject = sc.result_subject;
  worker_options.dead_letter_subject = sc.dead_letter_subject;
  worker_options.concurrency = concurrency;
  worker_options.max_in_flight = sc.max_in_flight;
  worker_options.max_deliveries = sc.max_deliveries;
  worker_options.max_inline_bytes = static_cast<std::size_t>(sc.max_inline_bytes);
  worker_options.max_file_bytes = static_cast<std::uint64_t>(config.api.decode_limits.max_file_bytes);
  stream::StreamWorker worker(*nats, **subscription, workflow, *media_roots, worker_options);
  // The index follows bank changes made anywhere (pushed by PostgreSQL, polled regardless); the
  // rules file is checked after each refresh.
  RulesFollower rules_follower(workflow, config.api.rules_path);
  IndexFollowerOptions follow;
  follow.interval = std::chrono::milliseconds(config.refresh_interval_ms);
  follow.postgres_url = config.database_url;
  follow.snapshot_dir = config.index_snapshot;
  follow.snapshot_every = std::chrono::minutes(config.index_snapshot_minutes);
  follow.after_refresh = [&rules_follower] { rules_follower.Check(); };
  follow.on_synced = [&worker](double seconds) { worker.ObserveIndexSync(seconds); };
  follow.on_error = [](const std::string& message) {
    spdlog::warn(R"("msg":"index follower","error":{})", JsonString(message));
  };
  IndexFollower follower(matcher, std::move(follow));
  // Partitions and retention of uploads that matched nothing, as every server does (logged).
  server::UploadMaintainer uploads(*store, config.uploads.retention,
                                   std::chrono::minutes(config.uploads.maintenance_minutes));
  uploads.Start();

  spdlog::info(R"("msg":"worker started","nats":{},"stream":{},"consumer":{},"concurrency":{},"max_in_flight":{},)"
               R"("media_roots":{},"store":{},"decoder_sandbox":{},"rules_file":{},"version":{})",
               JsonString(stream::RedactNatsUrls(sc.url)), JsonString(sc.stream), JsonString(sc.durable), concurrency,
               worker_options.max_in_flight > 0 ? worker_options.max_in_flight : 2 * concurrency + worker_options.max_batch, roots.size(),
               JsonString(store->backend()), *decoders != nullptr, JsonString(config.api.rules_path),
               JsonString(std::string(Version())));
  running = &worker;
  serving = &worker;
  if (!stop) worker.Run();
  running = nullptr;
  uploads.Stop();
  if (metrics_server) metrics_server->Stop();  // before the worker it reports on goes
  serving = nullptr;
  const auto c = worker.Counts();
  spdlog::info(R"("msg":"stopped","recorded":{},"replayed":{},"unhashable":{},"retried":{},"dead_letters":{},)"
               R"("redeliveries":{},"handed_back":{})",
               c.recorded, c.replayed, c.unhashable, c.retried, c.dead_letters, c.redeliveries, c.handed_back);
  return 0;
}

}  // namespace

Action RegisterWorkerCommand(CLI::App& app) {
  auto args = std::make_shared<WorkerArgs>();
  CLI::App* cmd = app.add_subcommand(
      "worker", "Take upload events from NATS JetStream, match and record each, publish its result (docs/stream.md)");
  cmd->footer(
      "Each event (headers Vigil-Content-Id, Vigil-User-Id, Vigil-Metadata, and the media as payload or\n"
      "Vigil-Media-Path under a --media-root) goes through the same upload workflow as POST /v1/content.\n"
      "Its result (the same JSON) is published on the result subject, then the event is acknowledged.\n"
      "A redelivered event is answered from its record: no second record, case or action. Malformed\n"
      "events, and events that keep failing, go to the dead-letter subject with the reason.\n"
      "Run as many workers as needed, on as many machines, against one PostgreSQL (--database-url) and\n"
      "one NATS: the durable consumer hands each event to one of them. Settings: the [stream] table of\n"
      "the configuration file (vigil docs config). SIGTERM: stop taking events, finish the ones started.");
  cmd->add_option("--config", args->config_path, "TOML configuration file (the service's; [stream] for the worker)")
      ->check(CLI::ExistingFile);
  AddStoreFlags(*cmd, args->store);
  cmd->add_option("--nats", args->nats_url, "NATS server URL(s), comma-separated (default: stream.url)");
  cmd->add_option("--rules", args->rules, "Policy rules file (TOML); re-read whenever it changes")
      ->check(CLI::ExistingFile);
  cmd->add_option("-j,--concurrency", args->concurrency, "Events worked on at once (default: stream.concurrency, 0: one per core)");
  cmd->add_option("--metrics-listen", args->metrics_listen, "HOST:PORT serving GET /metrics and GET /healthz");
  cmd->add_option("--media-root", args->media_roots,
                  "A folder Vigil-Media-Path may name files beneath (repeatable; default: stream.media_roots)");
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    return RunWorker(*args, *cmd);
  };
}

}  // namespace vigil::cli
