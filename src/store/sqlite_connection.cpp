// The SQLite driver: one sqlite3 handle, prepared statements cached by SQL text, $N placeholders
// bound by name. WAL journal, synchronous=NORMAL (durable across process crashes; a power loss may
// lose the last transactions but never corrupts), foreign keys on, a busy timeout so that a second
// process (the CLI beside a running server) waits instead of failing.
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>

#include "store/sql_connection.h"

namespace vigil::store {
namespace {

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    ClearCache();
    sqlite3_close_v2(db_);
  }

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  Result<std::int64_t> Execute(std::string_view sql, const std::vector<SqlValue>& params) override {
    VIGIL_ASSIGN_OR_RETURN(auto stmt, Prepare(sql, params));
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Error(rc, sql);
    return static_cast<std::int64_t>(sqlite3_changes(db_));
  }

  Result<std::vector<SqlRow>> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    VIGIL_ASSIGN_OR_RETURN(auto stmt, Prepare(sql, params));
    std::vector<SqlRow> rows;
    const int columns = sqlite3_column_count(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::optional<std::string>> row(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) continue;
        const auto* text = sqlite3_column_text(stmt, c);
        const int size = sqlite3_column_bytes(stmt, c);
        row[static_cast<std::size_t>(c)] =
            std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
      }
      rows.emplace_back(std::move(row));
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return Error(rc, sql);
    return rows;
  }

  Status ExecuteScript(std::string_view sql) override {
    char* message = nullptr;
    const std::string text(sql);
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string error = message != nullptr ? message : "unknown error";
      sqlite3_free(message);
      return Fail(ErrorCode::kInternal, "sqlite: " + error);
    }
    return {};
  }

  bool Healthy() override { return true; }

 private:
  // A prepared statement and, for each $N, its SQLite parameter index (0: unused). SQLite numbers
  // named parameters by first appearance, and looking names up per bind is linear in their count.
  struct Prepared {
    sqlite3_stmt* stmt = nullptr;
    std::vector<int> index_of;  // [N - 1] -> index
  };

  void ClearCache() {
    for (auto& [sql, prepared] : cache_) sqlite3_finalize(prepared.stmt);
    cache_.clear();
  }

  Result<sqlite3_stmt*> Prepare(std::string_view sql, const std::vector<SqlValue>& params) {
    std::string key(sql);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      // Batched statements come in many sizes; keep the cache bounded.
      if (cache_.size() >= 256) ClearCache();
      Prepared prepared;
      if (sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT,
                             &prepared.stmt, nullptr) != SQLITE_OK) {
        return Error(sqlite3_errcode(db_), sql);
      }
      const int count = sqlite3_bind_parameter_count(prepared.stmt);
      for (int index = 1; index <= count; ++index) {
        const char* name = sqlite3_bind_parameter_name(prepared.stmt, index);
        if (name == nullptr || name[0] != '$') continue;
        const long n = std::strtol(name + 1, nullptr, 10);
        if (n <= 0 || n > 100'000) continue;
        if (prepared.index_of.size() < static_cast<std::size_t>(n)) prepared.index_of.resize(static_cast<std::size_t>(n));
        prepared.index_of[static_cast<std::size_t>(n - 1)] = index;
      }
      it = cache_.emplace(std::move(key), std::move(prepared)).first;
    }
    sqlite3_stmt* stmt = it->second.stmt;
    const auto& index_of = it->second.index_of;
    sqlite3_clear_bindings(stmt);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = i < index_of.size() ? index_of[i] : 0;
      if (index == 0) continue;  // parameter not used by this statement
      int rc = SQLITE_OK;
      if (const auto* number = std::get_if<std::int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(stmt, index, *number);
      } else if (const auto* text = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text64(stmt, index, text->data(), text->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt, index);
      }
      if (rc != SQLITE_OK) return Error(rc, sql);
    }
    return stmt;
  }

  tl::unexpected<vigil::Error> Error(int rc, std::string_view sql) const {
    const int primary = rc & 0xff;
    ErrorCode code = ErrorCode::kInternal;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) code = ErrorCode::kAlreadyExists;
    else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = ErrorCode::kUnavailable;
    else if (primary == SQLITE_FULL || primary == SQLITE_IOERR) code = ErrorCode::kIoError;
    else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) code = ErrorCode::kCorrupt;
    return Fail(code, std::string("sqlite: ") + sqlite3_errmsg(db_) + " (in: " +
                          std::string(sql.substr(0, 80)) + ")");
  }

  sqlite3* db_;
  std::unordered_map<std::string, Prepared> cache_;
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Fail(ErrorCode::kIoError, "cannot open SQLite database " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 10000);
  auto connection = std::make_unique<SqliteConnection>(db);
  if (auto status = connection->ExecuteScript(
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
      !status) {
    return Fail(ErrorCode::kIoError, path + ": " + status.error().message);
  }
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

}  // namespace vigil::store
