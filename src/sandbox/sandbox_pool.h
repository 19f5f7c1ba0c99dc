// The service's decoder workers: pools of `vigil sandbox-worker` processes, each confined
// (namespaces, an unprivileged user without capabilities, seccomp, resource limits), that hash
// uploads so no hostile byte is decoded inside the service. A worker that crashes, is killed by
// the filter, or runs past its time limit or CPU budget is replaced, and the upload gets a clear
// error; the service keeps serving. Workers get an empty environment (the service's secrets stay
// in the service), a pipe as standard error (drained and logged here, never the service's log
// descriptor), and are recycled after a number of requests.
//
// Two lanes: every image goes first to the small lane, whose worker reads its header and decodes
// it there unless it declares more than `large_pixels`; such images, and videos, are decoded in
// the large lane: a few workers of their own, at a lower CPU priority, with a bounded queue. A
// small upload therefore never waits for a worker behind a big decode.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/tensor_input.h"
#include "sandbox/seccomp_sandbox.h"
#include "signals/media_hashing.h"
#include "vigil/status.h"

namespace vigil::sandbox {

// A local classifier model every worker of a pool parses (under the filter) when it starts.
struct SandboxModel {
  std::string name;  // what RunModel calls it
  std::shared_ptr<const std::vector<std::uint8_t>> onnx;  // the model file's bytes
  media::TensorSpec input;  // how an image becomes its input
};

// A licensed-hash plug-in every worker of a pool loads before it confines itself
// (hash_plugin_runtime.h). The worker must find it calls itself `signal`, with values of `hash_bytes`.
struct SandboxHashPlugin {
  std::string signal;
  std::string path;    // absolute
  std::string sha256;  // of the file; the worker refuses other bytes
  std::size_t hash_bytes = 0;
};

// A plug-in signal type's list values as the workers scan them (Matcher::PluginEntries's).
struct PluginValues {
  std::uint64_t version = 0;
  std::span<const std::uint8_t> values;  // hash_bytes each; kept alive by the caller during the call
};

// What hashing one upload with a plug-in found.
struct PluginAnswer {
  std::string value;       // hex; empty when the plug-in found the input unsuitable
  std::string unsuitable;  // its reason
  std::vector<std::pair<std::uint32_t, std::uint32_t>> near;  // (position in the values, distance), nearest first
};

struct PoolOptions {
  std::string executable;           // the vigil binary (the service's own, /proc/self/exe)
  int workers = 2;                  // the small lane
  std::uint64_t memory_bytes = 4ull << 30;
  std::uint64_t max_body_bytes = 2ull << 30;
  double wall_seconds = 630;        // per video (and preview) request, then the worker is killed
  double image_wall_seconds = 60;   // per image: no image takes that long to decode within the limits
  double image_cpu_seconds = 30;    // CPU time (all threads) one image's decode or preview may use; 0: none
  int max_requests_per_worker = 1000;
  // The large lane: images declaring more than large_pixels, and videos, decoded by up to
  // large_workers workers at CPU priority large_nice; at most large_queue requests wait for one,
  // more are refused at once (kUnavailable). large_workers 0: one lane for everything.
  int large_workers = 1;
  int large_queue = 4;
  std::uint64_t large_pixels = 16'000'000;
  int large_nice = 10;
  // A service running as root starts its workers as root; they become this user (resolved here,
  // from /etc/passwd; "nobody" is 65534 where it is missing). Never root.
  std::string user = "nobody";
  // Each line a worker writes to its standard error, with the worker's pid, control characters
  // escaped. Drained after every request and when a worker ends; what does not fit in the pipe
  // (64 KiB) meanwhile is lost. Empty: written to this process's stderr, prefixed.
  std::function<void(pid_t pid, std::string_view line)> on_worker_output;
  // Local classifier models: each worker loads the ONNX module before it confines itself, then is
  // sent every model and parses it under the filter, and runs it once on zeros within an upload's
  // CPU budget (image_cpu_seconds; and image_wall_seconds). A model that does not load, or runs
  // longer than an upload may, fails Start with the reason; a replacement worker that cannot load
  // them is a failed start. Each worker holds every model in its memory. The model's bytes are a
  // request's body: max_body_bytes must hold the largest model.
  std::vector<SandboxModel> models;
  double model_load_seconds = 120;  // wall and CPU time one worker may take to parse one model
  // Licensed-hash plug-ins: loaded by every worker before it confines itself; a plug-in that does
  // not load, or does not say what its entry here says, fails Start with the reason.
  std::vector<SandboxHashPlugin> hash_plugins;
};

struct PoolStats {
  std::int64_t requests = 0;
  std::int64_t workers_started = 0;
  std::int64_t workers_killed = 0;   // crashed, filtered, timed out, over the CPU budget
  std::int64_t workers_failed = 0;   // spawned but never ready (a broken installation, no memory)
  std::int64_t large_requests = 0;   // requests decoded in the large lane
  std::int64_t large_refused = 0;    // refused because the large lane's queue was full
};

// One process as /proc shows it to the service.
struct ProcessView {
  pid_t pid = -1;
  std::int64_t uid = -1, gid = -1;  // real ids, as the service sees them
  std::uint64_t cap_effective = ~0ull, cap_permitted = ~0ull, cap_inheritable = ~0ull;
  std::uint64_t cap_bounding = ~0ull, cap_ambient = ~0ull;
  int seccomp = -1;                  // 2: filter mode
  std::vector<std::int64_t> ns_pids;  // NSpid: its pid in each PID namespace, the service's first
  // Whether its namespace differs from the service's; empty where /proc would not say (reading
  // another user's namespaces needs root).
  std::optional<bool> own_mount_ns, own_pid_ns, own_net_ns;
  std::string stderr_target;         // where its descriptor 2 leads ("pipe:[...]"); empty: unreadable or closed
};

// A worker seen from outside: the process the service started and, where it made a PID
// namespace, the child that decodes (its PID 1).
struct WorkerView {
  ProcessView spawned;
  std::optional<ProcessView> decoder;
  std::string service_stderr;  // where the service's own descriptor 2 leads
  const ProcessView& decoding() const { return decoder ? *decoder : spawned; }
};

class SandboxPool {
 public:
  // Starts one worker and waits for it to confine itself: kUnsupported when the kernel refuses
  // (no seccomp), with the worker's reason.
  static Result<std::unique_ptr<SandboxPool>> Start(PoolOptions options);
  ~SandboxPool();
  SandboxPool(const SandboxPool&) = delete;
  SandboxPool& operator=(const SandboxPool&) = delete;

