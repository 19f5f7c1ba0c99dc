// JSON, query and error helpers for the API routes.
#include "server/api_support.h"


#include <algorithm>
#include <charconv>
#include <ctime>

#include "util/json_number.h"
#include "vigil/roles.h"
#include "util/utf8.h"
#include "util/strict_json.h"

namespace vigil::server {

// Matches "/v1/banks/{name}" against a path; fills `params` with the segments' decoded values. A
// segment that is not validly percent-encoded (or decodes to nothing) matches no route.
bool MatchRoutePattern(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params) {
  params.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pattern_end = pattern.find('/');
    const auto path_end = path.find('/');
    const auto segment = pattern.substr(0, pattern_end);
    const auto value = path.substr(0, path_end);
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
      auto decoded = PercentDecode(value, false);
      if (!decoded || decoded->empty()) return false;
      params[std::string(segment.substr(1, segment.size() - 2))] = std::move(*decoded);
    } else if (segment != value) {
      return false;
    }
    pattern = pattern_end == std::string_view::npos ? std::string_view{} : pattern.substr(pattern_end);
    path = path_end == std::string_view::npos ? std::string_view{} : path.substr(path_end);
  }
  return true;
}

http::status StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kCorrupt:
    case ErrorCode::kTruncated: return http::status::bad_request;
    case ErrorCode::kNotFound: return http::status::not_found;
    case ErrorCode::kAlreadyExists: return http::status::conflict;
    case ErrorCode::kTooLarge: return http::status::payload_too_large;
    case ErrorCode::kUnsupported: return http::status::unsupported_media_type;
    case ErrorCode::kUnavailable: return http::status::service_unavailable;
    case ErrorCode::kPermissionDenied: return http::status::forbidden;
    case ErrorCode::kDeadlineExceeded: return http::status::unprocessable_entity;
    case ErrorCode::kIoError:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kInternal: return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

Response JsonResponse(http::status status, const boost::json::value& body) {
  Response response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.body() = boost::json::serialize(body);
  return response;
}

Response ErrorResponse(http::status status, std::string_view code, std::string_view message) {
  boost::json::object error{{"code", code}, {"message", message}};
  return JsonResponse(status, boost::json::object{{"error", std::move(error)}});
}

Response ErrorResponse(const Error& error) {
  const auto status = StatusFor(error.code);
  // Our own failures are logged with detail by the caller; clients get no internals.
  if (status == http::status::internal_server_error) return ErrorResponse(status, "internal", "internal error");
  return ErrorResponse(status, ErrorCodeName(error.code), error.message);
}

std::string ContentTypeCharset(const Request& request) {
  std::string type(request[http::field::content_type]);
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto at = type.find("charset=");
  if (at == std::string::npos) return "";
  std::string charset = type.substr(at + 8);
  if (const auto end = charset.find(';'); end != std::string::npos) charset.resize(end);
  std::erase(charset, '"');
  while (!charset.empty() && charset.back() == ' ') charset.pop_back();
  return charset;
}

