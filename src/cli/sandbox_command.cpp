// `vigil sandbox check`: shows that the decoder sandbox holds on this machine (each probe and what
// it should do); `vigil sandbox-worker`: the confined worker the service spawns (not for people).
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/store_options.h"
#include "sandbox/hashing_worker.h"
#include "sandbox/sandbox_pool.h"
#include "sandbox/seccomp_sandbox.h"

namespace vigil::cli {
namespace {

namespace json = boost::json;

struct SandboxArgs {
  std::uint64_t memory_mb = 4096;
  std::uint64_t max_bytes = 2ull << 30;
  bool json = false;
};


struct Check {
  std::string probe, expected, outcome;
  bool passed = false;
};

int RunCheck(const SandboxArgs& args) {
  sandbox::PoolOptions options;
  options.executable = "/proc/self/exe";  // this very binary, even if upgraded on disk since
  options.workers = 1;
  options.memory_bytes = args.memory_mb << 20;
  auto pool = sandbox::SandboxPool::Start(options);
  if (!pool) return ReportError("sandbox check", pool.error());
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
  if (sandbox::MemoryLimitEnforced()) {  // sanitizer builds run without the address-space limit
    run("allocate", "memory beyond the limit is refused", 30, [](const auto& a) {
      return !a && a.error().code == ErrorCode::kResourceExhausted;
    });
  }
  run("spin", "a runaway decoder is stopped at the time limit", 2, [](const auto& a) {
    return !a && a.error().code == ErrorCode::kTooLarge;
  });
  run("ping", "a fresh worker answers after those", 10, [&](const auto& a) { return member(a, "ok") != nullptr; });
  // Depth, not a requirement: where the kernel refuses namespaces the filter still forbids sockets.
  const bool isolated = (*pool)->network_isolated();
  checks.push_back({"network_namespace", "a network namespace of its own (best effort)",
                    isolated ? "isolated: no network interfaces" : "not available here (the filter still forbids sockets)",
                    true});
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
  check->add_flag("--json", args->json, "One JSON object instead of the table");
  CLI::App* worker = app.add_subcommand("sandbox-worker", "The confined decoder worker the service starts");
  worker->group("");  // not for people: hidden from the command list
  worker->add_option("--memory-mb", args->memory_mb, "Memory limit")->check(CLI::Range(64, 1 << 20));
  worker->add_option("--max-bytes", args->max_bytes, "Largest upload")->check(CLI::Range(1ull, 1ull << 40));
  return [args, check, worker]() -> int {
    if (check->parsed()) return RunCheck(*args);
    if (worker->parsed()) {
      if (isatty(0) != 0) {
        std::fprintf(stderr, "vigil sandbox-worker: started by the service, not by hand\n");
        return 2;
      }
      sandbox::WorkerSettings settings;
      settings.memory_bytes = args->memory_mb << 20;
      settings.max_body_bytes = args->max_bytes;
      return sandbox::RunHashingWorker(settings);
    }
    return -1;
  };
}

}  // namespace vigil::cli
