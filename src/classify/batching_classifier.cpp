// Concurrent uploads in one call (batching_classifier.h).
#include "classify/batching_classifier.h"

#include <algorithm>
#include <exception>
#include <vector>

namespace vigil::classify {

struct BatchingClassifier::Batch {
  std::vector<const ClassifierInput*> inputs;  // owned by the callers, who wait for the answers
  std::vector<Result<Classification>> answers;
  bool done = false;
  std::condition_variable cv;  // the first upload waits for others to join; all wait for answers
};

BatchingClassifier::BatchingClassifier(std::unique_ptr<Classifier> inner, std::chrono::milliseconds wait)
    : inner_(std::move(inner)), wait_(wait) {}

std::vector<Result<Classification>> BatchingClassifier::Classify(std::span<const ClassifierInput> inputs) {
  std::vector<Result<Classification>> out;
  out.reserve(inputs.size());
  for (const auto& input : inputs) out.push_back(ClassifyOne(input));
  return out;
}

Result<Classification> BatchingClassifier::ClassifyOne(const ClassifierInput& input) {
  const std::size_t limit = std::max<std::size_t>(1, inner_->max_batch());
  std::unique_lock lock(mu_);
  std::shared_ptr<Batch> batch = open_;
  const bool first = batch == nullptr;
  if (first) open_ = batch = std::make_shared<Batch>();
  const std::size_t index = batch->inputs.size();
  batch->inputs.push_back(&input);
  if (batch->inputs.size() >= limit) {
    open_.reset();  // full: the next upload starts another
    batch->cv.notify_all();
  }
  if (!first) {
    batch->cv.wait(lock, [&] { return batch->done; });
    return std::move(batch->answers[index]);
  }
  // The first upload waits for others (or a full batch), then makes the call for all of them.
  batch->cv.wait_for(lock, wait_, [&] { return batch->inputs.size() >= limit; });
  if (open_ == batch) open_.reset();  // no more may join
  std::vector<ClassifierInput> inputs;
  inputs.reserve(batch->inputs.size());
  for (const ClassifierInput* in : batch->inputs) inputs.push_back(*in);
  ++calls_;
  uploads_ += static_cast<std::int64_t>(inputs.size());
  lock.unlock();
  // Whatever happens in the call, every upload waiting on this batch gets an answer: an exception
  // here must not leave the others waiting for ever.
  std::vector<Result<Classification>> answers;
  try {
    answers = inner_->Classify(inputs);
  } catch (const std::exception& e) {
    answers.assign(inputs.size(), Fail(ErrorCode::kInternal, "classifier '" + inner_->name() + "' failed: " + e.what()));
  }
  if (answers.size() != inputs.size()) {
    answers.assign(inputs.size(), Fail(ErrorCode::kInternal, "classifier '" + inner_->name() + "' answered " +
                                                               std::to_string(answers.size()) + " results for a batch of " +
                                                               std::to_string(inputs.size())));
  }
  lock.lock();
  batch->answers = std::move(answers);
  batch->done = true;
  batch->cv.notify_all();
  return std::move(batch->answers[index]);
}

std::int64_t BatchingClassifier::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

std::int64_t BatchingClassifier::uploads() const {
  std::lock_guard lock(mu_);
  return uploads_;
}

}  // namespace vigil::classify