std::string MediaType(const Request& request) {
  std::string type(request[http::field::content_type]);
  if (const auto semicolon = type.find(';'); semicolon != std::string::npos) type.resize(semicolon);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

Result<boost::json::object> ParseJsonObject(const Request& request, std::size_t max_bytes) {
  if (MediaType(request) != "application/json") {
    return Fail(ErrorCode::kUnsupported, "Content-Type must be application/json");
  }
  if (auto charset = ContentTypeCharset(request); !charset.empty() && charset != "utf-8" && charset != "utf8") {
    return Fail(ErrorCode::kUnsupported, "JSON bodies must be UTF-8, not charset=" + charset.substr(0, 40));
  }
  if (request.body().size() > max_bytes) {
    return Fail(ErrorCode::kTooLarge, "JSON body exceeds " + std::to_string(max_bytes) + " bytes");
  }
  VIGIL_ASSIGN_OR_RETURN(auto value, ParseStrictJson(request.body()));
  if (!value.is_object()) return Fail(ErrorCode::kInvalidArgument, "the JSON body must be an object");
  return std::move(value.as_object());
}

Status CheckKnownFields(const boost::json::object& body, std::initializer_list<std::string_view> known) {
  for (const auto& field : body) {
    if (std::find(known.begin(), known.end(), std::string_view(field.key())) == known.end()) {
      return Fail(ErrorCode::kInvalidArgument, "unknown field '" + std::string(field.key()).substr(0, 64) + "'");
    }
  }
  return {};
}

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && plus_is_space) {
      decoded += ' ';
    } else if (text[i] == '%') {
      unsigned value = 0;
      if (i + 2 >= text.size()) {
        return Fail(ErrorCode::kInvalidArgument, "bad percent-escape (a % needs two hex digits)");
      }
      const auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec != std::errc{} || end != text.data() + i + 3) {
        return Fail(ErrorCode::kInvalidArgument, "bad percent-escape (a % needs two hex digits)");
      }
      decoded += static_cast<char>(value);
      i += 2;
    } else {
      decoded += text[i];
    }
  }
  // Decoded text ends up in JSON answers, the audit log and reports: UTF-8 or nothing.
  if (!IsValidUtf8(decoded)) return Fail(ErrorCode::kInvalidArgument, "percent-escapes that decode to invalid UTF-8");
  return decoded;
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key) return Fail(ErrorCode::kInvalidArgument, "query string: " + key.error().message);
    if (!value) return Fail(ErrorCode::kInvalidArgument, "query string: " + value.error().message);
    if (!out.emplace(std::move(*key), std::move(*value)).second) {
      return Fail(ErrorCode::kInvalidArgument, "query parameter given twice (each may appear once)");
    }
  }
  return out;
}

Result<std::int64_t> QueryInt(const std::map<std::string, std::string>& query, const std::string& name,
                              std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const auto it = query.find(name);
  if (it == query.end()) return fallback;
  std::int64_t value = 0;
  const auto& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return Fail(ErrorCode::kInvalidArgument, "query parameter '" + name + "' must be an integer within " +
                                                 std::to_string(min) + ".." + std::to_string(max));
  }
  return value;
}

boost::json::value OptTime(const std::optional<std::int64_t>& t) {
  return t ? boost::json::value(IsoTime(*t)) : boost::json::value(nullptr);
}

std::string OptString(const boost::json::object& body, const char* key) {
  const auto* v = body.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<std::int64_t> PathIdParam(const std::map<std::string, std::string>& path, const char* name) {
  const auto it = path.find(name);
  const std::string text = it == path.end() ? std::string() : it->second;
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
    return Fail(ErrorCode::kInvalidArgument, std::string(name) + " must be a positive integer");
  }
  return id;
}

Result<std::string> ActingRole(const std::vector<std::string>& route_roles, std::string_view held, std::string_view asked) {
  std::string needs;
  for (const auto& role : route_roles) needs += (needs.empty() ? "" : ", ") + role;
  const bool plural = held.find(',') != std::string_view::npos;
  if (!asked.empty()) {
    if (!HoldsRole(held, asked)) {
      return Fail(ErrorCode::kPermissionDenied, "X-Vigil-Role names '" + std::string(asked.substr(0, 32)) +
                                                    "', a role this caller does not hold (it holds: " + std::string(held) + ")");
    }
    if (std::find(route_roles.begin(), route_roles.end(), asked) == route_roles.end()) {
      return Fail(ErrorCode::kPermissionDenied,
                  "role '" + std::string(asked) + "' (X-Vigil-Role) may not call this route (needs: " + needs + ")");
    }
    return std::string(asked);
  }
  for (const auto& role : route_roles) {
    if (HoldsRole(held, role)) return role;
  }
  return Fail(ErrorCode::kPermissionDenied, std::string(plural ? "roles '" : "role '") + std::string(held) +
                                                "' may not call this route (needs: " + needs + ")");
}

}  // namespace vigil::server
