// The pool of confined decoder workers (see sandbox_pool.h).
#include "sandbox/sandbox_pool.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "sandbox/worker_protocol.h"

namespace vigil::sandbox {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

ErrorCode CodeNamed(std::string_view name) {
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    if (ErrorCodeName(static_cast<ErrorCode>(c)) == name) return static_cast<ErrorCode>(c);
  }
  return ErrorCode::kInternal;
}

Error FromErrorJson(const std::string& payload) {
  boost::system::error_code ec;
  const json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return {ErrorCode::kInternal, "the decoder worker answered with a malformed error"};
  const auto& o = v.as_object();
  const auto* code = o.if_contains("code");
  const auto* message = o.if_contains("message");
  return {code != nullptr && code->is_string() ? CodeNamed(code->as_string()) : ErrorCode::kInternal,
          message != nullptr && message->is_string() ? std::string(message->as_string()) : "decoder worker error"};
}

// Waits until `fd` is ready for `events` or the deadline passes.
Status WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Fail(ErrorCode::kTooLarge, "deadline");
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrorCode::kIoError, std::string("poll: ") + std::strerror(errno));
    if (n > 0) return {};
  }
}

// Reads exactly `size` bytes before the deadline.
Status ReadBefore(int fd, void* data, std::size_t size, Clock::time_point deadline) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    VIGIL_TRY(WaitFor(fd, POLLIN, deadline));
    const ssize_t n = recv(fd, p, size, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return Fail(ErrorCode::kIoError, "closed");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

Status WriteBefore(int fd, const void* data, std::size_t size, Clock::time_point deadline) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    VIGIL_TRY(WaitFor(fd, POLLOUT, deadline));
    const ssize_t n = send(fd, p, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return Fail(ErrorCode::kIoError, "closed");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

Result<std::unique_ptr<SandboxPool>> SandboxPool::Start(PoolOptions options) {
  if (options.workers < 1) options.workers = 1;
  std::unique_ptr<SandboxPool> pool(new SandboxPool(std::move(options)));
  std::string ready;
  auto first = pool->Spawn(&ready);
  if (!first) return tl::unexpected(first.error());
  boost::system::error_code ec;
  const json::value said = json::parse(ready, ec);
  if (!ec && said.is_object()) {
    const auto* isolated = said.as_object().if_contains("network_isolated");
    pool->network_isolated_ = isolated != nullptr && isolated->is_bool() && isolated->as_bool();
  }
  std::lock_guard lock(pool->mu_);
  pool->idle_.push_back(*first);
  pool->live_ = 1;
  return pool;
}

SandboxPool::~SandboxPool() {
  std::unique_lock lock(mu_);
  for (auto& w : idle_) {
    close(w.fd);  // the worker sees the end of its input and exits
    int status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while (waitpid(w.pid, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(w.pid, SIGKILL);
        waitpid(w.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  idle_.clear();
}

Result<SandboxPool::Worker> SandboxPool::Spawn(std::string* ready) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Fail(ErrorCode::kIoError, std::string("socketpair: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  const std::string memory = std::to_string(options_.memory_bytes >> 20);
  const std::string max_bytes = std::to_string(options_.max_body_bytes);
  std::vector<char*> argv = {const_cast<char*>(options_.executable.c_str()), const_cast<char*>("sandbox-worker"),
                             const_cast<char*>("--memory-mb"), const_cast<char*>(memory.c_str()),
                             const_cast<char*>("--max-bytes"), const_cast<char*>(max_bytes.c_str()), nullptr};
  char* empty_environment[] = {nullptr};  // the service's secrets stay in the service
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, options_.executable.c_str(), &actions, nullptr, argv.data(), empty_environment);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return Fail(ErrorCode::kIoError, "cannot start the decoder worker " + options_.executable + ": " + std::strerror(rc));
  }
  Worker w{pid, fds[0], 0};
  // The worker confines itself and says so (or why it could not).
  AnswerHeader h;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  auto got = ReadBefore(w.fd, &h, sizeof h, deadline);
  std::string payload;
  if (got && h.magic == kAnswerMagic && h.payload_bytes < kMaxOptionsBytes) {
    payload.resize(h.payload_bytes);
    got = ReadBefore(w.fd, payload.data(), payload.size(), deadline);
  }
  if (!got || h.magic != kAnswerMagic || h.status != static_cast<std::uint32_t>(AnswerStatus::kReady)) {
    Error why = got && h.status == static_cast<std::uint32_t>(AnswerStatus::kError)
                    ? FromErrorJson(payload)
                    : Error{ErrorCode::kUnsupported, "the decoder worker did not start"};
    Kill(w);
    return Fail(ErrorCode::kUnsupported, "decoder sandbox unavailable: " + why.message);
  }
  if (ready != nullptr) *ready = std::move(payload);
  std::lock_guard lock(mu_);
  ++stats_.workers_started;
  return w;
}

Result<SandboxPool::Worker> SandboxPool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !idle_.empty() || live_ < options_.workers; });
  while (!idle_.empty()) {
    Worker w = idle_.back();
    idle_.pop_back();
    // A worker that died while idle (the OOM killer, an operator) is replaced, not blamed on the
    // next upload.
    int status = 0;
    if (waitpid(w.pid, &status, WNOHANG) == 0) return w;
    close(w.fd);
    --live_;
  }
  if (live_ >= options_.workers) {
    cv_.wait(lock, [this] { return !idle_.empty() || live_ < options_.workers; });
    lock.unlock();
    return Acquire();
  }
  ++live_;
  lock.unlock();
  auto spawned = Spawn();
  if (!spawned) {
    std::lock_guard relock(mu_);
    --live_;
    cv_.notify_one();
  }
  return spawned;
}

void SandboxPool::Release(Worker worker) {
  if (worker.pid > 0 && worker.requests >= options_.max_requests_per_worker) {
    close(worker.fd);
    int status = 0;
    waitpid(worker.pid, &status, 0);  // it exits at the end of its input
    worker.pid = -1;
  }
  std::lock_guard lock(mu_);
  if (worker.pid > 0) {
    idle_.push_back(worker);
  } else {
    --live_;
  }
  cv_.notify_one();
}

void SandboxPool::Kill(Worker& worker) {
  if (worker.pid <= 0) return;
  ::kill(worker.pid, SIGKILL);
  int status = 0;
  while (waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
  }
  close(worker.fd);
  worker.pid = -1;
  worker.fd = -1;
}

Result<std::pair<std::uint32_t, std::string>> SandboxPool::Exchange(Worker& w, std::uint32_t op,
                                                                    const std::string& options,
                                                                    std::span<const std::uint8_t> body,
                                                                    double wall_seconds) {
  const auto deadline = Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(wall_seconds * 1e6));
  RequestHeader h;
  h.op = op;
  h.options_bytes = static_cast<std::uint32_t>(options.size());
  h.body_bytes = body.size();
  ++w.requests;
  auto sent = WriteBefore(w.fd, &h, sizeof h, deadline);
  if (sent) sent = WriteBefore(w.fd, options.data(), options.size(), deadline);
  if (sent) sent = WriteBefore(w.fd, body.data(), body.size(), deadline);
  AnswerHeader a;
  auto got = sent ? ReadBefore(w.fd, &a, sizeof a, deadline) : tl::unexpected(sent.error());
  std::string payload;
  if (got && (a.magic != kAnswerMagic || a.payload_bytes > kMaxAnswerBytes)) {
    got = Fail(ErrorCode::kInternal, "the decoder worker answered out of protocol");
  }
  if (got) {
    payload.resize(a.payload_bytes);
    got = ReadBefore(w.fd, payload.data(), payload.size(), deadline);
  }
  if (got) return std::pair<std::uint32_t, std::string>(a.status, std::move(payload));

  // The worker failed: find out how, then make sure it is gone.
  const bool timed_out = got.error().code == ErrorCode::kTooLarge;
  int status = 0;
  pid_t reaped = 0;
  if (!timed_out) {
    // It closed its end: it has exited or is about to.
    const auto grace = Clock::now() + std::chrono::seconds(2);
    while ((reaped = waitpid(w.pid, &status, WNOHANG)) == 0 && Clock::now() < grace) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  if (reaped != w.pid) {
    ::kill(w.pid, SIGKILL);
    while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  close(w.fd);
  w.pid = -1;
  w.fd = -1;
  {
    std::lock_guard lock(mu_);
    ++stats_.workers_killed;
  }
  if (timed_out) {
    return Fail(ErrorCode::kTooLarge, "decoding took longer than the limit of " + std::to_string(static_cast<int>(wall_seconds)) +
                                          " s; the decoder worker was stopped");
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGSYS) {
      return Fail(ErrorCode::kCorrupt,
                  "the decoder attempted a system call the sandbox forbids and was stopped (SIGSYS): hostile input");
    }
    return Fail(ErrorCode::kCorrupt, "the decoder crashed on this input (" + SignalName(sig) + ") and was replaced");
  }
  if (WIFEXITED(status)) {
    return Fail(ErrorCode::kInternal, "the decoder worker exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  return Fail(ErrorCode::kInternal, "the decoder worker stopped answering: " + got.error().message);
}

Result<std::pair<std::uint32_t, std::string>> SandboxPool::Call(std::uint32_t op, const std::string& options,
                                                                std::span<const std::uint8_t> body, double wall_seconds) {
  if (body.size() > options_.max_body_bytes) {
    return Fail(ErrorCode::kTooLarge, "upload of " + std::to_string(body.size()) + " bytes exceeds the decoder limit");
  }
  auto worker = Acquire();
  if (!worker) return tl::unexpected(worker.error());
  {
    std::lock_guard lock(mu_);
    ++stats_.requests;
  }
  auto answer = Exchange(*worker, op, options, body, wall_seconds);
  Release(*worker);
  if (!answer) return tl::unexpected(answer.error());
  if (answer->first != static_cast<std::uint32_t>(AnswerStatus::kOk)) return tl::unexpected(FromErrorJson(answer->second));
  return answer;
}

Result<HashedMedia> SandboxPool::Hash(std::span<const std::uint8_t> bytes, const MediaHashOptions& options) {
  // Videos get their decode time limit and a margin; images (sniffed the same way the worker
  // will) a much shorter one.
  const double wall = LooksLikeVideo(bytes) ? std::max(options_.wall_seconds, options.video.limits.max_wall_seconds + 30)
                                            : options_.image_wall_seconds;
  auto answer = Call(static_cast<std::uint32_t>(WorkerOp::kHash), json::serialize(MediaHashOptionsToJson(options)), bytes,
                     wall);
  if (!answer) return tl::unexpected(answer.error());
  boost::system::error_code ec;
  const json::value parsed = json::parse(answer->second, ec);
  if (ec) return Fail(ErrorCode::kInternal, "the decoder worker's answer is not JSON");
  return HashedMediaFromJson(parsed);
}

Result<std::vector<std::uint8_t>> SandboxPool::Preview(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  MediaHashOptions options;
  options.limits = limits;
  auto answer = Call(static_cast<std::uint32_t>(WorkerOp::kPreview), json::serialize(MediaHashOptionsToJson(options)),
                     bytes, options_.wall_seconds);
  if (!answer) return tl::unexpected(answer.error());
  return std::vector<std::uint8_t>(answer->second.begin(), answer->second.end());
}

Result<json::value> SandboxPool::Probe(const std::string& name, double wall_seconds) {
  auto answer = Call(static_cast<std::uint32_t>(WorkerOp::kProbe), json::serialize(json::object{{"probe", name}}), {},
                     wall_seconds);
  if (!answer) return tl::unexpected(answer.error());
  boost::system::error_code ec;
  json::value parsed = json::parse(answer->second, ec);
  if (ec) return Fail(ErrorCode::kInternal, "the decoder worker's answer is not JSON");
  return parsed;
}

PoolStats SandboxPool::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace vigil::sandbox
