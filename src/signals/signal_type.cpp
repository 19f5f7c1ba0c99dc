// The signal-type table (built-in types, then registered plug-ins') and value validation.
#include "vigil/signal_type.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

#include "util/hex.h"

namespace vigil {
namespace {

constexpr std::size_t kBuiltIn = 5;
constexpr std::size_t kMaxPlugins = 16;
constexpr std::size_t kMaxPluginBytes = 4096;

// The table: built-in types first; plug-ins' appended under the mutex and published by `count`
// (a slot is written before the count that covers it, and never again).
struct Registry {
  std::array<SignalTypeInfo, kBuiltIn + kMaxPlugins> types{{
      {"pdq", 64, true, false, false, "", SignalListEncoding::kHex, ""},
      {"md5", 32, false, false, false, "", SignalListEncoding::kHex, ""},
      {"sha1", 40, false, false, false, "", SignalListEncoding::kHex, ""},
      {"sha256", 64, false, false, false, "", SignalListEncoding::kHex, ""},
      // A video's vPDQ frame list travels as the entry's payload; the value is its SHA-256
      // (VpdqIdentity), which keeps one identity per listed video and the value column small.
      {"vpdq", 64, true, true, false, "", SignalListEncoding::kHex, ""},
  }};
  // The plug-ins' names and fingerprint elements, which the views above point into.
  std::array<std::array<char, 33>, kMaxPlugins> names{};
  std::array<std::array<char, 33>, kMaxPlugins> fingerprints{};
  std::array<std::array<char, 33>, kMaxPlugins> threatexchange_types{};
  std::atomic<std::size_t> count{kBuiltIn};
  std::mutex mu;
};

Registry& Table() {
  static Registry* registry = new Registry;  // never destroyed: views into it live as long as the process
  return *registry;
}

bool ValidName(std::string_view name) {
  if (name.size() < 2 || name.size() > 32 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

Result<std::string> FromBase64(const SignalTypeInfo& info, std::string_view text) {
  const std::size_t bytes = info.hex_digits / 2;
  // Exactly the encoding of `bytes` bytes, padded: nothing shorter, longer or with other characters.
  const std::size_t expected = (bytes + 2) / 3 * 4;
  if (text.size() != expected) {
    return Fail(ErrorCode::kInvalidArgument, std::string(info.name) + " value must be " + std::to_string(expected) +
                                                 " characters of base64 (" + std::to_string(bytes) + " bytes) or " +
                                                 std::to_string(bytes * 2) + " hex digits, got " + std::to_string(text.size()));
  }
  const std::size_t padding = (3 - bytes % 3) % 3;  // exactly this many '=' end it
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool pad = i >= text.size() - padding;
    if (pad != (c == '=')) {
      return Fail(ErrorCode::kInvalidArgument, std::string(info.name) + " value is not the base64 of " + std::to_string(bytes) +
                                                   " bytes (its padding is wrong at position " + std::to_string(i + 1) + ")");
    }
    if (!pad && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/')) {
      return Fail(ErrorCode::kInvalidArgument, std::string(info.name) + " value has a character that is not base64 at position " +
                                                   std::to_string(i + 1));
    }
  }
  std::string decoded(expected / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return Fail(ErrorCode::kInvalidArgument, std::string(info.name) + " value is not valid base64");
  return util::HexEncode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(decoded.data()), bytes));
}

Result<std::string> FromDecimalBytes(const SignalTypeInfo& info, std::string_view text) {
  const std::size_t bytes = info.hex_digits / 2;
  std::string raw;
  raw.reserve(bytes);
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    std::string_view item = text.substr(at, comma - at);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty() || item.size() > 3) {
      return Fail(ErrorCode::kInvalidArgument, std::string(info.name) + " value: item " + std::to_string(raw.size() + 1) +
                                                   " is not a number 0-255");
    }
    unsigned v = 0;
    for (char c : item) {
      if (c < '0' || c > '9') {
        return Fail(ErrorCode::kInvalidArgument, std::string(info.name) + " value: item " + std::to_string(raw.size() + 1) +
                                                     " is not a number 0-255");
      }
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 255) {
      return Fail(ErrorCode::kInvalidArgument, std::string(info.name) + " value: item " + std::to_string(raw.size() + 1) +
                                                   " is " + std::to_string(v) + ", over 255");
    }
    if (raw.size() == bytes) break;  // one too many: reported below
    raw.push_back(static_cast<char>(v));
    at = comma + 1;
  }
  const std::size_t items = static_cast<std::size_t>(std::count(text.begin(), text.end(), ',')) + 1;
  if (items != bytes) {
    return Fail(ErrorCode::kInvalidArgument, std::string(info.name) + " value must be " + std::to_string(bytes) +
                                                 " comma-separated numbers, got " + std::to_string(items));
  }
  return util::HexEncode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
}

}  // namespace

