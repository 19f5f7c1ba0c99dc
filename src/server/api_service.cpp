// Routing, authentication, role checks, rate limits, metrics and access logs for the API.
#include "server/api_service.h"

#include <openssl/evp.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "server/api_support.h"
#include "sso/session_cookie.h"
#include "vigil/clock.h"
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
const std::vector<std::string> kReadOverrides = {"bank-admin", "reviewer", "auditor", "admin"};
// Correcting a decided case's labels before it is reported: the reviewers, or legal staff.
const std::vector<std::string> kReclassify = {"reviewer", "legal"};
const std::vector<std::string> kReadReports = {"legal", "auditor", "admin"};
// Legal filings: legal staff only (an admin could otherwise approve what two admins must mint a key for).
const std::vector<std::string> kLegal = {"legal"};
const std::vector<std::string> kEvidenceMeta = {"custodian", "legal", "auditor"};
// Reading evidence bytes: the vault itself admits only custodians, and logs every other role's try.
const std::vector<std::string> kEvidenceRead = {"custodian", "reviewer", "legal", "auditor", "admin"};
const std::vector<std::string> kHold = {"custodian", "legal"};
const std::vector<std::string> kCustodian = {"custodian"};
const std::vector<std::string> kLegalRead = {"legal", "custodian", "auditor", "admin"};
const std::vector<std::string> kTransparency = {"legal", "auditor", "admin"};
// The platform reads its events with its submitter key; auditors and admins see them too.
const std::vector<std::string> kReadEvents = {"submitter", "auditor", "admin"};
// Reports about uploads: users' reports the platform forwards, reviewers' escalations.
const std::vector<std::string> kReportContent = {"submitter", "reviewer"};
// Every role: what any key may do to itself.
const std::vector<std::string> kAnyRole(std::begin(kRoles), std::end(kRoles));
// Disabling a list entry: a reviewer's rejected match, or a bank administrator's curation.
const std::vector<std::string> kDisableEntry = {"reviewer", "bank-admin"};
// Moving a case to another queue: a reviewer of its queue (misrouted), or an admin.
const std::vector<std::string> kRouteCase = {"reviewer", "admin"};

// Routes whose handlers are only for watching the service: logged when they fail, not per call.
bool IsProbe(std::string_view route) { return route == "/healthz" || route == "/readyz" || route == "/metrics"; }

}  // namespace

