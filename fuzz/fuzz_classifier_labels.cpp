// libFuzzer target for a classifier's answer (classify/label_json.h): strict JSON, a JSON pointer,
// labels and scores. Whatever the bytes, the result is an error or labels that keep the promises:
// at most 64, each 1-64 bytes without control characters, scores finite within 0..1.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "classify/label_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char* pointer : {"", "/scores", "/result/0/labels"}) {
    auto labels = vigil::classify::LabelsFromJson(text, pointer);
    if (!labels) continue;
    if (labels->size() > vigil::classify::kMaxLabels) __builtin_trap();
    for (const auto& l : *labels) {
      if (l.label.empty() || l.label.size() > 64) __builtin_trap();
      for (char c : l.label) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) __builtin_trap();
      }
      if (!std::isfinite(l.score) || l.score < 0 || l.score > 1) __builtin_trap();
    }
  }
  return 0;
}
