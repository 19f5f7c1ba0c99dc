// The store's insert rate for uploads that matched nothing, as stream workers write them: batches
// (CaseStore::RecordUnmatchedUploads, one transaction per batch, ids locked and looked up in both
// tables) against one transaction per upload (CaseStore::RecordUpload, what `POST /v1/content`
// does), from several writer threads at once, side by side in one run. Each run gets a fresh
// database (PostgreSQL: a new database on the server given; SQLite: a file). Prints a table.
//
//   store_insert_bench --postgres 'host=127.0.0.1 port=55432 user=postgres dbname=postgres'
//                      --uploads 20000 --threads 1,4 --batch 64      (one command line)
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "store/sql_connection.h"
#include "vigil/cases.h"
#include "vigil/store.h"

namespace {

using Clock = std::chrono::steady_clock;

vigil::ContentRecord Upload(std::int64_t i) {
  vigil::ContentRecord c;
  c.content_id = "bench-" + std::to_string(i);
  c.user_id = "user-" + std::to_string(i % 5000);
  c.media_type = "image/jpeg";
  c.byte_size = 250'000;
  char hex[65];
  std::snprintf(hex, sizeof hex, "%064llx", static_cast<unsigned long long>(i) * 0x9E3779B97F4A7C15ull);
  c.hashes = {{"sha256", hex}, {"md5", std::string(hex, 32)}, {"sha1", std::string(hex, 40)}, {"pdq", hex}};
  c.pdq_quality = 100;
  c.metadata_json = R"({"surface":"bench"})";
  return c;
}

// A fresh database for one run; its options.
vigil::Result<vigil::StoreOptions> FreshDatabase(const std::string& postgres, int run) {
  vigil::StoreOptions options;
  options.pool_size = 16;
  const std::string name = "vigil_insert_bench_" + std::to_string(run);
  if (postgres.empty()) {
    const auto path = std::filesystem::temp_directory_path() / (name + ".db");
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    options.sqlite_path = path.string();
    return options;
  }
  VIGIL_ASSIGN_OR_RETURN(auto admin, vigil::store::OpenPostgres(postgres));
  VIGIL_TRY(admin->Execute("DROP DATABASE IF EXISTS " + name));
  VIGIL_TRY(admin->Execute("CREATE DATABASE " + name));
  options.postgres_url = postgres + " dbname=" + name;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Insert rate of uploads that matched nothing: batches vs one transaction per upload"};
  std::string postgres;
  std::int64_t uploads = 20'000;
  std::string threads_text = "1,4";
  int batch = 64;
  app.add_option("--postgres", postgres, "A PostgreSQL server (libpq keywords); empty: SQLite");
  app.add_option("--uploads", uploads, "Uploads per run")->capture_default_str();
  app.add_option("--threads", threads_text, "Writer threads, comma-separated")->capture_default_str();
  app.add_option("--batch", batch, "Uploads per batch")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::printf("| backend | how | writers | uploads | seconds | uploads/s | vs one per transaction |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|\n");
  std::stringstream list(threads_text);
  int run = 0;
  for (std::string item; std::getline(list, item, ',');) {
    const int threads = std::stoi(item);
    double single_rate = 0;
    for (const bool batched : {false, true}) {
      auto options = FreshDatabase(postgres, run++);
      if (!options) return std::fprintf(stderr, "%s\n", options.error().ToString().c_str()), 1;
      auto store = vigil::Store::Open(*options);
      if (!store) return std::fprintf(stderr, "%s\n", store.error().ToString().c_str()), 1;
      if (auto made = (*store)->MaintainUploads({}); !made) return std::fprintf(stderr, "%s\n", made.error().ToString().c_str()), 1;
      std::atomic<std::int64_t> next{0};
      std::atomic<int> failures{0};
      const auto start = Clock::now();
      std::vector<std::thread> writers;
      for (int t = 0; t < threads; ++t) {
        writers.emplace_back([&] {
          auto& cases = (*store)->Cases();
          for (;;) {
            const std::int64_t first = next.fetch_add(batched ? batch : 1);
            if (first >= uploads) return;
            if (!batched) {
              if (!cases.RecordUpload(Upload(first), {}, "bench")) failures.fetch_add(1);
              continue;
            }
            std::vector<vigil::ContentRecord> contents;
            for (std::int64_t i = first; i < std::min<std::int64_t>(uploads, first + batch); ++i) contents.push_back(Upload(i));
            for (const auto& r : cases.RecordUnmatchedUploads(contents)) {
              if (!r) failures.fetch_add(1);
            }
          }
        });
      }
      for (auto& w : writers) w.join();
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (failures.load() != 0) return std::fprintf(stderr, "%d uploads failed\n", failures.load()), 1;
      const double rate = static_cast<double>(uploads) / seconds;
      if (!batched) single_rate = rate;
      std::printf("| %s | %s | %d | %lld | %.2f | %.0f | %.1fx |\n", postgres.empty() ? "sqlite" : "postgres",
                  batched ? ("batches of " + std::to_string(batch)).c_str() : "one per transaction", threads,
                  static_cast<long long>(uploads), seconds, rate, rate / single_rate);
      std::fflush(stdout);
    }
  }
  return 0;
}
