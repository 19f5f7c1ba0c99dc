// The service's decoder workers: a pool of `vigil sandbox-worker` processes, each confined by
// seccomp and resource limits, that hash uploads so no hostile byte is decoded inside the service.
// A worker that crashes, is killed by the filter, or runs past the time limit is replaced, and
// the upload gets a clear error; the service keeps serving. Workers get an empty environment (the
// service's secrets stay in the service) and are recycled after a number of requests.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "signals/media_hashing.h"
#include "vigil/status.h"

namespace vigil::sandbox {

struct PoolOptions {
  std::string executable;           // the vigil binary (the service's own, /proc/self/exe)
  int workers = 2;
  std::uint64_t memory_bytes = 4ull << 30;
  std::uint64_t max_body_bytes = 2ull << 30;
  double wall_seconds = 630;        // per video (and preview) request, then the worker is killed
  double image_wall_seconds = 60;   // per image: no image takes that long to decode within the limits
  int max_requests_per_worker = 1000;
};

struct PoolStats {
  std::int64_t requests = 0;
  std::int64_t workers_started = 0;
  std::int64_t workers_killed = 0;  // crashed, filtered, timed out
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
  // A diagnostic probe (ping, environment, open_file, write_file, forbidden_syscall, allocate,
  // spin) with its own time limit.
  Result<boost::json::value> Probe(const std::string& name, double wall_seconds);

  PoolStats Stats() const;
  // Whether the first worker also got a network namespace of its own (see EnterSandbox).
  bool network_isolated() const { return network_isolated_; }
  const PoolOptions& options() const { return options_; }

 private:
  struct Worker {
    pid_t pid = -1;
    int fd = -1;
    int requests = 0;
  };
  explicit SandboxPool(PoolOptions options) : options_(std::move(options)) {}
  // One request on an idle worker: the answer's status and payload.
  Result<std::pair<std::uint32_t, std::string>> Call(std::uint32_t op, const std::string& options,
                                                    std::span<const std::uint8_t> body, double wall_seconds);
  Result<Worker> Spawn(std::string* ready = nullptr);  // `ready`: what the worker said when it was
  Result<Worker> Acquire();
  void Release(Worker worker);
  void Kill(Worker& worker);
  // Sends one request and reads the answer; on any failure the worker is killed and the error
  // says why (its exit status or signal).
  Result<std::pair<std::uint32_t, std::string>> Exchange(Worker& worker, std::uint32_t op, const std::string& options,
                                                        std::span<const std::uint8_t> body, double wall_seconds);

  PoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Worker> idle_;
  int live_ = 0;  // idle and busy
  PoolStats stats_;
  bool network_isolated_ = false;
};

}  // namespace vigil::sandbox
