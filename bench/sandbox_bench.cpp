// What the decoder sandbox costs: each upload hashed in this process and in a confined worker
// (`vigil sandbox-worker`, over the socket, with the JSON answer), one at a time and with one
// thread per core, side by side in one run. Prints a table.
//
//   sandbox_bench --vigil build/release/vigil examples/images/bridge.jpg clip.mp4
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "sandbox/sandbox_pool.h"
#include "signals/media_hashing.h"
#include "vigil/file_hasher.h"

namespace {

using Clock = std::chrono::steady_clock;

// Runs `hash` on `threads` threads for about `seconds`; returns items per second.
template <typename F>
double Rate(int threads, double seconds, F&& hash) {
  std::atomic<long> done = 0;
  std::atomic<bool> failed = false;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (Clock::now() < end) {
        if (!hash()) failed = true;
        ++done;
      }
    });
  }
  for (auto& t : pool) t.join();
  if (failed) std::fprintf(stderr, "some hashes failed\n");
  return static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The decoder sandbox's cost: in-process vs confined workers"};
  std::string vigil = "build/release/vigil";
  std::vector<std::string> files;
  double seconds = 3;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--vigil", vigil, "The vigil binary (its sandbox-worker)")->check(CLI::ExistingFile);
  app.add_option("--seconds", seconds, "Seconds per measurement");
  app.add_option("--threads", threads, "Threads (and workers) for the parallel rows");
  app.add_option("files", files, "Images or videos")->required()->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  vigil::sandbox::PoolOptions options;
  options.executable = std::filesystem::absolute(vigil).string();
  options.workers = threads;
  auto pool = vigil::sandbox::SandboxPool::Start(options);
  if (!pool) {
    std::fprintf(stderr, "%s\n", pool.error().ToString().c_str());
    return 1;
  }
  vigil::MediaHashOptions hash_options;
  std::printf("| file | bytes | threads | in-process /s | sandboxed /s | sandboxed / in-process | extra ms per item |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& file : files) {
    auto bytes = vigil::ReadFileLimited(file, 1ull << 31);
    if (!bytes) {
      std::fprintf(stderr, "%s\n", bytes.error().ToString().c_str());
      return 1;
    }
    for (int t : {1, threads}) {
      const double local = Rate(t, seconds, [&] { return vigil::HashMedia(*bytes, hash_options).has_value(); });
      const double confined = Rate(t, seconds, [&] { return (*pool)->Hash(*bytes, hash_options).has_value(); });
      std::printf("| %s | %zu | %d | %.1f | %.1f | %.2f | %.2f |\n", std::filesystem::path(file).filename().c_str(),
                  bytes->size(), t, local, confined, confined / local, 1000.0 * t * (1 / confined - 1 / local));
      if (t == threads) break;
    }
  }
  const auto stats = (*pool)->Stats();
  std::printf("\nworkers started %lld, killed %lld, requests %lld\n", static_cast<long long>(stats.workers_started),
              static_cast<long long>(stats.workers_killed), static_cast<long long>(stats.requests));
  return 0;
}