const std::vector<ApiService::Route>& ApiService::Routes() {
  using V = http::verb;
  static const std::vector<Route> routes = {
      {V::get, "/healthz", kPublic, &ApiService::Healthz},
      {V::get, "/readyz", kPublic, &ApiService::Readyz},
      {V::get, "/metrics", kReadAudit, &ApiService::Metrics},
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
      {V::post, "/v1/banks/{name}/media", kBankAdmin, &ApiService::AddBankMedia},
      {V::get, "/v1/banks/{name}/entries", kReadBanks, &ApiService::ListEntries},
      {V::get, "/v1/banks/{name}/imports", kReadBanks, &ApiService::ListImports},
      {V::get, "/v1/banks/{name}/export", kReadBanks, &ApiService::ExportBank},
      {V::get, "/v1/banks/{name}/entries/{entry_id}/vpdq", kReadBanks, &ApiService::ExportVpdq},
      {V::get, "/v1/exchanges", kReadBanks, &ApiService::ListExchanges},
      {V::post, "/v1/exchanges", kBankAdmin, &ApiService::CreateExchange},
      {V::get, "/v1/exchanges/{name}", kReadBanks, &ApiService::GetExchange},
      {V::patch, "/v1/exchanges/{name}", kBankAdmin, &ApiService::PatchExchange},
      {V::delete_, "/v1/exchanges/{name}", kBankAdmin, &ApiService::DeleteExchange},
      {V::post, "/v1/exchanges/{name}/sync", kBankAdmin, &ApiService::SyncExchange},
      {V::post, "/v1/exchanges/{name}/reset", kBankAdmin, &ApiService::ResetExchange},
      {V::get, "/v1/exchanges/{name}/feedback", kReadBanks, &ApiService::ListExchangeFeedback},
      {V::post, "/v1/exchanges/{name}/feedback", kBankAdmin, &ApiService::SendExchangeFeedback},
      {V::get, "/v1/keys", kAdmin, &ApiService::ListKeys},
      {V::post, "/v1/keys", kAdmin, &ApiService::CreateKey},
      {V::delete_, "/v1/keys/{name}", kAdmin, &ApiService::RevokeKey},
      {V::post, "/v1/keys/{name}/approve", kAdmin, &ApiService::ApproveKey},
      {V::post, "/v1/me/key/rotate", kAnyRole, &ApiService::RotateMyKey},
      {V::get, "/v1/me", kAnyRole, &ApiService::Me},
      {V::get, "/v1/sso", kPublic, &ApiService::SsoInfo},
      {V::get, "/v1/sso/login", kPublic, &ApiService::SsoLogin},
      {V::get, "/v1/sso/callback", kPublic, &ApiService::SsoCallback},
      {V::post, "/v1/sso/logout", kAnyRole, &ApiService::SsoLogout},
      {V::get, "/v1/sessions", kReadAudit, &ApiService::ListSessions},
      {V::delete_, "/v1/sessions/{id}", kAdmin, &ApiService::EndSessionRoute},
      {V::get, "/v1/people", kReadAudit, &ApiService::ListPeople},
      {V::get, "/v1/audit", kReadAudit, &ApiService::ListAudit},
      {V::get, "/v1/audit/verify", kReadAudit, &ApiService::VerifyAudit},
      {V::get, "/v1/cases", kReadCases, &ApiService::ListCases},
      {V::post, "/v1/user-reports", kReportContent, &ApiService::ReportContent},
      {V::get, "/v1/cases/{id}", kReadCases, &ApiService::GetCase},
      {V::post, "/v1/cases/{id}/claim", kReview, &ApiService::ClaimCase},
      {V::post, "/v1/cases/{id}/views", kReview, &ApiService::RecordView},
      {V::get, "/v1/cases/{id}/media/{content_id}", kReview, &ApiService::CaseMedia},
      {V::put, "/v1/cases/{id}/media/{content_id}", kSubmit, &ApiService::SupplyCaseMedia},
      {V::post, "/v1/cases/{id}/decision", kReview, &ApiService::DecideCase},
      {V::post, "/v1/cases/{id}/classification", kReclassify, &ApiService::ReclassifyCase},
      {V::get, "/v1/accounts/{user_id}", kReadAccounts, &ApiService::GetAccount},
      {V::post, "/v1/actions/{id}/notified", kSubmit, &ApiService::MarkNotified},
      {V::post, "/v1/appeals", kSubmit, &ApiService::FileAppeal},
      {V::get, "/v1/appeals", kReadCases, &ApiService::ListAppeals},
      {V::get, "/v1/appeals/{id}", kReadCases, &ApiService::GetAppeal},
      {V::post, "/v1/appeals/{id}/claim", kReview, &ApiService::ClaimAppeal},
      {V::post, "/v1/appeals/{id}/decision", kReview, &ApiService::DecideAppeal},
      {V::get, "/v1/reviewers", kReadAudit, &ApiService::ReviewerStats},
      {V::get, "/v1/queues", kReadCases, &ApiService::ListQueues},
      {V::put, "/v1/queues/{name}/members/{reviewer}", kAdmin, &ApiService::SetQueueMember},
      {V::delete_, "/v1/queues/{name}/members/{reviewer}", kAdmin, &ApiService::SetQueueMember},
      {V::post, "/v1/queues/{name}/next", kReview, &ApiService::ClaimNextInQueue},
      {V::post, "/v1/cases/{id}/queue", kRouteCase, &ApiService::MoveCaseToQueue},
      {V::get, "/v1/me/wellness", kReview, &ApiService::GetMyWellness},
      {V::put, "/v1/me/wellness", kReview, &ApiService::SetMyWellness},
      {V::post, "/v1/me/break", kReview, &ApiService::StartMyBreak},
      {V::post, "/v1/me/cover", kReview, &ApiService::CoverMyReveals},
      {V::get, "/v1/reviewers/{name}/wellness", kReadAudit, &ApiService::GetReviewerWellness},
      {V::put, "/v1/reviewers/{name}/wellness", kAdmin, &ApiService::SetReviewerWellness},
      {V::get, "/v1/wellness/exposure", kReadAudit, &ApiService::GetExposure},
      {V::post, "/v1/entries/{id}/disable", kDisableEntry, &ApiService::DisableEntry},
      {V::post, "/v1/entries/{id}/release", kBankAdmin, &ApiService::ReleaseQuarantine},
      {V::get, "/v1/quarantine", kReadOverrides, &ApiService::ListQuarantine},
      {V::get, "/v1/feedback", kReadFeedback, &ApiService::ListFeedback},
      {V::get, "/v1/overrides", kReadOverrides, &ApiService::ListOverrides},
      {V::delete_, "/v1/overrides/{id}", kBankAdmin, &ApiService::RevokeOverride},
      {V::get, "/v1/rules", kReadRules, &ApiService::GetRules},
      {V::post, "/v1/rules/reload", kAdmin, &ApiService::ReloadRules},
      {V::get, "/v1/reports", kReadReports, &ApiService::ListReports},
      {V::post, "/v1/reports", kLegal, &ApiService::DraftReport},
      {V::get, "/v1/reports/{id}", kReadReports, &ApiService::GetReport},
      {V::get, "/v1/reports/{id}/preview", kReadReports, &ApiService::PreviewReport},
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
      {V::get, "/v1/events", kReadEvents, &ApiService::ListEvents},
      {V::get, "/v1/events/dead", kReadAudit, &ApiService::ListDeadEvents},
      {V::post, "/v1/events/{id}/redeliver", kAdmin, &ApiService::RedeliverEvent},
  };
  return routes;
}

