// Parsing of plain PDQ hash lists, one entry per line: `HEX` or `HEX,ID` (ID a decimal unsigned
// 64-bit integer). Without an ID the entry's id is its 0-based line number. Untrusted input:
// every error names the 1-based line and what was wrong.
#pragma once

#include <cstdint>
#include <istream>
#include <string_view>
#include <vector>

#include "vigil/pdq.h"
#include "vigil/status.h"

namespace vigil::index {

struct PdqListEntry {
  std::uint64_t id;
  PdqHash hash;
};

// Parses one line (its 0-based number is `line_index`). Blank lines return an entry-less result
// through `*blank = true`.
Result<PdqListEntry> ParsePdqListLine(std::string_view line, std::uint64_t line_index, bool* blank);

struct PdqList {
  std::vector<std::uint64_t> ids;
  std::vector<PdqHash> hashes;
  std::vector<std::uint64_t> lines;  // 0-based line of each entry
};

// Reads a whole list; lines longer than 4096 bytes are errors.
Result<PdqList> ReadPdqList(std::istream& in);

}  // namespace vigil::index
