// Confining a decoder worker process before it reads any untrusted byte: resource limits (address
// space, file size, no core dumps), no new privileges, no open file descriptors beyond the pipe,
// and a seccomp-bpf allow-list (libseccomp) of the few system calls decoding needs: memory,
// threads, time, reading and writing the pipe. Anything else kills the process (SIGSYS); opening
// a file fails with EACCES, since libraries probe files and a refusal is enough there.
#pragma once

#include <cstdint>

#include "vigil/status.h"

namespace vigil::sandbox {

struct SandboxLimits {
  std::uint64_t memory_bytes = 4ull << 30;  // address space (RLIMIT_AS); 0: none (sanitizer builds)
};

// False in sanitizer builds, whose shadow memory cannot live under an address-space limit.
bool MemoryLimitEnforced();

// Applies the limits and the filter to the calling process (every thread of it). Irreversible.
// `network_isolated` (optional) says whether the process also got a network namespace of its own
// (no interfaces at all): depth beyond the filter, best effort (root, or an unprivileged user
// namespace where the kernel allows one).
Status EnterSandbox(const SandboxLimits& limits, bool* network_isolated = nullptr);

}  // namespace vigil::sandbox
