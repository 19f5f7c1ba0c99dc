// libFuzzer target for what Vigil reads about licensed-hash plug-ins: the operator's plug-ins file
// (signals/hash_plugin_spec.h; TOML) and a plug-in's values as lists write them (base64, decimal
// bytes, hex: vigil/signal_type.h NormalizeListSignal). The first byte chooses which. Whatever the
// bytes: a file parses into specs that keep their promises or is refused; a value is refused or
// comes back as lower-case hex of exactly the type's length, which NormalizeSignal takes unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "signals/hash_plugin_spec.h"
#include "vigil/signal_type.h"

namespace {

void CheckFile(std::string_view text) {
  auto parsed = vigil::ParseHashPluginsFile(text, "plugins.toml", "/opt/plugins");
  if (!parsed) return;
  if (parsed->plugins.empty() || parsed->plugins.size() > 16 || parsed->workers < 1 || parsed->workers > 64) __builtin_trap();
  for (const auto& spec : parsed->plugins) {
    if (spec.hash_bytes < 1 || spec.hash_bytes > 4096 || !spec.path.is_absolute() || spec.signal.empty()) __builtin_trap();
    if (!spec.sha256.empty() && spec.sha256.size() != 64) __builtin_trap();
  }
}

void CheckValue(std::uint8_t which, std::string_view text) {
  static const bool registered = [] {
    bool ok = static_cast<bool>(vigil::RegisterPluginSignalType({"fuzz_b64", 9, "", vigil::SignalListEncoding::kBase64, ""}));
    ok = ok && vigil::RegisterPluginSignalType({"fuzz_dec", 5, "", vigil::SignalListEncoding::kDecimalBytes, ""});
    ok = ok && vigil::RegisterPluginSignalType({"fuzz_hex", 3, "", vigil::SignalListEncoding::kHex, ""});
    return ok;
  }();
  if (!registered) __builtin_trap();
  static constexpr const char* kTypes[] = {"fuzz_b64", "fuzz_dec", "fuzz_hex"};
  static constexpr std::size_t kBytes[] = {9, 5, 3};
  const std::size_t t = which % 3;
  auto value = vigil::NormalizeListSignal(kTypes[t], text);
  if (!value) return;
  if (value->size() != kBytes[t] * 2) __builtin_trap();
  if (!std::all_of(value->begin(), value->end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    __builtin_trap();
  }
  auto again = vigil::NormalizeSignal(kTypes[t], *value);
  if (!again || *again != *value) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 0x80) {
    CheckFile(rest);
  } else {
    CheckValue(data[0], rest);
  }
  return 0;
}
