// Hash-list formats: parse an operator's list file into the ops an import applies, and write a
// bank back out as plain CSV. Lists are untrusted: every parser bounds sizes, validates every value
// for its signal type and names the line (or record) and what was wrong. A parse either yields
// every op or an error; nothing is applied from a list that fails. The line formats (csv, text,
// hma) can also be read one op at a time (OpenHashList), so an import need not hold the parsed
// list: a bad line then fails the import's transaction, and still nothing is applied.
//
// Formats:
//   csv       signal_type,value[,external_id,classification]  (an optional header line)
//   text      one value per line, all of ListParseOptions::signal_type (default pdq)
//   hma       CSV with a header naming its columns: signal_type, signal_value (or value),
//             optional bank_member_id / content_id (-> external_id) and tags / classification
//   ncmec     NCMEC hash-sharing v2 <queryResult> XML: <image>/<video> records with md5, sha1 and
//             pdq fingerprints (other fingerprint types are counted and skipped), and
//             <deletedImage>/<deletedVideo> tombstones; a later record replaces an earlier one
//   stopncii  StopNCII FetchHashes JSON ({"hashRecords": [...], "nextSetTimestamp": N}); ImagePDQ
//             and VideoMD5 records; Withdrawn/Deleted records are tombstones
//   vpdq      one video's vPDQ output in the reference's format (frame,quality,pdq_hex,timestamp
//             lines): one vpdq entry, with ListParseOptions' external_id and classification
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"
#include "vigil/store.h"

namespace vigil {

struct ListParseOptions {
  std::string source;               // the list's name, for messages and provenance
  std::string signal_type = "pdq";  // for the text format
  std::size_t max_bytes = 1ull << 30;
  std::size_t max_entries = 20'000'000;
  // For single-entry formats (vpdq): the entry's provenance.
  std::string external_id;
  std::string classification;
};

struct ParsedList {
  std::vector<ImportOp> ops;
  std::optional<std::string> checkpoint;  // what the list says to resume from, if it says
  std::int64_t skipped = 0;               // records of signal types this build does not match
  // Paging, for the exchange clients: the list's link or token to the next page ("" : none), whether
  // it says more records follow, how many records it held and the newest record's timestamp as
  // written (ncmec: ISO 8601; stopncii: seconds).
  std::string next_page;
  bool more = false;
  std::int64_t records = 0;
  std::string newest;
};

// The format names above, for help texts and validation.
std::vector<std::string_view> HashListFormats();

Result<ParsedList> ParseHashList(std::string_view format, std::string_view data, const ListParseOptions& options);

// A list read one op at a time. csv, text and hma read `data` as they go (it must outlive the
// reader; a header is checked when the reader opens); ncmec, stopncii and vpdq are parsed whole
// when it opens (their records are reordered by timestamp).
class HashListReader {
 public:
  virtual ~HashListReader() = default;
  // The next op: true, or false at the end; an error names the line and what was wrong.
  virtual Result<bool> Next(ImportOp& op) = 0;
  // What the list says to resume from (known when the reader opens), and records of signal types
  // this build does not match, skipped so far.
  virtual std::optional<std::string> checkpoint() const { return std::nullopt; }
  virtual std::int64_t skipped() const { return 0; }
};

Result<std::unique_ptr<HashListReader>> OpenHashList(std::string_view format, std::string_view data,
                                                     const ListParseOptions& options);

// Writes entries as `signal_type,value,external_id,classification` lines after a header line
// (a vpdq entry's value is its identity; its frames are exported on their own, as vpdq text).
void WriteEntriesCsv(const std::vector<BankEntry>& entries, bool header, std::ostream& out);

}  // namespace vigil
