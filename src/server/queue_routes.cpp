// Routes for review queues (include/vigil/review_queues.h): the queues with their counts and
// members, claiming the next case of a queue, moving a case, and the check every case and appeal
// route makes that a reviewer works the case's queue.
#include <algorithm>

#include "server/api_service.h"
#include "server/api_support.h"
#include "server/case_json.h"
#include "util/iso_time.h"
#include "vigil/clock.h"

namespace vigil::server {

std::shared_ptr<const ReviewQueues> ApiService::CurrentQueues() const {
  static const auto built_in = std::make_shared<const ReviewQueues>();
  auto rules = Rules();
  if (!rules) return built_in;
  return std::shared_ptr<const ReviewQueues>(rules, &rules->queues());
}

Result<ApiService::QueueAccess> ApiService::WorkedQueues(const ApiCall& call) {
  QueueAccess access;
  access.queues = CurrentQueues();
  // Auditors, admins and legal staff read every queue; only reviewers are scoped.
  if (call.key == nullptr || call.key->role != "reviewer") return access;
  access.scoped = true;
  VIGIL_ASSIGN_OR_RETURN(auto members, store_.Queues().ListQueueMembers());
  for (const auto& q : access.queues->queues()) {
    const bool member = std::any_of(members.begin(), members.end(), [&](const QueueMember& m) {
      return m.queue == q.name && m.reviewer == call.actor;
    });
    if (q.open_to_all || member) access.worked.push_back(q.name);
  }
  return access;
}

bool ApiService::QueueAccess::Works(const std::string& queue) const {
  if (!scoped) return true;
  // A queue the rules no longer declare (removed or renamed on a reload) is nobody's: its cases are
  // seen by admins and auditors, who move them, and by no reviewer (failing closed: a specialist
  // queue dropped by mistake must not open to everyone).
  return std::find(worked.begin(), worked.end(), queue) != worked.end();
}

void ApiService::QueueAccess::Restrict(CaseStore::CaseQuery& query) const {
  if (!scoped) return;
  if (query.queues) {
    std::vector<std::string> kept;
    for (const auto& q : *query.queues) {
      if (Works(q)) kept.push_back(q);
    }
    query.queues = std::move(kept);
  } else {
    query.queues = worked;
  }
}

std::optional<Response> ApiService::RefuseUnworkedCase(const ApiCall& call, std::int64_t case_id) {
  if (call.key == nullptr || call.key->role != "reviewer") return std::nullopt;
  auto access = WorkedQueues(call);
  if (!access) return ErrorResponse(access.error());
  auto queue = store_.Queues().CaseQueue(case_id);
  if (!queue) return ErrorResponse(queue.error());
  if (access->Works(*queue)) return std::nullopt;
  // As if it did not exist: a reviewer outside the queue learns nothing of its cases.
  return ErrorResponse(http::status::not_found, "not_found",
                       "no case " + std::to_string(case_id) + " in the queues you work");
}

std::optional<Response> ApiService::RefuseUnworkedContent(const ApiCall& call, const std::string& content_id) {
  if (call.key == nullptr || call.key->role != "reviewer") return std::nullopt;
  auto access = WorkedQueues(call);
  if (!access) return ErrorResponse(access.error());
  CaseStore::CaseQuery query;
  query.statuses = {CaseStatus::kOpen, CaseStatus::kInReview, CaseStatus::kEscalated, CaseStatus::kDecided,
                    CaseStatus::kClosed};
  query.content_id = content_id;
  query.limit = 1000;
  auto cases = store_.Cases().FindCases(query);
  if (!cases) return ErrorResponse(cases.error());
  for (const auto& c : *cases) {
    if (!access->Works(c.queue)) {
      return ErrorResponse(http::status::not_found, "not_found",
                           "no content '" + content_id.substr(0, 256) + "' in the queues you work");
    }
  }
  return std::nullopt;
}

std::optional<Response> ApiService::RefuseUnworkedAppeal(const ApiCall& call, std::int64_t appeal_id) {
  if (call.key == nullptr || call.key->role != "reviewer") return std::nullopt;
  auto appeal = store_.Cases().GetAppeal(appeal_id);
  if (!appeal) return ErrorResponse(appeal.error());
  if (appeal->case_id == 0) return std::nullopt;
  if (auto refused = RefuseUnworkedCase(call, appeal->case_id)) {
    return ErrorResponse(http::status::not_found, "not_found",
                         "no appeal " + std::to_string(appeal_id) + " in the queues you work");
  }
  return std::nullopt;
}

Response ApiService::ListQueues(ApiCall& call) {
  auto access = WorkedQueues(call);
  if (!access) return ErrorResponse(access.error());
  const auto now = SystemClock().NowMicros();
  auto counts = store_.Queues().CountQueues(now);
  if (!counts) return ErrorResponse(counts.error());
  auto members = store_.Queues().ListQueueMembers();
  if (!members) return ErrorResponse(members.error());
  boost::json::array out;
  for (const auto& q : access->queues->queues()) {
    if (!access->Works(q.name)) continue;
    QueueCounts c;
    for (const auto& n : *counts) {
      if (n.queue != q.name) continue;
      c.open += n.open;
      c.in_review += n.in_review;
      c.escalated += n.escalated;
      c.overdue += n.overdue;
      if (n.oldest_due && (!c.oldest_due || *n.oldest_due < *c.oldest_due)) c.oldest_due = n.oldest_due;
    }
    boost::json::array names;
    for (const auto& m : *members) {
      if (m.queue == q.name) names.emplace_back(m.reviewer);
    }
    auto list = [](const std::vector<std::string>& v) { return boost::json::array(v.begin(), v.end()); };
    boost::json::object o{{"name", q.name},
                          {"title", q.title},
                          {"declared", true},
                          {"open_to_all", q.open_to_all},
                          {"members", std::move(names)},
                          {"routes", boost::json::object{{"categories", list(q.categories)},
                                                         {"banks", list(q.banks)},
                                                         {"bank_labels", list(q.bank_labels)},
                                                         {"sources", list(q.sources)},
                                                         {"max_priority", q.max_priority ? boost::json::value(*q.max_priority)
                                                                                         : boost::json::value(nullptr)}}},
                          {"sla_hours", q.sla_hours ? boost::json::value(*q.sla_hours) : boost::json::value(nullptr)},
                          {"open", c.open},
                          {"in_review", c.in_review},
                          {"escalated", c.escalated},
                          {"overdue", c.overdue},
                          {"oldest_due", c.oldest_due ? boost::json::value(IsoTime(*c.oldest_due)) : boost::json::value(nullptr)}};
    out.push_back(std::move(o));
  }
  // Cases left in queues the rules no longer declare: for admins and auditors to move.
  if (!access->scoped) {
    for (const auto& n : *counts) {
      if (access->queues->Find(n.queue) != nullptr) continue;
      out.push_back(boost::json::object{{"name", n.queue},
                                        {"title", n.queue + " (no longer in the rules: move its cases)"},
                                        {"declared", false},
                                        {"open_to_all", false},
                                        {"members", boost::json::array{}},
                                        {"sla_hours", nullptr},
                                        {"open", n.open},
                                        {"in_review", n.in_review},
                                        {"escalated", n.escalated},
                                        {"overdue", n.overdue},
                                        {"oldest_due", n.oldest_due ? boost::json::value(IsoTime(*n.oldest_due))
                                                                    : boost::json::value(nullptr)}});
    }
  }
  return JsonResponse(http::status::ok, boost::json::object{{"queues", std::move(out)}});
}

Response ApiService::SetQueueMember(ApiCall& call) {
  const std::string queue = call.path["name"];
  // Key names are folded to lower case (the store's rule): "ALICE" is alice.
  std::string reviewer = call.path["reviewer"];
  std::transform(reviewer.begin(), reviewer.end(), reviewer.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (CurrentQueues()->Find(queue) == nullptr) {
    return ErrorResponse(http::status::not_found, "not_found", "no queue '" + queue.substr(0, 64) + "' in the rules");
  }
  const bool member = call.request.method() == http::verb::put;
  if (member) {
    // Only reviewers work queues: a membership of another role would do nothing, silently.
    if (auto refused = RefuseUnknownReviewer(reviewer)) return std::move(*refused);
  }
  if (auto set = store_.Queues().SetQueueMember(queue, reviewer, member, call.actor); !set) return ErrorResponse(set.error());
  return JsonResponse(http::status::ok, boost::json::object{{"queue", queue}, {"reviewer", reviewer}, {"member", member}});
}

Response ApiService::ClaimNextInQueue(ApiCall& call) {
  const std::string queue = call.path["name"];
  auto access = WorkedQueues(call);
  if (!access) return ErrorResponse(access.error());
  if (access->queues->Find(queue) == nullptr || !access->Works(queue)) {
    return ErrorResponse(http::status::not_found, "not_found", "no queue '" + queue.substr(0, 64) + "' that you work");
  }
  CaseStore::CaseQuery query;
  query.queues = std::vector<std::string>{queue};
  query.limit = 200;
  auto cases = store_.Cases().FindCases(query);
  if (!cases) return ErrorResponse(cases.error());
  // Most urgent first; a case someone else holds, or whose first decision was this reviewer's
  // (its second review must be someone else's), is passed over.
  for (const auto& c : *cases) {
    if (c.status == CaseStatus::kInReview && c.assigned_to != call.actor) continue;
    auto claimed = store_.Cases().ClaimCase(c.id, call.actor);
    if (claimed) return JsonResponse(http::status::ok, CaseJson(*claimed));
    if (claimed.error().code != ErrorCode::kAlreadyExists && claimed.error().code != ErrorCode::kInvalidArgument &&
        claimed.error().code != ErrorCode::kPermissionDenied) {
      return ErrorResponse(claimed.error());
    }
  }
  return ErrorResponse(http::status::not_found, "not_found", "queue '" + queue + "' has no case for you to claim");
}

Response ApiService::MoveCaseToQueue(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto refused = RefuseUnworkedCase(call, *id)) return std::move(*refused);
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  if (auto known = CheckKnownFields(*body, {"queue", "reason"}); !known) return ErrorResponse(known.error());
  const std::string queue = OptString(*body, "queue");
  const std::string reason = OptString(*body, "reason");
  const ReviewQueue* target = CurrentQueues()->Find(queue);
  if (target == nullptr) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "'queue' must name a queue of the rules");
  }
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos || reason.size() > 2000) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "a 'reason' (1-2000 characters) is required");
  }
  // A case someone holds is theirs to move (or an admin's): a colleague cannot take it over.
  auto before = store_.Cases().GetCase(*id);
  if (!before) return ErrorResponse(before.error());
  if (call.key != nullptr && call.key->role == "reviewer" && !before->assigned_to.empty() &&
      before->assigned_to != call.actor && before->lease_until > SystemClock().NowMicros()) {
    return ErrorResponse(http::status::conflict, "already_exists",
                         "case " + std::to_string(*id) + " is claimed by " + before->assigned_to + ": theirs to move");
  }
  if (auto moved = store_.Queues().MoveCase(*id, queue, reason, call.actor, target->sla_hours); !moved) {
    return ErrorResponse(moved.error());
  }
  auto c = store_.Cases().GetCase(*id);
  if (!c) return ErrorResponse(c.error());
  return JsonResponse(http::status::ok, CaseJson(*c));
}

}  // namespace vigil::server