namespace {

std::unique_ptr<MediaStore> KeptMedia(const ApiOptions& options) {
  if (options.media_dir.empty()) return nullptr;
  return OpenMediaDirectory(options.media_dir);
}

UploadWorkflowOptions WorkflowOptions(const ApiOptions& options, ServiceMetrics& metrics) {
  UploadWorkflowOptions out;
  out.decode_limits = options.decode_limits;
  out.video = options.video;
  out.video_match = options.video_match;
  out.plugin_signals = options.plugin_signals;
  out.on_match = [&metrics](const std::string& bank, const std::string& signal_type) {
    metrics.CountMatch(bank, signal_type);
  };
  if (options.classifiers && !options.classifiers->empty()) {
    out.classify = [set = options.classifiers](const ClassifierInput& input) { return set->ClassifyUpload(input); };
  }
  return out;
}

}  // namespace

ApiService::ApiService(Store& store, Matcher& matcher, ApiOptions options)
    : store_(store),
      matcher_(matcher),
      options_(std::move(options)),
      auth_(store, options_.rate_limit, options_.failed_auth_limit),
      media_(KeptMedia(options_)),
      uploads_(store.Cases(), matcher, options_.media_hasher, media_.get(), WorkflowOptions(options_, metrics_)),
      decisions_(std::make_unique<DecisionWorkflow>(store, DecisionOptions())) {
  if (!options_.sso.oidc.issuer.empty()) {
    oidc_ = std::make_unique<sso::OidcClient>(options_.sso.oidc);
    // The configuration loader checked the mapping; a bad one here (a caller of its own) maps nobody.
    if (auto mapping = sso::ParseGroupRoles(options_.sso.group_roles)) group_roles_ = std::move(*mapping);
    else spdlog::error(R"("msg":"[sso] group_roles refused","error":{})", boost::json::serialize(boost::json::value(mapping.error().message)));
  }
}

ApiService::~ApiService() {
  StopWebhooks();
  StopExchanges();
  follower_.reset();
}

