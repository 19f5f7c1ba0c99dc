// Routes for uploads: POST /v1/hash, POST /v1/lookup, POST /v1/content, GET /v1/content/{id}.
// Images get PDQ and digests; videos (sniffed from the bytes) get vPDQ and digests, and match
// video banks through the matcher's frame index.
#include <algorithm>
#include <set>
#include <tuple>
#include <spdlog/spdlog.h>

#include "server/api_service.h"
#include "server/api_support.h"
#include "signals/media_hashing.h"
#include "util/json_number.h"
#include "util/strict_json.h"
#include "vigil/file_hasher.h"
#include "vigil/signal_type.h"
#include "vigil/video.h"

namespace vigil::server {
namespace {

constexpr std::size_t kMaxLookupSignals = 1000;

// Media bodies must say they are media; the format itself is sniffed from the bytes.
Status CheckMediaType(const Request& request) {
  const auto type = MediaType(request);
  if (type.rfind("image/", 0) == 0 || type.rfind("video/", 0) == 0 || type == "application/octet-stream") return {};
  return Fail(ErrorCode::kUnsupported, "Content-Type must be image/*, video/* or application/octet-stream, got '" +
                                           type.substr(0, 80) + "'");
}

Result<HashedMedia> HashBody(const Request& request, const ApiOptions& options, ExtraMeasures extra = {}) {
  VIGIL_TRY(CheckMediaType(request));
  if (request.body().empty()) return Fail(ErrorCode::kInvalidArgument, "empty body: send the media bytes");
  const auto& body = request.body();
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  MediaHashOptions hash_options;
  hash_options.limits = options.decode_limits;
  hash_options.video = options.video;
  hash_options.extra = extra;
  // Hostile bytes are decoded in a sandboxed worker process when the service has them.
  if (options.media_hasher) return options.media_hasher(bytes, hash_options);
  return HashMedia(bytes, hash_options);
}

boost::json::array FramesJson(const std::vector<VpdqFrame>& frames) {
  boost::json::array out;
  for (const VpdqFrame& f : frames) {
    out.push_back(boost::json::object{{"frame", f.frame},
                                      {"quality", f.quality},
                                      {"pdq", f.pdq.ToHex()},
                                      {"timestamp", std::round(f.timestamp * 1000) / 1000}});
  }
  return out;
}

}  // namespace

Response ApiService::PostHash(ApiCall& call) {
  auto hashed = HashBody(call.request, options_);
  if (!hashed) return ErrorResponse(hashed.error());
  boost::json::object hashes;
  for (const auto& [type, value] : hashed->signals) hashes[type] = value;
  boost::json::object out{{"media_type", hashed->media_type},
                          {"width", hashed->width},
                          {"height", hashed->height},
                          {"byte_size", call.request.body().size()},
                          {"hashes", std::move(hashes)}};
  out["pdq_quality"] = hashed->pdq_quality ? boost::json::value(*hashed->pdq_quality) : nullptr;
  if (hashed->video) {
    out["duration"] = hashed->video->duration_seconds;
    out["frame_rate"] = hashed->video->frame_rate;
    out["vpdq"] = FramesJson(hashed->video->frames);
  }
  return JsonResponse(http::status::ok, out);
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
  std::vector<std::optional<std::vector<VpdqFrame>>> videos;  // parallel: vpdq frames
  for (std::size_t i = 0; i < array.size(); ++i) {
    const auto where = "signals[" + std::to_string(i) + "]";
    if (!array[i].is_object()) return ErrorResponse(http::status::bad_request, "invalid_argument", where + " is not an object");
    const auto& object = array[i].as_object();
    const auto* type = object.if_contains("type");
    const auto* value = object.if_contains("value");
    if (type == nullptr || !type->is_string() || value == nullptr || !value->is_string()) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", where + " needs string 'type' and 'value'");
    }
    LookupSignal query{std::string(type->as_string()), std::string(value->as_string()), std::nullopt, ""};
    if (const auto* quality = object.if_contains("quality"); quality != nullptr && !quality->is_null()) {
      if (!quality->is_int64() || quality->as_int64() < 0 || quality->as_int64() > 100) {
        return ErrorResponse(http::status::bad_request, "invalid_argument", where + ".quality must be an integer 0..100");
      }
      query.quality = static_cast<int>(quality->as_int64());
    }
    if (query.signal_type == "vpdq") {
      // The value is the video's vPDQ output (frame,quality,pdq_hex,timestamp lines).
      auto frames = ParseVpdq(query.value, 100'000);
      if (!frames) return ErrorResponse(http::status::bad_request, "invalid_argument", where + ": " + frames.error().message);
      videos.emplace_back(std::move(*frames));
    } else {
      if (auto normalized = NormalizeSignal(query.signal_type, query.value); !normalized) {
        return ErrorResponse(http::status::bad_request, "invalid_argument", where + ": " + normalized.error().message);
      } else {
        query.value = std::move(*normalized);
      }
      videos.emplace_back(std::nullopt);
    }
    queries.push_back(std::move(query));
  }
  metrics_.CountLookupSignals(static_cast<double>(queries.size()));

  struct Found {
    std::int64_t entry_id;
    std::string bank;
    int distance;
    std::optional<double> query_percent, compared_percent;
  };
  std::vector<std::vector<Found>> hits(queries.size());
  std::vector<std::int64_t> matched_ids;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    if (videos[i]) {
      auto found = matcher_.LookupVideo(*videos[i], options_.video_match);
      if (!found) return ErrorResponse(found.error());
      for (const auto& hit : *found) {
        hits[i].push_back({hit.entry_id, hit.bank_name, hit.distance, hit.query_match_percent, hit.compared_match_percent});
        metrics_.CountMatch(hit.bank_name, "vpdq");
      }
    } else {
      // A plug-in's values are compared by the plug-in, in its sandbox.
      const SignalTypeInfo* info = FindSignalType(queries[i].signal_type);
      auto found = info != nullptr && info->plugin && options_.plugin_lookup
                       ? options_.plugin_lookup(queries[i].signal_type, queries[i].value)
                       : matcher_.Lookup(queries[i]);
      if (!found) return ErrorResponse(found.error());
      for (const auto& hit : *found) {
        hits[i].push_back({hit.entry_id, hit.bank_name, hit.distance, std::nullopt, std::nullopt});
        metrics_.CountMatch(hit.bank_name, hit.signal_type);
      }
    }
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
      boost::json::object match{{"bank", hit.bank},
                                {"entry_id", hit.entry_id},
                                {"distance", hit.distance},
                                {"entry_value", entry.value},
                                {"source", entry.provenance.source},
                                {"member", entry.provenance.member},
                                {"external_id", entry.provenance.external_id},
                                {"classification", entry.provenance.classification}};
      if (hit.query_percent) match["query_match_percent"] = JsonNumber(*hit.query_percent);
      if (hit.compared_percent) match["compared_match_percent"] = JsonNumber(*hit.compared_percent);
      matches.push_back(std::move(match));
    }
    boost::json::object result{{"type", queries[i].signal_type}, {"matches", std::move(matches)}};
    result["value"] = videos[i] ? boost::json::value(VpdqIdentity(*videos[i])) : boost::json::value(queries[i].value);
    results.push_back(std::move(result));
  }
  return JsonResponse(http::status::ok, boost::json::object{{"results", std::move(results)}});
}

