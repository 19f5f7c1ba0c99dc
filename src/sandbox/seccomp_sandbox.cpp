// The decoder workers' confinement (see seccomp_sandbox.h).
#include "sandbox/seccomp_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
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

int Prctl(int option, unsigned long a = 0, unsigned long b = 0) { return prctl(option, a, b, 0UL, 0UL); }

// ---- 1. Isolation ----------------------------------------------------------------------------

constexpr int kNetSpaces = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
constexpr int kAllSpaces = kNetSpaces | CLONE_NEWNS | CLONE_NEWPID;

bool WriteProcFile(const char* path, const std::string& text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

// unshare(spaces) inside a new user namespace in which this process keeps its own uid and gid:
// not root in there either, yet holding every capability over the namespaces it owns, enough to
// mount and pivot. Maps that cannot be written leave the ids unmapped (shown as nobody): fine.
bool UnshareInUserNamespace(int spaces) {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | spaces) != 0) return false;
  (void)WriteProcFile("/proc/self/setgroups", "deny");
  (void)WriteProcFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n");
  (void)WriteProcFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n");
  return true;
}

// Root becomes the unprivileged user: no supplementary groups, then gid, then uid (which clears
// the effective and permitted capabilities).
Status DropUser(const SandboxLimits& limits) {
  if (limits.uid <= 0 || limits.gid <= 0 || limits.uid > UINT32_MAX - 1 || limits.gid > UINT32_MAX - 1) {
    return Fail(ErrorCode::kInvalidArgument, "sandbox: the worker's user and group must not be root (uid " +
                                                 std::to_string(limits.uid) + ", gid " + std::to_string(limits.gid) + ")");
  }
  const auto uid = static_cast<uid_t>(limits.uid);
  const auto gid = static_cast<gid_t>(limits.gid);
  if (setgroups(0, nullptr) != 0) return tl::unexpected(Sys("setgroups", errno));
  if (setresgid(gid, gid, gid) != 0) return tl::unexpected(Sys("setresgid " + std::to_string(gid), errno));
  if (setresuid(uid, uid, uid) != 0) return tl::unexpected(Sys("setresuid " + std::to_string(uid), errno));
  if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
    return Fail(ErrorCode::kUnsupported, "sandbox: the worker is still root after setresuid");
  }
  // Changing ids made the process undumpable, which leaves /proc/self owned by root: a user
  // namespace's maps could not be written. Dumpable again until EnterSandbox turns it off.
  (void)Prctl(PR_SET_DUMPABLE, 1);
  return {};
}

// In a mount namespace of our own: every mount private (nothing propagates back to the
// service's), then an empty read-only tmpfs as the root, the old root detached. chroot into it
// where pivot_root is refused (a root that is not a mount point).
bool EnterEmptyRoot() {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  if (mount("vigil-empty", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=555") != 0) {
    return false;
  }
  if (chdir("/proc") != 0) return false;
  // pivot_root(".", "."): the old root ends up stacked on the new one, and detaching it leaves
  // nothing but the empty tmpfs (pivot_root(2), "NOTES").
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    if (umount2(".", MNT_DETACH) != 0) return false;
  } else if (chroot(".") != 0) {
    return false;
  }
  return chdir("/") == 0;
}

// Empties the bounding set: no capability can come back, even through a file's (needs
// CAP_SETPCAP, which root and a new user namespace's owner hold). False where it could not.
bool DropBoundingSet() {
  bool dropped = true;
  for (unsigned long cap = 0; cap < 64; ++cap) {
    const int held = Prctl(PR_CAPBSET_READ, cap);
    if (held < 0) break;  // past the kernel's last capability
    if (held == 1 && Prctl(PR_CAPBSET_DROP, cap) != 0) dropped = false;
  }
  return dropped;
}

// No capability left: ambient cleared, effective, permitted and inheritable emptied (lowering
// needs no privilege), then read back.
bool ClearCapabilities() {
  (void)Prctl(PR_CAP_AMBIENT, static_cast<unsigned long>(PR_CAP_AMBIENT_CLEAR_ALL));
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &header, data) != 0) return false;
  if (syscall(SYS_capget, &header, data) != 0) return false;
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return false;
  }
  return true;  // ambient capabilities must be permitted and inheritable: none either
}

