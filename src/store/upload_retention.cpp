// Daily partitions and retention of uploads that matched nothing (see upload_retention.h).
#include "store/upload_retention.h"

#include <chrono>
#include <cstdio>
#include <map>

#include "store/sql_content.h"

namespace vigil::store {
namespace {

constexpr std::int64_t kDayMicros = 86'400'000'000;
constexpr std::int64_t kMaintenanceLock = 7215002;

std::int64_t FloorDay(std::int64_t micros) {
  const std::int64_t day = micros / kDayMicros;
  return (micros % kDayMicros < 0 ? day - 1 : day);
}

// Accounts whose old uploads retention keeps (see the header).
constexpr const char* kHeldUsers =
    "(SELECT user_id FROM cases WHERE user_id <> '' UNION SELECT user_id FROM accounts WHERE user_id <> '' "
    "UNION SELECT user_id FROM actions WHERE user_id <> '')";
constexpr int kDeleteChunk = 50'000;

// Moves the rows of `table` matching `where` that belong to held accounts into `content`; returns
// how many. Under the step's locks no account becomes held meanwhile.
Result<std::int64_t> KeepHeldOn(SqlConnection& db, const std::string& table, const std::string& where) {
  const std::string held = " WHERE " + where + " AND user_id IN " + kHeldUsers;
  VIGIL_ASSIGN_OR_RETURN(auto kept, db.Execute(std::string("INSERT INTO content (") + kUploadRecordColumns + ") SELECT " +
                                                kUploadRecordColumns + " FROM " + table + held +
                                                " ON CONFLICT (content_id) DO NOTHING"));
  VIGIL_TRY(db.Execute("DELETE FROM " + table + held));
  return kept;
}

// What a maintenance step does, for the locks it takes.
enum class Step {
  kCreatePartition,  // moves a day's rows out of the default partition: decides nothing about accounts
  kDropPartition,    // keeps held accounts' rows of an old day, drops the rest
  kDeleteRows,       // the same, row by row, in the default partition (or SQLite's one table)
};

// Starts a maintenance step: a transaction holding the maintenance lock, or nullopt when another
// replica holds it. Locks are taken in the order an upload's recording takes them (uploads, then
// cases): a recording inserts its upload and then opens its case, so a step that held the cases
// and then waited for the uploads table deadlocked with it (seen: "deadlock detected" on INSERT
// INTO cases while a partition was made).
Result<std::optional<SqlTransaction>> StartStep(SqlConnection& db, Step step) {
  VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(db));
  if (db.dialect() == SqlDialect::kPostgres) {
    VIGIL_ASSIGN_OR_RETURN(auto got, db.Query("SELECT pg_try_advisory_xact_lock($1)::int",
                                              {std::int64_t{kMaintenanceLock}}));
    if (got.at(0).Int(0) == 0) return std::optional<SqlTransaction>();
    VIGIL_TRY(db.Execute("SET LOCAL lock_timeout = '2s'"));
    if (step == Step::kCreatePartition) return std::optional<SqlTransaction>(std::move(txn));
    // Dropping a partition takes the uploads table whole: first, before the cases.
    if (step == Step::kDropPartition) VIGIL_TRY(db.Execute("LOCK TABLE uploads IN ACCESS EXCLUSIVE MODE"));
    // No account becomes held (a case, an action, an account state) while a step decides whose
    // old uploads to keep: those writes wait for the step's commit (a step is short).
    VIGIL_TRY(db.Execute("LOCK TABLE cases, accounts, actions IN SHARE MODE"));
  }
  return std::optional<SqlTransaction>(std::move(txn));
}

// Partition name -> its bounds as PostgreSQL prints them.
Result<std::map<std::string, std::string>> PartitionsOn(SqlConnection& db) {
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                                             "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'uploads'::regclass"));
  std::map<std::string, std::string> out;
  for (const auto& row : rows) out.emplace(row.Text(0), row.Text(1));
  return out;
}

