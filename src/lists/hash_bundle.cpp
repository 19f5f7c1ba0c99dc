// Hash-sharing bundles: parsing and writing (see hash_bundle.h).
#include "lists/hash_bundle.h"

#include <boost/json.hpp>
#include <set>

#include "util/strict_json.h"

namespace vigil {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxText = 4096;         // any one text field
constexpr std::size_t kMaxPayloadField = 1 << 20;  // a vpdq entry's frames

tl::unexpected<Error> Bad(const std::string& where, const std::string& what) {
  return Fail(ErrorCode::kInvalidArgument, "bundle: " + where + ": " + what);
}

// Every key of `o` must be one of `allowed`.
Status OnlyKeys(const json::object& o, const std::set<std::string_view>& allowed, const std::string& where) {
  for (const auto& kv : o) {
    if (!allowed.count(kv.key())) return Bad(where, "unknown field '" + std::string(kv.key()) + "'");
  }
  return {};
}

Result<std::string> Text(const json::object& o, std::string_view key, const std::string& where, bool required,
                         std::size_t max = kMaxText) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    if (required) return Bad(where, "'" + std::string(key) + "' is missing");
    return std::string();
  }
  if (!v->is_string()) return Bad(where, "'" + std::string(key) + "' must be a string");
  if (v->as_string().size() > max) {
    return Bad(where, "'" + std::string(key) + "' is longer than " + std::to_string(max) + " bytes");
  }
  return std::string(v->as_string());
}

Result<std::int64_t> Count(const json::object& o, std::string_view key, const std::string& where, bool required) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    if (required) return Bad(where, "'" + std::string(key) + "' is missing");
    return 0;
  }
  if (v->is_int64() && v->as_int64() >= 0) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->as_uint64());
  }
  return Bad(where, "'" + std::string(key) + "' must be a whole number >= 0");
}

Result<const json::array*> Array(const json::object& o, std::string_view key, std::size_t max, const std::string& where) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return Bad(where, "'" + std::string(key) + "' is missing");
  if (!v->is_array()) return Bad(where, "'" + std::string(key) + "' must be an array");
  if (v->as_array().size() > max) {
    return Bad(where, "'" + std::string(key) + "' holds more than " + std::to_string(max) + " items");
  }
  return &v->as_array();
}

}  // namespace

