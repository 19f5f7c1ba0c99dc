// The signal-type table and value validation.
#include "vigil/signal_type.h"

#include <array>

namespace vigil {
namespace {

constexpr std::array<SignalTypeInfo, 5> kTypes = {{
    {"pdq", 64, true, false},
    {"md5", 32, false, false},
    {"sha1", 40, false, false},
    {"sha256", 64, false, false},
    // A video's vPDQ frame list travels as the entry's payload; the value is its SHA-256
    // (VpdqIdentity), which keeps one identity per listed video and the value column small.
    {"vpdq", 64, true, true},
}};

}  // namespace

std::span<const SignalTypeInfo> SignalTypes() { return kTypes; }

const SignalTypeInfo* FindSignalType(std::string_view name) {
  for (const auto& info : kTypes) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

Result<std::string> NormalizeSignal(std::string_view type, std::string_view value) {
  const SignalTypeInfo* info = FindSignalType(type);
  if (info == nullptr) {
    std::string known;
    for (const auto& t : kTypes) known += (known.empty() ? "" : ", ") + std::string(t.name);
    return Fail(ErrorCode::kInvalidArgument,
                "unknown signal type '" + std::string(type.substr(0, 40)) + "' (known: " + known + ")");
  }
  if (value.size() != info->hex_digits) {
    return Fail(ErrorCode::kInvalidArgument, std::string(info->name) + " value must be " +
                                                 std::to_string(info->hex_digits) + " hex digits, got " +
                                                 std::to_string(value.size()));
  }
  std::string out(value);
  for (std::size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Fail(ErrorCode::kInvalidArgument, std::string(info->name) + " value has a non-hex character at position " +
                                                   std::to_string(i + 1));
    }
  }
  return out;
}

}  // namespace vigil
