// StopNCII FetchHashes responses (JSON) as import ops. Records apply oldest first by
// lastModtimestamp; a later record for the same hash replaces an earlier one, and Withdrawn or
// Deleted records remove the hash. ImagePDQ maps to pdq and VideoMD5 to md5; other signal types
// (TMK, text, URL) are counted and skipped. nextSetTimestamp becomes the sync checkpoint.
#include <algorithm>
#include <boost/json.hpp>

#include "lists/list_formats.h"

namespace vigil::lists {

Result<ParsedList> ParseStopNciiJson(std::string_view data, const ListParseOptions& options) {
  boost::json::parse_options parse_options;
  parse_options.max_depth = 16;
  boost::system::error_code ec;
  const auto document = boost::json::parse(data, ec, {}, parse_options);
  auto fail = [&](const std::string& what) {
    return Fail(ErrorCode::kInvalidArgument, options.source + ": " + what);
  };
  if (ec) return fail("malformed JSON: " + ec.message());
  const boost::json::array* records = nullptr;
  ParsedList list;
  if (document.is_array()) {
    records = &document.as_array();
  } else if (document.is_object()) {
    const auto& object = document.as_object();
    if (const auto* found = object.if_contains("hashRecords"); found != nullptr && found->is_array()) {
      records = &found->as_array();
    }
    if (const auto* next = object.if_contains("nextSetTimestamp"); next != nullptr && next->is_int64()) {
      list.checkpoint = std::to_string(next->as_int64());
    }
    if (const auto* token = object.if_contains("nextPageToken"); token != nullptr && token->is_string()) {
      list.next_page = std::string(token->as_string());
    }
    if (const auto* more = object.if_contains("hasMoreRecords"); more != nullptr) {
      if (!more->is_bool()) return fail("hasMoreRecords is not true or false");
      list.more = more->as_bool();
    }
  }
  if (records == nullptr) return fail("expected {\"hashRecords\": [...]} or an array of hash records");
  if (records->size() > options.max_entries) {
    return Fail(ErrorCode::kTooLarge, options.source + ": more than " + std::to_string(options.max_entries) + " records");
  }

  struct Item {
    std::size_t index;
    std::int64_t modified;
  };
  std::vector<Item> order;
  for (std::size_t i = 0; i < records->size(); ++i) {
    const auto& value = (*records)[i];
    if (!value.is_object()) return fail("record " + std::to_string(i + 1) + " is not an object");
    const auto* modified = value.as_object().if_contains("lastModtimestamp");
    if (modified != nullptr && !modified->is_int64() && !modified->is_null()) {
      return fail("record " + std::to_string(i + 1) + ": lastModtimestamp is not an integer");
    }
    order.push_back({i, modified != nullptr && modified->is_int64() ? modified->as_int64() : 0});
  }
  std::stable_sort(order.begin(), order.end(), [](const Item& a, const Item& b) { return a.modified < b.modified; });
  list.records = static_cast<std::int64_t>(records->size());
  if (!order.empty()) list.newest = std::to_string(order.back().modified);

  for (const auto& item : order) {
    const auto& record = (*records)[item.index].as_object();
    const auto line = static_cast<std::int64_t>(item.index + 1);
    auto text = [&](const char* key) -> std::string {
      const auto* value = record.if_contains(key);
      return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
    };
    const std::string signal = text("signalType");
    std::string type;
    if (signal == "ImagePDQ") type = "pdq";
    else if (signal == "VideoMD5") type = "md5";
    else if (signal.empty()) return fail("record " + std::to_string(line) + ": no signalType");
    else {
      ++list.skipped;
      continue;
    }
    Provenance provenance{options.source, "stopncii", "", ""};
    if (const auto* cases = record.if_contains("caseNumbers"); cases != nullptr && cases->is_object()) {
      for (const auto& [number, status] : cases->as_object()) {
        if (provenance.external_id.size() + number.size() + 1 > 256) break;
        provenance.external_id += (provenance.external_id.empty() ? "" : ";") + std::string(number);
      }
    }
    const std::string status = text("hashStatus");
    auto op = MakeAddOp(type, text("hashValue"), provenance, line);
    if (!op) return fail("record " + std::to_string(line) + ": " + op.error().message);
    if (status == "Withdrawn" || status == "Deleted") op->kind = ImportOp::Kind::kRemove;
    if (item.modified > 0 && item.modified < 100'000'000'000) op->listed_at = item.modified * 1'000'000;
    VIGIL_TRY(CheckEntryLimit(list, options));
    list.ops.push_back(std::move(*op));
  }
  return list;
}

}  // namespace vigil::lists