Result<BundleEnvelope> ParseBundleEnvelope(std::string_view document, const BundleLimits& limits) {
  if (document.size() > limits.max_bytes) {
    return Bad("envelope", "the document is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  auto parsed = ParseStrictJson(document, 4);
  if (!parsed) return Bad("envelope", parsed.error().message);
  if (!parsed->is_object()) return Bad("envelope", "not a JSON object");
  const auto& o = parsed->as_object();
  VIGIL_TRY(OnlyKeys(o, {"vigil_bundle", "signer", "signature", "payload"}, "envelope"));
  const auto* version = o.if_contains("vigil_bundle");
  if (version == nullptr || !version->is_int64() || version->as_int64() != 1) {
    return Bad("envelope", "not a Vigil bundle of version 1 ('vigil_bundle': 1)");
  }
  BundleEnvelope e;
  VIGIL_ASSIGN_OR_RETURN(e.signer, Text(o, "signer", "envelope", true, 64));
  VIGIL_ASSIGN_OR_RETURN(e.signature, Text(o, "signature", "envelope", true, 128));
  VIGIL_ASSIGN_OR_RETURN(e.payload, Text(o, "payload", "envelope", true, limits.max_bytes));
  return e;
}

Result<HashBundle> ParseBundlePayload(std::string_view payload, const BundleLimits& limits) {
  auto parsed = ParseStrictJson(payload, 6);
  if (!parsed) return Bad("payload", parsed.error().message);
  if (!parsed->is_object()) return Bad("payload", "not a JSON object");
  const auto& o = parsed->as_object();
  VIGIL_TRY(OnlyKeys(o,
                     {"format", "version", "sharer", "bank", "category", "sequence", "kind", "since_import",
                      "through_import", "created_at", "entries", "removed"},
                     "payload"));
  VIGIL_ASSIGN_OR_RETURN(auto format, Text(o, "format", "payload", true));
  const auto* version = o.if_contains("version");
  if (format != "vigil-hash-bundle" || version == nullptr || !version->is_int64() || version->as_int64() != 1) {
    return Bad("payload", "not a vigil-hash-bundle of version 1");
  }
  HashBundle b;
  VIGIL_ASSIGN_OR_RETURN(b.sharer, Text(o, "sharer", "payload", true, 128));
  VIGIL_ASSIGN_OR_RETURN(b.bank, Text(o, "bank", "payload", true, 128));
  VIGIL_ASSIGN_OR_RETURN(b.category, Text(o, "category", "payload", false, 128));
  VIGIL_ASSIGN_OR_RETURN(b.sequence, Count(o, "sequence", "payload", true));
  if (b.sequence < 1) return Bad("payload", "'sequence' starts at 1");
  VIGIL_ASSIGN_OR_RETURN(auto kind, Text(o, "kind", "payload", true));
  if (kind != "full" && kind != "changes") return Bad("payload", "'kind' must be \"full\" or \"changes\"");
  b.full = kind == "full";
  VIGIL_ASSIGN_OR_RETURN(b.since_import, Count(o, "since_import", "payload", true));
  VIGIL_ASSIGN_OR_RETURN(b.through_import, Count(o, "through_import", "payload", true));
  if (b.through_import < b.since_import) return Bad("payload", "'through_import' is before 'since_import'");
  VIGIL_ASSIGN_OR_RETURN(b.created_at, Count(o, "created_at", "payload", true));
  VIGIL_ASSIGN_OR_RETURN(const json::array* entries, Array(o, "entries", limits.max_entries, "payload"));
  VIGIL_ASSIGN_OR_RETURN(const json::array* removed, Array(o, "removed", limits.max_entries, "payload"));
  if (b.full && !removed->empty()) return Bad("payload", "a full bundle lists no removals (what it lacks is removed)");
  b.entries.reserve(entries->size());
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const std::string where = "entries[" + std::to_string(i) + "]";
    if (!(*entries)[i].is_object()) return Bad(where, "not an object");
    const auto& e = (*entries)[i].as_object();
    VIGIL_TRY(OnlyKeys(e,
                       {"signal_type", "value", "payload", "source", "member", "external_id", "classification",
                        "confirmed", "rejected"},
                       where));
    BundleEntry entry;
    VIGIL_ASSIGN_OR_RETURN(entry.signal_type, Text(e, "signal_type", where, true, 32));
    VIGIL_ASSIGN_OR_RETURN(entry.value, Text(e, "value", where, true, 256));
    VIGIL_ASSIGN_OR_RETURN(entry.payload, Text(e, "payload", where, false, kMaxPayloadField));
    VIGIL_ASSIGN_OR_RETURN(entry.provenance.source, Text(e, "source", where, false));
    VIGIL_ASSIGN_OR_RETURN(entry.provenance.member, Text(e, "member", where, false));
    VIGIL_ASSIGN_OR_RETURN(entry.provenance.external_id, Text(e, "external_id", where, false));
    VIGIL_ASSIGN_OR_RETURN(entry.provenance.classification, Text(e, "classification", where, false));
    VIGIL_ASSIGN_OR_RETURN(entry.confirmed, Count(e, "confirmed", where, false));
    VIGIL_ASSIGN_OR_RETURN(entry.rejected, Count(e, "rejected", where, false));
    b.entries.push_back(std::move(entry));
  }
  for (std::size_t i = 0; i < removed->size(); ++i) {
    const std::string where = "removed[" + std::to_string(i) + "]";
    if (!(*removed)[i].is_object()) return Bad(where, "not an object");
    const auto& r = (*removed)[i].as_object();
    VIGIL_TRY(OnlyKeys(r, {"signal_type", "value"}, where));
    BundleRemoval removal;
    VIGIL_ASSIGN_OR_RETURN(removal.signal_type, Text(r, "signal_type", where, true, 32));
    VIGIL_ASSIGN_OR_RETURN(removal.value, Text(r, "value", where, true, 256));
    b.removed.push_back(std::move(removal));
  }
  return b;
}

std::string WriteBundlePayload(const HashBundle& b) {
  json::array entries;
  entries.reserve(b.entries.size());
  for (const auto& e : b.entries) {
    json::object o{{"signal_type", e.signal_type},
                   {"value", e.value},
                   {"source", e.provenance.source},
                   {"member", e.provenance.member},
                   {"external_id", e.provenance.external_id},
                   {"classification", e.provenance.classification},
                   {"confirmed", e.confirmed},
                   {"rejected", e.rejected}};
    if (!e.payload.empty()) o["payload"] = e.payload;
    entries.push_back(std::move(o));
  }
  json::array removed;
  for (const auto& r : b.removed) removed.push_back(json::object{{"signal_type", r.signal_type}, {"value", r.value}});
  const json::object payload{{"format", "vigil-hash-bundle"},
                             {"version", 1},
                             {"sharer", b.sharer},
                             {"bank", b.bank},
                             {"category", b.category},
                             {"sequence", b.sequence},
                             {"kind", b.full ? "full" : "changes"},
                             {"since_import", b.since_import},
                             {"through_import", b.through_import},
                             {"created_at", b.created_at},
                             {"entries", std::move(entries)},
                             {"removed", std::move(removed)}};
  return json::serialize(payload);
}

std::string WriteBundleEnvelope(const BundleEnvelope& e) {
  const json::object o{{"vigil_bundle", 1}, {"signer", e.signer}, {"signature", e.signature}, {"payload", e.payload}};
  return json::serialize(o) + "\n";
}

}  // namespace vigil
