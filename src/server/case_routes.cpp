// Routes for the workflow: the policy applied to uploads, the review queue and cases (claim,
// reveal, decide), accounts and enforcement actions, appeals, reviewer statistics, false-positive
// feedback, the rules and the audit chain.
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>
#include <set>
#include <fstream>

#include "server/api_service.h"
#include "server/api_support.h"
#include "server/case_json.h"
#include "store/record_json.h"
#include "vigil/clock.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"
#include "vigil/preview.h"

namespace vigil::server {
namespace {

boost::json::object DecisionJson(const Decision& d) {
  boost::json::array viewed;
  for (const auto& v : d.viewed) viewed.emplace_back(v);
  boost::json::object files;
  for (const auto& [content_id, label] : d.file_classifications) files[content_id] = label;
  return {{"id", d.id},
          {"reviewer", d.reviewer},
          {"verdict", VerdictName(d.verdict)},
          {"account_action", d.account_action == AccountAction::kNone ? "" : AccountActionName(d.account_action)},
          {"category", d.category},
          {"cybertip", d.cybertip},
          {"classification", d.classification},
          {"file_classifications", std::move(files)},
          {"reason", d.reason},
          {"user_statement", d.user_statement},
          {"viewed", std::move(viewed)},
          {"second_review", d.second_review},
          {"decided_at", IsoTime(d.decided_at)}};
}

}  // namespace

boost::json::object CaseJson(const Case& c) {
  boost::json::array items, decisions, rules;
  for (const auto& item : c.items) {
    ContentRecord as_content;
    as_content.matches = item.matches;
    boost::json::array matches = ContentJson(as_content).at("matches").as_array();
    items.push_back(boost::json::object{{"content_id", item.content_id},
                                        {"media_type", item.media_type},
                                        {"state", item.state},
                                        {"submitted_at", IsoTime(item.submitted_at)},
                                        {"has_media", item.has_media},
                                        {"matches", std::move(matches)},
                                        {"classifications", ClassificationsJson(item.classifications)}});
  }
  for (const auto& d : c.decisions) decisions.push_back(DecisionJson(d));
  for (const auto& r : c.rules) rules.emplace_back(r);
  boost::json::array swept_from, swept;
  for (auto id : c.swept_from) swept_from.emplace_back(id);
  boost::json::array overturned;
  for (auto id : c.swept_from_overturned) overturned.emplace_back(id);
  for (const auto& s : c.swept) {
    swept.push_back(boost::json::object{{"case_id", s.case_id}, {"user_id", s.user_id}, {"copies", s.copies}});
  }
  boost::json::object out{{"id", c.id},
          {"user_id", c.user_id},
          {"status", CaseStatusName(c.status)},
          {"priority", c.priority},
          {"category", c.category},
          {"report_problem", c.report_problem},
          {"sla_due", IsoTime(c.sla_due)},
          {"assigned_to", c.assigned_to},
          {"lease_until", c.lease_until ? boost::json::value(IsoTime(c.lease_until)) : nullptr},
          {"second_review_required", c.second_review_required},
          {"awaiting_second_review", c.awaiting_second_review},
          {"queue", c.queue},
          {"report_queued", c.report_queued},
          {"rules", std::move(rules)},
          {"created_at", IsoTime(c.created_at)},
          {"updated_at", IsoTime(c.updated_at)},
          {"items", std::move(items)},
          {"decisions", std::move(decisions)},
          {"swept_from", std::move(swept_from)}};
  // Only a case whose decision swept copies says so (an empty object would read as "swept, found
  // nothing", which the audit log tells apart).
  if (!overturned.empty()) out["swept_from_overturned"] = std::move(overturned);
  if (!c.reports.empty()) {
    boost::json::array reports;
    for (const auto& r : c.reports) {
      reports.push_back(boost::json::object{{"id", r.id},
                                            {"content_id", r.content_id},
                                            {"source", r.source},
                                            {"reporter", r.reporter},
                                            {"reason", r.reason},
                                            {"category", r.category},
                                            {"priority", r.priority},
                                            {"by", r.created_by},
                                            {"at", IsoTime(r.created_at)}});
    }
    out["user_reports"] = std::move(reports);
  }
  if (c.sweep_copies > 0) {
    out["sweep"] = boost::json::object{{"copies", c.sweep_copies}, {"accounts", c.sweep_accounts}, {"cases", std::move(swept)}};
  }
  return out;
}

namespace {

// An action as the platform shows it to its user; `staff` adds what only staff may see (the lists
// and entries matched, the reviewer's note, who acted).
boost::json::object ActionJson(const EnforcementAction& a, bool staff) {
  boost::json::object out{{"id", a.id},
                          {"user_id", a.user_id},
                          {"content_id", a.content_id},
                          {"kind", a.kind},
                          {"until", OptTime(a.until)},
                          {"statement_of_reasons", boost::json::object{{"category", a.statement.category},
                                                                       {"ground", a.statement.ground},
                                                                       {"legal_basis", a.statement.legal_basis},
                                                                       {"facts", a.statement.facts},
                                                                       {"automated", a.statement.automated},
                                                                       {"redress", a.statement.redress}}},
                          {"case_id", a.case_id},
                          {"created_at", IsoTime(a.created_at)},
                          {"notified_at", OptTime(a.notified_at)},
                          {"reversed", a.undone_by.has_value()}};
  if (staff) {
    out["internal"] = boost::json::object{{"detail", a.internal_detail},
                                          {"actor", a.actor},
                                          {"decision_id", a.decision_id},
                                          {"undone_by", a.undone_by ? boost::json::value(*a.undone_by) : nullptr}};
  }
  return out;
}

boost::json::object AppealJson(const Appeal& a) {
  boost::json::array covered, undone;
  for (auto id : a.action_ids) covered.emplace_back(id);
  for (auto id : a.undone) undone.emplace_back(id);
  return {{"id", a.id},
          {"action_id", a.action_id},
          {"decision_id", a.decision_id},
          {"case_id", a.case_id},
          {"action_ids", std::move(covered)},
          {"undone", std::move(undone)},
          {"user_id", a.user_id},
          {"statement", a.statement},
          {"status", a.status},
          {"assigned_to", a.assigned_to},
          {"original_decider", a.original_decider},
          {"decided_by", a.decided_by},
          {"reason", a.reason},
          {"created_at", IsoTime(a.created_at)},
          {"sla_due", IsoTime(a.sla_due)},
          {"decided_at", OptTime(a.decided_at)}};
}

// The reviewer: the key's name (a person's key, one per reviewer).
}  // namespace

// A user's report forwarded by the platform, or a staff member's escalation: the upload goes in
// front of a reviewer (CaseReview::ReportContent).
Response ApiService::ReportContent(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  if (auto known = CheckKnownFields(*body, {"content_id", "source", "reporter", "reason", "category", "priority"}); !known) {
    return ErrorResponse(known.error());
  }
  UserReportRequest report;
  report.content_id = OptString(*body, "content_id");
  if (report.content_id.empty() || report.content_id.size() > 256) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "content_id (1-256 characters) is required");
  }
  for (const char* field : {"content_id", "source", "reporter", "reason", "category"}) {
    if (const auto* v = body->if_contains(field); v != nullptr && !v->is_string()) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", std::string(field) + " must be a string");
    }
  }
  if (body->contains("source")) report.source = OptString(*body, "source");
  report.reporter = OptString(*body, "reporter");
  report.reason = OptString(*body, "reason");
  if (report.reporter.size() > 256 || report.reason.size() > 2000) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "reporter is at most 256 characters, reason 2000");
  }
  // Words for a reviewer's screen: no control characters (a reason may have line breaks and tabs).
  auto controls = [](const std::string& text, bool lines) {
    return std::any_of(text.begin(), text.end(), [lines](unsigned char c) {
      return (c < 0x20 && !(lines && (c == '\n' || c == '\t'))) || c == 0x7f;
    });
  };
  if (controls(report.reporter, false) || controls(report.reason, true)) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "reporter and reason may not hold control characters");
  }
  const auto taxonomy = CurrentTaxonomy();
  const std::string category_id = OptString(*body, "category");
  auto category = taxonomy->Require(category_id.empty() ? "other" : category_id);
  if (!category) return ErrorResponse(category.error());
  report.category = **category;
  if (const auto* priority = body->if_contains("priority"); priority != nullptr && !priority->is_null()) {
    if (!priority->is_int64() || priority->as_int64() < 0 || priority->as_int64() > 3) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", "priority must be 0 (most urgent) to 3");
    }
    report.priority = static_cast<int>(priority->as_int64());
  }
  // A reviewer's escalation of an upload in another team's case would join (and speed) that case.
  if (auto refused = RefuseUnworkedContent(call, report.content_id)) return std::move(*refused);
  // Routed like a case the policy opens, with the report's category, priority and source, and the
  // banks the upload matched.
  RoutingFacts routing;
  routing.category = report.category.id;
  routing.priority = report.priority;
  routing.source = report.source;
  if (auto content = store_.GetContent(report.content_id)) {
    for (const auto& m : content->matches) routing.banks.push_back(m.bank_name);
  }
  const ReviewQueue& queue = CurrentQueues()->Route(routing);
  report.queue = queue.name;
  report.queue_sla_hours = queue.sla_hours;
  auto outcome = store_.Cases().ReportContent(report, call.actor);
  if (!outcome) return ErrorResponse(outcome.error());
  return JsonResponse(http::status::created, boost::json::object{{"report_id", outcome->report_id},
                                                                 {"case_id", outcome->case_id},
                                                                 {"joined", outcome->joined}});
}

