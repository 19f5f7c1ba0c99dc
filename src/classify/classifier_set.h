// The classifiers a service runs on every upload, from a classifiers file (TOML; `[classifiers]
// file` in the service's configuration):
//
//   [[classifier]]
//   name = "content-safety"             # unique; rules name it in `classifiers`
//   kind = "google-content-safety"      # or "safer-predict", "http-json"
//   key = "env:VIGIL_CONTENT_SAFETY_KEY"  # where the secret is: env:NAME or file:/path
//   media_types = ["image/*"]
//   timeout_ms = 2000                   # one request
//   attempts = 2                        # tries per upload (5xx, no answer)
//   rate_per_second = 200               # the service's quota; 0: none
//   circuit_failures = 5                # failures in a row that stop calls ...
//   circuit_open_seconds = 30           # ... for this long
//   batch_wait_ms = 10                  # google-content-safety: uploads arriving within this go in one call
//   # http-json only: url, request, scores, model, model_pointer, version, auth_header, auth_scheme
//
//   [[classifier]]
//   name = "own-model"
//   kind = "onnx"                       # a local model, run in the decoder sandbox
//   card = "models/own.card.toml"       # its model card (model_card.h), relative to this file
//   workers = 2                         # sandbox workers holding the model (default: up to 4)
//
// The file is untrusted input: unknown keys, wrong types and impossible values are refused with the
// file, line and classifier named, and nothing is loaded.
//
// Thread safety: ClassifyUpload and Stats may be called from many threads at once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "classify/guarded_classifier.h"
#include "classify/http_classifiers.h"
#include "classify/local_model_classifier.h"
#include "vigil/policy.h"

namespace vigil::classify {

struct ClassifierSpec {
  HttpClassifierConfig http;  // key: where the secret is ("env:NAME", "file:/path") until loaded
  ClassifierLimits limits;
  int line = 0;
  std::string card;                    // kind "onnx": the model card's path, as the file says
  int workers = 0;                     // kind "onnx": sandbox workers holding the model (0: the service's choice)
  std::chrono::milliseconds batch_wait{0};  // kinds that take batches: gather uploads for this long (0: one a call)
  std::shared_ptr<const LocalModel> local;  // kind "onnx": the card and model, once loaded
};

// Parses a classifiers file's text; `source` names it in errors.
Result<std::vector<ClassifierSpec>> ParseClassifiers(std::string_view text, const std::string& source);

class ClassifierSet {
 public:
  explicit ClassifierSet(std::vector<std::unique_ptr<GuardedClassifier>> classifiers)
      : classifiers_(std::move(classifiers)) {}

  // Reads the file, loads each key from where it says and each local model's card and file, and
  // makes the adapters; local models are started by `models` (none given: a local model in the
  // file is an error saying so).
  static Result<std::shared_ptr<ClassifierSet>> Load(const std::string& path, const Clock& clock, ModelHost models = {});
  // From specs whose keys and local models are loaded already (tests).
  static Result<std::shared_ptr<ClassifierSet>> Make(std::vector<ClassifierSpec> specs, const Clock& clock,
                                                     FetcherFactory fetcher = {}, ModelHost models = {});

  // Every classifier that takes the upload's media type, at once; one answer each, in the file's
  // order (an answer with `error` when it could not classify).
  std::vector<Classification> ClassifyUpload(const ClassifierInput& input) const;

  struct Status {
    std::string name;
    ClassifierStats stats;
  };
  std::vector<Status> Stats() const;
  bool empty() const { return classifiers_.empty(); }
  // The labels a classifier can answer, where they are known ahead (a local model's card names
  // them); nullopt for a service, whose labels are whatever it answers.
  std::optional<std::vector<std::string>> KnownLabels(const std::string& name) const;

 private:
  std::vector<std::unique_ptr<GuardedClassifier>> classifiers_;
  std::map<std::string, std::vector<std::string>> known_labels_;
};

// A rules file's rules on scores against the classifiers running (`set` may be null: none): a
// rule naming a classifier that is not configured, any rule on scores with none configured, or a
// label that none of the rule's classifiers can answer (where they all say their labels ahead: local
// models) is kInvalidArgument naming `source`, its line and the rule (a misspelt name would never
// fire).
Status CheckRulesNameClassifiers(const PolicyRules& rules, const ClassifierSet* set, const std::string& source);

}  // namespace vigil::classify
