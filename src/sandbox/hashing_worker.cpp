// The decoder worker's loop (see hashing_worker.h).
#include "sandbox/hashing_worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include "sandbox/seccomp_sandbox.h"
#include "sandbox/worker_protocol.h"
#include "signals/media_hashing.h"
#include "vigil/preview.h"

extern char** environ;

namespace vigil::sandbox {
namespace {

namespace json = boost::json;

std::string ErrorJson(const Error& e) {
  return json::serialize(json::object{{"code", ErrorCodeName(e.code)}, {"message", e.message}});
}

// Diagnostics that show the confinement holds; each says what happened.
std::string Probe(const std::string& name, const WorkerSettings& settings) {
  if (name == "ping") return R"({"ok":true})";
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

}  // namespace

int RunHashingWorker(const WorkerSettings& settings) {
  signal(SIGPIPE, SIG_IGN);
  SandboxLimits limits;
  limits.memory_bytes = settings.memory_bytes;
  bool network_isolated = false;
  if (auto entered = EnterSandbox(limits, &network_isolated); !entered) {
    (void)WriteAnswer(1, AnswerStatus::kError, ErrorJson(entered.error()));
    return 70;
  }
  if (!WriteAnswer(1, AnswerStatus::kReady, json::serialize(json::object{{"network_isolated", network_isolated}}))) {
    return 71;
  }
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
        if (!WriteAnswer(1, AnswerStatus::kError, ErrorJson({ErrorCode::kInvalidArgument, "options are not JSON"}))) return 71;
        continue;
      }
      std::string answer;
      bool ok = true;
      if (h.op == static_cast<std::uint32_t>(WorkerOp::kProbe)) {
        const auto* probe = parsed.is_object() ? parsed.as_object().if_contains("probe") : nullptr;
        answer = Probe(probe != nullptr && probe->is_string() ? std::string(probe->as_string()) : "", settings);
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kHash)) {
        auto hash_options = MediaHashOptionsFromJson(parsed);
        auto hashed = hash_options ? HashMedia(body, *hash_options) : tl::unexpected(hash_options.error());
        ok = hashed.has_value();
        answer = ok ? json::serialize(HashedMediaToJson(*hashed)) : ErrorJson(hashed.error());
      } else if (h.op == static_cast<std::uint32_t>(WorkerOp::kPreview)) {
        // The reviewer-safe preview, as JPEG bytes (the answer's payload is binary).
        auto hash_options = MediaHashOptionsFromJson(parsed);
        PreviewOptions preview;
        if (hash_options) preview.limits = hash_options->limits;
        auto jpeg = hash_options ? BlurredPreview(body, preview) : tl::unexpected(hash_options.error());
        ok = jpeg.has_value();
        answer = ok ? std::string(jpeg->begin(), jpeg->end()) : ErrorJson(jpeg.error());      } else {
        ok = false;
        answer = ErrorJson({ErrorCode::kInvalidArgument, "unknown worker operation " + std::to_string(h.op)});
      }
      if (!WriteAnswer(1, ok ? AnswerStatus::kOk : AnswerStatus::kError, answer)) return 71;
    } catch (const std::bad_alloc&) {
      const Error e{ErrorCode::kResourceExhausted,
                    "decoding needed more than the worker's memory limit of " +
                        std::to_string(settings.memory_bytes >> 20) + " MiB"};
      if (!WriteAnswer(1, AnswerStatus::kError, ErrorJson(e))) return 71;
    }
  }
}

}  // namespace vigil::sandbox
