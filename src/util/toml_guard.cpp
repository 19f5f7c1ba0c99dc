// Depth check of TOML text before parsing (see toml_guard.h).
#include "util/toml_guard.h"

namespace vigil {

Status CheckTomlDepth(std::string_view text, const std::string& source) {
  int line = 1;
  int dots = 0;       // dotted parts of the key on this line so far (outside quotes)
  int brackets = 0;   // open [ and { (arrays, inline tables, headers), across lines
  bool in_key = true;  // before the first '=' of the line
  char quote = 0;
  bool comment = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      dots = 0;
      in_key = true;
      comment = false;
      if (quote == '\'' || quote == '"') quote = 0;  // single-line strings end with the line
      continue;
    }
    if (comment) continue;
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    switch (c) {
      case '#': comment = true; break;
      case '"':
      case '\'': quote = c; break;
      case '.':
        if (in_key && ++dots > kMaxTomlKeyDepth) {
          return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(line) + ": a key nested more than " +
                                                       std::to_string(kMaxTomlKeyDepth) + " levels deep");
        }
        break;
      case '=': in_key = false; break;
      case '[':
      case '{':
        if (++brackets > kMaxTomlKeyDepth) {
          return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(line) + ": values nested more than " +
                                                       std::to_string(kMaxTomlKeyDepth) + " levels deep");
        }
        break;
      case ']':
      case '}':
        if (brackets > 0) --brackets;
        break;
      default: break;
    }
  }
  return {};
}

Result<toml::table> ParseTomlChecked(std::string_view text, const std::string& source) {
  VIGIL_TRY(CheckTomlDepth(text, source));
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
                                                 std::string(e.description()));
  }
}

}  // namespace vigil
