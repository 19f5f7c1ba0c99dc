// Format dispatch, shared op construction, and the plain-CSV export.
#include "vigil/hash_list.h"

#include "lists/list_formats.h"
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

}  // namespace

std::vector<std::string_view> HashListFormats() { return {"csv", "text", "hma", "ncmec", "stopncii", "vpdq"}; }

Result<ParsedList> ParseHashList(std::string_view format, std::string_view data, const ListParseOptions& options) {
  if (data.size() > options.max_bytes) {
    return Fail(ErrorCode::kTooLarge, options.source + ": list of " + std::to_string(data.size()) +
                                          " bytes exceeds the limit of " + std::to_string(options.max_bytes));
  }
  if (format == "csv") return lists::ParseCsvList(data, options);
  if (format == "text") return lists::ParseTextList(data, options);
  if (format == "hma") return lists::ParseHmaList(data, options);
  if (format == "ncmec") return lists::ParseNcmecXml(data, options);
  if (format == "stopncii") return lists::ParseStopNciiJson(data, options);
  if (format == "vpdq") return lists::ParseVpdqList(data, options);
  return Fail(ErrorCode::kInvalidArgument, "unknown list format '" + std::string(format.substr(0, 40)) +
                                               "' (formats: csv, text, hma, ncmec, stopncii, vpdq)");
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
  auto normalized = NormalizeSignal(signal_type, value);
  if (!normalized) return tl::unexpected(normalized.error());
  if (const SignalTypeInfo* info = FindSignalType(signal_type); info != nullptr && info->has_payload && payload.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(signal_type) + " entries carry their frames: import them with format=vpdq");
  }
  if (provenance.external_id.size() > 256) return Fail(ErrorCode::kInvalidArgument, "external id longer than 256 bytes");
  if (provenance.classification.size() > 64) {
    return Fail(ErrorCode::kInvalidArgument, "classification longer than 64 bytes");
  }
  if (provenance.member.size() > 256) return Fail(ErrorCode::kInvalidArgument, "member longer than 256 bytes");
  ImportOp op;
  op.kind = ImportOp::Kind::kAdd;
  op.signal_type = std::string(signal_type);
  op.value = std::move(*normalized);
  op.provenance = std::move(provenance);
  op.line = line;
  op.payload = std::move(payload);
  return op;
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