std::shared_ptr<const Taxonomy> ApiService::CurrentTaxonomy() const {
  static const auto built_in = std::make_shared<const Taxonomy>(Taxonomy::BuiltIn());
  auto rules = Rules();
  if (!rules) return built_in;
  return std::shared_ptr<const Taxonomy>(rules, &rules->taxonomy());
}

Status ApiService::LoadRules() {
  if (options_.rules_path.empty()) return {};
  VIGIL_ASSIGN_OR_RETURN(auto loaded, PolicyRules::Load(options_.rules_path));
  VIGIL_TRY(classify::CheckRulesNameClassifiers(loaded, options_.classifiers.get(), options_.rules_path));
  uploads_.SetRules(std::make_shared<const PolicyRules>(std::move(loaded)));
  return {};
}

Response ApiService::ListCases(ApiCall& call) {
  CaseStore::CaseQuery query;
  // ?status=decided,closed: several at once (the history); none: those still to review.
  for (std::string_view rest = call.query["status"]; !rest.empty();) {
    const auto comma = rest.find(',');
    auto parsed = ParseCaseStatus(rest.substr(0, comma));
    if (!parsed) return ErrorResponse(parsed.error());
    query.statuses.push_back(*parsed);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  auto limit = QueryInt(call.query, "limit", 100, 1, 1000);
  if (!limit) return ErrorResponse(limit.error());
  query.limit = static_cast<int>(*limit);
  if (!call.query["queue"].empty()) query.queues = std::vector<std::string>{call.query["queue"]};
  query.user_id = call.query["user_id"];
  query.content_id = call.query["content_id"];
  auto access = WorkedQueues(call);
  if (!access) return ErrorResponse(access.error());
  access->Restrict(query);
  auto cases = store_.Cases().FindCases(query);
  if (!cases) return ErrorResponse(cases.error());
  boost::json::array out;
  for (const auto& c : *cases) {
    boost::json::object summary = CaseJson(c);
    summary["item_count"] = c.items.size();
    // Sweeps are read with the whole case (GET /v1/cases/{id}): a list would say "none" wrongly.
    summary.erase("swept_from");
    summary.erase("items");
    summary.erase("decisions");
    out.push_back(std::move(summary));
  }
  return JsonResponse(http::status::ok, boost::json::object{{"cases", std::move(out)}});
}

Response ApiService::GetCase(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedCase(call, *id)) return std::move(*refused);
  auto c = store_.Cases().GetCase(*id);
  if (!c) return ErrorResponse(c.error());
  boost::json::object out = CaseJson(*c);
  auto account = store_.Cases().GetAccount(c->user_id);
  auto actions = store_.Cases().ListActions(c->user_id);
  auto prior = store_.Cases().PriorConfirmedCases(c->user_id);
  if (account && actions && prior) {
    boost::json::array history;
    for (const auto& a : *actions) history.push_back(ActionJson(a, true));
    out["user"] = boost::json::object{{"account_state", account->state},
                                      {"prior_confirmed_cases", *prior},
                                      {"actions", std::move(history)}};
    if (auto strikes = StrikesJson(c->user_id)) out["user"].as_object()["strikes"] = std::move(*strikes);
  }
  return JsonResponse(http::status::ok, out);
}

