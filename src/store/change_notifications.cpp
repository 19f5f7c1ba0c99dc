// LISTEN/NOTIFY for bank changes (change_notifications.h).
#include "store/change_notifications.h"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <cstring>

namespace vigil::store {

Status EnsureChangeNotifications(SqlConnection& db) {
  if (db.dialect() != SqlDialect::kPostgres) return {};
  // Every process that opens the store comes here: one at a time (two CREATE OR REPLACE of one
  // function at once fail), and only the first finds anything to do.
  VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(db));
  VIGIL_TRY(db.Query("SELECT pg_advisory_xact_lock(7215001)"));
  VIGIL_ASSIGN_OR_RETURN(auto triggers, db.Query("SELECT COUNT(*) FROM pg_trigger WHERE tgname IN "
                                                 "('vigil_banks_changed', 'vigil_bank_entries_changed', "
                                                 "'vigil_overrides_changed')"));
  if (triggers.at(0).Int(0) == 3) return transaction.Commit();
  VIGIL_TRY(db.ExecuteScript(R"sql(
CREATE OR REPLACE FUNCTION vigil_notify_bank_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('vigil_bank_changes', (extract(epoch FROM now()) * 1000000)::bigint::text);
  RETURN NULL;
END
$fn$;
CREATE OR REPLACE TRIGGER vigil_banks_changed AFTER INSERT OR UPDATE OR DELETE ON banks
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_notify_bank_change();
CREATE OR REPLACE TRIGGER vigil_bank_entries_changed AFTER INSERT OR UPDATE OR DELETE ON bank_entries
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_notify_bank_change();
CREATE OR REPLACE TRIGGER vigil_overrides_changed AFTER INSERT OR UPDATE OR DELETE ON overrides
  FOR EACH STATEMENT EXECUTE FUNCTION vigil_notify_bank_change();
)sql"));
  return transaction.Commit();
}

Result<std::unique_ptr<ChangeListener>> ChangeListener::Listen(const std::string& conninfo) {
  std::unique_ptr<ChangeListener> listener(new ChangeListener(conninfo));
  VIGIL_TRY(listener->Connect());
  return listener;
}

ChangeListener::~ChangeListener() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Status ChangeListener::Connect() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = PQconnectdb(conninfo_.c_str());
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    std::string message = conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
    return Fail(ErrorCode::kUnavailable, "change listener: cannot connect to PostgreSQL: " + message);
  }
  PGresult* r = PQexec(conn_, (std::string("LISTEN ") + kBankChangesChannel).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    const std::string message = PQerrorMessage(conn_);
    PQfinish(conn_);
    conn_ = nullptr;
    return Fail(ErrorCode::kUnavailable, "change listener: LISTEN failed: " + message);
  }
  return {};
}

Result<std::vector<std::int64_t>> ChangeListener::Wait(std::chrono::milliseconds timeout) {
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) VIGIL_TRY(Connect());
  std::vector<std::int64_t> out;
  auto drain = [&] {
    while (PGnotify* n = PQnotifies(conn_)) {
      std::int64_t at = 0;
      const char* p = n->extra != nullptr ? n->extra : "";
      std::from_chars(p, p + std::strlen(p), at);
      out.push_back(at);
      PQfreemem(n);
    }
  };
  if (PQconsumeInput(conn_) == 0) {
    PQfinish(conn_);
    conn_ = nullptr;
    return Fail(ErrorCode::kUnavailable, "change listener: connection lost");
  }
  drain();
  if (!out.empty()) return out;
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready > 0) {
    if (PQconsumeInput(conn_) == 0) {
      PQfinish(conn_);
      conn_ = nullptr;
      return Fail(ErrorCode::kUnavailable, "change listener: connection lost");
    }
    drain();
  }
  return out;
}

}  // namespace vigil::store
