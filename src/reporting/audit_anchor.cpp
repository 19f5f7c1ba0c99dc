// Signed audit-log anchors (see audit_anchor.h).
#include "vigil/audit_anchor.h"

#include <boost/json.hpp>
#include <optional>

#include "util/line_reader.h"
#include "reporting/ed25519.h"
#include "reporting/sodium_hex.h"
#include "vigil/cases.h"
#include "vigil/cybertip.h"
#include "vigil/reports.h"

namespace vigil {
namespace {

namespace json = boost::json;

constexpr std::string_view kFormat = "vigil-audit-anchor-v1";
constexpr std::size_t kMaxLine = 4096;

bool IsHex(std::string_view s, std::size_t size) {
  if (s.size() != size) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Short(const std::string& hash) { return hash.substr(0, 16) + "..."; }

}  // namespace

std::string AuditAnchorMessage(const AuditAnchor& anchor) {
  std::string message(kFormat);
  message += '\n' + std::to_string(anchor.record_id) + '\n' + anchor.hash + '\n' +
             std::to_string(anchor.at) + '\n';
  return message;
}

std::string AuditAnchorJson(const AuditAnchor& anchor) {
  return json::serialize(json::object{{"anchor", kFormat},
                                      {"record_id", anchor.record_id},
                                      {"hash", anchor.hash},
                                      {"at", anchor.at},
                                      {"at_utc", IsoDateTime(anchor.at)},
                                      {"public_key", anchor.public_key},
                                      {"signature", anchor.signature}});
}

Result<AuditAnchor> ParseAuditAnchor(std::string_view line) {
  auto bad = [](const std::string& why) {
    return Fail(ErrorCode::kInvalidArgument, "not an audit anchor: " + why);
  };
  if (line.size() > kMaxLine) return bad("longer than " + std::to_string(kMaxLine) + " bytes");
  json::parse_options options;
  options.max_depth = 2;
  boost::system::error_code ec;
  const json::value value = json::parse(line, ec, {}, options);
  if (ec || !value.is_object()) return bad("not a JSON object");
  const json::object& o = value.as_object();
  auto text = [&](const char* key) -> const json::string* {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? &v->as_string() : nullptr;
  };
  auto number = [&](const char* key) -> std::optional<std::int64_t> {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_int64()) return std::nullopt;
    return v->as_int64();
  };
  const json::string* format = text("anchor");
  if (format == nullptr || *format != kFormat)
    return bad("\"anchor\" is not \"" + std::string(kFormat) + "\"");
  const auto record_id = number("record_id");
  const auto at = number("at");
  const json::string* hash = text("hash");
  const json::string* public_key = text("public_key");
  const json::string* signature = text("signature");
  if (!record_id || *record_id <= 0) return bad("no positive \"record_id\"");
  if (!at || *at <= 0) return bad("no positive \"at\"");
  if (hash == nullptr || !IsHex(*hash, 64)) return bad("\"hash\" is not 64 lower-case hex digits");
  if (public_key == nullptr || !IsHex(*public_key, 64))
    return bad("\"public_key\" is not 64 lower-case hex digits");
  if (signature == nullptr || !IsHex(*signature, 128))
    return bad("\"signature\" is not 128 lower-case hex digits");
  return AuditAnchor{*record_id, std::string(*hash), *at, std::string(*public_key),
                     std::string(*signature)};
}

Result<AuditAnchor> MakeAuditAnchor(Store& store, const std::string& signing_seed_hex,
                                    std::int64_t now_micros) {
  VIGIL_ASSIGN_OR_RETURN(auto public_key, reporting::Ed25519PublicKey(signing_seed_hex));
  std::int64_t records = 0;
  VIGIL_ASSIGN_OR_RETURN(auto problems, store.Cases().VerifyAudit(&records));
  if (!problems.empty()) {
    return Fail(ErrorCode::kCorrupt, "the audit chain does not verify (" + problems.front() +
                                         "): not anchoring it; see `vigil audit verify`");
  }
  auto last = store.Reports().AuditChainRecord(0);
  if (!last) {
    if (last.error().code == ErrorCode::kNotFound)
      return Fail(ErrorCode::kNotFound, "the audit log is empty: nothing to anchor");
    return tl::unexpected(last.error());
  }
  AuditAnchor anchor{last->id, last->hash, now_micros, public_key, {}};
  auto signature = reporting::Ed25519Sign(signing_seed_hex, AuditAnchorMessage(anchor));
  if (!signature) return tl::unexpected(signature.error());
  anchor.signature = std::move(*signature);
  return anchor;
}

Result<AnchorCheck> CheckAuditAnchors(Store& store, std::string_view text,
                                      const std::string& public_key) {
  // The operator's key, checked and in the lower-case form anchors are written in (an upper-case
  // or mistyped key must not read as "signed by another key" on every line).
  VIGIL_ASSIGN_OR_RETURN(auto key_bytes, reporting::Unhex(public_key, 32, "the public key"));
  const std::string public_key_hex =
      reporting::Hex(reinterpret_cast<const unsigned char*>(key_bytes.data()), key_bytes.size());
  AnchorCheck check;
  auto chain = store.Cases().VerifyAudit(&check.records);
  if (!chain) return tl::unexpected(chain.error());
  LineReader reader(text);  // skips blank lines (and '#' comments an operator may add)
  std::string_view line;
  while (reader.Next(line)) {
    const std::string where = "anchor line " + std::to_string(reader.number());
    auto anchor = ParseAuditAnchor(line);
    if (!anchor) {
      check.problems.push_back(where + ": " + anchor.error().message);
      continue;
    }
    ++check.anchors;
    const std::string when = where + " (" + IsoDateTime(anchor->at) + ", record " +
                             std::to_string(anchor->record_id) + ")";
    if (anchor->public_key != public_key_hex) {
      check.problems.push_back(when + ": signed by another key (" + anchor->public_key + ")");
      continue;
    }
    auto valid =
        reporting::Ed25519Verify(public_key_hex, AuditAnchorMessage(*anchor), anchor->signature);
    if (!valid) return tl::unexpected(valid.error());
    if (!*valid) {
      check.problems.push_back(when + ": the signature does not verify (the line was altered)");
      continue;
    }
    auto record = store.Reports().AuditChainRecord(anchor->record_id);
    if (!record) {
      if (record.error().code != ErrorCode::kNotFound) return tl::unexpected(record.error());
      check.problems.push_back(
          when + ": the record is gone: the log was cut or rewritten after this anchor");
      continue;
    }
    if (record->hash != anchor->hash) {
      check.problems.push_back(when + ": the record's hash is " + Short(record->hash) +
                               ", anchored " + Short(anchor->hash) +
                               ": the log was rewritten after this anchor");
    }
  }
  // An emptied anchor file must not read as "every anchor holds".
  if (check.anchors == 0) check.problems.push_back("no anchor in the file");
  for (const auto& problem : *chain) check.problems.push_back("chain: " + problem);
  return check;
}

}  // namespace vigil