Response ApiService::ClaimCase(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedCase(call, *id)) return std::move(*refused);
  auto c = store_.Cases().ClaimCase(*id, call.actor);
  if (!c) return ErrorResponse(c.error());
  return JsonResponse(http::status::ok, CaseJson(*c));
}

Response ApiService::RecordView(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedCase(call, *id)) return std::move(*refused);
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  const std::string content_id = OptString(*body, "content_id");
  if (content_id.empty()) return ErrorResponse(http::status::bad_request, "invalid_argument", "a string 'content_id' is required");
  // A view recorded by hand (media seen elsewhere) counts against the limit like a reveal here.
  if (auto refused = AdmitReveal(call)) return std::move(*refused);
  if (auto viewed = store_.Cases().RecordView(*id, content_id, call.actor); !viewed) {
    (void)store_.Wellness().RefundReveal(call.actor);
    return ErrorResponse(viewed.error());
  }
  return Response{http::status::no_content, 11};
}

// ?variant=preview (default): a small blurred grayscale JPEG; ?variant=original: the bytes, only to
// the reviewer holding the claim, and the reveal is recorded as a view first.
Response ApiService::CaseMedia(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedCase(call, *id)) return std::move(*refused);
  const std::string content_id = call.path["content_id"];
  const std::string variant = call.query.count("variant") ? call.query["variant"] : "preview";
  if (variant != "preview" && variant != "original") {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "variant must be preview or original");
  }
  auto c = store_.Cases().GetCase(*id);
  if (!c) return ErrorResponse(c.error());
  const CaseItem* item = nullptr;
  for (const auto& i : c->items) {
    if (i.content_id == content_id) item = &i;
  }
  if (item == nullptr) return ErrorResponse(http::status::not_found, "not_found", "no such item in this case");
  auto content = store_.GetContent(content_id);
  if (!content) return ErrorResponse(content.error());
  if (!item->has_media || media_ == nullptr) {
    return ErrorResponse(http::status::not_found, "not_found", "the media of this item is not kept");
  }
  if (variant == "original") {
    // The organisation's reveal limit and breaks, enforced here ([wellness], wellness.h): admitted
    // first, given back when the view is not the caller's to record.
    if (auto refused = AdmitReveal(call)) return std::move(*refused);
    // An appeal's reviewer reveals the media of the decided case their appeal is about.
    Status viewed;
    if (!call.query["appeal"].empty()) {
      auto appeal_id = PathIdParam(call.query, "appeal");
      viewed = appeal_id ? store_.Cases().RecordAppealView(*appeal_id, *id, content_id, call.actor)
                         : Status(tl::unexpected(appeal_id.error()));
    } else {
      viewed = store_.Cases().RecordView(*id, content_id, call.actor);
    }
    if (!viewed) {
      (void)store_.Wellness().RefundReveal(call.actor);
      return ErrorResponse(viewed.error());
    }
  }
  // The kept bytes are found by the record's hash (the upload's SHA-256).
  const auto sha = content->hashes.count("sha256") ? content->hashes.at("sha256") : std::string();
  if (sha.empty()) return ErrorResponse(http::status::not_found, "not_found", "the media file is missing");
  auto read = media_->Read(sha);
  if (!read) return ErrorResponse(http::status::not_found, "not_found", "the media file is missing");
  std::string bytes(read->begin(), read->end());
  Response response{http::status::ok, 11};
  response.set(http::field::cache_control, "no-store");
  if (variant == "preview") {
    const std::span<const std::uint8_t> media(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    // Hostile bytes again: made in a sandboxed worker when the service has them.
    auto preview = options_.preview_maker ? options_.preview_maker(media) : BlurredPreview(media);
    if (!preview) return ErrorResponse(preview.error());
    response.set(http::field::content_type, "image/jpeg");
    response.body().assign(preview->begin(), preview->end());
  } else {
    response.set(http::field::content_type, content->media_type);
    response.body() = std::move(bytes);
  }
  return response;
}

