// Routing, authentication, role checks, rate limits, metrics and access logs for the API.
#include "server/api_service.h"

#include <openssl/evp.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "server/api_support.h"
#include "vigil/transparency.h"
#include "server/web_assets.h"

namespace vigil::server {
namespace {

const std::vector<std::string> kPublic = {};
const std::vector<std::string> kSubmit = {"submitter"};
const std::vector<std::string> kReadContent = {"submitter", "reviewer", "auditor"};
const std::vector<std::string> kBankAdmin = {"bank-admin"};
const std::vector<std::string> kReadBanks = {"bank-admin", "auditor"};
const std::vector<std::string> kAdmin = {"admin"};
const std::vector<std::string> kReadAudit = {"auditor", "admin"};
const std::vector<std::string> kReview = {"reviewer"};
const std::vector<std::string> kReadCases = {"reviewer", "auditor", "admin"};
const std::vector<std::string> kReadAccounts = {"submitter", "reviewer", "auditor", "admin"};
const std::vector<std::string> kReadRules = {"reviewer", "bank-admin", "auditor", "admin"};
const std::vector<std::string> kReadFeedback = {"bank-admin", "auditor", "admin"};
const std::vector<std::string> kReadReports = {"legal", "auditor", "admin"};
const std::vector<std::string> kLegal = {"legal", "admin"};
const std::vector<std::string> kEvidenceMeta = {"custodian", "legal", "auditor"};
// Reading evidence bytes: the vault itself admits only custodians, and logs every other role's try.
const std::vector<std::string> kEvidenceRead = {"custodian", "reviewer", "legal", "auditor", "admin"};
const std::vector<std::string> kHold = {"custodian", "legal"};
const std::vector<std::string> kCustodian = {"custodian"};
const std::vector<std::string> kLegalRead = {"legal", "custodian", "auditor", "admin"};
const std::vector<std::string> kTransparency = {"legal", "auditor", "admin"};

// Matches "/v1/banks/{name}" against a path; fills `params`.
bool MatchPattern(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params) {
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
      if (value.empty()) return false;
      params[std::string(segment.substr(1, segment.size() - 2))] = std::string(value);
    } else if (segment != value) {
      return false;
    }
    pattern = pattern_end == std::string_view::npos ? std::string_view{} : pattern.substr(pattern_end);
    path = path_end == std::string_view::npos ? std::string_view{} : path.substr(path_end);
  }
  return true;
}

}  // namespace

