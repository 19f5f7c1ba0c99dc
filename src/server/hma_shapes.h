// HMA 2.x's vocabulary for the HMA-compatible surface (hma_routes.cpp, docs/hma.md): its signal
// and content types and how they map onto Vigil's, bank names (HMA's CAPS_AND_UNDERSCORE against
// Vigil's lower case), the enabled_ratio coin flip, and its answers: JSON with sorted keys and a
// trailing newline (Flask's jsonify), errors as {"message": "..."}, probes as plain text.
//
// Thread safety: pure functions over constant tables (HmaCoinflip without a seed draws from a
// per-thread generator).
#pragma once

#include <boost/json.hpp>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_server.h"
#include "vigil/matcher.h"
#include "vigil/status.h"

namespace vigil::server {

struct HmaSignalType {
  std::string name;        // HMA's: "pdq", "video_md5"
  std::string vigil_type;  // Vigil's: "pdq", "md5"
  std::string content_type;  // the content type it is computed for: "photo", "video"
  int compare_threshold;   // /m/compare's match threshold (PDQ: 31; exact digests: 0)
};

struct HmaContentType {
  std::string name;  // "photo", "video"
};

const std::vector<HmaSignalType>& HmaSignalTypes();
const std::vector<HmaContentType>& HmaContentTypes();
const HmaSignalType* FindHmaSignalType(std::string_view name);    // null: not one of HMA's
const HmaContentType* FindHmaContentType(std::string_view name);  // null: not one of HMA's

// The signal types a content type is hashed for, narrowed by ?types=a,b when given (null: all);
// kInvalidArgument with HMA's message for an unknown or empty selection.
Result<std::vector<const HmaSignalType*>> SelectHmaSignalTypes(const HmaContentType& content_type,
                                                               const std::string* types);

// The signal types a ?signal_type= names (all without one); kInvalidArgument with HMA's message
// ("No such signal type 'x'") for an unknown one.
Result<std::vector<const HmaSignalType*>> HmaTypesQueried(const std::map<std::string, std::string>& query);

// "test_bank" <-> "TEST_BANK". Vigil's names are lower case, so the mapping is one to one; an HMA
// name with a lower-case letter names no bank ("", as HMA's names are case-sensitive capitals).
std::string HmaBankName(std::string_view vigil_name);
std::string VigilBankName(std::string_view hma_name);
// HMA's rule for new bank and exchange names: ^[A-Z0-9_]+$.
bool ValidHmaName(std::string_view name);

// "A,B" -> {"A", "B"} (empty items dropped).
std::set<std::string> SplitHmaList(std::string_view list);

// The coin flip a lookup compares banks' enabled_ratio against (a bank takes part when its ratio
// is >= the flip): uniform in [0, 1), the same for the same ?seed= (from its SHA-256; HMA seeds
// Python's generator, so the values differ from HMA's, the consistency does not), random without.
double HmaCoinflip(const std::string* seed);

// "true"/"1" and "false"/"0", any case; kInvalidArgument with HMA's message otherwise.
Result<bool> HmaBool(std::string_view text);

// A signal as HMA validates it (pdq: 64 lower-case hex digits, "invalid PDQ hash"; video_md5:
// trimmed, lower-cased, 32 hex digits, "'x' is not a valid MD5 hash"); the normalised value.
Result<std::string> HmaValidateSignal(const HmaSignalType& type, std::string_view value);
// A match's distance as HMA writes it in lookups: PDQ's as a number in a string, "-" for exact types.
std::string HmaDistance(const HmaSignalType& type, int distance);

// /m/compare's answer for one pair: [match, {"distance": n}] (exact digests: [match, {}]).
boost::json::value HmaComparison(const HmaSignalType& type, const std::string& left, const std::string& right);

// How many entries of `type` the matcher holds.
std::int64_t HmaIndexSize(const MatcherStats& stats, const HmaSignalType& type);

// "/c/bank/{bank_name}/content/{content_id}" -> "/c/bank/<bank_name>/content/<int:content_id>".
std::string FlaskRule(std::string_view pattern);

// Answers as HMA's Flask app gives them.
Response HmaJson(http::status status, const boost::json::value& body);
Response HmaError(http::status status, std::string_view message);
Response HmaText(http::status status, std::string_view text);

// A JSON request body (application/json, bounded), any JSON value.
Result<boost::json::value> ParseHmaJsonBody(const Request& request, std::size_t max_bytes);

}  // namespace vigil::server
