// Exchanges, their status and lease, and the feedback queue on SQL (see include/vigil/exchange.h).
// Each change is one transaction, with its audit record where a person made it.
#include "store/sql_exchange_store.h"

#include <algorithm>
#include <boost/json.hpp>

#include "store/audit_chain.h"
#include "store/record_names.h"

namespace vigil {

std::vector<std::string> ExchangeKinds() { return {"ncmec", "stopncii", "threatexchange", "url"}; }

namespace store {
namespace {

constexpr const char* kExchangeColumns =
    "x.id, x.name, x.kind, b.name, x.enabled, x.interval_seconds, x.feedback, x.settings, x.credentials, "
    "x.created_at, x.created_by, x.updated_at, x.last_run_at, x.last_success_at, x.last_ok, x.last_error, "
    "x.last_fetched, x.last_added, x.last_removed, x.total_fetched, x.runs, x.failures, x.newest_item_at, "
    "x.lease_holder, x.lease_until, "
    "(SELECT COUNT(*) FROM exchange_feedback f WHERE f.exchange_id = x.id AND f.state = 'queued'), "
    "(SELECT COUNT(*) FROM exchange_feedback f WHERE f.exchange_id = x.id AND f.state = 'sent'), "
    "(SELECT COUNT(*) FROM exchange_feedback f WHERE f.exchange_id = x.id AND f.state = 'failed')";

constexpr const char* kFeedbackColumns =
    "f.id, f.exchange_id, x.name, f.entry_id, f.source, f.source_id, f.verdict, f.reason, f.state, f.attempts, "
    "f.next_attempt_at, f.last_error, f.created_at, f.sent_at, e.signal_type, e.value, e.source, e.member, "
    "e.external_id, e.classification, "
    "COALESCE((SELECT p.verdict FROM exchange_feedback p WHERE p.exchange_id = f.exchange_id AND "
    "p.entry_id = f.entry_id AND p.state = 'sent' ORDER BY p.sent_at DESC, p.id DESC LIMIT 1), '')";

Exchange ExchangeFromRow(const SqlRow& r) {
  Exchange x;
  x.id = r.Int(0);
  x.name = r.Text(1);
  x.kind = r.Text(2);
  x.bank = r.Text(3);
  x.enabled = r.Int(4) != 0;
  x.interval_seconds = r.Int(5);
  x.feedback = r.Int(6) != 0;
  x.settings = r.Text(7);
  x.credentials = r.Text(8);
  x.created_at = r.Int(9);
  x.created_by = r.Text(10);
  x.updated_at = r.Int(11);
  auto& s = x.status;
  s.last_run_at = r.OptInt(12);
  s.last_success_at = r.OptInt(13);
  s.last_ok = r.Int(14) != 0;
  s.last_error = r.Text(15);
  s.last_fetched = r.Int(16);
  s.last_added = r.Int(17);
  s.last_removed = r.Int(18);
  s.total_fetched = r.Int(19);
  s.runs = r.Int(20);
  s.failures = r.Int(21);
  s.newest_item_at = r.OptInt(22);
  s.lease_holder = r.Text(23);
  s.lease_until = r.Int(24);
  s.feedback_queued = r.Int(25);
  s.feedback_sent = r.Int(26);
  s.feedback_failed = r.Int(27);
  return x;
}

FeedbackItem FeedbackFromRow(const SqlRow& r) {
  FeedbackItem f;
  f.id = r.Int(0);
  f.exchange_id = r.Int(1);
  f.exchange = r.Text(2);
  f.entry_id = r.Int(3);
  f.source = r.Text(4);
  f.source_id = r.Int(5);
  f.verdict = r.Text(6);
  f.reason = r.Text(7);
  f.state = r.Text(8);
  f.attempts = r.Int(9);
  f.next_attempt_at = r.Int(10);
  f.last_error = r.Text(11);
  f.created_at = r.Int(12);
  f.sent_at = r.OptInt(13);
  f.signal_type = r.Text(14);
  f.value = r.Text(15);
  f.provenance = {r.Text(16), r.Text(17), r.Text(18), r.Text(19)};
  f.last_sent_verdict = r.Text(20);
  return f;
}

Status CheckSettings(const std::string& name, const std::string& settings) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 8;
  const auto value = boost::json::parse(settings, ec, {}, options);
  if (ec || !value.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + name + "': settings must be a JSON object");
  }
  if (settings.size() > 16 * 1024) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + name + "': settings longer than 16 KiB");
  }
  return {};
}

