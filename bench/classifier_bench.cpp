// What a classifier costs an upload: the same JPEGs submitted through the upload workflow (hash,
// match, record on SQLite in a temporary directory) without a classifier, then with the generic
// HTTP adapter against the tests' stand-in model answering after --latency-ms (20 ms: a model
// server on the same network), then (with --model) with a local ONNX model run in the decoder
// sandbox's workers, on --threads threads. Prints uploads a second, the per-upload latency (p50,
// p99) and the latency a classifier adds, side by side in one run.
//
//   classifier_bench [--uploads 300] [--latency-ms 20] [--threads 4]
//                    [--model bench_cnn.onnx --model-side 224 --model-workers 2 --vigil build/release/vigil]
//
// bench_cnn.onnx: tests/models/make_test_models.py DIR writes it (three strided convolutions, ~0.1
// GFLOP at 224x224, 2 outputs).
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
#include "sandbox/sandbox_pool.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"
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
  std::string model_path, vigil_path;
  int model_side = 224, model_workers = 2;
  app.add_option("--model", model_path, "an ONNX model of 2 outputs to run locally as well (bench_cnn.onnx)");
  app.add_option("--model-side", model_side, "its input's width and height")->check(CLI::Range(1, 4096));
  app.add_option("--model-workers", model_workers, "sandbox workers holding it")->check(CLI::Range(1, 64));
  app.add_option("--vigil", vigil_path, "the vigil binary whose sandbox workers run it (default: ../vigil beside this bench)");
  CLI11_PARSE(app, argc, argv);
  if (vigil_path.empty()) vigil_path = (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "vigil").string();

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
  // A local model: a sandbox pool of its own, the card made here (RGB, 0..1, softmax over 2 labels).
  std::shared_ptr<vigil::classify::ClassifierSet> local_set;
  if (!model_path.empty()) {
    auto onnx = vigil::ReadFileLimited(model_path, 1u << 30);
    if (!onnx) {
      std::fprintf(stderr, "cannot read %s: %s\n", model_path.c_str(), onnx.error().ToString().c_str());
      return 1;
    }
    auto local = std::make_shared<vigil::classify::LocalModel>();
    local->classifier = "local";
    local->card.name = std::filesystem::path(model_path).filename().string();
    local->card.input.width = local->card.input.height = static_cast<std::uint32_t>(model_side);
    local->card.labels = {"a", "b"};
    local->card.activation = vigil::classify::Activation::kSoftmax;
    local->onnx = std::make_shared<const std::vector<std::uint8_t>>(std::move(*onnx));
    vigil::classify::ClassifierSpec local_spec;
    local_spec.http.name = "local";
    local_spec.http.kind = "onnx";
    local_spec.local = local;
    std::vector<vigil::classify::ClassifierSpec> local_specs{local_spec};
    auto host = [&](const vigil::classify::LocalModel& model) -> vigil::Result<vigil::classify::StartedModel> {
      vigil::sandbox::PoolOptions options;
      options.executable = vigil_path;
      options.workers = model_workers;
      options.large_workers = 0;
      options.models.push_back({model.classifier, model.onnx, model.card.input});
      VIGIL_ASSIGN_OR_RETURN(auto pool, vigil::sandbox::SandboxPool::Start(options));
      std::shared_ptr<vigil::sandbox::SandboxPool> shared(std::move(pool));
      vigil::classify::StartedModel started;
      started.outputs = shared->ModelOutputs(model.classifier).value_or(0);
      started.run = [shared](std::span<const std::uint8_t> bytes) { return shared->RunModel("local", bytes, {}); };
      return started;
    };
    auto made = vigil::classify::ClassifierSet::Make(std::move(local_specs), vigil::SystemClock(), {}, host);
    if (!made) {
      std::fprintf(stderr, "the local model did not start: %s\n", made.error().ToString().c_str());
      return 1;
    }
    local_set = *made;
  }
  vigil::UploadWorkflowOptions local_options;
  if (local_set) local_options.classify = [s = local_set](const vigil::ClassifierInput& input) { return s->ClassifyUpload(input); };
  vigil::UploadWorkflow local_scored((*store)->Cases(), matcher, {}, nullptr, local_options);
  if (local_set) Submit(local_scored, std::vector<Bytes>(uploads.begin(), uploads.begin() + 10), "warm-local-", 1);

  const Run without = Submit(plain, uploads, "plain-", threads);
  const Run with = Submit(scored, uploads, "scored-", threads);
  const Run local = local_set ? Submit(local_scored, uploads, "local-", threads) : Run{};

  std::printf("%d uploads of %zu KiB JPEG (640x480), %d threads, SQLite; the model answers after %d ms\n\n", count,
              uploads[0].size() / 1024, threads, latency_ms);
  std::printf("| run | uploads/s | p50 ms | p99 ms | failed | unscored |\n|---|---|---|---|---|---|\n");
  std::printf("| hash, match, record | %.1f | %.2f | %.2f | %d | - |\n", without.per_second, without.p50_ms, without.p99_ms, without.failed);
  std::printf("| + HTTP classifier (%d ms model) | %.1f | %.2f | %.2f | %d | %d |\n", latency_ms, with.per_second, with.p50_ms,
              with.p99_ms, with.failed, with.unscored);
  if (local_set) {
    std::printf("| + local model %s (%dx%d, %d sandbox workers) | %.1f | %.2f | %.2f | %d | %d |\n", model_path.c_str(), model_side,
                model_side, model_workers, local.per_second, local.p50_ms, local.p99_ms, local.failed, local.unscored);
  }
  std::printf("\nHTTP classifier, added per upload: p50 %+.2f ms (%.2f ms over the model's own %d ms); throughput %.2fx of without\n",
              with.p50_ms - without.p50_ms, with.p50_ms - without.p50_ms - latency_ms, latency_ms,
              with.per_second / without.per_second);
  if (local_set) {
    std::printf("local model, added per upload: p50 %+.2f ms; throughput %.2fx of without\n", local.p50_ms - without.p50_ms,
                local.per_second / without.per_second);
  }
  store->reset();
  std::filesystem::remove_all(dir);
  return with.failed + without.failed + local.failed + local.unscored == 0 ? 0 : 1;
}