void ApiService::StartRefreshing(std::chrono::milliseconds interval, const std::string& postgres_url,
                                 const std::string& snapshot_dir, std::chrono::minutes snapshot_every) {
  RefreshIndexGauges();
  index_synced_at_ = SystemClock().NowMicros();
  ready_ = true;
  IndexFollowerOptions options;
  options.interval = interval;
  options.postgres_url = postgres_url;
  options.snapshot_dir = snapshot_dir;
  options.snapshot_every = snapshot_every;
  // After every refresh: the index of past uploads follows new uploads (before the gauges), and
  // the time the index was last in step with the store is kept (HMA's index status).
  options.after_refresh = [this] {
    if (past_uploads_ != nullptr) {
      if (auto followed = past_uploads_->Follow(); !followed) {
        spdlog::warn(R"("msg":"past uploads follow failed","error":{})",
                     boost::json::serialize(boost::json::value(followed.error().ToString())));
      }
    }
    RefreshIndexGauges();
    index_synced_at_ = SystemClock().NowMicros();
  };
  options.on_snapshot = [](double seconds) {
    spdlog::info(R"("msg":"index snapshot written","seconds":{:.3f})", seconds);
  };
  options.on_synced = [this](double seconds) { metrics_.ObserveIndexSync(seconds); };
  options.on_error = [](const std::string& message) {
    spdlog::warn(R"("msg":"index follower","error":{})", boost::json::serialize(boost::json::value(message)));
  };
  follower_ = std::make_unique<IndexFollower>(matcher_, std::move(options));
}

Status ApiService::EnableRetroactiveMatching(int window_days) {
  if (window_days <= 0) return {};
  const auto start = std::chrono::steady_clock::now();
  PastUploadIndexOptions options;
  options.window_days = window_days;
  auto index = std::make_unique<PastUploadIndex>(store_, SystemClock(), options);
  VIGIL_TRY(index->Load());
  const auto stats = index->Stats();
  spdlog::info(R"("msg":"past uploads loaded","seconds":{:.3f},"window_days":{},"pdq":{},"digests":{})",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), window_days, stats.pdq,
               stats.digests);
  past_uploads_ = std::move(index);
  retro_ = std::make_unique<RetroMatcher>(store_, *past_uploads_, uploads_, SystemClock(), window_days,
                                          options_.video_match);
  decisions_ = std::make_unique<DecisionWorkflow>(store_, DecisionOptions());  // sweeps need the index
  return {};
}

void ApiService::RefreshIndexGauges() {
  const auto stats = matcher_.Stats();
  static constexpr const char* kTypes[] = {"pdq", "md5", "sha1", "sha256", "vpdq"};
  for (int i = 0; i < 5; ++i) metrics_.SetIndexEntries(kTypes[i], static_cast<double>(stats.entries_by_type[i]));
  metrics_.SetIndexEntries("vpdq_frames", static_cast<double>(stats.video_frames));
  metrics_.SetIndexEntries("plugin", static_cast<double>(stats.plugin_entries));  // licensed-hash plug-ins' types, together
  if (past_uploads_ != nullptr) {
    const auto past = past_uploads_->Stats();
    const auto bytes = static_cast<double>(past.memory_bytes);
    metrics_.SetPastUploads("pdq", static_cast<double>(past.pdq), bytes);
    metrics_.SetPastUploads("digests", static_cast<double>(past.digests), bytes);
    metrics_.SetPastUploads("video_frames", static_cast<double>(past.video_frames), bytes);
  }
}

