// A strict RFC 4180 CSV record parser for hash lists and reference vectors: comma-separated
// fields, optional double quotes (with "" as an escaped quote), no embedded newlines. Untrusted
// input: errors name the column and what was wrong; field count and length are bounded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::util {

struct CsvLimits {
  std::size_t max_fields = 64;
  std::size_t max_field_bytes = 8192;  // a licensed-hash plug-in's largest value in hex (4096 bytes)
};

// Parses one record (a line without its line terminator; a trailing '\r' is dropped).
Result<std::vector<std::string>> ParseCsvLine(std::string_view line, const CsvLimits& limits = {});

}  // namespace vigil::util
