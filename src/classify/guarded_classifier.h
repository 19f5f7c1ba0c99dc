// A classifier behind the limits an upload path needs from a service outside: a rate limit (a token
// bucket: the service's quota, e.g. Google's 200 requests/s), retries of failures that may pass
// (no connection, no complete answer, 5xx) with a backoff, and a circuit breaker: after
// `circuit_failures` failed calls in a row the classifier is not called for `circuit_open` (every
// upload meanwhile gets "circuit open" at once instead of waiting on a dead service); then one call
// tries it again (half-open), and a success closes the circuit. At most `max_in_flight` calls wait
// on the service at once: a slow service costs the uploads past that their scores, not the
// service's worker threads.
//
// What it never does: hold an upload up past its own limits, or fail it. A classification that
// cannot be had comes back as a Classification with `error` set; the upload is hashed, matched and
// recorded all the same.
//
//   GuardedClassifier guarded(std::move(adapter), limits, SystemClock());
//   Classification c = guarded.ClassifyOne(input);
//
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "vigil/classifier.h"
#include "vigil/clock.h"

namespace vigil::classify {

struct ClassifierLimits {
  int attempts = 2;                                // tries per call (1: no retry)
  std::chrono::milliseconds backoff{100};          // before a retry
  double rate_per_second = 0;                      // calls a second; 0: no limit
  int burst = 0;                                   // calls at once past the rate (0: one second's worth)
  int circuit_failures = 5;                        // failed calls in a row that open the circuit; 0: never
  std::chrono::milliseconds circuit_open{30'000};  // how long it stays open
  // Calls at once; more are not made (the upload is recorded unscored) so that a slow service
  // cannot hold every worker thread of the service. 0: no limit.
  int max_in_flight = 16;
};

// What a guarded classifier has done, for /metrics and GET /v1/classifiers.
struct ClassifierStats {
  std::int64_t calls = 0;         // calls made to the classifier (retries included)
  std::int64_t classified = 0;    // uploads that got scores
  std::int64_t failed = 0;        // uploads that got an error from the classifier (after any retries)
  std::int64_t skipped = 0;       // uploads not sent: circuit open, rate limited, or over its size
  std::int64_t circuit_opened = 0;
  std::string circuit = "closed";  // "closed", "open", "half_open"
};

class GuardedClassifier {
 public:
  // `sleep` waits before a retry (tests pass one that advances their clock).
  GuardedClassifier(std::unique_ptr<Classifier> inner, ClassifierLimits limits, const Clock& clock,
                    std::function<void(std::chrono::milliseconds)> sleep = {});

  const std::string& name() const { return inner_->name(); }
  bool Accepts(std::string_view media_type) const { return inner_->Accepts(media_type); }
  std::size_t max_batch() const { return inner_->max_batch(); }

  // One answer per input, in order; never an error: a failure is the answer's `error`.
  std::vector<Classification> Classify(std::span<const ClassifierInput> inputs);
  Classification ClassifyOne(const ClassifierInput& input) { return std::move(Classify(std::span(&input, 1)).front()); }

  ClassifierStats Stats() const;

 private:
  // Whether a call may go now: a token from the bucket and a circuit that lets it through. "" : yes;
  // else why not.
  std::string Admit();
  void Finished(bool ok);

  std::unique_ptr<Classifier> inner_;
  ClassifierLimits limits_;
  const Clock& clock_;
  std::function<void(std::chrono::milliseconds)> sleep_;
  mutable std::mutex mu_;
  double tokens_ = 0;
  std::int64_t refilled_at_ = 0;     // microseconds
  int failures_in_a_row_ = 0;
  std::int64_t open_until_ = 0;      // microseconds; 0: closed
  bool probing_ = false;             // half-open: one call is trying the service
  int in_flight_ = 0;
  ClassifierStats stats_;
  std::string model_, version_;  // a classifier that knows its model ahead (known_model.h): named in every answer
};

}  // namespace vigil::classify
