// The reporting and preservation routes: CyberTipline reports (/v1/reports), the evidence vault
// (/v1/evidence), legal process and productions (/v1/legal-requests) and transparency figures
// (/v1/transparency); plus what follows a violating decision (preservation, a report draft).
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <set>

#include "server/api_service.h"
#include "server/api_support.h"
#include "server/reporting_services.h"
#include "vigil/case_evidence.h"
#include "vigil/legal_package.h"
#include "vigil/reports.h"
#include "vigil/transparency.h"

namespace vigil::server {
namespace {

namespace json = boost::json;

json::object ReportJson(const CyberTipReport& r) {
  json::array files;
  for (const auto& f : r.files) {
    files.push_back(json::object{{"content_id", f.content_id},
                                 {"sha256", f.sha256},
                                 {"state", ReportedFileStateName(f.state)},
                                 {"ncmec_file_id", f.ncmec_file_id}});
  }
  return {{"id", r.id},
          {"case_id", r.case_id},
          {"user_id", r.user_id},
          {"state", ReportStateName(r.state)},
          {"in_flight", InFlightStepName(r.in_flight)},
          {"ncmec_report_id", r.ncmec_report_id},
          {"created_by", r.created_by},
          {"approved_by", r.approved_by},
          {"approved_at", OptTime(r.approved_at)},
          {"filed_at", OptTime(r.filed_at)},
          {"attempts", r.attempts},
          {"last_code", r.last_code},
          {"last_error", r.last_error},
          {"last_request_id", r.last_request_id},
          {"withdraw_reason", r.withdraw_reason},
          {"created_at", IsoTime(r.created_at)},
          {"updated_at", IsoTime(r.updated_at)},
          {"files", std::move(files)}};
}

json::object EvidenceJson(const EvidenceItem& e) {
  return {{"id", e.id},
          {"kind", e.kind},
          {"media_type", e.media_type},
          {"size", e.size},
          {"sha256", e.address},
          {"case_id", e.case_id},
          {"report_id", e.report_id},
          {"content_id", e.content_id},
          {"preserved_at", IsoTime(e.preserved_at)},
          {"hold_until", IsoTime(e.hold_until)},
          {"purged_at", OptTime(e.purged_at)}};
}

json::object LegalJson(const LegalRequest& l) {
  json::array cases;
  for (auto c : l.case_ids) cases.emplace_back(c);
  return {{"id", l.id},
          {"type", l.type},
          {"agency", l.agency},
          {"case_number", l.case_number},
          {"received_at", IsoTime(l.received_at)},
          {"due_at", OptTime(l.due_at)},
          {"scope", l.scope},
          {"status", l.status},
          {"cases", std::move(cases)},
          {"created_by", l.created_by},
          {"produced_at", OptTime(l.produced_at)},
          {"produced_by", l.produced_by},
          {"package_sha256", l.package_sha256}};
}

Response Unavailable(const std::string& what) {
  return ErrorResponse(http::status::service_unavailable, "unavailable", what);
}

Result<std::int64_t> BodyInt(const json::object& body, const char* key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || !v->is_int64() || v->as_int64() <= 0) {
    return Fail(ErrorCode::kInvalidArgument, std::string(key) + " must be a positive integer");
  }
  return v->as_int64();
}

}  // namespace

void ApiService::AttachReporting(ReportingServices* services) {
  reporting_ = services;
  decisions_ = std::make_unique<DecisionWorkflow>(store_, DecisionOptions());
}

DecisionWorkflowOptions ApiService::DecisionOptions() {
  DecisionWorkflowOptions out;
  if (reporting_ != nullptr) {
    out.vault = reporting_->vault.get();
    out.filer = reporting_->filer.get();
    out.preserve_on_confirm = reporting_->preserve_on_confirm;
  }
  out.media_dir = options_.media_dir;
  out.own_bank = options_.own_bank;
  if (options_.sweep) out.sweeper = retro_.get();  // null until EnableRetroactiveMatching
  out.sweep = options_.sweep_options;
  out.on_sweep = [this](const SweepResult& r) {
    metrics_.CountSweep(r.copies, r.blocked, r.failed);
    spdlog::info(R"("msg":"sweep","case":{},"copies":{},"accounts":{},"blocked":{},"decided_already":{},)"
                 R"("allow_listed":{},"already_matched":{},"gone":{},"failed":{},"seconds":{:.3f})",
                 r.case_id, r.copies, r.accounts, r.blocked, r.decided_already, r.allow_listed, r.already_matched,
                 r.gone, r.failed, r.seconds);
  };
  out.on_problem = [](const std::string& what, std::int64_t case_id, const Error& error) {
    spdlog::error(R"("msg":{},"case":{},"error":{})", json::serialize(json::value(what)), case_id,
                  json::serialize(json::value(error.ToString())));
  };
  return out;
}

