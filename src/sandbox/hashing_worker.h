// The decoder worker: `vigil sandbox-worker`, spawned by the service with an empty environment
// and a socket on its standard input and output. It confines itself (seccomp_sandbox.h), says it
// is ready, then hashes one upload (or makes a reviewer's blurred preview) per request until the
// service closes the socket. Probes let
// the service (and `vigil sandbox check`) see that the confinement holds.
#pragma once

#include <cstdint>

namespace vigil::sandbox {

struct WorkerSettings {
  std::uint64_t memory_bytes = 4ull << 30;
  std::uint64_t max_body_bytes = 2ull << 30;
};

// Runs the worker on descriptors 0 and 1. Returns the process exit status.
int RunHashingWorker(const WorkerSettings& settings);

}  // namespace vigil::sandbox
