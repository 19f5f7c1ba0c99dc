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
  if (auto ok = CheckMediaType(request); !ok) return tl::unexpected(ok.error());
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
      auto found = matcher_.Lookup(queries[i]);
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
      if (hit.query_percent) match["query_match_percent"] = *hit.query_percent;
      if (hit.compared_percent) match["compared_match_percent"] = *hit.compared_percent;
      matches.push_back(std::move(match));
    }
    boost::json::object result{{"type", queries[i].signal_type}, {"matches", std::move(matches)}};
    result["value"] = videos[i] ? boost::json::value(VpdqIdentity(*videos[i])) : boost::json::value(queries[i].value);
    results.push_back(std::move(result));
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
  // Ids are shown to people and written in reports: no control characters (NUL, newlines, DEL).
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"content_id", &content.content_id},
                                    {"user_id", &content.user_id}}) {
    if (std::any_of(value->begin(), value->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return ErrorResponse(http::status::bad_request, "invalid_argument",
                           std::string(name) + " contains a control character (NUL, a line break, DEL...)");
    }
  }
  if (const auto metadata = call.request["X-Vigil-Metadata"]; !metadata.empty()) {
    const auto value = ParseStrictJson(metadata, 16);
    if (!value || !value->is_object()) {
      return ErrorResponse(http::status::bad_request, "invalid_argument",
                           "X-Vigil-Metadata must be a JSON object" + (value ? std::string() : ": " + value.error().message));
    }
    content.metadata_json = boost::json::serialize(*value);
  }
  auto hashed = HashBody(call.request, options_,
                         {matcher_.AnyBankUses("dihedral"), matcher_.AnyBankUses("trimmed")});
  if (!hashed) return ErrorResponse(hashed.error());
  content.media_type = hashed->media_type;
  content.byte_size = static_cast<std::int64_t>(call.request.body().size());
  content.hashes = hashed->signals;
  content.pdq_quality = hashed->pdq_quality;
  for (const auto& [type, value] : content.hashes) {
    if (type == "vpdq") continue;  // matched by its frames below
    LookupSignal query{type, value, type == "pdq" ? hashed->pdq_quality : std::nullopt, ""};
    auto hits = matcher_.Lookup(query);
    if (!hits) return ErrorResponse(hits.error());
    for (const auto& hit : *hits) {
      MatchRecord match;
      match.bank_id = hit.bank_id;
      match.entry_id = hit.entry_id;
      match.signal_type = hit.signal_type;
      match.distance = hit.distance;
      if (type == "pdq") match.quality = hashed->pdq_quality;
      content.matches.push_back(std::move(match));
      metrics_.CountMatch(hit.bank_name, hit.signal_type);
    }
  }
  // Rotations/flips and border-trimmed content, for the banks that enable those measures; an entry
  // already matched by the upload's own hashes keeps that match.
  for (const auto& [label, measure, hash] : hashed->extra) {
    LookupSignal query{"pdq", hash.ToHex(), hashed->pdq_quality, measure};
    auto hits = matcher_.Lookup(query);
    if (!hits) return ErrorResponse(hits.error());
    for (const auto& hit : *hits) {
      const bool seen = std::any_of(content.matches.begin(), content.matches.end(),
                                    [&](const MatchRecord& m) { return m.entry_id == hit.entry_id; });
      if (seen) continue;
      MatchRecord match;
      match.bank_id = hit.bank_id;
      match.entry_id = hit.entry_id;
      match.signal_type = "pdq";
      match.distance = hit.distance;
      match.quality = hashed->pdq_quality;
      match.measure = label;
      content.matches.push_back(std::move(match));
      metrics_.CountMatch(hit.bank_name, "pdq");
    }
  }
  if (hashed->video) {
    content.vpdq = FormatVpdq(hashed->video->frames);
    if (!VpdqMatchableHashes(hashed->video->frames, options_.video_match.min_quality).empty()) {
      auto hits = matcher_.LookupVideo(hashed->video->frames, options_.video_match);
      if (!hits) return ErrorResponse(hits.error());
      for (const auto& hit : *hits) {
        MatchRecord match;
        match.bank_id = hit.bank_id;
        match.entry_id = hit.entry_id;
        match.signal_type = "vpdq";
        match.distance = hit.distance;
        match.query_match_percent = hit.query_match_percent;
        match.compared_match_percent = hit.compared_match_percent;
        content.matches.push_back(std::move(match));
        metrics_.CountMatch(hit.bank_name, "vpdq");
      }
    }
  }
  // The upload, its matches and what the policy does about them commit together; the bytes of an
  // upload that opens or joins a case are kept (written whole, synced, renamed) before that commit.
  UploadPolicy policy;
  if (const auto rules = Rules()) {
    policy.evaluate = [rules](const ContentFacts& facts) { return rules->Evaluate(facts); };
  }
  if (!options_.media_dir.empty()) {
    policy.keep_media = [this, &call](const std::string& sha256) { return KeepMedia(sha256, call.request.body()); };
  }
  auto recorded = store_.Cases().RecordUpload(content, policy, "policy");
  if (!recorded) {
    if (StatusFor(recorded.error().code) == http::status::internal_server_error) {
      spdlog::error(R"("msg":"record upload failed","content_id":{},"error":{})",
                    boost::json::serialize(boost::json::value(content.content_id)),
                    boost::json::serialize(boost::json::value(recorded.error().ToString())));
    }
    return ErrorResponse(recorded.error());
  }
  auto response = JsonResponse(http::status::created, UploadAnswer(recorded->content));
  if (recorded->replayed) response.set("Idempotent-Replay", "true");
  return response;
}

Response ApiService::GetContent(ApiCall& call) {
  auto content = store_.GetContent(call.path["content_id"]);
  if (!content) return ErrorResponse(content.error());
  boost::json::object out = UploadAnswer(*content);
  out["state"] = content->state;
  return JsonResponse(http::status::ok, out);
}

}  // namespace vigil::server