std::span<const SignalTypeInfo> SignalTypes() {
  Registry& r = Table();
  return {r.types.data(), r.count.load(std::memory_order_acquire)};
}

const SignalTypeInfo* FindSignalType(std::string_view name) {
  for (const auto& info : SignalTypes()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

const SignalTypeInfo* FindSignalTypeByNcmecFingerprint(std::string_view element) {
  if (element.empty()) return nullptr;
  for (const auto& info : SignalTypes()) {
    if (info.plugin && EqualsIgnoringCase(info.ncmec_fingerprint, element)) return &info;
  }
  return nullptr;
}

const SignalTypeInfo* FindSignalTypeByThreatExchangeType(std::string_view type) {
  if (type.empty()) return nullptr;
  for (const auto& info : SignalTypes()) {
    if (info.plugin && info.threatexchange_type == type) return &info;
  }
  return nullptr;
}

Status CheckPluginListNames(const PluginSignalType& type) {
  bool fingerprint_ok = type.ncmec_fingerprint.size() <= 32;
  for (char c : type.ncmec_fingerprint) {
    fingerprint_ok = fingerprint_ok && ((Lower(c) >= 'a' && Lower(c) <= 'z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (!fingerprint_ok) {
    return Fail(ErrorCode::kInvalidArgument, "plug-in signal type '" + type.name +
                                                 "': its NCMEC fingerprint element must be 1-32 letters, digits or _");
  }
  const bool te_ok = type.threatexchange_type.size() <= 32 &&
                     std::all_of(type.threatexchange_type.begin(), type.threatexchange_type.end(),
                                 [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
  if (!te_ok) {
    return Fail(ErrorCode::kInvalidArgument, "plug-in signal type '" + type.name +
                                                 "': its ThreatExchange type must be 1-32 of A-Z, 0-9 and _");
  }
  // Vigil's own list names are not a plug-in's to take.
  for (std::string_view own : {"md5", "sha1", "pdq"}) {
    if (EqualsIgnoringCase(type.ncmec_fingerprint, own)) {
      return Fail(ErrorCode::kInvalidArgument, "plug-in signal type '" + type.name + "': NCMEC's '" + type.ncmec_fingerprint +
                                                   "' fingerprints are Vigil's own " + std::string(own) + " values");
    }
  }
  for (std::string_view own : {"HASH_PDQ", "HASH_MD5", "HASH_VIDEO_MD5"}) {
    if (type.threatexchange_type == own) {
      return Fail(ErrorCode::kInvalidArgument, "plug-in signal type '" + type.name + "': ThreatExchange's " +
                                                   type.threatexchange_type + " indicators are Vigil's own");
    }
  }
  return {};
}

Status RegisterPluginSignalType(const PluginSignalType& type) {
  if (!ValidName(type.name)) {
    return Fail(ErrorCode::kInvalidArgument, "a plug-in signal type's name must be 2-32 bytes of a-z, 0-9 and _, "
                                             "starting with a letter; got '" + type.name.substr(0, 40) + "'");
  }
  if (type.hash_bytes < 1 || type.hash_bytes > kMaxPluginBytes) {
    return Fail(ErrorCode::kInvalidArgument, "plug-in signal type '" + type.name + "': hash_bytes must be 1-" +
                                                 std::to_string(kMaxPluginBytes) + ", got " + std::to_string(type.hash_bytes));
  }
  VIGIL_TRY(CheckPluginListNames(type));
  Registry& r = Table();
  std::lock_guard lock(r.mu);
  const std::size_t count = r.count.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < count; ++i) {
    const SignalTypeInfo& existing = r.types[i];
    if (existing.name == type.name) {
      if (existing.plugin && existing.hex_digits == type.hash_bytes * 2 &&
          existing.ncmec_fingerprint == type.ncmec_fingerprint && existing.list_encoding == type.list_encoding &&
          existing.threatexchange_type == type.threatexchange_type) {
        return {};
      }
      return Fail(ErrorCode::kInvalidArgument, existing.plugin
                                                   ? "plug-in signal type '" + type.name + "' is already registered differently"
                                                   : "'" + type.name + "' is a built-in signal type: a plug-in cannot take its name");
    }
    if (existing.plugin && !type.ncmec_fingerprint.empty() &&
        EqualsIgnoringCase(existing.ncmec_fingerprint, type.ncmec_fingerprint)) {
      return Fail(ErrorCode::kInvalidArgument, "plug-in signal types '" + std::string(existing.name) + "' and '" + type.name +
                                                   "' both read NCMEC's '" + type.ncmec_fingerprint + "' fingerprints");
    }
    if (existing.plugin && !type.threatexchange_type.empty() && existing.threatexchange_type == type.threatexchange_type) {
      return Fail(ErrorCode::kInvalidArgument, "plug-in signal types '" + std::string(existing.name) + "' and '" + type.name +
                                                   "' both read ThreatExchange's " + type.threatexchange_type + " indicators");
    }
  }
  if (count == r.types.size()) {
    return Fail(ErrorCode::kInvalidArgument, "at most " + std::to_string(kMaxPlugins) + " plug-in signal types");
  }
  const std::size_t slot = count - kBuiltIn;
  std::memcpy(r.names[slot].data(), type.name.data(), type.name.size());
  std::memcpy(r.fingerprints[slot].data(), type.ncmec_fingerprint.data(), type.ncmec_fingerprint.size());
  std::memcpy(r.threatexchange_types[slot].data(), type.threatexchange_type.data(), type.threatexchange_type.size());
  r.types[count] = SignalTypeInfo{std::string_view(r.names[slot].data(), type.name.size()), type.hash_bytes * 2, true,
                                  false, true,
                                  std::string_view(r.fingerprints[slot].data(), type.ncmec_fingerprint.size()),
                                  type.list_encoding,
                                  std::string_view(r.threatexchange_types[slot].data(), type.threatexchange_type.size())};
  r.count.store(count + 1, std::memory_order_release);
  return {};
}

Result<std::string> NormalizeSignal(std::string_view type, std::string_view value) {
  const SignalTypeInfo* info = FindSignalType(type);
  if (info == nullptr) {
    std::string known;
    for (const auto& t : SignalTypes()) known += (known.empty() ? "" : ", ") + std::string(t.name);
    return Fail(ErrorCode::kInvalidArgument,
                "unknown signal type '" + std::string(type.substr(0, 40)) + "' (known: " + known +
                    "; a licensed-hash plug-in's type needs its plug-ins file: --hash-plugins or [hash_plugins] file)");
  }
  if (value.size() != info->hex_digits) {
    return Fail(ErrorCode::kInvalidArgument, std::string(info->name) + " value must be " +
                                                 std::to_string(info->hex_digits) + " hex digits, got " +
                                                 std::to_string(value.size()));
  }
  std::string out(value);
  for (std::size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    c = Lower(c);
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Fail(ErrorCode::kInvalidArgument, std::string(info->name) + " value has a non-hex character at position " +
                                                   std::to_string(i + 1));
    }
  }
  return out;
}

Result<std::string> NormalizeListSignal(std::string_view type, std::string_view value) {
  const SignalTypeInfo* info = FindSignalType(type);
  if (info == nullptr || !info->plugin || info->list_encoding == SignalListEncoding::kHex) {
    return NormalizeSignal(type, value);
  }
  // Hex, which Vigil's own exports write, is read too, and first: an export must read back as it
  // was written. (Padded base64 never looks like hex of the right length; decimal bytes can only
  // for a 1-byte value, which the plug-ins file refuses.)
  if (value.size() == info->hex_digits) {
    if (auto hex = NormalizeSignal(type, value)) return hex;
  }
  return info->list_encoding == SignalListEncoding::kBase64 ? FromBase64(*info, value) : FromDecimalBytes(*info, value);
}

}  // namespace vigil