std::string BoundsOf(std::int64_t day_start) {
  return "FOR VALUES FROM ('" + std::to_string(day_start) + "') TO ('" + std::to_string(day_start + kDayMicros) + "')";
}

Status CreatePartitionOn(SqlConnection& db, std::int64_t day_start, const std::string& name) {
  const std::string from = std::to_string(day_start), to = std::to_string(day_start + kDayMicros);
  const std::string range = "submitted_at >= " + from + " AND submitted_at < " + to;
  VIGIL_TRY(db.Execute("CREATE TABLE " + name + " (LIKE uploads INCLUDING DEFAULTS)"));
  // Rows of that day that reached the default partition first (ATTACH would refuse them there).
  VIGIL_TRY(db.Execute("INSERT INTO " + name + " SELECT * FROM uploads_default WHERE " + range));
  VIGIL_TRY(db.Execute("DELETE FROM uploads_default WHERE " + range));
  VIGIL_TRY(db.Execute("ALTER TABLE uploads ATTACH PARTITION " + name + " FOR VALUES FROM (" + from + ") TO (" + to + ")"));
  return {};
}

Result<std::int64_t> EstimatedRowsOn(SqlConnection& db, const std::string& table) {
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", {table}));
  if (!rows.empty() && rows[0].Int(0) >= 0) return rows[0].Int(0);
  VIGIL_ASSIGN_OR_RETURN(auto counted, db.Query("SELECT COUNT(*) FROM " + table));  // never analysed: small
  return counted.at(0).Int(0);
}

UploadMaintenance Skipped() {
  UploadMaintenance report;
  report.skipped = true;
  return report;
}

}  // namespace

std::string UploadPartitionName(std::int64_t micros) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{FloorDay(micros)}}};
  char name[40];
  std::snprintf(name, sizeof name, "uploads_p%04d%02u%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return name;
}

