// Format dispatch (readers, and whole-list parses over them), shared op construction, and the
// plain-CSV export.
#include "vigil/hash_list.h"

#include "lists/list_formats.h"
#include "util/utf8.h"
#include "vigil/signal_type.h"

namespace vigil {
namespace {

void WriteCsvField(std::ostream& out, const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) {
    out << field;
    return;
  }
  out << '"';
  for (char c : field) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

// A list parsed whole (the record formats), handed out op by op.
class ParsedListReader final : public HashListReader {
 public:
  explicit ParsedListReader(ParsedList list) : list_(std::move(list)) {}
  Result<bool> Next(ImportOp& op) override {
    if (next_ == list_.ops.size()) return false;
    op = std::move(list_.ops[next_++]);
    return true;
  }
  std::optional<std::string> checkpoint() const override { return list_.checkpoint; }
  std::int64_t skipped() const override { return list_.skipped; }

 private:
  ParsedList list_;
  std::size_t next_ = 0;
};

Result<std::unique_ptr<HashListReader>> ReadParsed(Result<ParsedList> parsed) {
  if (!parsed) return tl::unexpected(parsed.error());
  return std::unique_ptr<HashListReader>(std::make_unique<ParsedListReader>(std::move(*parsed)));
}

}  // namespace

std::vector<std::string_view> HashListFormats() { return {"csv", "text", "hma", "ncmec", "stopncii", "vpdq"}; }

Result<std::unique_ptr<HashListReader>> OpenHashList(std::string_view format, std::string_view data,
                                                     const ListParseOptions& options) {
  if (data.size() > options.max_bytes) {
    return Fail(ErrorCode::kTooLarge, options.source + ": list of " + std::to_string(data.size()) +
                                          " bytes exceeds the limit of " + std::to_string(options.max_bytes));
  }
  // Spreadsheet programs start a CSV they save with a UTF-8 byte-order mark: not part of the list.
  if ((format == "csv" || format == "text" || format == "hma") && data.substr(0, 3) == "\xEF\xBB\xBF") {
    data.remove_prefix(3);
  }
  if (format == "csv") return lists::OpenCsvList(data, options);
  if (format == "text") return lists::OpenTextList(data, options);
  if (format == "hma") return lists::OpenHmaList(data, options);
  if (format == "ncmec") return ReadParsed(lists::ParseNcmecXml(data, options));
  if (format == "stopncii") return ReadParsed(lists::ParseStopNciiJson(data, options));
  if (format == "vpdq") return ReadParsed(lists::ParseVpdqList(data, options));
  return Fail(ErrorCode::kInvalidArgument, "unknown list format '" + std::string(format.substr(0, 40)) +
                                               "' (formats: csv, text, hma, ncmec, stopncii, vpdq)");
}

Result<ParsedList> ParseHashList(std::string_view format, std::string_view data, const ListParseOptions& options) {
  // The record formats are parsed whole: their paging and counts come back with the ops.
  if (format == "ncmec" || format == "stopncii") {
    if (data.size() > options.max_bytes) {
      return Fail(ErrorCode::kTooLarge, options.source + ": list of " + std::to_string(data.size()) +
                                            " bytes exceeds the limit of " + std::to_string(options.max_bytes));
    }
    return format == "ncmec" ? lists::ParseNcmecXml(data, options) : lists::ParseStopNciiJson(data, options);
  }
  VIGIL_ASSIGN_OR_RETURN(auto reader, OpenHashList(format, data, options));
  ParsedList list;
  for (;;) {
    ImportOp op;
    VIGIL_ASSIGN_OR_RETURN(auto more, reader->Next(op));
    if (!more) break;
    list.ops.push_back(std::move(op));
  }
  list.checkpoint = reader->checkpoint();
  list.skipped = reader->skipped();
  return list;
}

void WriteEntriesCsv(const std::vector<BankEntry>& entries, bool header, std::ostream& out) {
  if (header) out << "signal_type,value,external_id,classification\n";
  for (const auto& entry : entries) {
    out << entry.signal_type << ',' << entry.value << ',';
    WriteCsvField(out, entry.provenance.external_id);
    out << ',';
    WriteCsvField(out, entry.provenance.classification);
    out << '\n';
  }
}

namespace lists {

Result<ImportOp> MakeAddOp(std::string_view signal_type, std::string_view value, Provenance provenance,
                           std::int64_t line, std::string payload) {
  // A plug-in's values may come in its list encoding (base64, decimal bytes); stored as hex.
  VIGIL_ASSIGN_OR_RETURN(auto normalized, NormalizeListSignal(signal_type, value));
  if (const SignalTypeInfo* info = FindSignalType(signal_type); info != nullptr && info->has_payload && payload.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(signal_type) + " entries carry their frames: import them with format=vpdq");
  }
  if (provenance.external_id.size() > 256) return Fail(ErrorCode::kInvalidArgument, "external id longer than 256 bytes");
  if (provenance.classification.size() > 64) {
    return Fail(ErrorCode::kInvalidArgument, "classification longer than 64 bytes");
  }
  if (provenance.member.size() > 256) return Fail(ErrorCode::kInvalidArgument, "member longer than 256 bytes");
  VIGIL_TRY(CheckProvenanceText(provenance));
  ImportOp op;
  op.kind = ImportOp::Kind::kAdd;
  op.signal_type = std::string(signal_type);
  op.value = std::move(normalized);
  op.provenance = std::move(provenance);
  op.line = line;
  op.payload = std::move(payload);
  return op;
}

Status CheckProvenanceText(const Provenance& provenance) {
  // Reviewers read these, and they go into JSON answers and exports: UTF-8, no control characters.
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"external id", &provenance.external_id},
                                    {"member", &provenance.member},
                                    {"classification", &provenance.classification}}) {
    if (!IsValidUtf8(*value)) return Fail(ErrorCode::kInvalidArgument, std::string(name) + " is not valid UTF-8");
    if (HasControlCharacter(*value)) {
      return Fail(ErrorCode::kInvalidArgument, std::string(name) + " contains a control character");
    }
  }
  return {};
}

Status CheckEntryLimit(const ParsedList& list, const ListParseOptions& options) {
  if (list.ops.size() >= options.max_entries) {
    return Fail(ErrorCode::kTooLarge, options.source + ": more than " + std::to_string(options.max_entries) +
                                          " entries in one list");
  }
  return {};
}

}  // namespace lists
}  // namespace vigil
