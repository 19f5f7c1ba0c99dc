// Signal types a bank entry or a lookup can carry, and their validation. A signal is an opaque
// string to the store; this is where each type's syntax is checked and normalised (lower-case
// hex), once, at the boundary where lists and requests come in.
//
//   auto value = vigil::NormalizeSignal("pdq", "F8F8...");   // "f8f8..." or an error
//
// Besides the built-in types, a process may register the signal types of licensed-hash plug-ins
// (vigil/hash_plugin.h; signals/hash_plugin_spec.h reads them from the operator's plug-ins file):
// a name and a fixed value length, stored as hex like the others, plus how lists write them.
//
// Thread safety: every function may be called from any thread. A registered type is never
// removed, so the pointers and views handed out stay valid for the process's life.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil {

// How a list writes a plug-in's values (hex is always accepted too).
enum class SignalListEncoding : std::uint8_t { kHex, kBase64, kDecimalBytes /* "12,0,255,..." */ };

struct SignalTypeInfo {
  std::string_view name;     // "pdq", "md5", "sha1", "sha256", "vpdq", or a plug-in's
  std::size_t hex_digits;    // exact length of the normalised value
  bool perceptual;           // matched by distance (true) or exactly (false)
  bool has_payload;          // the value identifies a payload that carries the signal (vpdq)
  bool plugin;               // a licensed-hash plug-in's type: hashed and matched in the sandbox
  std::string_view ncmec_fingerprint;  // the plug-in's fingerprint element in NCMEC's XML ("pdna"); "" none
  SignalListEncoding list_encoding;    // how lists write a plug-in's values
  std::string_view threatexchange_type;  // the plug-in's indicator type on ThreatExchange ("HASH_PHOTODNA"); "" none
};

// Every signal type this process understands: the built-in ones, then registered plug-ins'.
std::span<const SignalTypeInfo> SignalTypes();
const SignalTypeInfo* FindSignalType(std::string_view name);
// The plug-in type whose NCMEC fingerprint element is `element` (case-insensitive); null: none.
const SignalTypeInfo* FindSignalTypeByNcmecFingerprint(std::string_view element);
// The plug-in type whose ThreatExchange indicator type is `type` (exactly); null: none.
const SignalTypeInfo* FindSignalTypeByThreatExchangeType(std::string_view type);

// Registers a plug-in's signal type. Registering the same description again is a no-op; a name
// that is built in, malformed (2-32 bytes of [a-z0-9_], a letter first), already registered
// differently, or more than 16 plug-in types, is kInvalidArgument naming what was wrong.
struct PluginSignalType {
  std::string name;
  std::size_t hash_bytes = 0;  // 1..4096
  std::string ncmec_fingerprint;
  SignalListEncoding list_encoding = SignalListEncoding::kHex;
  std::string threatexchange_type;  // 1-32 of A-Z, 0-9, _
};
Status RegisterPluginSignalType(const PluginSignalType& type);
// The checks of its NCMEC fingerprint element and ThreatExchange type alone (their syntax, and not
// one of Vigil's own), which registration makes too.
Status CheckPluginListNames(const PluginSignalType& type);

// Validates `value` for `type` and returns it normalised. kInvalidArgument names what was wrong
// ("unknown signal type 'foo'", "pdq value must be 64 hex digits, got 63").
Result<std::string> NormalizeSignal(std::string_view type, std::string_view value);
// As NormalizeSignal, for a value as a list writes it: a plug-in's value in its list encoding
// (base64, decimal bytes) or hex; other types as NormalizeSignal.
Result<std::string> NormalizeListSignal(std::string_view type, std::string_view value);

}  // namespace vigil