Response ApiService::PostContent(ApiCall& call) {
  // Parse, call the upload workflow, answer: hashing, matching and the policy live there.
  UploadRequest upload;
  upload.content_id = call.query["content_id"];
  upload.user_id = call.query["user_id"];
  if (auto ok = CheckUploadIds(upload.content_id, upload.user_id); !ok) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "query parameter " + ok.error().message);
  }
  if (const auto metadata = call.request["X-Vigil-Metadata"]; !metadata.empty()) {
    const auto value = ParseStrictJson(metadata, 16);
    if (!value || !value->is_object()) {
      return ErrorResponse(http::status::bad_request, "invalid_argument",
                           "X-Vigil-Metadata must be a JSON object" + (value ? std::string() : ": " + value.error().message));
    }
    upload.metadata_json = boost::json::serialize(*value);
  }
  if (auto ok = CheckMediaType(call.request); !ok) return ErrorResponse(ok.error());
  const auto& body = call.request.body();
  if (body.empty()) return ErrorResponse(http::status::bad_request, "invalid_argument", "empty body: send the media bytes");
  upload.bytes = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  auto recorded = uploads_.Submit(upload);
  if (!recorded) {
    if (StatusFor(recorded.error().code) == http::status::internal_server_error) {
      spdlog::error(R"("msg":"record upload failed","content_id":{},"error":{})",
                    boost::json::serialize(boost::json::value(upload.content_id)),
                    boost::json::serialize(boost::json::value(recorded.error().ToString())));
    }
    return ErrorResponse(recorded.error());
  }
  auto response = JsonResponse(http::status::created, UploadAnswer(recorded->content));
  if (recorded->replayed) response.set("Idempotent-Replay", "true");
  return response;
}

Response ApiService::GetContent(ApiCall& call) {
  if (auto refused = RefuseUnworkedContent(call, call.path["content_id"])) return std::move(*refused);
  auto content = store_.GetContent(call.path["content_id"]);
  if (!content) return ErrorResponse(content.error());
  boost::json::object out = UploadAnswer(*content);
  out["state"] = content->state;
  return JsonResponse(http::status::ok, out);
}

}  // namespace vigil::server