Response ApiService::ListReports(ApiCall& call) {
  if (reporting_ == nullptr) return Unavailable("reporting is not configured");
  std::optional<ReportState> state;
  if (call.query.count("state") != 0 && !call.query["state"].empty()) {
    auto parsed = ParseReportState(call.query["state"]);
    if (!parsed) return ErrorResponse(parsed.error());
    state = *parsed;
  }
  auto reports = store_.Reports().ListReports(state, 500);
  if (!reports) return ErrorResponse(reports.error());
  json::array out;
  for (const auto& r : *reports) out.push_back(ReportJson(r));
  return JsonResponse(http::status::ok, json::object{{"reports", std::move(out)}});
}

Response ApiService::DraftReport(ApiCall& call) {
  if (reporting_ == nullptr) return Unavailable("reporting is not configured");
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  auto case_id = BodyInt(*body, "case_id");
  if (!case_id) return ErrorResponse(case_id.error());
  auto draft = reporting_->filer->Draft(*case_id, call.actor);
  if (!draft) return ErrorResponse(draft.error());
  return JsonResponse(http::status::created, ReportJson(*draft));
}

Response ApiService::GetReport(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  auto r = store_.Reports().GetReport(*id);
  if (!r) return ErrorResponse(r.error());
  return JsonResponse(http::status::ok, ReportJson(*r));
}

// The report exactly as it would be sent: the <report> document and each file's <fileDetails>, and
// what would stop it (for the person about to approve it).
Response ApiService::PreviewReport(ApiCall& call) {
  if (reporting_ == nullptr) return Unavailable("reporting is not configured");
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  auto preview = reporting_->filer->Preview(*id);
  if (!preview) return ErrorResponse(preview.error());
  if (call.query["format"] == "xml") {
    Response response{http::status::ok, 11};
    response.set(http::field::content_type, "application/xml");
    response.body() = preview->report_xml;
    return response;
  }
  json::array files;
  for (const auto& [content_id, xml] : preview->file_details) {
    files.push_back(json::object{{"content_id", content_id}, {"file_details_xml", xml}});
  }
  return JsonResponse(http::status::ok, json::object{{"report_id", *id},
                                                      {"report_xml", preview->report_xml},
                                                      {"files", std::move(files)},
                                                      {"problem", preview->problem}});
}

Response ApiService::ApproveReport(ApiCall& call) {
  if (reporting_ == nullptr) return Unavailable("reporting is not configured");
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  auto r = reporting_->filer->Approve(*id, call.actor);
  if (!r) return ErrorResponse(r.error());
  return JsonResponse(http::status::ok, ReportJson(*r));
}

Response ApiService::FileReport(ApiCall& call) {
  if (reporting_ == nullptr) return Unavailable("reporting is not configured");
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  auto r = reporting_->filer->File(*id, call.actor);
  if (!r) return ErrorResponse(r.error());
  // 200 when it reached a final state; 202 when it stopped on the way (the report says why).
  const bool settled = IsSettled(r->state);
  return JsonResponse(settled ? http::status::ok : http::status::accepted, ReportJson(*r));
}

Response ApiService::RetractReport(ApiCall& call) {
  if (reporting_ == nullptr) return Unavailable("reporting is not configured");
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  const std::string reason = OptString(*body, "reason");
  if (reason.empty()) return ErrorResponse(http::status::bad_request, "invalid_argument", "a reason is required");
  auto r = reporting_->filer->Retract(*id, call.actor, reason);
  if (!r) return ErrorResponse(r.error());
  return JsonResponse(http::status::ok, ReportJson(*r));
}

Response ApiService::ListEvidence(ApiCall& call) {
  auto case_id = QueryInt(call.query, "case_id", 0, 0, std::numeric_limits<std::int64_t>::max());
  if (!case_id) return ErrorResponse(case_id.error());
  auto items = store_.Reports().ListEvidence(*case_id);
  if (!items) return ErrorResponse(items.error());
  json::array out;
  for (const auto& e : *items) out.push_back(EvidenceJson(e));
  return JsonResponse(http::status::ok, json::object{{"evidence", std::move(out)}});
}