  Result<HashedMedia> Hash(std::span<const std::uint8_t> bytes, const MediaHashOptions& options);
  // The reviewer-safe blurred preview (JPEG) of an image or a video's first frame.
  Result<std::vector<std::uint8_t>> Preview(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);
  // Runs model `name` (one of options().models) on an image decoded within options.limits: the
  // model's first output, as many numbers as ModelOutputs(name) says.
  Result<std::vector<float>> RunModel(const std::string& name, std::span<const std::uint8_t> bytes,
                                      const MediaHashOptions& options);
  // How many numbers a model answers (found when the first worker loaded it); nullopt: no such model.
  std::optional<std::size_t> ModelOutputs(const std::string& name) const;
  struct ModelInfo {
    std::size_t outputs = 0;
    double run_ms = 0;  // one run on a tensor of zeros, in the first worker
  };
  std::optional<ModelInfo> Model(const std::string& name) const;
  // Hashes an upload with plug-in `signal` (images decoded within options.limits for a pixels
  // plug-in) and scans `values` with its distance, keeping those at most `max_distance` away (at
  // most `limit`). A worker holding other values is sent these first. A plug-in that crashes,
  // loops or answers malformed output costs this upload an error naming the plug-in; its worker is
  // replaced.
  Result<PluginAnswer> HashWithPlugin(const std::string& signal, std::span<const std::uint8_t> bytes,
                                      const MediaHashOptions& options, const PluginValues& values,
                                      std::uint32_t max_distance, std::size_t limit = 100);
  // A value given without its media (a lookup by hash): the entries in `values` near it by the
  // plug-in's distance, as HashWithPlugin's scan (`value` is echoed as hex).
  Result<PluginAnswer> MatchPluginValue(const std::string& signal, std::span<const std::uint8_t> value,
                                        const PluginValues& values, std::uint32_t max_distance, std::size_t limit = 100);
  struct PluginInfo {
    std::string version;
    std::size_t hash_bytes = 0;
    std::uint32_t max_distance = 0;  // the plug-in's own threshold
    bool pixels = true;              // hashes decoded images (else the upload's bytes)
  };
  // What the first worker's plug-in said of itself; nullopt: no such plug-in in this pool.
  std::optional<PluginInfo> Plugin(const std::string& signal) const;
  // A diagnostic probe (ping, environment, identity, open_file, write_file, forbidden_syscall,
  // prlimit_other, thread_name, prctl_other, stderr, allocate, spin) with its own time limit and CPU budget (0: none), in
  // the small lane or the large one.
  Result<boost::json::value> Probe(const std::string& name, double wall_seconds, double cpu_seconds = 0,
                                   bool large_lane = false);
  // A small-lane worker as /proc shows it (its user, capabilities, namespaces, stderr).
  Result<WorkerView> Inspect();