// Namespaces (best effort), the unprivileged user (required when root), no capabilities.
Status Isolate(const SandboxLimits& limits, Isolation& iso) {
  const bool root = geteuid() == 0;
  int granted = 0;
  // As root, directly: the namespaces are then owned by the service's user namespace, and root
  // still holds what mounting needs.
  if (root) {
    for (int spaces : {kAllSpaces, kNetSpaces}) {
      if (unshare(spaces) == 0) {
        granted = spaces;
        break;
      }
    }
  }
  if (granted == 0) {
    // Inside a user namespace, whose owner must not be root: a user namespace does not change
    // the kernel's view of who we are, so root drops to the unprivileged user first (emptying
    // the bounding set while it still may; a new user namespace refills it, emptied again below).
    if (root) {
      (void)DropBoundingSet();
      VIGIL_TRY(DropUser(limits));
    }
    for (int spaces : {kAllSpaces, kNetSpaces}) {
      if (UnshareInUserNamespace(spaces)) {
        granted = spaces;
        iso.user_namespace = true;
        break;
      }
    }
  }
  iso.network = (granted & CLONE_NEWNET) != 0;
  iso.pid = (granted & CLONE_NEWPID) != 0;
  if ((granted & CLONE_NEWNS) != 0) iso.mount = EnterEmptyRoot();
  if (granted == 0) {
    iso.refused += "namespaces (network, mount, PID) refused by the kernel; ";
  } else if (granted == kNetSpaces) {
    iso.refused += "mount and PID namespaces refused by the kernel; ";
  } else if (!iso.mount) {
    iso.refused += "the empty root (mount, pivot_root or chroot refused); ";
  }

  iso.bounding_set = DropBoundingSet();  // before dropping root (or in the user namespace): needs CAP_SETPCAP
  if (geteuid() == 0) VIGIL_TRY(DropUser(limits));
  iso.capabilities = ClearCapabilities();
  if (!iso.capabilities) return Fail(ErrorCode::kUnsupported, "sandbox: the worker could not drop its capabilities");
  if (!iso.bounding_set) iso.refused += "the capability bounding set kept (no CAP_SETPCAP here); ";
  return {};
}

// ---- 2. The filter ---------------------------------------------------------------------------

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
    SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(getrlimit),
    // prlimit64: on this process only (below).
};

// Sanitizer runtimes (test builds) signal themselves, query their process and write reports;
// files stay closed to them too (a report then shows raw addresses).
constexpr int kAllowedForSanitizers[] = {
    SCMP_SYS(ioctl), SCMP_SYS(prctl), SCMP_SYS(getppid), SCMP_SYS(tgkill), SCMP_SYS(kill),
    SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler), SCMP_SYS(pipe2), SCMP_SYS(dup), SCMP_SYS(fcntl),
};

Status LoadFilter() {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_KILL_PROCESS), seccomp_release);
  if (!ctx) return Fail(ErrorCode::kUnsupported, "sandbox: seccomp_init failed");
  auto check = [](int rc, const char* what) -> Status {
    if (rc != 0) return tl::unexpected(Sys(std::string("seccomp_rule_add ") + what, -rc));
    return {};
  };
  for (int nr : kAllowed) VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0), "allow"));
  if (kSanitizer) {
    for (int nr : kAllowedForSanitizers) VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0), "allow"));
  }
  // Libraries probe files (locale, /proc, /sys): a refusal, not a kill.
  for (int nr : {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(readlink), SCMP_SYS(access), SCMP_SYS(faccessat)}) {
    VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EACCES), nr, 0), "refuse files"));
  }
  // Threads, never processes: clone only with CLONE_THREAD; clone3's flags sit in memory a filter
  // cannot read, so it answers ENOSYS and glibc falls back to clone.
  VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                   SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)),
                  "clone"));
  VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3"));
  const auto self = static_cast<scmp_datum_t>(getpid());  // 1 in a PID namespace of its own
  // Resource limits: its own only (pid 0, or its pid), never another process's, which a
  // compromised decoder could otherwise lower or raise (setrlimit, not allowed, has no pid).
  for (scmp_datum_t pid : {scmp_datum_t{0}, self}) {
    VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A0(SCMP_CMP_EQ, pid)),
                    "prlimit64"));
  }
  if (!kSanitizer) {  // sanitizer builds allow every prctl (kAllowedForSanitizers)
    // prctl only to name the calling thread: dav1d (libheif's AV1 decoder for AVIF, and FFmpeg's
    // for AV1 video) and libaom name the threads they start (prctl(PR_SET_NAME), or
    // pthread_setname_np on the calling thread, the same call). Nothing else: no PR_SET_DUMPABLE,
    // PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_SET_MM, PR_SET_PTRACER, PR_CAP_AMBIENT...
    VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                                     SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(PR_SET_NAME))),
                    "prctl"));
  }
  // Signals: to itself only (abort() raises SIGABRT on itself); no kill, tkill or sigqueue.
  if (!kSanitizer) {
    VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, self)),
                    "tgkill"));
    // fcntl for F_GETFL/F_SETFL/F_GETFD on its descriptors only.
    for (int cmd : {F_GETFL, F_SETFL, F_GETFD, F_SETFD}) {
      VIGIL_TRY(check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                                       SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd))),
                      "fcntl"));
    }
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0) return tl::unexpected(Sys("seccomp_load", -rc));
  return {};
}

// ---- the supervisor --------------------------------------------------------------------------

