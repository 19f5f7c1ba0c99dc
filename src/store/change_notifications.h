// Bank changes pushed by PostgreSQL to every replica (LISTEN/NOTIFY), so that an index follows a
// change made through any server, worker or CLI within milliseconds instead of a polling interval.
//
//   EnsureChangeNotifications(db)  installs (idempotently) statement-level triggers on banks,
//       bank_entries and overrides that NOTIFY channel vigil_bank_changes with the changing
//       transaction's start time (Unix microseconds). PostgreSQL delivers a notification at commit,
//       once per distinct payload, so one import is one notification however many rows it wrote.
//   ChangeListener                 one connection of its own that LISTENs on the channel.
//       Wait(timeout) returns the notifications that came (oldest payload first), or none at the
//       timeout; kUnavailable when the connection is lost (it reconnects on the next Wait, and the
//       caller should refresh anyway: changes made meanwhile sent nothing it could hear).
// SQLite has one process per database: nothing to push, and neither is used there.
//
// Thread safety: EnsureChangeNotifications as the connection it is given; a ChangeListener is for
// one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/sql_connection.h"
#include "vigil/status.h"

struct pg_conn;

namespace vigil::store {

inline constexpr const char* kBankChangesChannel = "vigil_bank_changes";

Status EnsureChangeNotifications(SqlConnection& db);

class ChangeListener {
 public:
  static Result<std::unique_ptr<ChangeListener>> Listen(const std::string& conninfo);
  ~ChangeListener();
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

  // The payloads (a change's transaction start, Unix microseconds; 0 if unreadable) received
  // within `timeout`; empty at the timeout.
  Result<std::vector<std::int64_t>> Wait(std::chrono::milliseconds timeout);

 private:
  explicit ChangeListener(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  Status Connect();
  std::string conninfo_;
  pg_conn* conn_ = nullptr;
};

}  // namespace vigil::store
