// Line iteration for text-based list formats: splits on '\n', tracks 1-based line numbers, skips
// blank lines and '#' comments, and stops at the configured entry limit.
#pragma once

#include <cstdint>
#include <string_view>

namespace vigil::lists {

class LineReader {
 public:
  explicit LineReader(std::string_view data) : data_(data) {}

  // The next non-blank, non-comment line (without '\r'); false at the end.
  bool Next(std::string_view& line) {
    while (pos_ < data_.size()) {
      const std::size_t end = data_.find('\n', pos_);
      line = data_.substr(pos_, end == std::string_view::npos ? std::string_view::npos : end - pos_);
      pos_ = end == std::string_view::npos ? data_.size() : end + 1;
      ++number_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const auto first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos || line[first] == '#') continue;
      return true;
    }
    return false;
  }
  std::int64_t number() const { return number_; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  std::int64_t number_ = 0;
};

}  // namespace vigil::lists