Response ApiService::ReadEvidence(ApiCall& call) {
  if (reporting_ == nullptr || !reporting_->vault) return Unavailable("the evidence vault is not configured");
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  // An item that does not exist is not an attempt on evidence: no audit record.
  if (auto exists = store_.Reports().GetEvidence(*id); !exists) return ErrorResponse(exists.error());
  const std::string role = call.key != nullptr ? call.key->role : "";
  // Every role that reaches this handler is checked by the vault, which audits refusals too; a key
  // that keeps trying is audited at a bounded rate (the rest get 429 and no record), so refusals
  // cannot flood the audit chain.
  if (role != "custodian" && !RefusedEvidenceReadAllowed(call.actor)) {
    auto response = ErrorResponse(http::status::too_many_requests, "rate_limited",
                                  "too many refused evidence reads by this key");
    response.set(http::field::retry_after, "60");
    return response;
  }
  auto bytes = reporting_->vault->Read(*id, call.actor, role);
  if (!bytes) return ErrorResponse(bytes.error());
  auto item = store_.Reports().GetEvidence(*id);
  Response response{http::status::ok, call.request.version()};
  response.set(http::field::content_type, item ? item->media_type : "application/octet-stream");
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-SHA256", item ? item->address : "");
  response.body() = std::move(*bytes);
  response.prepare_payload();
  return response;
}

bool ApiService::RefusedEvidenceReadAllowed(const std::string& key) {
  std::lock_guard lock(evidence_refusals_mu_);
  if (evidence_refusals_.size() > 10'000) evidence_refusals_.clear();
  auto [it, inserted] = evidence_refusals_.try_emplace(key, 1.0 / 6, 10);  // 10 a minute, bursts of 10
  return it->second.Admit();
}

Response ApiService::HoldEvidence(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  auto case_id = BodyInt(*body, "case_id");
  if (!case_id) return ErrorResponse(case_id.error());
  auto until = ParseDate(OptString(*body, "until"));
  if (!until) return ErrorResponse(until.error());
  const std::string reason = OptString(*body, "reason");
  if (reason.empty()) return ErrorResponse(http::status::bad_request, "invalid_argument", "a reason is required");
  auto changed = store_.Reports().ExtendHold(*case_id, *until, call.actor, reason);
  if (!changed) return ErrorResponse(changed.error());
  return JsonResponse(http::status::ok, json::object{{"case_id", *case_id}, {"items", *changed}, {"until", IsoTime(*until)}});
}

Response ApiService::PurgeEvidence(ApiCall& call) {
  if (reporting_ == nullptr || !reporting_->vault) return Unavailable("the evidence vault is not configured");
  const PurgeResult r = reporting_->vault->PurgeExpired(call.actor);
  json::array problems;
  for (const auto& p : r.problems) problems.emplace_back(p);
  return JsonResponse(http::status::ok,
                      json::object{{"purged", r.purged}, {"kept_on_hold", r.kept_on_hold}, {"problems", std::move(problems)}});
}

Response ApiService::ListLegalRequests(ApiCall& call) {
  const std::string status = call.query.count("status") ? call.query["status"] : "";
  auto requests = store_.Reports().ListLegalRequests(status);
  if (!requests) return ErrorResponse(requests.error());
  json::array out;
  for (const auto& r : *requests) out.push_back(LegalJson(r));
  return JsonResponse(http::status::ok, json::object{{"legal_requests", std::move(out)}});
}

Response ApiService::CreateLegalRequest(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  static const std::set<std::string> kTypes = {"subpoena", "court_order", "search_warrant",
                                               "preservation", "emergency", "other"};
  LegalRequest r;
  r.type = OptString(*body, "type");
  r.agency = OptString(*body, "agency");
  r.case_number = OptString(*body, "case_number");
  r.scope = OptString(*body, "scope");
  r.created_by = call.actor;
  if (!kTypes.count(r.type)) {
    return ErrorResponse(http::status::bad_request, "invalid_argument",
                         "type must be subpoena, court_order, search_warrant, preservation, emergency or other");
  }
  if (r.agency.empty() || r.case_number.empty() || r.scope.empty()) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "agency, case_number and scope are required");
  }
  auto received = ParseDate(OptString(*body, "received"));
  if (!received) return ErrorResponse(received.error());
  r.received_at = *received;
  if (body->contains("due")) {
    auto due = ParseDate(OptString(*body, "due"));
    if (!due) return ErrorResponse(due.error());
    r.due_at = *due;
  }
  const auto* cases = body->if_contains("cases");
  if (cases == nullptr || !cases->is_array() || cases->as_array().empty() || cases->as_array().size() > 1000) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "cases must list 1 to 1000 case ids");
  }
  for (const auto& c : cases->as_array()) {
    if (!c.is_int64() || c.as_int64() <= 0) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", "cases must be positive integers");
    }
    r.case_ids.push_back(c.as_int64());
  }
  auto created = store_.Reports().CreateLegalRequest(r);
  if (!created) return ErrorResponse(created.error());
  return JsonResponse(http::status::created, LegalJson(*created));
}

