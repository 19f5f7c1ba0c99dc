// A guard for TOML text before toml++ parses it: toml++ follows dotted keys and table headers
// recursively, so a key of 60,000 dotted parts ("a.a.a...") exhausts the stack. Rules files are
// reloaded through the API, so their text is checked first: no key or header deeper than a bound.
// ParseTomlChecked is the one way Vigil parses a TOML file: the guard, then toml++, with its
// error as "SOURCE:LINE:COLUMN: what".
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>
#include <toml++/toml.h>

#include "vigil/status.h"

namespace vigil {

inline constexpr int kMaxTomlKeyDepth = 32;

// kInvalidArgument naming the line when a key or table header has more than kMaxTomlKeyDepth
// dotted parts (counted outside quotes), or an array or inline table nests deeper than that.
Status CheckTomlDepth(std::string_view text, const std::string& source);

// CheckTomlDepth, then the parse; kInvalidArgument "SOURCE:LINE:COLUMN: description" when the text
// is not TOML.
Result<toml::table> ParseTomlChecked(std::string_view text, const std::string& source);

}  // namespace vigil
