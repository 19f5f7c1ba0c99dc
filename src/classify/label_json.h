// A classifier's labels read from its JSON answer: an object {label: score} or an array of
// {"label": text, "score": number}. The answer is hostile until checked: scores finite numbers
// within 0..1, at most 64 labels of 1-64 bytes without control characters. No network here, so the
// fuzz preset builds it (fuzz/fuzz_classifier_labels.cpp).
//
// Thread safety: pure functions.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/classifier.h"

namespace vigil::classify {

inline constexpr std::size_t kMaxLabels = 64;

// kCorrupt naming what is wrong.
Result<std::vector<LabelScore>> LabelsFromNode(const boost::json::value& node);
// The answer parsed strictly (util/strict_json.h), then the labels at the JSON pointer `pointer`
// ("" : the whole answer).
Result<std::vector<LabelScore>> LabelsFromJson(std::string_view json_text, const std::string& pointer);
// The value at `pointer` ("" : the document), or null.
const boost::json::value* AtPointer(const boost::json::value& doc, const std::string& pointer);

}  // namespace vigil::classify
