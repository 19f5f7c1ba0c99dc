// The line-oriented formats: plain CSV, one value per line, and HMA's header-named CSV.
#include <algorithm>

#include "lists/list_formats.h"
#include "lists/list_lines.h"
#include "util/csv.h"

namespace vigil::lists {
namespace {

tl::unexpected<Error> AtLine(const ListParseOptions& options, std::int64_t line, const Error& error) {
  return Fail(error.code, options.source + ": line " + std::to_string(line) + ": " + error.message);
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

Result<ParsedList> ParseCsvList(std::string_view data, const ListParseOptions& options) {
  ParsedList list;
  LineReader reader(data);
  std::string_view line;
  bool first = true;
  while (reader.Next(line)) {
    auto fields = util::ParseCsvLine(line);
    if (!fields) return AtLine(options, reader.number(), fields.error());
    if (first && Lower((*fields)[0]) == "signal_type") {  // header line
      first = false;
      continue;
    }
    first = false;
    if (fields->size() < 2 || fields->size() > 4) {
      return AtLine(options, reader.number(),
                    {ErrorCode::kInvalidArgument, "expected signal_type,value[,external_id,classification], got " +
                                                      std::to_string(fields->size()) + " fields"});
    }
    fields->resize(4);
    if (auto limit = CheckEntryLimit(list, options); !limit) return tl::unexpected(limit.error());
    auto op = MakeAddOp(Lower((*fields)[0]), (*fields)[1], {options.source, "", (*fields)[2], (*fields)[3]},
                        reader.number());
    if (!op) return AtLine(options, reader.number(), op.error());
    list.ops.push_back(std::move(*op));
  }
  return list;
}

Result<ParsedList> ParseTextList(std::string_view data, const ListParseOptions& options) {
  ParsedList list;
  LineReader reader(data);
  std::string_view line;
  while (reader.Next(line)) {
    const auto first = line.find_first_not_of(" \t");
    const auto last = line.find_last_not_of(" \t");
    line = line.substr(first, last - first + 1);
    if (auto limit = CheckEntryLimit(list, options); !limit) return tl::unexpected(limit.error());
    auto op = MakeAddOp(options.signal_type, line, {options.source, "", "", ""}, reader.number());
    if (!op) return AtLine(options, reader.number(), op.error());
    list.ops.push_back(std::move(*op));
  }
  return list;
}

Result<ParsedList> ParseHmaList(std::string_view data, const ListParseOptions& options) {
  ParsedList list;
  LineReader reader(data);
  std::string_view line;
  if (!reader.Next(line)) return list;
  auto header = util::ParseCsvLine(line);
  if (!header) return AtLine(options, reader.number(), header.error());
  int type_col = -1, value_col = -1, id_col = -1, label_col = -1;
  for (std::size_t i = 0; i < header->size(); ++i) {
    const auto name = Lower((*header)[i]);
    const int col = static_cast<int>(i);
    if (name == "signal_type") type_col = col;
    else if (name == "signal_value" || name == "value" || name == "signal") value_col = col;
    else if (name == "bank_member_id" || name == "content_id" || name == "id") id_col = col;
    else if (name == "tags" || name == "classification" || name == "labels") label_col = col;
  }
  if (type_col < 0 || value_col < 0) {
    return AtLine(options, reader.number(),
                  {ErrorCode::kInvalidArgument, "HMA header must name signal_type and signal_value columns"});
  }
  auto field = [](const std::vector<std::string>& fields, int col) -> std::string {
    return col >= 0 && static_cast<std::size_t>(col) < fields.size() ? fields[static_cast<std::size_t>(col)] : "";
  };
  while (reader.Next(line)) {
    auto fields = util::ParseCsvLine(line);
    if (!fields) return AtLine(options, reader.number(), fields.error());
    if (fields->size() != header->size()) {
      return AtLine(options, reader.number(),
                    {ErrorCode::kInvalidArgument, "expected " + std::to_string(header->size()) + " fields, got " +
                                                      std::to_string(fields->size())});
    }
    std::string type = Lower(field(*fields, type_col));
    // HMA names PDQ "pdq" and MD5 of video "video_md5"; both map onto ours.
    if (type == "video_md5") type = "md5";
    if (auto limit = CheckEntryLimit(list, options); !limit) return tl::unexpected(limit.error());
    auto op = MakeAddOp(type, field(*fields, value_col),
                        {options.source, "", field(*fields, id_col), field(*fields, label_col)}, reader.number());
    if (!op) return AtLine(options, reader.number(), op.error());
    list.ops.push_back(std::move(*op));
  }
  return list;
}

}  // namespace vigil::lists
