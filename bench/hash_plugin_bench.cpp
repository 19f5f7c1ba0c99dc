// What a licensed-hash plug-in costs (docs/hash-plugins.md), with the example dHash plug-in:
//   1. the linear scan of a list by the plug-in's distance (a call through the ABI per entry),
//      beside the same scan with the distance inlined (what Vigil's own code would do), per query;
//   2. an upload's latency in the sandbox: the decoder's hashing alone, and the plug-in's
//      hashing and scan of a list of N entries, on the same JPEG (p50 and p90 of --uploads).
//
//   hash_plugin_bench --plugin build/ci/tests/libvigil_example_dhash_plugin.so [--entries 1000000]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "sandbox/hash_plugin_runtime.h"
#include "sandbox/sandbox_pool.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"
#include "noise_jpeg.h"

namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Licensed-hash plug-in costs: the list scan and an upload's latency in the sandbox"};
  std::string plugin_path, executable = "build/ci/vigil";
  std::vector<std::size_t> entries = {100'000, 1'000'000, 4'000'000};
  int uploads = 40;
  app.add_option("--plugin", plugin_path, "The example plug-in (libvigil_example_dhash_plugin.so)")->required();
  app.add_option("--entries", entries, "List sizes to scan")->capture_default_str();
  app.add_option("--uploads", uploads, "Uploads timed in the sandbox")->capture_default_str();
  app.add_option("--vigil", executable, "The vigil binary (the sandbox's workers)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto bytes = vigil::ReadFileLimited(plugin_path, 256u << 20);
  if (!bytes) {
    std::fprintf(stderr, "%s\n", bytes.error().ToString().c_str());
    return 1;
  }
  const std::string sha256 = vigil::Sha256Hex(std::span<const std::uint8_t>(*bytes));
  auto plugin = vigil::sandbox::LoadedHashPlugin::Load(plugin_path, sha256);
  if (!plugin) {
    std::fprintf(stderr, "%s\n", plugin.error().ToString().c_str());
    return 1;
  }
  const std::size_t size = (*plugin)->info().hash_bytes;
  std::mt19937_64 random(7);

  std::printf("## The list scan, one query (plug-in '%s', %zu-byte values, one thread)\n\n", (*plugin)->info().name.c_str(), size);
  std::printf("| entries | by the plug-in (its scan if it has one) (ms) | inlined popcount (ms) | ratio | plug-in ns/entry |\n|---|---|---|---|---|\n");
  for (const std::size_t n : entries) {
    std::vector<std::uint8_t> values(n * size);
    for (auto& b : values) b = static_cast<std::uint8_t>(random());
    std::vector<std::uint8_t> query(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(size));
    double plugin_ms = 1e18, inline_ms = 1e18;
    std::size_t found_plugin = 0, found_inline = 0;
    for (int round = 0; round < 3; ++round) {
      auto start = Clock::now();
      found_plugin = (*plugin)->Scan(query, values, 10, 100).value_or(std::vector<std::pair<std::uint32_t, std::uint32_t>>{}).size();
      plugin_ms = std::min(plugin_ms, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      start = Clock::now();
      std::size_t found = 0;
      std::uint64_t q = 0;
      std::memcpy(&q, query.data(), std::min<std::size_t>(8, size));
      for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t v = 0;
        std::memcpy(&v, values.data() + i * size, std::min<std::size_t>(8, size));
        found += std::popcount(q ^ v) <= 10 ? 1u : 0u;
      }
      found_inline = found;
      inline_ms = std::min(inline_ms, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    std::printf("| %zu | %.2f | %.2f | %.2fx | %.2f |\n", n, plugin_ms, inline_ms, plugin_ms / inline_ms, plugin_ms * 1e6 / static_cast<double>(n));
    if (found_plugin == 0 || found_inline == 0) std::fprintf(stderr, "the query was not found in its own list\n");
  }

  // An upload's latency in the sandbox.
  vigil::sandbox::PoolOptions options;
  options.executable = executable;
  options.workers = 1;
  options.large_workers = 0;
  options.hash_plugins.push_back({(*plugin)->info().name, plugin_path, sha256, size});
  auto pool = vigil::sandbox::SandboxPool::Start(options);
  if (!pool) {
    std::fprintf(stderr, "no sandbox: %s\n", pool.error().ToString().c_str());
    return 1;
  }
  const auto jpeg = vigil::bench::NoiseJpeg(640, 480, 90, false, 11);
  std::printf("\n## An upload in the sandbox (640x480 JPEG, one worker, %d uploads)\n\n", uploads);
  std::printf("| what | entries | p50 (ms) | p90 (ms) |\n|---|---|---|---|\n");
  std::vector<double> decoder;
  for (int i = 0; i < uploads; ++i) {
    const auto start = Clock::now();
    auto hashed = (*pool)->Hash(jpeg, {});
    if (!hashed) {
      std::fprintf(stderr, "%s\n", hashed.error().ToString().c_str());
      return 1;
    }
    decoder.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::printf("| decoder: digests and PDQ | - | %.2f | %.2f |\n", Percentile(decoder, 0.5), Percentile(decoder, 0.9));
  std::uint64_t version = 0;
  for (const std::size_t n : entries) {
    std::vector<std::uint8_t> values(n * size);
    for (auto& b : values) b = static_cast<std::uint8_t>(random());
    ++version;
    std::vector<double> times;
    for (int i = 0; i <= uploads; ++i) {
      const auto start = Clock::now();
      auto answer = (*pool)->HashWithPlugin((*plugin)->info().name, jpeg, {}, {version, values}, 10);
      if (!answer) {
        std::fprintf(stderr, "%s\n", answer.error().ToString().c_str());
        return 1;
      }
      if (i > 0) times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());  // the first carries the list
    }
    std::printf("| plug-in: decode, hash, scan | %zu | %.2f | %.2f |\n", n, Percentile(times, 0.5), Percentile(times, 0.9));
  }
  return 0;
}
