// A narrow SQL connection interface with two drivers (SQLite and PostgreSQL), so the store's logic
// and schema are written once. Statements use PostgreSQL-style placeholders ($1, $2, ...) on both;
// schema text may use {{ID}} for the auto-increment primary key column, which each driver expands.
// A connection is used by one thread at a time (the pool hands it out).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vigil/status.h"

namespace vigil::store {

// A bound parameter: NULL, an integer or text.
using SqlValue = std::variant<std::monostate, std::int64_t, std::string>;

// One result row; columns in SELECT order. Text for every non-NULL column (PostgreSQL's text
// protocol), converted on access.
class SqlRow {
 public:
  explicit SqlRow(std::vector<std::optional<std::string>> columns) : columns_(std::move(columns)) {}
  bool IsNull(std::size_t i) const { return !columns_.at(i).has_value(); }
  const std::string& Text(std::size_t i) const;       // "" when NULL
  std::int64_t Int(std::size_t i) const;              // 0 when NULL
  std::optional<std::int64_t> OptInt(std::size_t i) const;
  std::optional<std::string> OptText(std::size_t i) const { return columns_.at(i); }
  std::size_t size() const { return columns_.size(); }

 private:
  std::vector<std::optional<std::string>> columns_;
};

enum class SqlDialect { kSqlite, kPostgres };

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual SqlDialect dialect() const = 0;
  // Runs one statement; returns the number of rows it changed. A unique-constraint violation
  // comes back as kAlreadyExists, a lost connection as kUnavailable.
  virtual Result<std::int64_t> Execute(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  virtual Result<std::vector<SqlRow>> Query(std::string_view sql,
                                            const std::vector<SqlValue>& params = {}) = 0;
  // Runs a script of several statements without parameters (schema migrations).
  virtual Status ExecuteScript(std::string_view sql) = 0;
  // Whether the connection is still usable (PostgreSQL may drop it).
  virtual bool Healthy() = 0;
};

// Opens a SQLite database file (created if missing) in WAL mode with foreign keys on.
Result<std::unique_ptr<SqlConnection>> OpenSqlite(const std::string& path);
// Opens a PostgreSQL connection from a libpq connection string or URI.
Result<std::unique_ptr<SqlConnection>> OpenPostgres(const std::string& conninfo);

// Expands {{ID}} (the auto-increment key) and keeps {{POSTGRES}}...{{END}} / {{SQLITE}}...{{END}}
// blocks for their dialect only, in schema text.
std::string ExpandDialect(std::string_view sql, SqlDialect dialect);

// RAII transaction: BEGIN on Start, ROLLBACK on destruction unless Commit succeeded.
class SqlTransaction {
 public:
  static Result<SqlTransaction> Start(SqlConnection& connection);
  SqlTransaction(SqlTransaction&& other) noexcept : connection_(other.connection_) { other.connection_ = nullptr; }
  SqlTransaction& operator=(SqlTransaction&&) = delete;
  ~SqlTransaction();
  Status Commit();

 private:
  explicit SqlTransaction(SqlConnection* connection) : connection_(connection) {}
  SqlConnection* connection_;
};

}  // namespace vigil::store
