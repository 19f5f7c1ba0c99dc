// The line-oriented formats, read one op at a time: plain CSV, one value per line, and HMA's
// header-named CSV.
#include <algorithm>

#include "lists/list_formats.h"
#include "util/line_reader.h"
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

// What the three formats share: lines, the entry limit, and turning a row into an add op.
class LineListReader : public HashListReader {
 public:
  LineListReader(std::string_view data, const ListParseOptions& options) : reader_(data), options_(options) {}

  Result<bool> Next(ImportOp& op) final {
    std::string_view line;
    if (!reader_.Next(line)) return false;
    auto row = Row(line);
    if (!row) return AtLine(options_, reader_.number(), row.error());
    if (!*row) return Next(op);  // a header line: read on
    if (count_ >= options_.max_entries) {
      return Fail(ErrorCode::kTooLarge, options_.source + ": more than " + std::to_string(options_.max_entries) +
                                            " entries in one list");
    }
    auto added = MakeAddOp((*row)->type, (*row)->value, {options_.source, "", (*row)->external_id, (*row)->label},
                           reader_.number());
    if (!added) return AtLine(options_, reader_.number(), added.error());
    op = std::move(*added);
    ++count_;
    return true;
  }

 protected:
  struct Fields {
    std::string type, value, external_id, label;
  };
  // One line's entry; nullopt for a line that holds none (a header).
  virtual Result<std::optional<Fields>> Row(std::string_view line) = 0;

  LineReader reader_;
  const ListParseOptions options_;
  std::size_t count_ = 0;
};

class CsvListReader final : public LineListReader {
 public:
  using LineListReader::LineListReader;

 private:
  Result<std::optional<Fields>> Row(std::string_view line) override {
    auto fields = util::ParseCsvLine(line);
    if (!fields) return tl::unexpected(fields.error());
    const bool first = first_;
    first_ = false;
    if (first && Lower((*fields)[0]) == "signal_type") return std::nullopt;  // header line
    if (fields->size() < 2 || fields->size() > 4) {
      return Fail(ErrorCode::kInvalidArgument, "expected signal_type,value[,external_id,classification], got " +
                                                   std::to_string(fields->size()) + " fields");
    }
    fields->resize(4);
    return Fields{Lower((*fields)[0]), std::move((*fields)[1]), std::move((*fields)[2]), std::move((*fields)[3])};
  }

  bool first_ = true;
};

class TextListReader final : public LineListReader {
 public:
  using LineListReader::LineListReader;

 private:
  Result<std::optional<Fields>> Row(std::string_view line) override {
    const auto first = line.find_first_not_of(" \t");
    const auto last = line.find_last_not_of(" \t");
    return Fields{options_.signal_type, std::string(line.substr(first, last - first + 1)), "", ""};
  }
};

// HMA's export: the header names the columns; every row has as many fields.
class HmaListReader final : public LineListReader {
 public:
  using LineListReader::LineListReader;

  Status ReadHeader() {
    std::string_view line;
    if (!reader_.Next(line)) return {};  // an empty list
    auto header = util::ParseCsvLine(line);
    if (!header) return AtLine(options_, reader_.number(), header.error());
    columns_ = header->size();
    for (std::size_t i = 0; i < header->size(); ++i) {
      const auto name = Lower((*header)[i]);
      const int col = static_cast<int>(i);
      if (name == "signal_type") type_col_ = col;
      else if (name == "signal_value" || name == "value" || name == "signal") value_col_ = col;
      else if (name == "bank_member_id" || name == "content_id" || name == "id") id_col_ = col;
      else if (name == "tags" || name == "classification" || name == "labels") label_col_ = col;
    }
    if (type_col_ < 0 || value_col_ < 0) {
      return AtLine(options_, reader_.number(),
                    {ErrorCode::kInvalidArgument, "HMA header must name signal_type and signal_value columns"});
    }
    return {};
  }

 private:
  Result<std::optional<Fields>> Row(std::string_view line) override {
    auto fields = util::ParseCsvLine(line);
    if (!fields) return tl::unexpected(fields.error());
    if (fields->size() != columns_) {
      return Fail(ErrorCode::kInvalidArgument,
                  "expected " + std::to_string(columns_) + " fields, got " + std::to_string(fields->size()));
    }
    auto field = [&](int col) -> std::string { return col >= 0 ? (*fields)[static_cast<std::size_t>(col)] : ""; };
    std::string type = Lower(field(type_col_));
    // HMA names PDQ "pdq" and MD5 of video "video_md5"; both map onto ours.
    if (type == "video_md5") type = "md5";
    return Fields{std::move(type), field(value_col_), field(id_col_), field(label_col_)};
  }

  std::size_t columns_ = 0;
  int type_col_ = -1, value_col_ = -1, id_col_ = -1, label_col_ = -1;
};

}  // namespace

std::unique_ptr<HashListReader> OpenCsvList(std::string_view data, const ListParseOptions& options) {
  return std::make_unique<CsvListReader>(data, options);
}

std::unique_ptr<HashListReader> OpenTextList(std::string_view data, const ListParseOptions& options) {
  return std::make_unique<TextListReader>(data, options);
}

Result<std::unique_ptr<HashListReader>> OpenHmaList(std::string_view data, const ListParseOptions& options) {
  auto reader = std::make_unique<HmaListReader>(data, options);
  VIGIL_TRY(reader->ReadHeader());
  return std::unique_ptr<HashListReader>(std::move(reader));
}

}  // namespace vigil::lists
