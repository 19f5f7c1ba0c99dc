// `vigil sandbox check`: shows that the decoder sandbox holds on this machine (each probe and what
// it should do, including what /proc shows of a worker: its user, capabilities, namespaces and
// stderr). The worker itself is cli/sandbox_worker_command.cpp.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/store_options.h"
#include "sandbox/model_runtime.h"
#include "sandbox/sandbox_pool.h"
#include "sandbox/seccomp_sandbox.h"

namespace vigil::cli {
namespace {

namespace json = boost::json;

struct SandboxArgs {
  std::uint64_t memory_mb = 4096;
  std::string user = "nobody";
  bool json = false;
};

std::string Hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// One process's identity as the service sees it in /proc.
std::string Describe(const char* what, const sandbox::ProcessView& p) {
  return std::string(what) + " pid " + std::to_string(p.pid) + ": uid " + std::to_string(p.uid) + " gid " +
         std::to_string(p.gid) + ", CapEff " + Hex(p.cap_effective) + " CapPrm " + Hex(p.cap_permitted) + " CapBnd " +
         Hex(p.cap_bounding) + ", Seccomp " + std::to_string(p.seccomp);
}

bool Unprivileged(const sandbox::ProcessView& p) {
  // Root or not, a worker has no capability; started by root, it is not root.
  const bool not_root = getuid() != 0 || (p.uid != 0 && p.gid != 0);
  return not_root && p.uid >= 0 && p.cap_effective == 0 && p.cap_permitted == 0 && p.cap_inheritable == 0 &&
         p.cap_ambient == 0;
}


struct Check {
  std::string probe, expected, outcome;
  bool passed = false;
};

int RunCheck(const SandboxArgs& args) {
  sandbox::PoolOptions options;
  options.executable = "/proc/self/exe";  // this very binary (its decoder modules: util/module_loader.h)
  options.workers = 1;
  options.memory_bytes = args.memory_mb << 20;
  options.user = args.user;
  std::vector<std::string> worker_output;  // what the workers wrote to their stderr pipe
  std::mutex output_mu;
  options.on_worker_output = [&](pid_t, std::string_view line) {
    std::lock_guard lock(output_mu);
    worker_output.emplace_back(line);
  };
  auto pool = sandbox::SandboxPool::Start(options);
  if (!pool) return ReportError("sandbox check", pool.error());
  const sandbox::Isolation& isolation = (*pool)->isolation();
  std::vector<Check> checks;
  auto run = [&](const std::string& probe, const std::string& expected, double seconds, auto&& judge) {
    auto answer = (*pool)->Probe(probe, seconds);
    Check c{probe, expected, answer ? json::serialize(*answer) : answer.error().ToString(), false};
    c.passed = judge(answer);
    checks.push_back(std::move(c));
  };
  auto member = [](const Result<json::value>& a, const char* key) -> const json::value* {
    return a && a->is_object() ? a->as_object().if_contains(key) : nullptr;
  };
  run("ping", "answers", 10, [&](const auto& a) { return member(a, "ok") != nullptr; });
  // Seen from outside, in /proc: the process the service started and the one that decodes.
  auto view = (*pool)->Inspect();
  {
    Check c{"privileges", "not root (when started by root), no capabilities (effective, permitted, inheritable, ambient)", "", false};
    if (!view) {
      c.outcome = view.error().ToString();
    } else {
      c.outcome = Describe("worker", view->spawned);
      if (view->decoder) c.outcome += "; " + Describe("decoder", *view->decoder);
      c.passed = Unprivileged(view->spawned) && (!view->decoder || Unprivileged(*view->decoder));
    }
    checks.push_back(std::move(c));
  }
  checks.push_back({"bounding_set", "capability bounding set empty (needs root or a user namespace)",
                    view ? "CapBnd " + Hex(view->decoding().cap_bounding) : view.error().ToString(),
                    !isolation.bounding_set || (view && view->decoding().cap_bounding == 0)});
  {
    // Its descriptor 2 is a pipe of its own, never the service's log; what it writes arrives here.
    Check c{"stderr", "standard error is a pipe the service drains, not the service's log descriptor", "", false};
    auto said = (*pool)->Probe("stderr", 10);
    std::lock_guard lock(output_mu);
    const bool received = said && !worker_output.empty();
    if (!view) {
      c.outcome = view.error().ToString();
    } else {
      const std::string& target = view->decoding().stderr_target;
      c.outcome = "worker's fd 2: " + (target.empty() ? std::string("(unreadable)") : target) + ", service's: " +
                  view->service_stderr + (received ? ", its line was received" : ", its line was NOT received");
      c.passed = received && target != view->service_stderr && (target.empty() || target.rfind("pipe:", 0) == 0);
    }
    checks.push_back(std::move(c));
  }
  run("environment", "no environment variables (the service's secrets stay out)", 10, [&](const auto& a) {
    const auto* n = member(a, "variables");
    return n != nullptr && n->is_int64() && n->as_int64() == 0;
  });
  run("open_file", "opening a file is refused", 10, [&](const auto& a) {
    const auto* opened = member(a, "opened");
    return opened != nullptr && opened->is_bool() && !opened->as_bool();
  });
  run("write_file", "creating a file is refused", 10, [&](const auto& a) {
    const auto* created = member(a, "created");
    return created != nullptr && created->is_bool() && !created->as_bool();
  });
  run("forbidden_syscall", "a network socket kills the worker (SIGSYS)", 10, [](const auto& a) {
    return !a && a.error().message.find("SIGSYS") != std::string::npos;
  });
  run("prlimit_other", "changing another process's resource limits (this one's) kills the worker (SIGSYS)", 10,
      [](const auto& a) { return !a && a.error().message.find("SIGSYS") != std::string::npos; });
  if (sandbox::MemoryLimitEnforced()) {  // sanitizer builds run without the address-space limit
    run("allocate", "memory beyond the limit is refused", 30, [](const auto& a) {
      return !a && a.error().code == ErrorCode::kResourceExhausted;
    });
  }
  run("spin", "a runaway decoder is stopped at the time limit", 2, [](const auto& a) {
    return !a && a.error().code == ErrorCode::kDeadlineExceeded;
  });
  {
    // The same runaway with a long time limit and a CPU budget of 1 s: stopped by the budget.
    auto a = (*pool)->Probe("spin", 30, 1);
    checks.push_back({"cpu_budget", "a decode over its CPU budget is stopped",
                      a ? json::serialize(*a) : a.error().ToString(),
                      !a && a.error().code == ErrorCode::kDeadlineExceeded && a.error().message.find("CPU") != std::string::npos});
  }
  run("ping", "a fresh worker answers after those", 10, [&](const auto& a) { return member(a, "ok") != nullptr; });
  // Depth, not a requirement: where the kernel refuses namespaces the filter still forbids
  // sockets, opening files and signalling or limiting other processes. Where granted, it must hold.
  checks.push_back({"network_namespace", "a network namespace of its own (best effort)",
                    isolation.network ? "isolated: no network interfaces"
                                      : "not available here (the filter still forbids sockets)",
                    !isolation.network || !view || view->decoding().own_net_ns != false});
  {
    Check c{"pid_namespace", "a PID namespace of its own: the decoder is its PID 1 (best effort)", "", true};
    if (!isolation.pid) {
      c.outcome = "not available here (the filter still forbids signalling other processes)";
    } else {
      auto identity = (*pool)->Probe("identity", 10);
      const auto* pid = member(identity, "pid");
      const bool one = pid != nullptr && pid->is_int64() && pid->as_int64() == 1;
      std::string nspid;
      if (view) {
        for (auto p : view->decoding().ns_pids) nspid += (nspid.empty() ? "" : " ") + std::to_string(p);
      }
      c.outcome = "the decoder sees itself as pid " + (pid != nullptr ? json::serialize(*pid) : std::string("?")) +
                  ", NSpid: " + nspid;
      c.passed = one && view && view->decoding().ns_pids.size() >= 2 && view->decoding().own_pid_ns != false;
    }
    checks.push_back(std::move(c));
  }
  checks.push_back({"mount_namespace", "a mount namespace of its own with an empty root (best effort)",
                    isolation.mount ? "an empty, read-only root" : "not available here (the filter still refuses opening files)",
                    !isolation.mount || (view && view->decoding().own_mount_ns != false)});
  checks.push_back({"decoder_modules", "the workers loaded the video, BMP and HEIF decoders (lib/vigil) before confining themselves",
                    isolation.missing_decoders.empty() ? "loaded" : isolation.missing_decoders,
                    isolation.missing_decoders.empty()});
  {
    // Local classifier models' workers load it before confining themselves (docs/classifiers.md).
    auto runtime = sandbox::LoadModelRuntime();
    checks.push_back({"model_runtime", "the ONNX module (lib/vigil/libvigil-onnx.so, OpenCV's DNN) that local classifier models run in loads",
                      runtime ? "loaded" : runtime.error().message, runtime.has_value()});
  }
  if (!isolation.refused.empty()) checks.push_back({"refused", "what the kernel refused here", isolation.refused, true});
  bool all = true;
  json::array out;
  for (const auto& c : checks) {
    all = all && c.passed;
    out.push_back(json::object{{"probe", c.probe}, {"expected", c.expected}, {"outcome", c.outcome}, {"passed", c.passed}});
  }
  if (args.json) {
    std::printf("%s\n", json::serialize(json::object{{"passed", all}, {"checks", out}}).c_str());
  } else {
    for (const auto& c : checks) {
      std::printf("%-4s %-18s %s\n     -> %s\n", c.passed ? "ok" : "FAIL", c.probe.c_str(), c.expected.c_str(),
                  c.outcome.substr(0, 160).c_str());
    }
    std::printf("%s\n", all ? "the decoder sandbox holds" : "the decoder sandbox does NOT hold");
  }
  return all ? 0 : 1;
}

}  // namespace

Action RegisterSandboxCommands(CLI::App& app) {
  auto args = std::make_shared<SandboxArgs>();
  CLI::App* group = app.add_subcommand("sandbox", "The decoder sandbox: check that it holds here");
  group->require_subcommand(1);
  CLI::App* check = group->add_subcommand("check", "Run probes in a confined worker: each must be refused or stopped");
  check->add_option("--memory-mb", args->memory_mb, "The worker's memory limit")->check(CLI::Range(64, 1 << 20));
  check->add_option("--user", args->user, "The user a worker started as root becomes (default nobody)");
  check->add_flag("--json", args->json, "One JSON object instead of the table");
  return [args, check]() -> int {
    if (check->parsed()) return RunCheck(*args);
    return -1;
  };
}

}  // namespace vigil::cli
