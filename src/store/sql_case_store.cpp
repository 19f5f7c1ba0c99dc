// Cases, decisions, enforcement, appeals and feedback on SQL (see include/vigil/cases.h). Every
// mutating call is one transaction that also appends to the audit chain, so a state change and its
// audit record land together or not at all.
#include "store/sql_case_store.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <set>

#include "store/audit_chain.h"
#include "store/enforcement_records.h"
#include "store/event_records.h"
#include "store/record_json.h"
#include "store/report_follow.h"
#include "store/sql_content.h"
#include "util/failpoint.h"
#include "vigil/upload_metadata.h"

namespace vigil::store {
namespace {

// A decision row's account action ("" for none); kCorrupt for a word the schema never writes.
Result<AccountAction> StoredAccountAction(const std::string& text) {
  auto action = ParseAccountAction(text);
  if (!action) return Fail(ErrorCode::kCorrupt, "a decision row has the account action '" + text.substr(0, 40) + "'");
  return action;
}

// A decision row's verdict; kCorrupt for a word the schema never writes.
Result<Verdict> StoredVerdict(const std::string& text) {
  auto verdict = ParseVerdict(text);
  if (!verdict) return Fail(ErrorCode::kCorrupt, "a decision row has the verdict '" + text.substr(0, 40) + "'");
  return verdict;
}

constexpr const char* kCaseColumns =
    "id, user_id, status, priority, sla_due, assigned_to, lease_until, second_review, report_queued, rules, "
    "created_at, updated_at, category, report_problem, queue";
constexpr const char* kAppealColumns =
    "id, action_id, user_id, statement, status, assigned_to, original_decider, decided_by, reason, created_at, "
    "sla_due, decided_at, decision_id, case_id";

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
  a.decision_id = row.Int(12);
  a.case_id = row.Int(13);
  return a;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Staff-only detail of what matched: the lists and entries (never shown to the user).
std::string MatchDetail(const ContentRecord& content) {
  std::string facts = "upload " + content.content_id + (content.matches.empty() ? " matched nothing" : " matched");
  for (const auto& m : content.matches) {
    facts += " " + m.bank_name + "/" + std::to_string(m.entry_id) + " (" + m.signal_type + ", distance " +
             std::to_string(m.distance) + ")";
  }
  // What the classifiers scored, when a rule may have fired on it.
  for (const auto& c : content.classifications) {
    if (!c.ok()) continue;
    facts.append("; ").append(c.classifier).append(" (").append(c.model).append(c.version.empty() ? "" : " " + c.version).append(")");
    for (const auto& l : c.labels) {
      char score[16];
      std::snprintf(score, sizeof score, "%.3f", l.score);
      facts.append(" ").append(l.label).append("=").append(score);
    }
  }
  return facts;
}

// The policy part of an upload's answer, as recorded with it.
// An upload without a user id has no account to act on: its answer says so, whatever the rules said.
// `queue`: the review queue the case is in ("" : no case).
std::string OutcomeJson(const PolicyOutcome& outcome, bool evaluated, std::int64_t case_id, const std::string& user_id,
                        const std::string& queue) {
  boost::json::array fired;
  for (const auto& r : outcome.rules) fired.emplace_back(r);
  boost::json::object out{{"evaluated", evaluated},
                          {"rules", std::move(fired)},
                          {"block", outcome.block},
                          {"hold", outcome.hold},
                          {"queue_report", outcome.queue_report},
                          {"account_action", AccountActionName(user_id.empty() ? AccountAction::kNone : outcome.account)},
                          {"notify", outcome.notify}};
  if (outcome.hold) out["priority"] = outcome.hold_priority;
  out["category"] = outcome.Acts() ? boost::json::value(outcome.category.id) : nullptr;
  out["case_id"] = case_id != 0 ? boost::json::value(case_id) : nullptr;
  out["queue"] = queue.empty() ? boost::json::value(nullptr) : boost::json::value(queue);
  return boost::json::serialize(out);
}

// The queue a case is in now ("" for no case): where an upload that joined it went.
Result<std::string> CaseQueueOn(SqlConnection& db, std::int64_t case_id) {
  if (case_id == 0) return std::string();
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT queue FROM cases WHERE id = $1", {case_id}));
  return rows.empty() ? std::string() : rows.front().Text(0);
}

class SqlCaseStore final : public CaseStore {
 public:
  SqlCaseStore(ConnectionPool& pool, const Clock& clock, WorkflowOptions options)
      : pool_(pool), clock_(clock), options_(options) {}

  Result<RecordedUpload> RecordUpload(const ContentRecord& content, const UploadPolicy& policy,
                                      const std::string& actor) override {
    if (content.content_id.empty() || content.content_id.size() > 256) {
      return Fail(ErrorCode::kInvalidArgument, "content_id must be 1-256 bytes");
    }
    auto db = pool_.Acquire();
    std::optional<Case> opened;
    {
      VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
      VIGIL_TRY(LockContentIdsOn(*db, {content.content_id}));
      VIGIL_ASSIGN_OR_RETURN(auto taken, ReadContentsWithoutMatchesOn(*db, {content.content_id}));
      const auto now = content.submitted_at != 0 ? content.submitted_at : Now();
      // An upload that matched nothing goes to `uploads`, unless a rule fires on its classifiers'
      // scores (then it is kept, like a match, with what was done about it; the outcome found here
      // is the one applied below, not evaluated twice).
      std::optional<PolicyOutcome> scored;
      if (taken.empty() && content.matches.empty() && !content.classifications.empty() && policy.evaluate) {
        VIGIL_ASSIGN_OR_RETURN(auto facts, FactsOn(*db, content));
        scored = policy.evaluate(facts);
      }
      if (taken.empty() && content.matches.empty() && !(scored && scored->Acts())) {
        VIGIL_TRY(InsertUploadsOn(*db, std::span(&content, 1), now));
        VIGIL_TRY(txn.Commit());
        VIGIL_ASSIGN_OR_RETURN(auto stored, ReadContentOn(*db, content.content_id));
        return RecordedUpload{std::move(stored), std::nullopt, false};
      }
      auto row = taken.empty() ? InsertContentOn(*db, content, now)
                               : Result<std::int64_t>(Fail(ErrorCode::kAlreadyExists, "taken"));
      if (!row) {
        if (row.error().code != ErrorCode::kAlreadyExists) return tl::unexpected(row.error());
      } else {
        // The recorded matches, with their banks' names and the entries' provenance.
        VIGIL_ASSIGN_OR_RETURN(auto recorded, ReadContentOn(*db, content.content_id));
        VIGIL_TRY(QuarantineOn(*db, *row, recorded, now, actor));
        PolicyOutcome outcome;
        if (scored) {
          outcome = std::move(*scored);
        } else if (policy.evaluate) {
          VIGIL_ASSIGN_OR_RETURN(auto facts, FactsOn(*db, recorded));
          outcome = policy.evaluate(facts);
        }
        VIGIL_TRY(HoldQuarantinedOn(*db, recorded, outcome));
        // Found by a classifier, for the transparency figures and the report, unless the upload
        // says how it was found.
        if (outcome.classifier_only && outcome.Acts()) VIGIL_TRY(MarkDetectedByOn(*db, *row, recorded.metadata_json, "classifier"));
        VIGIL_ASSIGN_OR_RETURN(auto case_id, ApplyOutcomeOn(*db, recorded, *row, outcome, actor, now));
        if (case_id != 0 && policy.keep_media) {
          const auto sha256 = content.hashes.find("sha256");
          if (sha256 == content.hashes.end()) return Fail(ErrorCode::kInternal, "an upload without its SHA-256");
          VIGIL_TRY(policy.keep_media(sha256->second));
          VIGIL_TRY(db->Execute("UPDATE content SET media_sha256 = $1 WHERE id = $2", {sha256->second, *row}));
        }
        VIGIL_ASSIGN_OR_RETURN(const auto queue, CaseQueueOn(*db, case_id));
        const std::string outcome_json =
            OutcomeJson(outcome, static_cast<bool>(policy.evaluate), case_id, content.user_id, queue);
        VIGIL_TRY(db->Execute("UPDATE content SET outcome = $1 WHERE id = $2", {outcome_json, *row}));
        FailPoint("upload.before_commit");
        if (case_id != 0) {
          VIGIL_ASSIGN_OR_RETURN(auto c, GetCaseOn(*db, case_id));
          opened = std::move(c);
        }
        VIGIL_TRY(txn.Commit());
        VIGIL_ASSIGN_OR_RETURN(auto stored, ReadContentOn(*db, content.content_id));
        return RecordedUpload{std::move(stored), std::move(opened), false};
      }
    }
    return Replay(*db, content);
  }

  // The id is taken: the same upload again (a client's retry, or two identical requests at once)
  // gets the first answer; anything else is a conflict.
  Result<RecordedUpload> Replay(SqlConnection& db, const ContentRecord& content) {
    VIGIL_ASSIGN_OR_RETURN(auto first, ReadContentOn(db, content.content_id));
    const auto mine = content.hashes.find("sha256");
    const auto theirs = first.hashes.find("sha256");
    const bool same = mine != content.hashes.end() && theirs != first.hashes.end() && mine->second == theirs->second &&
                      first.user_id == content.user_id;
    if (!same) {
      return Fail(ErrorCode::kAlreadyExists, "content '" + content.content_id +
                                                 "' was already submitted with other bytes or by another user");
    }
    return RecordedUpload{std::move(first), std::nullopt, true};
  }

  std::vector<Result<RecordedUpload>> RecordUnmatchedUploads(std::span<const ContentRecord> contents) override {
    std::vector<Result<RecordedUpload>> out;
    std::vector<ContentRecord> valid;
    std::vector<std::size_t> where;  // index in `out` of each valid upload
    for (std::size_t i = 0; i < contents.size(); ++i) {
      const auto& c = contents[i];
      if (c.content_id.empty() || c.content_id.size() > 256) {
        out.emplace_back(Fail(ErrorCode::kInvalidArgument, "content_id must be 1-256 bytes"));
      } else if (!c.matches.empty()) {
        out.emplace_back(Fail(ErrorCode::kInvalidArgument, "content '" + c.content_id + "' matched: record it alone"));
      } else {
        out.emplace_back(Fail(ErrorCode::kInternal, "not recorded"));
        valid.push_back(c);
        where.push_back(i);
      }
    }
    if (valid.empty()) return out;
    auto db = pool_.Acquire();
    auto fail_all = [&](const Error& e) {
      for (std::size_t i : where) out[i] = tl::unexpected(e);
      return out;
    };
    std::vector<std::string> wanted;
    for (const auto& c : valid) wanted.push_back(c.content_id);
    std::map<std::string, ContentRecord> fresh;  // recorded by this call, by content id
    {
      auto txn = SqlTransaction::Start(*db);
      if (!txn) return fail_all(txn.error());
      if (auto locked = LockContentIdsOn(*db, wanted); !locked) return fail_all(locked.error());
      auto taken = ReadContentsWithoutMatchesOn(*db, wanted);
      if (!taken) return fail_all(taken.error());
      std::set<std::string> seen;
      for (const auto& t : *taken) seen.insert(t.content_id);
      std::vector<ContentRecord> insert;
      const auto now = Now();
      for (const auto& c : valid) {
        if (!seen.insert(c.content_id).second) continue;  // taken, or a retry of one earlier in the batch
        insert.push_back(c);
        if (insert.back().submitted_at == 0) insert.back().submitted_at = now;
      }
      if (auto inserted = InsertUploadsOn(*db, insert, now); !inserted) return fail_all(inserted.error());
      if (auto committed = txn->Commit(); !committed) return fail_all(committed.error());
      std::vector<std::string> inserted;
      for (const auto& c : insert) inserted.push_back(c.content_id);
      auto rows = ReadContentsWithoutMatchesOn(*db, inserted);  // as a replay will read them
      if (!rows) return fail_all(rows.error());
      for (auto& row : *rows) fresh.emplace(row.content_id, std::move(row));
    }
    for (std::size_t k = 0; k < valid.size(); ++k) {
      const auto& c = valid[k];
      if (auto it = fresh.find(c.content_id); it != fresh.end()) {
        out[where[k]] = RecordedUpload{std::move(it->second), std::nullopt, false};
        fresh.erase(it);  // a second upload of the same id in this batch is a retry of the first
        continue;
      }
      out[where[k]] = Replay(*db, c);
    }
    return out;
  }

