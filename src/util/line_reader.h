// Line tracking for text formats (hash lists, anchor files). LineReader: line iteration for the text-based formats (splits
// on '\n', tracks 1-based line numbers, skips blank lines and '#' comments). LineCounter: the line
// of an offset into a document parsed whole (XML), counted on from the previous offset asked for,
// so numbering every record of a walk in document order costs one pass over the document, not one
// pass from the start per record.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vigil {

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

class LineCounter {
 public:
  explicit LineCounter(std::string_view data) : data_(data) {}

  // The 1-based line holding byte `offset` (offsets past the end count as the end); 0 for a
  // negative offset (one the parser could not give). Linear in the distance from the previous
  // offset asked for: ask in increasing order.
  std::int64_t LineOf(std::ptrdiff_t offset) {
    if (offset < 0) return 0;
    const std::size_t to = std::min(data_.size(), static_cast<std::size_t>(offset));
    if (to >= pos_) {
      line_ += std::count(data_.begin() + static_cast<std::ptrdiff_t>(pos_),
                          data_.begin() + static_cast<std::ptrdiff_t>(to), '\n');
    } else {  // backwards: still exact, never taken by a walk in document order
      line_ -= std::count(data_.begin() + static_cast<std::ptrdiff_t>(to),
                          data_.begin() + static_cast<std::ptrdiff_t>(pos_), '\n');
    }
    pos_ = to;
    return line_;
  }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;    // the last offset asked for
  std::int64_t line_ = 1;  // its line
};

}  // namespace vigil
