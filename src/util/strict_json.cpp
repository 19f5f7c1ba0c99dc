// Strict JSON: Boost.JSON's parser, then a pass of its event parser that refuses duplicate keys and
// numbers that are not finite.
#include "util/strict_json.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace vigil {
namespace {

// Event handler for boost::json::basic_parser: one key set per open object.
struct DuplicateKeyFinder {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<std::set<std::string>> open;
  std::string key;
  std::string duplicate;
  bool infinite = false;
  bool nul = false;

  // A NUL in a string: PostgreSQL's text cannot hold one (the driver would cut the string there),
  // so SQLite and PostgreSQL would keep different text. Refused wherever it appears.
  bool Clean(std::string_view part, boost::system::error_code& ec) {
    if (part.find('\0') == std::string_view::npos) return true;
    nul = true;
    ec = boost::json::error::syntax;
    return false;
  }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    open.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    open.pop_back();
    return true;
  }
  bool on_string_part(std::string_view part, std::size_t, boost::system::error_code& ec) { return Clean(part, ec); }
  bool on_string(std::string_view part, std::size_t, boost::system::error_code& ec) { return Clean(part, ec); }
  bool on_key_part(std::string_view part, std::size_t, boost::system::error_code& ec) {
    key.append(part);
    return Clean(part, ec);
  }
  bool on_key(std::string_view part, std::size_t, boost::system::error_code& ec) {
    if (!Clean(part, ec)) return false;
    key.append(part);
    if (!open.back().insert(key).second) {
      duplicate = key;
      ec = boost::json::error::syntax;  // any error: stops the parse; `duplicate` says why
      return false;
    }
    key.clear();
    return true;
  }
  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_double(double value, std::string_view, boost::system::error_code& ec) {
    if (std::isfinite(value)) return true;
    infinite = true;  // 1e999999: no reader agrees on what it is
    ec = boost::json::error::syntax;
    return false;
  }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }
};

}  // namespace

Result<boost::json::value> ParseStrictJson(std::string_view text, int max_depth) {
  boost::json::parse_options options;
  options.max_depth = static_cast<std::size_t>(max_depth);
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec, {}, options);
  if (ec) return Fail(ErrorCode::kInvalidArgument, "malformed JSON: " + ec.message());
  boost::json::basic_parser<DuplicateKeyFinder> finder(options);
  finder.write_some(false, text.data(), text.size(), ec);
  if (finder.handler().nul) {
    return Fail(ErrorCode::kInvalidArgument, "a JSON string holds a NUL character (\\u0000): text cannot carry one");
  }
  if (finder.handler().infinite) {
    return Fail(ErrorCode::kInvalidArgument, "a number out of range (not finite) in the JSON");
  }
  if (!finder.handler().duplicate.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "duplicate key '" + finder.handler().duplicate.substr(0, 64) + "' in a JSON object");
  }
  return value;
}

}  // namespace vigil
