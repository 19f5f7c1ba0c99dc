// The HMA-compatible surface: its listener's admission (the key callers act as, roles, rates,
// body limits), the probes (/status, /livez, /readyz, /site-map), hashing (/h/hash) and matching
// (/m/lookup, /m/raw_lookup, /m/compare, /m/index/status) with HMA 2.x's request and answer shapes
// (facts in docs/hma.md). Lookups go through the matcher and the upload workflow like /v1.
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <tuple>
#include <set>

#include "net/media_fetch.h"
#include "server/api_service.h"
#include "server/api_support.h"
#include "server/hma_shapes.h"
#include "server/multipart_form.h"
#include "vigil/clock.h"
#include "vigil/digest.h"
#include "vigil/pdq.h"
#include "vigil/signal_type.h"

namespace vigil::server {
namespace {

const std::vector<std::string> kHmaPublic = {};
const std::vector<std::string> kHasher = {"submitter"};
const std::vector<std::string> kCurate = {"bank-admin"};
const std::vector<std::string> kHmaReadBanks = {"bank-admin", "auditor"};

}  // namespace

const std::vector<ApiService::HmaRoute>& ApiService::HmaRoutes() {
  using V = http::verb;
  static const std::vector<HmaRoute> routes = {
      {V::get, "/", kHmaPublic, false, false, &ApiService::HmaHome},
      {V::get, "/status", kHmaPublic, false, false, &ApiService::HmaStatus},
      {V::get, "/status/live", kHmaPublic, false, false, &ApiService::HmaLivez},
      {V::get, "/livez", kHmaPublic, false, false, &ApiService::HmaLivez},
      {V::get, "/readyz", kHmaPublic, false, false, &ApiService::HmaReadyz},
      {V::get, "/site-map", kHmaPublic, false, false, &ApiService::HmaSiteMap},
      {V::get, "/h/hash", kHasher, false, true, &ApiService::HmaHashUrl},
      {V::post, "/h/hash", kHasher, false, true, &ApiService::HmaHashForm},
      {V::get, "/m/lookup", kHasher, false, false, &ApiService::HmaLookupGet},
      {V::post, "/m/lookup", kHasher, false, true, &ApiService::HmaLookupForm},
      {V::get, "/m/raw_lookup", kHasher, false, false, &ApiService::HmaRawLookup},
      {V::post, "/m/compare", kHasher, false, false, &ApiService::HmaCompare},
      {V::get, "/m/index/status", kHasher, false, false, &ApiService::HmaIndexStatus},
      {V::get, "/c/banks", kHmaReadBanks, true, false, &ApiService::HmaListBanks},
      {V::post, "/c/banks", kCurate, true, false, &ApiService::HmaCreateBank},
      {V::get, "/c/bank/{bank_name}", kHmaReadBanks, true, false, &ApiService::HmaGetBank},
      {V::put, "/c/bank/{bank_name}", kCurate, true, false, &ApiService::HmaUpdateBank},
      {V::delete_, "/c/bank/{bank_name}", kCurate, true, false, &ApiService::HmaDeleteBank},
      {V::post, "/c/bank/{bank_name}/content", kCurate, true, true, &ApiService::HmaAddContent},
      {V::get, "/c/bank/{bank_name}/content/{content_id}", kHmaReadBanks, true, false, &ApiService::HmaGetContent},
      {V::put, "/c/bank/{bank_name}/content/{content_id}", kCurate, true, false, &ApiService::HmaUpdateContent},
      {V::delete_, "/c/bank/{bank_name}/content/{content_id}", kCurate, true, false, &ApiService::HmaDeleteContent},
      {V::post, "/c/bank/{bank_name}/signal", kCurate, true, false, &ApiService::HmaAddSignal},
      {V::get, "/c/signal_type", kHmaReadBanks, true, false, &ApiService::HmaListSignalTypes},
      {V::put, "/c/signal_type/{signal_type_name}", kCurate, true, false, &ApiService::HmaUpdateSignalType},
      {V::get, "/c/signal_type/index", kHmaReadBanks, true, false, &ApiService::HmaSignalTypeIndex},
      {V::get, "/c/content_type", kHmaReadBanks, true, false, &ApiService::HmaListContentTypes},
      {V::get, "/c/exchanges/apis", kHmaReadBanks, true, false, &ApiService::HmaExchangeApis},
      {V::get, "/c/exchanges/api/{api_name}", kHmaReadBanks, true, false, &ApiService::HmaExchangeApi},
      {V::post, "/c/exchanges/api/{api_name}", kCurate, true, false, &ApiService::HmaExchangeApi},
      {V::get, "/c/exchanges/api/{api_name}/schema", kHmaReadBanks, true, false, &ApiService::HmaExchangeApiSchema},
      {V::post, "/c/exchanges", kCurate, true, false, &ApiService::HmaCreateExchange},
      {V::get, "/c/exchanges", kHmaReadBanks, true, false, &ApiService::HmaListExchanges},
      {V::get, "/c/exchange/{exchange_name}", kHmaReadBanks, true, false, &ApiService::HmaGetExchange},
      {V::put, "/c/exchange/{exchange_name}", kCurate, true, false, &ApiService::HmaUpdateExchange},
      {V::delete_, "/c/exchange/{exchange_name}", kCurate, true, false, &ApiService::HmaDeleteExchange},
      {V::get, "/c/exchange/{exchange_name}/status", kHmaReadBanks, true, false, &ApiService::HmaExchangeStatus},
      {V::get, "/c/exchange/{exchange_name}/credentials", kHmaReadBanks, true, false, &ApiService::HmaExchangeCredentials},
      {V::post, "/c/exchange/{exchange_name}/credentials", kCurate, true, false, &ApiService::HmaExchangeCredentials},
  };
  return routes;
}

Status ApiService::CheckHmaKeys() {
  if (options_.hma.require_bearer) return {};
  for (const auto& [name, what, role] :
       {std::tuple<std::string, const char*, const char*>{options_.hma.key, "key", "submitter"},
        {options_.hma.curator_key, "curator_key", "bank-admin"}}) {
    if (name.empty()) continue;
    auto key = auth_.ByName(name);
    if (!key) {
      return Fail(ErrorCode::kInvalidArgument, std::string("[hma] ") + what + " '" + name +
                                                   "' is not an active key (make it with `vigil keys create --role " +
                                                   role + " --name " + name + "` on this store)");
    }
    if (!HoldsRole(key->role, role)) {
      spdlog::warn(R"("msg":"hma key's role cannot call every route it is used for","key":{},"role":{},"needs":{})",
                   boost::json::serialize(boost::json::value(name)), boost::json::serialize(boost::json::value(key->role)),
                   boost::json::serialize(boost::json::value(role)));
    }
  }
  return {};
}

HttpCallbacks ApiService::HmaCallbacks() {
  HttpCallbacks callbacks;
  callbacks.admit = [this](const RequestHeader& header, const std::string& remote) { return AdmitHma(header, remote); };
  callbacks.handle = [this](Request& request, const RequestInfo& info) { return HandleHma(request, info); };
  callbacks.observe = [this](HttpEvent event, unsigned status, const std::string& detail) { Observe(event, status, detail); };
  return callbacks;
}

namespace {

// Coop's default base URL ends in '/', so its paths arrive as "//c/banks": runs of slashes are one.
std::string CollapseSlashes(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  return out;
}

// What AdmitHma found, for HandleHma.
struct HmaAdmitted {
  const ApiService::HmaRoute* route = nullptr;
  std::map<std::string, std::string> params;
  std::optional<ApiKeyRecord> key;
  std::chrono::steady_clock::time_point started;
};

}  // namespace

Admission ApiService::AdmitHma(const RequestHeader& header, const std::string& remote) {
  HmaAdmitted admitted;
  admitted.started = std::chrono::steady_clock::now();
  const std::string_view target = header.target();
  const std::string path = CollapseSlashes(target.substr(0, target.find('?')));
  const std::string_view query = target.find('?') == std::string_view::npos ? std::string_view{} : target.substr(target.find('?'));
  Admission admission;
  std::string allowed;
  for (const auto& candidate : HmaRoutes()) {
    // "/c/signal_type/index" is a route of its own, not a signal type named "index".
    if (candidate.pattern == "/c/signal_type/{signal_type_name}" && path == "/c/signal_type/index") continue;
    if (!MatchRoutePattern(candidate.pattern, path, admitted.params)) continue;
    if (candidate.method == header.method()) {
      admitted.route = &candidate;
      break;
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string(http::to_string(candidate.method));
  }
  auto refuse = [&](Response response, const std::string& key_name) {
    response.set("X-Content-Type-Options", "nosniff");
    response.set(http::field::cache_control, "no-store");
    const std::string route_name = admitted.route != nullptr ? "hma:" + admitted.route->pattern : "hma:(unmatched)";
    Record(route_name, header.method_string(), response.result_int(), admitted.started, remote, key_name);
    admission.refusal = std::move(response);
    return admission;
  };
  if (admitted.route == nullptr) {
    if (!allowed.empty()) {
      auto response = HmaError(http::status::method_not_allowed, "The method is not allowed for the requested URL.");
      response.set(http::field::allow, allowed);
      return refuse(std::move(response), "");
    }
    return refuse(HmaError(http::status::not_found,
                           "The requested URL was not found on the server. If you entered the URL manually please "
                           "check your spelling and try again."),
                  "");
  }
  const HmaRoute& route = *admitted.route;
  if (!route.roles.empty()) {
    // The caller's key: the one it sent (required with require_bearer), or the one [hma] names.
    // Without require_bearer an Authorization header is not read: HMA clients send none, and a
    // broken one must not spend the failed-key allowance every client on this address shares.
    Result<ApiKeyRecord> key = Fail(ErrorCode::kNotFound, "");
    if (options_.hma.require_bearer) {
      key = auth_.Authenticate(header[http::field::authorization], remote);
      if (!key) {
        if (key.error().code == ErrorCode::kResourceExhausted) {
          auto response = HmaError(http::status::too_many_requests, key.error().message);
          response.set(http::field::retry_after, "1");
          return refuse(std::move(response), "");
        }
        if (StatusFor(key.error().code) == http::status::service_unavailable) {
          return refuse(HmaError(http::status::service_unavailable, key.error().message), "");
        }
        auto response = HmaError(http::status::unauthorized, key.error().message);
        response.set(http::field::www_authenticate, "Bearer");
        return refuse(std::move(response), "");
      }
    } else {
      const std::string& name =
          route.curation && !options_.hma.curator_key.empty() ? options_.hma.curator_key : options_.hma.key;
      key = auth_.ByName(name);
      if (!key) {
        spdlog::error(R"("msg":"hma key unusable","key":{},"error":{})", boost::json::serialize(boost::json::value(name)),
                      boost::json::serialize(boost::json::value(key.error().ToString())));
        return refuse(HmaError(http::status::service_unavailable,
                               "this service's [hma] key '" + name + "' is not an active key"),
                      "");
      }
    }
    auto acting = ActingRole(route.roles, key->role, "");
    if (!acting) {
      std::string needs;
      for (const auto& role : route.roles) needs += (needs.empty() ? "" : ", ") + role;
      return refuse(HmaError(http::status::forbidden, "key '" + key->name + "' (role '" + key->role +
                                                          "') may not call this route (needs: " + needs + ")"),
                    key->name);
    }
    key->roles_held = key->role;
    key->role = std::move(*acting);
    if (!auth_.Admit(*key)) {
      auto response = HmaError(http::status::too_many_requests, "rate limit exceeded for this key");
      response.set(http::field::retry_after, "1");
      return refuse(std::move(response), key->name);
    }
    admitted.key = *key;
  }
  // Media and URL fetches run on the worker pool; media bodies may weigh up to the server's limit.
  const bool fetches = query.find("url=") != std::string_view::npos;
  admission.max_body_bytes = BodyLimit(header.method(), route.heavy);
  admission.offload = route.heavy || fetches;
  admission.context = std::move(admitted);
  return admission;
}

Response ApiService::HandleHma(Request& request, const RequestInfo& info) {
  const auto* admitted_ptr = std::any_cast<HmaAdmitted>(&info.context);
  if (admitted_ptr == nullptr) {
    Admission admission = AdmitHma(request.base(), info.remote);
    if (admission.refusal) return std::move(*admission.refusal);
    return HandleHma(request, RequestInfo{info.remote, std::move(admission.context)});
  }
  const HmaAdmitted& admitted = *admitted_ptr;
  const std::string_view target = request.target();
  const auto question = target.find('?');
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  const HmaRoute& route = *admitted.route;
  const std::string key_name = admitted.key ? admitted.key->name : "";
  Response response = [&]() -> Response {
    auto parsed_query = ParseQuery(query);
    if (!parsed_query) return HmaError(http::status::bad_request, parsed_query.error().message);
    ApiCall call{request, admitted.params, std::move(*parsed_query), nullptr, "anonymous"};
    if (admitted.key) {
      call.key = &*admitted.key;
      call.actor = admitted.key->name;
    }
    return (this->*(route.handler))(call);
  }();
  response.set("X-Content-Type-Options", "nosniff");
  response.set(http::field::cache_control, "no-store");
  Record("hma:" + route.pattern, request.method_string(), response.result_int(), admitted.started, info.remote, key_name);
  return response;
}

// ---- probes ----

// HMA without its UI sends "/" to its status.
Response ApiService::HmaHome(ApiCall&) {
  Response redirect{http::status::found, 11};
  redirect.set(http::field::location, "/status");
  redirect.set(http::field::content_type, "text/html; charset=utf-8");
  return redirect;
}

Response ApiService::HmaStatus(ApiCall&) {
  if (!ready_) return HmaText(http::status::service_unavailable, "INDEX-NOT-LOADED");
  return HmaText(http::status::ok, "I-AM-ALIVE");
}

// /status/live (HMA's liveness probe) and /livez: the process answers.
Response ApiService::HmaLivez(ApiCall& call) {
  return HmaText(http::status::ok, call.request.target().starts_with("/livez") ? "OK" : "I-AM-ALIVE");
}

Response ApiService::HmaReadyz(ApiCall&) {
  if (!ready_) return HmaText(http::status::service_unavailable, "INDEX-NOT-LOADED");
  return HmaText(http::status::ok, "READY");
}

Response ApiService::HmaSiteMap(ApiCall&) {
  std::set<std::string> rules;
  for (const auto& route : HmaRoutes()) rules.insert(FlaskRule(route.pattern));
  boost::json::array out;
  for (const auto& rule : rules) out.emplace_back(rule);
  return HmaJson(http::status::ok, out);
}

// ---- hashing ----

std::variant<ApiService::HmaHashed, Response> ApiService::HmaHashMedia(ApiCall& call, bool from_url, bool record) {
  std::string fetched;  // the bytes from a URL, kept alive while hashed
  std::string_view bytes;
  std::string content_type_name;
  if (from_url) {
    const std::string url = call.query["url"];
    if (url.empty()) return HmaError(http::status::bad_request, "url is required");
    if (options_.hma.allowed_hosts.empty()) {
      return HmaError(http::status::bad_request,
                      "Invalid or unsafe URL provided: fetching by URL is off (no [hma] allowed_hosts are configured)");
    }
    // Slow downloads must not take every worker: past max_url_fetches at once, the next is 503.
    if (++hma_fetches_ > options_.hma.max_url_fetches) {
      --hma_fetches_;
      auto busy = HmaError(http::status::service_unavailable,
                           "too many URL fetches in progress (" + std::to_string(options_.hma.max_url_fetches) +
                               ", [hma] max_url_fetches); try again");
      busy.set(http::field::retry_after, "1");
      return busy;
    }
    struct Release {
      std::atomic<int>& count;
      ~Release() { --count; }
    } release{hma_fetches_};
    net::FetchLimits limits;
    limits.allowed_hosts = options_.hma.allowed_hosts;
    limits.allow_private_addresses = options_.hma.allow_private_addresses;
    limits.max_body_bytes = options_.hma.max_fetch_bytes;
    limits.timeout = std::chrono::seconds(options_.hma.fetch_timeout_seconds);
    auto fetcher = net::MakeBeastFetcher(limits);
    auto media = net::FetchMedia(*fetcher, url);
    if (!media) {
      // HMA's answers (400 for a URL it will not fetch or could not, 413 past the size limit), with
      // what Vigil refused and why.
      metrics_.CountConnectionEvent("hma_fetch_refused");
      const auto& e = media.error();
      if (unauthenticated_log_.Admit()) {
        spdlog::warn(R"("msg":"hma url fetch refused","key":{},"reason":{})", boost::json::serialize(boost::json::value(call.actor)),
                     boost::json::serialize(boost::json::value(e.message)));
      }
      if (e.code == ErrorCode::kTooLarge) return HmaError(http::status::payload_too_large, "Content too large: " + e.message);
      if (e.code == ErrorCode::kPermissionDenied || (e.code == ErrorCode::kInvalidArgument && e.message.find("answered") == std::string::npos)) {
        return HmaError(http::status::bad_request, "Invalid or unsafe URL provided: " + e.message);
      }
      return HmaError(http::status::bad_request, "Failed to fetch URL: " + e.message);
    }
    fetched = std::move(media->bytes);
    bytes = fetched;
    content_type_name = call.query["content_type"];
    if (content_type_name.empty()) {
      std::string lowered = media->content_type;
      std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lowered.rfind("image", 0) == 0) content_type_name = "photo";
      else if (lowered.rfind("video", 0) == 0) content_type_name = "video";
      else {
        return HmaError(http::status::bad_request,
                        "unsupported url ContentType: '" + media->content_type.substr(0, 100) +
                            "', if you know the expected type, provide it with the content_type query param");
      }
    }
  } else {
    auto boundary = FormBoundary(call.request[http::field::content_type]);
    if (!boundary) {
      const bool multipart = MediaType(call.request) == "multipart/form-data";
      return HmaError(http::status::bad_request, multipart ? boundary.error().message : "Missing multipart/form-data file upload");
    }
    auto parts = ParseMultipartForm(call.request.body(), *boundary);
    if (!parts) return HmaError(http::status::bad_request, parts.error().message);
    const FormPart* file = nullptr;
    for (const auto& part : *parts) {
      if (part.filename.empty()) continue;  // a form field, not a file
      if (file != nullptr) return HmaError(http::status::bad_request, "Only one file allowed per request");
      file = &part;
    }
    if (file == nullptr) return HmaError(http::status::bad_request, "Missing multipart/form-data file upload");
    content_type_name = file->name;
    bytes = file->data;
  }
  const HmaContentType* content_type = FindHmaContentType(content_type_name);
  if (content_type == nullptr) return HmaError(http::status::bad_request, "no such content_type: '" + content_type_name.substr(0, 64) + "'");
  auto selected = SelectHmaSignalTypes(*content_type, call.query.contains("types") ? &call.query["types"] : nullptr);
  if (!selected) return HmaError(http::status::bad_request, selected.error().message);
  if (bytes.empty()) return HmaError(http::status::bad_request, "the media is empty");

  // Hashed by the upload workflow, in the decoder sandbox when the service has one (and in
  // "record" mode matched and recorded: the same call as POST /v1/content).
  UploadRequest upload;
  upload.bytes = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  upload.content_id = call.query["content_id"];
  upload.user_id = call.query["user_id"];
  ContentRecord content;
  if (record) {
    if (upload.content_id.empty()) upload.content_id = "hma-" + Sha256Hex(bytes).substr(0, 32);
    auto recorded = uploads_.Submit(upload);
    if (!recorded) return HmaError(StatusFor(recorded.error().code), recorded.error().message);
    content = recorded->content;
  } else {
    // Hashed only: HMA's lookup matches the hashes itself (HmaMatch), by its rules.
    if (upload.content_id.empty()) upload.content_id = "hma-lookup";
    auto described = uploads_.Describe(upload);
    if (!described) return HmaError(StatusFor(described.error().code), described.error().message);
    content = std::move(*described);
  }
  const bool is_video = content.media_type.rfind("video/", 0) == 0;
  if (is_video != (content_type->name == "video")) {
    return HmaError(http::status::bad_request, "the media is " + std::string(is_video ? "a video" : "an image") +
                                                   ", not content_type '" + content_type->name + "'");
  }
  HmaHashed out;
  for (const HmaSignalType* type : *selected) {
    const auto it = content.hashes.find(type->vigil_type);
    if (it == content.hashes.end()) continue;
    // HMA answers an image whose PDQ quality is under 50 with an empty hash.
    const bool weak = type->name == "pdq" && content.pdq_quality && *content.pdq_quality < 50;
    out.signals[type->name] = weak ? std::string() : it->second;
  }
  if (out.signals.empty()) return HmaError(http::status::bad_request, "the media gave no hash of the selected signal types");
  return out;
}

Response ApiService::HmaHashUrl(ApiCall& call) {
  auto hashed = HmaHashMedia(call, true, false);
  if (auto* error = std::get_if<Response>(&hashed)) return std::move(*error);
  boost::json::object out;
  for (const auto& [type, value] : std::get<HmaHashed>(hashed).signals) out[type] = value;
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaHashForm(ApiCall& call) {
  auto hashed = HmaHashMedia(call, false, false);
  if (auto* error = std::get_if<Response>(&hashed)) return std::move(*error);
  boost::json::object out;
  for (const auto& [type, value] : std::get<HmaHashed>(hashed).signals) out[type] = value;
  return HmaJson(http::status::ok, out);
}

// ---- matching ----

std::variant<boost::json::object, Response> ApiService::HmaMatch(ApiCall& call, const std::string& signal_type,
                                                                 const std::string& signal, bool bypass_coinflip) {
  const HmaSignalType* type = FindHmaSignalType(signal_type);
  if (type == nullptr) return HmaError(http::status::bad_request, "No such SignalType '" + signal_type.substr(0, 64) + "'");
  auto normalized = HmaValidateSignal(*type, signal);
  if (!normalized) return HmaError(http::status::bad_request, "invalid signal: " + normalized.error().message);
  if (!ready_) return HmaError(http::status::service_unavailable, "index not yet ready");
  auto hits = matcher_.Lookup(LookupSignal{type->vigil_type, *normalized, std::nullopt, ""});
  if (!hits) return HmaError(StatusFor(hits.error().code), hits.error().message);
  metrics_.CountLookupSignals(1);
  // An allow-list (negative bank) entry suppresses the other matches, as it does for uploads: an
  // HMA client acts on whatever it is answered.
  if (std::any_of(hits->begin(), hits->end(), [](const MatchHit& h) { return h.negative; })) return boost::json::object{};
  std::optional<std::set<std::string>> banks;
  if (const auto it = call.query.find("banks"); it != call.query.end() && !it->second.empty()) {
    banks = SplitHmaList(it->second);
  }
  const double coinflip = bypass_coinflip ? 0.0 : HmaCoinflip(call.query.contains("seed") ? &call.query["seed"] : nullptr);
  boost::json::object out;
  for (const MatchHit& hit : *hits) {
    const std::string bank = HmaBankName(hit.bank_name);
    if (hit.enabled_ratio < coinflip) continue;
    if (banks && !banks->contains(bank)) continue;
    metrics_.CountMatch(hit.bank_name, hit.signal_type);
    auto& list = out[bank];
    if (!list.is_array()) list = boost::json::array{};
    list.as_array().push_back(boost::json::object{{"bank_content_id", hit.entry_id}, {"distance", HmaDistance(*type, hit.distance)}});
  }
  return out;
}

std::variant<boost::json::object, Response> ApiService::HmaHashAndMatch(ApiCall& call, bool from_url, bool bypass) {
  auto hashed = HmaHashMedia(call, from_url, options_.hma.record);
  if (auto* error = std::get_if<Response>(&hashed)) return std::move(*error);
  boost::json::object out;
  for (const auto& [type, value] : std::get<HmaHashed>(hashed).signals) {
    auto matched = HmaMatch(call, type, value, bypass);
    if (auto* error = std::get_if<Response>(&matched)) return std::move(*error);
    out[type] = std::move(std::get<boost::json::object>(matched));
  }
  return out;
}

Response ApiService::HmaLookupGet(ApiCall& call) {
  const bool bypass = call.query["bypass_coinflip"] == "true";
  if (!call.query["url"].empty()) {
    auto matched = HmaHashAndMatch(call, true, bypass);
    if (auto* error = std::get_if<Response>(&matched)) return std::move(*error);
    auto& out = std::get<boost::json::object>(matched);
    // With signal_type given, HMA answers that type's matches without the outer object.
    if (const auto it = call.query.find("signal_type"); it != call.query.end()) {
      const auto* selected = out.if_contains(it->second);
      return HmaJson(http::status::ok, selected != nullptr ? *selected : boost::json::object{});
    }
    return HmaJson(http::status::ok, out);
  }
  const auto signal = call.query.find("signal");
  const auto signal_type = call.query.find("signal_type");
  if (signal == call.query.end() || signal_type == call.query.end() || signal->second.empty() ||
      signal_type->second.empty()) {
    return HmaError(http::status::bad_request, "Either url or both signal and signal_type are required");
  }
  auto matched = HmaMatch(call, signal_type->second, signal->second, bypass);
  if (auto* error = std::get_if<Response>(&matched)) return std::move(*error);
  return HmaJson(http::status::ok, std::get<boost::json::object>(matched));
}

Response ApiService::HmaLookupForm(ApiCall& call) {
  const bool bypass = call.query["bypass_coinflip"] == "true";
  auto matched = HmaHashAndMatch(call, false, bypass);
  if (auto* error = std::get_if<Response>(&matched)) return std::move(*error);
  return HmaJson(http::status::ok, std::get<boost::json::object>(matched));
}

Response ApiService::HmaRawLookup(ApiCall& call) {
  const auto signal = call.query.find("signal");
  const auto signal_type = call.query.find("signal_type");
  if (signal == call.query.end()) return HmaError(http::status::bad_request, "signal is required");
  if (signal_type == call.query.end()) return HmaError(http::status::bad_request, "signal_type is required");
  bool include_distance = false;
  if (const auto it = call.query.find("include_distance"); it != call.query.end()) {
    auto parsed = HmaBool(it->second);
    if (!parsed) return HmaError(http::status::bad_request, parsed.error().message);
    include_distance = *parsed;
  }
  const HmaSignalType* type = FindHmaSignalType(signal_type->second);
  if (type == nullptr) return HmaError(http::status::bad_request, "No such SignalType '" + signal_type->second.substr(0, 64) + "'");
  auto normalized = HmaValidateSignal(*type, signal->second);
  if (!normalized) return HmaError(http::status::bad_request, "invalid signal: " + normalized.error().message);
  if (!ready_) return HmaError(http::status::service_unavailable, "index not yet ready");
  auto hits = matcher_.Lookup(LookupSignal{type->vigil_type, *normalized, std::nullopt, ""});
  if (!hits) return HmaError(StatusFor(hits.error().code), hits.error().message);
  metrics_.CountLookupSignals(1);
  std::optional<std::set<std::string>> banks;
  if (const auto it = call.query.find("banks"); it != call.query.end() && !it->second.empty()) banks = SplitHmaList(it->second);
  boost::json::array matches;
  for (const MatchHit& hit : *hits) {
    if (banks && !banks->contains(HmaBankName(hit.bank_name))) continue;
    if (include_distance) {
      matches.push_back(boost::json::object{{"bank_content_id", hit.entry_id}, {"distance", HmaDistance(*type, hit.distance)}});
    } else {
      matches.emplace_back(hit.entry_id);
    }
  }
  return HmaJson(http::status::ok, boost::json::object{{"matches", std::move(matches)}});
}

Response ApiService::HmaCompare(ApiCall& call) {
  auto body = ParseHmaJsonBody(call.request, options_.max_json_bytes);
  if (!body) return HmaError(http::status::bad_request, body.error().message);
  if (!body->is_object()) return HmaError(http::status::bad_request, "Request input was not a dict");
  boost::json::object out;
  for (const auto& [name, value] : body->as_object()) {
    const std::string type_name(name);
    if (!value.is_array()) return HmaError(http::status::bad_request, "Comparison hashes for " + type_name.substr(0, 64) + " was not a list");
    const auto& pair = value.as_array();
    if (pair.size() != 2) return HmaError(http::status::bad_request, "Comparison hash list length must be exactly 2");
    const HmaSignalType* type = FindHmaSignalType(type_name);
    if (type == nullptr) return HmaError(http::status::bad_request, "No such SignalType '" + type_name.substr(0, 64) + "'");
    if (!pair[0].is_string() || !pair[1].is_string()) {
      return HmaError(http::status::bad_request, "Invalid " + type_name + " hash: hashes must be strings");
    }
    auto left = HmaValidateSignal(*type, pair[0].as_string());
    auto right = HmaValidateSignal(*type, pair[1].as_string());
    if (!left || !right) {
      return HmaError(http::status::bad_request, "Invalid " + type_name + " hash: " + (!left ? left : right).error().message);
    }
    out[type_name] = HmaComparison(*type, *left, *right);
  }
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaIndexStatus(ApiCall& call) {
  auto types = HmaTypesQueried(call.query);
  if (!types) return HmaError(http::status::bad_request, types.error().message);
  const auto stats = matcher_.Stats();
  boost::json::object out;
  for (const HmaSignalType* type : *types) {
    const auto size = HmaIndexSize(stats, *type);
    // Vigil's index follows the store continuously: built to when it last caught up.
    const std::int64_t synced = index_synced_at_.load();
    boost::json::object status{{"built_to", ready_ && synced > 0 ? synced / 1'000'000 : -1},
                               {"present", ready_.load()},
                               {"size", size}};
    out[type->name] = std::move(status);
  }
  return HmaJson(http::status::ok, out);
}

}  // namespace vigil::server
