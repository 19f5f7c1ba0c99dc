// HMA's vocabulary and answer shapes (see hma_shapes.h).
#include "server/hma_shapes.h"

#include <algorithm>
#include <charconv>
#include <random>

#include "server/api_support.h"
#include "util/split_list.h"
#include "util/strict_json.h"
#include "vigil/digest.h"
#include "vigil/pdq.h"

namespace vigil::server {
namespace {

// Flask's jsonify: object keys sorted, compact, floats as Python writes them ("1.0", "0.5"; Boost.JSON
// would write "1E0"), strings escaped as JSON.
void WriteFlaskJson(const boost::json::value& value, std::string& out) {
  switch (value.kind()) {
    case boost::json::kind::object: {
      std::vector<std::pair<std::string_view, const boost::json::value*>> members;
      for (const auto& [key, member] : value.as_object()) members.emplace_back(key, &member);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out += ',';
        out += boost::json::serialize(boost::json::value(members[i].first));
        out += ':';
        WriteFlaskJson(*members[i].second, out);
      }
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value.as_array()) {
        if (!first) out += ',';
        first = false;
        WriteFlaskJson(item, out);
      }
      out += ']';
      return;
    }
    case boost::json::kind::double_: {
      const double d = value.as_double();
      char buffer[64];
      const auto written = std::to_chars(buffer, buffer + sizeof buffer, d);
      std::string text(buffer, written.ptr);
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
      out += text;
      return;
    }
    default:
      out += boost::json::serialize(value);
  }
}

}  // namespace

const std::vector<HmaSignalType>& HmaSignalTypes() {
  static const std::vector<HmaSignalType> types = {
      {"pdq", "pdq", "photo", 31},
      {"video_md5", "md5", "video", 0},
  };
  return types;
}

const std::vector<HmaContentType>& HmaContentTypes() {
  static const std::vector<HmaContentType> types = {{"photo"}, {"video"}};
  return types;
}