  PoolStats Stats() const;
  // What the first worker got beyond the filter (see EnterSandbox).
  const Isolation& isolation() const { return isolation_; }
  bool network_isolated() const { return isolation_.network; }
  const PoolOptions& options() const { return options_; }

 private:
  struct Worker {
    pid_t pid = -1;
    int fd = -1;   // the socket
    int err = -1;  // the read end of its stderr pipe
    int requests = 0;
    bool large = false;
    std::map<std::string, std::uint64_t> plugin_values;  // the PluginValues version it holds, by signal
  };
  struct Lane {
    bool large = false;
    int size = 0;          // workers at most
    int max_waiting = -1;  // requests that may wait for a worker; -1: any number
    int live = 0;          // idle and busy
    int waiting = 0;
    std::uint64_t next_ticket = 0;              // requests are served in the order they came
    std::deque<std::uint64_t> waiting_tickets;  // the tickets waiting, first in line at the front
    std::vector<Worker> idle;
    std::condition_variable cv;
  };
  explicit SandboxPool(PoolOptions options) : options_(std::move(options)) {}
  // One request, routed: in the small lane (or the large one with `large_first`), then in the
  // large lane if a small-lane worker hands it over. The payload of a kOk answer.
  Result<std::string> Run(std::uint32_t op, const std::string& options, std::span<const std::uint8_t> body,
                          double wall_seconds, double cpu_seconds, bool large_first);
  // One request on an idle worker of `lane`: the answer's status and payload.
  Result<std::pair<std::uint32_t, std::string>> Call(Lane& lane, std::uint32_t op, const std::string& options,
                                                    std::span<const std::uint8_t> body, double wall_seconds,
                                                    double cpu_seconds);
  Result<Worker> Spawn(Lane& lane, std::string* ready = nullptr);  // `ready`: what the worker said when it was
  // Sends every model to a worker that has just started; the worker is killed on a failure.
  Status LoadModels(Worker& worker);
  std::map<std::string, ModelInfo> models_loaded_;  // by name; written by the first worker's LoadModels
  // Checks that the worker's ready message lists every configured plug-in as configured; the
  // first worker's answers are kept in plugins_.
  Status CheckPlugins(const std::string& ready);
  // An idle small-lane worker holding `values` for `signal` (sent to it first when it holds others).
  Result<Worker> AcquireHolding(const std::string& signal, const PluginValues& values, std::size_t hash_bytes);
  // Whether the worker (its decoding process) has more than one thread.
  bool LeftThreads(const Worker& worker) const;
  // One kPluginHash or kPluginMatch request on `worker` (released after), its answer checked.
  Result<PluginAnswer> PluginRequest(Worker worker, std::uint32_t op, const std::string& signal, const std::string& request,
                                     std::span<const std::uint8_t> body, double wall_seconds, double cpu_seconds,
                                     const PluginValues& values, std::size_t hash_bytes, std::uint32_t max_distance,
                                     std::size_t limit);
  std::map<std::string, PluginInfo> plugins_;
  Result<Worker> Acquire(Lane& lane);
  void Release(Worker worker);
  void Kill(Worker& worker);
  // Logs what the worker wrote to stderr, closes its descriptors.
  void Discard(Worker& worker);
  void DrainOutput(const Worker& worker);
  // Sends one request and reads the answer; on any failure the worker is killed and the error
  // says why (its exit status or signal).
  Result<std::pair<std::uint32_t, std::string>> Exchange(Worker& worker, std::uint32_t op, const std::string& options,
                                                        std::span<const std::uint8_t> body, double wall_seconds,
                                                        double cpu_seconds);

  PoolOptions options_;
  std::int64_t uid_ = 65534, gid_ = 65534;  // the workers' user, resolved from options_.user
  // A worker retired after max_requests_per_worker is replaced off the request's path: the
  // replacement starts on a thread of its own while requests take whichever worker is idle first.
  void Replace(Worker retired);
  int replacing_ = 0;      // replacements starting (guarded by mu_)
  bool stopping_ = false;  // the destructor has begun: replacements are not kept
  std::condition_variable replaced_cv_;
  mutable std::mutex mu_;
  std::atomic<std::uint64_t> sequence_{0};  // the last request's sequence (RequestHeader::sequence)
  Lane small_, large_;
  PoolStats stats_;
  Isolation isolation_;
};

}  // namespace vigil::sandbox
