// What a classifier costs an upload: the same JPEGs submitted through the upload workflow (hash,
// match, record on SQLite in a temporary directory) without a classifier, then with the generic
// HTTP adapter against the tests' stand-in model answering after --latency-ms (20 ms: a model
// server on the same network), on --threads threads. Prints uploads a second, the per-upload
// latency (p50, p99) and the latency a classifier adds, side by side in one run.
//
//   classifier_bench [--uploads 300] [--latency-ms 20] [--threads 4]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "classify/classifier_set.h"
#include "exchange_standins.h"
#include "noise_jpeg.h"
#include "vigil/clock.h"
#include "vigil/matcher.h"
#include "vigil/store.h"
#include "workflow/upload_workflow.h"

namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;


struct Run {
  double per_second = 0, p50_ms = 0, p99_ms = 0;
  int failed = 0, unscored = 0;
};

Run Submit(vigil::UploadWorkflow& workflow, const std::vector<Bytes>& uploads, const std::string& prefix, int threads) {
  std::vector<double> latencies(uploads.size());
  std::atomic<std::size_t> next{0};
  std::atomic<int> failed{0}, unscored{0};
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (std::size_t i = next++; i < uploads.size(); i = next++) {
        const auto t0 = Clock::now();
        auto recorded = workflow.Submit({prefix + std::to_string(i), "user-" + std::to_string(i % 50), "", uploads[i]});
        latencies[i] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!recorded) {
          ++failed;
        } else if (std::any_of(recorded->content.classifications.begin(), recorded->content.classifications.end(),
                               [](const vigil::Classification& c) { return !c.ok(); })) {
          ++unscored;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  Run run;
  run.per_second = static_cast<double>(uploads.size()) / std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  run.p50_ms = latencies[latencies.size() / 2];
  run.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  run.failed = failed;
  run.unscored = unscored;
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The cost of a classifier per upload: the upload workflow with and without the generic HTTP adapter"};
  int count = 300, latency_ms = 20, threads = 4;
  app.add_option("--uploads", count, "uploads per run (640x480 JPEGs)")->check(CLI::Range(10, 100000));
  app.add_option("--latency-ms", latency_ms, "the stand-in model's answer time")->check(CLI::Range(0, 10000));
  app.add_option("--threads", threads, "uploads at once")->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);

  const auto dir = std::filesystem::temp_directory_path() / ("vigil-classifier-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  vigil::StoreOptions store_options;
  store_options.sqlite_path = (dir / "vigil.db").string();
  auto store = vigil::Store::Open(store_options);
  if (!store) {
    std::fprintf(stderr, "cannot open the store: %s\n", store.error().ToString().c_str());
    return 1;
  }
  vigil::Matcher matcher(**store);
  if (!matcher.Load()) return 1;

  vigil::testing::ClassifierStandIn standin("bench");
  if (!standin.Start()) return 1;
  standin.SetLatency(latency_ms);
  vigil::classify::ClassifierSpec spec;
  spec.http.name = "model";
  spec.http.kind = "http-json";
  spec.http.url = standin.origin() + "/classify";
  spec.http.request_template = R"({"image": "{{image_base64}}", "id": "{{content_id}}"})";
  spec.http.timeout = std::chrono::milliseconds(2000);
  std::vector<vigil::classify::ClassifierSpec> specs{spec};
  auto set = vigil::classify::ClassifierSet::Make(std::move(specs), vigil::SystemClock());
  if (!set) return 1;

  std::vector<Bytes> uploads;
  for (int i = 0; i < count; ++i) uploads.push_back(vigil::bench::NoiseJpeg(640, 480, 90, false, static_cast<std::uint32_t>(i)));
  vigil::UploadWorkflowOptions plain_options;
  vigil::UploadWorkflowOptions scored_options;
  scored_options.classify = [s = *set](const vigil::ClassifierInput& input) { return s->ClassifyUpload(input); };
  vigil::UploadWorkflow plain((*store)->Cases(), matcher, {}, nullptr, plain_options);
  vigil::UploadWorkflow scored((*store)->Cases(), matcher, {}, nullptr, scored_options);

  // Warm up both paths (the store's pages, the connection to the stand-in).
  Submit(plain, std::vector<Bytes>(uploads.begin(), uploads.begin() + 10), "warm-plain-", 1);
  Submit(scored, std::vector<Bytes>(uploads.begin(), uploads.begin() + 10), "warm-scored-", 1);
  const Run without = Submit(plain, uploads, "plain-", threads);
  const Run with = Submit(scored, uploads, "scored-", threads);

  std::printf("%d uploads of %zu KiB JPEG (640x480), %d threads, SQLite; the model answers after %d ms\n\n", count,
              uploads[0].size() / 1024, threads, latency_ms);
  std::printf("| run | uploads/s | p50 ms | p99 ms | failed | unscored |\n|---|---|---|---|---|---|\n");
  std::printf("| hash, match, record | %.1f | %.2f | %.2f | %d | - |\n", without.per_second, without.p50_ms, without.p99_ms, without.failed);
  std::printf("| + HTTP classifier (%d ms model) | %.1f | %.2f | %.2f | %d | %d |\n", latency_ms, with.per_second, with.p50_ms,
              with.p99_ms, with.failed, with.unscored);
  std::printf("\nadded per upload: p50 %+.2f ms (%.2f ms over the model's own %d ms); throughput %.2fx of without\n",
              with.p50_ms - without.p50_ms, with.p50_ms - without.p50_ms - latency_ms, latency_ms,
              with.per_second / without.per_second);
  store->reset();
  std::filesystem::remove_all(dir);
  return with.failed + without.failed == 0 ? 0 : 1;
}
