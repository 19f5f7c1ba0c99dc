// Uploads classified at about the same moment, gathered into one call of a classifier that takes
// batches (Google's Content Safety API: up to 32 images a request). The first upload of a batch
// waits at most `wait` for others to join; a batch that reaches the classifier's max_batch goes at
// once; each upload gets its own answer (or the error of the call that carried it). It sits below
// the guard (guarded_classifier.h), so the guard's retries, rate limit and circuit still see one
// call per upload.
//
//   auto batched = std::make_unique<BatchingClassifier>(std::move(adapter), std::chrono::milliseconds(10));
//
// Thread safety: Classify may be called from many threads at once (that is its point); the wrapped
// classifier is called from one of them at a time per batch, from several at once across batches.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "vigil/classifier.h"

namespace vigil::classify {

class BatchingClassifier final : public Classifier {
 public:
  BatchingClassifier(std::unique_ptr<Classifier> inner, std::chrono::milliseconds wait);

  const std::string& name() const override { return inner_->name(); }
  bool Accepts(std::string_view media_type) const override { return inner_->Accepts(media_type); }
  std::size_t max_batch() const override { return 1; }  // batches are made here
  std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) override;

  // Calls made to the wrapped classifier, and uploads they carried.
  std::int64_t calls() const;
  std::int64_t uploads() const;

 private:
  struct Batch;
  Result<Classification> ClassifyOne(const ClassifierInput& input);

  std::unique_ptr<Classifier> inner_;
  std::chrono::milliseconds wait_;
  mutable std::mutex mu_;
  std::shared_ptr<Batch> open_;  // the batch new uploads join; null: none gathering
  std::int64_t calls_ = 0, uploads_ = 0;
};

}  // namespace vigil::classify
