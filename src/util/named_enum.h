// Vocabularies named by words at the edges (the API, the CLI, the database): the word -> value
// lookup their Parse functions share. Thread safety: a pure function.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace vigil {

// The value among `values` whose name(value) is `text`, or none.
template <typename E, std::size_t N>
std::optional<E> FindByName(std::string_view text, const E (&values)[N], const char* (*name)(E)) {
  for (E value : values) {
    if (text == name(value)) return value;
  }
  return std::nullopt;
}

}  // namespace vigil
