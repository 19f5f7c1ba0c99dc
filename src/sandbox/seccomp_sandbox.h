// Confining a decoder worker process before it reads any untrusted byte:
//   1. isolation: namespaces of its own (network, IPC, hostname, mount with an empty read-only
//      root, PID), made directly as root or inside an unprivileged user namespace, best effort
//      where the kernel refuses; a worker started as root drops to an unprivileged user; every
//      capability is dropped (effective, permitted, inheritable, ambient, and the bounding set);
//      with a PID namespace the process forks once: the child, PID 1 of the new namespace, goes
//      on to decode, the parent stays behind as a minimal supervisor (below);
//   2. resource limits (address space, file size, no core dumps), no new privileges, no open file
//      descriptors beyond the socket and stderr (a pipe the service drains), and a seccomp-bpf
//      allow-list (libseccomp) of the few system calls decoding needs: memory, threads, time,
//      reading and writing its descriptors, its own resource limits and signals, naming its
//      threads (prctl PR_SET_NAME, which AV1 decoders do). Anything else
//      kills the process (SIGSYS); opening a file fails with EACCES, since libraries probe files
//      and a refusal is enough there.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "vigil/status.h"

namespace vigil::sandbox {

struct SandboxLimits {
  std::uint64_t memory_bytes = 4ull << 30;  // address space (RLIMIT_AS); 0: none (sanitizer builds)
  // A worker started as root becomes this user and group (the service resolves the name: a
  // confined worker cannot read /etc/passwd). Never 0.
  std::int64_t uid = 65534;
  std::int64_t gid = 65534;
  int nice = 0;  // lower CPU priority (0..19), set before anything else: the large lane's
};

// What a worker got, beyond the filter (which always holds). Reported in its "ready" answer, by
// `vigil sandbox check` and in the service's start-up log.
struct Isolation {
  bool network = false;         // network, IPC and hostname namespaces: no interfaces at all
  bool mount = false;           // a mount namespace whose root is an empty, read-only tmpfs
  bool pid = false;             // a PID namespace: the decoder is its PID 1 and sees no other process
  bool user_namespace = false;  // the namespaces were made inside an unprivileged user namespace
  bool capabilities = false;    // none left: effective, permitted, inheritable, ambient
  bool bounding_set = false;    // the bounding set emptied too (needs CAP_SETPCAP: root, or a user namespace)
  std::int64_t uid = -1, gid = -1;  // what the decoder runs as (as it sees itself)
  std::string refused;          // what the kernel refused, for the log ("" when nothing)
  // Reported with the isolation: the decoder modules the worker could not load before confining
  // itself, and why ("" when all loaded): those formats then fail in every worker.
  std::string missing_decoders;
};

// The worker's exit status when a request used more CPU than its budget (see SetCpuBudget).
inline constexpr int kCpuBudgetExitStatus = 75;

// False in sanitizer builds, whose shadow memory cannot live under an address-space limit.
bool MemoryLimitEnforced();

// True in sanitizer builds, whose filter also allows the calls the sanitizer runtimes make
// (every prctl, ioctl, kill...): a call only the release filter forbids passes there.
bool SanitizerAllowances();

// Isolates, then applies the limits and the filter to the calling process (every thread of it).
// Irreversible. Call single-threaded, first thing. Where a PID namespace was made this forks:
// the parent never returns (it waits for the child, confined to waiting, and ends the way the
// child ended: same exit status, or killed by the same signal, so the service sees one process;
// killing it kills the child); the child returns. `isolation` (optional) says what was granted.
Status EnterSandbox(const SandboxLimits& limits, Isolation* isolation = nullptr);

// The CPU time (all threads) the next request may use, from now; 0: no budget. Past it the
// process exits with kCpuBudgetExitStatus. Uses RLIMIT_CPU's soft limit, raised and lowered on
// the process itself (prlimit64 on pid 0, which the filter allows).
void SetCpuBudget(std::uint32_t seconds);

}  // namespace vigil::sandbox