Status CheckCredentials(const std::string& name, const std::string& credentials) {
  if (credentials.empty()) return {};
  if (credentials.rfind("env:", 0) == 0 && credentials.size() > 4 && credentials.size() <= 128) {
    const auto var = credentials.substr(4);
    if (std::all_of(var.begin(), var.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        })) {
      return {};
    }
  }
  if (credentials.rfind("file:/", 0) == 0 && credentials.size() <= 1024 &&
      credentials.find('\0') == std::string::npos && credentials.find('\n') == std::string::npos) {
    return {};
  }
  return Fail(ErrorCode::kInvalidArgument,
              "exchange '" + name + "': credentials must name where they are, env:VARIABLE or file:/absolute/path "
              "(never the secret itself)");
}

Status CheckInterval(const std::string& name, std::int64_t seconds) {
  if (seconds < 60 || seconds > 7 * 24 * 3600) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + name + "': interval must be 60 s to 7 days, not " +
                                                 std::to_string(seconds) + " s");
  }
  return {};
}

class SqlExchangeStore final : public ExchangeStore {
 public:
  SqlExchangeStore(ConnectionPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  Result<Exchange> CreateExchange(const Exchange& x, const std::string& actor) override {
    if (!ValidRecordName(x.name)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "exchange name '" + x.name + "': 1-64 of a-z, 0-9, - and _, starting with a letter or digit");
    }
    const auto kinds = ExchangeKinds();
    if (std::find(kinds.begin(), kinds.end(), x.kind) == kinds.end()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "exchange '" + x.name + "': kind must be ncmec, stopncii, threatexchange or url, not '" + x.kind + "'");
    }
    VIGIL_TRY(CheckSettings(x.name, x.settings));
    VIGIL_TRY(CheckCredentials(x.name, x.credentials));
    VIGIL_TRY(CheckInterval(x.name, x.interval_seconds));
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto bank, db->Query("SELECT id, negative FROM banks WHERE name = $1 AND deleted_at IS NULL", {x.bank}));
    if (bank.empty()) return Fail(ErrorCode::kNotFound, "exchange '" + x.name + "': no bank named '" + x.bank + "'");
    const auto now = clock_.NowMicros();
    VIGIL_ASSIGN_OR_RETURN(auto cursors, Cursors(*db));
    auto row = db->Query(
        "INSERT INTO exchanges (name, kind, bank_id, enabled, interval_seconds, feedback, settings, credentials, "
        "created_at, created_by, updated_at, decision_cursor, disable_cursor, appeal_cursor) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11, $12, $13) RETURNING id",
        {x.name, x.kind, bank.front().Int(0), std::int64_t{x.enabled}, x.interval_seconds, std::int64_t{x.feedback},
         x.settings, x.credentials, now, actor, cursors.decision, cursors.disable, cursors.appeal});
    if (!row) {
      if (row.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists,
                    "an exchange named '" + x.name + "', or one for bank '" + x.bank + "', is on record");
      }
      return tl::unexpected(row.error());
    }
    VIGIL_TRY(AppendAudit(*db, now, actor, "exchange.create", "exchange:" + x.name,
                          "kind=" + x.kind + " bank=" + x.bank + " feedback=" + (x.feedback ? "on" : "off") +
                              " credentials=" + x.credentials + " settings=" + x.settings));
    VIGIL_TRY(txn.Commit());
    return Get(*db, x.name);
  }

  Result<Exchange> GetExchange(const std::string& name) override {
    auto db = pool_.Acquire();
    return Get(*db, name);
  }

  Result<std::vector<Exchange>> ListExchanges() override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string("SELECT ") + kExchangeColumns +
                                                " FROM exchanges x JOIN banks b ON b.id = x.bank_id ORDER BY x.name", {}));
    std::vector<Exchange> out;
    for (const auto& r : rows) out.push_back(ExchangeFromRow(r));
    return out;
  }

  Result<Exchange> UpdateExchange(const std::string& name, const ExchangeUpdate& u, const std::string& actor) override {
    if (u.settings) VIGIL_TRY(CheckSettings(name, *u.settings));
    if (u.credentials) VIGIL_TRY(CheckCredentials(name, *u.credentials));
    if (u.interval_seconds) VIGIL_TRY(CheckInterval(name, *u.interval_seconds));
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto before, Get(*db, name));
    const auto now = clock_.NowMicros();
    std::string detail;
    if (u.enabled) {
      VIGIL_TRY(db->Execute("UPDATE exchanges SET enabled = $1 WHERE id = $2", {std::int64_t{*u.enabled}, before.id}));
      detail += std::string(" enabled=") + (*u.enabled ? "true" : "false");
    }
    if (u.interval_seconds) {
      VIGIL_TRY(db->Execute("UPDATE exchanges SET interval_seconds = $1 WHERE id = $2", {*u.interval_seconds, before.id}));
      detail += " interval=" + std::to_string(*u.interval_seconds);
    }
    if (u.feedback) {
      VIGIL_TRY(db->Execute("UPDATE exchanges SET feedback = $1 WHERE id = $2", {std::int64_t{*u.feedback}, before.id}));
      if (*u.feedback && !before.feedback) {
        // Feedback starts with the decisions made from now on, not the whole history.
        VIGIL_ASSIGN_OR_RETURN(auto cursors, Cursors(*db));
        VIGIL_TRY(db->Execute("UPDATE exchanges SET decision_cursor = $1, disable_cursor = $2, appeal_cursor = $3 "
                              "WHERE id = $4",
                              {cursors.decision, cursors.disable, cursors.appeal, before.id}));
      }
      detail += std::string(" feedback=") + (*u.feedback ? "on" : "off");
    }
    if (u.settings) {
      VIGIL_TRY(db->Execute("UPDATE exchanges SET settings = $1 WHERE id = $2", {*u.settings, before.id}));
      detail += " settings=" + *u.settings;
    }
    if (u.credentials) {
      VIGIL_TRY(db->Execute("UPDATE exchanges SET credentials = $1 WHERE id = $2", {*u.credentials, before.id}));
      detail += " credentials=" + *u.credentials;  // where they are, never the secret
    }
    VIGIL_TRY(db->Execute("UPDATE exchanges SET updated_at = $1 WHERE id = $2", {now, before.id}));
    VIGIL_TRY(AppendAudit(*db, now, actor, "exchange.update", "exchange:" + name, detail.empty() ? "" : detail.substr(1)));
    VIGIL_TRY(txn.Commit());
    return Get(*db, name);
  }

  Status DeleteExchange(const std::string& name, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto before, Get(*db, name));
    VIGIL_TRY(db->Execute("DELETE FROM exchange_feedback WHERE exchange_id = $1", {before.id}));
    VIGIL_TRY(db->Execute("DELETE FROM exchanges WHERE id = $1", {before.id}));
    const auto now = clock_.NowMicros();
    VIGIL_TRY(AppendAudit(*db, now, actor, "exchange.delete", "exchange:" + name, "bank=" + before.bank));
    return txn.Commit();
  }

  Status ResetCheckpoint(const std::string& name, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto before, Get(*db, name));
    VIGIL_TRY(db->Execute("UPDATE banks SET sync_checkpoint = NULL WHERE id = (SELECT bank_id FROM exchanges WHERE id = $1)",
                          {before.id}));
    VIGIL_TRY(AppendAudit(*db, clock_.NowMicros(), actor, "exchange.reset", "exchange:" + name, "bank=" + before.bank));
    return txn.Commit();
  }

  Result<bool> AcquireLease(const std::string& name, const std::string& holder, std::int64_t seconds) override {
    auto db = pool_.Acquire();
    const auto now = clock_.NowMicros();
    // One statement: the row's lock (PostgreSQL) or the database's write lock (SQLite) makes the
    // check and the take atomic, so of two replicas asking at once exactly one gets it.
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("UPDATE exchanges SET lease_holder = $1, lease_until = $2 WHERE name = $3 "
                                                "AND (lease_until < $4 OR lease_holder = $1 OR lease_holder = '') RETURNING id",
                                                {holder, now + seconds * 1'000'000, name, now}));
    if (rows.empty()) {
      VIGIL_ASSIGN_OR_RETURN(auto exists, db->Query("SELECT id FROM exchanges WHERE name = $1", {name}));
      if (exists.empty()) return Fail(ErrorCode::kNotFound, "no exchange named '" + name + "'");
      return false;
    }
    return true;
  }

  Status ReleaseLease(const std::string& name, const std::string& holder) override {
    auto db = pool_.Acquire();
    VIGIL_TRY(db->Execute("UPDATE exchanges SET lease_holder = '', lease_until = 0 WHERE name = $1 AND lease_holder = $2",
                          {name, holder}));
    return {};
  }

  Status BreakLease(const std::string& name, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto before, Get(*db, name));
    VIGIL_TRY(db->Execute("UPDATE exchanges SET lease_holder = '', lease_until = 0 WHERE id = $1", {before.id}));
    VIGIL_TRY(AppendAudit(*db, clock_.NowMicros(), actor, "exchange.unlock", "exchange:" + name,
                          "holder=" + before.status.lease_holder));
    return txn.Commit();
  }

  Status RecordRun(const std::string& name, const ExchangeRun& run) override {
    auto db = pool_.Acquire();
    const auto now = clock_.NowMicros();
    const SqlValue newest = run.newest_item_at ? SqlValue{*run.newest_item_at} : SqlValue{};
    if (run.ok) {
      VIGIL_TRY(db->Execute(
          "UPDATE exchanges SET last_run_at = $1, last_success_at = $2, last_ok = 1, last_error = '', last_fetched = $3, "
          "last_added = $4, last_removed = $5, total_fetched = total_fetched + $3, runs = runs + 1, "
          "newest_item_at = COALESCE($6, newest_item_at) WHERE name = $7",
          {run.started_at, now, run.fetched, run.added, run.removed, newest, name}));
      return {};
    }
    VIGIL_TRY(db->Execute(
        "UPDATE exchanges SET last_run_at = $1, last_ok = 0, last_error = $2, last_fetched = $3, last_added = $4, "
        "last_removed = $5, total_fetched = total_fetched + $3, runs = runs + 1, failures = failures + 1, "
        "newest_item_at = COALESCE($6, newest_item_at) WHERE name = $7",
        {run.started_at, run.error.substr(0, 2000), run.fetched, run.added, run.removed, newest, name}));
    return {};
  }

  Result<std::int64_t> QueueFeedback(const std::string& name, int limit) override {
    std::int64_t added = 0;
    for (;;) {
      bool more = false;
      VIGIL_ASSIGN_OR_RETURN(auto batch, QueueBatch(name, std::max(1, limit), more));
      added += batch;
      if (!more) return added;
    }
  }

  Result<std::vector<FeedbackItem>> DueFeedback(const std::string& name, int limit) override {
    return Feedback("WHERE x.name = $1 AND f.state = 'queued' AND f.next_attempt_at <= $2 ORDER BY f.id LIMIT $3",
                    {name, clock_.NowMicros(), std::int64_t{limit}});
  }

  Status MarkFeedback(std::int64_t id, const std::string& state, const std::string& error,
                      std::int64_t next_attempt_at) override {
    if (state != "sent" && state != "skipped" && state != "failed" && state != "queued") {
      return Fail(ErrorCode::kInvalidArgument, "feedback state must be sent, skipped, failed or queued, not '" + state + "'");
    }
    auto db = pool_.Acquire();
    const auto now = clock_.NowMicros();
    VIGIL_TRY(db->Execute("UPDATE exchange_feedback SET state = $1, last_error = $2, next_attempt_at = $3, "
                       "attempts = attempts + 1, sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END WHERE id = $5",
                       {state, error.substr(0, 2000), next_attempt_at, now, id}));
    return {};
  }

  Result<std::vector<FeedbackItem>> ListFeedback(const std::string& name, std::int64_t entry_id, int limit) override {
    return Feedback("WHERE ($1 = '' OR x.name = $1) AND ($2 = 0 OR f.entry_id = $2) ORDER BY f.id DESC LIMIT $3",
                    {name, entry_id, std::int64_t{limit}});
  }

 private:
  struct FeedbackCursors {
    std::int64_t decision = 0, disable = 0, appeal = 0;
  };

  // The newest decision and entry feedback ids, and the latest appeal decision time: where a new
  // feedback queue starts.
  static Result<FeedbackCursors> Cursors(SqlConnection& db) {
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT (SELECT COALESCE(MAX(id), 0) FROM decisions), "
                                               "(SELECT COALESCE(MAX(id), 0) FROM entry_feedback), "
                                               "(SELECT COALESCE(MAX(decided_at), 0) FROM appeals)", {}));
    return FeedbackCursors{rows.front().Int(0), rows.front().Int(1), rows.front().Int(2) + 1};
  }

  // One transaction: at most `limit` of each source after the cursors, their rows queued, the
  // cursors moved on. `more` says a source had `limit` (there may be more).
  Result<std::int64_t> QueueBatch(const std::string& name, int limit, bool& more) {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT id, bank_id, feedback, decision_cursor, disable_cursor, appeal_cursor "
                                                "FROM exchanges WHERE name = $1",
                                                {name}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no exchange named '" + name + "'");
    const auto id = rows.front().Int(0), bank = rows.front().Int(1);
    if (rows.front().Int(2) == 0) return std::int64_t{0};
    FeedbackCursors at{rows.front().Int(3), rows.front().Int(4), rows.front().Int(5)};
    const auto now = clock_.NowMicros();
    std::int64_t added = 0;
    auto queue = [&](std::int64_t entry, const char* source, std::int64_t source_id, const std::string& verdict,
                     const std::string& reason) -> Status {
      VIGIL_ASSIGN_OR_RETURN(auto inserted,
                             db->Query("INSERT INTO exchange_feedback (exchange_id, entry_id, source, source_id, verdict, "
                                       "reason, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7) "
                                       "ON CONFLICT DO NOTHING RETURNING id",
                                       {id, entry, std::string(source), source_id, verdict, reason.substr(0, 500), now}));
      added += static_cast<std::int64_t>(inserted.size());
      return {};
    };
    // The entries of this bank the files of a case matched.
    auto case_entries = [&](std::int64_t case_id) {
      return db->Query("SELECT DISTINCT m.entry_id FROM case_items ci JOIN matches m ON m.content_row = ci.content_row "
                       "WHERE ci.case_id = $1 AND m.bank_id = $2 ORDER BY m.entry_id",
                       {case_id, bank});
    };
    // Decisions: violating -> affirmative, not violating -> negative.
    VIGIL_ASSIGN_OR_RETURN(auto decisions, db->Query("SELECT id, verdict, case_id FROM decisions WHERE id > $1 ORDER BY id LIMIT $2",
                                                     {at.decision, std::int64_t{limit}}));
    more = more || decisions.size() == static_cast<std::size_t>(limit);
    for (const auto& d : decisions) {
      at.decision = d.Int(0);
      const auto& verdict = d.Text(1);
      if (verdict != "violating" && verdict != "not_violating") continue;
      VIGIL_ASSIGN_OR_RETURN(auto entries, case_entries(d.Int(2)));
      for (const auto& e : entries) {
        VIGIL_TRY(queue(e.Int(0), "decision", d.Int(0), verdict == "violating" ? "affirmative" : "negative",
                        verdict == "violating" ? "" : "not violating"));
      }
    }
    // Entries of this bank a reviewer disabled as false positives.
    VIGIL_ASSIGN_OR_RETURN(auto disabled,
                           db->Query("SELECT f.id, f.entry_id, f.reason, e.bank_id FROM entry_feedback f JOIN bank_entries e "
                                     "ON e.id = f.entry_id WHERE f.id > $1 ORDER BY f.id LIMIT $2",
                                     {at.disable, std::int64_t{limit}}));
    more = more || disabled.size() == static_cast<std::size_t>(limit);
    for (const auto& f : disabled) {
      at.disable = f.Int(0);
      if (f.Int(3) == bank) VIGIL_TRY(queue(f.Int(1), "disable", f.Int(0), "negative", f.Text(2)));
    }
    // Decisions overturned on appeal (every file restored): a correcting negative. Appeals are
    // decided in another order than they were filed, so the cursor is the decision time; rows at
    // the cursor's own time are read again and left to the unique key.
    VIGIL_ASSIGN_OR_RETURN(auto appeals, db->Query("SELECT id, case_id, decided_at FROM appeals WHERE outcome = 'overturned' "
                                                   "AND decided_at >= $1 ORDER BY decided_at, id LIMIT $2",
                                                   {at.appeal, std::int64_t{limit}}));
    more = more || (appeals.size() == static_cast<std::size_t>(limit) && appeals.back().Int(2) > at.appeal);
    for (const auto& a : appeals) {
      at.appeal = std::max(at.appeal, a.Int(2));
      VIGIL_ASSIGN_OR_RETURN(auto entries, case_entries(a.Int(1)));
      for (const auto& e : entries) VIGIL_TRY(queue(e.Int(0), "appeal", a.Int(0), "negative", "overturned on appeal"));
    }
    VIGIL_TRY(db->Execute("UPDATE exchanges SET decision_cursor = $1, disable_cursor = $2, appeal_cursor = $3 WHERE id = $4",
                          {at.decision, at.disable, at.appeal, id}));
    VIGIL_TRY(txn.Commit());
    return added;
  }

  static Result<Exchange> Get(SqlConnection& db, const std::string& name) {
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kExchangeColumns +
                                               " FROM exchanges x JOIN banks b ON b.id = x.bank_id WHERE x.name = $1",
                                               {name}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no exchange named '" + name + "'");
    return ExchangeFromRow(rows.front());
  }

  Result<std::vector<FeedbackItem>> Feedback(const std::string& where, std::vector<SqlValue> params) {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string("SELECT ") + kFeedbackColumns +
                                                " FROM exchange_feedback f JOIN exchanges x ON x.id = f.exchange_id "
                                                "JOIN bank_entries e ON e.id = f.entry_id " + where,
                                                std::move(params)));
    std::vector<FeedbackItem> out;
    for (const auto& r : rows) out.push_back(FeedbackFromRow(r));
    return out;
  }

  ConnectionPool& pool_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<ExchangeStore> MakeSqlExchangeStore(ConnectionPool& pool, const Clock& clock) {
  return std::make_unique<SqlExchangeStore>(pool, clock);
}

}  // namespace store
}  // namespace vigil
