// `vigil sandbox-worker`: the confined decoder worker the service spawns (not for people; hidden
// from the command list). Runs in the front-door executable, so a worker starts without the
// service's libraries (cli/main.cpp).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "sandbox/hashing_worker.h"

namespace vigil::cli {

Action RegisterSandboxWorkerCommand(CLI::App& app) {
  auto settings = std::make_shared<sandbox::WorkerSettings>();
  auto memory_mb = std::make_shared<std::uint64_t>(settings->memory_bytes >> 20);
  CLI::App* worker = app.add_subcommand("sandbox-worker", "The confined decoder worker the service starts");
  worker->group("");
  worker->add_option("--memory-mb", *memory_mb, "Memory limit")->check(CLI::Range(64, 1 << 20));
  worker->add_option("--max-bytes", settings->max_body_bytes, "Largest upload")->check(CLI::Range(1ull, 1ull << 40));
  worker->add_option("--uid", settings->uid, "The user id a worker started as root becomes")
      ->check(CLI::Range(1ll, 4294967294ll));
  worker->add_option("--gid", settings->gid, "Its group id")->check(CLI::Range(1ll, 4294967294ll));
  worker->add_option("--nice", settings->nice, "Lower CPU priority")->check(CLI::Range(0, 19));
  worker->add_option("--large-pixels", settings->large_pixels,
                     "Hand images declaring more back for the large lane (0: none)");
  worker->add_flag("--models", settings->models, "Load the ONNX module before confining (local classifier models)");
  auto plugins = std::make_shared<std::vector<std::string>>();
  worker->add_option("--hash-plugin", *plugins, "SHA256:PATH of a hash plug-in to load before confining (repeatable)");
  return [worker, settings, memory_mb, plugins]() -> int {
    if (!worker->parsed()) return -1;
    if (isatty(0) != 0) {
      std::fprintf(stderr, "vigil sandbox-worker: started by the service, not by hand\n");
      return 2;
    }
    settings->memory_bytes = *memory_mb << 20;
    for (const auto& given : *plugins) {
      if (given.size() < 66 || given[64] != ':') {
        std::fprintf(stderr, "vigil sandbox-worker: --hash-plugin takes SHA256:PATH\n");
        return 2;
      }
      settings->plugins.push_back({given.substr(65), given.substr(0, 64)});
    }
    return sandbox::RunHashingWorker(*settings);
  };
}

}  // namespace vigil::cli
