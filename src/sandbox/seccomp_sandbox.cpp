// The decoder workers' confinement (see seccomp_sandbox.h).
#include "sandbox/seccomp_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

namespace vigil::sandbox {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kSanitizer = true;
#else
constexpr bool kSanitizer = false;
#endif
#else
constexpr bool kSanitizer = false;
#endif

Error Sys(const std::string& what, int err) {
  return {ErrorCode::kUnsupported, "sandbox: " + what + ": " + std::strerror(err)};
}

Status Limit(int resource, rlim_t value, const char* name) {
  rlimit l{value, value};
  if (setrlimit(resource, &l) != 0) return tl::unexpected(Sys(std::string("setrlimit ") + name, errno));
  return {};
}

// The system calls decoding (libjpeg-turbo, libpng, libwebp, giflib, libtiff, libheif, FFmpeg)
// and our own code make once running, found with strace over every format and the video vectors.
constexpr int kAllowed[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(poll),
    SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(brk),
    SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
    SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(getcpu),
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep), SCMP_SYS(getrusage), SCMP_SYS(times),
    SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
    SCMP_SYS(getrandom), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
    SCMP_SYS(sigaltstack), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
    SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
};

// Sanitizer runtimes (test builds) signal themselves, query their process and write reports;
// files stay closed to them too (a report then shows raw addresses).
constexpr int kAllowedForSanitizers[] = {
    SCMP_SYS(ioctl), SCMP_SYS(prctl), SCMP_SYS(getppid), SCMP_SYS(tgkill), SCMP_SYS(kill),
    SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler), SCMP_SYS(pipe2), SCMP_SYS(dup), SCMP_SYS(fcntl),
};

}  // namespace

bool MemoryLimitEnforced() { return !kSanitizer; }

Status EnterSandbox(const SandboxLimits& limits, bool* network_isolated) {
  // A network (and IPC, hostname) namespace of its own: even a hole in the filter would find no
  // network. Directly as root; otherwise inside a new user namespace. Either may be refused.
  constexpr int kSpaces = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
  const bool isolated = unshare(kSpaces) == 0 || unshare(CLONE_NEWUSER | kSpaces) == 0;
  if (network_isolated != nullptr) *network_isolated = isolated;

  // No core dumps (they would hold decoded pictures), no files written, no descriptors but the pipe.
  VIGIL_TRY(Limit(RLIMIT_CORE, 0, "RLIMIT_CORE"));
  VIGIL_TRY(Limit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE"));
  if (limits.memory_bytes > 0 && !kSanitizer) VIGIL_TRY(Limit(RLIMIT_AS, limits.memory_bytes, "RLIMIT_AS"));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return tl::unexpected(Sys("PR_SET_DUMPABLE", errno));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return tl::unexpected(Sys("PR_SET_NO_NEW_PRIVS", errno));
  if (close_range(3, ~0U, 0) != 0) {  // every inherited descriptor, however high
    for (int fd = 3; fd < 65536; ++fd) close(fd);
  }

  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_KILL_PROCESS), seccomp_release);
  if (!ctx) return Fail(ErrorCode::kUnsupported, "sandbox: seccomp_init failed");
  auto allow = [&](int nr) { return seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); };
  for (int nr : kAllowed) {
    if (int rc = allow(nr); rc != 0) return tl::unexpected(Sys("seccomp_rule_add", -rc));
  }
  if (kSanitizer) {
    for (int nr : kAllowedForSanitizers) {
      if (int rc = allow(nr); rc != 0) return tl::unexpected(Sys("seccomp_rule_add", -rc));
    }
  }
  // Libraries probe files (locale, /proc, /sys): a refusal, not a kill.
  for (int nr : {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(readlink), SCMP_SYS(access), SCMP_SYS(faccessat)}) {
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EACCES), nr, 0); rc != 0) {
      return tl::unexpected(Sys("seccomp_rule_add", -rc));
    }
  }
  // Threads, never processes: clone only with CLONE_THREAD; clone3's flags sit in memory a filter
  // cannot read, so it answers ENOSYS and glibc falls back to clone.
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
      rc != 0) {
    return tl::unexpected(Sys("seccomp_rule_add clone", -rc));
  }
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc != 0) {
    return tl::unexpected(Sys("seccomp_rule_add clone3", -rc));
  }
  // Only our own process may be signalled (abort() raises SIGABRT on itself).
  if (!kSanitizer) {
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                                  SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid())));
        rc != 0) {
      return tl::unexpected(Sys("seccomp_rule_add tgkill", -rc));
    }
  }
  // fcntl for F_GETFL/F_SETFL/F_GETFD on the pipe only.
  for (int cmd : {F_GETFL, F_SETFL, F_GETFD, F_SETFD}) {
    if (kSanitizer) break;
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd)));
        rc != 0) {
      return tl::unexpected(Sys("seccomp_rule_add fcntl", -rc));
    }
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0) return tl::unexpected(Sys("seccomp_load", -rc));
  return {};
}

}  // namespace vigil::sandbox