// The platform supplies the bytes of an item whose media was never kept (a late match, a sweep's
// copy): checked against the upload's SHA-256, kept, and a decided case's report drafted if it
// waited for them.
Response ApiService::SupplyCaseMedia(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (media_ == nullptr) {
    return ErrorResponse(http::status::service_unavailable, "unavailable", "this server keeps no media (it has no data directory)");
  }
  const auto type = MediaType(call.request);
  if (type.rfind("image/", 0) != 0 && type.rfind("video/", 0) != 0 && type != "application/octet-stream") {
    return ErrorResponse(http::status::unsupported_media_type, "unsupported",
                         "Content-Type must be image/*, video/* or application/octet-stream, got '" + type.substr(0, 80) + "'");
  }
  const auto& body = call.request.body();
  if (body.empty()) return ErrorResponse(http::status::bad_request, "invalid_argument", "empty body: send the upload's bytes");
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  auto c = decisions_->SupplyMedia(*id, call.path["content_id"], bytes, *media_, call.actor);
  if (!c) return ErrorResponse(c.error());
  // The platform's submitter key is answered what it supplied, never the case (reviewers' notes,
  // reporters, decisions are staff's).
  return JsonResponse(http::status::ok, boost::json::object{{"case_id", c->id},
                                                            {"content_id", call.path["content_id"]},
                                                            {"has_media", true}});
}

