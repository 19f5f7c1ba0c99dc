// Reviewer wellness on SQL: limits per organisation, manager and reviewer, reveals admitted one at
// a time per reviewer (the reviewer's row is locked), breaks, and exposure figures (see
// include/vigil/wellness.h).
#include "store/sql_wellness_store.h"

#include <algorithm>
#include <map>

#include "store/audit_chain.h"
#include "util/iso_time.h"

namespace vigil::store {
namespace {

constexpr std::int64_t kMinute = 60'000'000;

class SqlWellnessStore final : public WellnessStore {
 public:
  explicit SqlWellnessStore(ConnectionPool& pool) : pool_(pool) {}

  Result<WellnessState> GetWellness(const std::string& reviewer, const WellnessPolicy& policy, std::int64_t now) override {
    auto db = pool_.Acquire();
    return StateOn(*db, reviewer, policy, now, false);
  }

  Result<WellnessState> SetManagerLimit(const std::string& reviewer, std::optional<int> limit, const std::string& actor,
                                        const WellnessPolicy& policy, std::int64_t now) override {
    if (limit && (*limit < 1 || *limit > policy.reveal_limit)) {
      return Fail(ErrorCode::kInvalidArgument, "a reviewer's reveal limit is 1 to the organisation's " +
                                                   std::to_string(policy.reveal_limit) + ": a manager may lower it, not raise it");
    }
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_TRY(EnsureRow(*db, reviewer, now));
    VIGIL_TRY(db->Execute("UPDATE reviewer_wellness SET manager_limit = $1, manager_set_by = $2, updated_at = $3 "
                          "WHERE reviewer = $4",
                          {limit ? SqlValue(std::int64_t{*limit}) : SqlValue(), actor, now, reviewer}));
    VIGIL_TRY(AppendAudit(*db, now, actor, "wellness.limit", reviewer,
                          "reveal_limit=" + (limit ? std::to_string(*limit) : std::string("none"))));
    VIGIL_ASSIGN_OR_RETURN(auto state, StateOn(*db, reviewer, policy, now, false));
    VIGIL_TRY(txn.Commit());
    return state;
  }

  Result<WellnessState> SetOwnLimit(const std::string& reviewer, std::optional<int> limit, const WellnessPolicy& policy,
                                    std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_TRY(EnsureRow(*db, reviewer, now));
    VIGIL_ASSIGN_OR_RETURN(auto before, StateOn(*db, reviewer, policy, now, true));
    const int ceiling = before.manager_limit ? std::min(*before.manager_limit, before.org_limit) : before.org_limit;
    if (limit && (*limit < 1 || *limit > ceiling)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "your reveal limit is 1 to " + std::to_string(ceiling) + " (set by " +
                      (before.manager_limit && *before.manager_limit < before.org_limit ? "your manager" : "the organisation") +
                      "): you may lower it, not raise it");
    }
    VIGIL_TRY(db->Execute("UPDATE reviewer_wellness SET own_limit = $1, updated_at = $2 WHERE reviewer = $3",
                          {limit ? SqlValue(std::int64_t{*limit}) : SqlValue(), now, reviewer}));
    VIGIL_ASSIGN_OR_RETURN(auto state, StateOn(*db, reviewer, policy, now, false));
    VIGIL_TRY(txn.Commit());
    return state;
  }

  Result<WellnessState> AdmitReveal(const std::string& reviewer, const WellnessPolicy& policy, std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_TRY(EnsureRow(*db, reviewer, now));
    VIGIL_ASSIGN_OR_RETURN(auto state, StateOn(*db, reviewer, policy, now, true));
    if (state.break_until > now) {
      return Fail(ErrorCode::kResourceExhausted, "on a break until " + IsoTime(state.break_until) +
                                                     ": media are not revealed during a break");
    }
    if (state.reveals >= state.limit) {
      // The limit reached: the break starts now, and it is recorded even though this reveal is refused.
      VIGIL_TRY(BeginBreakOn(*db, reviewer, policy, now, true));
      VIGIL_TRY(txn.Commit());
      return Fail(ErrorCode::kResourceExhausted, std::to_string(state.reveals) + " reveals reach the limit of " +
                                                     std::to_string(state.limit) + ": a break of " +
                                                     std::to_string(policy.break_minutes) + " minutes starts now");
    }
    VIGIL_TRY(db->Execute("UPDATE reviewer_wellness SET period_reveals = period_reveals + 1, updated_at = $1 "
                          "WHERE reviewer = $2",
                          {now, reviewer}));
    state.reveals += 1;
    VIGIL_TRY(txn.Commit());
    return state;
  }

  Status RefundReveal(const std::string& reviewer) override {
    auto db = pool_.Acquire();
    return db->Execute("UPDATE reviewer_wellness SET period_reveals = period_reveals - 1 WHERE reviewer = $1 AND "
                       "period_reveals > 0",
                       {reviewer})
        .map([](std::int64_t) {});
  }

  Result<WellnessState> StartBreak(const std::string& reviewer, const WellnessPolicy& policy, std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_TRY(EnsureRow(*db, reviewer, now));
    VIGIL_ASSIGN_OR_RETURN(auto state, StateOn(*db, reviewer, policy, now, true));
    if (state.break_until <= now) VIGIL_TRY(BeginBreakOn(*db, reviewer, policy, now, false));
    VIGIL_ASSIGN_OR_RETURN(state, StateOn(*db, reviewer, policy, now, false));
    VIGIL_TRY(txn.Commit());
    return state;
  }

