// Signal types a bank entry or a lookup can carry, and their validation. A signal is an opaque
// string to the store; this is where each type's syntax is checked and normalised (lower-case
// hex), once, at the boundary where lists and requests come in.
//
//   auto value = vigil::NormalizeSignal("pdq", "F8F8...");   // "f8f8..." or an error
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil {

struct SignalTypeInfo {
  std::string_view name;     // "pdq", "md5", "sha1", "sha256", "vpdq"
  std::size_t hex_digits;    // exact length of the normalised value
  bool perceptual;           // matched by distance (true) or exactly (false)
  bool has_payload;          // the value identifies a payload that carries the signal (vpdq)
};

// Every signal type this build understands.
std::span<const SignalTypeInfo> SignalTypes();
const SignalTypeInfo* FindSignalType(std::string_view name);

// Validates `value` for `type` and returns it normalised. kInvalidArgument names what was wrong
// ("unknown signal type 'foo'", "pdq value must be 64 hex digits, got 63").
Result<std::string> NormalizeSignal(std::string_view type, std::string_view value);

}  // namespace vigil