void ApiService::Observe(HttpEvent event, unsigned status, const std::string& detail) {
  switch (event) {
    case HttpEvent::kRefused:
      metrics_.ObserveRequest("(refused)", "", status, 0);
      if (options_.access_log && unauthenticated_log_.Admit()) {
        spdlog::info(R"("msg":"refused","status":{},"reason":{})", status, boost::json::serialize(boost::json::value(detail)));
      }
      return;
    case HttpEvent::kAnswerLost: {
      // The work was done (and committed, for a write) but the client never got the answer. Logged
      // by route pattern: the raw path and query may carry ids.
      metrics_.CountConnectionEvent("answer_lost");
      const auto space = detail.find(' ');
      const std::string method = detail.substr(0, space);
      const std::string path = space == std::string::npos ? "" : detail.substr(space + 1, detail.find('?', space) - space - 1);
      std::string route = "(unmatched)";
      std::map<std::string, std::string> ignored;
      for (const auto& candidate : Routes()) {
        if (std::string(http::to_string(candidate.method)) == method && MatchRoutePattern(candidate.pattern, path, ignored)) {
          route = candidate.pattern;
          break;
        }
      }
      spdlog::warn(R"("msg":"answer not delivered","status":{},"method":{},"route":{})", status,
                   boost::json::serialize(boost::json::value(method)), boost::json::serialize(boost::json::value(route)));
      return;
    }
    case HttpEvent::kConnectionCap:
      metrics_.CountConnectionEvent("connection_cap");
      if (unauthenticated_log_.Admit()) {
        spdlog::warn(R"("msg":"connection refused","reason":{})", boost::json::serialize(boost::json::value(detail)));
      }
      return;
    case HttpEvent::kAcceptBackoff:
      metrics_.CountConnectionEvent("accept_backoff");
      if (unauthenticated_log_.Admit()) {
        spdlog::error(R"("msg":"out of file descriptors: accepting paused","error":{})",
                      boost::json::serialize(boost::json::value(detail)));
      }
      return;
  }
}

HttpCallbacks ApiService::Callbacks() {
  HttpCallbacks callbacks;
  callbacks.admit = [this](const RequestHeader& header, const std::string& remote) { return Admit(header, remote); };
  callbacks.handle = [this](Request& request, const RequestInfo& info) { return Handle(request, info); };
  callbacks.observe = [this](HttpEvent event, unsigned status, const std::string& detail) { Observe(event, status, detail); };
  return callbacks;
}

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
           "'; img-src 'self' blob:; media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
  }();
  return policy;
}

bool ApiService::IsHeavy(http::verb method, std::string_view path) {
  // A reviewer's blurred preview decodes the upload again (in a decoder worker): never on an I/O
  // thread, where a slow one would hold up every lookup.
  if (method == http::verb::get || method == http::verb::put) {
    // And the bytes of an upload the platform supplies for review (up to the server's body limit).
    // Signing in waits for the identity provider (discovery, the code, its keys): never on an I/O
    // thread, where a slow provider would hold up every other call.
    if (path == "/v1/sso/login" || path == "/v1/sso/callback") return true;
    return path.starts_with("/v1/cases/") && path.find("/media/") != std::string_view::npos;
  }
  if (method != http::verb::post) return false;
  // Imports, uploads, exchange syncs and feedback, and the reporting calls that talk to NCMEC or
  // decrypt the vault.
  return path == "/v1/content" ||
         (path.starts_with("/v1/exchanges/") && (path.ends_with("/sync") || path.ends_with("/feedback"))) || path == "/v1/hash" || path == "/v1/evidence/purge" ||
         (path.starts_with("/v1/banks/") && (path.ends_with("/import") || path.ends_with("/media"))) ||
         (path.starts_with("/v1/reports/") && path.ends_with("/file")) ||
         (path.starts_with("/v1/legal-requests/") && path.ends_with("/production"));
}

// What Admit found, for Handle.
struct ApiService::Admitted {
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::optional<ApiKeyRecord> key;
  std::chrono::steady_clock::time_point started;
};

