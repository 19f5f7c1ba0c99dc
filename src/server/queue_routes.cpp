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
  // A queue no longer declared is worked as the default queue is.
  const ReviewQueue* declared = queues->Find(queue);
  const std::string name = declared != nullptr ? declared->name : std::string(kDefaultQueue);
  return std::find(worked.begin(), worked.end(), name) != worked.end();
}

void ApiService::QueueAccess::Restrict(CaseStore::CaseQuery& query) const {
  if (!scoped) return;
  if (Works(std::string(kDefaultQueue))) {
    // Every queue but the declared ones this reviewer does not work (undeclared ones count as the
    // default queue).
    std::vector<std::string> excluded;
    for (const auto& q : queues->queues()) {
      if (!Works(q.name)) excluded.push_back(q.name);
    }
    query.exclude_queues = std::move(excluded);
  } else if (query.queues) {
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
      // Cases in queues no longer declared are counted with the default queue.
      const bool here = n.queue == q.name || (q.name == kDefaultQueue && access->queues->Find(n.queue) == nullptr);
      if (!here) continue;
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
  return JsonResponse(http::status::ok, boost::json::object{{"queues", std::move(out)}});
}

Response ApiService::SetQueueMember(ApiCall& call) {
  const std::string queue = call.path["name"];
  const std::string reviewer = call.path["reviewer"];
  if (CurrentQueues()->Find(queue) == nullptr) {
    return ErrorResponse(http::status::not_found, "not_found", "no queue '" + queue.substr(0, 64) + "' in the rules");
  }
  const bool member = call.request.method() == http::verb::put;
  if (member) {
    // Only reviewers work queues: a membership of another role would do nothing, silently.
    auto keys = store_.ListApiKeys();
    if (!keys) return ErrorResponse(keys.error());
    const bool reviewer_key = std::any_of(keys->begin(), keys->end(), [&](const ApiKeyRecord& k) {
      return k.name == reviewer && k.role == "reviewer" && !k.revoked_at;
    });
    if (!reviewer_key) {
      return ErrorResponse(http::status::not_found, "not_found", "no active reviewer key named '" + reviewer.substr(0, 64) + "'");
    }
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
    if (claimed.error().code != ErrorCode::kAlreadyExists && claimed.error().code != ErrorCode::kInvalidArgument) {
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
  if (CurrentQueues()->Find(queue) == nullptr) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "'queue' must name a queue of the rules");
  }
  if (reason.empty() || reason.size() > 2000) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "a 'reason' (1-2000 characters) is required");
  }
  if (auto moved = store_.Queues().MoveCase(*id, queue, reason, call.actor); !moved) return ErrorResponse(moved.error());
  auto c = store_.Cases().GetCase(*id);
  if (!c) return ErrorResponse(c.error());
  return JsonResponse(http::status::ok, CaseJson(*c));
}

}  // namespace vigil::server