Response ApiService::DecideCase(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedCase(call, *id)) return std::move(*refused);
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  if (auto known = CheckKnownFields(*body, {"verdict", "category", "classification", "file_classifications", "reason",
                                             "user_statement", "account_action", "account_days"});
      !known) {
    return ErrorResponse(known.error());
  }
  CaseStore::DecisionRequest request;
  auto verdict = ParseVerdict(OptString(*body, "verdict"));
  if (!verdict) return ErrorResponse(verdict.error());
  request.verdict = *verdict;
  request.reason = OptString(*body, "reason");
  request.user_statement = OptString(*body, "user_statement");
  auto account_action = ParseAccountAction(OptString(*body, "account_action"));
  if (!account_action) return ErrorResponse(account_action.error());
  request.account_action = *account_action;
  if (const auto* days = body->if_contains("account_days"); days && !days->is_null()) {
    if (!days->is_int64()) return ErrorResponse(http::status::bad_request, "invalid_argument", "account_days must be an integer");
    request.account_days = static_cast<int>(std::clamp<std::int64_t>(days->as_int64(), -1, 100000));
  }
  if (request.verdict == Verdict::kViolating) {
    // The category of violation (default: the case's) and its labels, normalised now so that a
    // report is never refused later for a label typed as "b1 ".
    auto c = store_.Cases().GetCase(*id);
    if (!c) return ErrorResponse(c.error());
    const auto taxonomy = CurrentTaxonomy();
    std::string category = OptString(*body, "category");
    if (category.empty()) category = c->category.empty() ? "other" : c->category;
    auto resolved = taxonomy->Require(category);
    if (!resolved) return ErrorResponse(resolved.error());
    request.category = **resolved;
    auto label = taxonomy->NormalizeClassification(request.category, OptString(*body, "classification"));
    if (!label) return ErrorResponse(label.error());
    request.classification = *label;
    if (const auto* files = body->if_contains("file_classifications"); files && !files->is_null()) {
      if (!files->is_object()) {
        return ErrorResponse(http::status::bad_request, "invalid_argument",
                             "file_classifications must be an object of content id -> label");
      }
      for (const auto& [content_id, value] : files->as_object()) {
        if (!value.is_string()) {
          return ErrorResponse(http::status::bad_request, "invalid_argument", "file_classifications values are labels (strings)");
        }
        auto file_label = taxonomy->NormalizeClassification(request.category, value.as_string());
        if (!file_label) {
          return ErrorResponse(http::status::bad_request, "invalid_argument",
                               std::string(content_id).substr(0, 80) + ": " + file_label.error().message);
        }
        request.file_classifications[std::string(content_id)] = *file_label;
      }
    }
  } else if (body->contains("category") || body->contains("classification") || body->contains("file_classifications")) {
    return ErrorResponse(http::status::bad_request, "invalid_argument",
                         "category and classifications go with a violating verdict only");
  }
  auto c = decisions_->Decide(*id, request, call.actor);
  if (!c) return ErrorResponse(c.error());
  if (!options_.own_bank.empty()) (void)matcher_.Refresh();  // the own bank's new entries match at once here
  return JsonResponse(http::status::ok, CaseJson(*c));
}

// Corrects a decided case's labels (a report refused for a bad label, say), then drafts its report
// again when its category is reported.
Response ApiService::ReclassifyCase(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedCase(call, *id)) return std::move(*refused);
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  if (auto known = CheckKnownFields(*body, {"classification", "file_classifications"}); !known) {
    return ErrorResponse(known.error());
  }
  auto c = store_.Cases().GetCase(*id);
  if (!c) return ErrorResponse(c.error());
  std::string category_id;
  bool decided_it = false;
  for (const auto& d : c->decisions) {
    if (d.verdict != Verdict::kEscalate) category_id = d.category;
    decided_it = decided_it || d.reviewer == call.actor;
  }
  // Labels are the deciding reviewers' (or legal staff's) to correct, not any reviewer's.
  if (call.key != nullptr && call.key->role == "reviewer" && !decided_it) {
    return ErrorResponse(http::status::forbidden, "permission_denied",
                         "only a reviewer who decided case " + std::to_string(*id) + ", or legal staff, corrects its labels");
  }
  const auto taxonomy = CurrentTaxonomy();
  auto category = taxonomy->Require(category_id.empty() ? "other" : category_id);
  if (!category) return ErrorResponse(category.error());
  auto label = taxonomy->NormalizeClassification(**category, OptString(*body, "classification"));
  if (!label) return ErrorResponse(label.error());
  std::map<std::string, std::string> files;
  if (const auto* given = body->if_contains("file_classifications"); given && !given->is_null()) {
    if (!given->is_object()) {
      return ErrorResponse(http::status::bad_request, "invalid_argument", "file_classifications must be an object");
    }
    for (const auto& [content_id, value] : given->as_object()) {
      if (!value.is_string()) return ErrorResponse(http::status::bad_request, "invalid_argument", "labels are strings");
      auto file_label = taxonomy->NormalizeClassification(**category, value.as_string());
      if (!file_label) return ErrorResponse(file_label.error());
      files[std::string(content_id)] = *file_label;
    }
  }
  auto corrected = decisions_->Reclassify(*id, *label, files, call.actor);
  if (!corrected) return ErrorResponse(corrected.error());
  return JsonResponse(http::status::ok, CaseJson(*corrected));
}

