// What the decoder sandbox costs: each upload hashed in this process and in a confined worker
// (`vigil sandbox-worker`, over the socket, with the JSON answer), one at a time and with one
// thread per core, side by side in one run. Prints a table.
//
//   sandbox_bench --vigil build/release/vigil examples/images/bridge.jpg clip.mp4
//
// --lanes: what the large lane buys (issue 14). With the pool configured as `vigil serve`
// configures it from [sandbox]'s defaults (src/cli/serve_command.cpp StartSandbox; the small lane
// one worker per --threads), the latency of small uploads (a 64x64 JPEG, one every --gap-ms)
// alone, while --senders threads keep sending issue 14's bomb (a 13 KB JPEG declaring
// 10000x10000), and while they keep sending genuine large JPEGs (--large-width x --large-height,
// over large_pixels by default); then the same three with the large lane off (large_workers 0:
// one lane for everything), the peer. Prints a table (p50, p99, max, p99 as a multiple of the
// same pool's alone case) and exits 1 when the p99 with the large lane, under the bombs or the
// large JPEGs, exceeds --max-p99-ms (100), unless --no-check; a small upload that fails always
// exits 1.
//
//   sandbox_bench --vigil build/release/vigil --lanes [--small-uploads 200] [--senders 4]
//                 [--large-width 6000 --large-height 4000] [--max-p99-ms 100] [--no-check]
#include <CLI/CLI.hpp>
#include <turbojpeg.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/sandbox_pool.h"
#include "server/server_config.h"
#include "signals/media_hashing.h"
#include "noise_jpeg.h"
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

// --lanes.

using Bytes = std::vector<std::uint8_t>;

Bytes EncodeJpeg(int width, int height, int quality, bool progressive) {
  return vigil::bench::NoiseJpeg(width, height, quality, progressive);
}

// Issue 14's decompression bomb, built as tests/sandbox_test.cpp's JpegBomb builds it: a small
// progressive JPEG whose frame header declares 10000x10000, padded with a comment to 13 KB.
Bytes JpegBomb() {
  Bytes jpeg = EncodeJpeg(16, 16, 90, true);
  if (jpeg.size() < 2) return {};
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC2) {
      jpeg[i + 5] = jpeg[i + 7] = 0x27;  // 10000 = 0x2710
      jpeg[i + 6] = jpeg[i + 8] = 0x10;
      break;
    }
  }
  Bytes comment = {0xFF, 0xFE, 0x32, 0xC8};  // a comment segment of 13000 bytes
  comment.resize(13'000 + 2, 'x');
  jpeg.insert(jpeg.begin() + 2, comment.begin(), comment.end());
  return jpeg;
}

// The pool as `vigil serve` starts it (src/cli/serve_command.cpp StartSandbox) from [sandbox]'s
// defaults, with `threads` HTTP worker threads; without the large lane: large_workers 0, one lane
// for everything.
vigil::sandbox::PoolOptions ServiceOptions(const std::string& executable, int threads, bool large_lane) {
  const vigil::server::SandboxConfig sb;
  vigil::sandbox::PoolOptions o;
  o.executable = executable;
  o.workers = sb.workers > 0 ? sb.workers : threads;
  o.memory_bytes = static_cast<std::uint64_t>(sb.memory_mb) << 20;
  o.max_requests_per_worker = sb.max_requests_per_worker;
  o.image_wall_seconds = sb.image_wall_seconds;
  o.image_cpu_seconds = sb.image_cpu_seconds;
  o.user = sb.user;
  o.large_workers = !large_lane ? 0 : sb.large_workers > 0 ? sb.large_workers : std::max(1, o.workers / 2);
  o.large_queue = sb.large_queue;
  o.large_pixels = static_cast<std::uint64_t>(sb.large_pixels);
  o.large_nice = sb.large_nice;
  return o;
}

struct LaneSettings {
  int uploads = 200;       // small uploads measured
  double gap_ms = 10;      // between two small uploads
  double max_seconds = 20;  // a scenario stops measuring after this, with the uploads it has
  int senders = 4;         // threads sending the bomb, or the large JPEG, again and again
  double sender_pause_ms = 0;  // between two of a sender's requests
  int recycle_after = 0;       // requests a worker serves before it is replaced; 0: the service's default
};

struct Row {
  std::size_t uploads = 0, failed = 0;
  double p50 = 0, p99 = 0, max = 0;  // ms
  std::int64_t decoded = 0, refused = 0, large_lane = 0, lost = 0;
  std::string first_refusal, first_failure;
};