const std::vector<ApiService::Route>& ApiService::Routes() {
  using V = http::verb;
  static const std::vector<Route> routes = {
      {V::get, "/healthz", kPublic, &ApiService::Healthz},
      {V::get, "/readyz", kPublic, &ApiService::Readyz},
      {V::get, "/metrics", kPublic, &ApiService::Metrics},
      {V::get, "/openapi.json", kPublic, &ApiService::OpenApi},
      {V::post, "/v1/hash", kSubmit, &ApiService::PostHash},
      {V::post, "/v1/lookup", kSubmit, &ApiService::PostLookup},
      {V::post, "/v1/content", kSubmit, &ApiService::PostContent},
      {V::get, "/v1/content/{content_id}", kReadContent, &ApiService::GetContent},
      {V::get, "/v1/banks", kReadBanks, &ApiService::ListBanks},
      {V::post, "/v1/banks", kBankAdmin, &ApiService::CreateBank},
      {V::get, "/v1/banks/{name}", kReadBanks, &ApiService::GetBank},
      {V::patch, "/v1/banks/{name}", kBankAdmin, &ApiService::PatchBank},
      {V::delete_, "/v1/banks/{name}", kBankAdmin, &ApiService::DeleteBank},
      {V::post, "/v1/banks/{name}/import", kBankAdmin, &ApiService::ImportList},
      {V::get, "/v1/banks/{name}/entries", kReadBanks, &ApiService::ListEntries},
      {V::get, "/v1/banks/{name}/imports", kReadBanks, &ApiService::ListImports},
      {V::get, "/v1/banks/{name}/export", kReadBanks, &ApiService::ExportBank},
      {V::get, "/v1/banks/{name}/entries/{entry_id}/vpdq", kReadBanks, &ApiService::ExportVpdq},
      {V::get, "/v1/keys", kAdmin, &ApiService::ListKeys},
      {V::post, "/v1/keys", kAdmin, &ApiService::CreateKey},
      {V::delete_, "/v1/keys/{name}", kAdmin, &ApiService::RevokeKey},
      {V::get, "/v1/audit", kReadAudit, &ApiService::ListAudit},
      {V::get, "/v1/audit/verify", kReadAudit, &ApiService::VerifyAudit},
      {V::get, "/v1/cases", kReadCases, &ApiService::ListCases},
      {V::get, "/v1/cases/{id}", kReadCases, &ApiService::GetCase},
      {V::post, "/v1/cases/{id}/claim", kReview, &ApiService::ClaimCase},
      {V::post, "/v1/cases/{id}/views", kReview, &ApiService::RecordView},
      {V::get, "/v1/cases/{id}/media/{content_id}", kReview, &ApiService::CaseMedia},
      {V::post, "/v1/cases/{id}/decision", kReview, &ApiService::DecideCase},
      {V::get, "/v1/accounts/{user_id}", kReadAccounts, &ApiService::GetAccount},
      {V::post, "/v1/actions/{id}/notified", kSubmit, &ApiService::MarkNotified},
      {V::post, "/v1/appeals", kSubmit, &ApiService::FileAppeal},
      {V::get, "/v1/appeals", kReadCases, &ApiService::ListAppeals},
      {V::get, "/v1/appeals/{id}", kReadCases, &ApiService::GetAppeal},
      {V::post, "/v1/appeals/{id}/claim", kReview, &ApiService::ClaimAppeal},
      {V::post, "/v1/appeals/{id}/decision", kReview, &ApiService::DecideAppeal},
      {V::get, "/v1/reviewers", kReadAudit, &ApiService::ReviewerStats},
      {V::post, "/v1/entries/{id}/disable", kReview, &ApiService::DisableEntry},
      {V::get, "/v1/feedback", kReadFeedback, &ApiService::ListFeedback},
      {V::get, "/v1/rules", kReadRules, &ApiService::GetRules},
      {V::post, "/v1/rules/reload", kAdmin, &ApiService::ReloadRules},
      {V::get, "/v1/reports", kReadReports, &ApiService::ListReports},
      {V::post, "/v1/reports", kLegal, &ApiService::DraftReport},
      {V::get, "/v1/reports/{id}", kReadReports, &ApiService::GetReport},
      {V::post, "/v1/reports/{id}/approve", kLegal, &ApiService::ApproveReport},
      {V::post, "/v1/reports/{id}/file", kLegal, &ApiService::FileReport},
      {V::post, "/v1/reports/{id}/retract", kLegal, &ApiService::RetractReport},
      {V::get, "/v1/evidence", kEvidenceMeta, &ApiService::ListEvidence},
      {V::get, "/v1/evidence/{id}/content", kEvidenceRead, &ApiService::ReadEvidence},
      {V::post, "/v1/evidence/holds", kHold, &ApiService::HoldEvidence},
      {V::post, "/v1/evidence/purge", kCustodian, &ApiService::PurgeEvidence},
      {V::get, "/v1/legal-requests", kLegalRead, &ApiService::ListLegalRequests},
      {V::post, "/v1/legal-requests", kLegal, &ApiService::CreateLegalRequest},
      {V::get, "/v1/legal-requests/{id}", kLegalRead, &ApiService::GetLegalRequest},
      {V::post, "/v1/legal-requests/{id}/production", kCustodian, &ApiService::ProduceLegalRequest},
      {V::get, "/v1/transparency", kTransparency, &ApiService::Transparency},
  };
  return routes;
}

ApiService::ApiService(Store& store, Matcher& matcher, ApiOptions options)
    : store_(store), matcher_(matcher), options_(std::move(options)), auth_(store, options_.rate_limit) {}

ApiService::~ApiService() {
  {
    std::lock_guard lock(refresh_mu_);
    stop_refresh_ = true;
  }
  refresh_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

void ApiService::StartRefreshing(std::chrono::milliseconds interval) {
  RefreshIndexGauges();
  ready_ = true;
  refresher_ = std::thread([this, interval] {
    std::unique_lock lock(refresh_mu_);
    while (!refresh_cv_.wait_for(lock, interval, [this] { return stop_refresh_; })) {
      lock.unlock();
      if (auto refreshed = matcher_.Refresh(); !refreshed) {
        spdlog::warn(R"("msg":"matcher refresh failed","error":{})",
                     boost::json::serialize(boost::json::value(refreshed.error().ToString())));
      }
      RefreshIndexGauges();
      lock.lock();
    }
  });
}

void ApiService::RefreshIndexGauges() {
  const auto stats = matcher_.Stats();
  static constexpr const char* kTypes[] = {"pdq", "md5", "sha1", "sha256", "vpdq"};
  for (int i = 0; i < 5; ++i) metrics_.SetIndexEntries(kTypes[i], static_cast<double>(stats.entries_by_type[i]));
  metrics_.SetIndexEntries("vpdq_frames", static_cast<double>(stats.video_frames));
}

void ApiService::ObserveRefusal(unsigned status) { metrics_.ObserveRequest("(refused)", "", status, 0); }

// The console's content security policy: its own files only, plus the transparency report's inline
// style sheet by hash (the report is shown in a sandboxed frame, which inherits this policy).
const std::string& ApiService::ConsolePolicy() {
  static const std::string policy = [] {
    const std::string_view sheet = TransparencyStyleSheet();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(sheet.data(), sheet.size(), digest, &size, EVP_sha256(), nullptr);
    std::string b64(4 * ((size + 2) / 3) + 1, '\0');
    b64.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), digest,
                                                        static_cast<int>(size))));
    return "default-src 'self'; style-src 'self' 'sha256-" + b64 +
           "'; img-src 'self' blob:; media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'";
  }();
  return policy;
}

