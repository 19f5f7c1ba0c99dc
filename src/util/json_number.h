// A double for JSON answers: whole numbers as integers (boost::json writes 100.0 as "1E2", which
// people reading an answer, and some strict clients, take for a typo), others as they are.
// Thread safety: a pure function.
#pragma once

#include <boost/json.hpp>
#include <cmath>
#include <cstdint>

namespace vigil {

inline boost::json::value JsonNumber(double value) {
  if (std::isfinite(value) && std::trunc(value) == value && std::fabs(value) < 9.0e15) {
    return static_cast<std::int64_t>(value);
  }
  return value;
}

}  // namespace vigil