  static constexpr std::int64_t kMaxReportsPerUpload = 100;

  Result<UserReportOutcome> ReportContent(const UserReportRequest& report, const std::string& actor) override {
    if (report.source != "user_report" && report.source != "escalation") {
      return Fail(ErrorCode::kInvalidArgument, "source must be \"user_report\" or \"escalation\"");
    }
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_TRY(LockContentIdsOn(*db, {report.content_id}));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(auto row, KeepInContentOn(*db, report.content_id));
    if (!row) {
      return Fail(ErrorCode::kNotFound, "content '" + report.content_id.substr(0, 256) +
                                            "' is not recorded (or no longer kept): submit it with POST /v1/content first");
    }
    // An upload a person has decided already is not put in front of a reviewer again (a new case
    // would strike the account twice, and report it twice).
    VIGIL_ASSIGN_OR_RETURN(
        auto decided, db->Query("SELECT ci.case_id FROM case_items ci JOIN cases c ON c.id = ci.case_id "
                                "WHERE ci.content_row = $1 AND c.status IN ('decided', 'closed') "
                                "UNION SELECT 0 FROM content WHERE id = $1 AND state IN ('removed', 'restored')",
                                {*row}));
    if (!decided.empty()) {
      return Fail(ErrorCode::kAlreadyExists, "content '" + report.content_id.substr(0, 256) + "' was decided by a person" +
                                                 (decided[0].Int(0) != 0 ? " in case " + std::to_string(decided[0].Int(0)) : "") +
                                                 ": an appeal, not a report, reopens it");
    }
    VIGIL_ASSIGN_OR_RETURN(auto reported, db->Query("SELECT COUNT(*) FROM user_reports WHERE content_row = $1", {*row}));
    if (reported.front().Int(0) >= kMaxReportsPerUpload) {
      return Fail(ErrorCode::kAlreadyExists, "content '" + report.content_id.substr(0, 256) + "' has " +
                                                 std::to_string(kMaxReportsPerUpload) + " reports already: it is in front of a reviewer");
    }
    VIGIL_ASSIGN_OR_RETURN(auto content, ReadContentOn(*db, report.content_id));
    // Found by the report, for the transparency figures, unless the upload says how it was found.
    if (content.matches.empty()) VIGIL_TRY(MarkDetectedByOn(*db, *row, content.metadata_json, report.source));
    VIGIL_ASSIGN_OR_RETURN(auto open_before, db->Query("SELECT id FROM cases WHERE user_id = $1 AND user_id <> '' AND "
                                                       "status IN ('open', 'in_review', 'escalated')",
                                                       {content.user_id}));
    PolicyOutcome outcome;
    outcome.hold = true;
    outcome.hold_priority = std::clamp(report.priority, 0, 3);
    outcome.rules = {report.source};
    outcome.category = report.category;
    outcome.queue = report.queue;
    outcome.queue_sla_hours = report.queue_sla_hours;
    VIGIL_ASSIGN_OR_RETURN(auto case_id, ApplyOutcomeOn(*db, content, *row, outcome, actor, now));
    // A report of a category reported to NCMEC makes the case that category (a reviewer taking the
    // case's default must not leave it unreported).
    if (report.category.cybertip) {
      VIGIL_TRY(db->Execute("UPDATE cases SET category = $1 WHERE id = $2", {report.category.id, case_id}));
    }
    VIGIL_ASSIGN_OR_RETURN(
        auto inserted,
        db->Query("INSERT INTO user_reports (case_id, content_row, source, reporter, reason, category, priority, created_by, "
                  "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                  {case_id, *row, report.source, report.reporter, report.reason, report.category.id,
                   std::int64_t{outcome.hold_priority}, actor, now}));
    UserReportOutcome out;
    out.report_id = inserted.front().Int(0);
    out.case_id = case_id;
    out.joined = !open_before.empty() && open_before.front().Int(0) == case_id;
    VIGIL_TRY(AppendAudit(*db, now, actor, "case." + report.source, std::to_string(case_id),
                          "content=" + report.content_id + " report=" + std::to_string(out.report_id) +
                              (report.reporter.empty() ? "" : " reporter=" + report.reporter)));
    VIGIL_TRY(txn.Commit());
    return out;
  }

  Result<RecordedUpload> RecordLateMatches(const std::string& content_id, const std::vector<MatchRecord>& matches,
                                           const UploadPolicy& policy, const std::string& actor) override {
    // A sweep's matches all name the case it sweeps for (RetroMatcher::Sweep).
    const std::int64_t sweep_of = matches.empty() ? 0 : matches.front().sweep_of;
    if (std::any_of(matches.begin(), matches.end(), [&](const MatchRecord& m) { return m.sweep_of != sweep_of; })) {
      return Fail(ErrorCode::kInvalidArgument, "late matches of '" + content_id + "' mix sweeps");
    }
    auto db = pool_.Acquire();
    std::optional<Case> opened;
    {
      VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
      VIGIL_TRY(LockContentIdsOn(*db, {content_id}));
      const auto now = Now();
      VIGIL_ASSIGN_OR_RETURN(auto row, KeepInContentOn(*db, content_id));
      if (!row) return Fail(ErrorCode::kNotFound, "content '" + content_id + "' is no longer kept");
      // A person has decided this upload already (in a case decided or closed, or its state says
      // so): a sweep never reopens, re-blocks or re-queues it; a late match is recorded, and the
      // policy does not act on it (a reviewer's judgement, or an appeal's, is not undone by a list).
      VIGIL_ASSIGN_OR_RETURN(
          auto decided, db->Query("SELECT ci.case_id FROM case_items ci JOIN cases c ON c.id = ci.case_id "
                                  "WHERE ci.content_row = $1 AND c.status IN ('decided', 'closed') "
                                  "UNION SELECT 0 FROM content WHERE id = $1 AND state IN ('removed', 'restored')",
                                  {*row}));
      if (sweep_of != 0) {
        if (!decided.empty()) {
          return Fail(ErrorCode::kAlreadyExists, "content '" + content_id + "' was decided by a person" +
                                                     (decided[0].Int(0) != 0 ? " in case " + std::to_string(decided[0].Int(0)) : "") +
                                                     ": a sweep leaves it alone");
        }
      }
      VIGIL_ASSIGN_OR_RETURN(auto had, db->Query("SELECT entry_id FROM matches WHERE content_row = $1", {*row}));
      std::set<std::int64_t> known;
      for (const auto& r : had) known.insert(r.Int(0));
      std::set<std::int64_t> added;
      for (auto m : matches) {
        if (known.contains(m.entry_id) || !added.insert(m.entry_id).second) continue;
        m.retroactive = true;
        VIGIL_TRY(InsertMatchOn(*db, *row, m, now));
      }
      if (added.empty()) {
        VIGIL_ASSIGN_OR_RETURN(auto stored, ReadContentOn(*db, content_id));
        return RecordedUpload{std::move(stored), std::nullopt, true};
      }
      // The policy sees the new matches only: the ones from upload time were acted on then.
      VIGIL_ASSIGN_OR_RETURN(auto recorded, ReadContentOn(*db, content_id));
      VIGIL_TRY(QuarantineOn(*db, *row, recorded, now, actor));
      ContentRecord late = recorded;
      std::erase_if(late.matches, [&](const MatchRecord& m) { return !added.contains(m.entry_id); });
      PolicyOutcome outcome;
      if (policy.evaluate && decided.empty()) {
        VIGIL_ASSIGN_OR_RETURN(auto facts, FactsOn(*db, late));
        facts.found_later = true;
        facts.swept = sweep_of != 0;
        facts.upload_age_days = std::max<std::int64_t>(0, (now - recorded.submitted_at) / 86'400'000'000);
        outcome = policy.evaluate(facts);
      }
      VIGIL_TRY(HoldQuarantinedOn(*db, late, outcome));
      VIGIL_ASSIGN_OR_RETURN(auto case_id, ApplyOutcomeOn(*db, late, *row, outcome, actor, now));
      // An upload that matched nothing gets the late answer (its answer at upload said nothing
      // matched); one that had matches at upload keeps the answer it was given then.
      if (known.empty()) {
        VIGIL_ASSIGN_OR_RETURN(const auto queue, CaseQueueOn(*db, case_id));
        VIGIL_TRY(db->Execute("UPDATE content SET outcome = $1 WHERE id = $2",
                              {OutcomeJson(outcome, static_cast<bool>(policy.evaluate), case_id, late.user_id, queue), *row}));
      }
      VIGIL_TRY(AppendAudit(*db, now, actor, sweep_of != 0 ? "content.sweep_match" : "content.late_match", content_id,
                            MatchDetail(late) + (sweep_of != 0 ? "; sweep of case " + std::to_string(sweep_of) : "") +
                                (outcome.rules.empty() ? "" : "; policy rules: " + Join(outcome.rules))));
      FailPoint("late_match.before_commit");
      if (case_id != 0) {
        VIGIL_ASSIGN_OR_RETURN(auto c, GetCaseOn(*db, case_id));
        opened = std::move(c);
      }
      VIGIL_TRY(txn.Commit());
    }
    VIGIL_ASSIGN_OR_RETURN(auto stored, ReadContentOn(*db, content_id));
    return RecordedUpload{std::move(stored), std::move(opened), false};
  }

  Result<ContentFacts> PolicyFacts(const ContentRecord& content) override {
    auto db = pool_.Acquire();
    return FactsOn(*db, content);
  }

  Result<int> PriorConfirmedCases(const std::string& user_id) override {
    auto db = pool_.Acquire();
    return PriorConfirmedOn(*db, user_id);
  }

  Result<std::vector<Case>> ListCases(std::optional<CaseStatus> status, int limit) override {
    CaseQuery query;
    if (status) query.statuses = {*status};
    query.limit = limit;
    return FindCases(query);
  }

  Result<std::vector<Case>> FindCases(const CaseQuery& query) override {
    auto db = pool_.Acquire();
    std::string sql = std::string("SELECT ") + kCaseColumns + " FROM cases WHERE ";
    std::vector<SqlValue> params;
    auto param = [&](SqlValue v) {
      params.push_back(std::move(v));
      return "$" + std::to_string(params.size());
    };
    bool history = false;
    if (query.statuses.empty()) {
      sql += "status IN ('open', 'in_review', 'escalated')";
    } else {
      sql += "status IN (";
      for (std::size_t i = 0; i < query.statuses.size(); ++i) {
        const auto status = query.statuses[i];
        history = history || status == CaseStatus::kDecided || status == CaseStatus::kClosed;
        sql += (i ? ", " : "") + param(std::string(CaseStatusName(status)));
      }
      sql += ")";
    }
    if (query.queues) {
      if (query.queues->empty()) return std::vector<Case>{};
      sql += " AND queue IN (";
      for (std::size_t i = 0; i < query.queues->size(); ++i) sql += (i ? ", " : "") + param((*query.queues)[i]);
      sql += ")";
    }
    if (!query.user_id.empty()) sql += " AND user_id = " + param(query.user_id);
    if (!query.content_id.empty()) {
      sql += " AND id IN (SELECT i.case_id FROM case_items i JOIN content t ON t.id = i.content_row WHERE t.content_id = " +
             param(query.content_id) + ")";
    }
    sql += history ? " ORDER BY updated_at DESC, id DESC" : " ORDER BY priority, sla_due, id";
    sql += " LIMIT " + std::to_string(std::clamp(query.limit, 1, 1000));
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(sql, params));
    std::vector<Case> cases;
    for (const auto& row : rows) {
      VIGIL_ASSIGN_OR_RETURN(auto c, CaseFromRow(*db, row, false));
      cases.push_back(std::move(c));
    }
    return cases;
  }