std::optional<boost::json::object> ApiService::StrikesJson(const std::string& user_id) {
  const auto rules = Rules();
  if (rules == nullptr || !rules->strikes().enabled() || user_id.empty()) return std::nullopt;
  auto cases = store_.Cases().StruckCases(user_id);
  if (!cases) return std::nullopt;
  const auto standing = ScoreStrikes(rules->strikes(), *cases, SystemClock().NowMicros());
  boost::json::object out{{"points", std::round(standing.points * 100) / 100}, {"cases", standing.cases}};
  out["proposed"] = standing.proposed.empty() ? boost::json::value(nullptr) : boost::json::value(standing.proposed);
  return out;
}

Response ApiService::GetAccount(ApiCall& call) {
  const std::string user = call.path["user_id"];
  auto account = store_.Cases().GetAccount(user);
  auto actions = store_.Cases().ListActions(user);
  if (!account) return ErrorResponse(account.error());
  if (!actions) return ErrorResponse(actions.error());
  // The platform's own service key (submitter) gets what the user may be shown; staff see more.
  const bool staff = call.key != nullptr && call.key->role != "submitter";
  // A reviewer sees staff details (the lists matched, a reviewer's note) only of the actions whose
  // case is in a queue they work.
  auto access = WorkedQueues(call);
  if (!access) return ErrorResponse(access.error());
  std::map<std::int64_t, bool> worked;
  boost::json::array list;
  for (const auto& a : *actions) {
    bool details = staff;
    if (details && access->scoped && a.case_id != 0) {
      if (!worked.count(a.case_id)) {
        auto queue = store_.Queues().CaseQueue(a.case_id);
        worked[a.case_id] = queue && access->Works(*queue);
      }
      details = worked[a.case_id];
    }
    list.push_back(ActionJson(a, details));
  }
  boost::json::object out{{"user_id", user}, {"state", account->state}, {"until", OptTime(account->until)},
                          {"actions", std::move(list)}};
  // Staff see the account's strikes and what they propose ([strikes] in the rules file).
  if (staff) {
    if (auto strikes = StrikesJson(user)) out["strikes"] = std::move(*strikes);
  }
  return JsonResponse(http::status::ok, out);
}

Response ApiService::MarkNotified(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto done = store_.Cases().MarkNotified(*id); !done) return ErrorResponse(done.error());
  return Response{http::status::no_content, 11};
}

Response ApiService::FileAppeal(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  const auto* action = body->if_contains("action_id");
  if (action == nullptr || !action->is_int64()) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "an integer 'action_id' is required");
  }
  auto appeal = store_.Cases().FileAppeal(action->as_int64(), OptString(*body, "statement"), call.actor);
  if (!appeal) return ErrorResponse(appeal.error());
  return JsonResponse(http::status::created, AppealJson(*appeal));
}