std::optional<std::int64_t> UploadPartitionStart(std::string_view name) {
  constexpr std::string_view kPrefix = "uploads_p";
  if (name.size() != kPrefix.size() + 8 || name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  int digits[8];
  for (std::size_t i = 0; i < 8; ++i) {
    const char c = name[kPrefix.size() + i];
    if (c < '0' || c > '9') return std::nullopt;
    digits[i] = c - '0';
  }
  const std::chrono::year_month_day ymd{
      std::chrono::year{digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]},
      std::chrono::month{static_cast<unsigned>(digits[4] * 10 + digits[5])},
      std::chrono::day{static_cast<unsigned>(digits[6] * 10 + digits[7])}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count() * kDayMicros;
}

Result<std::vector<UploadPartition>> ListUploadPartitionsOn(SqlConnection& db) {
  std::vector<UploadPartition> out;
  if (db.dialect() == SqlDialect::kSqlite) {
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT COUNT(*) FROM uploads"));
    out.push_back({"uploads", 0, 0, rows.at(0).Int(0)});
    return out;
  }
  VIGIL_ASSIGN_OR_RETURN(auto partitions, PartitionsOn(db));
  for (const auto& [name, bounds] : partitions) {
    UploadPartition p{name, 0, 0, 0};
    // The bounds as PostgreSQL has them (not as the name says: a partition made by hand may differ).
    long long from = 0, to = 0;
    if (std::sscanf(bounds.c_str(), "FOR VALUES FROM ('%lld') TO ('%lld')", &from, &to) == 2) {
      p.from = from;
      p.to = to;
    }
    VIGIL_ASSIGN_OR_RETURN(p.rows, EstimatedRowsOn(db, name));
    out.push_back(std::move(p));
  }
  return out;
}

Status CheckClockOn(SqlConnection& db, const Clock& clock) {
  if (db.dialect() != SqlDialect::kPostgres) return {};
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint"));
  const std::int64_t skew = clock.NowMicros() - rows.at(0).Int(0);
  constexpr std::int64_t kTolerance = 600'000'000;
  if (skew > kTolerance || skew < -kTolerance) {
    return Fail(ErrorCode::kInvalidArgument,
                "this host's clock is " + std::to_string((skew < 0 ? -skew : skew) / 1'000'000) + " s " +
                    (skew < 0 ? "behind" : "ahead of") +
                    " the database server's: set it right (NTP) first; records would carry wrong times and retention "
                    "would remove the wrong uploads");
  }
  return {};
}

Result<UploadMaintenance> MaintainUploadsOn(SqlConnection& db, std::int64_t now, const UploadRetention& retention) {
  UploadMaintenance report;
  const bool postgres = db.dialect() == SqlDialect::kPostgres;
  const std::int64_t cutoff = now - std::int64_t{retention.keep_days} * kDayMicros;
  if (postgres) {
    VIGIL_ASSIGN_OR_RETURN(auto partitions, PartitionsOn(db));
    const std::int64_t today = FloorDay(now) * kDayMicros;
    for (int ahead = 0; ahead <= std::max(0, retention.partitions_ahead_days); ++ahead) {
      const std::int64_t start = today + ahead * kDayMicros;
      const std::string name = UploadPartitionName(start);
      if (partitions.contains(name)) continue;
      VIGIL_ASSIGN_OR_RETURN(auto step, StartStep(db, Step::kCreatePartition));
      if (!step) return Skipped();
      VIGIL_ASSIGN_OR_RETURN(auto fresh, PartitionsOn(db));  // another replica may have made it meanwhile
      if (!fresh.contains(name)) {
        VIGIL_TRY(CreatePartitionOn(db, start, name));
        report.partitions_created.push_back(name);
      }
      VIGIL_TRY(step->Commit());
    }
    if (retention.keep_days > 0) {
      for (const auto& [name, bounds] : partitions) {
        const auto start = UploadPartitionStart(name);
        if (!start || *start + kDayMicros > cutoff) continue;
        if (bounds != BoundsOf(*start)) {
          // Not one this maintenance made: its name says one day, its bounds another.
          report.warnings.push_back(name + " is not dropped: its bounds (" + bounds + ") are not its name's day");
          continue;
        }
        VIGIL_ASSIGN_OR_RETURN(auto step, StartStep(db, Step::kDropPartition));
        if (!step) return Skipped();
        VIGIL_ASSIGN_OR_RETURN(auto rows, EstimatedRowsOn(db, name));
        VIGIL_ASSIGN_OR_RETURN(auto kept, KeepHeldOn(db, name, "TRUE"));
        VIGIL_TRY(db.Execute("DROP TABLE " + name));
        VIGIL_TRY(step->Commit());
        report.partitions_dropped.push_back(name);
        report.uploads_kept += kept;
        report.uploads_removed += std::max<std::int64_t>(0, rows - kept);
      }
    }
  }
  if (retention.keep_days > 0) {
    // Row by row (SQLite's one table, PostgreSQL's default partition), in chunks, each its own
    // short step: held accounts' rows moved first, then a chunk of the rest deleted.
    const std::string table = postgres ? "uploads_default" : "uploads";
    const std::string old = "submitted_at < " + std::to_string(cutoff);
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(auto step, StartStep(db, Step::kDeleteRows));
      if (!step) return Skipped();
      VIGIL_ASSIGN_OR_RETURN(auto kept, KeepHeldOn(db, table, old));
      VIGIL_ASSIGN_OR_RETURN(auto removed, db.Execute("DELETE FROM " + table + " WHERE row_id IN (SELECT row_id FROM " +
                                                      table + " WHERE " + old + " LIMIT " +
                                                      std::to_string(kDeleteChunk) + ")"));
      VIGIL_TRY(step->Commit());
      report.uploads_kept += kept;
      report.uploads_removed += removed;
      if (removed < kDeleteChunk) break;
    }
  }
  VIGIL_ASSIGN_OR_RETURN(report.partitions, ListUploadPartitionsOn(db));
  return report;
}

}  // namespace vigil::store
