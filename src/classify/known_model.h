// A classifier that knows its model ahead of any answer (a local model: its card names it). The
// guard (guarded_classifier.h) names that model and version in answers that carry an error too,
// so a failed score still says which model failed.
//
// Thread safety: both accessors are const and return what was fixed at construction.
#pragma once

#include <string>

namespace vigil::classify {

class KnownModel {
 public:
  virtual ~KnownModel() = default;
  virtual const std::string& model_name() const = 0;
  virtual const std::string& model_version() const = 0;
};

}  // namespace vigil::classify
