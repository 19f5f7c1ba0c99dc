// Routes for uploads: POST /v1/hash, POST /v1/lookup, POST /v1/content, GET /v1/content/{id}.
#include <set>
#include <spdlog/spdlog.h>

#include "server/api_service.h"
#include "server/api_support.h"
#include "vigil/file_hasher.h"
#include "vigil/signal_type.h"

namespace vigil::server {
namespace {

constexpr std::size_t kMaxLookupSignals = 1000;

// Media bodies must say they are media; the format itself is sniffed from the bytes.
Status CheckMediaType(const Request& request) {
  const auto type = MediaType(request);
  if (type.rfind("image/", 0) == 0 || type == "application/octet-stream") return {};
  return Fail(ErrorCode::kUnsupported, "Content-Type must be image/* or application/octet-stream, got '" +
                                           type.substr(0, 80) + "'");
}

Result<FileHashResult> HashBody(const Request& request, const DecodeLimits& limits) {
  if (auto ok = CheckMediaType(request); !ok) return tl::unexpected(ok.error());
  if (request.body().empty()) return Fail(ErrorCode::kInvalidArgument, "empty body: send the media bytes");
  FileHashOptions options;
  options.limits = limits;
  FileHasher hasher(options);
  const auto& body = request.body();
  return hasher.HashBytes({reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
}

std::map<std::string, std::string> SignalsOf(const FileHashResult& hashed) {
  return {{"pdq", hashed.pdq.hash.ToHex()},
          {"md5", hashed.digests.md5},
          {"sha1", hashed.digests.sha1},
          {"sha256", hashed.digests.sha256}};
}

std::string MimeOf(ImageFormat format) { return "image/" + std::string(ImageFormatName(format)); }

}  // namespace

Response ApiService::PostHash(ApiCall& call) {
  auto hashed = HashBody(call.request, options_.decode_limits);
  if (!hashed) return ErrorResponse(hashed.error());
  boost::json::object hashes;
  for (const auto& [type, value] : SignalsOf(*hashed)) hashes[type] = value;
  return JsonResponse(http::status::ok, boost::json::object{{"media_type", MimeOf(hashed->format)},
                                                            {"width", hashed->width},
                                                            {"height", hashed->height},
                                                            {"byte_size", call.request.body().size()},
                                                            {"hashes", std::move(hashes)},
                                                            {"pdq_quality", hashed->pdq.quality}});
}

Response ApiService::PostLookup(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  const auto* signals = body->if_contains("signals");
  if (signals == nullptr || !signals->is_array()) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "expected {\"signals\": [{\"type\", \"value\"}, ...]}");
  }
  const auto& array = signals->as_array();
  if (array.size() > kMaxLookupSignals) {
    return ErrorResponse(http::status::payload_too_large, "too_large",
                         "at most " + std::to_string(kMaxLookupSignals) + " signals per lookup");
  }
  std::vector<LookupSignal> queries;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const auto where = "signals[" + std::to_string(i) + "]";
    if (!array[i].is_object()) return ErrorResponse(http::status::bad_request, "invalid_argument", where + " is not an object");
    const auto& object = array[i].as_object();
    const auto* type = object.if_contains("type");
    const auto* value = object.if_contains("value");
    if (type == nullptr || !type->is_string() || value == nullptr || !value->is_string()) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", where + " needs string 'type' and 'value'");
    }
    LookupSignal query{std::string(type->as_string()), std::string(value->as_string()), std::nullopt};
    if (const auto* quality = object.if_contains("quality"); quality != nullptr && !quality->is_null()) {
      if (!quality->is_int64() || quality->as_int64() < 0 || quality->as_int64() > 100) {
        return ErrorResponse(http::status::bad_request, "invalid_argument", where + ".quality must be an integer 0..100");
      }
      query.quality = static_cast<int>(quality->as_int64());
    }
    if (auto normalized = NormalizeSignal(query.signal_type, query.value); !normalized) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", where + ": " + normalized.error().message);
    }
    queries.push_back(std::move(query));
  }
  metrics_.CountLookupSignals(static_cast<double>(queries.size()));

  std::vector<std::vector<MatchHit>> hits(queries.size());
  std::vector<std::int64_t> matched_ids;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    auto found = matcher_.Lookup(queries[i]);
    if (!found) return ErrorResponse(found.error());
    hits[i] = std::move(*found);
    for (const auto& hit : hits[i]) matched_ids.push_back(hit.entry_id);
  }
  // Provenance only for what matched: a lookup that matches nothing never touches the database.
  std::map<std::int64_t, BankEntry> entries;
  if (!matched_ids.empty()) {
    auto fetched = store_.GetEntries(matched_ids);
    if (!fetched) return ErrorResponse(fetched.error());
    for (auto& entry : *fetched) entries[entry.id] = std::move(entry);
  }
  boost::json::array results;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    boost::json::array matches;
    for (const auto& hit : hits[i]) {
      const auto& entry = entries[hit.entry_id];
      matches.push_back(boost::json::object{{"bank", hit.bank_name},
                                            {"entry_id", hit.entry_id},
                                            {"distance", hit.distance},
                                            {"entry_value", entry.value},
                                            {"source", entry.provenance.source},
                                            {"member", entry.provenance.member},
                                            {"external_id", entry.provenance.external_id},
                                            {"classification", entry.provenance.classification}});
      metrics_.CountMatch(hit.bank_name, hit.signal_type);
    }
    results.push_back(boost::json::object{{"type", queries[i].signal_type},
                                          {"value", *NormalizeSignal(queries[i].signal_type, queries[i].value)},
                                          {"matches", std::move(matches)}});
  }
  return JsonResponse(http::status::ok, boost::json::object{{"results", std::move(results)}});
}

