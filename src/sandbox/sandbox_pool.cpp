// The pool of confined decoder workers (see sandbox_pool.h).
#include "sandbox/sandbox_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>
#include <utility>

#include "sandbox/model_request.h"
#include "sandbox/worker_protocol.h"
#include "vigil/video.h"

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

// An upload's decode error as its caller sees it: memory the upload needs beyond the worker's
// limit is a configured limit the upload broke (kTooLarge, 413), not the service running out (it
// was answered 500 "internal error"). Probes keep kResourceExhausted: that is what they test.
Error AsUploadError(Error error) {
  if (error.code == ErrorCode::kResourceExhausted) error.code = ErrorCode::kTooLarge;
  return error;
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
    if (left <= 0) return Fail(ErrorCode::kDeadlineExceeded, "deadline");
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrorCode::kIoError, std::string("poll: ") + std::strerror(errno));
    if (n > 0) return {};
  }
}

// Reads exactly `size` bytes before the deadline.
// Whether the worker's socket holds bytes to read right now (a closed socket does not count: the
// request then finds the worker gone, and says so).
bool PendingInput(int fd) {
  char byte;
  ssize_t n;
  while ((n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT)) < 0 && errno == EINTR) {
  }
  return n > 0;
}

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

// The workers' user: uid and gid from the passwd database, here in the service (a confined worker
// cannot read it). Never root.
Result<std::pair<std::int64_t, std::int64_t>> ResolveUser(const std::string& user) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(1 << 16);
  if (getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    if (entry.pw_uid == 0 || entry.pw_gid == 0) {
      return Fail(ErrorCode::kInvalidArgument, "the decoder sandbox's user '" + user +
                                                   "' is root or in group root: its workers must run unprivileged");
    }
    return std::pair<std::int64_t, std::int64_t>(entry.pw_uid, entry.pw_gid);
  }
  if (user == "nobody") return std::pair<std::int64_t, std::int64_t>(65534, 65534);
  return Fail(ErrorCode::kInvalidArgument, "the decoder sandbox's user '" + user + "' does not exist");
}