  Result<Case> GetCase(std::int64_t id) override {
    auto db = pool_.Acquire();
    return GetCaseOn(*db, id);
  }

  Result<Case> ClaimCase(std::int64_t id, const std::string& reviewer) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(auto c, LockCase(*db, id));
    if (c.status == CaseStatus::kDecided || c.status == CaseStatus::kClosed) {
      return Fail(ErrorCode::kInvalidArgument,
                  "case " + std::to_string(id) + " is " + CaseStatusName(c.status) + ": nothing to claim");
    }
    if (!c.assigned_to.empty() && c.assigned_to != reviewer && c.lease_until > now) {
      return Fail(ErrorCode::kAlreadyExists, "case " + std::to_string(id) + " is claimed by " + c.assigned_to +
                                                 " until their lease ends");
    }
    // A second review must be someone else.
    VIGIL_ASSIGN_OR_RETURN(auto first, PendingFirstDecision(*db, id));
    if (first && first->reviewer == reviewer) {
      return Fail(ErrorCode::kPermissionDenied, "case " + std::to_string(id) +
                                                    " needs a second review by a reviewer other than " + reviewer);
    }
    VIGIL_TRY(db->Execute("UPDATE cases SET assigned_to = $1, lease_until = $2, status = 'in_review', updated_at = $3, "
                          "claimed_at = $3 WHERE id = $4",
                          {reviewer, now + options_.lease_seconds * 1'000'000, now, id}));
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "case.claim", std::to_string(id), ""));
    VIGIL_TRY(txn.Commit());
    return GetCaseOn(*db, id);
  }

  Status RecordView(std::int64_t case_id, const std::string& content_id, const std::string& reviewer) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(auto c, LockCase(*db, case_id));
    VIGIL_TRY(RequireClaim(c, reviewer, now));
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
    return txn.Commit();
  }

  Status RecordAppealView(std::int64_t appeal_id, std::int64_t case_id, const std::string& content_id,
                          const std::string& reviewer) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(auto appeal, db->Query("SELECT case_id, status, assigned_to FROM appeals WHERE id = $1", {appeal_id}));
    if (appeal.empty() || appeal.front().Int(0) != case_id) {
      return Fail(ErrorCode::kNotFound, "no appeal " + std::to_string(appeal_id) + " of case " + std::to_string(case_id));
    }
    if (appeal.front().Text(1) != "in_review" || appeal.front().Text(2) != reviewer) {
      return Fail(ErrorCode::kPermissionDenied,
                  "claim appeal " + std::to_string(appeal_id) + " before revealing the media of its case");
    }
    VIGIL_ASSIGN_OR_RETURN(auto item, db->Query("SELECT 1 FROM case_items i JOIN content t ON t.id = i.content_row "
                                                "WHERE i.case_id = $1 AND t.content_id = $2",
                                                {case_id, content_id}));
    if (item.empty()) return Fail(ErrorCode::kNotFound, "content '" + content_id + "' is not in case " + std::to_string(case_id));
    VIGIL_TRY(db->Execute("INSERT INTO media_views (case_id, content_id, reviewer, at) VALUES ($1, $2, $3, $4)",
                          {case_id, content_id, reviewer, now}));
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "media.view", content_id,
                          "case=" + std::to_string(case_id) + " appeal=" + std::to_string(appeal_id)));
    return txn.Commit();
  }

  Result<std::int64_t> ConfirmedElsewhere(const std::string& signal_type, const std::string& value, std::int64_t case_id,
                                          const std::string& category) override {
    if (signal_type != "pdq" && signal_type != "sha256" && signal_type != "md5") return std::int64_t{0};
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, db->Query("SELECT c.id FROM content t JOIN case_items ci ON ci.content_row = t.id JOIN cases c ON "
                             "c.id = ci.case_id WHERE t." + signal_type + " = $1 AND t.state = 'removed' AND c.id <> $2 "
                             "AND c.category = $3 AND c.status IN ('decided', 'closed') ORDER BY c.id LIMIT 1",
                             {value, case_id, category}));
    return rows.empty() ? std::int64_t{0} : rows[0].Int(0);
  }

  Status AttachMedia(std::int64_t case_id, const std::string& content_id, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, db->Query("SELECT t.id, t.sha256, t.media_sha256 FROM case_items i JOIN content t ON t.id = i.content_row "
                             "WHERE i.case_id = $1 AND t.content_id = $2",
                             {case_id, content_id}));
    if (rows.empty()) {
      return Fail(ErrorCode::kNotFound, "content '" + content_id + "' is not in case " + std::to_string(case_id));
    }
    if (!rows[0].IsNull(2)) return {};  // kept already
    if (rows[0].IsNull(1)) return Fail(ErrorCode::kInvalidArgument, "content '" + content_id + "' has no SHA-256 on record");
    VIGIL_TRY(db->Execute("UPDATE content SET media_sha256 = sha256 WHERE id = $1", {rows[0].Int(0)}));
    VIGIL_TRY(AppendAudit(*db, Now(), actor, "media.attach", content_id, "case=" + std::to_string(case_id)));
    return txn.Commit();
  }

  Result<Case> Decide(std::int64_t case_id, const DecisionRequest& request, const std::string& reviewer) override {
    const bool violating = request.verdict == Verdict::kViolating;
    if (request.reason.empty() || request.reason.size() > 4000) {
      return Fail(ErrorCode::kInvalidArgument, "a reason (1-4000 characters) is required");
    }
    if (!violating && request.account_action != AccountAction::kNone) {
      return Fail(ErrorCode::kInvalidArgument, "an account action needs a violating verdict");
    }
    if (violating && request.category.id.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "a violating verdict needs a category of violation");
    }
    if (violating && !request.category.classifications.empty() && request.classification.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "a violating verdict in category '" + request.category.id +
                                                   "' needs a classification label");
    }
    if (request.user_statement.size() > 2000) {
      return Fail(ErrorCode::kInvalidArgument, "user_statement longer than 2000 characters");
    }
    if ((request.account_action == AccountAction::kRestrict || request.account_action == AccountAction::kSuspend) &&
        (!request.account_days || *request.account_days < 1 || *request.account_days > 36500)) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string(AccountActionName(request.account_action)) + " needs account_days within 1..36500");
    }
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(auto c, LockCase(*db, case_id));
    if (c.status == CaseStatus::kDecided || c.status == CaseStatus::kClosed) {
      return Fail(ErrorCode::kInvalidArgument,
                  "case " + std::to_string(case_id) + " is " + CaseStatusName(c.status) + " already");
    }
    VIGIL_TRY(RequireClaim(c, reviewer, now));
    // Uploads that joined the case after the reviewer claimed it were never in front of them (a
    // late match, a sweep, a new upload of the account): the decision would cover them unseen.
    VIGIL_ASSIGN_OR_RETURN(
        auto unseen, db->Query("SELECT t.content_id FROM case_items i JOIN content t ON t.id = i.content_row "
                               "JOIN cases c ON c.id = i.case_id WHERE i.case_id = $1 AND i.added_at IS NOT NULL "
                               "AND c.claimed_at IS NOT NULL AND i.added_at > c.claimed_at ORDER BY t.id",
                               {case_id}));
    if (!unseen.empty()) {
      std::string ids;
      for (std::size_t i = 0; i < unseen.size() && i < 5; ++i) ids += (i == 0 ? "" : ", ") + unseen[i].Text(0).substr(0, 80);
      return Fail(ErrorCode::kAlreadyExists, "case " + std::to_string(case_id) + " gained " + std::to_string(unseen.size()) +
                                                 " upload(s) after you claimed it (" + ids +
                                                 "): claim it again and review them before deciding");
    }
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
    // A classifier's score is a reason to look, not knowledge: an upload in the case that no list
    // matched and a classifier scored is confirmed only by a reviewer who looked at it.
    if (violating) {
      for (const auto& item : c.items) {
        const bool scored = std::any_of(item.classifications.begin(), item.classifications.end(),
                                        [](const Classification& k) { return k.ok(); });
        const bool listed = std::any_of(item.matches.begin(), item.matches.end(),
                                        [](const MatchRecord& m) { return m.suppressed_by == 0 && !m.quarantined; });
        if (scored && !listed && std::find(viewed_ids.begin(), viewed_ids.end(), item.content_id) == viewed_ids.end()) {
          return Fail(ErrorCode::kInvalidArgument,
                      "'" + item.content_id.substr(0, 80) + "' was flagged by a classifier and matched no list: reveal it "
                      "(GET /v1/cases/" + std::to_string(case_id) + "/media/{content_id}?variant=original) before deciding it violating");
        }
      }
    }
    const bool needs_second = violating && !*first &&
                              (c.second_review_required || request.account_action == AccountAction::kBan);
    for (const auto& entry : request.file_classifications) {
      const std::string& content_id = entry.first;
      if (std::none_of(c.items.begin(), c.items.end(), [&](const CaseItem& i) { return i.content_id == content_id; })) {
        return Fail(ErrorCode::kInvalidArgument, "file_classifications names '" + content_id.substr(0, 80) +
                                                     "', which is not in case " + std::to_string(case_id));
      }
    }
    auto inserted = db->Query(
        "INSERT INTO decisions (case_id, reviewer, verdict, classification, reason, viewed, second_review, "
        "account_action, account_days, decided_at, category, cybertip, file_classifications, user_statement) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        {case_id, reviewer, std::string(VerdictName(request.verdict)), request.classification, request.reason,
         ToJsonArray(viewed_ids), std::int64_t{*first ? 1 : 0},
         request.account_action == AccountAction::kNone ? std::string() : AccountActionName(request.account_action),
         request.account_days ? SqlValue{std::int64_t{*request.account_days}} : SqlValue{}, now,
         violating ? request.category.id : std::string(), std::int64_t{violating && request.category.cybertip ? 1 : 0},
         ToJsonObject(request.file_classifications), request.user_statement});
    if (!inserted) return tl::unexpected(inserted.error());
    const std::int64_t decision_id = inserted->front().Int(0);
    {
      boost::json::object data{{"decision_id", decision_id},
                               {"verdict", VerdictName(request.verdict)},
                               {"classification", request.classification},
                               {"category", violating ? request.category.id : std::string()},
                               {"awaiting_second_review", needs_second}};
      VIGIL_TRY(InsertEvent(*db, {"case.decided", c.user_id, "", case_id, boost::json::serialize(data)}, now));
    }
    const std::string detail = std::string("verdict=") + VerdictName(request.verdict) + (violating ? " category=" + request.category.id : "") +
                               " classification=" + request.classification + " viewed=" + std::to_string(viewed_ids.size());
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "case.decide", std::to_string(case_id), detail));
    if (request.verdict == Verdict::kEscalate) {
      // Escalated: at least P1, and due no later than a P1 case opened now.
      VIGIL_TRY(db->Execute("UPDATE cases SET status = 'escalated', assigned_to = '', lease_until = 0, "
                            "priority = CASE WHEN priority > 1 THEN 1 ELSE priority END, "
                            "sla_due = CASE WHEN sla_due > $3 THEN $3 ELSE sla_due END, updated_at = $1 WHERE id = $2",
                            {now, case_id, now + options_.review_sla_seconds[1] * 1'000'000}));
    } else if (needs_second) {
      // Waits for a different reviewer; the first decision is recorded, nothing is applied yet.
      VIGIL_TRY(db->Execute("UPDATE cases SET status = 'open', assigned_to = '', lease_until = 0, second_review = 1, "
                            "updated_at = $1 WHERE id = $2",
                            {now, case_id}));
    } else {
      // The final decision: a second review that disagrees with the first, on the verdict or on
      // what happens to the account, escalates instead (a ban one reviewer proposed is neither
      // dropped nor added by the other alone).
      if (*first && ((*first)->verdict != request.verdict || (*first)->account_action != request.account_action)) {
        VIGIL_TRY(db->Execute("UPDATE cases SET status = 'escalated', assigned_to = '', lease_until = 0, updated_at = $1 "
                              "WHERE id = $2",
                              {now, case_id}));
        VIGIL_TRY(AppendAudit(*db, now, reviewer, "case.escalate", std::to_string(case_id), "reviewers disagree"));
      } else {
        VIGIL_TRY(Enforce(*db, c, request, reviewer, decision_id, now));
        VIGIL_TRY(db->Execute("UPDATE cases SET status = 'decided', assigned_to = '', lease_until = 0, updated_at = $1, "
                              "category = $2 WHERE id = $3",
                              {now, violating ? request.category.id : c.category, case_id}));
      }
    }
    VIGIL_TRY(txn.Commit());
    return GetCaseOn(*db, case_id);
  }

  Result<Account> GetAccount(const std::string& user_id) override {
    auto db = pool_.Acquire();
    return AccountOn(*db, user_id, Now());
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
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(auto updated, db->Execute("UPDATE actions SET notified_at = $1 WHERE id = $2", {now, action_id}));
    if (updated == 0) return Fail(ErrorCode::kNotFound, "no action " + std::to_string(action_id));
    VIGIL_TRY(AppendAudit(*db, now, "platform", "user.notify", std::to_string(action_id), ""));
    return txn.Commit();
  }

  Result<Appeal> FileAppeal(std::int64_t action_id, const std::string& statement, const std::string& actor) override {
    if (statement.size() > 8000) return Fail(ErrorCode::kInvalidArgument, "statement longer than 8000 characters");
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    auto action = ActionOn(*db, action_id);
    if (!action) return tl::unexpected(action.error());
    const EnforcementAction& a = *action;
    if (a.kind.rfind("restore", 0) == 0) return Fail(ErrorCode::kInvalidArgument, "a restoration cannot be appealed");
    if (a.undone_by) return Fail(ErrorCode::kInvalidArgument, "action " + std::to_string(action_id) + " was reversed already");
    // The decision it belongs to. A review decision covers its own actions and the policy's
    // automated ones on the same case, which it confirmed (appealing the automatic block of a case
    // a person decided is appealing that person's decision); the policy's actions on a case no
    // person decided yet form a decision of their own.
    std::int64_t decision_id = a.decision_id;
    if (decision_id == 0 && a.case_id != 0) {
      auto enforcing = db->Query("SELECT DISTINCT decision_id FROM actions WHERE case_id = $1 AND decision_id <> 0 AND "
                                 "kind NOT LIKE 'restore%' ORDER BY decision_id DESC LIMIT 1",
                                 {a.case_id});
      if (!enforcing) return tl::unexpected(enforcing.error());
      if (!enforcing->empty()) decision_id = enforcing->front().Int(0);
    }
    auto group = db->Query(
        "SELECT id FROM actions WHERE kind NOT LIKE 'restore%' AND undone_by IS NULL AND ((decision_id <> 0 AND "
        "decision_id = $1) OR (decision_id = 0 AND case_id <> 0 AND case_id = $2)) ORDER BY id",
        {decision_id, a.case_id});
    if (!group) return tl::unexpected(group.error());
    std::vector<std::int64_t> covered;
    for (const auto& row : *group) covered.push_back(row.Int(0));
    if (std::find(covered.begin(), covered.end(), action_id) == covered.end()) covered = {action_id};
    // Who decided: every reviewer of the case (both of a second review), none of whom may decide
    // the appeal.
    std::string decider = "automated";
    if (decision_id != 0) {
      auto d = db->Query("SELECT DISTINCT reviewer FROM decisions WHERE case_id = $1 AND verdict = 'violating' ORDER BY reviewer",
                         {a.case_id});
      if (!d) return tl::unexpected(d.error());
      std::vector<std::string> reviewers;
      for (const auto& row : *d) reviewers.push_back(row.Text(0));
      if (!reviewers.empty()) decider = Join(reviewers);
    }
    auto inserted = db->Query(
        "INSERT INTO appeals (action_id, user_id, statement, status, original_decider, created_at, sla_due, decision_id, "
        "case_id) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8) RETURNING id",
        {action_id, a.user_id, statement, decider, now, now + options_.appeal_sla_seconds * 1'000'000, decision_id,
         a.case_id});
    if (!inserted) {
      if (inserted.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists, "action " + std::to_string(action_id) + " has an appeal already");
      }
      return tl::unexpected(inserted.error());
    }
    const std::int64_t id = inserted->front().Int(0);
    for (std::int64_t covered_id : covered) {
      auto linked = db->Execute("INSERT INTO appeal_actions (appeal_id, action_id) VALUES ($1, $2)", {id, covered_id});
      if (!linked) {
        if (linked.error().code == ErrorCode::kAlreadyExists) {
          return Fail(ErrorCode::kAlreadyExists, "the decision of action " + std::to_string(action_id) +
                                                     " is under appeal already (an earlier appeal covers its action " +
                                                     std::to_string(covered_id) + ")");
        }
        return tl::unexpected(linked.error());
      }
    }
    VIGIL_TRY(AppendAudit(*db, now, actor, "appeal.file", std::to_string(id),
                          "action=" + std::to_string(action_id) + " covers=" + std::to_string(covered.size())));
    VIGIL_TRY(txn.Commit());
    return AppealOn(*db, id);
  }

  Result<std::vector<Appeal>> ListAppeals(const std::string& status) override {
    auto db = pool_.Acquire();
    std::string sql = std::string("SELECT ") + kAppealColumns + " FROM appeals";
    std::vector<SqlValue> params;
    std::string order = " ORDER BY sla_due, id";
    if (status.empty()) {
      sql += " WHERE status IN ('open', 'in_review')";
    } else if (status == "decided") {
      // Decided, whatever the outcome: the history, most recent first.
      sql += " WHERE status IN ('upheld', 'overturned', 'partial')";
      order = " ORDER BY decided_at DESC, id DESC";
    } else {
      sql += " WHERE status = $1";
      params.emplace_back(status);
    }
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(sql + order + " LIMIT 1000", params));
    std::vector<Appeal> appeals;
    for (const auto& row : rows) {
      appeals.push_back(AppealFromRow(row));
      VIGIL_TRY(FillCovered(*db, appeals.back()));
    }
    return appeals;
  }

  Result<Appeal> GetAppeal(std::int64_t id) override {
    auto db = pool_.Acquire();
    return AppealOn(*db, id);
  }

  Result<Appeal> ClaimAppeal(std::int64_t id, const std::string& reviewer) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    auto appeal = AppealOn(*db, id);
    if (!appeal) return appeal;
    if (appeal->status != "open" && appeal->status != "in_review") {
      return Fail(ErrorCode::kInvalidArgument, "appeal " + std::to_string(id) + " is " + appeal->status + " already");
    }
    VIGIL_TRY(RequireOtherReviewer(*db, *appeal, reviewer));
    if (!appeal->assigned_to.empty() && appeal->assigned_to != reviewer) {
      return Fail(ErrorCode::kAlreadyExists, "appeal " + std::to_string(id) + " is claimed by " + appeal->assigned_to);
    }
    VIGIL_TRY(db->Execute("UPDATE appeals SET assigned_to = $1, status = 'in_review' WHERE id = $2", {reviewer, id}));
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "appeal.claim", std::to_string(id), ""));
    VIGIL_TRY(txn.Commit());
    return AppealOn(*db, id);
  }

  Result<Appeal> DecideAppeal(std::int64_t id, const AppealDecision& decision, const std::string& reviewer) override {
    if (decision.reason.empty() || decision.reason.size() > 4000) {
      return Fail(ErrorCode::kInvalidArgument, "a reason (1-4000 characters) is required");
    }
    if (decision.outcome != "upheld" && decision.outcome != "overturned" && decision.outcome != "partial") {
      return Fail(ErrorCode::kInvalidArgument, "outcome must be upheld, overturned or partial");
    }
    if (decision.outcome == "partial" && decision.undo.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "a partial outcome names the actions to reverse ('undo')");
    }
    if (decision.outcome != "partial" && !decision.undo.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "'undo' goes with a partial outcome only");
    }
    if (decision.user_statement.size() > 2000) {
      return Fail(ErrorCode::kInvalidArgument, "user_statement longer than 2000 characters");
    }
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
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
    VIGIL_TRY(RequireOtherReviewer(*db, *appeal, reviewer));
    std::vector<std::int64_t> undo;
    if (decision.outcome == "overturned") undo = appeal->action_ids;
    for (std::int64_t action_id : decision.undo) {
      if (std::find(undo.begin(), undo.end(), action_id) != undo.end()) continue;  // named twice
      if (std::find(appeal->action_ids.begin(), appeal->action_ids.end(), action_id) == appeal->action_ids.end()) {
        return Fail(ErrorCode::kInvalidArgument, "action " + std::to_string(action_id) + " is not covered by appeal " +
                                                     std::to_string(id));
      }
      undo.push_back(action_id);
    }
    const StatementOfReasons statement = ReversalStatement(
        "Your appeal was granted: a reviewer who did not make the original decision reversed this action",
        decision.user_statement);
    const std::string detail = "appeal " + std::to_string(id) + ": " + decision.reason;
    std::map<std::string, std::int64_t> restored;  // content or account -> its restoring action in this appeal
    for (std::int64_t action_id : undo) {
      VIGIL_ASSIGN_OR_RETURN(auto action, ActionOn(*db, action_id));
      VIGIL_TRY(Reverse(*db, action, statement, detail, reviewer, action.case_id, action.decision_id, now,
                        "appeal=" + std::to_string(id), &restored));
      VIGIL_TRY(db->Execute("UPDATE appeal_actions SET undone = 1 WHERE appeal_id = $1 AND action_id = $2",
                            {id, action_id}));
    }
    const std::string& status = decision.outcome;
    VIGIL_TRY(db->Execute("UPDATE appeals SET status = $1, outcome = $1, decided_by = $2, reason = $3, decided_at = $4 "
                          "WHERE id = $5",
                          {status, reviewer, decision.reason, now, id}));
    {
      boost::json::object data{{"appeal_id", id}, {"outcome", status}, {"actions_reversed", undo.size()}};
      VIGIL_TRY(InsertEvent(*db, {"appeal.decided", appeal->user_id, "", appeal->case_id, boost::json::serialize(data)}, now));
    }
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "appeal." + status, std::to_string(id),
                          "reversed=" + std::to_string(undo.size()) + "; " + decision.reason));
    // The case's reports follow what the appeal changed, in this same transaction.
    if (!undo.empty() && appeal->case_id != 0) {
      VIGIL_TRY(FollowCase(*db, appeal->case_id, now, reviewer, "appeal " + std::to_string(id) + " " + status));
    }
    VIGIL_TRY(txn.Commit());
    return AppealOn(*db, id);
  }

  Result<std::vector<ReviewerStats>> ReviewerOverturnRates() override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT r.reviewer, "
        "(SELECT COUNT(*) FROM decisions d WHERE d.reviewer = r.reviewer), "
        "(SELECT COUNT(*) FROM appeals a WHERE a.original_decider = r.reviewer), "
        "(SELECT COUNT(*) FROM appeals a WHERE a.original_decider = r.reviewer AND a.status IN ('overturned', 'partial')) "
        "FROM (SELECT DISTINCT reviewer FROM decisions) r ORDER BY r.reviewer");
    if (!rows) return tl::unexpected(rows.error());
    std::vector<ReviewerStats> stats;
    for (const auto& row : *rows) stats.push_back({row.Text(0), row.Int(1), row.Int(2), row.Int(3)});
    return stats;
  }

  Status DisableEntry(std::int64_t entry_id, const std::string& reason, const std::string& reviewer) override {
    return DisableEntryAs(entry_id, reason, reviewer, false);
  }

  Status CurateEntry(std::int64_t entry_id, const std::string& reason, const std::string& curator) override {
    return DisableEntryAs(entry_id, reason, curator, true);
  }

  // A reviewer's rejected match (checked: they reviewed it; feedback for the list owner), or a
  // bank administrator's curation (any entry; no review feedback).
  Status DisableEntryAs(std::int64_t entry_id, const std::string& reason, const std::string& reviewer, bool curator) {
    if (reason.empty() || reason.size() > 2000) return Fail(ErrorCode::kInvalidArgument, "a reason (1-2000 characters) is required");
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    if (db->dialect() == SqlDialect::kPostgres) VIGIL_TRY(db->Execute("LOCK TABLE imports IN EXCLUSIVE MODE"));
    const auto now = Now();
    auto entry = db->Query(
        "SELECT bank_id, signal_type, value, source, member, external_id, classification, payload FROM bank_entries "
        "WHERE id = $1 AND removed_at IS NULL",
        {entry_id});
    if (!entry) return tl::unexpected(entry.error());
    if (entry->empty()) return Fail(ErrorCode::kNotFound, "no live entry " + std::to_string(entry_id));
    // A reviewer disables what they reviewed: the entry matched an upload of a case they claimed or
    // decided, or whose appeal they took (the reviewer who overturns a false positive is the one
    // who finds it). (Disabling list entries at large is a bank administrator's import, with its log.)
    auto reviewed = db->Query(
        "SELECT 1 FROM matches m JOIN case_items i ON i.content_row = m.content_row JOIN cases c ON c.id = i.case_id "
        "WHERE m.entry_id = $1 AND (c.assigned_to = $2 OR EXISTS (SELECT 1 FROM decisions d WHERE d.case_id = c.id AND "
        "d.reviewer = $2) OR EXISTS (SELECT 1 FROM appeals a WHERE a.case_id = c.id AND (a.assigned_to = $2 OR "
        "a.decided_by = $2))) LIMIT 1",
        {entry_id, reviewer});
    if (!reviewed) return tl::unexpected(reviewed.error());
    if (reviewed->empty() && !curator) {
      return Fail(ErrorCode::kPermissionDenied, "entry " + std::to_string(entry_id) +
                                                    " did not match in a case you claimed, decided or took the appeal of: a bank "
                                                    "administrator removes other entries (an import)");
    }
    const auto& e = entry->front();
    // The local override outlives this entry: a re-import of the list skips the value.
    auto overridden = db->Execute(
        "INSERT INTO overrides (bank_id, signal_type, value, reason, created_by, created_at, entry_id, source, member, "
        "external_id, classification, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        {e.Int(0), e.Text(1), e.Text(2), reason, reviewer, now, entry_id, e.Text(3), e.Text(4), e.Text(5), e.Text(6),
         e.IsNull(7) ? SqlValue{} : SqlValue{e.Text(7)}});
    if (!overridden && overridden.error().code != ErrorCode::kAlreadyExists) return tl::unexpected(overridden.error());
    // A one-entry "import" carries the tombstone, so every matcher picks the removal up.
    auto import_row = db->Query(
        "INSERT INTO imports (bank_id, format, source, actor, status, removed, started_at, finished_at) "
        "VALUES ($1, 'feedback', $2, $3, 'applied', 1, $4, $4) RETURNING id",
        {entry->front().Int(0), std::string(curator ? "curation" : "review"), reviewer, now});
    if (!import_row) return tl::unexpected(import_row.error());
    VIGIL_TRY(db->Execute("UPDATE bank_entries SET removed_at = $1, removed_import_id = $2, disabled_reason = $3 WHERE id = $4",
                          {now, import_row->front().Int(0), reason, entry_id}));
    if (!curator) {
      VIGIL_TRY(db->Execute("INSERT INTO entry_feedback (entry_id, reason, reviewer, at) VALUES ($1, $2, $3, $4)",
                            {entry_id, reason, reviewer, now}));
    }
    VIGIL_TRY(AppendAudit(*db, now, reviewer, "entry.disable", std::to_string(entry_id),
                          curator ? "curation: " + reason : reason));
    return txn.Commit();
  }

  Result<std::vector<QuarantinedEntry>> ListQuarantine() override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT q.entry_id, b.name, e.signal_type, e.value, q.since, q.distinct_users "
                                                "FROM entry_quarantine q JOIN bank_entries e ON e.id = q.entry_id "
                                                "JOIN banks b ON b.id = e.bank_id WHERE q.released_at IS NULL "
                                                "ORDER BY q.since DESC, q.id DESC"));
    std::vector<QuarantinedEntry> out;
    for (const auto& r : rows) out.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.Int(5)});
    return out;
  }

  Status ReleaseQuarantine(std::int64_t entry_id, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(auto released, db->Execute("UPDATE entry_quarantine SET released_at = $1, released_by = $2 "
                                                      "WHERE entry_id = $3 AND released_at IS NULL",
                                                      {now, actor, entry_id}));
    if (released == 0) return Fail(ErrorCode::kNotFound, "entry " + std::to_string(entry_id) + " is not in quarantine");
    VIGIL_TRY(AppendAudit(*db, now, actor, "entry.release", "entry:" + std::to_string(entry_id), ""));
    return txn.Commit();
  }

  Result<std::vector<EntryFeedback>> ListFeedback() override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT f.entry_id, b.name, e.signal_type, e.value, e.external_id, f.reason, f.reviewer, f.at "
        "FROM entry_feedback f JOIN bank_entries e ON e.id = f.entry_id JOIN banks b ON b.id = e.bank_id ORDER BY f.id");
    if (!rows) return tl::unexpected(rows.error());
    std::vector<EntryFeedback> out;
    for (const auto& r : *rows) {
      out.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6), r.Int(7), 0, 0});
      VIGIL_ASSIGN_OR_RETURN(auto counts, EntryReviewCountsOn(*db, out.back().entry_id));
      out.back().confirmed = counts.first;
      out.back().rejected = counts.second;
    }
    return out;
  }

  Status SetReportProblem(std::int64_t case_id, const std::string& problem) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    auto updated = db->Execute("UPDATE cases SET report_problem = $1 WHERE id = $2 AND report_problem <> $1",
                               {problem.substr(0, 2000), case_id});
    if (!updated) return tl::unexpected(updated.error());
    if (*updated > 0) {
      VIGIL_TRY(AppendAudit(*db, Now(), "system", problem.empty() ? "case.report_problem_cleared" : "case.report_problem",
                            std::to_string(case_id), problem.substr(0, 2000)));
    }
    return txn.Commit();
  }

  Result<Case> Reclassify(std::int64_t case_id, const std::string& classification,
                          const std::map<std::string, std::string>& file_classifications,
                          const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(auto c, LockCase(*db, case_id));
    if (c.status != CaseStatus::kDecided) {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " is " + CaseStatusName(c.status) +
                                                   ": only a decided case's labels are corrected");
    }
    const Decision* final_decision = nullptr;
    for (const auto& d : c.decisions) {
      if (d.verdict != Verdict::kEscalate) final_decision = &d;
    }
    if (final_decision == nullptr || final_decision->verdict != Verdict::kViolating) {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " was not decided violating");
    }
    VIGIL_ASSIGN_OR_RETURN(auto sent, db->Query("SELECT id FROM reports WHERE case_id = $1 AND state IN ('open', 'filed')", {case_id}));
    if (!sent.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " has report " +
                                                   std::to_string(sent.front().Int(0)) +
                                                   " at NCMEC already: its labels can no longer change");
    }
    for (const auto& entry : file_classifications) {
      const std::string& content_id = entry.first;
      if (std::none_of(c.items.begin(), c.items.end(), [&](const CaseItem& i) { return i.content_id == content_id; })) {
        return Fail(ErrorCode::kInvalidArgument, "'" + content_id.substr(0, 80) + "' is not in case " + std::to_string(case_id));
      }
    }
    std::map<std::string, std::string> merged = final_decision->file_classifications;
    for (const auto& [content_id, label] : file_classifications) merged[content_id] = label;
    const std::string new_label = classification.empty() ? final_decision->classification : classification;
    if (new_label == final_decision->classification && merged == final_decision->file_classifications) {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " already has these labels: nothing to correct");
    }
    VIGIL_TRY(db->Execute("UPDATE decisions SET classification = $1, file_classifications = $2 WHERE id = $3",
                          {new_label, ToJsonObject(merged), final_decision->id}));
    // An unsent draft was built from the old labels.
    VIGIL_TRY(db->Execute("UPDATE reports SET state = 'voided', withdraw_reason = 'labels corrected: draft again', "
                          "version = version + 1, updated_at = $1 WHERE case_id = $2 AND state IN ('draft', 'approved')",
                          {now, case_id}));
    VIGIL_TRY(AppendAudit(*db, now, actor, "case.reclassify", std::to_string(case_id),
                          "classification=" + classification + " files=" + ToJsonObject(file_classifications)));
    VIGIL_TRY(txn.Commit());
    return GetCaseOn(*db, case_id);
  }

  Result<std::vector<std::string>> VerifyAudit(std::int64_t* records) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto check, VerifyAuditLog(*db));
    if (records != nullptr) *records = check.records;
    return check.problems;
  }

 private:
  std::int64_t Now() const { return clock_.NowMicros(); }

  // What the policy sees of a recorded upload: its matches with their banks' labels and category,
  // the upload's jurisdiction, and the user's earlier confirmed cases.
  // Flood quarantine (WorkflowOptions::quarantine_*): the content's matches of entries in
  // quarantine are marked so (in the record and in `content`), and an entry whose matches in the
  // window come from `quarantine_distinct_users` accounts (an anonymous upload counting as one)
  // goes into quarantine now. Matches before an entry's last release do not count.
  Status QuarantineOn(SqlConnection& db, std::int64_t content_row, ContentRecord& content, std::int64_t now,
                      const std::string& actor) {
    std::set<std::int64_t> held;
    for (const auto& m : content.matches) {
      // What this platform's reviewers confirmed (the matches its sweeps find, its own banks,
      // below) is no third party's junk entry: a file shared widely is what they must keep finding.
      if (m.suppressed_by != 0 || m.sweep_of != 0 || held.contains(m.entry_id)) continue;
      VIGIL_ASSIGN_OR_RETURN(auto live, db.Query("SELECT MAX(CASE WHEN released_at IS NULL THEN 1 ELSE 0 END), "
                                                 "MAX(released_at) FROM entry_quarantine WHERE entry_id = $1",
                                                 {m.entry_id}));
      if (!live.empty() && live[0].Int(0) == 1) {
        held.insert(m.entry_id);
        continue;
      }
      if (options_.quarantine_distinct_users <= 0) continue;
      const std::int64_t since = std::max(now - options_.quarantine_window_seconds * 1'000'000,
                                          live.empty() ? std::int64_t{0} : live[0].Int(1) + 1);
      VIGIL_ASSIGN_OR_RETURN(
          auto counted,
          db.Query("SELECT COUNT(DISTINCT CASE WHEN c.user_id = '' THEN 'c:' || c.content_id ELSE 'u:' || c.user_id END) "
                   "FROM matches m JOIN content c ON c.id = m.content_row WHERE m.entry_id = $1 AND m.matched_at >= $2",
                   {m.entry_id, since}));
      const std::int64_t accounts = counted.at(0).Int(0);
      if (accounts < options_.quarantine_distinct_users) continue;
      // Only now (an entry at the threshold is rare): is it one of the platform's own banks?
      VIGIL_ASSIGN_OR_RETURN(auto bank, db.Query("SELECT labels FROM banks WHERE id = $1", {m.bank_id}));
      const auto labels = bank.empty() ? std::vector<std::string>{} : JsonStrings(bank[0].Text(0));
      if (std::find(labels.begin(), labels.end(), "own") != labels.end()) continue;
      VIGIL_TRY(db.Execute("INSERT INTO entry_quarantine (entry_id, since, distinct_users) VALUES ($1, $2, $3) "
                           "ON CONFLICT DO NOTHING",
                           {m.entry_id, now, accounts}));
      VIGIL_TRY(AppendAudit(db, now, actor, "entry.quarantine", "entry:" + std::to_string(m.entry_id),
                            std::to_string(accounts) + " accounts' uploads matched it within " +
                                std::to_string(options_.quarantine_window_seconds) + " s (" + m.bank_name + ")"));
      held.insert(m.entry_id);
    }
    for (auto& m : content.matches) {
      if (!held.contains(m.entry_id)) continue;
      m.quarantined = true;
      VIGIL_TRY(db.Execute("UPDATE matches SET quarantined = 1 WHERE content_row = $1 AND entry_id = $2",
                           {content_row, m.entry_id}));
    }
    return {};
  }

  // An upload with matches of quarantined entries is held for review when the policy did not hold
  // it (the automatic actions the quarantined matches would have brought are what is withheld).
  Status HoldQuarantinedOn(SqlConnection& db, const ContentRecord& content, PolicyOutcome& outcome) {
    const auto held = std::find_if(content.matches.begin(), content.matches.end(),
                                   [](const MatchRecord& m) { return m.quarantined && m.suppressed_by == 0; });
    if (held == content.matches.end() || outcome.hold) return {};
    outcome.hold = true;
    outcome.hold_priority = 2;
    outcome.rules.push_back("flood-quarantine");
    if (!outcome.Acts() || outcome.category.id.empty()) {
      VIGIL_ASSIGN_OR_RETURN(auto bank, db.Query("SELECT category FROM banks WHERE id = $1", {held->bank_id}));
      if (outcome.category.id.empty() && !bank.empty()) outcome.category.id = bank[0].Text(0);
    }
    return {};
  }

  // Records how an upload was found ("classifier", "user_report"...) in its metadata's
  // "detected_by", unless the platform's metadata says already.
  static Status MarkDetectedByOn(SqlConnection& db, std::int64_t row, const std::string& metadata_json,
                                 const std::string& source) {
    boost::system::error_code ec;
    auto metadata = boost::json::parse(metadata_json, ec);
    if (ec || !metadata.is_object()) metadata = boost::json::object{};
    if (metadata.as_object().contains("detected_by")) return {};
    metadata.as_object()["detected_by"] = source;
    VIGIL_TRY(db.Execute("UPDATE content SET metadata = $1 WHERE id = $2", {boost::json::serialize(metadata), row}));
    return {};
  }

  Result<ContentFacts> FactsOn(SqlConnection& db, const ContentRecord& content) {
    ContentFacts facts;
    facts.media_type = content.media_type;
    facts.classifications = content.classifications;
    // Checked when the upload arrived (Submit); a record from before that check reads as no metadata.
    if (auto metadata = ParseUploadMetadata(content.metadata_json)) facts.jurisdiction = metadata->jurisdiction;
    VIGIL_ASSIGN_OR_RETURN(auto prior, PriorConfirmedOn(db, content.user_id));
    facts.prior_confirmed_cases = prior;
    std::map<std::int64_t, std::pair<std::vector<std::string>, std::string>> banks;
    for (const auto& m : content.matches) {
      if (m.suppressed_by != 0 || m.quarantined) continue;  // allow-listed or quarantined: never acted on
      if (!banks.count(m.bank_id)) {
        VIGIL_ASSIGN_OR_RETURN(auto bank, db.Query("SELECT labels, category FROM banks WHERE id = $1", {m.bank_id}));
        if (!bank.empty()) banks[m.bank_id] = {JsonStrings(bank.front().Text(0)), bank.front().Text(1)};
      }
      const auto& [labels, category] = banks[m.bank_id];
      facts.matches.push_back({m.bank_name, labels, category, m.provenance.classification, m.signal_type, m.distance,
                               m.signal_type == "pdq" ? m.quality : std::nullopt});
    }
    return facts;
  }

  Result<std::vector<StruckCase>> StruckCases(const std::string& user_id) override {
    auto db = pool_.Acquire();
    // Each decided case's latest violating decision; a case an appeal overturned counts no more.
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, db->Query("SELECT c.id, d.category, d.decided_at FROM cases c JOIN decisions d ON d.case_id = c.id "
                             "WHERE c.user_id = $1 AND c.user_id <> '' AND c.status IN ('decided', 'closed') AND "
                             "d.verdict = 'violating' AND NOT EXISTS (SELECT 1 FROM appeals a WHERE a.case_id = c.id "
                             "AND a.outcome = 'overturned') ORDER BY c.id, d.decided_at",
                             {user_id}));
    std::vector<StruckCase> out;
    std::int64_t last_case = 0;
    for (const auto& r : rows) {
      if (r.Int(0) == last_case) {
        out.back() = {r.Text(1), r.Int(2)};
      } else {
        out.push_back({r.Text(1), r.Int(2)});
        last_case = r.Int(0);
      }
    }
    return out;
  }

  Result<int> PriorConfirmedOn(SqlConnection& db, const std::string& user_id) {
    auto rows = db.Query(
        "SELECT COUNT(DISTINCT c.id) FROM cases c JOIN decisions d ON d.case_id = c.id WHERE c.user_id = $1 AND "
        "c.status = 'decided' AND d.verdict = 'violating'",
        {user_id});
    if (!rows) return tl::unexpected(rows.error());
    return static_cast<int>(rows->front().Int(0));
  }

  // Applies a policy outcome to a recorded upload on the caller's transaction: opens the user's case
  // (or adds to the open one), blocks the content, applies automated account actions. Returns the
  // case's id, or 0 when the outcome neither holds nor acts on the account.
  Result<std::int64_t> ApplyOutcomeOn(SqlConnection& db, const ContentRecord& content, std::int64_t content_row,
                                      const PolicyOutcome& outcome, const std::string& actor, std::int64_t now) {
    if (!outcome.Acts()) return std::int64_t{0};
    const std::string rules = ToJsonArray(outcome.rules);
    const std::string detail = MatchDetail(content) + "; policy rules: " + Join(outcome.rules);
    std::int64_t case_id = 0;
    const bool needs_case = outcome.hold || outcome.queue_report || outcome.account != AccountAction::kNone;
    if (needs_case || outcome.account != AccountAction::kNone) {
      // One user's uploads recorded at once (several workers or requests) would each find no open
      // case and each open one: on PostgreSQL they take turns per user until commit (SQLite has
      // one writer at a time already).
      if (db.dialect() == SqlDialect::kPostgres) {
        VIGIL_TRY(db.Query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7215))", {"user:" + content.user_id}));
      }
    }
    if (needs_case) {
      // A known account's uploads gather in its open case; uploads without a user id are unrelated
      // to each other and each gets a case of its own.
      // An open case that holds this upload already (matches found later for it) is the one.
      auto open = db.Query(std::string("SELECT ") + kCaseColumns +
                               " FROM cases WHERE status IN ('open', 'in_review', 'escalated') AND id IN "
                               "(SELECT case_id FROM case_items WHERE content_row = $1) ORDER BY id LIMIT 1",
                           {content_row});
      if (!open) return tl::unexpected(open.error());
      if (open->empty() && !content.user_id.empty()) {
        open = db.Query(std::string("SELECT ") + kCaseColumns +
                            " FROM cases WHERE user_id = $1 AND status IN ('open', 'in_review', 'escalated')",
                        {content.user_id});
        if (!open) return tl::unexpected(open.error());
      }
      const int priority = outcome.hold ? outcome.hold_priority : 1;
      const std::int64_t priority_due = now + options_.review_sla_seconds[std::clamp(priority, 0, 3)] * 1'000'000;
      // The queue's SLA, when shorter than the priority's (for a case that is, or ends up, in it).
      std::int64_t due = priority_due;
      if (outcome.queue_sla_hours) due = std::min(due, now + std::int64_t{*outcome.queue_sla_hours} * 3'600'000'000);
      const std::string queue = outcome.queue.empty() ? std::string(kDefaultQueue) : outcome.queue;
      if (open->empty()) {
        auto inserted = db.Query(
            "INSERT INTO cases (user_id, status, priority, sla_due, second_review, report_queued, rules, created_at, "
            "updated_at, category, queue) VALUES ($1, 'open', $2, $3, $4, $5, $6, $7, $7, $8, $9) RETURNING id",
            {content.user_id, std::int64_t{priority}, due, std::int64_t{outcome.second_review ? 1 : 0},
             std::int64_t{outcome.queue_report ? 1 : 0}, rules, now, outcome.category.id, queue});
        if (!inserted) return tl::unexpected(inserted.error());
        case_id = inserted->front().Int(0);
        VIGIL_TRY(AppendAudit(db, now, actor, "case.open", std::to_string(case_id),
                              "user=" + content.user_id + " content=" + content.content_id + " queue=" + queue));
      } else {
        const auto& c = open->front();
        case_id = c.Int(0);
        std::vector<std::string> merged = JsonStrings(c.Text(9));
        for (const auto& r : outcome.rules) {
          if (std::find(merged.begin(), merged.end(), r) == merged.end()) merged.push_back(r);
        }
        VIGIL_TRY(db.Execute(
            "UPDATE cases SET priority = $1, sla_due = $2, second_review = $3, report_queued = $4, rules = $5, "
            "updated_at = $6, category = CASE WHEN category = '' THEN $7 ELSE category END, "
            "queue = CASE WHEN queue = $9 THEN $10 ELSE queue END WHERE id = $8",
            {std::min<std::int64_t>(c.Int(3), priority),
             std::min(c.Int(4), c.Text(14) == queue || c.Text(14) == kDefaultQueue ? due : priority_due),
             std::int64_t{(c.Int(7) != 0 || outcome.second_review) ? 1 : 0},
             std::int64_t{(c.Int(8) != 0 || outcome.queue_report) ? 1 : 0}, ToJsonArray(merged), now,
             outcome.category.id, case_id, std::string(kDefaultQueue), queue}));
        // A case in the default queue moves to the specialist queue an upload joining it is routed to.
        if (c.Text(14) == kDefaultQueue && queue != kDefaultQueue) {
          VIGIL_TRY(AppendAudit(db, now, actor, "case.route", std::to_string(case_id),
                                "queue=" + queue + " (from " + std::string(kDefaultQueue) + ")"));
        }
        VIGIL_TRY(AppendAudit(db, now, actor, "case.add", std::to_string(case_id), "content=" + content.content_id));
      }
      // Already in the case (matches found later for an upload the case holds): a failed INSERT
      // would abort a PostgreSQL transaction, so the conflict is skipped in the statement.
      VIGIL_TRY(db.Execute("INSERT INTO case_items (case_id, content_row, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                           {case_id, content_row, now}));
    }
    std::vector<std::int64_t> created;
    if (outcome.block && content.state != "blocked") {  // blocked already (matched at upload): one block
      VIGIL_TRY(db.Execute("UPDATE content SET state = 'blocked' WHERE id = $1", {content_row}));
      auto id = InsertAction(db, {content.user_id, content.content_id, "block_content", std::nullopt,
                                  outcome.classifier_only
                                      ? PendingReviewStatement(outcome.category, options_.appeal_instructions)
                                      : AutomatedStatement(outcome.category, false, options_.appeal_instructions),
                                  detail,
                                  actor, case_id, 0},
                             now);
      if (!id) return tl::unexpected(id.error());
      created.push_back(*id);
      VIGIL_TRY(AppendAudit(db, now, actor, "content.block", content.content_id, rules));
    }
    std::optional<std::int64_t> account_until;
    if (outcome.account_days) account_until = now + std::int64_t{*outcome.account_days} * 86'400'000'000;
    VIGIL_ASSIGN_OR_RETURN(const bool account_acts, AccountActionChanges(db, content.user_id, outcome, account_until, now));
    if (account_acts) {
      const std::string kind = outcome.account == AccountAction::kRestrict ? "restrict_account" : "suspend_account";
      const std::optional<std::int64_t> until = account_until;
      VIGIL_TRY(SetAccount(db, content.user_id, outcome.account == AccountAction::kRestrict ? "restricted" : "suspended",
                           until, now));
      auto id = InsertAction(db, {content.user_id, "", kind, until,
                                  AutomatedStatement(outcome.category, true, options_.appeal_instructions), detail,
                                  actor, case_id, 0},
                             now);
      if (!id) return tl::unexpected(id.error());
      created.push_back(*id);
      VIGIL_TRY(AppendAudit(db, now, actor, "account." + kind, content.user_id, rules));
    }
    if (outcome.notify) {
      for (std::int64_t id : created) {
        VIGIL_TRY(db.Execute("UPDATE actions SET notified_at = $1 WHERE id = $2", {now, id}));
        VIGIL_TRY(AppendAudit(db, now, actor, "user.notify", content.user_id, "action=" + std::to_string(id)));
      }
    }
    return case_id;
  }

  // Whether the outcome's account action changes anything: not for an upload without a user (there
  // is no account to act on), nor when the account is already under that action or a stronger
  // one for at least as long (a second matched upload does not suspend a suspended account again).
  Result<bool> AccountActionChanges(SqlConnection& db, const std::string& user_id, const PolicyOutcome& outcome,
                                    std::optional<std::int64_t> until, std::int64_t now) {
    if (outcome.account == AccountAction::kNone || user_id.empty()) return false;
    VIGIL_ASSIGN_OR_RETURN(auto account, AccountOn(db, user_id, now));
    auto strength = [](const std::string& state) {
      return state == "banned" ? 3 : state == "suspended" ? 2 : state == "restricted" ? 1 : 0;
    };
    const int wanted = outcome.account == AccountAction::kRestrict ? 1 : 2;
    // An automated action never stacks on one in force of the same strength or more: each late
    // match of an upload (or each of several near-copies on a list) would otherwise suspend the
    // account again, a few milliseconds longer each time. A person extends one; the policy does not.
    (void)until;
    return strength(account.state) < wanted;
  }

  // Applies a final violating or not-violating decision.
  Status Enforce(SqlConnection& db, const Case& c, const DecisionRequest& request, const std::string& reviewer,
                 std::int64_t decision_id, std::int64_t now) {
    const std::string detail = "case " + std::to_string(c.id) + ": " + std::to_string(c.items.size()) +
                               " matched uploads reviewed; classification " + request.classification +
                               "; reviewer's note: " + request.reason;
    if (request.verdict == Verdict::kViolating) {
      for (const auto& item : c.items) {
        VIGIL_TRY(db.Execute("UPDATE content SET state = 'removed' WHERE content_id = $1", {item.content_id}));
        auto id = InsertAction(db, {c.user_id, item.content_id, "remove_content", std::nullopt,
                                    ReviewStatement(request.category, false, request.user_statement,
                                                    options_.appeal_instructions),
                                    detail, reviewer, c.id, decision_id},
                               now);
        if (!id) return tl::unexpected(id.error());
        VIGIL_TRY(AppendAudit(db, now, reviewer, "content.remove", item.content_id, "case=" + std::to_string(c.id)));
      }
      if (request.account_action != AccountAction::kNone) {
        std::optional<std::int64_t> until;
        if (request.account_days) until = now + std::int64_t{*request.account_days} * 86'400'000'000;
        const std::string state = request.account_action == AccountAction::kRestrict ? "restricted"
                                  : request.account_action == AccountAction::kBan    ? "banned"
                                                                                     : "suspended";
        const std::string kind = std::string(AccountActionName(request.account_action)) + "_account";
        if (request.account_action == AccountAction::kBan) until.reset();
        VIGIL_TRY(SetAccount(db, c.user_id, state, until, now));
        auto id = InsertAction(db, {c.user_id, "", kind, until,
                                    ReviewStatement(request.category, true, request.user_statement,
                                                    options_.appeal_instructions),
                                    detail, reviewer, c.id, decision_id},
                               now);
        if (!id) return tl::unexpected(id.error());
        VIGIL_TRY(AppendAudit(db, now, reviewer, "account." + kind, c.user_id, "case=" + std::to_string(c.id)));
      }
      return {};
    }
    // Not violating: what automation did is undone.
    const StatementOfReasons statement = ReversalStatement("Review found no violation", request.user_statement);
    auto automated = db.Query(std::string("SELECT ") + kActionColumns +
                                  " FROM actions WHERE user_id = $1 AND decision_id = 0 AND undone_by IS NULL AND "
                                  "kind IN ('block_content', 'restrict_account', 'suspend_account') AND (case_id = $2 "
                                  "OR content_id IN (SELECT t.content_id FROM case_items i JOIN content t ON t.id = "
                                  "i.content_row WHERE i.case_id = $2)) ORDER BY id",
                              {c.user_id, c.id});
    if (!automated) return tl::unexpected(automated.error());
    for (const auto& row : *automated) {
      VIGIL_TRY(Reverse(db, ActionFromRow(row), statement, detail, reviewer, c.id, decision_id, now,
                        "case=" + std::to_string(c.id)));
    }
    return {};
  }

  // Reverses one action: the content restored, or the account made active again; the reversal is
  // an action of its own, linked from the one it undoes.
  // `done` (optional) remembers what this one reversal already restored (an item blocked by the
  // policy and removed by a reviewer is restored once; both actions point at that restoration).
  Status Reverse(SqlConnection& db, const EnforcementAction& action, const StatementOfReasons& statement,
                 const std::string& detail, const std::string& actor, std::int64_t case_id, std::int64_t decision_id,
                 std::int64_t now, const std::string& audit_detail,
                 std::map<std::string, std::int64_t>* done = nullptr) {
    if (action.undone_by) return {};
    const std::string target = action.content_id.empty() ? "account:" + action.user_id : "content:" + action.content_id;
    if (done != nullptr) {
      if (const auto it = done->find(target); it != done->end()) {
        VIGIL_TRY(db.Execute("UPDATE actions SET undone_by = $1 WHERE id = $2", {it->second, action.id}));
        return {};
      }
    }
    std::int64_t restored = 0;
    if (!action.content_id.empty()) {
      VIGIL_TRY(db.Execute("UPDATE content SET state = 'restored' WHERE content_id = $1", {action.content_id}));
      auto id = InsertAction(db, {action.user_id, action.content_id, "restore_content", std::nullopt, statement, detail,
                                  actor, case_id, decision_id},
                             now);
      if (!id) return tl::unexpected(id.error());
      restored = *id;
      VIGIL_TRY(AppendAudit(db, now, actor, "content.restore", action.content_id, audit_detail));
    } else {
      VIGIL_TRY(SetAccount(db, action.user_id, "active", std::nullopt, now));
      auto id = InsertAction(db, {action.user_id, "", "restore_account", std::nullopt, statement, detail, actor,
                                  case_id, decision_id},
                             now);
      if (!id) return tl::unexpected(id.error());
      restored = *id;
      VIGIL_TRY(AppendAudit(db, now, actor, "account.restore", action.user_id, audit_detail));
    }
    VIGIL_TRY(db.Execute("UPDATE actions SET undone_by = $1 WHERE id = $2", {restored, action.id}));
    if (done != nullptr) (*done)[target] = restored;
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
    auto rows = db.Query("SELECT reviewer, verdict, account_action FROM decisions WHERE case_id = $1 AND second_review = 0 AND "
                         "verdict = 'violating' AND NOT EXISTS (SELECT 1 FROM decisions s WHERE s.case_id = $1 AND "
                         "s.second_review = 1) AND EXISTS (SELECT 1 FROM cases c WHERE c.id = $1 AND c.status IN "
                         "('open', 'in_review') AND c.second_review = 1) ORDER BY id DESC LIMIT 1",
                         {case_id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return std::optional<Decision>{};
    Decision d;
    d.reviewer = rows->front().Text(0);
    VIGIL_ASSIGN_OR_RETURN(d.verdict, StoredVerdict(rows->front().Text(1)));
    VIGIL_ASSIGN_OR_RETURN(d.account_action, StoredAccountAction(rows->front().Text(2)));
    return std::optional<Decision>(d);
  }

  // Reads a case for update (PostgreSQL row lock; SQLite holds the writer already in a transaction
  // that writes).
  Result<Case> LockCase(SqlConnection& db, std::int64_t id) {
    const std::string lock = db.dialect() == SqlDialect::kPostgres ? " FOR UPDATE" : "";
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kCaseColumns + " FROM cases WHERE id = $1" + lock, {id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no case " + std::to_string(id));
    return CaseFromRow(db, rows.front(), true);
  }

  Result<Case> GetCaseOn(SqlConnection& db, std::int64_t id) {
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kCaseColumns + " FROM cases WHERE id = $1", {id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no case " + std::to_string(id));
    return CaseFromRow(db, rows.front(), true);
  }

  Result<Case> CaseFromRow(SqlConnection& db, const SqlRow& row, bool full) {
    Case c;
    c.id = row.Int(0);
    c.user_id = row.Text(1);
    auto status = ParseCaseStatus(row.Text(2));
    if (!status) return Fail(ErrorCode::kCorrupt, "case " + std::to_string(c.id) + ": " + status.error().message);
    c.status = *status;
    c.priority = static_cast<int>(row.Int(3));
    c.sla_due = row.Int(4);
    c.assigned_to = row.Text(5);
    c.lease_until = row.Int(6);
    c.second_review_required = row.Int(7) != 0;
    c.report_queued = row.Int(8) != 0;
    c.rules = JsonStrings(row.Text(9));
    c.created_at = row.Int(10);
    c.updated_at = row.Int(11);
    c.category = row.Text(12);
    c.report_problem = row.Text(13);
    c.queue = row.Text(14);
    if (c.second_review_required && (c.status == CaseStatus::kOpen || c.status == CaseStatus::kInReview)) {
      VIGIL_ASSIGN_OR_RETURN(auto first, PendingFirstDecision(db, c.id));
      c.awaiting_second_review = first.has_value();
    }
    auto items = db.Query(
        "SELECT t.content_id, t.media_type, t.state, t.submitted_at, t.media_sha256, t.id, t.classifications "
        "FROM case_items i JOIN content t "
        "ON t.id = i.content_row WHERE i.case_id = $1 ORDER BY t.id",
        {c.id});
    if (!items) return tl::unexpected(items.error());
    for (const auto& r : *items) {
      CaseItem item{r.Text(0), r.Text(1), r.Text(2), r.Int(3), {}, !r.IsNull(4), ClassificationsFromText(r.Text(6))};
      if (full) {
        // On this connection: asking the pool for a second one while holding this could starve it.
        auto matches = db.Query(
            "SELECT m.bank_id, b.name, m.entry_id, m.signal_type, e.value, m.distance, m.quality, e.source, e.member, "
            "e.external_id, e.classification, m.matched_at, m.retroactive, m.suppressed_by, m.quarantined, m.sweep_of "
            "FROM matches m JOIN banks b ON b.id = m.bank_id JOIN "
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
          match.retroactive = m.Int(12) != 0;
          match.suppressed_by = m.Int(13);
          match.quarantined = m.Int(14) != 0;
          match.sweep_of = m.Int(15);
          VIGIL_ASSIGN_OR_RETURN(auto counts, EntryReviewCountsOn(db, match.entry_id));
          match.entry_confirmed = counts.first;
          match.entry_rejected = counts.second;
          if (match.sweep_of != 0 && std::find(c.swept_from.begin(), c.swept_from.end(), match.sweep_of) == c.swept_from.end()) {
            c.swept_from.push_back(match.sweep_of);
          }
          item.matches.push_back(std::move(match));
        }
      }
      c.items.push_back(std::move(item));
    }
    if (full) {
      auto decisions = db.Query(
          "SELECT id, reviewer, verdict, classification, reason, viewed, second_review, decided_at, category, cybertip, "
          "file_classifications, user_statement, account_action FROM decisions WHERE case_id = $1 ORDER BY id",
          {c.id});
      if (!decisions) return tl::unexpected(decisions.error());
      for (const auto& r : *decisions) {
        Decision d;
        d.id = r.Int(0);
        d.reviewer = r.Text(1);
        VIGIL_ASSIGN_OR_RETURN(d.verdict, StoredVerdict(r.Text(2)));
        d.classification = r.Text(3);
        d.reason = r.Text(4);
        d.viewed = JsonStrings(r.Text(5));
        d.second_review = r.Int(6) != 0;
        d.decided_at = r.Int(7);
        d.category = r.Text(8);
        d.cybertip = r.Int(9) != 0;
        d.file_classifications = JsonStringMap(r.Text(10));
        d.user_statement = r.Text(11);
        VIGIL_ASSIGN_OR_RETURN(d.account_action, StoredAccountAction(r.Text(12)));
        c.decisions.push_back(std::move(d));
      }
      VIGIL_TRY(FillSweep(db, c));
      VIGIL_ASSIGN_OR_RETURN(
          auto reports, db.Query("SELECT r.id, t.content_id, r.source, r.reporter, r.reason, r.category, r.created_by, "
                                 "r.priority, r.created_at FROM user_reports r JOIN content t ON t.id = r.content_row "
                                 "WHERE r.case_id = $1 ORDER BY r.id",
                                 {c.id}));
      for (const auto& r : reports) {
        c.reports.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6),
                             static_cast<int>(r.Int(7)), r.Int(8)});
      }
    }
    return c;
  }

  // The copies this case's sweeps found, by the case each is in now (its newest).
  Status FillSweep(SqlConnection& db, Case& c) {
    for (const auto from : c.swept_from) {
      VIGIL_ASSIGN_OR_RETURN(auto left, db.Query("SELECT COUNT(*), SUM(CASE WHEN t.state = 'restored' THEN 1 ELSE 0 END) "
                                                 "FROM case_items ci JOIN content t ON t.id = ci.content_row "
                                                 "WHERE ci.case_id = $1",
                                                 {from}));
      if (!left.empty() && left[0].Int(0) > 0 && left[0].Int(0) == left[0].Int(1)) c.swept_from_overturned.push_back(from);
    }
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, db.Query("SELECT t.user_id, (SELECT MAX(ci.case_id) FROM case_items ci WHERE ci.content_row = t.id), "
                            "COUNT(*) FROM content t WHERE t.id IN (SELECT m.content_row FROM matches m WHERE m.sweep_of = $1 "
                            "AND m.suppressed_by IS NULL) "
                            "GROUP BY t.user_id, 2 ORDER BY 2",
                            {c.id}));
    std::set<std::string> accounts;
    for (const auto& r : rows) {
      c.swept.push_back({r.Int(1), r.Text(0), r.Int(2)});
      c.sweep_copies += r.Int(2);
      if (!r.Text(0).empty() && r.Text(0) != c.user_id) accounts.insert(r.Text(0));
    }
    c.sweep_accounts = static_cast<std::int64_t>(accounts.size());
    return {};
  }

  Result<Appeal> AppealOn(SqlConnection& db, std::int64_t id) {
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kAppealColumns + " FROM appeals WHERE id = $1", {id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no appeal " + std::to_string(id));
    Appeal appeal = AppealFromRow(rows.front());
    VIGIL_TRY(FillCovered(db, appeal));
    return appeal;
  }

  // An appeal goes to a reviewer who had no part in the decision appealed: not the one who decided,
  // nor either of a second review.
  Status RequireOtherReviewer(SqlConnection& db, const Appeal& appeal, const std::string& reviewer) {
    auto decided = db.Query("SELECT 1 FROM decisions WHERE case_id = $1 AND case_id <> 0 AND reviewer = $2", {appeal.case_id, reviewer});
    if (!decided) return tl::unexpected(decided.error());
    if (!decided->empty() || appeal.original_decider == reviewer) {
      return Fail(ErrorCode::kPermissionDenied, "appeal " + std::to_string(appeal.id) + " goes to a reviewer who had no part in "
                                                    "the decision appealed (" + reviewer + " decided case " +
                                                    std::to_string(appeal.case_id) + ")");
    }
    return {};
  }

  // The actions an appeal covers, and those its decision reversed.
  Status FillCovered(SqlConnection& db, Appeal& appeal) {
    auto covered = db.Query("SELECT action_id, undone FROM appeal_actions WHERE appeal_id = $1 ORDER BY action_id",
                            {appeal.id});
    if (!covered) return tl::unexpected(covered.error());
    for (const auto& row : *covered) {
      appeal.action_ids.push_back(row.Int(0));
      if (row.Int(1) != 0) appeal.undone.push_back(row.Int(0));
    }
    return {};
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
