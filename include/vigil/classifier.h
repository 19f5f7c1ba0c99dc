// Classifiers: detection of material no hash list holds yet, by a model the platform licenses or
// runs (a hosted service such as Google's Content Safety API or Thorn's Safer Predict, or a model
// server of its own). Vigil ships no model. A classifier takes an upload's bytes (or, for services
// that work from hashes, its hashes) and answers labels with scores in [0, 1], naming the model and
// its version. The policy may hold an upload for review on a score; a classifier alone never blocks
// for good, reports or acts on an account: a person confirms first (policy.h).
//
//   Classification c = ...;           // one classifier's answer for one upload
//   if (auto s = c.Score("csam"); s && *s >= 0.9) { ... }
//
// Thread safety: Classifier::Classify may be called from many threads at once (implementations
// guard their own state). The value types are plain data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

struct LabelScore {
  std::string label;
  double score = 0;  // 0..1
};

// One classifier's answer for one upload, as stored with the upload.
struct Classification {
  std::string classifier;  // the configured name ("content-safety", "own-model")
  std::string model;       // what the service or model card calls the model
  std::string version;     // its version, as the service answered ("" when it names none)
  std::vector<LabelScore> labels;
  // Why there are no scores ("" when there are): the service timed out, refused, was throttled,
  // its circuit is open, the media type is not one it takes... The upload is hashed, matched and
  // recorded all the same.
  std::string error;
  std::int64_t latency_ms = 0;
  bool ok() const { return error.empty(); }
  std::optional<double> Score(std::string_view label) const {
    for (const auto& l : labels) {
      if (l.label == label) return l.score;
    }
    return std::nullopt;
  }
};

// What a classifier is given for one upload.
struct ClassifierInput {
  std::string content_id;
  std::string media_type;               // as the decoder found it ("image/png")
  std::span<const std::uint8_t> bytes;  // the upload as sent
  std::map<std::string, std::string> hashes;  // signal type -> value (md5, sha256, pdq, ...)
};

class Classifier {
 public:
  virtual ~Classifier() = default;
  // The configured name (unique among the classifiers).
  virtual const std::string& name() const = 0;
  // Whether it takes this media type (images only, for most services).
  virtual bool Accepts(std::string_view media_type) const = 0;
  // How many uploads one call may carry (Google's API: 32).
  virtual std::size_t max_batch() const { return 1; }
  // One answer per input, in order; an error for an input that could not be classified (the whole
  // call failing fails every input). Errors say what went wrong without echoing secrets.
  virtual std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) = 0;
};

}  // namespace vigil
