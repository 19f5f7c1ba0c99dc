// Plain PDQ list parsing (see pdq_list.h).
#include "index/pdq_list.h"

#include <charconv>
#include <string>

#include "util/csv.h"

namespace vigil::index {

Result<PdqListEntry> ParsePdqListLine(std::string_view line, std::uint64_t line_index, bool* blank) {
  *blank = false;
  const std::string where = "line " + std::to_string(line_index + 1) + ": ";
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) {
    *blank = true;
    return PdqListEntry{};
  }
  auto fields = util::ParseCsvLine(line, {.max_fields = 2, .max_field_bytes = 128});
  if (!fields) return Fail(ErrorCode::kInvalidArgument, where + fields.error().message);
  auto hash = PdqHash::FromHex((*fields)[0]);
  if (!hash) return Fail(ErrorCode::kInvalidArgument, where + hash.error().message);
  PdqListEntry e{line_index, *hash};
  if (fields->size() == 2) {
    const std::string& id = (*fields)[1];
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), e.id);
    if (ec != std::errc() || end != id.data() + id.size() || id.empty()) {
      return Fail(ErrorCode::kInvalidArgument, where + "id '" + id.substr(0, 40) + "' is not an unsigned 64-bit integer");
    }
  }
  return e;
}

Result<PdqList> ReadPdqList(std::istream& in) {
  PdqList list;
  std::string line;
  std::uint64_t index = 0;
  while (std::getline(in, line)) {
    if (line.size() > 4096) {
      return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(index + 1) + ": longer than 4096 bytes");
    }
    bool blank = false;
    VIGIL_ASSIGN_OR_RETURN(auto e, ParsePdqListLine(line, index, &blank));
    if (!blank) {
      list.ids.push_back(e.id);
      list.hashes.push_back(e.hash);
      list.lines.push_back(index);
    }
    ++index;
  }
  if (in.bad()) return Fail(ErrorCode::kIoError, "read error after line " + std::to_string(index));
  return list;
}

}  // namespace vigil::index
