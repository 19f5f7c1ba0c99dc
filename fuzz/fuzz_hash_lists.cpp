// libFuzzer target for the hash-list parsers an operator's import feeds (csv, text, hma, ncmec
// XML, stopncii JSON, vpdq): the first byte picks the format, the rest is the list. A parse must
// return ops or an error, and every entry it adds must be one the store accepts (a signal type
// Vigil knows, a value in its normal form).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vigil/hash_list.h"
#include "vigil/signal_type.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto formats = vigil::HashListFormats();
  const std::string_view format = formats[data[0] % formats.size()];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  vigil::ListParseOptions options;
  options.source = "fuzz";
  options.max_entries = 10'000;
  options.signal_type = (data[0] / formats.size()) % 2 == 0 ? "pdq" : "md5";
  auto parsed = vigil::ParseHashList(format, text, options);
  if (!parsed) {
    if (parsed.error().message.empty()) __builtin_trap();  // every refusal says why
    return 0;
  }
  if (parsed->ops.size() > options.max_entries) __builtin_trap();
  for (const auto& op : parsed->ops) {
    if (op.kind != vigil::ImportOp::Kind::kAdd) continue;
    // An added entry is a known signal type with a value already in its normal form (vpdq's value
    // is the SHA-256 of its frames).
    if (vigil::FindSignalType(op.signal_type) == nullptr) __builtin_trap();
    if (op.signal_type == "vpdq") {
      if (op.value.size() != 64 || op.payload.empty()) __builtin_trap();
      continue;
    }
    auto normal = vigil::NormalizeSignal(op.signal_type, op.value);
    if (!normal || *normal != op.value) __builtin_trap();
  }
  return 0;
}
