// NCMEC hash-sharing v2 entries (<queryResult> XML) as import ops. pugixml parses without DTDs or
// external entities (only the five predefined entities and character references), so a hostile
// file cannot pull in other files or expand without bound. Records are applied oldest first by
// their <timestamp>, so within one file the newest state of each entry wins; an entry's record
// replaces its earlier fingerprints (kPrune), and <deletedImage>/<deletedVideo> tombstone it.
#include <pugixml.hpp>

#include <algorithm>
#include <cstring>

#include "lists/list_formats.h"

namespace vigil::lists {
namespace {

std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  const auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node Child(const pugi::xml_node& node, std::string_view name) {
  for (auto child : node.children()) {
    if (LocalName(child) == name) return child;
  }
  return {};
}

std::int64_t LineOf(std::string_view data, std::ptrdiff_t offset) {
  if (offset < 0) return 0;
  const auto end = std::min(data.size(), static_cast<std::size_t>(offset));
  return 1 + std::count(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(end), '\n');
}

struct Record {
  pugi::xml_node node;
  bool deleted = false;
  std::string timestamp;
};

}  // namespace

Result<ParsedList> ParseNcmecXml(std::string_view data, const ListParseOptions& options) {
  pugi::xml_document doc;
  const auto parsed = doc.load_buffer(data.data(), data.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return Fail(ErrorCode::kInvalidArgument, options.source + ": line " + std::to_string(LineOf(data, parsed.offset)) +
                                                 ": malformed XML: " + parsed.description());
  }
  const auto root = doc.document_element();
  if (LocalName(root) != "queryResult") {
    return Fail(ErrorCode::kInvalidArgument,
                options.source + ": expected an NCMEC <queryResult> document, found <" + std::string(LocalName(root)) + ">");
  }
  ParsedList list;
  std::vector<Record> records;
  for (auto group : root.children()) {
    const auto group_name = LocalName(group);
    if (group_name != "images" && group_name != "videos") continue;
    if (const char* max = group.attribute("maxTimestamp").value(); *max != '\0') {
      if (!list.checkpoint || *list.checkpoint < max) list.checkpoint = max;
    }
    for (auto record : group.children()) {
      const auto name = LocalName(record);
      const bool deleted = name == "deletedImage" || name == "deletedVideo";
      if (!deleted && name != "image" && name != "video") continue;
      records.push_back({record, deleted, Child(record, "timestamp").text().get()});
      if (records.size() > options.max_entries) {
        return Fail(ErrorCode::kTooLarge, options.source + ": more than " + std::to_string(options.max_entries) + " records");
      }
    }
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const Record& a, const Record& b) { return a.timestamp < b.timestamp; });

  for (const auto& record : records) {
    const auto line = LineOf(data, record.node.offset_debug());
    auto fail = [&](const std::string& what) {
      return Fail(ErrorCode::kInvalidArgument, options.source + ": line " + std::to_string(line) + ": " + what);
    };
    Provenance provenance;
    provenance.source = options.source;
    provenance.member = Child(record.node, "member").attribute("id").value();
    provenance.external_id = Child(record.node, "id").text().get();
    provenance.classification = Child(record.node, "classification").text().get();
    if (provenance.external_id.empty()) return fail("record without an <id>");
    if (provenance.external_id.size() > 256 || provenance.member.size() > 256) return fail("id or member too long");
    if (record.deleted) {
      ImportOp op;
      op.kind = ImportOp::Kind::kRemove;
      op.provenance = provenance;
      op.line = line;
      list.ops.push_back(std::move(op));
      continue;
    }
    ImportOp prune;
    prune.kind = ImportOp::Kind::kPrune;
    prune.provenance = provenance;
    prune.line = line;
    for (auto fingerprint : Child(record.node, "fingerprints").children()) {
      if (fingerprint.type() != pugi::node_element) continue;
      const std::string type(LocalName(fingerprint));
      if (type != "md5" && type != "sha1" && type != "pdq") {
        ++list.skipped;  // PhotoDNA, large fingerprints (by URL, never stored), ...
        continue;
      }
      auto op = MakeAddOp(type, fingerprint.text().get(), provenance, line);
      if (!op) return fail(op.error().message);
      prune.keep.push_back(op->signal_type + ":" + op->value);
      if (auto limit = CheckEntryLimit(list, options); !limit) return tl::unexpected(limit.error());
      list.ops.push_back(std::move(*op));
    }
    list.ops.push_back(std::move(prune));
  }
  return list;
}

}  // namespace vigil::lists
