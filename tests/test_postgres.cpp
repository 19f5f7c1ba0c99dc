// Throwaway PostgreSQL databases for the store and service suites (see test_postgres.h).
#include "test_postgres.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace vigil::testing {

void TestPostgres::Create() {
  const char* admin = std::getenv("VIGIL_TEST_POSTGRES");
  if (admin == nullptr || *admin == '\0') {
    if (std::getenv("CI") != nullptr || std::getenv("VIGIL_REQUIRE_POSTGRES") != nullptr) {
      FAIL() << "VIGIL_TEST_POSTGRES is not set but a PostgreSQL run is required";
    }
    GTEST_SKIP() << "VIGIL_TEST_POSTGRES not set (scripts/start-test-postgres starts a server)";
  }
  static std::atomic<int> counter{0};
  admin_ = admin;
  database_ = "vigil_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  AdminSql("DROP DATABASE IF EXISTS " + database_);
  AdminSql("CREATE DATABASE " + database_);
  url_ = admin_ + " dbname=" + database_;
}

TestPostgres::~TestPostgres() {
  if (!database_.empty()) AdminSql("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
}

void TestPostgres::AdminSql(const std::string& sql) {
  PGconn* conn = PQconnectdb(admin_.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* result = PQexec(conn, sql.c_str());
  EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
}

std::unique_ptr<Store> OpenTestStore(StoreBackend backend, const std::filesystem::path& dir, TestPostgres& postgres,
                                     StoreOptions options) {
  if (backend == StoreBackend::kPostgres) {
    postgres.Create();
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return nullptr;
    options.postgres_url = postgres.url();
  } else {
    options.sqlite_path = (dir / "vigil.db").string();
  }
  auto store = Store::Open(options);
  EXPECT_TRUE(store) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

}  // namespace vigil::testing
