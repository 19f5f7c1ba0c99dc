// NCMEC hash-sharing v2 entries (<queryResult> XML) as import ops. pugixml parses without DTDs or
// external entities (only the five predefined entities and character references), and a document
// whose DOCTYPE declares entities is refused, so a hostile file cannot pull in other files or
// expand without bound. Records are applied oldest first by their <timestamp>, so within one file
// the newest state of each entry wins; an entry's record replaces its earlier fingerprints
// (kPrune), and <deletedImage>/<deletedVideo> tombstone it. <paging><next>, the record count and
// the newest timestamp come back with the ops, for the exchange client.
#include <pugixml.hpp>

#include <algorithm>
#include <array>
#include <cstring>

#include "lists/list_formats.h"
#include "util/iso_time.h"
#include "util/line_reader.h"
#include "vigil/signal_type.h"

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

// A record to apply, in the order of its <timestamp>. The sort compares the timestamps' first
// bytes held inline (an ISO 8601 timestamp fits whole), so it does not chase a pointer per
// comparison; longer timestamps that agree on those bytes are compared in full. The order is
// exactly std::string's (bytes compared as unsigned char, a prefix first).
struct Record {
  static constexpr std::size_t kHead = 32;

  Record(pugi::xml_node record, bool is_deleted, std::string_view stamp, std::int64_t at_line)
      : node(record), deleted(is_deleted), line(at_line), timestamp(stamp) {
    std::memcpy(head.data(), stamp.data(), std::min(kHead, stamp.size()));
  }

  pugi::xml_node node;
  bool deleted = false;
  std::int64_t line = 0;            // of the record's start tag; numbered in document order
  std::string_view timestamp;       // in the parsed document
  std::array<unsigned char, kHead> head{};  // the timestamp's first bytes, zero-padded
};

bool Earlier(const Record& a, const Record& b) {
  if (const int c = std::memcmp(a.head.data(), b.head.data(), Record::kHead); c != 0) return c < 0;
  // Equal heads: when both timestamps fit, the one that ended first (a zero pad, not a zero byte) is
  // the prefix; otherwise compare in full.
  if (a.timestamp.size() <= Record::kHead && b.timestamp.size() <= Record::kHead) {
    return a.timestamp.size() < b.timestamp.size();
  }
  return a.timestamp < b.timestamp;
}

}  // namespace

Result<ParsedList> ParseNcmecXml(std::string_view data, const ListParseOptions& options) {
  pugi::xml_document doc;
  const auto parsed = doc.load_buffer(data.data(), data.size(), pugi::parse_default | pugi::parse_doctype, pugi::encoding_utf8);
  if (!parsed) {
    return Fail(ErrorCode::kInvalidArgument, options.source + ": line " +
                                                 std::to_string(LineCounter(data).LineOf(parsed.offset)) +
                                                 ": malformed XML: " + parsed.description());
  }
  // NCMEC's documents declare no entities: a DOCTYPE that does (internal or external) is refused
  // outright rather than parsed around.
  for (auto node : doc.children()) {
    if (node.type() == pugi::node_doctype && std::string_view(node.value()).find("ENTITY") != std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  options.source + ": a DOCTYPE declaring entities is not accepted in an NCMEC document");
    }
  }
  const auto root = doc.document_element();
  if (LocalName(root) != "queryResult") {
    return Fail(ErrorCode::kInvalidArgument,
                options.source + ": expected an NCMEC <queryResult> document, found <" + std::string(LocalName(root)) + ">");
  }
  ParsedList list;
  std::vector<Record> records;
  // The walk below is in document order, so each record's line is counted on from the last one's:
  // one pass over the document in all (offset_debug() itself is constant time).
  LineCounter lines(data);
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
      records.emplace_back(record, deleted, Child(record, "timestamp").text().get(), lines.LineOf(record.offset_debug()));
      if (records.size() > options.max_entries) {
        return Fail(ErrorCode::kTooLarge, options.source + ": more than " + std::to_string(options.max_entries) + " records");
      }
    }
  }
  if (auto paging = Child(root, "paging")) {
    list.next_page = Child(paging, "next").text().get();
    list.more = !list.next_page.empty();
  }
  list.records = static_cast<std::int64_t>(records.size());
  for (const auto& record : records) {
    if (list.newest < record.timestamp) list.newest = std::string(record.timestamp);
  }
  std::stable_sort(records.begin(), records.end(), Earlier);
  // A record yields at most its three fingerprints and a prune: reserved once, so the ops are never
  // moved while the list grows (at 100k records the moves and their page faults were half the time).
  list.ops.reserve(std::min(records.size() * 4, options.max_entries + records.size()));

  for (const auto& record : records) {
    const auto line = record.line;
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
    if (auto ok = CheckProvenanceText(provenance); !ok) return fail(ok.error().message);
    if (record.deleted) {
      ImportOp op;
      op.kind = ImportOp::Kind::kRemove;
      op.provenance = provenance;
      op.line = line;
      list.ops.push_back(std::move(op));
      continue;
    }
    // The record's own time, when it is one (an entry keeps it as listed_at).
    const std::int64_t listed_at = ParseIsoTime(std::string(record.timestamp)).value_or(0);
    ImportOp prune;
    prune.kind = ImportOp::Kind::kPrune;
    prune.provenance = provenance;
    prune.line = line;
    for (auto fingerprint : Child(record.node, "fingerprints").children()) {
      if (fingerprint.type() != pugi::node_element) continue;
      std::string type(LocalName(fingerprint));
      if (type != "md5" && type != "sha1" && type != "pdq") {
        // A licensed-hash plug-in's fingerprints (PhotoDNA's "pdna" where the operator has one)
        // under the plug-in's signal type; others (large fingerprints by URL, never stored) skipped.
        const SignalTypeInfo* plugin = FindSignalTypeByNcmecFingerprint(type);
        if (plugin == nullptr) {
          ++list.skipped;
          continue;
        }
        type = std::string(plugin->name);
      }
      auto op = MakeAddOp(type, fingerprint.text().get(), provenance, line);
      if (!op) return fail(op.error().message);
      op->listed_at = listed_at;
      prune.keep.push_back(op->signal_type + ":" + op->value);
      VIGIL_TRY(CheckEntryLimit(list, options));
      list.ops.push_back(std::move(*op));
    }
    list.ops.push_back(std::move(prune));
  }
  return list;
}

}  // namespace vigil::lists
