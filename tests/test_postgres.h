// A throwaway PostgreSQL database for a test: created on the server VIGIL_TEST_POSTGRES names
// (scripts/start-test-postgres starts one) and dropped afterwards. Without that variable the
// test is skipped, unless CI or VIGIL_REQUIRE_POSTGRES says a PostgreSQL run is required.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "vigil/store.h"

namespace vigil::testing {

class TestPostgres {
 public:
  TestPostgres() = default;
  ~TestPostgres();  // drops the database, if one was made
  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  // Creates a fresh database. Call from SetUp or a test body (it uses GTEST_SKIP / FAIL);
  // check IsSkipped()/HasFatalFailure() afterwards.
  void Create();
  // The libpq connection string of the fresh database.
  const std::string& url() const { return url_; }

 private:
  void AdminSql(const std::string& sql);
  std::string admin_, database_, url_;
};

enum class StoreBackend { kSqlite, kPostgres };

// A fresh store on `backend`: SQLite under `dir`, or a new database on the test PostgreSQL server
// made by `postgres` (kept for the test's life). Null, with the test skipped or failed, when it
// cannot be opened; call from SetUp and check HasFatalFailure()/IsSkipped().
std::unique_ptr<Store> OpenTestStore(StoreBackend backend, const std::filesystem::path& dir, TestPostgres& postgres,
                                     StoreOptions options = {});

}  // namespace vigil::testing
