// A classifier behind a rate limit, retries and a circuit breaker (see the header).
#include "classify/guarded_classifier.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "classify/known_model.h"

namespace vigil::classify {
namespace {

// Failures a second try may cure: no connection, no complete answer, a 5xx, a deadline.
bool Retryable(const Error& e) {
  return e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kIoError || e.code == ErrorCode::kDeadlineExceeded;
}

}  // namespace

GuardedClassifier::GuardedClassifier(std::unique_ptr<Classifier> inner, ClassifierLimits limits, const Clock& clock,
                                     std::function<void(std::chrono::milliseconds)> sleep)
    : inner_(std::move(inner)), limits_(limits), clock_(clock), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (const auto* known = dynamic_cast<const KnownModel*>(inner_.get())) {
    model_ = known->model_name();
    version_ = known->model_version();
  }
  limits_.attempts = std::max(1, limits_.attempts);
  if (limits_.rate_per_second > 0 && limits_.burst <= 0) limits_.burst = std::max(1, static_cast<int>(limits_.rate_per_second));
  tokens_ = limits_.burst;
  refilled_at_ = clock_.NowMicros();
}

std::string GuardedClassifier::Admit() {
  std::lock_guard lock(mu_);
  const std::int64_t now = clock_.NowMicros();
  if (open_until_ != 0) {
    if (now < open_until_) {
      return "circuit open after " + std::to_string(limits_.circuit_failures) +
             " failed calls in a row: not called for " + std::to_string((open_until_ - now + 999'999) / 1'000'000) + " s more";
    }
    if (probing_) {
      return "circuit half-open: another call is trying the service";
    }
  }
  if (limits_.max_in_flight > 0 && in_flight_ >= limits_.max_in_flight) {
    return std::to_string(in_flight_) + " calls in flight already (max_in_flight): a slow service does not hold up "
           "every upload";
  }
  if (limits_.rate_per_second > 0) {
    tokens_ = std::min<double>(limits_.burst, tokens_ + static_cast<double>(now - refilled_at_) / 1e6 * limits_.rate_per_second);
    refilled_at_ = now;
    if (tokens_ < 1) {
      char rate[32];
      std::snprintf(rate, sizeof rate, "%g", limits_.rate_per_second);
      return std::string("rate limit of ") + rate + " calls a second reached";
    }
    tokens_ -= 1;
  }
  if (open_until_ != 0) probing_ = true;  // past the open time: this call is the probe
  ++in_flight_;
  return {};
}

void GuardedClassifier::Finished(bool ok) {
  std::lock_guard lock(mu_);
  probing_ = false;
  --in_flight_;
  if (ok) {
    failures_in_a_row_ = 0;
    open_until_ = 0;
    return;
  }
  ++failures_in_a_row_;
  // A failed probe opens the circuit again at once; otherwise after enough failures in a row.
  if (limits_.circuit_failures > 0 && (open_until_ != 0 || failures_in_a_row_ >= limits_.circuit_failures)) {
    if (open_until_ == 0 || clock_.NowMicros() >= open_until_) ++stats_.circuit_opened;
    open_until_ = clock_.NowMicros() + std::chrono::duration_cast<std::chrono::microseconds>(limits_.circuit_open).count();
  }
}

std::vector<Classification> GuardedClassifier::Classify(std::span<const ClassifierInput> inputs) {
  std::vector<Classification> out(inputs.size());
  for (auto& c : out) {
    c.classifier = inner_->name();
    c.model = model_;  // an answer replaces them with its own; an error keeps them
    c.version = version_;
  }
  if (inputs.empty()) return out;
  const std::int64_t started = clock_.NowMicros();
  auto elapsed_ms = [&] { return (clock_.NowMicros() - started) / 1000; };
  std::vector<Result<Classification>> answers;
  std::string refused;
  for (int attempt = 1; attempt <= limits_.attempts; ++attempt) {
    if (attempt > 1) sleep_(limits_.backoff * (1 << std::min(attempt - 2, 6)));
    refused = Admit();
    if (!refused.empty()) break;
    {
      std::lock_guard lock(mu_);
      ++stats_.calls;
    }
    answers = inner_->Classify(inputs);
    if (answers.size() != inputs.size()) {
      answers.assign(inputs.size(), Fail(ErrorCode::kCorrupt, "the classifier answered " + std::to_string(answers.size()) +
                                                                   " results for " + std::to_string(inputs.size()) + " uploads"));
    }
    // A call failed when no upload got scores and one failed as a retry may cure.
    const bool any_ok = std::any_of(answers.begin(), answers.end(), [](const auto& a) { return a.has_value(); });
    const bool retry = !any_ok && std::any_of(answers.begin(), answers.end(), [](const auto& a) { return !a && Retryable(a.error()); });
    Finished(any_ok || !retry);
    if (!retry) break;
  }
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto& c = out[i];
    if (answers.empty()) {  // never called: refused at once
      c.error = "not classified: " + refused;
      ++stats_.skipped;
      continue;
    }
    if (answers[i]) {
      const std::string name = c.classifier;
      c = std::move(*answers[i]);
      c.classifier = name;
      ++stats_.classified;
    } else {
      c.error = answers[i].error().ToString();
      // Not sent (over the size the classifier takes) is not the classifier failing.
      ++(answers[i].error().code == ErrorCode::kTooLarge ? stats_.skipped : stats_.failed);
    }
  }
  for (auto& c : out) c.latency_ms = elapsed_ms();
  return out;
}

ClassifierStats GuardedClassifier::Stats() const {
  std::lock_guard lock(mu_);
  ClassifierStats s = stats_;
  const std::int64_t now = clock_.NowMicros();
  s.circuit = open_until_ == 0 ? "closed" : (now < open_until_ && !probing_ ? "open" : "half_open");
  return s;
}

}  // namespace vigil::classify