Response ApiService::ListAppeals(ApiCall& call) {
  const std::string status = call.query["status"];
  static const std::set<std::string> kStatuses = {"", "open", "in_review", "upheld", "overturned", "partial", "decided"};
  if (!kStatuses.count(status)) {
    return ErrorResponse(http::status::bad_request, "invalid_argument",
                         "status must be open, in_review, upheld, overturned, partial or decided (any of the last three)");
  }
  auto appeals = store_.Cases().ListAppeals(status);
  if (!appeals) return ErrorResponse(appeals.error());
  auto access = WorkedQueues(call);
  if (!access) return ErrorResponse(access.error());
  // ?user_id= and ?content_id= search (the content: the appeals of the cases holding it).
  const std::string user = call.query["user_id"];
  std::optional<std::set<std::int64_t>> holding;
  if (!call.query["content_id"].empty()) {
    CaseStore::CaseQuery query;
    query.statuses = {CaseStatus::kOpen, CaseStatus::kInReview, CaseStatus::kEscalated, CaseStatus::kDecided,
                      CaseStatus::kClosed};
    query.content_id = call.query["content_id"];
    query.limit = 1000;
    auto cases = store_.Cases().FindCases(query);
    if (!cases) return ErrorResponse(cases.error());
    holding.emplace();
    for (const auto& c : *cases) holding->insert(c.id);
  }
  auto limit = QueryInt(call.query, "limit", 100, 1, 1000);
  if (!limit) return ErrorResponse(limit.error());
  boost::json::array out;
  for (const auto& a : *appeals) {
    if (!user.empty() && a.user_id != user) continue;
    if (holding && !holding->count(a.case_id)) continue;
    if (access->scoped) {
      auto queue = a.case_id != 0 ? store_.Queues().CaseQueue(a.case_id) : Result<std::string>(std::string(kDefaultQueue));
      if (!queue) return ErrorResponse(queue.error());
      if (!access->Works(*queue)) continue;
    }
    if (static_cast<std::int64_t>(out.size()) >= *limit) break;
    out.push_back(AppealJson(a));
  }
  return JsonResponse(http::status::ok, boost::json::object{{"appeals", std::move(out)}});
}

Response ApiService::GetAppeal(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedAppeal(call, *id)) return std::move(*refused);
  auto appeal = store_.Cases().GetAppeal(*id);
  if (!appeal) return ErrorResponse(appeal.error());
  return JsonResponse(http::status::ok, AppealJson(*appeal));
}

Response ApiService::ClaimAppeal(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedAppeal(call, *id)) return std::move(*refused);
  auto appeal = store_.Cases().ClaimAppeal(*id, call.actor);
  if (!appeal) return ErrorResponse(appeal.error());
  return JsonResponse(http::status::ok, AppealJson(*appeal));
}

Response ApiService::DecideAppeal(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedAppeal(call, *id)) return std::move(*refused);
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  if (auto known = CheckKnownFields(*body, {"outcome", "undo", "reason", "user_statement"}); !known) {
    return ErrorResponse(known.error());
  }
  AppealDecision decision{OptString(*body, "outcome"), {}, OptString(*body, "reason"), OptString(*body, "user_statement")};
  if (const auto* undo = body->if_contains("undo"); undo && !undo->is_null()) {
    if (!undo->is_array()) return ErrorResponse(http::status::bad_request, "invalid_argument", "undo must be a list of action ids");
    for (const auto& v : undo->as_array()) {
      if (!v.is_int64()) return ErrorResponse(http::status::bad_request, "invalid_argument", "undo must be a list of action ids");
      decision.undo.push_back(v.as_int64());
    }
  }
  auto appeal = decisions_->DecideAppeal(*id, decision, call.actor);
  if (!appeal) return ErrorResponse(appeal.error());
  if (!options_.own_bank.empty()) (void)matcher_.Refresh();  // restored files leave the own bank at once here
  return JsonResponse(http::status::ok, AppealJson(*appeal));
}

Response ApiService::ReviewerStats(ApiCall&) {
  auto stats = store_.Cases().ReviewerOverturnRates();
  if (!stats) return ErrorResponse(stats.error());
  boost::json::array out;
  for (const auto& s : *stats) {
    out.push_back(boost::json::object{
        {"reviewer", s.reviewer},
        {"decisions", s.decisions},
        {"appealed", s.appealed},
        {"overturned", s.overturned},
        {"overturn_rate", s.appealed ? static_cast<double>(s.overturned) / static_cast<double>(s.appealed) : 0.0}});
  }
  return JsonResponse(http::status::ok, boost::json::object{{"reviewers", std::move(out)}});
}

Response ApiService::DisableEntry(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  // A reviewer rejects a match they reviewed; a bank administrator curates any entry.
  const bool curator = call.key != nullptr && call.key->role == "bank-admin";
  const std::string reason = OptString(*body, "reason");
  if (auto done = curator ? store_.Cases().CurateEntry(*id, reason, call.actor)
                          : store_.Cases().DisableEntry(*id, reason, call.actor);
      !done) {
    return ErrorResponse(done.error());
  }
  (void)matcher_.Refresh();
  return Response{http::status::no_content, 11};
}