// A line a worker wrote, safe for a log: control characters (a forged log line, a terminal
// escape) shown as \xNN.
std::string Printable(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (const char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string ReadLink(const std::string& path) {
  std::error_code ec;
  const auto target = std::filesystem::read_symlink(path, ec);
  return ec ? std::string() : target.string();
}

// A process's /proc/PID/status (ids, capabilities, seccomp, NSpid), namespaces and stderr.
Result<ProcessView> ReadProcess(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  if (!status) return Fail(ErrorCode::kNotFound, "cannot read " + dir + "/status");
  ProcessView v;
  v.pid = pid;
  std::string line;
  while (std::getline(status, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::istringstream rest(line.substr(colon + 1));
    if (key == "Uid") rest >> v.uid;
    if (key == "Gid") rest >> v.gid;
    if (key == "CapEff") rest >> std::hex >> v.cap_effective;
    if (key == "CapPrm") rest >> std::hex >> v.cap_permitted;
    if (key == "CapInh") rest >> std::hex >> v.cap_inheritable;
    if (key == "CapBnd") rest >> std::hex >> v.cap_bounding;
    if (key == "CapAmb") rest >> std::hex >> v.cap_ambient;
    if (key == "Seccomp") rest >> v.seccomp;
    if (key == "NSpid") {
      for (std::int64_t p = 0; rest >> p;) v.ns_pids.push_back(p);
    }
  }
  auto own = [&](const char* ns) -> std::optional<bool> {
    const std::string theirs = ReadLink(dir + "/ns/" + ns), ours = ReadLink(std::string("/proc/self/ns/") + ns);
    if (theirs.empty() || ours.empty()) return std::nullopt;
    return theirs != ours;
  };
  v.own_mount_ns = own("mnt");
  v.own_pid_ns = own("pid");
  v.own_net_ns = own("net");
  v.stderr_target = ReadLink(dir + "/fd/2");
  return v;
}

// How many threads a process has now (0: it cannot be read).
int ThreadCount(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return 0;
}

// The child of `parent` (a worker's decoder, PID 1 of its namespace).
std::optional<pid_t> ChildOf(pid_t parent) {
  const std::string p = std::to_string(parent);
  std::ifstream children("/proc/" + p + "/task/" + p + "/children");
  pid_t child = 0;
  if (children >> child && child > 0) return child;
  // Kernels without /proc/PID/task/TID/children: look for it.
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(it->path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("PPid:", 0) != 0) continue;
      if (std::stol(line.substr(5)) == parent) return static_cast<pid_t>(std::stol(name));
      break;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<SandboxPool>> SandboxPool::Start(PoolOptions options) {
  if (options.workers < 1) options.workers = 1;
  options.large_workers = std::max(0, options.large_workers);
  options.large_queue = std::max(0, options.large_queue);
  options.large_nice = std::clamp(options.large_nice, 0, 19);
  VIGIL_ASSIGN_OR_RETURN(auto user, ResolveUser(options.user));
  std::unique_ptr<SandboxPool> pool(new SandboxPool(std::move(options)));
  pool->uid_ = user.first;
  pool->gid_ = user.second;
  pool->small_.size = pool->options_.workers;
  pool->large_.large = true;
  pool->large_.size = pool->options_.large_workers;
  pool->large_.max_waiting = pool->options_.large_queue;
  std::string ready;
  VIGIL_ASSIGN_OR_RETURN(auto first, pool->Spawn(pool->small_, &ready));
  boost::system::error_code ec;
  const json::value said = json::parse(ready, ec);
  if (!ec && said.is_object()) {
    const auto& o = said.as_object();
    auto flag = [&](const char* key) {
      const auto* v = o.if_contains(key);
      return v != nullptr && v->is_bool() && v->as_bool();
    };
    auto number = [&](const char* key) -> std::int64_t {
      const auto* v = o.if_contains(key);
      return v != nullptr && v->is_int64() ? v->as_int64() : v != nullptr && v->is_uint64() ? static_cast<std::int64_t>(v->as_uint64()) : -1;
    };
    Isolation& iso = pool->isolation_;
    iso.network = flag("network_isolated");
    iso.mount = flag("mount_namespace");
    iso.pid = flag("pid_namespace");
    iso.user_namespace = flag("user_namespace");
    iso.capabilities = flag("capabilities_dropped");
    iso.bounding_set = flag("bounding_set_dropped");
    iso.uid = number("uid");
    iso.gid = number("gid");
    const auto* refused = o.if_contains("refused");
    if (refused != nullptr && refused->is_string()) iso.refused = std::string(refused->as_string());
    const auto* missing = o.if_contains("missing_decoders");
    if (missing != nullptr && missing->is_string()) iso.missing_decoders = std::string(missing->as_string());
  }
  std::lock_guard lock(pool->mu_);
  pool->small_.idle.push_back(first);
  pool->small_.live = 1;
  return pool;
}

SandboxPool::~SandboxPool() {
  std::vector<Worker> idle;
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    replaced_cv_.wait(lock, [this] { return replacing_ == 0; });
    for (Lane* lane : {&small_, &large_}) {
      idle.insert(idle.end(), lane->idle.begin(), lane->idle.end());
      lane->idle.clear();
    }
  }
  for (auto& w : idle) {
    close(w.fd);  // the worker sees the end of its input and exits
    w.fd = -1;
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
    Discard(w);
  }
}

Result<SandboxPool::Worker> SandboxPool::Spawn(Lane& lane, std::string* ready) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Fail(ErrorCode::kIoError, std::string("socketpair: ") + std::strerror(errno));
  }
  // Its standard error: a pipe of its own, never the service's log descriptor. Non-blocking at
  // both ends: a worker that writes more than the pipe holds loses the rest instead of stalling.
  int err[2];
  if (pipe2(err, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int e = errno;
    close(fds[0]);
    close(fds[1]);
    return Fail(ErrorCode::kIoError, std::string("pipe2: ") + std::strerror(e));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  const std::string memory = std::to_string(options_.memory_bytes >> 20);
  const std::string max_bytes = std::to_string(options_.max_body_bytes);
  const std::string uid = std::to_string(uid_), gid = std::to_string(gid_);
  const std::string nice = std::to_string(lane.large ? options_.large_nice : 0);
  // A small-lane worker hands images over this size back for the large lane (when there is one).
  const std::string large_pixels = std::to_string(!lane.large && large_.size > 0 ? options_.large_pixels : 0);
  std::vector<char*> argv = {const_cast<char*>(options_.executable.c_str()), const_cast<char*>("sandbox-worker"),
                             const_cast<char*>("--memory-mb"), const_cast<char*>(memory.c_str()),
                             const_cast<char*>("--max-bytes"), const_cast<char*>(max_bytes.c_str()),
                             const_cast<char*>("--uid"), const_cast<char*>(uid.c_str()),
                             const_cast<char*>("--gid"), const_cast<char*>(gid.c_str()),
                             const_cast<char*>("--nice"), const_cast<char*>(nice.c_str()),
                             const_cast<char*>("--large-pixels"), const_cast<char*>(large_pixels.c_str())};
  if (!options_.models.empty()) argv.push_back(const_cast<char*>("--models"));
  std::vector<std::string> plugin_args;
  plugin_args.reserve(options_.hash_plugins.size());
  for (const auto& plugin : options_.hash_plugins) plugin_args.push_back(plugin.sha256 + ":" + plugin.path);
  for (auto& arg : plugin_args) {
    argv.push_back(const_cast<char*>("--hash-plugin"));
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  char* empty_environment[] = {nullptr};  // the service's secrets stay in the service
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, options_.executable.c_str(), &actions, nullptr, argv.data(), empty_environment);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  close(err[1]);
  if (rc != 0) {
    close(fds[0]);
    close(err[0]);
    return Fail(ErrorCode::kIoError, "cannot start the decoder worker " + options_.executable + ": " + std::strerror(rc));
  }
  Worker w{pid, fds[0], err[0], 0, lane.large, {}};
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
                    : Error{ErrorCode::kUnavailable, options_.hash_plugins.empty()
                                                         ? "the decoder worker did not start"
                                                         : "the decoder worker did not start (it opens and describes its hash "
                                                           "plug-ins as it starts: one may have crashed it or made a forbidden "
                                                           "system call; anything the worker wrote is logged)"};
    Kill(w);
    {
      std::lock_guard lock(mu_);
      ++stats_.workers_failed;
    }
    // The worker's own reason keeps its code (a kernel without seccomp: kUnsupported); a worker
    // that never got as far is the installation's problem, not the upload's: kUnavailable.
    return Fail(why.code, "decoder sandbox unavailable: " + why.message);
  }
  if (!options_.hash_plugins.empty() && LeftThreads(w)) {
    // A plug-in's constructor or entry point started a thread: see PluginRequest.
    Kill(w);
    std::lock_guard lock(mu_);
    ++stats_.workers_failed;
    return Fail(ErrorCode::kUnavailable, "decoder sandbox unavailable: a hash plug-in started a thread as it loaded; "
                                         "plug-ins may not start threads");
  }
  if (auto checked = CheckPlugins(payload); !checked) {
    Kill(w);
    std::lock_guard lock(mu_);
    ++stats_.workers_failed;
    return tl::unexpected(checked.error());
  }
  if (ready != nullptr) *ready = std::move(payload);
  if (auto loaded = LoadModels(w); !loaded) {
    std::lock_guard lock(mu_);
    ++stats_.workers_failed;
    return tl::unexpected(loaded.error());
  }
  std::lock_guard lock(mu_);
  ++stats_.workers_started;
  return w;
}

Status SandboxPool::LoadModels(Worker& w) {
  for (const auto& model : options_.models) {
    // The run on zeros gets an upload's CPU budget (whole seconds, at least one).
    const auto run_cpu = static_cast<std::int64_t>(std::ceil(options_.image_cpu_seconds > 0 ? options_.image_cpu_seconds : options_.model_load_seconds));
    const std::string request = json::serialize(
        json::object{{"model", model.name}, {"input", TensorSpecToJson(model.input)}, {"run_cpu_seconds", std::max<std::int64_t>(1, run_cpu)}});
    const std::span<const std::uint8_t> body = model.onnx ? std::span<const std::uint8_t>(*model.onnx) : std::span<const std::uint8_t>();
    auto answer = Exchange(w, static_cast<std::uint32_t>(WorkerOp::kLoadModel), request, body, options_.model_load_seconds,
                           options_.model_load_seconds);
    // Exchange has killed a worker that crashed, hung or broke the protocol; one that answered
    // with an error is killed here (it is of no use without its models).
    std::optional<Error> failed;
    ModelInfo info;
    if (!answer) {
      failed = answer.error();
    } else if (answer->first != static_cast<std::uint32_t>(AnswerStatus::kOk)) {
      failed = FromErrorJson(answer->second);
      Kill(w);
    } else {
      boost::system::error_code ec;
      const json::value said = json::parse(answer->second, ec);
      const auto* o = !ec ? said.if_object() : nullptr;
      const auto* n = o != nullptr ? o->if_contains("outputs") : nullptr;
      const auto* ms = o != nullptr ? o->if_contains("run_ms") : nullptr;
      if (n == nullptr || !n->is_number() || n->to_number<double>() < 0 || ms == nullptr || !ms->is_number()) {
        failed = Error{ErrorCode::kInternal, "the worker's answer does not say how many outputs the model has"};
        Kill(w);
      } else {
        info.outputs = static_cast<std::size_t>(n->to_number<double>());
        info.run_ms = ms->to_number<double>();
        if (info.run_ms > options_.image_wall_seconds * 1000) {
          failed = Error{ErrorCode::kInvalidArgument, "one run on a tensor of zeros took " + std::to_string(static_cast<std::int64_t>(info.run_ms)) +
                                                          " ms, more than an upload may take (" +
                                                          std::to_string(static_cast<std::int64_t>(options_.image_wall_seconds * 1000)) + " ms)"};
          Kill(w);
        }
      }
    }
    if (failed) {
      // The model's fault (refused, the parser crashed on it, a run over an upload's budget) or
      // the installation's.
      const bool model_at_fault = failed->code == ErrorCode::kInvalidArgument || failed->code == ErrorCode::kCorrupt ||
                                  failed->code == ErrorCode::kDeadlineExceeded;
      std::string why = failed->message;
      if (failed->code == ErrorCode::kDeadlineExceeded) {
        why = "the worker was stopped: parsing the model and one run on a tensor of zeros used more than an upload's CPU "
              "budget (" + std::to_string(run_cpu) + " s for the run), or took longer than loading may (" +
              std::to_string(static_cast<std::int64_t>(options_.model_load_seconds)) + " s)";
      }
      return Fail(model_at_fault ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable,
                  "model '" + model.name + "' did not load in the sandbox: " + why);
    }
    std::lock_guard lock(mu_);
    models_loaded_.emplace(model.name, info);
  }
  return {};
}

Status SandboxPool::CheckPlugins(const std::string& ready) {
  if (options_.hash_plugins.empty()) return {};
  boost::system::error_code ec;
  const json::value said = json::parse(ready, ec);
  const auto* o = !ec ? said.if_object() : nullptr;
  const auto* list = o != nullptr ? o->if_contains("plugins") : nullptr;
  if (list == nullptr || !list->is_array()) return Fail(ErrorCode::kUnavailable, "the worker did not say which hash plug-ins it loaded");
  std::map<std::string, PluginInfo> found;
  for (const auto& configured : options_.hash_plugins) {
    const json::object* mine = nullptr;
    for (const auto& item : list->as_array()) {
      const auto* p = item.if_object();
      const auto* path = p != nullptr ? p->if_contains("path") : nullptr;
      if (path != nullptr && path->is_string() && path->as_string() == configured.path) mine = p;
    }
    if (mine == nullptr) return Fail(ErrorCode::kUnavailable, "the worker did not load the hash plug-in " + configured.path);
    const auto* signal = mine->if_contains("signal");
    const auto* bytes = mine->if_contains("hash_bytes");
    const auto* version = mine->if_contains("version");
    const auto* distance = mine->if_contains("max_distance");
    const auto* input = mine->if_contains("input");
    if (signal == nullptr || !signal->is_string() || bytes == nullptr || !bytes->is_number() || version == nullptr ||
        !version->is_string() || distance == nullptr || !distance->is_number() || input == nullptr || !input->is_string()) {
      return Fail(ErrorCode::kUnavailable, "the worker's description of the hash plug-in " + configured.path + " is malformed");
    }
    const std::string name(signal->as_string());
    const auto size = static_cast<std::uint64_t>(std::clamp(bytes->to_number<double>(), 0.0, 1e9));
    if (name != configured.signal || size != configured.hash_bytes) {
      return Fail(ErrorCode::kInvalidArgument, "the hash plug-in " + configured.path + " calls itself '" + name + "' with " +
                                                   std::to_string(size) + "-byte values; the plug-ins file says '" +
                                                   configured.signal + "' with " + std::to_string(configured.hash_bytes));
    }
    found[name] = PluginInfo{std::string(version->as_string()), size, static_cast<std::uint32_t>(std::clamp(distance->to_number<double>(), 0.0, 4294967295.0)), input->as_string() == "rgb"};
  }
  std::lock_guard lock(mu_);
  if (plugins_.empty()) plugins_ = std::move(found);
  return {};
}

std::optional<SandboxPool::PluginInfo> SandboxPool::Plugin(const std::string& signal) const {
  std::lock_guard lock(mu_);
  auto it = plugins_.find(signal);
  if (it == plugins_.end()) return std::nullopt;
  return it->second;
}

bool SandboxPool::LeftThreads(const Worker& worker) const {
  // The process started, and its child where it made a PID namespace (the decoding process).
  const auto child = ChildOf(worker.pid);
  return ThreadCount(worker.pid) > 1 || (child && ThreadCount(*child) > 1);
}

Result<SandboxPool::Worker> SandboxPool::AcquireHolding(const std::string& signal, const PluginValues& values,
                                                        std::size_t hash_bytes) {
  {
    std::lock_guard lock(mu_);
    ++stats_.requests;
  }
  if (values.values.size() > options_.max_body_bytes) {
    return Fail(ErrorCode::kUnavailable, "hash plug-in '" + signal + "': the list's " +
                                             std::to_string(values.values.size() / std::max<std::size_t>(1, hash_bytes)) + " values (" +
                                             std::to_string(values.values.size() >> 20) + " MiB) are more than a worker takes (" +
                                             std::to_string(options_.max_body_bytes >> 20) + " MiB): raise [sandbox] memory_mb");
  }
  VIGIL_ASSIGN_OR_RETURN(auto worker, Acquire(small_));
  // The values this request scans, when the worker holds others (or none yet).
  if (auto held = worker.plugin_values.find(signal); held == worker.plugin_values.end() || held->second != values.version) {
    const std::string request = json::serialize(json::object{{"signal", signal}, {"version", values.version}});
    auto sent = Exchange(worker, static_cast<std::uint32_t>(WorkerOp::kPluginSet), request, values.values,
                         options_.model_load_seconds, options_.model_load_seconds);
    std::optional<Error> error;
    if (!sent) {
      error = sent.error();
    } else if (sent->first != static_cast<std::uint32_t>(AnswerStatus::kOk)) {
      error = FromErrorJson(sent->second);
      Kill(worker);
    }
    if (error) {
      Release(worker);
      return Fail(error->code, "hash plug-in '" + signal + "': the worker did not take the list's " +
                                   std::to_string(values.values.size() / std::max<std::size_t>(1, hash_bytes)) + " values: " + error->message);
    }
    worker.plugin_values[signal] = values.version;
  }
  return worker;
}

namespace {
// An error hashing or scanning with plug-in `signal`, named for it. What the plug-in got wrong (an
// answer out of its contract, a broken distance) is the installation's fault, not the upload's or
// the caller's: kUnavailable, with the plug-in's name, instead of an internal error.
Error PluginFailure(const std::string& signal, const Error& e) {
  const std::string prefix = "hash plug-in '" + signal + "'";
  const ErrorCode code = e.code == ErrorCode::kInternal ? ErrorCode::kUnavailable : e.code;
  // The pool's messages speak of "the decoder": here it is the plug-in's worker.
  std::string message = e.message;
  for (const std::string_view decoder : {"the decoder worker", "the decoder"}) {
    for (auto at = message.find(decoder); at != std::string::npos; at = message.find(decoder, at)) {
      message.replace(at, decoder.size(), "its worker");
      at += std::string_view("its worker").size();
    }
  }
  return Error{code, message.rfind(prefix, 0) == 0 ? message : prefix + ": " + message};
}

// A kPluginHash or kPluginMatch answer, checked like any other untrusted input.
Result<PluginAnswer> ParsePluginAnswer(const std::string& signal, const std::string& payload, std::size_t hash_bytes,
                                       std::size_t count, std::uint32_t max_distance, std::size_t limit) {
  auto malformed = [&] { return Fail(ErrorCode::kUnavailable, "hash plug-in '" + signal + "': the worker's answer is malformed"); };
  boost::system::error_code ec;
  const json::value parsed = json::parse(payload, ec);
  const auto* o = !ec ? parsed.if_object() : nullptr;
  if (o == nullptr) return malformed();
  PluginAnswer out;
  if (const auto* why = o->if_contains("unsuitable")) {
    if (!why->is_string()) return malformed();
    out.unsuitable = std::string(why->as_string()).substr(0, 256);
    return out;
  }
  const auto* value = o->if_contains("value");
  const auto* near = o->if_contains("near");
  if (value == nullptr || !value->is_string() || near == nullptr || !near->is_array()) return malformed();
  out.value = std::string(value->as_string());
  if (out.value.size() != hash_bytes * 2 ||
      !std::all_of(out.value.begin(), out.value.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return malformed();
  }
  for (const auto& item : near->as_array()) {
    const auto* pair = item.if_array();
    if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_number() || !(*pair)[1].is_number()) return malformed();
    const auto position = (*pair)[0].to_number<std::uint64_t>(ec);
    const auto distance = (*pair)[1].to_number<std::uint64_t>(ec);
    if (ec || position >= count || distance > max_distance || out.near.size() >= limit) return malformed();
    out.near.emplace_back(static_cast<std::uint32_t>(position), static_cast<std::uint32_t>(distance));
  }
  return out;
}
}  // namespace

Result<PluginAnswer> SandboxPool::HashWithPlugin(const std::string& signal, std::span<const std::uint8_t> bytes,
                                                 const MediaHashOptions& options, const PluginValues& values,
                                                 std::uint32_t max_distance, std::size_t limit) {
  const auto info = Plugin(signal);
  if (!info) return Fail(ErrorCode::kInvalidArgument, "no hash plug-in '" + signal + "' in this sandbox");
  if (bytes.size() > options_.max_body_bytes) {
    return Fail(ErrorCode::kTooLarge, "upload of " + std::to_string(bytes.size()) + " bytes exceeds the decoder limit");
  }
  VIGIL_ASSIGN_OR_RETURN(auto worker, AcquireHolding(signal, values, info->hash_bytes));
  json::object request = MediaHashOptionsToJson(options);
  request["signal"] = signal;
  request["version"] = values.version;
  request["max_distance"] = max_distance;
  request["limit"] = limit;
  const bool video = LooksLikeVideo(bytes);
  return PluginRequest(worker, static_cast<std::uint32_t>(WorkerOp::kPluginHash), signal, json::serialize(request), bytes,
                       video ? options_.wall_seconds : options_.image_wall_seconds, video ? 0 : options_.image_cpu_seconds, values,
                       info->hash_bytes, max_distance, limit);
}

Result<PluginAnswer> SandboxPool::MatchPluginValue(const std::string& signal, std::span<const std::uint8_t> value,
                                                   const PluginValues& values, std::uint32_t max_distance, std::size_t limit) {
  const auto info = Plugin(signal);
  if (!info) return Fail(ErrorCode::kInvalidArgument, "no hash plug-in '" + signal + "' in this sandbox");
  if (value.size() != info->hash_bytes) {
    return Fail(ErrorCode::kInvalidArgument, signal + " values are " + std::to_string(info->hash_bytes) + " bytes, not " +
                                                 std::to_string(value.size()));
  }
  VIGIL_ASSIGN_OR_RETURN(auto worker, AcquireHolding(signal, values, info->hash_bytes));
  const json::object request{{"signal", signal}, {"version", values.version}, {"max_distance", max_distance}, {"limit", limit}};
  return PluginRequest(worker, static_cast<std::uint32_t>(WorkerOp::kPluginMatch), signal, json::serialize(request), value,
                       options_.image_wall_seconds, options_.image_cpu_seconds, values, info->hash_bytes, max_distance, limit);
}

Result<PluginAnswer> SandboxPool::PluginRequest(Worker worker, std::uint32_t op, const std::string& signal,
                                                const std::string& request, std::span<const std::uint8_t> body,
                                                double wall_seconds, double cpu_seconds, const PluginValues& values,
                                                std::size_t hash_bytes, std::uint32_t max_distance, std::size_t limit) {
  auto answer = Exchange(worker, op, request, body, wall_seconds, cpu_seconds);
  // A plug-in that left a thread running could write to the socket between requests, racing the
  // out-of-turn checks: its worker is stopped and this answer, which the thread may have forged, is
  // not used.
  if (answer && worker.pid > 0 && LeftThreads(worker)) {
    Kill(worker);
    Release(worker);
    return Fail(ErrorCode::kUnavailable, "hash plug-in '" + signal + "' left a thread running in its worker (a thread could write "
                                         "to the worker's socket out of turn): the worker was stopped and its answer not used");
  }
  Release(worker);
  if (!answer) return tl::unexpected(PluginFailure(signal, AsUploadError(answer.error())));
  if (answer->first != static_cast<std::uint32_t>(AnswerStatus::kOk)) {
    return tl::unexpected(PluginFailure(signal, FromErrorJson(answer->second)));
  }
  return ParsePluginAnswer(signal, answer->second, hash_bytes, values.values.size() / std::max<std::size_t>(1, hash_bytes),
                           max_distance, limit);
}

Result<SandboxPool::Worker> SandboxPool::Acquire(Lane& lane) {
  std::unique_lock lock(mu_);
  // First come, first served: a request waits behind those that came before it, never overtaken
  // (a condition variable alone let a flood of refused bombs overtake a small upload for 200 ms).
  const std::uint64_t ticket = lane.next_ticket++;
  const bool capacity_now = lane.waiting_tickets.empty() && (!lane.idle.empty() || lane.live < lane.size);
  if (!capacity_now && lane.max_waiting >= 0 && lane.waiting >= lane.max_waiting) {
    ++stats_.large_refused;
    return Fail(ErrorCode::kUnavailable, "the decoder's large-image lane is busy (" + std::to_string(lane.live) +
                                             " decoding, " + std::to_string(lane.waiting) +
                                             " waiting); retry later");
  }
  lane.waiting_tickets.push_back(ticket);
  const auto my_turn = [&lane, ticket] {
    return lane.waiting_tickets.front() == ticket && (!lane.idle.empty() || lane.live < lane.size);
  };
  ++lane.waiting;
  lane.cv.wait(lock, my_turn);
  --lane.waiting;
  for (;;) {
    while (!lane.idle.empty()) {
      Worker w = lane.idle.back();
      lane.idle.pop_back();
      // A worker that died while idle (the OOM killer, an operator) is replaced, not blamed on
      // the next upload; so is one with bytes waiting on its socket (code in it wrote a frame out
      // of turn, after the answer its last request took: that request was its own).
      int status = 0;
      const bool out_of_turn = PendingInput(w.fd);
      if (out_of_turn) {
        ::kill(w.pid, SIGKILL);
        ++stats_.workers_killed;
      }
      if (!out_of_turn && waitpid(w.pid, &status, WNOHANG) == 0) {
        lane.waiting_tickets.pop_front();
        lane.cv.notify_all();  // the next in line may have a worker too
        return w;
      }
      --lane.live;
      lock.unlock();
      if (out_of_turn) {
        while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
        }
      }
      Discard(w);
      lock.lock();
    }
    if (lane.live < lane.size) break;
    lane.cv.wait(lock, my_turn);  // still first in line
  }
  lane.waiting_tickets.pop_front();
  ++lane.live;
  lane.cv.notify_all();
  lock.unlock();
  auto spawned = Spawn(lane);
  if (!spawned) {
    std::lock_guard relock(mu_);
    --lane.live;
    lane.cv.notify_all();
  }
  return spawned;
}

void SandboxPool::Release(Worker worker) {
  Lane& lane = worker.large ? large_ : small_;
  if (worker.pid > 0 && worker.requests >= options_.max_requests_per_worker) {
    // Retired and replaced off this request's path (a recycle used to make the next request wait
    // for a process start: 240 ms at the p99 of small uploads beside a flood of refused bombs).
    Replace(worker);
    return;
  }
  std::lock_guard lock(mu_);
  if (worker.pid > 0) {
    lane.idle.push_back(worker);
  } else {
    --lane.live;
  }
  lane.cv.notify_all();  // waiters are served in order: each checks whether it is first
}

void SandboxPool::Replace(Worker retired) {
  {
    std::lock_guard lock(mu_);
    ++replacing_;  // the lane's `live` still counts the slot
  }
  std::thread([this, retired]() mutable {
    Lane& lane = retired.large ? large_ : small_;
    close(retired.fd);
    retired.fd = -1;
    int status = 0;
    while (waitpid(retired.pid, &status, 0) < 0 && errno == EINTR) {
    }  // it exits at the end of its input
    Discard(retired);
    auto spawned = Spawn(lane);
    std::unique_lock lock(mu_);
    if (spawned && !stopping_) {
      lane.idle.push_back(*spawned);
    } else {
      --lane.live;
      if (spawned) {
        lock.unlock();
        Kill(*spawned);
        lock.lock();
      }
    }
    --replacing_;
    lane.cv.notify_all();
    replaced_cv_.notify_all();
  }).detach();
}

void SandboxPool::Kill(Worker& worker) {
  if (worker.pid <= 0) return;
  ::kill(worker.pid, SIGKILL);  // and its decoder with it (PR_SET_PDEATHSIG)
  int status = 0;
  while (waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
  }
  Discard(worker);
}

void SandboxPool::Discard(Worker& worker) {
  DrainOutput(worker);
  if (worker.fd >= 0) close(worker.fd);
  if (worker.err >= 0) close(worker.err);
  worker.pid = -1;
  worker.fd = worker.err = -1;
}

void SandboxPool::DrainOutput(const Worker& worker) {
  if (worker.err < 0) return;
  constexpr std::size_t kMaxBytes = 64 << 10;  // a pipe's worth
  constexpr int kMaxLines = 64;
  constexpr std::size_t kMaxLineBytes = 1024;
  std::string text;
  char buffer[16 << 10];
  while (text.size() < kMaxBytes) {
    const ssize_t n = read(worker.err, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // empty for now (EAGAIN), or closed
    text.append(buffer, static_cast<std::size_t>(n));
  }
  auto emit = [&](std::string_view line) {
    const std::string safe = Printable(line);
    if (options_.on_worker_output) {
      options_.on_worker_output(worker.pid, safe);
    } else {
      std::fprintf(stderr, "vigil: decoder worker %d: %s\n", static_cast<int>(worker.pid), safe.c_str());
    }
  };
  std::size_t start = 0;
  for (int lines = 0; start < text.size() && lines < kMaxLines; ++lines) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    emit(std::string_view(text).substr(start, std::min(end - start, kMaxLineBytes)));
    start = end + 1;
  }
  if (start < text.size()) {
    std::string dropped = std::to_string(text.size() - start);  // appended, not chained: gcc 12's false -Wrestrict
    dropped.insert(0, 1, '(');
    dropped.append(" more bytes of output dropped)");
    emit(dropped);
  }
}

Result<std::pair<std::uint32_t, std::string>> SandboxPool::Exchange(Worker& w, std::uint32_t op,
                                                                    const std::string& options,
                                                                    std::span<const std::uint8_t> body,
                                                                    double wall_seconds, double cpu_seconds) {
  const auto deadline = Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(wall_seconds * 1e6));
  const auto cpu = static_cast<std::uint32_t>(std::clamp(std::ceil(cpu_seconds), 0.0, 86400.0));
  RequestHeader h;
  h.op = op;
  h.options_bytes = static_cast<std::uint32_t>(options.size());
  h.cpu_seconds = cpu;
  h.body_bytes = body.size();
  h.sequence = ++sequence_;
  ++w.requests;
  // Nothing may be waiting to be read before a request: a worker that wrote out of turn is out of
  // protocol (its stale frame would be taken for this request's answer).
  Status sent = PendingInput(w.fd) ? Fail(ErrorCode::kInternal, "out of turn") : Status{};
  if (sent) sent = WriteBefore(w.fd, &h, sizeof h, deadline);
  if (sent) sent = WriteBefore(w.fd, options.data(), options.size(), deadline);
  if (sent) sent = WriteBefore(w.fd, body.data(), body.size(), deadline);
  AnswerHeader a;
  auto got = sent ? ReadBefore(w.fd, &a, sizeof a, deadline) : tl::unexpected(sent.error());
  std::string payload;
  bool out_of_protocol = !sent && sent.error().message == "out of turn";
  if (got && (a.magic != kAnswerMagic || a.payload_bytes > kMaxAnswerBytes || a.sequence != h.sequence)) {
    got = Fail(ErrorCode::kInternal, "out of protocol");
    out_of_protocol = true;
  }
  if (got) {
    payload.resize(a.payload_bytes);
    got = ReadBefore(w.fd, payload.data(), payload.size(), deadline);
  }
  if (got) {
    DrainOutput(w);
    // Refused from its header: nothing was decoded, so it does not age the worker (a flood of
    // bombs refused in microseconds recycled workers every few hundred milliseconds).
    if (a.status == static_cast<std::uint32_t>(AnswerStatus::kRefused)) --w.requests;
    return std::pair<std::uint32_t, std::string>(a.status, std::move(payload));
  }

  // The worker failed: find out how, then make sure it is gone.
  const bool timed_out = got.error().code == ErrorCode::kDeadlineExceeded;
  int status = 0;
  pid_t reaped = 0;
  if (out_of_protocol) {
    // Alive, and not to be trusted: killed at once.
    ::kill(w.pid, SIGKILL);
    while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    Discard(w);
    {
      std::lock_guard lock(mu_);
      ++stats_.workers_killed;
    }
    return Fail(ErrorCode::kUnavailable,
                "the decoder worker wrote to its socket out of turn (code running in it, a decoder or a hash plug-in, "
                "wrote there) and was stopped; nothing it answered was used");
  }
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
  Discard(w);  // what it wrote on its way out (a sanitizer's report, a library's complaint) is logged
  {
    std::lock_guard lock(mu_);
    ++stats_.workers_killed;
  }
  if (timed_out) {
    return Fail(ErrorCode::kDeadlineExceeded, "decoding took longer than the limit of " + std::to_string(static_cast<int>(wall_seconds)) +
                                          " s; the decoder worker was stopped");
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGSYS) {
      return Fail(ErrorCode::kCorrupt,
                  "the decoder attempted a system call the sandbox forbids and was stopped (SIGSYS): hostile input");
    }
    return Fail(ErrorCode::kCorrupt, "the decoder crashed on this input (" + SignalName(sig) + ")");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kCpuBudgetExitStatus) {
    return Fail(ErrorCode::kDeadlineExceeded, "decoding used more than its CPU budget of " + std::to_string(cpu) +
                                          " s; the decoder worker was stopped");
  }
  if (WIFEXITED(status)) {
    return Fail(ErrorCode::kInternal, "the decoder worker exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  return Fail(ErrorCode::kInternal, "the decoder worker stopped answering: " + got.error().message);
}

Result<std::pair<std::uint32_t, std::string>> SandboxPool::Call(Lane& lane, std::uint32_t op, const std::string& options,
                                                                std::span<const std::uint8_t> body, double wall_seconds,
                                                                double cpu_seconds) {
  VIGIL_ASSIGN_OR_RETURN(auto worker, Acquire(lane));
  if (lane.large) {
    std::lock_guard lock(mu_);
    ++stats_.large_requests;
  }
  auto answer = Exchange(worker, op, options, body, wall_seconds, cpu_seconds);
  Release(worker);
  return answer;
}

Result<std::string> SandboxPool::Run(std::uint32_t op, const std::string& options, std::span<const std::uint8_t> body,
                                     double wall_seconds, double cpu_seconds, bool large_first) {
  if (body.size() > options_.max_body_bytes) {
    return Fail(ErrorCode::kTooLarge, "upload of " + std::to_string(body.size()) + " bytes exceeds the decoder limit");
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.requests;
  }
  const bool has_large = large_.size > 0;
  auto answer = Call(large_first && has_large ? large_ : small_, op, options, body, wall_seconds, cpu_seconds);
  constexpr auto kLargeLane = static_cast<std::uint32_t>(AnswerStatus::kLargeLane);
  if (answer && answer->first == kLargeLane && has_large) {
    // Its header declares a large image: nothing was decoded in the small lane.
    answer = Call(large_, op, options, body, wall_seconds, cpu_seconds);
  }
  if (!answer) return tl::unexpected(answer.error());
  if (answer->first == kLargeLane) return Fail(ErrorCode::kInternal, "a decoder worker asked for a lane this pool lacks");
  if (answer->first != static_cast<std::uint32_t>(AnswerStatus::kOk)) return tl::unexpected(FromErrorJson(answer->second));
  return std::move(answer->second);
}

Result<HashedMedia> SandboxPool::Hash(std::span<const std::uint8_t> bytes, const MediaHashOptions& options) {
  // Videos (sniffed the way the worker will) go straight to the large lane, with their decode
  // time limit and a margin: they are the longest decodes there are. Images start in the small
  // lane, with a much shorter time limit and a CPU budget.
  const std::string json_options = json::serialize(MediaHashOptionsToJson(options));
  auto payload = LooksLikeVideo(bytes)
                     ? Run(static_cast<std::uint32_t>(WorkerOp::kHash), json_options, bytes,
                           std::max(options_.wall_seconds, options.video.limits.max_wall_seconds + 30), 0, true)
                     : Run(static_cast<std::uint32_t>(WorkerOp::kHash), json_options, bytes, options_.image_wall_seconds,
                           options_.image_cpu_seconds, false);
  if (!payload) return tl::unexpected(AsUploadError(payload.error()));
  boost::system::error_code ec;
  const json::value parsed = json::parse(*payload, ec);
  if (ec) return Fail(ErrorCode::kInternal, "the decoder worker's answer is not JSON");
  return HashedMediaFromJson(parsed);
}

Result<std::vector<std::uint8_t>> SandboxPool::Preview(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  MediaHashOptions options;
  options.limits = limits;
  // A video's preview is its first frame only (capped at 10 s of decoding): the small lane.
  auto payload = Run(static_cast<std::uint32_t>(WorkerOp::kPreview), json::serialize(MediaHashOptionsToJson(options)),
                     bytes, options_.wall_seconds, LooksLikeVideo(bytes) ? 0 : options_.image_cpu_seconds, false);
  if (!payload) return tl::unexpected(AsUploadError(payload.error()));
  return std::vector<std::uint8_t>(payload->begin(), payload->end());
}

Result<std::vector<float>> SandboxPool::RunModel(const std::string& name, std::span<const std::uint8_t> bytes,
                                                const MediaHashOptions& options) {
  const auto expected = ModelOutputs(name);  // the count every worker's model answers
  if (!expected) return Fail(ErrorCode::kInvalidArgument, "no model '" + name + "' in this sandbox");
  json::object request = MediaHashOptionsToJson(options);
  request["model"] = name;
  auto payload = Run(static_cast<std::uint32_t>(WorkerOp::kClassify), json::serialize(request), bytes, options_.image_wall_seconds,
                     options_.image_cpu_seconds, false);
  if (!payload) return tl::unexpected(AsUploadError(payload.error()));
  // The worker's answer is checked like any other untrusted input.
  boost::system::error_code ec;
  const json::value parsed = json::parse(*payload, ec);
  const auto* o = !ec ? parsed.if_object() : nullptr;
  const auto* list = o != nullptr ? o->if_contains("outputs") : nullptr;
  if (list == nullptr || !list->is_array() || list->as_array().size() != *expected) {
    return Fail(ErrorCode::kInternal, "the worker's answer for model '" + name + "' is not its " + std::to_string(*expected) + " outputs");
  }
  std::vector<float> out;
  out.reserve(*expected);
  for (const auto& v : list->as_array()) {
    if (v.is_null()) {
      out.push_back(std::numeric_limits<float>::quiet_NaN());  // an infinity or NaN the model answered
      continue;
    }
    if (!v.is_number()) return Fail(ErrorCode::kInternal, "the worker's answer for model '" + name + "' holds something other than numbers");
    out.push_back(static_cast<float>(v.to_number<double>()));
  }
  return out;
}

std::optional<std::size_t> SandboxPool::ModelOutputs(const std::string& name) const {
  auto info = Model(name);
  if (!info) return std::nullopt;
  return info->outputs;
}

std::optional<SandboxPool::ModelInfo> SandboxPool::Model(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = models_loaded_.find(name);
  if (it == models_loaded_.end()) return std::nullopt;
  return it->second;
}

Result<json::value> SandboxPool::Probe(const std::string& name, double wall_seconds, double cpu_seconds,
                                       bool large_lane) {
  const json::object request{{"probe", name}, {"service_pid", static_cast<std::int64_t>(getpid())}};
  auto payload = Run(static_cast<std::uint32_t>(WorkerOp::kProbe), json::serialize(request), {}, wall_seconds,
                     cpu_seconds, large_lane);
  if (!payload) return tl::unexpected(payload.error());
  boost::system::error_code ec;
  json::value parsed = json::parse(*payload, ec);
  if (ec) return Fail(ErrorCode::kInternal, "the decoder worker's answer is not JSON");
  return parsed;
}

Result<WorkerView> SandboxPool::Inspect() {
  auto worker = Acquire(small_);
  if (!worker) return tl::unexpected(worker.error());
  WorkerView view;
  view.service_stderr = ReadLink("/proc/self/fd/2");
  auto spawned = ReadProcess(worker->pid);
  if (spawned) {
    view.spawned = std::move(*spawned);
    if (isolation_.pid) {
      const auto child = ChildOf(worker->pid);
      auto decoder = child ? ReadProcess(*child) : Fail(ErrorCode::kNotFound, "no decoder process under the worker");
      if (decoder) {
        view.decoder = std::move(*decoder);
      } else {
        spawned = tl::unexpected(decoder.error());
      }
    }
  }
  Release(*worker);
  if (!spawned) return tl::unexpected(spawned.error());
  return view;
}

PoolStats SandboxPool::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace vigil::sandbox
