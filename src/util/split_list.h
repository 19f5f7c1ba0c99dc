// Comma-separated lists as configuration and headers write them ("a, b,c"): the items, each without
// the spaces around it, empty ones dropped. Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vigil {

inline std::vector<std::string> SplitList(std::string_view list, char separator = ',') {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= list.size()) {
    auto end = list.find(separator, at);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(at, end - at);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    at = end + 1;
  }
  return out;
}

}  // namespace vigil
