// CSV record parsing (see csv.h).
#include "util/csv.h"

namespace vigil::util {

Result<std::vector<std::string>> ParseCsvLine(std::string_view line, const CsvLimits& limits) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string> fields(1);
  std::size_t i = 0;
  auto where = [&] { return "column " + std::to_string(i + 1); };
  while (i < line.size()) {
    std::string& field = fields.back();
    const char c = line[i];
    if (c == ',') {
      if (fields.size() == limits.max_fields) {
        return Fail(ErrorCode::kInvalidArgument, "more than " + std::to_string(limits.max_fields) + " fields");
      }
      fields.emplace_back();
      ++i;
      continue;
    }
    if (c == '"' && field.empty()) {
      ++i;
      for (;;) {
        if (i >= line.size()) return Fail(ErrorCode::kInvalidArgument, "unterminated quoted field at " + where());
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(line[i++]);
        if (field.size() > limits.max_field_bytes) {
          return Fail(ErrorCode::kInvalidArgument, "field longer than " + std::to_string(limits.max_field_bytes) + " bytes at " + where());
        }
      }
      if (i < line.size() && line[i] != ',') {
        return Fail(ErrorCode::kInvalidArgument, "unexpected character after closing quote at " + where());
      }
      continue;
    }
    if (c == '"') return Fail(ErrorCode::kInvalidArgument, "stray quote inside a field at " + where());
    if (c == '\n' || c == '\0') return Fail(ErrorCode::kInvalidArgument, "control character in a field at " + where());
    field.push_back(c);
    ++i;
    if (field.size() > limits.max_field_bytes) {
      return Fail(ErrorCode::kInvalidArgument, "field longer than " + std::to_string(limits.max_field_bytes) + " bytes at " + where());
    }
  }
  return fields;
}

}  // namespace vigil::util
