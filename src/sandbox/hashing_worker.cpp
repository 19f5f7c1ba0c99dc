// The decoder worker's loop (see hashing_worker.h).
#include "sandbox/hashing_worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "media/decoder_modules.h"
#include "media/tensor_input.h"
#include "sandbox/hash_plugin_runtime.h"
#include "sandbox/model_request.h"
#include "sandbox/model_runtime.h"
#include "sandbox/seccomp_sandbox.h"
#include "sandbox/worker_protocol.h"
#include "signals/media_hashing.h"
#include "util/hex.h"
#include "vigil/image.h"
#include "vigil/preview.h"
#include "vigil/video.h"

extern char** environ;

namespace vigil::sandbox {
namespace {

namespace json = boost::json;

std::string ErrorJson(const Error& e) {
  return json::serialize(json::object{{"code", ErrorCodeName(e.code)}, {"message", e.message}});
}

std::int64_t IntMember(const json::value& v, const char* key, std::int64_t fallback) {
  const auto* m = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return m != nullptr && m->is_int64() ? m->as_int64() : fallback;
}

// Diagnostics that show the confinement holds; each says what happened.
std::string Probe(const std::string& name, const json::value& request, const WorkerSettings& settings) {
  if (name == "ping") return R"({"ok":true})";
  if (name == "identity") {
    // As the decoder sees itself: PID 1 in a PID namespace of its own.
    return json::serialize(json::object{{"uid", getuid()}, {"euid", geteuid()}, {"gid", getgid()},
                                        {"egid", getegid()}, {"pid", getpid()}});
  }
  if (name == "prlimit_other") {
    // What a compromised decoder would try: lowering another process's limits (the service's,
    // whose pid the request carries). The filter kills the process before this returns.
    const auto target = static_cast<pid_t>(IntMember(request, "service_pid", 1));
    const rlimit none{0, 0};
    const int rc = prlimit(target, RLIMIT_CORE, &none, nullptr);
    const int err = errno;
    return json::serialize(json::object{{"changed", rc == 0}, {"errno", rc == 0 ? 0 : err}});
  }
  if (name == "stderr") {
    // Standard error is a pipe the service drains and logs, prefixed with the worker's pid.
    static constexpr char kLine[] = "vigil sandbox probe: a line on standard error\n";
    const ssize_t n = write(2, kLine, sizeof kLine - 1);
    return json::serialize(json::object{{"written", n}});
  }
  if (name == "environment") {
    int n = 0;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) ++n;
    return json::serialize(json::object{{"variables", n}});
  }
  if (name == "open_file") {
    const int fd = open("/etc/hostname", O_RDONLY);
    const int err = errno;
    if (fd >= 0) close(fd);
    return json::serialize(json::object{{"opened", fd >= 0}, {"errno", fd >= 0 ? 0 : err}});
  }
  if (name == "write_file") {
    // Files cannot be created (open is refused) and nothing can grow (RLIMIT_FSIZE 0).
    const int fd = open("/tmp/vigil-sandbox-probe", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = errno;
    if (fd >= 0) close(fd);
    return json::serialize(json::object{{"created", fd >= 0}, {"errno", fd >= 0 ? 0 : err}});
  }
  if (name == "thread_name") {
    // What dav1d and libaom do in every thread they start: allowed.
    const int rc = prctl(PR_SET_NAME, "vigil-probe", 0UL, 0UL, 0UL);
    return json::serialize(json::object{{"named", rc == 0}});
  }
  if (name == "prctl_other") {
    // Any other prctl (here PR_SET_DUMPABLE 0, what it already is): the filter kills the process
    // before this returns (sanitizer builds allow it).
    const int rc = prctl(PR_SET_DUMPABLE, 0UL, 0UL, 0UL, 0UL);
    return json::serialize(json::object{{"rc", rc}});
  }
  if (name == "forbidden_syscall") {
    // A network socket: the filter kills the process before this returns.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    return json::serialize(json::object{{"socket", fd}});
  }
  if (name == "allocate") {
    // More than the memory limit: refused by the kernel (RLIMIT_AS), seen as bad_alloc.
    std::vector<char> block(static_cast<std::size_t>(settings.memory_bytes) + (64u << 20));
    std::memset(block.data(), 1, block.size());
    return json::serialize(json::object{{"allocated", block.size()}});
  }
  if (name == "spin") {
    volatile std::uint64_t x = 0;
    for (;;) x = x + 1;
  }
  return json::serialize(json::object{{"unknown_probe", name}});
}

// The lane threshold for images whose declared size the compression-ratio check could not bound
// by their bytes (ImageHeader::ratio_checked false: arithmetic-coded JPEG, lossless WebP,
// HEIF/AVIF, TIFF compressions without a ceiling). A few hundred bytes of those can declare just
// under large_pixels honestly (a 214-byte arithmetic JPEG at 3999x3999, a 680-byte lossless WebP),
// so their decode cost cannot be predicted from their size: past 1 megapixel they go to the large
// lane whatever their size. A constant: the worker's settings come from its command line
// (`vigil sandbox-worker --large-pixels`), which has no option for it.
constexpr std::uint64_t kUncheckedLargePixels = 1'000'000;

// The pixels an image's header declares when they are more than this lane takes: such an image
// goes back to the service for the large lane, undecoded. Videos, and files whose header does not
// read (their error is the decoder's, and costs nothing), stay.
std::optional<std::uint64_t> ForLargeLane(std::span<const std::uint8_t> body, const DecodeLimits& limits,
                                          std::uint64_t large_pixels) {
  if (large_pixels == 0 || LooksLikeVideo(body)) return std::nullopt;
  auto header = ReadImageHeader(body, limits);
  if (!header) return std::nullopt;
  const std::uint64_t pixels = std::uint64_t{header->width} * header->height;
  const std::uint64_t threshold = header->ratio_checked ? large_pixels : std::min(large_pixels, kUncheckedLargePixels);
  if (pixels <= threshold) return std::nullopt;
  return pixels;
}

// The models this worker was given, by name.
struct WorkerModel {
  std::unique_ptr<LoadedModel> model;
  media::TensorSpec input;
};

// The model a kLoadModel or kClassify request names ("model"); "" when none.
const char* ModelName(const json::value& options) {
  const auto* o = options.if_object();
  const auto* v = o != nullptr ? o->if_contains("model") : nullptr;
  return v != nullptr && v->is_string() ? v->as_string().c_str() : "";
}

// kLoadModel: parse (here, under the filter), then one run on zeros, which shows the model takes
// the card's input and tells the service how many numbers it answers and how long a run takes. The
// run is held to an upload's CPU budget ("run_cpu_seconds"): a model too slow for any upload is
// refused at start, not discovered one upload at a time.
Result<std::string> LoadModel(const json::value& options, std::span<const std::uint8_t> onnx, const Result<const ModelRuntime*>& runtime,
                              std::map<std::string, WorkerModel>& models) {
  if (!runtime) return tl::unexpected(runtime.error());
  const std::string name = ModelName(options);
  if (name.empty() || name.size() > 64) return Fail(ErrorCode::kInvalidArgument, "a model needs a name of 1-64 bytes");
  const auto* o = options.if_object();
  const auto* input = o != nullptr ? o->if_contains("input") : nullptr;
  VIGIL_ASSIGN_OR_RETURN(auto spec, input != nullptr ? TensorSpecFromJson(*input)
                                                      : Result<media::TensorSpec>(Fail(ErrorCode::kInvalidArgument, "the model's input is missing")));
  VIGIL_ASSIGN_OR_RETURN(auto model, (*runtime)->load(onnx));
  const std::vector<float> zeros(std::size_t{spec.width} * spec.height * spec.channels(), 0.0f);
  const auto* budget = o->if_contains("run_cpu_seconds");
  if (budget != nullptr && budget->is_int64() && budget->as_int64() > 0) SetCpuBudget(static_cast<std::uint32_t>(budget->as_int64()));
  const auto started = std::chrono::steady_clock::now();
  auto outputs = model->Run(zeros, spec.Shape());
  const double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!outputs) {
    return Fail(ErrorCode::kInvalidArgument, "the model does not take the card's input (" + std::to_string(spec.width) + "x" +
                                                 std::to_string(spec.height) + ", " + std::string(media::TensorLayoutName(spec.layout)) +
                                                 ", " + std::to_string(spec.channels()) + " channels): " + outputs.error().message);
  }
  const std::size_t count = outputs->size();
  models[name] = WorkerModel{std::move(model), spec};
  return json::serialize(json::object{{"outputs", count}, {"run_ms", run_ms}});
}

// kClassify: the image decoded within the limits, made into the model's input, run.
Result<std::string> Classify(const json::value& options, std::span<const std::uint8_t> body, const MediaHashOptions& hash_options,
                             std::map<std::string, WorkerModel>& models) {
  const std::string name = ModelName(options);
  auto it = models.find(name);
  if (it == models.end()) return Fail(ErrorCode::kInvalidArgument, "no model '" + name.substr(0, 64) + "' is loaded in this worker");
  if (LooksLikeVideo(body)) return Fail(ErrorCode::kUnsupported, "local models classify images, not videos");
  VIGIL_ASSIGN_OR_RETURN(auto image, DecodeImage(body, hash_options.limits));
  VIGIL_ASSIGN_OR_RETURN(auto tensor, media::ImageToTensor(image, it->second.input));
  VIGIL_ASSIGN_OR_RETURN(auto outputs, it->second.model->Run(tensor, it->second.input.Shape()));
  json::array out;
  out.reserve(outputs.size());
  // JSON has no infinity or NaN: such an output goes as null, and the service names it.
  for (float v : outputs) out.push_back(std::isfinite(v) ? json::value(static_cast<double>(v)) : json::value(nullptr));
  return json::serialize(json::object{{"outputs", std::move(out)}});
}

// A hash plug-in with the list values of its signal type the service sent last.
struct WorkerPlugin {
  std::unique_ptr<LoadedHashPlugin> plugin;
  std::uint64_t version = 0;  // of `values`; 0: none sent yet
  std::vector<std::uint8_t> values;
};

const char* OptionText(const json::value& options, const char* key) {
  const auto* o = options.if_object();
  const auto* v = o != nullptr ? o->if_contains(key) : nullptr;
  return v != nullptr && v->is_string() ? v->as_string().c_str() : "";
}

std::uint64_t OptionCount(const json::value& options, const char* key) {
  const auto* o = options.if_object();
  const auto* v = o != nullptr ? o->if_contains(key) : nullptr;
  return v != nullptr && v->is_uint64() ? v->as_uint64() : v != nullptr && v->is_int64() && v->as_int64() > 0 ? static_cast<std::uint64_t>(v->as_int64()) : 0;
}

Result<WorkerPlugin*> FindPlugin(const json::value& options, std::map<std::string, WorkerPlugin>& plugins) {
  const std::string signal = OptionText(options, "signal");
  auto it = plugins.find(signal);
  if (it == plugins.end()) return Fail(ErrorCode::kInvalidArgument, "no hash plug-in '" + signal.substr(0, 32) + "' in this worker");
  return &it->second;
}

// The plug-in a scanning request names, which must hold the version of the values it asks for.
Result<WorkerPlugin*> FindPluginHolding(const json::value& options, std::map<std::string, WorkerPlugin>& plugins) {
  VIGIL_ASSIGN_OR_RETURN(WorkerPlugin* p, FindPlugin(options, plugins));
  if (OptionCount(options, "version") != p->version) {
    return Fail(ErrorCode::kInternal, "the worker holds version " + std::to_string(p->version) + " of '" + p->plugin->info().name +
                                          "' values, not the one asked for");
  }
  return p;
}

// kPluginSet: the values the next kPluginHash requests scan.
Result<std::string> SetPluginValues(const json::value& options, std::vector<std::uint8_t> body,
                                    std::map<std::string, WorkerPlugin>& plugins) {
  VIGIL_ASSIGN_OR_RETURN(WorkerPlugin* p, FindPlugin(options, plugins));
  const std::size_t size = p->plugin->info().hash_bytes;
  if (body.size() % size != 0) {
    return Fail(ErrorCode::kInvalidArgument, "the values are not a whole number of " + std::to_string(size) + "-byte values");
  }
  p->values = std::move(body);
  p->version = OptionCount(options, "version");
  return json::serialize(json::object{{"count", p->values.size() / size}});
}


// The answer for `value`: it, and the held values near it by the plug-in's distance.
Result<std::string> ScanValues(const json::value& options, std::span<const std::uint8_t> value, const WorkerPlugin& p) {
  const LoadedHashPlugin& plugin = *p.plugin;
  // A distance that is not 0 from a value to itself is no distance: nothing it says can be trusted.
  if (const std::uint32_t self = plugin.Distance(value.data(), value.data()); self != 0) {
    return Fail(ErrorCode::kInternal, "hash plug-in '" + plugin.info().name + "' says a value is " + std::to_string(self) +
                                          " from itself: its distance is broken");
  }
  const auto max_distance = static_cast<std::uint32_t>(std::min<std::uint64_t>(OptionCount(options, "max_distance"), 0xffffffffu));
  const std::size_t limit = std::clamp<std::uint64_t>(OptionCount(options, "limit"), 1, 10'000);
  VIGIL_ASSIGN_OR_RETURN(auto found, plugin.Scan(value, p.values, max_distance, limit));
  json::array near;
  for (const auto& [position, distance] : found) {
    near.push_back(json::array{position, distance});
  }
  return json::serialize(json::object{{"value", util::HexEncode(value)}, {"near", std::move(near)}});
}

// kPluginHash: the upload hashed by the plug-in (an image decoded within the limits first, for a
// pixels plug-in), and the list values near it by the plug-in's distance.
Result<std::string> HashWithPlugin(const json::value& options, std::span<const std::uint8_t> body, const MediaHashOptions& hash_options,
                               std::map<std::string, WorkerPlugin>& plugins) {
  VIGIL_ASSIGN_OR_RETURN(WorkerPlugin* p, FindPluginHolding(options, plugins));
  const LoadedHashPlugin& plugin = *p->plugin;
  Result<sandbox::PluginHash> hashed = Fail(ErrorCode::kInternal, "not hashed");
  if (plugin.info().input == VIGIL_HASH_INPUT_BYTES) {
    hashed = plugin.HashBytes(body);
  } else if (LooksLikeVideo(body)) {
    return json::serialize(json::object{{"unsuitable", "the plug-in hashes images, and this is a video"}});
  } else {
    VIGIL_ASSIGN_OR_RETURN(auto image, DecodeImage(body, hash_options.limits));
    hashed = plugin.HashImage(image);
  }
  if (!hashed) return tl::unexpected(hashed.error());
  if (hashed->value.empty()) return json::serialize(json::object{{"unsuitable", hashed->unsuitable}});
  return ScanValues(options, hashed->value, *p);
}

// kPluginMatch: a value looked up without its media, scanned as an upload's would be.
Result<std::string> MatchPluginValue(const json::value& options, std::span<const std::uint8_t> body,
                                     std::map<std::string, WorkerPlugin>& plugins) {
  VIGIL_ASSIGN_OR_RETURN(WorkerPlugin* p, FindPluginHolding(options, plugins));
  if (body.size() != p->plugin->info().hash_bytes) return Fail(ErrorCode::kInvalidArgument, "the value is not one value of the plug-in's length");
  return ScanValues(options, body, *p);
}

}  // namespace

int RunHashingWorker(const WorkerSettings& settings) {
  signal(SIGPIPE, SIG_IGN);
  SandboxLimits limits;
  limits.memory_bytes = settings.memory_bytes;
  limits.uid = settings.uid;
  limits.gid = settings.gid;
  limits.nice = settings.nice;
  // The decoder modules, while there are still files to load them from. Every lane needs video:
  // a video's preview (its first frame) is decoded in the small lane.
  const std::string missing_decoders = media::PreloadDecoderModules();
  // Also on standard error, which the service logs for every worker it starts (the ready message
  // below is read once, at the pool's start): an installation broken under a running service shows.
  if (!missing_decoders.empty()) std::fprintf(stderr, "decoder modules missing: %s\n", missing_decoders.c_str());
  // The model runtime likewise, for a pool that runs models (its loading error answers each model).
  const Result<const ModelRuntime*> runtime =
      settings.models ? LoadModelRuntime() : Result<const ModelRuntime*>(Fail(ErrorCode::kUnavailable, "this worker was started without models"));
  std::map<std::string, WorkerModel> models;
  // Hash plug-ins, opened while files can still be read (their entry points are called below, under
  // the filter); one that does not open stops the worker with its reason.
  std::vector<std::pair<std::string, std::unique_ptr<LoadedHashPlugin>>> opened;
  for (const auto& configured : settings.plugins) {
    auto plugin = LoadedHashPlugin::Open(configured.path, configured.sha256);
    if (!plugin) {
      (void)WriteAnswer(1, AnswerStatus::kError, ErrorJson(plugin.error()));
      return 70;
    }
    opened.emplace_back(configured.path, std::move(*plugin));
  }
  Isolation isolation;
  if (auto entered = EnterSandbox(limits, &isolation); !entered) {
    (void)WriteAnswer(1, AnswerStatus::kError, ErrorJson(entered.error()));
    return 70;
  }
  std::map<std::string, WorkerPlugin> plugins;
  json::array plugin_infos;
  for (auto& [path, plugin] : opened) {
    if (auto described = plugin->Describe(); !described) {
      (void)WriteAnswer(1, AnswerStatus::kError, ErrorJson(described.error()));
      return 70;
    }
    const HashPluginInfo& info = plugin->info();
    plugin_infos.push_back(json::object{{"signal", info.name}, {"version", info.version}, {"hash_bytes", info.hash_bytes},
                                        {"input", info.input == VIGIL_HASH_INPUT_RGB ? "rgb" : "bytes"},
                                        {"max_distance", info.max_distance}, {"path", path}});
    plugins[info.name].plugin = std::move(plugin);
  }
  const json::object ready{{"network_isolated", isolation.network},
                           {"mount_namespace", isolation.mount},
                           {"pid_namespace", isolation.pid},
                           {"user_namespace", isolation.user_namespace},
                           {"capabilities_dropped", isolation.capabilities},
                           {"bounding_set_dropped", isolation.bounding_set},
                           {"uid", isolation.uid},
                           {"gid", isolation.gid},
                           {"refused", isolation.refused},
                           {"missing_decoders", missing_decoders},
                           {"plugins", std::move(plugin_infos)}};
  if (!WriteAnswer(1, AnswerStatus::kReady, json::serialize(ready))) return 71;
  for (;;) {
    RequestHeader h;
    if (auto got = ReadAll(0, &h, sizeof h); !got) return got.error().code == ErrorCode::kTruncated ? 0 : 72;
    if (h.magic != kRequestMagic || h.options_bytes > kMaxOptionsBytes || h.body_bytes > settings.max_body_bytes) {
      return 73;  // not our peer, or a peer gone wrong: nothing sensible to answer
    }
    std::string options(h.options_bytes, '\0');
    if (!ReadAll(0, options.data(), options.size())) return 72;
    try {
      std::vector<std::uint8_t> body(static_cast<std::size_t>(h.body_bytes));
      if (!ReadAll(0, body.data(), body.size())) return 72;
      boost::system::error_code ec;
      const json::value parsed = json::parse(options, ec);
      if (ec) {
        if (!WriteAnswer(1, AnswerStatus::kError, ErrorJson({ErrorCode::kInvalidArgument, "options are not JSON"}), h.sequence)) return 71;
        continue;
      }
      std::string answer;
      AnswerStatus status = AnswerStatus::kOk;
      SetCpuBudget(h.cpu_seconds);  // the request's, from here to its answer
      const bool decodes = h.op == static_cast<std::uint32_t>(WorkerOp::kHash) ||
                           h.op == static_cast<std::uint32_t>(WorkerOp::kPreview) ||
                           h.op == static_cast<std::uint32_t>(WorkerOp::kClassify) ||
                           h.op == static_cast<std::uint32_t>(WorkerOp::kPluginHash);
      auto hash_options = decodes ? MediaHashOptionsFromJson(parsed) : Result<MediaHashOptions>(MediaHashOptions{});
      const auto large = decodes && hash_options ? ForLargeLane(body, hash_options->limits, settings.large_pixels)
                                                 : std::nullopt;
      // An image its header already condemns (too large, a bomb) is answered from the header.
      std::optional<Error> refused;
      if (decodes && hash_options && !LooksLikeVideo(body)) {
        if (auto header = ReadImageHeader(body, hash_options->limits); !header && header.error().code == ErrorCode::kTooLarge) {
          refused = header.error();
        }
      }
      if (h.op == static_cast<std::uint32_t>(WorkerOp::kProbe)) {
        const auto* probe = parsed.is_object() ? parsed.as_object().if_contains("probe") : nullptr;
        answer = Probe(probe != nullptr && probe->is_string() ? std::string(probe->as_string()) : "", parsed, settings);
      } else if (refused) {
        status = AnswerStatus::kRefused;
        answer = ErrorJson(*refused);
      } else if (large) {
        status = AnswerStatus::kLargeLane;
        answer = json::serialize(json::object{{"pixels", *large}});
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kHash)) {
        auto hashed = hash_options ? HashMedia(body, *hash_options) : tl::unexpected(hash_options.error());
        if (!hashed) status = AnswerStatus::kError;
        answer = hashed ? json::serialize(HashedMediaToJson(*hashed)) : ErrorJson(hashed.error());
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kPreview)) {
        // The reviewer-safe preview, as JPEG bytes (the answer's payload is binary).
        PreviewOptions preview;
        if (hash_options) preview.limits = hash_options->limits;
        auto jpeg = hash_options ? BlurredPreview(body, preview) : tl::unexpected(hash_options.error());
        if (!jpeg) status = AnswerStatus::kError;
        answer = jpeg ? std::string(jpeg->begin(), jpeg->end()) : ErrorJson(jpeg.error());
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kLoadModel)) {
        auto loaded = LoadModel(parsed, body, runtime, models);
        if (!loaded) status = AnswerStatus::kError;
        answer = loaded ? *loaded : ErrorJson(loaded.error());
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kClassify)) {
        auto scored = hash_options ? Classify(parsed, body, *hash_options, models) : tl::unexpected(hash_options.error());
        if (!scored) status = AnswerStatus::kError;
        answer = scored ? *scored : ErrorJson(scored.error());
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kPluginSet)) {
        auto set = SetPluginValues(parsed, std::move(body), plugins);
        if (!set) status = AnswerStatus::kError;
        answer = set ? *set : ErrorJson(set.error());
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kPluginMatch)) {
        auto matched = MatchPluginValue(parsed, body, plugins);
        if (!matched) status = AnswerStatus::kError;
        answer = matched ? *matched : ErrorJson(matched.error());
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kPluginHash)) {
        auto hashed = hash_options ? HashWithPlugin(parsed, body, *hash_options, plugins) : tl::unexpected(hash_options.error());
        if (!hashed) status = AnswerStatus::kError;
        answer = hashed ? *hashed : ErrorJson(hashed.error());
      } else {
        status = AnswerStatus::kError;
        answer = ErrorJson({ErrorCode::kInvalidArgument, "unknown worker operation " + std::to_string(h.op)});
      }
      SetCpuBudget(0);
      if (!WriteAnswer(1, status, answer, h.sequence)) return 71;
    } catch (const std::bad_alloc&) {
      SetCpuBudget(0);
      const Error e{ErrorCode::kResourceExhausted,
                    "decoding needed more than the worker's memory limit of " +
                        std::to_string(settings.memory_bytes >> 20) + " MiB"};
      if (!WriteAnswer(1, AnswerStatus::kError, ErrorJson(e), h.sequence)) return 71;
    }
  }
}

}  // namespace vigil::sandbox