Admission ApiService::Admit(const RequestHeader& header, const std::string& remote) {
  const auto started = std::chrono::steady_clock::now();
  std::string_view target = header.target();
  const std::string_view path = target.substr(0, target.find('?'));
  Admission admission;
  Admitted admitted;
  admitted.started = started;
  // The review console's static files and the way to them are public; they carry no body.
  if (header.method() == http::verb::get && (FindWebAsset(path) != nullptr || path == "/")) {
    admission.max_body_bytes = kSmallBodyBytes;
    admission.context = std::move(admitted);
    return admission;
  }
  std::string allowed;
  for (const auto& candidate : Routes()) {
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
    const std::string route_name = admitted.route != nullptr ? admitted.route->pattern : "(unmatched)";
    Record(route_name, header.method_string(), response.result_int(), started, remote, key_name);
    admission.refusal = std::move(response);
    return admission;
  };
  if (admitted.route == nullptr) {
    if (!allowed.empty()) {
      auto response = ErrorResponse(http::status::method_not_allowed, "method_not_allowed", "this path accepts " + allowed);
      response.set(http::field::allow, allowed);
      return refuse(std::move(response), "");
    }
    return refuse(ErrorResponse(http::status::not_found, "not_found", "no such route"), "");
  }
  const Route& route = *admitted.route;
  if (!route.roles.empty()) {
    // A console session's cookie stands in for a key when no Authorization header is sent.
    const std::string_view authorization = header[http::field::authorization];
    std::optional<std::string> session_secret;
    if (authorization.empty() && oidc_) {
      session_secret = sso::CookieValue(header[http::field::cookie], sso::SessionCookieName(options_.sso.secure_cookies));
    }
    auto authenticated = session_secret ? auth_.AuthenticateSession(*session_secret, remote)
                                        : auth_.Authenticate(authorization, remote);
    if (!authenticated) {
      const auto code = authenticated.error().code;
      if (code == ErrorCode::kResourceExhausted) {
        auto response = ErrorResponse(http::status::too_many_requests, "rate_limited", authenticated.error().message);
        response.set(http::field::retry_after, "1");
        return refuse(std::move(response), "");
      }
      if (code == ErrorCode::kUnavailable || code == ErrorCode::kInternal || code == ErrorCode::kIoError) {
        return refuse(ErrorResponse(authenticated.error()), "");
      }
      std::string why = authenticated.error().message;
      if (oidc_ && authorization.empty() && !session_secret) {
        why = "not signed in: sign in to the console (GET /v1/sso/login), or send Authorization: Bearer <key>";
      }
      auto response = ErrorResponse(http::status::unauthorized, "unauthenticated", why);
      response.set(http::field::www_authenticate, "Bearer");
      return refuse(std::move(response), "");
    }
    ApiKeyRecord key = std::move(*authenticated);
    // A cookie is sent by the browser whichever page asks: a call that changes anything must also
    // carry the session's CSRF token, which only the console's own pages can read (GET /v1/me).
    const auto method = header.method();
    if (session_secret && method != http::verb::get && method != http::verb::head &&
        !sso::CsrfTokenMatches(*session_secret, header["X-CSRF-Token"])) {
      return refuse(ErrorResponse(http::status::forbidden, "csrf",
                                  "a console session's call that changes something needs its X-CSRF-Token header "
                                  "(GET /v1/me gives it)"),
                    key.name);
    }
    std::string asked(header["X-Vigil-Role"].substr(0, 32));
    std::transform(asked.begin(), asked.end(), asked.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto acting = ActingRole(route.roles, key.role, asked);
    if (!acting) {
      return refuse(ErrorResponse(http::status::forbidden, "permission_denied", acting.error().message), key.name);
    }
    key.roles_held = key.role;
    key.role = std::move(*acting);
    if (!auth_.Admit(key)) {
      auto response = ErrorResponse(http::status::too_many_requests, "rate_limited", "rate limit exceeded for this key");
      response.set(http::field::retry_after, "1");
      return refuse(std::move(response), key.name);
    }
    admitted.key = key;
  }
  // What a body may weigh: media and lists up to the server's limit, JSON up to its own, and
  // reads nothing to speak of.
  const bool heavy = IsHeavy(header.method(), path);
  admission.max_body_bytes = BodyLimit(header.method(), heavy);
  admission.offload = heavy;
  admission.context = std::move(admitted);
  return admission;
}

std::uint64_t ApiService::BodyLimit(http::verb method, bool heavy) const {
  const bool writes = method == http::verb::post || method == http::verb::patch || method == http::verb::put;
  if (heavy && writes) return 0;  // the server's limit
  return writes ? options_.max_json_bytes : kSmallBodyBytes;
}

Response ApiService::Handle(Request& request, const RequestInfo& info) {
  const auto* admitted_ptr = std::any_cast<Admitted>(&info.context);
  if (admitted_ptr == nullptr) {
    // Not admitted by the server (called directly): admit now.
    Admission admission = Admit(request.base(), info.remote);
    if (admission.refusal) return std::move(*admission.refusal);
    return Handle(request, RequestInfo{info.remote, std::move(admission.context)});
  }
  const Admitted& admitted = *admitted_ptr;
  std::string_view target = request.target();
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  // The review console's static files: public (the page asks for a key), strict headers.
  if (admitted.route == nullptr) {
    if (path == "/") {
      Response redirect{http::status::found, 11};
      redirect.set(http::field::location, "/ui/");
      redirect.set("X-Content-Type-Options", "nosniff");
      return redirect;
    }
    const WebAsset* asset = FindWebAsset(path);
    if (asset == nullptr) return ErrorResponse(http::status::not_found, "not_found", "no such route");
    Response page{http::status::ok, 11};
    page.set(http::field::content_type, asset->content_type);
    page.set("Content-Security-Policy", ConsolePolicy());
    page.set("X-Content-Type-Options", "nosniff");
    page.set("Referrer-Policy", "no-referrer");
    page.set(http::field::cache_control, "no-cache");
    page.body() = std::string(asset->body);
    metrics_.ObserveRequest("/ui", "GET", 200, 0);
    return page;
  }
  const Route& route = *admitted.route;
  const std::string key_name = admitted.key ? admitted.key->name : "";
  Response response = [&]() -> Response {
    auto parsed_query = ParseQuery(query);
    if (!parsed_query) return ErrorResponse(parsed_query.error());
    ApiCall call{request, admitted.params, std::move(*parsed_query), nullptr, "anonymous", info.remote};
    if (admitted.key) {
      call.key = &*admitted.key;
      call.actor = admitted.key->name;
    }
    return (this->*(route.handler))(call);
  }();
  response.set("X-Content-Type-Options", "nosniff");
  response.set(http::field::cache_control, "no-store");
  Record(route.pattern, request.method_string(), response.result_int(), admitted.started, info.remote, key_name,
         admitted.key ? admitted.key->role : std::string());
  return response;
}

void ApiService::Record(const std::string& route, std::string_view raw_method, unsigned status,
                        std::chrono::steady_clock::time_point started, const std::string& remote,
                        const std::string& key_name, const std::string& role) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // A method token the client invented is one label, never a new series (each costs memory forever).
  const std::string_view method =
      http::string_to_verb(raw_method) == http::verb::unknown ? std::string_view("OTHER") : raw_method;
  metrics_.ObserveRequest(route, std::string(method), status, seconds);
  if (status < 500) {
    if (!options_.access_log) return;
    // Probes and public documents answered well without a key (/healthz, /openapi.json, the
    // console's files) are counted, not logged; requests refused before a key was known are
    // logged at a bounded rate, so a flood of either cannot fill the disk.
    // Sign-ins are logged (at the bounded rate of keyless calls): who began or finished one, from where.
    const bool sign_in = route.starts_with("/v1/sso/");
    if ((IsProbe(route) || key_name.empty()) && status < 400 && !sign_in) return;
    if (sign_in && key_name.empty() && status < 400 && !unauthenticated_log_.Admit()) return;
    if (key_name.empty() && status >= 400 && !unauthenticated_log_.Admit()) return;
  }
  boost::json::object fields{{"msg", "request"},
                             {"method", method},
                             {"route", route},
                             {"status", status},
                             {"us", static_cast<std::int64_t>(seconds * 1e6)},
                             {"remote", remote},
                             {"key", key_name}};
  if (!role.empty()) fields["role"] = role;  // the role the request acted in
  if (const auto dropped = unauthenticated_log_.TakeDropped(); dropped > 0) fields["unlogged_refusals"] = dropped;
  std::string line = boost::json::serialize(fields);
  line = line.substr(1, line.size() - 2);  // the log pattern adds the braces
  if (status >= 500) spdlog::error("{}", line);
  else spdlog::info("{}", line);
}

}  // namespace vigil::server
