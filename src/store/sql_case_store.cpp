// Cases, decisions, enforcement, appeals and feedback on SQL (see include/vigil/cases.h). Every
// mutating call is one transaction that also appends to the audit chain, so a state change and its
// audit record land together or not at all.
#include "store/sql_case_store.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "store/audit_chain.h"

namespace vigil::store {
namespace {

constexpr const char* kCaseColumns =
    "id, user_id, status, priority, sla_due, assigned_to, lease_until, second_review, report_queued, rules, "
    "created_at, updated_at";
constexpr const char* kActionColumns =
    "id, user_id, content_id, kind, until_at, ground, facts, automated, redress, actor, case_id, created_at, "
    "notified_at";
constexpr const char* kAppealColumns =
    "id, action_id, user_id, statement, status, assigned_to, original_decider, decided_by, reason, created_at, "
    "sla_due, decided_at";

std::vector<std::string> JsonStrings(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const auto value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return out;
  for (const auto& item : value.as_array()) {
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

std::string ToJsonArray(const std::vector<std::string>& items) {
  boost::json::array a;
  for (const auto& s : items) a.emplace_back(s);
  return boost::json::serialize(a);
}

EnforcementAction ActionFromRow(const SqlRow& row) {
  EnforcementAction a;
  a.id = row.Int(0);
  a.user_id = row.Text(1);
  a.content_id = row.Text(2);
  a.kind = row.Text(3);
  a.until = row.OptInt(4);
  a.statement = {row.Text(5), row.Text(6), row.Int(7) != 0, row.Text(8)};
  a.actor = row.Text(9);
  a.case_id = row.Int(10);
  a.created_at = row.Int(11);
  a.notified_at = row.OptInt(12);
  return a;
}

Appeal AppealFromRow(const SqlRow& row) {
  Appeal a;
  a.id = row.Int(0);
  a.action_id = row.Int(1);
  a.user_id = row.Text(2);
  a.statement = row.Text(3);
  a.status = row.Text(4);
  a.assigned_to = row.Text(5);
  a.original_decider = row.Text(6);
  a.decided_by = row.Text(7);
  a.reason = row.Text(8);
  a.created_at = row.Int(9);
  a.sla_due = row.Int(10);
  a.decided_at = row.OptInt(11);
  return a;
}

class SqlCaseStore final : public CaseStore {
 public:
  SqlCaseStore(ConnectionPool& pool, const Clock& clock, WorkflowOptions options)
      : pool_(pool), clock_(clock), options_(options) {}

  Result<std::optional<Case>> ApplyOutcome(const ContentRecord& content, const PolicyOutcome& outcome,
                                           const std::string& actor) override {
    if (!outcome.Acts()) return std::optional<Case>{};
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    const auto now = Now();
    auto row = db->Query("SELECT id FROM content WHERE content_id = $1", {content.content_id});
    if (!row) return tl::unexpected(row.error());
    if (row->empty()) return Fail(ErrorCode::kNotFound, "no content '" + content.content_id + "'");
    const std::int64_t content_row = row->front().Int(0);
    const std::string rules = ToJsonArray(outcome.rules);
    const std::string facts = FactsOf(content);
    const std::string ground = "policy rules: " + Join(outcome.rules);
    std::vector<std::int64_t> created;
    if (outcome.block) {
      VIGIL_TRY(db->Execute("UPDATE content SET state = 'blocked' WHERE id = $1", {content_row}));
      auto id = InsertAction(*db, content.user_id, content.content_id, "block_content", std::nullopt,
                             {ground, facts, true, options_.appeal_instructions}, actor, 0, 0, now);
      if (!id) return tl::unexpected(id.error());
      created.push_back(*id);
      VIGIL_TRY(AppendAudit(*db, now, actor, "content.block", content.content_id, rules));
    }
    std::int64_t case_id = 0;
    const bool needs_case = outcome.hold || outcome.queue_report || outcome.account != AccountAction::kNone;
    if (needs_case) {
      auto open = db->Query(std::string("SELECT ") + kCaseColumns +
                                " FROM cases WHERE user_id = $1 AND status IN ('open', 'in_review', 'escalated')",
                            {content.user_id});
      if (!open) return tl::unexpected(open.error());
      const int priority = outcome.hold ? outcome.hold_priority : 2;
      const std::int64_t due = now + options_.review_sla_seconds[std::clamp(priority, 0, 3)] * 1'000'000;
      if (open->empty()) {
        auto inserted = db->Query(
            "INSERT INTO cases (user_id, status, priority, sla_due, second_review, report_queued, rules, created_at, "
            "updated_at) VALUES ($1, 'open', $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            {content.user_id, std::int64_t{priority}, due, std::int64_t{outcome.second_review ? 1 : 0},
             std::int64_t{outcome.queue_report ? 1 : 0}, rules, now});
        if (!inserted) return tl::unexpected(inserted.error());
        case_id = inserted->front().Int(0);
        VIGIL_TRY(AppendAudit(*db, now, actor, "case.open", std::to_string(case_id),
                              "user=" + content.user_id + " content=" + content.content_id));
      } else {
        const auto& c = open->front();
        case_id = c.Int(0);
        std::vector<std::string> merged = JsonStrings(c.Text(9));
        for (const auto& r : outcome.rules) {
          if (std::find(merged.begin(), merged.end(), r) == merged.end()) merged.push_back(r);
        }
        VIGIL_TRY(db->Execute(
            "UPDATE cases SET priority = $1, sla_due = $2, second_review = $3, report_queued = $4, rules = $5, "
            "updated_at = $6 WHERE id = $7",
            {std::max<std::int64_t>(c.Int(3), priority), std::min(c.Int(4), due),
             std::int64_t{(c.Int(7) != 0 || outcome.second_review) ? 1 : 0},
             std::int64_t{(c.Int(8) != 0 || outcome.queue_report) ? 1 : 0}, ToJsonArray(merged), now, case_id}));
        VIGIL_TRY(AppendAudit(*db, now, actor, "case.add", std::to_string(case_id), "content=" + content.content_id));
      }
      auto item = db->Execute("INSERT INTO case_items (case_id, content_row) VALUES ($1, $2)", {case_id, content_row});
      if (!item && item.error().code != ErrorCode::kAlreadyExists) return tl::unexpected(item.error());
    }
    if (outcome.account != AccountAction::kNone) {
      const std::string kind = outcome.account == AccountAction::kRestrict ? "restrict_account" : "suspend_account";
      std::optional<std::int64_t> until;
      if (outcome.account_days) until = now + std::int64_t{*outcome.account_days} * 86'400'000'000;
      VIGIL_TRY(SetAccount(*db, content.user_id, outcome.account == AccountAction::kRestrict ? "restricted" : "suspended",
                           until, now));
      auto id = InsertAction(*db, content.user_id, "", kind, until, {ground, facts, true, options_.appeal_instructions},
                             actor, case_id, 0, now);
      if (!id) return tl::unexpected(id.error());
      created.push_back(*id);
      VIGIL_TRY(AppendAudit(*db, now, actor, "account." + kind, content.user_id, rules));
    }
    if (outcome.notify) {
      for (std::int64_t id : created) {
        VIGIL_TRY(db->Execute("UPDATE actions SET notified_at = $1 WHERE id = $2", {now, id}));
        VIGIL_TRY(AppendAudit(*db, now, actor, "user.notify", content.user_id, "action=" + std::to_string(id)));
      }
    }
    VIGIL_TRY(txn->Commit());
    if (case_id == 0) return std::optional<Case>{};
    auto result = GetCaseOn(*db, case_id);
    if (!result) return tl::unexpected(result.error());
    return std::optional<Case>(std::move(*result));
  }

  Result<int> PriorConfirmedCases(const std::string& user_id) override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT COUNT(DISTINCT c.id) FROM cases c JOIN decisions d ON d.case_id = c.id WHERE c.user_id = $1 AND "
        "c.status = 'decided' AND d.verdict = 'violating'",
        {user_id});
    if (!rows) return tl::unexpected(rows.error());
    return static_cast<int>(rows->front().Int(0));
  }