Response ApiService::ListQuarantine(ApiCall&) {
  auto listed = store_.Cases().ListQuarantine();
  if (!listed) return ErrorResponse(listed.error());
  boost::json::array out;
  for (const auto& q : *listed) {
    out.push_back(boost::json::object{{"entry_id", q.entry_id}, {"bank", q.bank},       {"signal_type", q.signal_type},
                                      {"value", q.value},       {"since", IsoTime(q.since)}, {"distinct_users", q.distinct_users}});
  }
  return JsonResponse(http::status::ok, boost::json::object{{"quarantine", std::move(out)}});
}

Response ApiService::ReleaseQuarantine(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto released = store_.Cases().ReleaseQuarantine(*id, call.actor); !released) return ErrorResponse(released.error());
  return Response{http::status::no_content, 11};
}

// JSON, or ?format=csv for sharing with the list owners.
Response ApiService::ListFeedback(ApiCall& call) {
  auto feedback = store_.Cases().ListFeedback();
  if (!feedback) return ErrorResponse(feedback.error());
  if (call.query["format"] == "csv") {
    std::string csv = "bank,signal_type,value,external_id,reason,at,confirmed,rejected\n";
    auto field = [](const std::string& s) {
      std::string out = "\"";
      for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
      return out + "\"";
    };
    for (const auto& f : *feedback) {
      csv += f.bank + "," + f.signal_type + "," + f.value + "," + field(f.external_id) + "," + field(f.reason) + "," +
             IsoTime(f.at) + "," + std::to_string(f.confirmed) + "," + std::to_string(f.rejected) + "\n";
    }
    Response response{http::status::ok, 11};
    response.set(http::field::content_type, "text/csv");
    response.body() = std::move(csv);
    return response;
  }
  boost::json::array out;
  for (const auto& f : *feedback) {
    out.push_back(boost::json::object{{"entry_id", f.entry_id}, {"bank", f.bank},       {"signal_type", f.signal_type},
                                      {"value", f.value},       {"external_id", f.external_id}, {"reason", f.reason},
                                      {"reviewer", f.reviewer}, {"at", IsoTime(f.at)},
                                      {"confirmed", f.confirmed}, {"rejected", f.rejected}});
  }
  return JsonResponse(http::status::ok, boost::json::object{{"feedback", std::move(out)}});
}

Response ApiService::GetRules(ApiCall&) {
  const auto rules = Rules();
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, "application/json");
  response.body() = rules ? rules->ToJson() : R"({"rules":[],"categories":)" + CurrentTaxonomy()->ToJson() + "}";
  return response;
}

Response ApiService::ReloadRules(ApiCall& call) {
  if (options_.rules_path.empty()) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "the server was started without a rules file");
  }
  if (auto loaded = LoadRules(); !loaded) return ErrorResponse(loaded.error());
  // Cases left in a queue the new rules do not declare are nobody's until an admin moves them: said
  // in the log, the audit record and the answer.
  std::string orphaned;
  if (auto counts = store_.Queues().CountQueues(SystemClock().NowMicros())) {
    for (const auto& c : *counts) {
      if (CurrentQueues()->Find(c.queue) != nullptr) continue;
      orphaned += (orphaned.empty() ? "" : ", ") + c.queue + " (" + std::to_string(c.open + c.in_review + c.escalated) + ")";
    }
  }
  if (!orphaned.empty()) {
    spdlog::warn(R"("msg":"cases in queues the rules no longer declare","queues":{})",
                 boost::json::serialize(boost::json::value(orphaned)));
  }
  (void)store_.Audit(call.actor, "rules.reload", options_.rules_path,
                     orphaned.empty() ? "" : "undeclared queues with cases: " + orphaned);
  Response answer = GetRules(call);
  if (!orphaned.empty()) {
    boost::system::error_code ec;
    auto body = boost::json::parse(answer.body(), ec);
    if (!ec && body.is_object()) {
      body.as_object()["warning"] = "cases in queues the rules no longer declare (only admins and auditors see them; "
                                    "move them with POST /v1/cases/{id}/queue): " + orphaned;
      answer = JsonResponse(http::status::ok, body);
    }
  }
  return answer;
}

Response ApiService::VerifyAudit(ApiCall&) {
  std::int64_t records = 0;
  auto problems = store_.Cases().VerifyAudit(&records);
  if (!problems) return ErrorResponse(problems.error());
  boost::json::array list;
  for (const auto& p : *problems) list.emplace_back(p);
  return JsonResponse(http::status::ok,
                      boost::json::object{{"records", records}, {"ok", problems->empty()}, {"problems", std::move(list)}});
}

}  // namespace vigil::server