bool ApiService::IsHeavy(const Request& request) {
  if (request.method() != http::verb::post) return false;
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  // Imports, uploads, and the reporting calls that talk to NCMEC or decrypt the vault.
  return path == "/v1/content" || path == "/v1/hash" || path == "/v1/evidence/purge" ||
         (path.starts_with("/v1/banks/") && path.ends_with("/import")) ||
         (path.starts_with("/v1/reports/") && path.ends_with("/file")) ||
         (path.starts_with("/v1/legal-requests/") && path.ends_with("/production"));
}

Response ApiService::Handle(Request& request, const std::string& remote) {
  const auto started = std::chrono::steady_clock::now();
  std::string_view target = request.target();
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::string allowed;
  for (const auto& candidate : Routes()) {
    if (!MatchPattern(candidate.pattern, path, params)) continue;
    if (candidate.method == request.method()) {
      route = &candidate;
      break;
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string(http::to_string(candidate.method));
  }
  if (route != nullptr) MatchPattern(route->pattern, path, params);

  std::string key_name;
  auto respond = [&]() -> Response {
    if (route == nullptr) {
      if (!allowed.empty()) {
        auto response = ErrorResponse(http::status::method_not_allowed, "method_not_allowed",
                                      "this path accepts " + allowed);
        response.set(http::field::allow, allowed);
        return response;
      }
      return ErrorResponse(http::status::not_found, "not_found", "no such route");
    }
    auto parsed_query = ParseQuery(query);
    if (!parsed_query) return ErrorResponse(parsed_query.error());
    ApiCall call{request, std::move(params), std::move(*parsed_query), nullptr, "anonymous"};
    ApiKeyRecord key;
    if (!route->roles.empty()) {
      auto authenticated = auth_.Authenticate(request[http::field::authorization]);
      if (!authenticated) {
        if (authenticated.error().code == ErrorCode::kUnavailable || authenticated.error().code == ErrorCode::kInternal ||
            authenticated.error().code == ErrorCode::kIoError) {
          return ErrorResponse(authenticated.error());
        }
        auto response = ErrorResponse(http::status::unauthorized, "unauthenticated", authenticated.error().message);
        response.set(http::field::www_authenticate, "Bearer");
        return response;
      }
      key = *authenticated;
      key_name = key.name;
      if (std::find(route->roles.begin(), route->roles.end(), key.role) == route->roles.end()) {
        std::string roles;
        for (const auto& role : route->roles) roles += (roles.empty() ? "" : ", ") + role;
        return ErrorResponse(http::status::forbidden, "permission_denied",
                             "role '" + key.role + "' may not call this route (needs: " + roles + ")");
      }
      if (!auth_.Admit(key)) {
        auto response = ErrorResponse(http::status::too_many_requests, "rate_limited", "rate limit exceeded for this key");
        response.set(http::field::retry_after, "1");
        return response;
      }
      call.key = &key;
      call.actor = "key:" + key.name;
    }
    return (this->*(route->handler))(call);
  };

  // The review console's static files: public (the page asks for a key), strict headers.
  if (request.method() == http::verb::get) {
    if (const WebAsset* asset = FindWebAsset(path)) {
      Response page{http::status::ok, 11};
      page.set(http::field::content_type, asset->content_type);
      page.set("Content-Security-Policy", ConsolePolicy());
      page.set("X-Content-Type-Options", "nosniff");
      page.set(http::field::cache_control, "no-cache");
      page.body() = std::string(asset->body);
      metrics_.ObserveRequest("/ui", "GET", 200, 0);
      return page;
    }
  }
  Response response = respond();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const unsigned status = response.result_int();
  const std::string route_name = route != nullptr ? route->pattern : "(unmatched)";
  metrics_.ObserveRequest(route_name, std::string(request.method_string()), status, seconds);
  if (options_.access_log || status >= 500) {
    boost::json::object fields{{"msg", "request"},
                               {"method", request.method_string()},
                               {"route", route_name},
                               {"status", status},
                               {"us", static_cast<std::int64_t>(seconds * 1e6)},
                               {"remote", remote},
                               {"key", key_name}};
    std::string line = boost::json::serialize(fields);
    line = line.substr(1, line.size() - 2);  // the log pattern adds the braces
    if (status >= 500) spdlog::error("{}", line);
    else spdlog::info("{}", line);
  }
  return response;
}

}  // namespace vigil::server
