// The classifier guard under many threads at once, from its own sources (so the tsan preset builds
// it in seconds): uploads from 16 threads against a classifier that fails some calls and answers
// others slowly, with a rate limit, the circuit breaker and max_in_flight all in play. Every
// upload is answered exactly once, the counts add up, and no more calls than max_in_flight are
// ever inside the classifier at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "classify/guarded_classifier.h"

namespace vigil {
namespace {

class Flaky final : public Classifier {
 public:
  const std::string& name() const override { return name_; }
  bool Accepts(std::string_view) const override { return true; }
  std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) override {
    const int now = ++inside;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    const int call = ++calls;
    std::this_thread::sleep_for(std::chrono::microseconds(200 + (call % 7) * 100));
    --inside;
    std::vector<Result<Classification>> out;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (call % 5 == 0) {
        out.emplace_back(Fail(ErrorCode::kUnavailable, "down for a moment"));
      } else {
        Classification c;
        c.labels.push_back({"match", 0.5});
        out.emplace_back(std::move(c));
      }
    }
    return out;
  }
  std::atomic<int> inside{0}, most{0}, calls{0};

 private:
  std::string name_ = "flaky";
};

TEST(GuardedClassifierThreads, EveryUploadIsAnsweredOnceAndTheCountsAddUp) {
  auto inner = std::make_unique<Flaky>();
  Flaky* flaky = inner.get();
  classify::ClassifierLimits limits;
  limits.attempts = 2;
  limits.backoff = std::chrono::milliseconds(1);
  limits.rate_per_second = 20'000;
  limits.burst = 50;
  limits.circuit_failures = 3;
  limits.circuit_open = std::chrono::milliseconds(5);
  limits.max_in_flight = 4;
  classify::GuardedClassifier guard(std::move(inner), limits, SystemClock());
  constexpr int kThreads = 16, kEach = 200;
  std::atomic<int> answered{0}, scored{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      const std::vector<std::uint8_t> bytes(64, 7);
      for (int i = 0; i < kEach; ++i) {
        ClassifierInput input;
        input.media_type = "image/png";
        input.bytes = bytes;
        const Classification c = guard.ClassifyOne(input);
        ++answered;
        if (c.ok()) ++scored;
        (void)guard.Stats();
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto stats = guard.Stats();
  EXPECT_EQ(answered.load(), kThreads * kEach);
  EXPECT_EQ(stats.classified + stats.failed + stats.skipped, kThreads * kEach);
  EXPECT_EQ(stats.classified, scored.load());
  EXPECT_EQ(stats.calls, flaky->calls.load());
  EXPECT_LE(flaky->most.load(), limits.max_in_flight);
  EXPECT_GT(stats.classified, 0);
}

}  // namespace
}  // namespace vigil
