// The classifier guard under many threads at once, from its own sources (so the tsan preset builds
// it in seconds): uploads from 16 threads against a classifier that fails some calls and answers
// others slowly, with a rate limit, the circuit breaker and max_in_flight all in play. Every
// upload is answered exactly once, the counts add up, and no more calls than max_in_flight are
// ever inside the classifier at once. The batcher below it, likewise: concurrent uploads share
// calls, and each gets its own answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "classify/batching_classifier.h"
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

// Answers each upload with a score read from its id, and records the size of every call.
class Echo final : public Classifier {
 public:
  explicit Echo(std::size_t batch) : batch_(batch) {}
  const std::string& name() const override { return name_; }
  bool Accepts(std::string_view) const override { return true; }
  std::size_t max_batch() const override { return batch_; }
  std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) override {
    {
      std::lock_guard lock(mu);
      sizes.push_back(inputs.size());
    }
    if (throws) throw std::runtime_error("out of something");
    std::vector<Result<Classification>> out;
    for (const auto& in : inputs) {
      if (fail) {
        out.emplace_back(Fail(ErrorCode::kUnavailable, "503 from the service"));
        continue;
      }
      Classification c;
      c.classifier = name_;
      c.labels.push_back({"id", std::stod(in.content_id) / 1000.0});
      out.emplace_back(std::move(c));
    }
    return out;
  }
  std::mutex mu;
  std::vector<std::size_t> sizes;
  std::atomic<bool> fail{false};
  std::atomic<bool> throws{false};

 private:
  std::size_t batch_;
  std::string name_ = "echo";
};

// Uploads from `threads` threads at once, `each` apiece; every one must get its own score back.
void ClassifyAtOnce(classify::BatchingClassifier& batched, int threads, int each) {
  std::vector<std::thread> pool;
  std::atomic<int> wrong{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        ClassifierInput input;
        input.content_id = std::to_string(t * each + i);
        auto answers = batched.Classify(std::span(&input, 1));
        if (answers.size() != 1 || !answers[0] || answers[0]->Score("id") != (t * each + i) / 1000.0) ++wrong;
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(wrong.load(), 0) << "an upload got another's answer, or none";
}

TEST(BatchingClassifier, ConcurrentUploadsShareCallsAndEachGetsItsOwnAnswer) {
  auto inner = std::make_unique<Echo>(32);
  Echo* echo = inner.get();
  classify::BatchingClassifier batched(std::move(inner), std::chrono::milliseconds(20));
  ClassifyAtOnce(batched, 16, 50);
  EXPECT_EQ(batched.uploads(), 16 * 50);
  EXPECT_LT(batched.calls(), 16 * 50 / 2) << "most calls carry several uploads";
  std::lock_guard lock(echo->mu);
  EXPECT_LE(*std::max_element(echo->sizes.begin(), echo->sizes.end()), 32u) << "never more than the service takes";
}

TEST(BatchingClassifier, AFullBatchGoesWithoutWaitingAndALoneUploadWaitsNoLongerThanTheWait) {
  auto inner = std::make_unique<Echo>(4);
  classify::BatchingClassifier batched(std::move(inner), std::chrono::seconds(30));
  const auto start = std::chrono::steady_clock::now();
  ClassifyAtOnce(batched, 4, 1);  // four at once fill a batch of four
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << "a full batch does not wait 30 s";
  EXPECT_EQ(batched.calls(), 1);
  classify::BatchingClassifier lone(std::make_unique<Echo>(32), std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  ClassifyAtOnce(lone, 1, 1);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(45));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

// Uploads from `threads` threads at once; how many got exactly the error `says`.
int ErrorsAtOnce(classify::BatchingClassifier& batched, int threads, const std::string& says) {
  std::vector<std::thread> pool;
  std::atomic<int> errors{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ClassifierInput input;
      input.content_id = std::to_string(t);
      auto answers = batched.Classify(std::span(&input, 1));
      if (answers.size() == 1 && !answers[0] && answers[0].error().message == says) ++errors;
    });
  }
  for (auto& t : pool) t.join();
  return errors.load();
}

TEST(BatchingClassifier, ACallThatThrowsAnswersEveryUploadItCarriedInsteadOfLeavingThemWaiting) {
  auto inner = std::make_unique<Echo>(32);
  inner->throws = true;
  classify::BatchingClassifier batched(std::move(inner), std::chrono::milliseconds(20));
  EXPECT_EQ(ErrorsAtOnce(batched, 6, "classifier 'echo' failed: out of something"), 6);
}

TEST(BatchingClassifier, AFailedCallIsTheErrorOfEveryUploadItCarried) {
  auto inner = std::make_unique<Echo>(32);
  inner->fail = true;
  classify::BatchingClassifier batched(std::move(inner), std::chrono::milliseconds(20));
  EXPECT_EQ(ErrorsAtOnce(batched, 8, "503 from the service"), 8);
}

}  // namespace
}  // namespace vigil
