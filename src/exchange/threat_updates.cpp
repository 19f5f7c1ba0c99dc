// ThreatExchange's threat_updates answers (one page) as import ops: a JSON object with a "data"
// list and an optional "paging.next" link. Every value is checked for its type and each indicator
// normalised for its signal type; an answer that fails any check is refused whole. Apart from the
// client (threatexchange_exchange.cpp) so a fuzzer can reach it.
#include <algorithm>
#include <boost/json.hpp>

#include "exchange/client_kinds.h"
#include "vigil/signal_type.h"

namespace vigil::exchange {

Result<std::string> ParseThreatUpdates(std::string_view body, const std::string& source, std::size_t max_records,
                                     std::uint64_t max_bytes, SyncPage& page) {
  auto fail = [](const std::string& what) { return Fail(ErrorCode::kCorrupt, "ThreatExchange's answer was refused: " + what); };
  if (body.size() > max_bytes) return fail("larger than the limit");
  boost::json::parse_options options;
  options.max_depth = 16;
  boost::system::error_code ec;
  const auto document = boost::json::parse(body, ec, {}, options);
  if (ec) return fail("malformed JSON: " + ec.message());
  if (!document.is_object()) return fail("not a JSON object");
  const auto& root = document.as_object();
  const auto* data = root.if_contains("data");
  if (data == nullptr || !data->is_array()) return fail("no \"data\" list");
  if (data->as_array().size() > max_records) {
    return Fail(ErrorCode::kTooLarge, "ThreatExchange's answer holds more than " +
                                          std::to_string(max_records) + " records");
  }
  struct Item {
    std::int64_t updated;
    ImportOp op;
  };
  std::vector<Item> items;
  std::int64_t record = 0;
  for (const auto& value : data->as_array()) {
    ++record;
    const std::string where = "record " + std::to_string(record) + ": ";
    if (!value.is_object()) return fail(where + "not an object");
    const auto& r = value.as_object();
    auto text = [&](const char* key) -> Result<std::string> {
      const auto* v = r.if_contains(key);
      if (v == nullptr) return std::string();
      if (!v->is_string()) return fail(where + key + " is not a string");
      return std::string(v->as_string());
    };
    VIGIL_ASSIGN_OR_RETURN(auto type, text("type"));
    VIGIL_ASSIGN_OR_RETURN(auto indicator, text("indicator"));
    VIGIL_ASSIGN_OR_RETURN(auto id, text("id"));
    std::int64_t updated = 0;
    if (const auto* v = r.if_contains("last_updated"); v != nullptr) {
      if (v->is_int64()) updated = v->as_int64();
      else if (v->is_string()) updated = std::atoll(v->as_string().c_str());
      else return fail(where + "last_updated is not a time");
    }
    bool deleted = false;
    if (const auto* v = r.if_contains("should_delete"); v != nullptr) {
      if (!v->is_bool()) return fail(where + "should_delete is not true or false");
      deleted = v->as_bool();
    }
    Provenance provenance{source, "", "", ""};
    const auto* descriptors = r.if_contains("descriptors");
    if (descriptors == nullptr) {
      deleted = true;  // no opinion left on the indicator (python-threatexchange #834)
    } else {
      const auto* list = descriptors->is_object() ? descriptors->as_object().if_contains("data") : nullptr;
      if (list == nullptr || !list->is_array()) return fail(where + "descriptors has no data list");
      if (list->as_array().empty()) deleted = true;
      for (const auto& d : list->as_array()) {
        if (!d.is_object()) return fail(where + "a descriptor is not an object");
        const auto* did = d.as_object().if_contains("id");
        if (did != nullptr && did->is_string() && provenance.external_id.empty()) provenance.external_id = did->as_string();
        if (const auto* owner = d.as_object().if_contains("owner"); owner != nullptr && owner->is_object()) {
          if (const auto* oid = owner->as_object().if_contains("id"); oid != nullptr && oid->is_string() && provenance.member.empty()) {
            provenance.member = oid->as_string();
          }
        }
        if (const auto* status = d.as_object().if_contains("status"); status != nullptr && status->is_string() &&
                                                                      provenance.classification.empty()) {
          provenance.classification = status->as_string();
        }
      }
    }
    if (provenance.external_id.empty()) provenance.external_id = id;
    ++page.fetched;
    // In microseconds only when that fits (a time past the year 5138 would overflow: left out, as
    // listed_at leaves it out below; found by fuzz_threat_updates under UBSan).
    if (updated > 0 && updated < 100'000'000'000 && (!page.newest_at || *page.newest_at < updated * 1'000'000)) {
      page.newest_at = updated * 1'000'000;
    }
    std::string signal;
    if (type == "HASH_PDQ") signal = "pdq";
    else if (type == "HASH_MD5" || type == "HASH_VIDEO_MD5") signal = "md5";
    else if (type.empty()) return fail(where + "no type");
    else if (const SignalTypeInfo* plugin = FindSignalTypeByThreatExchangeType(type)) signal = std::string(plugin->name);
    else {
      ++page.skipped;
      continue;
    }
    if (provenance.external_id.size() > 256 || provenance.member.size() > 256 || provenance.classification.size() > 256) {
      return fail(where + "an id, owner or status longer than 256 bytes");
    }
    ImportOp op;
    op.kind = deleted ? ImportOp::Kind::kRemove : ImportOp::Kind::kAdd;
    op.signal_type = signal;
    op.value = indicator;
    op.provenance = provenance;
    op.line = record;
    if (updated > 0 && updated < 100'000'000'000) op.listed_at = updated * 1'000'000;
    auto normalized = NormalizeListSignal(signal, indicator);  // a plug-in's in its list encoding
    if (!normalized) return fail(where + "indicator: " + normalized.error().message);
    op.value = *normalized;
    for (const auto* field : {&provenance.external_id, &provenance.member, &provenance.classification}) {
      if (!std::all_of(field->begin(), field->end(), [](char c) { return c > ' ' && c < 0x7f; })) {
        return fail(where + "an id, owner or status holds other than printable ASCII");
      }
    }
    items.push_back({updated, std::move(op)});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.updated < b.updated; });
  for (auto& item : items) page.ops.push_back(std::move(item.op));
  std::string next;
  if (const auto* paging = root.if_contains("paging"); paging != nullptr && paging->is_object()) {
    if (const auto* link = paging->as_object().if_contains("next"); link != nullptr) {
      if (!link->is_string()) return fail("paging.next is not a link");
      next = link->as_string();
    }
  }
  return next;
}

}  // namespace vigil::exchange
