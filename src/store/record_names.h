// The names people give banks, partners and exchanges: 1-64 of a-z, 0-9, '-' and '_', starting
// with a letter or digit (they appear in URLs, metrics labels and audit targets unescaped).
// Thread safety: pure functions.
#pragma once

#include <algorithm>
#include <string>

namespace vigil::store {

inline bool ValidRecordName(const std::string& name) {
  return !name.empty() && name.size() <= 64 && name[0] != '-' && name[0] != '_' &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; });
}

}  // namespace vigil::store