const HmaSignalType* FindHmaSignalType(std::string_view name) {
  for (const auto& type : HmaSignalTypes()) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

const HmaContentType* FindHmaContentType(std::string_view name) {
  for (const auto& type : HmaContentTypes()) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

Result<std::vector<const HmaSignalType*>> SelectHmaSignalTypes(const HmaContentType& content_type,
                                                               const std::string* types) {
  std::vector<const HmaSignalType*> available;
  for (const auto& type : HmaSignalTypes()) {
    if (type.content_type == content_type.name) available.push_back(&type);
  }
  if (types == nullptr) return available;
  std::vector<const HmaSignalType*> out;
  for (const auto& name : SplitHmaList(*types)) {
    const auto it = std::find_if(available.begin(), available.end(), [&](const HmaSignalType* t) { return t->name == name; });
    if (it == available.end()) {
      return Fail(ErrorCode::kInvalidArgument, "signal type '" + name.substr(0, 64) + "' doesn't exist or is disabled");
    }
    out.push_back(*it);
  }
  if (out.empty()) return Fail(ErrorCode::kInvalidArgument, "empty signal type selection");
  return out;
}

Result<std::vector<const HmaSignalType*>> HmaTypesQueried(const std::map<std::string, std::string>& query) {
  std::vector<const HmaSignalType*> types;
  if (const auto it = query.find("signal_type"); it != query.end()) {
    const HmaSignalType* type = FindHmaSignalType(it->second);
    if (type == nullptr) return Fail(ErrorCode::kInvalidArgument, "No such signal type '" + it->second.substr(0, 64) + "'");
    types.push_back(type);
  } else {
    for (const auto& type : HmaSignalTypes()) types.push_back(&type);
  }
  return types;
}

std::string HmaBankName(std::string_view vigil_name) {
  std::string out(vigil_name);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

std::string VigilBankName(std::string_view hma_name) {
  // HMA's names have no lower case: "my_bank" is no bank of its (nor "MY_BANK"'s other spelling).
  if (std::any_of(hma_name.begin(), hma_name.end(), [](char c) { return c >= 'a' && c <= 'z'; })) return "";
  std::string out(hma_name);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

bool ValidHmaName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::set<std::string> SplitHmaList(std::string_view list) {
  const auto items = SplitList(list);
  return {items.begin(), items.end()};
}

double HmaCoinflip(const std::string* seed) {
  std::uint64_t bits = 0;
  if (seed != nullptr) {
    const std::string digest = Sha256Hex(std::string_view(*seed));
    bits = std::stoull(digest.substr(0, 16), nullptr, 16);
  } else {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    bits = generator();
  }
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

Result<bool> HmaBool(std::string_view text) {
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lowered == "true" || lowered == "1") return true;
  if (lowered == "false" || lowered == "0") return false;
  return Fail(ErrorCode::kInvalidArgument, "invalid boolean parameter - prefer true/false");
}

Result<std::string> HmaValidateSignal(const HmaSignalType& type, std::string_view value) {
  auto hex = [](std::string_view text, std::size_t size) {
    return text.size() == size &&
           std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  };
  if (type.name == "pdq") {
    if (!hex(value, 64)) return Fail(ErrorCode::kInvalidArgument, "invalid PDQ hash");
    return std::string(value);
  }
  std::string normalized(value);
  normalized.erase(0, normalized.find_first_not_of(" \t\r\n"));
  normalized.erase(normalized.find_last_not_of(" \t\r\n") + 1);
  std::transform(normalized.begin(), normalized.end(), normalized.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!hex(normalized, 32)) {
    std::string shown(value.substr(0, 80));
    std::string quoted = "'";
    for (char c : shown) {
      if (c == '\\' || c == '\'') quoted += '\\';
      quoted += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    }
    return Fail(ErrorCode::kInvalidArgument, quoted + "' is not a valid MD5 hash");
  }
  return normalized;
}

std::string HmaDistance(const HmaSignalType& type, int distance) {
  return type.name == "pdq" ? std::to_string(distance) : std::string("-");
}

boost::json::value HmaComparison(const HmaSignalType& type, const std::string& left, const std::string& right) {
  if (type.vigil_type == "pdq") {
    const auto a = PdqHash::FromHex(left);
    const auto b = PdqHash::FromHex(right);
    const int distance = a && b ? a->Distance(*b) : 256;
    return boost::json::array{distance <= type.compare_threshold, boost::json::object{{"distance", distance}}};
  }
  return boost::json::array{left == right, boost::json::object{}};
}

std::int64_t HmaIndexSize(const MatcherStats& stats, const HmaSignalType& type) {
  static constexpr const char* kTypes[] = {"pdq", "md5", "sha1", "sha256", "vpdq"};
  for (int i = 0; i < 5; ++i) {
    if (type.vigil_type == kTypes[i]) return static_cast<std::int64_t>(stats.entries_by_type[i]);
  }
  return 0;
}

std::string FlaskRule(std::string_view pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      const auto end = pattern.find('}', i);
      const auto name = pattern.substr(i + 1, end - i - 1);
      out += name == "content_id" ? "<int:" : (name == "exchange_name" || name == "api_name") ? "<string:" : "<";
      out += name;
      out += '>';
      i = end;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

Response HmaJson(http::status status, const boost::json::value& body) {
  Response response{status, 11};
  response.set(http::field::content_type, "application/json");
  std::string text;
  WriteFlaskJson(body, text);
  response.body() = std::move(text) + "\n";
  return response;
}

Response HmaError(http::status status, std::string_view message) {
  return HmaJson(status, boost::json::object{{"message", message}});
}

Response HmaText(http::status status, std::string_view text) {
  Response response{status, 11};
  response.set(http::field::content_type, "text/html; charset=utf-8");
  response.body() = std::string(text);
  return response;
}

Result<boost::json::value> ParseHmaJsonBody(const Request& request, std::size_t max_bytes) {
  if (MediaType(request) != "application/json") {
    return Fail(ErrorCode::kInvalidArgument, "expected an application/json body");
  }
  if (request.body().size() > max_bytes) return Fail(ErrorCode::kTooLarge, "the JSON body is too large");
  return ParseStrictJson(request.body(), 32);
}

}  // namespace vigil::server
