// The PostgreSQL driver over libpq: PQexecParams with text parameters and results, so the same
// $N statements run here and on SQLite. Unique violations (SQLSTATE 23505) map to kAlreadyExists,
// connection loss to kUnavailable.
#include <libpq-fe.h>

#include <cstring>
#include <memory>

#include "store/sql_connection.h"

namespace vigil::store {
namespace {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

class PostgresConnection final : public SqlConnection {
 public:
  explicit PostgresConnection(PGconn* conn) : conn_(conn) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  Result<std::int64_t> Execute(std::string_view sql, const std::vector<SqlValue>& params) override {
    VIGIL_ASSIGN_OR_RETURN(auto result, Run(sql, params));
    const char* tuples = PQcmdTuples(result.get());
    return tuples[0] == '\0' ? 0 : std::stoll(tuples);
  }

  Result<std::vector<SqlRow>> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    VIGIL_ASSIGN_OR_RETURN(auto result, Run(sql, params));
    PGresult* res = result.get();
    const int count = PQntuples(res);
    const int columns = PQnfields(res);
    std::vector<SqlRow> rows;
    rows.reserve(static_cast<std::size_t>(count));
    for (int r = 0; r < count; ++r) {
      std::vector<std::optional<std::string>> row(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(res, r, c)) continue;
        row[static_cast<std::size_t>(c)] =
            std::string(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c)));
      }
      rows.emplace_back(std::move(row));
    }
    return rows;
  }

  Status ExecuteScript(std::string_view sql) override {
    const std::string text(sql);
    PgResult result(PQexec(conn_, text.c_str()));
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return Error(result.get(), sql);
    return {};
  }

  bool Healthy() override {
    if (PQstatus(conn_) == CONNECTION_OK) return true;
    PQreset(conn_);
    return PQstatus(conn_) == CONNECTION_OK;
  }

 private:
  Result<PgResult> Run(std::string_view sql, const std::vector<SqlValue>& params) {
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* number = std::get_if<std::int64_t>(&params[i])) {
        storage[i] = std::to_string(*number);
        values[i] = storage[i].c_str();
      } else if (const auto* text = std::get_if<std::string>(&params[i])) {
        values[i] = text->c_str();
      }
    }
    const std::string text(sql);
    PgResult result(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0));
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return Error(result.get(), sql);
    }
    return result;
  }

  tl::unexpected<vigil::Error> Error(PGresult* result, std::string_view sql) const {
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    ErrorCode code = ErrorCode::kInternal;
    if (PQstatus(conn_) != CONNECTION_OK) code = ErrorCode::kUnavailable;
    else if (state != nullptr && std::strcmp(state, "23505") == 0) code = ErrorCode::kAlreadyExists;
    // Worth trying again, later or elsewhere: serialization failures and deadlocks (40), lost or
    // refused connections (08), too many connections or no disk (53), the server shutting down or
    // starting (57P), a write to a server that is (now) a read-only standby, as in a failover (25006).
    else if (state != nullptr && (std::strncmp(state, "40", 2) == 0 || std::strncmp(state, "08", 2) == 0 ||
                                  std::strncmp(state, "53", 2) == 0 || std::strncmp(state, "57P", 3) == 0 ||
                                  std::strcmp(state, "25006") == 0)) {
      code = ErrorCode::kUnavailable;
    }
    std::string message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return Fail(code, "postgres: " + message + " (in: " + std::string(sql.substr(0, 80)) + ")");
  }

  PGconn* conn_;
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> OpenPostgres(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return Fail(ErrorCode::kResourceExhausted, "postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Fail(ErrorCode::kUnavailable, "cannot connect to PostgreSQL: " + message);
  }
  auto connection = std::make_unique<PostgresConnection>(conn);
  if (auto status = connection->ExecuteScript("SET client_min_messages = warning"); !status) {
    return tl::unexpected(status.error());
  }
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

}  // namespace vigil::store
