// A classifier's labels from its JSON answer (see label_json.h).
#include "classify/label_json.h"

#include <boost/json.hpp>
#include <cmath>

#include "util/strict_json.h"

namespace vigil::classify {
namespace {

constexpr std::size_t kMaxLabelBytes = 64;

Result<LabelScore> Label(std::string_view label, const boost::json::value& score) {
  if (label.empty() || label.size() > kMaxLabelBytes) {
    return Fail(ErrorCode::kCorrupt, "the answer has a label of " + std::to_string(label.size()) + " bytes (1-64 allowed)");
  }
  for (char ch : label) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return Fail(ErrorCode::kCorrupt, "the answer has a label with a control character");
  }
  if (!score.is_number()) return Fail(ErrorCode::kCorrupt, "the answer's score for '" + std::string(label) + "' is not a number");
  const double v = score.to_number<double>();
  if (!std::isfinite(v) || v < 0 || v > 1) {
    return Fail(ErrorCode::kCorrupt, "the answer's score for '" + std::string(label) + "' is " + std::to_string(v) + " (not within 0..1)");
  }
  return LabelScore{std::string(label), v};
}

// Labels from an object {label: score} or an array [{"label": .., "score": ..}].
}  // namespace

Result<std::vector<LabelScore>> LabelsFromNode(const boost::json::value& node) {
  std::vector<LabelScore> out;
  auto add = [&](Result<LabelScore> l) -> Status {
    if (!l) return tl::unexpected(l.error());
    if (out.size() == kMaxLabels) return Fail(ErrorCode::kCorrupt, "the answer has over " + std::to_string(kMaxLabels) + " labels");
    // One score per label (the object form cannot repeat a key either: strict JSON).
    for (const auto& seen : out) {
      if (seen.label == l->label) return Fail(ErrorCode::kCorrupt, "the answer scores '" + l->label + "' twice");
    }
    out.push_back(std::move(*l));
    return {};
  };
  if (const auto* o = node.if_object()) {
    for (const auto& [k, v] : *o) VIGIL_TRY(add(Label(k, v)));
    return out;
  }
  if (const auto* a = node.if_array()) {
    for (const auto& item : *a) {
      const auto* o = item.if_object();
      const auto* label = o != nullptr ? o->if_contains("label") : nullptr;
      const auto* score = o != nullptr ? o->if_contains("score") : nullptr;
      if (label == nullptr || !label->is_string() || score == nullptr) {
        return Fail(ErrorCode::kCorrupt, "the answer's labels are not all {\"label\": text, \"score\": number}");
      }
      VIGIL_TRY(add(Label(label->as_string(), *score)));
    }
    return out;
  }
  return Fail(ErrorCode::kCorrupt, "the answer's labels are neither an object of scores nor an array of {label, score}");
}


const boost::json::value* AtPointer(const boost::json::value& doc, const std::string& pointer) {
  if (pointer.empty()) return &doc;
  boost::system::error_code ec;
  const auto* found = doc.find_pointer(pointer, ec);
  return ec ? nullptr : found;
}

Result<std::vector<LabelScore>> LabelsFromJson(std::string_view json_text, const std::string& pointer) {
  auto doc = ParseStrictJson(json_text, 32);
  if (!doc) return Fail(ErrorCode::kCorrupt, doc.error().message);
  const auto* node = AtPointer(*doc, pointer);
  if (node == nullptr) return Fail(ErrorCode::kCorrupt, "nothing at " + pointer);
  return LabelsFromNode(*node);
}

}  // namespace vigil::classify
