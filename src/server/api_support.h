// Helpers shared by the API's route files: JSON responses and errors, JSON body parsing with
// limits, query-string decoding, error-code to HTTP-status mapping, and JSON views of records.
#pragma once

#include <boost/json.hpp>
#include <initializer_list>
#include <map>
#include <string>

#include "server/http_server.h"
#include "store/record_json.h"
#include "util/iso_time.h"
#include "workflow/upload_json.h"
#include "vigil/store.h"

namespace vigil::server {

// Matches a route pattern ("/v1/banks/{name}") against a path; fills `params` with the segments'
// decoded values. A segment that is not validly percent-encoded (or decodes to nothing) matches no route.
bool MatchRoutePattern(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params);

// 400 bad input, 404, 409, 413, 415, 503, and 500 only for our own failures.
http::status StatusFor(ErrorCode code);

Response JsonResponse(http::status status, const boost::json::value& body);
Response ErrorResponse(http::status status, std::string_view code, std::string_view message);
Response ErrorResponse(const Error& error);
// The role a request acts in: `asked` (X-Vigil-Role; "" : none) when the caller holds it and the
// route allows it, else the first of the route's roles the caller holds (`held`: "reviewer,legal").
// kPermissionDenied naming what the route needs when there is none.
Result<std::string> ActingRole(const std::vector<std::string>& route_roles, std::string_view held, std::string_view asked);

// Parses a JSON object body (Content-Type application/json, size and depth bounded).
Result<boost::json::object> ParseJsonObject(const Request& request, std::size_t max_bytes);
// kInvalidArgument naming the first field of `body` not in `known` (a misspelt field must not be
// silently ignored: it may carry what the caller thinks they set).
Status CheckKnownFields(const boost::json::object& body, std::initializer_list<std::string_view> known);

// "x%20y" -> "x y" ('+' too when `plus_is_space`, as in query strings); kInvalidArgument on a bad
// escape. Path parameters are decoded with it, so ids with reserved characters round-trip.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// "a=1&b=x%20y" -> {a: 1, b: "x y"}; kInvalidArgument on bad escapes and on a name given twice.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);

// Reads an optional integer query parameter within [min, max].
Result<std::int64_t> QueryInt(const std::map<std::string, std::string>& query, const std::string& name,
                              std::int64_t fallback, std::int64_t min, std::int64_t max);

// The request's charset parameter, lower-cased ("" when none).
std::string ContentTypeCharset(const Request& request);
// The request's media type without parameters, lower-cased ("application/json").
std::string MediaType(const Request& request);

boost::json::value OptTime(const std::optional<std::int64_t>& t);

// A string member of a JSON object, or "".
std::string OptString(const boost::json::object& body, const char* key);
// A positive integer path parameter ({id}).
Result<std::int64_t> PathIdParam(const std::map<std::string, std::string>& path, const char* name);

}  // namespace vigil::server