// The parent left outside the PID namespace: it holds nothing (no descriptors, so the service
// sees the socket close the moment the child ends; no capabilities; the unprivileged user) and may
// do nothing but wait for its child and end the way the child ended.
[[noreturn]] void Supervise(pid_t child) {
  if (close_range(0, ~0U, 0) != 0) {
    for (int fd = 0; fd < 65536; ++fd) close(fd);
  }
  rlimit none{0, 0};
  (void)setrlimit(RLIMIT_CORE, &none);
  (void)Prctl(PR_SET_DUMPABLE, 0);
  (void)Prctl(PR_SET_NO_NEW_PRIVS, 1);
  if (scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) {
    bool ok = true;
    for (int nr : {SCMP_SYS(wait4), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
                   SCMP_SYS(restart_syscall), SCMP_SYS(getpid), SCMP_SYS(exit), SCMP_SYS(exit_group)}) {
      ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0;
    }
    if (kSanitizer) {  // sanitizer runtimes make calls of their own (test builds): the decoder's allowances
      for (int nr : kAllowed) ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0;
      for (int nr : kAllowedForSanitizers) ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0;
    } else {
      // Only itself, to end the way its child did.
      ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
                                  SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid()))) == 0;
    }
    if (ok) (void)seccomp_load(ctx);
    seccomp_release(ctx);
  }
  for (;;) {
    int status = 0;
    const pid_t got = waitpid(child, &status, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) _exit(70);
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      signal(sig, SIG_DFL);
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, sig);
      sigprocmask(SIG_UNBLOCK, &set, nullptr);
      kill(getpid(), sig);
      _exit(128 + sig);
    }
  }
}

void OnCpuBudgetSpent(int) { _exit(kCpuBudgetExitStatus); }

}  // namespace

bool MemoryLimitEnforced() { return !kSanitizer; }

bool SanitizerAllowances() { return kSanitizer; }

Status EnterSandbox(const SandboxLimits& limits, Isolation* isolation) {
  // Lower priority first (the large lane's), inherited by every thread the decoders start.
  if (limits.nice > 0) (void)setpriority(PRIO_PROCESS, 0, limits.nice);

  Isolation iso;
  VIGIL_TRY(Isolate(limits, iso));
  if (iso.pid) {
    // Into the PID namespace: the child is its PID 1 and decodes; this process supervises.
    // (Not optional once unshared: this process may no longer start threads, which decoders do.)
    const pid_t child = fork();
    if (child < 0) {
      return tl::unexpected(Sys("fork into the PID namespace", errno));
    } else if (child > 0) {
      Supervise(child);
    } else {
      // Dies with its supervisor, the process the service knows and kills.
      (void)Prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(SIGKILL));
    }
  }

  // No core dumps (they would hold decoded pictures), no files written, no descriptors but the
  // socket (0, 1) and stderr (2, a pipe the service drains).
  VIGIL_TRY(Limit(RLIMIT_CORE, 0, "RLIMIT_CORE"));
  VIGIL_TRY(Limit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE"));
  if (limits.memory_bytes > 0 && !kSanitizer) VIGIL_TRY(Limit(RLIMIT_AS, limits.memory_bytes, "RLIMIT_AS"));
  if (Prctl(PR_SET_DUMPABLE, 0) != 0) return tl::unexpected(Sys("PR_SET_DUMPABLE", errno));
  if (Prctl(PR_SET_NO_NEW_PRIVS, 1) != 0) return tl::unexpected(Sys("PR_SET_NO_NEW_PRIVS", errno));
  if (close_range(3, ~0U, 0) != 0) {  // every inherited descriptor, however high
    for (int fd = 3; fd < 65536; ++fd) close(fd);
  }
  // The CPU budget (SetCpuBudget): RLIMIT_CPU's soft limit raises SIGXCPU, which ends the process
  // with a status the service recognises. A handler, not the default action: a PID namespace's
  // init ignores signals it has no handler for.
  struct sigaction spent {};
  spent.sa_handler = OnCpuBudgetSpent;
  sigemptyset(&spent.sa_mask);
  if (sigaction(SIGXCPU, &spent, nullptr) != 0) return tl::unexpected(Sys("sigaction SIGXCPU", errno));

  VIGIL_TRY(LoadFilter());
  iso.uid = getuid();
  iso.gid = getgid();
  if (isolation != nullptr) *isolation = iso;
  return {};
}

void SetCpuBudget(std::uint32_t seconds) {
  rlimit cpu{};
  if (getrlimit(RLIMIT_CPU, &cpu) != 0) return;
  rlim_t soft = cpu.rlim_max;
  if (seconds > 0) {
    rusage used{};
    getrusage(RUSAGE_SELF, &used);
    // The CPU used so far in whole seconds, rounded up, plus the budget (RLIMIT_CPU counts whole
    // seconds, so a request gets its budget and at most a second more).
    const auto micros = static_cast<rlim_t>(used.ru_utime.tv_sec + used.ru_stime.tv_sec) * 1'000'000 +
                        static_cast<rlim_t>(used.ru_utime.tv_usec + used.ru_stime.tv_usec);
    soft = (micros + 999'999) / 1'000'000 + seconds;
    if (cpu.rlim_max != RLIM_INFINITY && soft > cpu.rlim_max) soft = cpu.rlim_max;
  }
  cpu.rlim_cur = soft;
  (void)setrlimit(RLIMIT_CPU, &cpu);
}

}  // namespace vigil::sandbox