  Status CoverReveals(const std::string& reviewer, std::int64_t now) override {
    auto db = pool_.Acquire();
    return db->Execute("UPDATE media_views SET covered_at = $1 WHERE reviewer = $2 AND covered_at IS NULL", {now, reviewer})
        .map([](std::int64_t) {});
  }

  Result<std::vector<ExposureFigures>> Exposure(std::int64_t from, std::int64_t to, const WellnessPolicy& policy,
                                                std::int64_t now) override {
    auto db = pool_.Acquire();
    const std::int64_t cap = std::int64_t{policy.exposure_cap_minutes} * kMinute;
    // Each reveal: until covered, or until now for one still on screen, at most the cap.
    VIGIL_ASSIGN_OR_RETURN(
        auto views,
        db->Query("SELECT reviewer, COUNT(*), COUNT(DISTINCT case_id), "
                  "SUM(CASE WHEN covered_at IS NOT NULL AND covered_at - at < $3 THEN covered_at - at "
                  "WHEN covered_at IS NULL AND $4 - at < $3 THEN $4 - at ELSE $3 END), "
                  "COUNT(DISTINCT at / 86400000000) FROM media_views WHERE at >= $1 AND at < $2 "
                  "GROUP BY reviewer ORDER BY reviewer",
                  {from, to, cap, now}));
    VIGIL_ASSIGN_OR_RETURN(auto breaks, db->Query("SELECT reviewer, COUNT(*), SUM(forced) FROM reviewer_breaks "
                                                  "WHERE started_at >= $1 AND started_at < $2 GROUP BY reviewer",
                                                  {from, to}));
    std::map<std::string, ExposureFigures> figures;
    for (const auto& r : views) {
      auto& f = figures[r.Text(0)];
      f.reviewer = r.Text(0);
      f.reveals = r.Int(1);
      f.cases = r.Int(2);
      f.exposure_seconds = std::max<std::int64_t>(0, r.Int(3)) / 1'000'000;
      f.days_with_reveals = r.Int(4);
    }
    for (const auto& r : breaks) {
      auto& f = figures[r.Text(0)];
      f.reviewer = r.Text(0);
      f.breaks = r.Int(1);
      f.forced_breaks = r.Int(2);
    }
    std::vector<ExposureFigures> out;
    for (auto& [name, f] : figures) out.push_back(std::move(f));
    return out;
  }

 private:
  static Status EnsureRow(SqlConnection& db, const std::string& reviewer, std::int64_t now) {
    return db.Execute("INSERT INTO reviewer_wellness (reviewer, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                      {reviewer, now})
        .map([](std::int64_t) {});
  }

  // The reviewer's row (locked for update on PostgreSQL when `lock`); a break that has ended starts
  // a new count.
  static Result<WellnessState> StateOn(SqlConnection& db, const std::string& reviewer, const WellnessPolicy& policy,
                                       std::int64_t now, bool lock) {
    WellnessState s;
    s.reviewer = reviewer;
    s.org_limit = policy.reveal_limit;
    s.break_minutes = policy.break_minutes;
    const std::string for_update = lock && db.dialect() == SqlDialect::kPostgres ? " FOR UPDATE" : "";
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT manager_limit, own_limit, period_reveals, break_until, period_start "
                                               "FROM reviewer_wellness WHERE reviewer = $1" + for_update,
                                               {reviewer}));
    if (!rows.empty()) {
      const auto& r = rows.front();
      if (auto v = r.OptInt(0)) s.manager_limit = static_cast<int>(*v);
      if (auto v = r.OptInt(1)) s.own_limit = static_cast<int>(*v);
      s.reveals = r.Int(2);
      s.break_until = r.Int(3);
      s.break_started = r.Int(4);
      if (s.break_until != 0 && s.break_until <= now) {
        // The break is over: counting starts again (written only where the row is held).
        s.reveals = 0;
        if (lock) {
          VIGIL_TRY(db.Execute("UPDATE reviewer_wellness SET period_reveals = 0, break_until = 0, period_start = $1 "
                               "WHERE reviewer = $2",
                               {now, reviewer}));
        }
        s.break_until = 0;
      }
    }
    s.limit = s.org_limit;
    if (s.manager_limit) s.limit = std::min(s.limit, *s.manager_limit);
    if (s.own_limit) s.limit = std::min(s.limit, *s.own_limit);
    return s;
  }

  static Status BeginBreakOn(SqlConnection& db, const std::string& reviewer, const WellnessPolicy& policy,
                             std::int64_t now, bool forced) {
    const std::int64_t until = now + std::int64_t{policy.break_minutes} * kMinute;
    VIGIL_TRY(db.Execute("UPDATE reviewer_wellness SET break_until = $1, period_start = $2, updated_at = $2 "
                         "WHERE reviewer = $3",
                         {until, now, reviewer}));
    VIGIL_TRY(db.Execute("INSERT INTO reviewer_breaks (reviewer, started_at, until_at, forced) VALUES ($1, $2, $3, $4)",
                         {reviewer, now, until, std::int64_t{forced ? 1 : 0}}));
    // Whatever was revealed is covered by the break.
    VIGIL_TRY(db.Execute("UPDATE media_views SET covered_at = $1 WHERE reviewer = $2 AND covered_at IS NULL", {now, reviewer}));
    return AppendAudit(db, now, reviewer, forced ? "wellness.break.forced" : "wellness.break", reviewer,
                       "until=" + IsoTime(until));
  }

  ConnectionPool& pool_;
};

}  // namespace

std::unique_ptr<WellnessStore> MakeSqlWellnessStore(ConnectionPool& pool) { return std::make_unique<SqlWellnessStore>(pool); }

}  // namespace vigil::store
