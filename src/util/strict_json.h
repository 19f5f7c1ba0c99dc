// JSON from outside (request bodies, headers) parsed strictly: the document must be valid UTF-8
// JSON within a nesting depth, and no object may name the same key twice (Boost.JSON alone keeps
// the last value silently, so two readers of one document could disagree on what it says), and no
// number may be out of a double's range (1e999999), and no string or key may hold a NUL (\u0000:
// PostgreSQL's text cannot, so the two stores would keep different text).
//
// Thread safety: a pure function.
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

#include "vigil/status.h"

namespace vigil {

// kInvalidArgument naming the problem ("malformed JSON: ...", "duplicate key 'x' in an object").
Result<boost::json::value> ParseStrictJson(std::string_view text, int max_depth = 32);

}  // namespace vigil