Response ApiService::GetLegalRequest(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  auto r = store_.Reports().GetLegalRequest(*id);
  if (!r) return ErrorResponse(r.error());
  return JsonResponse(http::status::ok, LegalJson(*r));
}

Response ApiService::ProduceLegalRequest(ApiCall& call) {
  if (reporting_ == nullptr || !reporting_->vault) return Unavailable("the evidence vault is not configured");
  if (reporting_->signing_seed.empty()) return Unavailable("no signing key is configured ([legal])");
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  // One at a time: a package answered to the custodian is built whole in memory first.
  std::unique_lock<std::mutex> building(production_mu_, std::try_to_lock);
  if (!building.owns_lock()) return Unavailable("another production is being built: try again when it is done");
  // The archive goes to the custodian; to disk only into the folder the operator named (never the
  // data directory, checked at start-up).
  ArchiveOutput output;
  output.folder = options_.productions_dir;
  output.max_bytes = options_.max_production_bytes;
  auto package = ProduceLegalArchive(store_, *reporting_->vault, *id, output, reporting_->signing_seed, call.actor,
                                     call.key != nullptr ? call.key->role : "");
  if (!package) {
    if (package.error().code == ErrorCode::kTooLarge) {
      return ErrorResponse(http::status::payload_too_large, "too_large",
                           package.error().message +
                               " (the service's max_production_bytes): write it with `vigil legal export`, or set "
                               "legal.productions_dir");
    }
    if (StatusFor(package.error().code) == http::status::internal_server_error) {
      spdlog::error(R"("msg":"legal production failed","request":{},"error":{})", *id,
                    json::serialize(json::value(package.error().ToString())));
    }
    return ErrorResponse(package.error());
  }
  auto public_key = SigningPublicKey(reporting_->signing_seed);
  if (!options_.productions_dir.empty()) {
    return JsonResponse(http::status::created, json::object{{"file", package->path},
                                                            {"manifest_sha256", package->manifest_sha256},
                                                            {"files", package->files},
                                                            {"custody_records", package->custody_records},
                                                            {"public_key", public_key ? *public_key : ""}});
  }
  Response response{http::status::ok, call.request.version()};
  response.set(http::field::content_type, "application/x-tar");
  response.set(http::field::content_disposition, "attachment; filename=\"" + package->name + ".tar\"");
  response.set(http::field::cache_control, "no-store");
  response.set("X-Vigil-Manifest-SHA256", package->manifest_sha256);
  response.set("X-Vigil-Public-Key", public_key ? *public_key : "");
  response.set("X-Vigil-Files", std::to_string(package->files));
  response.set("X-Vigil-Custody-Records", std::to_string(package->custody_records));
  response.body() = std::move(package->archive);
  response.prepare_payload();
  return response;
}

Response ApiService::Transparency(ApiCall& call) {
  auto from = ParseDate(call.query.count("from") ? call.query["from"] : "");
  auto to = ParseDate(call.query.count("to") ? call.query["to"] : "");
  if (!from) return ErrorResponse(from.error());
  if (!to) return ErrorResponse(to.error());
  const std::string format = call.query.count("format") ? call.query["format"] : "json";
  if (format != "json" && format != "csv" && format != "html") {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "format must be json, csv or html");
  }
  auto report = BuildTransparencyReport(store_.Reports(), *from, *to);
  if (!report) return ErrorResponse(report.error());
  report->platform = reporting_ != nullptr ? reporting_->platform : "";  // [reporter] platform
  report->category_titles = CategoryTitles(*CurrentTaxonomy());
  Response response{http::status::ok, call.request.version()};
  if (format == "json") {
    response.set(http::field::content_type, "application/json");
    response.body() = TransparencyJson(*report);
  } else if (format == "csv") {
    response.set(http::field::content_type, "text/csv; charset=utf-8");
    response.body() = TransparencyCsv(*report);
  } else {
    response.set(http::field::content_type, "text/html; charset=utf-8");
    response.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    response.body() = TransparencyHtml(*report);
  }
  response.prepare_payload();
  return response;
}

}  // namespace vigil::server
