// Events to the platform on SQL: the feed, the webhook queue with per-account order, dead letters
// and the sender's lease (see include/vigil/events.h).
#include "store/sql_event_store.h"

#include <algorithm>

#include "store/audit_chain.h"

namespace vigil::store {
namespace {

constexpr const char* kEventColumns =
    "e.id, e.kind, e.user_id, e.content_id, e.case_id, e.data, e.created_at, e.delivered_at, e.attempts, "
    "e.next_attempt_at, e.last_error, e.dead";

PlatformEvent EventFromRow(const SqlRow& r) {
  PlatformEvent e;
  e.id = r.Int(0);
  e.kind = r.Text(1);
  e.user_id = r.Text(2);
  e.content_id = r.Text(3);
  e.case_id = r.Int(4);
  e.data = r.Text(5);
  e.created_at = r.Int(6);
  e.delivered_at = r.OptInt(7);
  e.attempts = r.Int(8);
  e.next_attempt_at = r.Int(9);
  e.last_error = r.Text(10);
  e.dead = r.Int(11) != 0;
  return e;
}

class SqlEventStore final : public EventStore {
 public:
  SqlEventStore(ConnectionPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  Result<std::vector<PlatformEvent>> ListEvents(std::int64_t after, int limit, const std::string& user_id) override {
    auto db = pool_.Acquire();
    const std::int64_t n = std::clamp(limit, 1, 1000);
    auto rows = user_id.empty()
                    ? db->Query(std::string("SELECT ") + kEventColumns + " FROM events e WHERE e.id > $1 ORDER BY e.id LIMIT $2",
                                {after, n})
                    : db->Query(std::string("SELECT ") + kEventColumns +
                                    " FROM events e WHERE e.user_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3",
                                {user_id, after, n});
    return Collect(rows);
  }

  Result<std::vector<PlatformEvent>> DueEvents(std::int64_t now, int limit) override {
    auto db = pool_.Acquire();
    // An account's events go in order: one waits while an earlier one of its account is undelivered.
    auto rows = db->Query(std::string("SELECT ") + kEventColumns +
                              " FROM events e WHERE e.delivered_at IS NULL AND e.dead = 0 AND e.next_attempt_at <= $1 "
                              "AND (e.user_id = '' OR NOT EXISTS (SELECT 1 FROM events p WHERE p.user_id = e.user_id "
                              "AND p.id < e.id AND p.delivered_at IS NULL)) ORDER BY e.id LIMIT $2",
                          {now, std::int64_t{std::clamp(limit, 1, 1000)}});
    return Collect(rows);
  }

  Status MarkDelivered(std::int64_t id, std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_TRY(db->Execute("UPDATE events SET delivered_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2",
                          {now, id}));
    return {};
  }

  Status MarkFailed(std::int64_t id, const std::string& error, std::int64_t next_attempt_at, bool dead) override {
    auto db = pool_.Acquire();
    VIGIL_TRY(db->Execute("UPDATE events SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, dead = $3 "
                          "WHERE id = $4 AND delivered_at IS NULL",
                          {error.substr(0, 500), next_attempt_at, std::int64_t{dead ? 1 : 0}, id}));
    return {};
  }

  Result<std::vector<PlatformEvent>> ListDeadEvents(std::int64_t after, int limit) override {
    auto db = pool_.Acquire();
    auto rows = db->Query(std::string("SELECT ") + kEventColumns +
                              " FROM events e WHERE e.dead = 1 AND e.delivered_at IS NULL AND e.id > $1 ORDER BY e.id LIMIT $2",
                          {after, std::int64_t{std::clamp(limit, 1, 1000)}});
    return Collect(rows);
  }

  Status Redeliver(std::int64_t id, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    VIGIL_ASSIGN_OR_RETURN(auto changed, db->Execute("UPDATE events SET dead = 0, attempts = 0, next_attempt_at = $1 "
                                                     "WHERE id = $2 AND dead = 1 AND delivered_at IS NULL",
                                                     {now, id}));
    if (changed == 0) return Fail(ErrorCode::kNotFound, "no dead event " + std::to_string(id));
    VIGIL_TRY(AppendAudit(*db, now, actor, "event.redeliver", std::to_string(id), ""));
    return txn.Commit();
  }

  Result<std::int64_t> PendingEvents() override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT COUNT(*) FROM events WHERE delivered_at IS NULL AND dead = 0"));
    return rows.front().Int(0);
  }

  Result<bool> AcquireDeliveryLease(const std::string& holder, std::int64_t seconds) override {
    auto db = pool_.Acquire();
    const auto now = clock_.NowMicros();
    // One statement: of two replicas asking at once, exactly one gets it.
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("UPDATE event_delivery SET lease_holder = $1, lease_until = $2 WHERE id = 1 "
                                                "AND (lease_until < $3 OR lease_holder = $1 OR lease_holder = '') RETURNING id",
                                                {holder, now + seconds * 1'000'000, now}));
    return !rows.empty();
  }

  Status ReleaseDeliveryLease(const std::string& holder) override {
    auto db = pool_.Acquire();
    VIGIL_TRY(db->Execute("UPDATE event_delivery SET lease_holder = '', lease_until = 0 WHERE id = 1 AND lease_holder = $1",
                          {holder}));
    return {};
  }

 private:
  static Result<std::vector<PlatformEvent>> Collect(const Result<std::vector<SqlRow>>& rows) {
    if (!rows) return tl::unexpected(rows.error());
    std::vector<PlatformEvent> out;
    out.reserve(rows->size());
    for (const auto& r : *rows) out.push_back(EventFromRow(r));
    return out;
  }

  ConnectionPool& pool_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<EventStore> MakeSqlEventStore(ConnectionPool& pool, const Clock& clock) {
  return std::make_unique<SqlEventStore>(pool, clock);
}

}  // namespace vigil::store
