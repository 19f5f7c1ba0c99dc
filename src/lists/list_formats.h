// The per-format readers and parsers behind OpenHashList and ParseHashList (hash_list.h). Each
// validates every value and names the line or record that was wrong.
#pragma once

#include "vigil/hash_list.h"

namespace vigil::lists {

// The line formats, read as they go (`data` must outlive the reader; options are copied).
std::unique_ptr<HashListReader> OpenCsvList(std::string_view data, const ListParseOptions& options);
std::unique_ptr<HashListReader> OpenTextList(std::string_view data, const ListParseOptions& options);
Result<std::unique_ptr<HashListReader>> OpenHmaList(std::string_view data, const ListParseOptions& options);
// The record formats, parsed whole.
Result<ParsedList> ParseNcmecXml(std::string_view data, const ListParseOptions& options);
Result<ParsedList> ParseStopNciiJson(std::string_view data, const ListParseOptions& options);
Result<ParsedList> ParseVpdqList(std::string_view data, const ListParseOptions& options);

// Shared checks: a value normalised for its type, provenance fields bounded, and a type that
// carries a payload (vpdq's frames) given one: only the vpdq format has frames, so a csv, text,
// hma or XML row naming such a type is refused here, at its line, not later by the store.
Result<ImportOp> MakeAddOp(std::string_view signal_type, std::string_view value, Provenance provenance,
                           std::int64_t line, std::string payload = {});
Status CheckEntryLimit(const ParsedList& list, const ListParseOptions& options);
// A record's external id, member and classification: well-formed UTF-8 without control characters.
Status CheckProvenanceText(const Provenance& provenance);

}  // namespace vigil::lists
