// Review queues on SQL: memberships, counts per queue and moving a case (see
// include/vigil/review_queues.h). Routing itself happens where cases open (sql_case_store.cpp).
#include "store/sql_queue_store.h"

#include <algorithm>

#include "store/audit_chain.h"

namespace vigil::store {
namespace {

class SqlQueueStore final : public QueueStore {
 public:
  SqlQueueStore(ConnectionPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  Result<std::vector<QueueMember>> ListQueueMembers() override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT queue, reviewer, added_by, added_at FROM queue_members "
                                                "ORDER BY queue, reviewer"));
    std::vector<QueueMember> out;
    for (const auto& r : rows) out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Int(3)});
    return out;
  }

  Status SetQueueMember(const std::string& queue, const std::string& reviewer, bool member,
                        const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    std::int64_t changed = 0;
    if (member) {
      VIGIL_ASSIGN_OR_RETURN(changed, db->Execute("INSERT INTO queue_members (queue, reviewer, added_by, added_at) "
                                                  "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                                                  {queue, reviewer, actor, now}));
    } else {
      VIGIL_ASSIGN_OR_RETURN(changed, db->Execute("DELETE FROM queue_members WHERE queue = $1 AND reviewer = $2",
                                                  {queue, reviewer}));
    }
    if (changed == 0) return {};
    VIGIL_TRY(AppendAudit(*db, now, actor, member ? "queue.member.add" : "queue.member.remove", queue,
                          "reviewer=" + reviewer));
    return txn.Commit();
  }

  Result<std::vector<QueueCounts>> CountQueues(std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        db->Query("SELECT queue, SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), "
                  "SUM(CASE WHEN status = 'in_review' THEN 1 ELSE 0 END), "
                  "SUM(CASE WHEN status = 'escalated' THEN 1 ELSE 0 END), "
                  "SUM(CASE WHEN sla_due < $1 THEN 1 ELSE 0 END), MIN(sla_due) FROM cases "
                  "WHERE status IN ('open', 'in_review', 'escalated') GROUP BY queue ORDER BY queue",
                  {now}));
    std::vector<QueueCounts> out;
    for (const auto& r : rows) {
      QueueCounts q;
      q.queue = r.Text(0);
      q.open = r.Int(1);
      q.in_review = r.Int(2);
      q.escalated = r.Int(3);
      q.overdue = r.Int(4);
      q.oldest_due = r.OptInt(5);
      out.push_back(std::move(q));
    }
    return out;
  }

  Result<std::string> CaseQueue(std::int64_t case_id) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT queue FROM cases WHERE id = $1", {case_id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no case " + std::to_string(case_id));
    return rows.front().Text(0);
  }

  Status MoveCase(std::int64_t case_id, const std::string& queue, const std::string& reason,
                  const std::string& actor, std::optional<int> sla_hours) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT queue, status, sla_due, created_at FROM cases WHERE id = $1",
                                                {case_id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no case " + std::to_string(case_id));
    const std::string from = rows.front().Text(0);
    const std::string status = rows.front().Text(1);
    if (status == "decided" || status == "closed") {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " is " + status + ": it is in no queue now");
    }
    if (from == queue) return {};
    // Its claim goes: the reviewer holding it may not work the new queue.
    std::int64_t due = rows.front().Int(2);
    if (sla_hours) due = std::min(due, rows.front().Int(3) + std::int64_t{*sla_hours} * 3'600'000'000);
    VIGIL_TRY(db->Execute("UPDATE cases SET queue = $1, assigned_to = '', lease_until = 0, sla_due = $4, "
                          "status = CASE WHEN status = 'in_review' THEN 'open' ELSE status END, updated_at = $2 "
                          "WHERE id = $3",
                          {queue, now, case_id, due}));
    VIGIL_TRY(AppendAudit(*db, now, actor, "case.route", std::to_string(case_id),
                          "queue=" + queue + " (from " + from + ") reason=" + reason));
    return txn.Commit();
  }

 private:
  ConnectionPool& pool_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<QueueStore> MakeSqlQueueStore(ConnectionPool& pool, const Clock& clock) {
  return std::make_unique<SqlQueueStore>(pool, clock);
}

}  // namespace vigil::store