  Result<std::vector<Case>> ListCases(const std::string& status, int limit) override {
    auto db = pool_.Acquire();
    std::string sql = std::string("SELECT ") + kCaseColumns + " FROM cases WHERE ";
    std::vector<SqlValue> params;
    if (status.empty()) {
      sql += "status IN ('open', 'in_review', 'escalated')";
    } else {
      sql += "status = $1";
      params.emplace_back(status);
    }
    sql += " ORDER BY priority DESC, sla_due, id LIMIT " + std::to_string(std::clamp(limit, 1, 1000));
    auto rows = db->Query(sql, params);
    if (!rows) return tl::unexpected(rows.error());
    std::vector<Case> cases;
    for (const auto& row : *rows) {
      auto c = CaseFromRow(*db, row, false);
      if (!c) return tl::unexpected(c.error());
      cases.push_back(std::move(*c));
    }
    return cases;
  }

  Result<Case> GetCase(std::int64_t id) override {
    auto db = pool_.Acquire();
    return GetCaseOn(*db, id);
  }

  Result<Case> ClaimCase(std::int64_t id, const std::string& reviewer) override {
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    const auto now = Now();
    auto c = LockCase(*db, id);
    if (!c) return tl::unexpected(c.error());
    if (c->status == "decided" || c->status == "closed") {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(id) + " is " + c->status + ": nothing to claim");
    }
    if (!c->assigned_to.empty() && c->assigned_to != reviewer && c->lease_until > now) {
      return Fail(ErrorCode::kAlreadyExists, "case " + std::to_string(id) + " is claimed by " + c->assigned_to +
                                                 " until their lease ends");
    }
    // A second review must be someone else.
    auto first = PendingFirstDecision(*db, id);
    if (!first) return tl::unexpected(first.error());
    if (*first && (*first)->reviewer == reviewer) {
      return Fail(ErrorCode::kPermissionDenied, "case " + std::to_string(id) +
                                                    " needs a second review by a reviewer other than " + reviewer);
    }
    VIGIL_TRY(db->Execute("UPDATE cases SET assigned_to = $1, lease_until = $2, status = 'in_review', updated_at = $3 "
                          "WHERE id = $4",
                          {reviewer, now + options_.lease_seconds * 1'000'000, now, id}));
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "case.claim", std::to_string(id), ""));
    VIGIL_TRY(txn->Commit());
    return GetCaseOn(*db, id);
  }

  Status RecordView(std::int64_t case_id, const std::string& content_id, const std::string& reviewer) override {
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    const auto now = Now();
    auto c = LockCase(*db, case_id);
    if (!c) return tl::unexpected(c.error());
    VIGIL_TRY(RequireClaim(*c, reviewer, now));
    auto item = db->Query(
        "SELECT 1 FROM case_items i JOIN content t ON t.id = i.content_row WHERE i.case_id = $1 AND t.content_id = $2",
        {case_id, content_id});
    if (!item) return tl::unexpected(item.error());
    if (item->empty()) {
      return Fail(ErrorCode::kNotFound, "content '" + content_id + "' is not in case " + std::to_string(case_id));
    }
    VIGIL_TRY(db->Execute("INSERT INTO media_views (case_id, content_id, reviewer, at) VALUES ($1, $2, $3, $4)",
                          {case_id, content_id, reviewer, now}));
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "media.view", content_id, "case=" + std::to_string(case_id)));
    return txn->Commit();
  }

  Result<Case> Decide(std::int64_t case_id, const DecisionRequest& request, const std::string& reviewer) override {
    static const std::set<std::string> kVerdicts = {"violating", "not_violating", "escalate"};
    static const std::set<std::string> kAccountActions = {"", "restrict", "suspend", "ban"};
    if (!kVerdicts.count(request.verdict)) {
      return Fail(ErrorCode::kInvalidArgument, "verdict must be violating, not_violating or escalate");
    }
    if (request.reason.empty() || request.reason.size() > 4000) {
      return Fail(ErrorCode::kInvalidArgument, "a reason (1-4000 characters) is required");
    }
    if (!kAccountActions.count(request.account_action)) {
      return Fail(ErrorCode::kInvalidArgument, "account_action must be restrict, suspend, ban or empty");
    }
    if (request.verdict != "violating" && !request.account_action.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "an account action needs a violating verdict");
    }
    if (request.verdict == "violating" && request.classification.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "a violating verdict needs a classification label");
    }
    if ((request.account_action == "restrict" || request.account_action == "suspend") &&
        (!request.account_days || *request.account_days < 1 || *request.account_days > 36500)) {
      return Fail(ErrorCode::kInvalidArgument, request.account_action + " needs account_days within 1..36500");
    }
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    const auto now = Now();
    auto c = LockCase(*db, case_id);
    if (!c) return tl::unexpected(c.error());
    if (c->status == "decided" || c->status == "closed") {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " is " + c->status + " already");
    }
    VIGIL_TRY(RequireClaim(*c, reviewer, now));
    auto first = PendingFirstDecision(*db, case_id);
    if (!first) return tl::unexpected(first.error());
    if (*first && (*first)->reviewer == reviewer) {
      return Fail(ErrorCode::kPermissionDenied, "the second review must be by a different reviewer");
    }
    // What the reviewer actually revealed: a fact for reports, never assumed.
    auto viewed = db->Query("SELECT DISTINCT content_id FROM media_views WHERE case_id = $1 AND reviewer = $2 ORDER BY content_id",
                            {case_id, reviewer});
    if (!viewed) return tl::unexpected(viewed.error());
    std::vector<std::string> viewed_ids;
    for (const auto& row : *viewed) viewed_ids.push_back(row.Text(0));
    const bool needs_second = request.verdict == "violating" && !*first &&
                              (c->second_review_required || request.account_action == "ban");
    auto inserted = db->Query(
        "INSERT INTO decisions (case_id, reviewer, verdict, classification, reason, viewed, second_review, "
        "account_action, account_days, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        {case_id, reviewer, request.verdict, request.classification, request.reason, ToJsonArray(viewed_ids),
         std::int64_t{*first ? 1 : 0}, request.account_action,
         request.account_days ? SqlValue{std::int64_t{*request.account_days}} : SqlValue{}, now});
    if (!inserted) return tl::unexpected(inserted.error());
    const std::int64_t decision_id = inserted->front().Int(0);
    const std::string detail = "verdict=" + request.verdict + " classification=" + request.classification +
                               " viewed=" + std::to_string(viewed_ids.size());
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "case.decide", std::to_string(case_id), detail));
    if (request.verdict == "escalate") {
      VIGIL_TRY(db->Execute("UPDATE cases SET status = 'escalated', assigned_to = '', lease_until = 0, "
                            "priority = CASE WHEN priority < 2 THEN 2 ELSE priority END, updated_at = $1 WHERE id = $2",
                            {now, case_id}));
    } else if (needs_second) {
      // Waits for a different reviewer; the first decision is recorded, nothing is applied yet.
      VIGIL_TRY(db->Execute("UPDATE cases SET status = 'open', assigned_to = '', lease_until = 0, second_review = 1, "
                            "updated_at = $1 WHERE id = $2",
                            {now, case_id}));
    } else {
      // The final decision: a second review that disagrees with the first escalates instead.
      if (*first && (*first)->verdict != request.verdict) {
        VIGIL_TRY(db->Execute("UPDATE cases SET status = 'escalated', assigned_to = '', lease_until = 0, updated_at = $1 "
                              "WHERE id = $2",
                              {now, case_id}));
        VIGIL_TRY(AppendAudit(*db, now, reviewer, "case.escalate", std::to_string(case_id), "reviewers disagree"));
      } else {
        VIGIL_TRY(Enforce(*db, *c, request, reviewer, decision_id, now));
        VIGIL_TRY(db->Execute("UPDATE cases SET status = 'decided', assigned_to = '', lease_until = 0, updated_at = $1 "
                              "WHERE id = $2",
                              {now, case_id}));
      }
    }
    VIGIL_TRY(txn->Commit());
    return GetCaseOn(*db, case_id);
  }

  Result<Account> GetAccount(const std::string& user_id) override {
    auto db = pool_.Acquire();
    return AccountOn(*db, user_id);
  }

  Result<std::vector<EnforcementAction>> ListActions(const std::string& user_id) override {
    auto db = pool_.Acquire();
    auto rows = db->Query(std::string("SELECT ") + kActionColumns + " FROM actions WHERE user_id = $1 ORDER BY id",
                          {user_id});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<EnforcementAction> actions;
    for (const auto& row : *rows) actions.push_back(ActionFromRow(row));
    return actions;
  }

  Status MarkNotified(std::int64_t action_id) override {
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    const auto now = Now();
    auto updated = db->Execute("UPDATE actions SET notified_at = $1 WHERE id = $2", {now, action_id});
    if (!updated) return tl::unexpected(updated.error());
    if (*updated == 0) return Fail(ErrorCode::kNotFound, "no action " + std::to_string(action_id));
    VIGIL_TRY(AppendAudit(*db, now, "platform", "user.notify", std::to_string(action_id), ""));
    return txn->Commit();
  }

  Result<Appeal> FileAppeal(std::int64_t action_id, const std::string& statement, const std::string& actor) override {
    if (statement.size() > 8000) return Fail(ErrorCode::kInvalidArgument, "statement longer than 8000 characters");
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    const auto now = Now();
    auto action = db->Query(std::string("SELECT ") + kActionColumns + " FROM actions WHERE id = $1", {action_id});
    if (!action) return tl::unexpected(action.error());
    if (action->empty()) return Fail(ErrorCode::kNotFound, "no action " + std::to_string(action_id));
    const EnforcementAction a = ActionFromRow(action->front());
    if (a.kind.rfind("restore", 0) == 0) return Fail(ErrorCode::kInvalidArgument, "a restoration cannot be appealed");
    std::string decider = "automated";
    if (!a.statement.automated && a.case_id != 0) {
      auto d = db->Query("SELECT reviewer FROM decisions WHERE case_id = $1 AND verdict = 'violating' ORDER BY id DESC LIMIT 1",
                         {a.case_id});
      if (!d) return tl::unexpected(d.error());
      if (!d->empty()) decider = d->front().Text(0);
    }
    auto inserted = db->Query(
        "INSERT INTO appeals (action_id, user_id, statement, status, original_decider, created_at, sla_due) "
        "VALUES ($1, $2, $3, 'open', $4, $5, $6) RETURNING id",
        {action_id, a.user_id, statement, decider, now, now + options_.appeal_sla_seconds * 1'000'000});
    if (!inserted) {
      if (inserted.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists, "action " + std::to_string(action_id) + " has an appeal already");
      }
      return tl::unexpected(inserted.error());
    }
    const std::int64_t id = inserted->front().Int(0);
    VIGIL_TRY(AppendAudit(*db, now, actor, "appeal.file", std::to_string(id), "action=" + std::to_string(action_id)));
    VIGIL_TRY(txn->Commit());
    return AppealOn(*db, id);
  }

  Result<std::vector<Appeal>> ListAppeals(const std::string& status) override {
    auto db = pool_.Acquire();
    std::string sql = std::string("SELECT ") + kAppealColumns + " FROM appeals";
    std::vector<SqlValue> params;
    if (status.empty()) {
      sql += " WHERE status IN ('open', 'in_review')";
    } else {
      sql += " WHERE status = $1";
      params.emplace_back(status);
    }
    auto rows = db->Query(sql + " ORDER BY sla_due, id LIMIT 1000", params);
    if (!rows) return tl::unexpected(rows.error());
    std::vector<Appeal> appeals;
    for (const auto& row : *rows) appeals.push_back(AppealFromRow(row));
    return appeals;
  }

  Result<Appeal> GetAppeal(std::int64_t id) override {
    auto db = pool_.Acquire();
    return AppealOn(*db, id);
  }

  Result<Appeal> ClaimAppeal(std::int64_t id, const std::string& reviewer) override {
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    const auto now = Now();
    auto appeal = AppealOn(*db, id);
    if (!appeal) return appeal;
    if (appeal->status != "open" && appeal->status != "in_review") {
      return Fail(ErrorCode::kInvalidArgument, "appeal " + std::to_string(id) + " is " + appeal->status + " already");
    }
    if (appeal->original_decider == reviewer) {
      return Fail(ErrorCode::kPermissionDenied, "an appeal goes to a reviewer other than the one who decided (" +
                                                    reviewer + ")");
    }
    if (!appeal->assigned_to.empty() && appeal->assigned_to != reviewer) {
      return Fail(ErrorCode::kAlreadyExists, "appeal " + std::to_string(id) + " is claimed by " + appeal->assigned_to);
    }
    VIGIL_TRY(db->Execute("UPDATE appeals SET assigned_to = $1, status = 'in_review' WHERE id = $2", {reviewer, id}));
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "appeal.claim", std::to_string(id), ""));
    VIGIL_TRY(txn->Commit());
    return AppealOn(*db, id);
  }

  Result<Appeal> DecideAppeal(std::int64_t id, bool overturn, const std::string& reason, const std::string& reviewer) override {
    if (reason.empty() || reason.size() > 4000) return Fail(ErrorCode::kInvalidArgument, "a reason (1-4000 characters) is required");
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    const auto now = Now();
    auto appeal = AppealOn(*db, id);
    if (!appeal) return appeal;
    if (appeal->status != "in_review") {
      return Fail(ErrorCode::kInvalidArgument, "appeal " + std::to_string(id) + " is " + appeal->status +
                                                   " (claim it first; decided appeals are final)");
    }
    if (appeal->assigned_to != reviewer) {
      return Fail(ErrorCode::kPermissionDenied, "appeal " + std::to_string(id) + " is claimed by " + appeal->assigned_to);
    }
    if (appeal->original_decider == reviewer) {
      return Fail(ErrorCode::kPermissionDenied, "a reviewer cannot decide the appeal of their own decision");
    }
    auto action_row = db->Query(std::string("SELECT ") + kActionColumns + " FROM actions WHERE id = $1", {appeal->action_id});
    if (!action_row) return tl::unexpected(action_row.error());
    const EnforcementAction action = ActionFromRow(action_row->front());
    if (overturn) {
      const StatementOfReasons statement{"appeal " + std::to_string(id) + " overturned the action",
                                         reason, false, "No further action is needed."};
      if (!action.content_id.empty()) {
        VIGIL_TRY(db->Execute("UPDATE content SET state = 'restored' WHERE content_id = $1", {action.content_id}));
        auto restored = InsertAction(*db, action.user_id, action.content_id, "restore_content", std::nullopt, statement,
                                     reviewer, action.case_id, 0, now);
        if (!restored) return tl::unexpected(restored.error());
        VIGIL_TRY(AppendAudit(*db, now, reviewer, "content.restore", action.content_id, "appeal=" + std::to_string(id)));
      } else {
        VIGIL_TRY(SetAccount(*db, action.user_id, "active", std::nullopt, now));
        auto restored =
            InsertAction(*db, action.user_id, "", "restore_account", std::nullopt, statement, reviewer, action.case_id, 0, now);
        if (!restored) return tl::unexpected(restored.error());
        VIGIL_TRY(AppendAudit(*db, now, reviewer, "account.restore", action.user_id, "appeal=" + std::to_string(id)));
      }
    }
    VIGIL_TRY(db->Execute("UPDATE appeals SET status = $1, decided_by = $2, reason = $3, decided_at = $4 WHERE id = $5",
                          {std::string(overturn ? "overturned" : "upheld"), reviewer, reason, now, id}));
    VIGIL_TRY(AppendAudit(*db, now, reviewer, overturn ? "appeal.overturn" : "appeal.uphold", std::to_string(id), reason));
    VIGIL_TRY(txn->Commit());
    return AppealOn(*db, id);
  }

  Result<std::vector<ReviewerStats>> ReviewerOverturnRates() override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT r.reviewer, "
        "(SELECT COUNT(*) FROM decisions d WHERE d.reviewer = r.reviewer), "
        "(SELECT COUNT(*) FROM appeals a WHERE a.original_decider = r.reviewer), "
        "(SELECT COUNT(*) FROM appeals a WHERE a.original_decider = r.reviewer AND a.status = 'overturned') "
        "FROM (SELECT DISTINCT reviewer FROM decisions) r ORDER BY r.reviewer");
    if (!rows) return tl::unexpected(rows.error());
    std::vector<ReviewerStats> stats;
    for (const auto& row : *rows) stats.push_back({row.Text(0), row.Int(1), row.Int(2), row.Int(3)});
    return stats;
  }

  Status DisableEntry(std::int64_t entry_id, const std::string& reason, const std::string& reviewer) override {
    if (reason.empty() || reason.size() > 2000) return Fail(ErrorCode::kInvalidArgument, "a reason (1-2000 characters) is required");
    auto db = pool_.Acquire();
    auto txn = SqlTransaction::Start(*db);
    if (!txn) return tl::unexpected(txn.error());
    if (db->dialect() == SqlDialect::kPostgres) VIGIL_TRY(db->Execute("LOCK TABLE imports IN EXCLUSIVE MODE"));
    const auto now = Now();
    auto entry = db->Query("SELECT bank_id FROM bank_entries WHERE id = $1 AND removed_at IS NULL", {entry_id});
    if (!entry) return tl::unexpected(entry.error());
    if (entry->empty()) return Fail(ErrorCode::kNotFound, "no live entry " + std::to_string(entry_id));
    // A one-entry "import" carries the tombstone, so every matcher picks the removal up.
    auto import_row = db->Query(
        "INSERT INTO imports (bank_id, format, source, actor, status, removed, started_at, finished_at) "
        "VALUES ($1, 'feedback', 'review', $2, 'applied', 1, $3, $3) RETURNING id",
        {entry->front().Int(0), reviewer, now});
    if (!import_row) return tl::unexpected(import_row.error());
    VIGIL_TRY(db->Execute("UPDATE bank_entries SET removed_at = $1, removed_import_id = $2, disabled_reason = $3 WHERE id = $4",
                          {now, import_row->front().Int(0), reason, entry_id}));
    VIGIL_TRY(db->Execute("INSERT INTO entry_feedback (entry_id, reason, reviewer, at) VALUES ($1, $2, $3, $4)",
                          {entry_id, reason, reviewer, now}));
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "entry.disable", std::to_string(entry_id), reason));
    return txn->Commit();
  }

  Result<std::vector<EntryFeedback>> ListFeedback() override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT f.entry_id, b.name, e.signal_type, e.value, e.external_id, f.reason, f.reviewer, f.at "
        "FROM entry_feedback f JOIN bank_entries e ON e.id = f.entry_id JOIN banks b ON b.id = e.bank_id ORDER BY f.id");
    if (!rows) return tl::unexpected(rows.error());
    std::vector<EntryFeedback> out;
    for (const auto& r : *rows) {
      out.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6), r.Int(7)});
    }
    return out;
  }

  Status KeepMedia(const std::string& content_id, const std::string& sha256, const std::string&) override {
    auto db = pool_.Acquire();
    auto updated = db->Execute("UPDATE content SET media_sha256 = $1 WHERE content_id = $2", {sha256, content_id});
    if (!updated) return tl::unexpected(updated.error());
    return {};
  }

  Result<std::vector<std::string>> VerifyAudit(std::int64_t* records) override {
    auto db = pool_.Acquire();
    auto check = VerifyAuditLog(*db);
    if (!check) return tl::unexpected(check.error());
    if (records != nullptr) *records = check->records;
    return check->problems;
  }

 private:
  std::int64_t Now() const { return clock_.NowMicros(); }

  static std::string Join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
  }

  static std::string FactsOf(const ContentRecord& content) {
    std::string facts = "upload " + content.content_id + " matched";
    for (const auto& m : content.matches) {
      facts += " " + m.bank_name + "/" + std::to_string(m.entry_id) + " (" + m.signal_type + ", distance " +
               std::to_string(m.distance) + ")";
    }
    return facts;
  }

  Result<std::int64_t> InsertAction(SqlConnection& db, const std::string& user_id, const std::string& content_id,
                                    const std::string& kind, std::optional<std::int64_t> until,
                                    const StatementOfReasons& s, const std::string& actor, std::int64_t case_id,
                                    std::int64_t decision_id, std::int64_t now) {
    auto inserted = db.Query(
        "INSERT INTO actions (user_id, content_id, kind, until_at, ground, facts, automated, redress, actor, case_id, "
        "decision_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        {user_id, content_id, kind, until ? SqlValue{*until} : SqlValue{}, s.ground, s.facts,
         std::int64_t{s.automated ? 1 : 0}, s.redress, actor, case_id, decision_id, now});
    if (!inserted) return tl::unexpected(inserted.error());
    return inserted->front().Int(0);
  }

  Status SetAccount(SqlConnection& db, const std::string& user_id, const std::string& state,
                    std::optional<std::int64_t> until, std::int64_t now) {
    auto updated = db.Execute("UPDATE accounts SET state = $1, until_at = $2, updated_at = $3 WHERE user_id = $4",
                              {state, until ? SqlValue{*until} : SqlValue{}, now, user_id});
    if (!updated) return tl::unexpected(updated.error());
    if (*updated == 0) {
      VIGIL_TRY(db.Execute("INSERT INTO accounts (user_id, state, until_at, updated_at) VALUES ($1, $2, $3, $4)",
                           {user_id, state, until ? SqlValue{*until} : SqlValue{}, now}));
    }
    return {};
  }

  Result<Account> AccountOn(SqlConnection& db, const std::string& user_id) {
    auto rows = db.Query("SELECT user_id, state, until_at, updated_at FROM accounts WHERE user_id = $1", {user_id});
    if (!rows) return tl::unexpected(rows.error());
    Account a;
    a.user_id = user_id;
    if (rows->empty()) return a;
    a.state = rows->front().Text(1);
    a.until = rows->front().OptInt(2);
    a.updated_at = rows->front().Int(3);
    // A timed restriction or suspension ends by itself.
    if (a.until && *a.until <= Now() && a.state != "banned") {
      a.state = "active";
      a.until.reset();
    }
    return a;
  }

  // Applies a final violating or not-violating decision.
  Status Enforce(SqlConnection& db, const Case& c, const DecisionRequest& request, const std::string& reviewer,
                 std::int64_t decision_id, std::int64_t now) {
    const std::string facts = "case " + std::to_string(c.id) + ": " + std::to_string(c.items.size()) +
                              " matched uploads reviewed; classification " + request.classification;
    if (request.verdict == "violating") {
      const StatementOfReasons statement{"child sexual abuse material (policy rules: " + Join(c.rules) + ")",
                                         facts + "; " + request.reason, false, options_.appeal_instructions};
      for (const auto& item : c.items) {
        VIGIL_TRY(db.Execute("UPDATE content SET state = 'removed' WHERE content_id = $1", {item.content_id}));
        auto id = InsertAction(db, c.user_id, item.content_id, "remove_content", std::nullopt, statement, reviewer, c.id,
                               decision_id, now);
        if (!id) return tl::unexpected(id.error());
        VIGIL_TRY(AppendAudit(db, now, reviewer, "content.remove", item.content_id, "case=" + std::to_string(c.id)));
      }
      if (!request.account_action.empty()) {
        std::optional<std::int64_t> until;
        if (request.account_days) until = now + std::int64_t{*request.account_days} * 86'400'000'000;
        const std::string state = request.account_action == "restrict" ? "restricted"
                                  : request.account_action == "ban"    ? "banned"
                                                                       : "suspended";
        const std::string kind = request.account_action + "_account";
        VIGIL_TRY(SetAccount(db, c.user_id, state, request.account_action == "ban" ? std::nullopt : until, now));
        auto id = InsertAction(db, c.user_id, "", kind, request.account_action == "ban" ? std::nullopt : until, statement,
                               reviewer, c.id, decision_id, now);
        if (!id) return tl::unexpected(id.error());
        VIGIL_TRY(AppendAudit(db, now, reviewer, "account." + kind, c.user_id, "case=" + std::to_string(c.id)));
      }
      return {};
    }
    // Not violating: what automation did is undone.
    const StatementOfReasons statement{"review found no violation", facts + "; " + request.reason, false,
                                       "No further action is needed."};
    for (const auto& item : c.items) {
      if (item.state != "blocked") continue;
      VIGIL_TRY(db.Execute("UPDATE content SET state = 'restored' WHERE content_id = $1", {item.content_id}));
      auto id = InsertAction(db, c.user_id, item.content_id, "restore_content", std::nullopt, statement, reviewer, c.id,
                             decision_id, now);
      if (!id) return tl::unexpected(id.error());
      VIGIL_TRY(AppendAudit(db, now, reviewer, "content.restore", item.content_id, "case=" + std::to_string(c.id)));
    }
    auto account = AccountOn(db, c.user_id);
    if (!account) return tl::unexpected(account.error());
    if (account->state != "active") {
      VIGIL_TRY(SetAccount(db, c.user_id, "active", std::nullopt, now));
      auto id = InsertAction(db, c.user_id, "", "restore_account", std::nullopt, statement, reviewer, c.id, decision_id, now);
      if (!id) return tl::unexpected(id.error());
      VIGIL_TRY(AppendAudit(db, now, reviewer, "account.restore", c.user_id, "case=" + std::to_string(c.id)));
    }
    return {};
  }

  Status RequireClaim(const Case& c, const std::string& reviewer, std::int64_t now) {
    if (c.assigned_to != reviewer) {
      return Fail(ErrorCode::kPermissionDenied, "claim case " + std::to_string(c.id) + " first" +
                                                    (c.assigned_to.empty() ? "" : " (held by " + c.assigned_to + ")"));
    }
    if (c.lease_until <= now) {
      return Fail(ErrorCode::kPermissionDenied, "your claim on case " + std::to_string(c.id) + " expired: claim it again");
    }
    return {};
  }

  // The first decision of a case waiting for its second review, if any.
  Result<std::optional<Decision>> PendingFirstDecision(SqlConnection& db, std::int64_t case_id) {
    auto rows = db.Query("SELECT reviewer, verdict FROM decisions WHERE case_id = $1 AND second_review = 0 AND "
                         "verdict = 'violating' AND NOT EXISTS (SELECT 1 FROM decisions s WHERE s.case_id = $1 AND "
                         "s.second_review = 1) AND EXISTS (SELECT 1 FROM cases c WHERE c.id = $1 AND c.status IN "
                         "('open', 'in_review') AND c.second_review = 1) ORDER BY id DESC LIMIT 1",
                         {case_id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return std::optional<Decision>{};
    Decision d;
    d.reviewer = rows->front().Text(0);
    d.verdict = rows->front().Text(1);
    return std::optional<Decision>(d);
  }

  // Reads a case for update (PostgreSQL row lock; SQLite holds the writer already in a transaction
  // that writes).
  Result<Case> LockCase(SqlConnection& db, std::int64_t id) {
    const std::string lock = db.dialect() == SqlDialect::kPostgres ? " FOR UPDATE" : "";
    auto rows = db.Query(std::string("SELECT ") + kCaseColumns + " FROM cases WHERE id = $1" + lock, {id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return Fail(ErrorCode::kNotFound, "no case " + std::to_string(id));
    return CaseFromRow(db, rows->front(), true);
  }

  Result<Case> GetCaseOn(SqlConnection& db, std::int64_t id) {
    auto rows = db.Query(std::string("SELECT ") + kCaseColumns + " FROM cases WHERE id = $1", {id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return Fail(ErrorCode::kNotFound, "no case " + std::to_string(id));
    return CaseFromRow(db, rows->front(), true);
  }

  Result<Case> CaseFromRow(SqlConnection& db, const SqlRow& row, bool full) {
    Case c;
    c.id = row.Int(0);
    c.user_id = row.Text(1);
    c.status = row.Text(2);
    c.priority = static_cast<int>(row.Int(3));
    c.sla_due = row.Int(4);
    c.assigned_to = row.Text(5);
    c.lease_until = row.Int(6);
    c.second_review_required = row.Int(7) != 0;
    c.report_queued = row.Int(8) != 0;
    c.rules = JsonStrings(row.Text(9));
    c.created_at = row.Int(10);
    c.updated_at = row.Int(11);
    auto items = db.Query(
        "SELECT t.content_id, t.media_type, t.state, t.submitted_at, t.media_sha256, t.id FROM case_items i JOIN content t "
        "ON t.id = i.content_row WHERE i.case_id = $1 ORDER BY t.id",
        {c.id});
    if (!items) return tl::unexpected(items.error());
    for (const auto& r : *items) {
      CaseItem item{r.Text(0), r.Text(1), r.Text(2), r.Int(3), {}, !r.IsNull(4)};
      if (full) {
        // On this connection: asking the pool for a second one while holding this could starve it.
        auto matches = db.Query(
            "SELECT m.bank_id, b.name, m.entry_id, m.signal_type, e.value, m.distance, m.quality, e.source, e.member, "
            "e.external_id, e.classification, m.matched_at FROM matches m JOIN banks b ON b.id = m.bank_id JOIN "
            "bank_entries e ON e.id = m.entry_id WHERE m.content_row = $1 ORDER BY m.distance, m.id",
            {r.Int(5)});
        if (!matches) return tl::unexpected(matches.error());
        for (const auto& m : *matches) {
          MatchRecord match;
          match.bank_id = m.Int(0);
          match.bank_name = m.Text(1);
          match.entry_id = m.Int(2);
          match.signal_type = m.Text(3);
          match.entry_value = m.Text(4);
          match.distance = static_cast<int>(m.Int(5));
          if (auto q = m.OptInt(6)) match.quality = static_cast<int>(*q);
          match.provenance = {m.Text(7), m.Text(8), m.Text(9), m.Text(10)};
          match.matched_at = m.Int(11);
          item.matches.push_back(std::move(match));
        }
      }
      c.items.push_back(std::move(item));
    }
    if (full) {
      auto decisions = db.Query(
          "SELECT id, reviewer, verdict, classification, reason, viewed, second_review, decided_at FROM decisions "
          "WHERE case_id = $1 ORDER BY id",
          {c.id});
      if (!decisions) return tl::unexpected(decisions.error());
      for (const auto& r : *decisions) {
        c.decisions.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), JsonStrings(r.Text(5)),
                               r.Int(6) != 0, r.Int(7)});
      }
    }
    return c;
  }

  Result<Appeal> AppealOn(SqlConnection& db, std::int64_t id) {
    auto rows = db.Query(std::string("SELECT ") + kAppealColumns + " FROM appeals WHERE id = $1", {id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return Fail(ErrorCode::kNotFound, "no appeal " + std::to_string(id));
    return AppealFromRow(rows->front());
  }

  ConnectionPool& pool_;
  const Clock& clock_;
  WorkflowOptions options_;
};

}  // namespace

std::unique_ptr<CaseStore> MakeSqlCaseStore(ConnectionPool& pool, const Clock& clock, WorkflowOptions options) {
  return std::make_unique<SqlCaseStore>(pool, clock, options);
}

}  // namespace vigil::store