// Nearest rank.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// One scenario on a fresh pool: the small uploads' latency, one at a time, while `background`
// (null: nothing) is sent by the senders.
vigil::Result<Row> Measure(const vigil::sandbox::PoolOptions& options, const Bytes& small, const Bytes* background,
                           const LaneSettings& settings) {
  auto started = vigil::sandbox::SandboxPool::Start(options);
  if (!started) return tl::unexpected(started.error());
  vigil::sandbox::SandboxPool& pool = **started;
  vigil::MediaHashOptions hash_options;
  // Every small-lane worker started, as in a service that has been serving.
  std::vector<std::thread> warm;
  for (int t = 0; t < options.workers; ++t) {
    warm.emplace_back([&] {
      for (int i = 0; i < 3; ++i) (void)pool.Hash(small, hash_options);
    });
  }
  for (auto& t : warm) t.join();

  Row row;
  const auto before = pool.Stats();
  std::atomic<bool> stop = false;
  std::atomic<std::int64_t> decoded = 0, refused = 0;
  std::mutex mu;
  std::vector<std::thread> senders;
  if (background != nullptr) {
    for (int t = 0; t < settings.senders; ++t) {
      senders.emplace_back([&] {
        while (!stop) {
          auto hashed = pool.Hash(*background, hash_options);
          if (hashed) {
            ++decoded;
          } else {
            ++refused;
            std::lock_guard lock(mu);
            if (row.first_refusal.empty()) row.first_refusal = hashed.error().ToString();
          }
          if (settings.sender_pause_ms > 0) {
            std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(settings.sender_pause_ms));
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the senders fill the lanes first
  }
  std::vector<double> ms;
  const auto deadline = Clock::now() + std::chrono::duration<double>(settings.max_seconds);
  for (int i = 0; i < settings.uploads && Clock::now() < deadline; ++i) {
    const auto start = Clock::now();
    auto hashed = pool.Hash(small, hash_options);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!hashed) {
      ++row.failed;
      if (row.first_failure.empty()) row.first_failure = hashed.error().ToString();
    }
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(settings.gap_ms));
  }
  stop = true;
  for (auto& t : senders) t.join();
  const auto after = pool.Stats();
  std::sort(ms.begin(), ms.end());
  row.uploads = ms.size();
  row.p50 = Percentile(ms, 0.50);
  row.p99 = Percentile(ms, 0.99);
  row.max = ms.empty() ? 0 : ms.back();
  row.decoded = decoded;
  row.refused = refused;
  row.large_lane = after.large_requests - before.large_requests;
  row.lost = after.workers_killed - before.workers_killed;
  return row;
}

int RunLanes(const std::string& executable, int threads, const LaneSettings& settings, int large_width,
             int large_height, double max_p99_ms, bool no_check) {
  const Bytes small = EncodeJpeg(64, 64, 90, false);
  const Bytes bomb = JpegBomb();
  const Bytes large = EncodeJpeg(large_width, large_height, 90, false);
  if (small.empty() || bomb.empty() || large.empty()) return 1;
  const std::string senders = std::to_string(settings.senders);
  const std::string large_size = std::to_string(large_width) + "x" + std::to_string(large_height);
  struct Scenario {
    std::string name;
    const Bytes* background;
  };
  const std::vector<Scenario> scenarios = {{"alone", nullptr},
                                           {senders + " senders of the bomb", &bomb},
                                           {senders + " senders of " + large_size + " JPEGs", &large}};
  std::printf("small upload: 64x64 JPEG, %zu bytes, one every %.0f ms; bomb: JPEG declaring 10000x10000, %zu bytes; "
              "large: %s JPEG, %zu bytes\n\n",
              small.size(), settings.gap_ms, bomb.size(), large_size.c_str(), large.size());
  std::printf("| lanes | scenario | small uploads | failed | p50 ms | p99 ms | max ms | p99 / alone | "
              "background requests | decoded | refused | in the large lane |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  std::vector<std::string> notes, over;
  bool failed = false;
  for (const bool large_lane : {true, false}) {
    auto options = ServiceOptions(executable, threads, large_lane);
    if (settings.recycle_after > 0) options.max_requests_per_worker = settings.recycle_after;
    const std::string lanes =
        large_lane ? "small " + std::to_string(options.workers) + " + large " + std::to_string(options.large_workers) +
                         " (queue " + std::to_string(options.large_queue) + ", over " +
                         std::to_string(options.large_pixels / 1'000'000) + " MP)"
                   : "one lane of " + std::to_string(options.workers);
    double alone = 0;
    for (const auto& scenario : scenarios) {
      auto row = Measure(options, small, scenario.background, settings);
      if (!row) {
        std::fprintf(stderr, "%s\n", row.error().ToString().c_str());
        return 1;
      }
      if (scenario.background == nullptr) alone = row->p99;
      std::printf("| %s | %s | %zu | %zu | %.2f | %.2f | %.2f | %.1f | %lld | %lld | %lld | %lld |\n", lanes.c_str(),
                  scenario.name.c_str(), row->uploads, row->failed, row->p50, row->p99, row->max,
                  alone > 0 ? row->p99 / alone : 0.0, static_cast<long long>(row->decoded + row->refused),
                  static_cast<long long>(row->decoded), static_cast<long long>(row->refused),
                  static_cast<long long>(row->large_lane));
      std::fflush(stdout);
      const std::string where = lanes + ", " + scenario.name;
      if (!row->first_refusal.empty()) notes.push_back(where + ": refused as " + row->first_refusal);
      if (row->lost > 0) notes.push_back(where + ": " + std::to_string(row->lost) + " workers lost");
      if (row->failed > 0) {
        failed = true;
        notes.push_back(where + ": a small upload failed: " + row->first_failure);
      }
      if (large_lane && scenario.background != nullptr && row->p99 > max_p99_ms) over.push_back(scenario.name);
    }
  }
  std::printf("\n");
  for (const auto& note : notes) std::printf("- %s\n", note.c_str());
  if (over.empty()) {
    std::printf("\nWith the large lane, small uploads' p99 within %.0f ms under every load.\n", max_p99_ms);
  } else {
    std::printf("\nWith the large lane, small uploads' p99 over %.0f ms:", max_p99_ms);
    for (const auto& what : over) std::printf(" %s;", what.c_str());
    std::printf("\n");
  }
  if (failed) return 1;
  return over.empty() || no_check ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The decoder sandbox's cost: in-process vs confined workers; --lanes: small uploads' latency "
               "beside bombs and large decodes, with and without the large lane"};
  std::string vigil = "build/release/vigil";
  std::vector<std::string> files;
  double seconds = 3;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--vigil", vigil, "The vigil binary (its sandbox-worker)")->check(CLI::ExistingFile);
  app.add_option("--seconds", seconds, "Seconds per measurement");
  app.add_option("--threads", threads,
                 "Threads (and workers) for the parallel rows; --lanes: the service's worker threads (its small lane)");
  app.add_option("files", files, "Images or videos (not with --lanes)")->check(CLI::ExistingFile);
  bool lanes = false, no_check = false;
  LaneSettings settings;
  int large_width = 6000, large_height = 4000;
  double max_p99_ms = 100;
  app.add_flag("--lanes", lanes, "Small uploads' latency alone, beside bombs and beside large JPEGs, with and "
                                 "without the large lane (instead of the cost table)");
  app.add_option("--small-uploads", settings.uploads, "--lanes: small uploads measured per scenario")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--gap-ms", settings.gap_ms, "--lanes: pause between two small uploads");
  app.add_option("--max-seconds", settings.max_seconds, "--lanes: a scenario measures at most this long");
  app.add_option("--senders", settings.senders, "--lanes: threads sending the bomb or the large JPEG")
      ->check(CLI::Range(1, 256));
  app.add_option("--sender-pause-ms", settings.sender_pause_ms, "--lanes: pause between two of a sender's requests");
  app.add_option("--large-width", large_width, "--lanes: the large JPEG's width")->check(CLI::Range(16, 10000));
  app.add_option("--large-height", large_height, "--lanes: the large JPEG's height")->check(CLI::Range(16, 10000));
  app.add_option("--recycle-after", settings.recycle_after,
                 "--lanes: requests a worker serves before it is replaced (default: the service's)");
  app.add_option("--max-p99-ms", max_p99_ms, "--lanes: largest p99 allowed beside bombs or large JPEGs (large lane on)");
  app.add_flag("--no-check", no_check, "--lanes: print the table only; exit 0 whatever the p99");
  CLI11_PARSE(app, argc, argv);
  if (lanes) {
    return RunLanes(std::filesystem::absolute(vigil).string(), threads, settings, large_width, large_height, max_p99_ms,
                    no_check);
  }
  if (files.empty()) {
    std::fprintf(stderr, "files: at least one image or video (or --lanes)\n");
    return 1;
  }

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