Response ApiService::PostContent(ApiCall& call) {
  ContentRecord content;
  content.content_id = call.query["content_id"];
  content.user_id = call.query["user_id"];
  if (content.content_id.empty() || content.content_id.size() > 256) {
    return ErrorResponse(http::status::bad_request, "invalid_argument",
                         "query parameter content_id (1-256 characters) is required");
  }
  if (content.user_id.size() > 256) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "user_id longer than 256 characters");
  }
  if (const auto metadata = call.request["X-Vigil-Metadata"]; !metadata.empty()) {
    boost::json::parse_options options;
    options.max_depth = 16;
    boost::system::error_code ec;
    const auto value = boost::json::parse(metadata, ec, {}, options);
    if (ec || !value.is_object()) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", "X-Vigil-Metadata must be a JSON object");
    }
    content.metadata_json = boost::json::serialize(value);
  }
  auto hashed = HashBody(call.request, options_.decode_limits);
  if (!hashed) return ErrorResponse(hashed.error());
  content.media_type = MimeOf(hashed->format);
  content.byte_size = static_cast<std::int64_t>(call.request.body().size());
  content.hashes = SignalsOf(*hashed);
  content.pdq_quality = hashed->pdq.quality;
  for (const auto& [type, value] : content.hashes) {
    LookupSignal query{type, value, type == "pdq" ? std::optional<int>(hashed->pdq.quality) : std::nullopt};
    auto hits = matcher_.Lookup(query);
    if (!hits) return ErrorResponse(hits.error());
    for (const auto& hit : *hits) {
      MatchRecord match;
      match.bank_id = hit.bank_id;
      match.entry_id = hit.entry_id;
      match.signal_type = hit.signal_type;
      match.distance = hit.distance;
      if (type == "pdq") match.quality = hashed->pdq.quality;
      content.matches.push_back(std::move(match));
      metrics_.CountMatch(hit.bank_name, hit.signal_type);
    }
  }
  auto recorded = store_.RecordContent(content);
  if (!recorded) {
    if (StatusFor(recorded.error().code) == http::status::internal_server_error) {
      spdlog::error(R"("msg":"record content failed","error":{})",
                    boost::json::serialize(boost::json::value(recorded.error().ToString())));
    }
    return ErrorResponse(recorded.error());
  }
  return JsonResponse(http::status::created, ContentJson(*recorded));
}

Response ApiService::GetContent(ApiCall& call) {
  auto content = store_.GetContent(call.path["content_id"]);
  if (!content) return ErrorResponse(content.error());
  return JsonResponse(http::status::ok, ContentJson(*content));
}

}  // namespace vigil::server
