// Start-up shared by `vigil serve` and `vigil worker` (service_setup.h).
#include "cli/service_setup.h"

#include "sandbox/plugin_signals.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "util/module_loader.h"

namespace vigil::cli {

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("vigil");
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::string JsonString(const std::string& text) { return boost::json::serialize(boost::json::value(text)); }


Result<std::unique_ptr<sandbox::SandboxPool>> StartSandbox(const server::ServerConfig& config) {
  const auto& sb = config.sandbox;
  if (sb.mode == "off") {
    spdlog::warn(R"("msg":"decoder sandbox off: decoding in the service process","reason":"[sandbox] mode = off")");
    return std::unique_ptr<sandbox::SandboxPool>();
  }
  sandbox::PoolOptions options;
  // This very binary, even if upgraded on disk since; its decoder modules are read from disk and
  // refused when they come from another release (util/module_loader.h).
  options.executable = "/proc/self/exe";
  options.workers = sb.workers > 0 ? sb.workers
                    : config.http.worker_threads > 0 ? config.http.worker_threads
                                                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.memory_bytes = static_cast<std::uint64_t>(sb.memory_mb) << 20;
  options.max_body_bytes = config.http.max_body_bytes;
  options.max_requests_per_worker = sb.max_requests_per_worker;
  options.wall_seconds = config.api.video.limits.max_wall_seconds + 30;
  options.image_wall_seconds = sb.image_wall_seconds;
  options.image_cpu_seconds = sb.image_cpu_seconds;
  options.user = sb.user;
  options.large_workers = sb.large_workers > 0 ? sb.large_workers : std::max(1, options.workers / 2);
  options.large_queue = sb.large_queue;
  options.large_pixels = static_cast<std::uint64_t>(sb.large_pixels);
  options.large_nice = sb.large_nice;
  options.on_worker_output = [](pid_t pid, std::string_view line) {
    spdlog::warn(R"("msg":"decoder worker output","pid":{},"line":{})", pid, JsonString(std::string(line)));
  };
  auto pool = sandbox::SandboxPool::Start(options);
  if (!pool) {
    if (sb.mode == "required") return tl::unexpected(pool.error());
    spdlog::warn(R"("msg":"decoder sandbox off: decoding in the service process","reason":{})",
                 JsonString(pool.error().message));
    return std::unique_ptr<sandbox::SandboxPool>();
  }
  const auto& iso = (*pool)->isolation();
  if (!iso.missing_decoders.empty()) {
    spdlog::warn(R"("msg":"decoder modules missing: those formats fail in every worker","module_folder":{},"why":{})",
                 JsonString(ModuleFolder().value_or("")), JsonString(iso.missing_decoders));
  }
  spdlog::info(R"("msg":"decoder sandbox on","workers":{},"large_workers":{},"large_pixels":{},"memory_mb":{},)"
               R"("network_namespace":{},"pid_namespace":{},"mount_namespace":{},"user_namespace":{},"uid":{},)"
               R"("gid":{},"capabilities_dropped":{},"bounding_set_dropped":{},"refused":{})",
               options.workers, options.large_workers, options.large_pixels, sb.memory_mb, iso.network, iso.pid,
               iso.mount, iso.user_namespace, iso.uid, iso.gid, iso.capabilities, iso.bounding_set,
               JsonString(iso.refused));
  return std::move(*pool);
}

MediaHasher SandboxHasher(sandbox::SandboxPool* pool) {
  return [pool](std::span<const std::uint8_t> bytes, const MediaHashOptions& options) {
    const auto before = pool->Stats();
    auto hashed = pool->Hash(bytes, options);
    if (!hashed) {
      const auto after = pool->Stats();
      if (after.workers_killed > before.workers_killed) {
        spdlog::warn(R"("msg":"decoder worker lost","error":{})", JsonString(hashed.error().ToString()));
      } else if (after.workers_failed > before.workers_failed) {
        spdlog::error(R"("msg":"decoder worker did not start: uploads fail until this is mended","error":{})",
                      JsonString(hashed.error().ToString()));
      }
    }
    return hashed;
  };
}

Status LoadIndex(Matcher& matcher, const server::ServerConfig& config) {
  const auto start = std::chrono::steady_clock::now();
  std::string from = "store";
  const std::filesystem::path snapshot = config.index_snapshot;
  std::error_code ec;
  if (!snapshot.empty() && std::filesystem::exists(snapshot / "matcher.bin", ec)) {
    if (auto loaded = matcher.LoadSnapshot(snapshot); loaded) {
      from = "snapshot";
    } else {
      const auto code = loaded.error().code;
      // A snapshot that cannot be used is no reason not to start: the store has everything.
      if (code != ErrorCode::kCorrupt && code != ErrorCode::kUnsupported && code != ErrorCode::kInvalidArgument &&
          code != ErrorCode::kNotFound && code != ErrorCode::kIoError) {
        return loaded;
      }
      spdlog::warn(R"("msg":"index snapshot refused; loading from the store","error":{})",
                   JsonString(loaded.error().ToString()));
    }
  }
  if (from == "store") VIGIL_TRY(matcher.Load());
  const auto stats = matcher.Stats();
  spdlog::info(R"("msg":"index loaded","from":{},"seconds":{:.3f},"pdq":{},"md5":{},"sha1":{},"sha256":{},)"
               R"("videos":{},"video_frames":{},"plugin_entries":{},"banks":{})",
               JsonString(from), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
               stats.entries_by_type[0], stats.entries_by_type[1], stats.entries_by_type[2], stats.entries_by_type[3],
               stats.entries_by_type[4], stats.video_frames, stats.plugin_entries, stats.banks);
  return {};
}

namespace {
// A pool of its own (for local models, hash plug-ins) with the decoder sandbox's settings, one lane.
sandbox::PoolOptions OwnPoolOptions(const server::ServerConfig& config, const char* what) {
  const auto& sb = config.sandbox;
  sandbox::PoolOptions base;
  base.executable = "/proc/self/exe";
  base.workers = sb.workers > 0 ? sb.workers : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  base.memory_bytes = static_cast<std::uint64_t>(sb.memory_mb) << 20;
  base.max_body_bytes = config.http.max_body_bytes;
  base.max_requests_per_worker = sb.max_requests_per_worker;
  base.image_wall_seconds = sb.image_wall_seconds;
  base.image_cpu_seconds = sb.image_cpu_seconds;
  base.user = sb.user;
  base.large_workers = 0;  // one lane: every image is decoded where the model or plug-in is
  base.on_worker_output = [what = std::string(what)](pid_t pid, std::string_view line) {
    spdlog::warn(R"("msg":"{} worker output","pid":{},"line":{})", what, pid, JsonString(std::string(line)));
  };
  return base;
}
}  // namespace

Result<std::optional<HashPluginsConfig>> RegisterConfiguredPlugins(const server::ServerConfig& config) {
  if (config.hash_plugins_file.empty()) return std::optional<HashPluginsConfig>();
  VIGIL_ASSIGN_OR_RETURN(auto plugins, LoadHashPluginsFile(config.hash_plugins_file));
  VIGIL_TRY(RegisterHashPlugins(plugins));
  return std::optional<HashPluginsConfig>(std::move(plugins));
}

Result<HashPluginCalls> StartHashPlugins(const server::ServerConfig& config, const HashPluginsConfig& plugins, const Matcher& matcher) {
  sandbox::PoolOptions pool_options = OwnPoolOptions(config, "hash plug-in");
  // The lists' values travel to each worker as one request's body: up to half its memory.
  pool_options.max_body_bytes = std::max<std::uint64_t>(pool_options.max_body_bytes, pool_options.memory_bytes / 2);
  auto started = sandbox::PluginSignals::Start(plugins, std::move(pool_options));
  if (!started) {
    if (started.error().code == ErrorCode::kUnsupported) {
      return Fail(started.error().code, "hash plug-ins run only in the decoder sandbox, which this machine refuses: " +
                                            started.error().message);
    }
    return tl::unexpected(started.error());
  }
  std::shared_ptr<sandbox::PluginSignals> shared(std::move(*started));
  for (const auto& spec : plugins.plugins) {
    const auto info = shared->pool().Plugin(spec.signal).value_or(sandbox::SandboxPool::PluginInfo{});
    spdlog::info(R"("msg":"hash plug-in loaded in the sandbox","signal":{},"version":{},"sha256":{},"hash_bytes":{},)"
                 R"("max_distance":{},"input":{},"workers":{})",
                 JsonString(spec.signal), JsonString(info.version), JsonString(spec.sha256), info.hash_bytes,
                 spec.max_distance.value_or(info.max_distance), JsonString(info.pixels ? "pixels" : "bytes"), plugins.workers);
  }
  HashPluginCalls calls;
  calls.signals = [shared, &matcher](std::span<const std::uint8_t> bytes, const MediaHashOptions& options) {
    const auto before = shared->pool().Stats();
    auto found = shared->HashAndMatch(bytes, options, matcher);
    if (!found && shared->pool().Stats().workers_killed > before.workers_killed) {
      spdlog::warn(R"("msg":"hash plug-in worker lost","error":{})", JsonString(found.error().ToString()));
    }
    if (!found && shared->pool().Stats().workers_failed > before.workers_failed) {
      spdlog::error(R"("msg":"hash plug-in worker did not start: uploads fail until this is mended","error":{})",
                    JsonString(found.error().ToString()));
    }
    if (found) {
      for (const auto& plugin : *found) {
        if (!plugin.unsuitable.empty()) {
          spdlog::info(R"("msg":"hash plug-in found the upload unsuitable: no value","signal":{},"reason":{})",
                       JsonString(plugin.signal_type), JsonString(plugin.unsuitable));
        }
      }
    }
    return found;
  };
  calls.lookup = [shared, &matcher](const std::string& signal, const std::string& value) {
    return shared->LookupValue(signal, value, matcher);
  };
  calls.stats = [shared] { return shared->pool().Stats(); };
  return calls;
}

classify::ModelHost SandboxModelHost(const server::ServerConfig& config) {
  sandbox::PoolOptions base = OwnPoolOptions(config, "model");
  MediaHashOptions decode;
  decode.limits = config.api.decode_limits;
  return [base, decode](const classify::LocalModel& model) -> Result<classify::StartedModel> {
    sandbox::PoolOptions options = base;
    if (model.workers > 0) options.workers = model.workers;
    // The model travels to each worker as a request's body: a model larger than an upload may be.
    if (model.onnx) options.max_body_bytes = std::max<std::uint64_t>(options.max_body_bytes, model.onnx->size());
    options.models.push_back({model.classifier, model.onnx, model.card.input});
    // Whatever the decoder sandbox's mode: a model file is parsed only under the filter.
    auto pool = sandbox::SandboxPool::Start(options);
    if (!pool) {
      // A kernel that refuses the sandbox refuses local models; a model that does not load says why.
      if (pool.error().code == ErrorCode::kUnsupported) {
        return Fail(pool.error().code, "local models run only in the decoder sandbox, which this machine refuses: " + pool.error().message);
      }
      return tl::unexpected(pool.error());
    }
    std::shared_ptr<sandbox::SandboxPool> shared(std::move(*pool));
    const auto info = shared->Model(model.classifier).value_or(sandbox::SandboxPool::ModelInfo{});
    spdlog::info(R"("msg":"local model loaded in the sandbox","classifier":{},"model":{},"version":{},"sha256":{},"outputs":{},)"
                 R"("run_ms_on_zeros":{:.1f},"workers":{})",
                 JsonString(model.classifier), JsonString(model.card.name), JsonString(model.card.version),
                 JsonString(model.card.sha256), info.outputs, info.run_ms, options.workers);
    classify::StartedModel started;
    started.outputs = info.outputs;
    started.run = [shared, name = model.classifier, decode](std::span<const std::uint8_t> bytes) {
      const auto before = shared->Stats();
      auto outputs = shared->RunModel(name, bytes, decode);
      if (!outputs && shared->Stats().workers_killed > before.workers_killed) {
        spdlog::warn(R"("msg":"model worker lost","classifier":{},"error":{})", JsonString(name), JsonString(outputs.error().ToString()));
      }
      return outputs;
    };
    return started;
  };
}

Result<std::shared_ptr<classify::ClassifierSet>> LoadClassifiers(const server::ServerConfig& config, const PolicyRules* rules,
                                                                 const std::string& rules_path) {
  std::shared_ptr<classify::ClassifierSet> set;
  if (!config.classifiers_file.empty()) {
    VIGIL_ASSIGN_OR_RETURN(set, classify::ClassifierSet::Load(config.classifiers_file, SystemClock(), SandboxModelHost(config)));
  }
  if (rules != nullptr) VIGIL_TRY(classify::CheckRulesNameClassifiers(*rules, set.get(), rules_path));
  return set;
}

}  // namespace vigil::cli
