// The Store over the SQL layer: one implementation for SQLite and PostgreSQL. Every mutating
// call runs in one transaction on a pooled connection; imports are serialised (SQLite has one
// writer anyway; on PostgreSQL a table lock keeps entry ids committing in order, which the
// matcher's incremental refresh relies on).
#include <cmath>
#include <sys/stat.h>

#include <openssl/rand.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <unordered_set>

#include "store/audit_chain.h"
#include "store/change_notifications.h"
#include "store/bank_import.h"
#include "store/sql_case_store.h"
#include "store/sql_report_store.h"
#include "store/sql_sharing_store.h"
#include "store/sql_exchange_store.h"
#include "store/sql_event_store.h"
#include "store/sql_queue_store.h"
#include "store/sql_wellness_store.h"
#include "store/sql_session_store.h"
#include "store/connection_pool.h"
#include "store/record_names.h"
#include "store/schema.h"
#include "store/sql_connection.h"
#include "store/sql_content.h"
#include "store/upload_retention.h"
#include "vigil/cases.h"
#include "vigil/clock.h"
#include "vigil/digest.h"
#include "vigil/signal_type.h"
#include "vigil/store.h"

namespace vigil {

namespace store {
namespace {

using Params = std::vector<SqlValue>;

Status CheckBankName(const std::string& name) {
  if (!ValidRecordName(name)) {
    return Fail(ErrorCode::kInvalidArgument,
                "bank name must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit");
  }
  return {};
}

// A category id as the taxonomy spells them ("" : none).
Status CheckCategory(const std::string& category) {
  const bool ok = category.size() <= 32 && std::all_of(category.begin(), category.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                  });
  if (!ok) return Fail(ErrorCode::kInvalidArgument, "category must be 0-32 of [a-z0-9_-] (a taxonomy id such as csam)");
  return {};
}

Status CheckThresholds(int distance, int quality) {
  // Unrelated images lie about 128 bits apart (PDQ's 256 bits disagree half the time); a threshold
  // near that matches everything. 63 is already far past any useful one (the reference uses 31).
  if (distance < 0 || distance > kMaxPdqDistance) {
    return Fail(ErrorCode::kInvalidArgument, "pdq_max_distance must be within 0.." + std::to_string(kMaxPdqDistance) +
                                                 " (unrelated images lie about 128 apart; the reference threshold is 31)");
  }
  if (quality < 0 || quality > 100) return Fail(ErrorCode::kInvalidArgument, "pdq_min_quality must be within 0..100");
  return {};
}

std::string LabelsToJson(const std::vector<std::string>& labels) {
  boost::json::array array;
  for (const auto& label : labels) array.emplace_back(label);
  return boost::json::serialize(array);
}

std::vector<std::string> LabelsFromJson(const std::string& text) {
  std::vector<std::string> labels;
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return labels;
  for (const auto& item : value.as_array()) {
    if (item.is_string()) labels.emplace_back(item.as_string());
  }
  return labels;
}

constexpr const char* kBankColumns =
    "b.id, b.name, b.description, b.labels, b.enabled, b.pdq_max_distance, b.pdq_min_quality, "
    "b.sync_checkpoint, b.created_at, b.updated_at, "
    "(SELECT COUNT(*) FROM bank_entries e WHERE e.bank_id = b.id AND e.removed_at IS NULL), "
    "b.match_dihedral, b.match_trimmed, b.category, b.negative, b.enabled_ratio_ppm";

// A bank's enabled_ratio as stored: whole millionths (portable across SQLite and PostgreSQL).
std::int64_t RatioPpm(double ratio) { return static_cast<std::int64_t>(std::llround(ratio * 1e6)); }

Status CheckRatio(double ratio) {
  if (!(ratio >= 0 && ratio <= 1)) return Fail(ErrorCode::kInvalidArgument, "enabled_ratio must be between 0 and 1");
  return {};
}

Bank BankFromRow(const SqlRow& row) {
  Bank bank;
  bank.id = row.Int(0);
  bank.name = row.Text(1);
  bank.description = row.Text(2);
  bank.labels = LabelsFromJson(row.Text(3));
  bank.enabled = row.Int(4) != 0;
  bank.pdq_max_distance = static_cast<int>(row.Int(5));
  bank.pdq_min_quality = static_cast<int>(row.Int(6));
  bank.sync_checkpoint = row.OptText(7);
  bank.created_at = row.Int(8);
  bank.updated_at = row.Int(9);
  bank.live_entries = row.Int(10);
  bank.match_dihedral = row.Int(11) != 0;
  bank.match_trimmed = row.Int(12) != 0;
  bank.category = row.Text(13);
  bank.negative = row.Int(14) != 0;
  bank.enabled_ratio = static_cast<double>(row.Int(15)) / 1e6;
  return bank;
}

constexpr const char* kEntryColumns =
    "id, bank_id, signal_type, value, source, member, external_id, classification, added_at, removed_at, payload, "
    "listed_at";

BankEntry EntryFromRow(const SqlRow& row) {
  BankEntry entry;
  entry.id = row.Int(0);
  entry.bank_id = row.Int(1);
  entry.signal_type = row.Text(2);
  entry.value = row.Text(3);
  entry.provenance = {row.Text(4), row.Text(5), row.Text(6), row.Text(7)};
  entry.added_at = row.Int(8);
  entry.removed_at = row.OptInt(9);
  entry.payload = row.Text(10);
  entry.listed_at = row.OptInt(11);
  return entry;
}

class SqlStore final : public Store {
 public:
  SqlStore(std::vector<std::unique_ptr<SqlConnection>> connections, SqlDialect dialect, const StoreOptions& options)
      : pool_(std::move(connections)),
        dialect_(dialect),
        sqlite_path_(options.sqlite_path),
        clock_(options.clock != nullptr ? options.clock : &SystemClock()),
        uses_system_clock_(options.clock == nullptr),
        cases_(MakeSqlCaseStore(pool_, *clock_, options.workflow)),
        reports_(MakeSqlReportStore(pool_, *clock_)),
        sharing_(MakeSqlSharingStore(pool_, *clock_)),
        exchanges_(MakeSqlExchangeStore(pool_, *clock_)),
        events_(MakeSqlEventStore(pool_, *clock_)),
        queues_(MakeSqlQueueStore(pool_, *clock_)),
        wellness_(MakeSqlWellnessStore(pool_)),
        sessions_(MakeSqlSessionStore(pool_)) {}

  CaseStore& Cases() override { return *cases_; }
  ReportStore& Reports() override { return *reports_; }
  SharingStore& Sharing() override { return *sharing_; }
  ExchangeStore& Exchanges() override { return *exchanges_; }
  EventStore& Events() override { return *events_; }
  QueueStore& Queues() override { return *queues_; }
  WellnessStore& Wellness() override { return *wellness_; }
  SessionStore& Sessions() override { return *sessions_; }

  std::string backend() const override { return dialect_ == SqlDialect::kSqlite ? "sqlite" : "postgres"; }

  Result<int> SchemaVersion() override {
    auto db = pool_.Acquire();
    return CurrentSchemaVersion(*db);
  }

  Result<std::vector<std::string>> CheckIntegrity() override {
    auto db = pool_.Acquire();
    std::vector<std::string> problems;
    if (dialect_ == SqlDialect::kSqlite) {
      VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("PRAGMA integrity_check"));
      for (const auto& row : rows) {
        if (row.Text(0) != "ok") problems.push_back("sqlite: " + row.Text(0));
      }
      VIGIL_ASSIGN_OR_RETURN(auto fk, db->Query("PRAGMA foreign_key_check"));
      if (!fk.empty()) problems.push_back("sqlite: " + std::to_string(fk.size()) + " foreign key violations");
    }
    struct Check {
      const char* what;
      const char* sql;
    };
    static constexpr Check kChecks[] = {
        {"live duplicate entries",
         "SELECT COUNT(*) FROM (SELECT bank_id, signal_type, value FROM bank_entries WHERE removed_at IS NULL "
         "GROUP BY bank_id, signal_type, value HAVING COUNT(*) > 1) d"},
        {"entries without a bank",
         "SELECT COUNT(*) FROM bank_entries e LEFT JOIN banks b ON b.id = e.bank_id WHERE b.id IS NULL"},
        {"entries from an import that never committed",
         "SELECT COUNT(*) FROM bank_entries e JOIN imports i ON i.id = e.import_id WHERE i.status <> 'applied'"},
        {"applied imports whose counts disagree with their entries",
         "SELECT COUNT(*) FROM imports i WHERE i.status = 'applied' AND i.added < "
         "(SELECT COUNT(*) FROM bank_entries e WHERE e.import_id = i.id)"},
        {"matches naming a missing entry or content",
         "SELECT COUNT(*) FROM matches m LEFT JOIN bank_entries e ON e.id = m.entry_id "
         "LEFT JOIN content c ON c.id = m.content_row WHERE e.id IS NULL OR c.id IS NULL"},
        // Each matched upload's policy outcome is committed with it (schema 7 on): one without was
        // recorded by an older version whose policy step could fail after the upload committed.
        {"matched uploads without their policy outcome (recorded before schema 7, or half-written)",
         "SELECT COUNT(*) FROM content c WHERE c.outcome IS NULL AND EXISTS (SELECT 1 FROM matches m WHERE "
         "m.content_row = c.id)"},
        {"uploads whose outcome opened a case they are not in",
         "SELECT COUNT(*) FROM content c WHERE c.outcome LIKE '%\"case_id\":%' AND c.outcome NOT LIKE "
         "'%\"case_id\":null%' AND NOT EXISTS (SELECT 1 FROM case_items i WHERE i.content_row = c.id)"},
        {"content ids recorded twice (uploads: one per id, and never also in content)",
         "SELECT (SELECT COUNT(*) FROM (SELECT content_id FROM uploads GROUP BY content_id HAVING COUNT(*) > 1) d) + "
         "(SELECT COUNT(*) FROM uploads u JOIN content c ON c.content_id = u.content_id)"},
        {"actions appealed twice",
         "SELECT COUNT(*) FROM (SELECT action_id FROM appeal_actions GROUP BY action_id HAVING COUNT(*) > 1) d"},
    };
    for (const auto& check : kChecks) {
      VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(check.sql));
      if (const auto count = rows.at(0).Int(0); count != 0) {
        problems.push_back(std::string(check.what) + ": " + std::to_string(count));
      }
    }
    return problems;
  }

  // ---- banks ----

  Result<Bank> CreateBank(const Bank& bank, const std::string& actor) override {
    VIGIL_TRY(CheckBankName(bank.name));
    VIGIL_TRY(CheckRatio(bank.enabled_ratio));
    VIGIL_TRY(CheckThresholds(bank.pdq_max_distance, bank.pdq_min_quality));
    VIGIL_TRY(CheckCategory(bank.category));
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
    const auto now = Now();
    auto inserted = db->Query(
        "INSERT INTO banks (name, description, labels, enabled, pdq_max_distance, pdq_min_quality, created_at, "
        "updated_at, match_dihedral, match_trimmed, category, negative, enabled_ratio_ppm) VALUES ($1, $2, $3, $4, $5, "
        "$6, $7, $7, $8, $9, $10, $11, $12) RETURNING id",
        {bank.name, bank.description, LabelsToJson(bank.labels), std::int64_t{bank.enabled ? 1 : 0},
         std::int64_t{bank.pdq_max_distance}, std::int64_t{bank.pdq_min_quality}, now,
         std::int64_t{bank.match_dihedral ? 1 : 0}, std::int64_t{bank.match_trimmed ? 1 : 0}, bank.category,
         std::int64_t{bank.negative ? 1 : 0}, RatioPpm(bank.enabled_ratio)});
    if (!inserted) {
      if (inserted.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists, "a bank named '" + bank.name + "' already exists");
      }
      return tl::unexpected(inserted.error());
    }
    VIGIL_TRY(AuditOn(*db, actor, "bank.create", bank.name, ""));
    VIGIL_TRY(transaction.Commit());
    return GetBankOn(*db, bank.name);
  }

  Result<std::vector<Bank>> ListBanks() override {
    auto db = pool_.Acquire();
    auto rows = db->Query(std::string("SELECT ") + kBankColumns +
                          " FROM banks b WHERE b.deleted_at IS NULL ORDER BY b.name");
    if (!rows) return tl::unexpected(rows.error());
    std::vector<Bank> banks;
    for (const auto& row : *rows) banks.push_back(BankFromRow(row));
    return banks;
  }

  Result<Bank> GetBank(const std::string& name) override {
    auto db = pool_.Acquire();
    return GetBankOn(*db, name);
  }

  Result<Bank> UpdateBank(const std::string& name, const BankUpdate& update, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
    auto bank = GetBankOn(*db, name);
    if (!bank) return bank;
    if (update.description) bank->description = *update.description;
    if (update.labels) bank->labels = *update.labels;
    if (update.category) bank->category = *update.category;
    if (update.enabled) bank->enabled = *update.enabled;
    if (update.enabled_ratio) {
      VIGIL_TRY(CheckRatio(*update.enabled_ratio));
      bank->enabled_ratio = *update.enabled_ratio;
    }
    if (update.pdq_max_distance) bank->pdq_max_distance = *update.pdq_max_distance;
    if (update.pdq_min_quality) bank->pdq_min_quality = *update.pdq_min_quality;
    if (update.match_dihedral) bank->match_dihedral = *update.match_dihedral;
    if (update.match_trimmed) bank->match_trimmed = *update.match_trimmed;
    VIGIL_TRY(CheckThresholds(bank->pdq_max_distance, bank->pdq_min_quality));
    VIGIL_TRY(CheckCategory(bank->category));
    VIGIL_TRY(db->Execute(
        "UPDATE banks SET description = $1, labels = $2, enabled = $3, pdq_max_distance = $4, "
        "pdq_min_quality = $5, updated_at = $6, match_dihedral = $7, match_trimmed = $8, category = $9, "
        "enabled_ratio_ppm = $10 WHERE id = $11",
        {bank->description, LabelsToJson(bank->labels), std::int64_t{bank->enabled ? 1 : 0},
         std::int64_t{bank->pdq_max_distance}, std::int64_t{bank->pdq_min_quality}, Now(),
         std::int64_t{bank->match_dihedral ? 1 : 0}, std::int64_t{bank->match_trimmed ? 1 : 0}, bank->category,
         RatioPpm(bank->enabled_ratio), bank->id}));
    boost::json::object detail;
    if (update.enabled) detail["enabled"] = *update.enabled;
    if (update.enabled_ratio) detail["enabled_ratio"] = *update.enabled_ratio;
    if (update.pdq_max_distance) detail["pdq_max_distance"] = *update.pdq_max_distance;
    if (update.pdq_min_quality) detail["pdq_min_quality"] = *update.pdq_min_quality;
    if (update.match_dihedral) detail["match_dihedral"] = *update.match_dihedral;
    if (update.match_trimmed) detail["match_trimmed"] = *update.match_trimmed;
    if (update.description) detail["description"] = *update.description;
    if (update.category) detail["category"] = *update.category;
    if (update.labels) detail["labels"] = boost::json::parse(LabelsToJson(*update.labels));
    VIGIL_TRY(AuditOn(*db, actor, "bank.update", name, boost::json::serialize(detail)));
    VIGIL_TRY(transaction.Commit());
    return GetBankOn(*db, name);
  }

  Status DeleteBank(const std::string& name, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto keeper, db->Query("SELECT x.name FROM exchanges x JOIN banks b ON b.id = x.bank_id "
                                                  "WHERE b.name = $1 AND b.deleted_at IS NULL",
                                                  {name}));
    if (!keeper.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "bank '" + name + "' is kept in sync by exchange '" + keeper.front().Text(0) +
                                                   "': remove the exchange first");
    }
    auto changed = db->Execute("UPDATE banks SET deleted_at = $1, updated_at = $1, enabled = 0 "
                               "WHERE name = $2 AND deleted_at IS NULL",
                               {Now(), name});
    if (!changed) return tl::unexpected(changed.error());
    if (*changed == 0) return Fail(ErrorCode::kNotFound, "no bank named '" + name + "'");
    VIGIL_TRY(AuditOn(*db, actor, "bank.delete", name, ""));
    return transaction.Commit();
  }

  Result<std::vector<BankEntry>> ListEntries(const std::string& bank_name, std::int64_t after_id, int limit,
                                             bool include_removed) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto bank, GetBankOn(*db, bank_name));
    std::string sql = std::string("SELECT ") + kEntryColumns + " FROM bank_entries WHERE bank_id = $1 AND id > $2";
    if (!include_removed) sql += " AND removed_at IS NULL";
    sql += " ORDER BY id LIMIT $3";
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(sql, {bank.id, after_id, std::int64_t{limit}}));
    std::vector<BankEntry> entries;
    entries.reserve(rows.size());
    for (const auto& row : rows) entries.push_back(EntryFromRow(row));
    return entries;
  }

  Result<std::vector<BankEntry>> SearchEntries(const std::string& bank_name, const EntrySearch& search) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto bank, GetBankOn(*db, bank_name));
    std::string sql = std::string("SELECT ") + kEntryColumns + " FROM bank_entries WHERE bank_id = $1 AND id > $2";
    std::vector<SqlValue> params{bank.id, search.after_id};
    auto equal = [&](const char* column, const std::string& value) {
      if (value.empty()) return;
      params.emplace_back(value);
      sql += std::string(" AND ") + column + " = $" + std::to_string(params.size());
    };
    equal("value", search.value);
    equal("external_id", search.external_id);
    equal("classification", search.classification);
    if (!search.include_removed) sql += " AND removed_at IS NULL";
    sql += " ORDER BY id LIMIT " + std::to_string(std::clamp(search.limit, 1, 10000));
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(sql, params));
    std::vector<BankEntry> entries;
    for (const auto& row : rows) entries.push_back(EntryFromRow(row));
    return entries;
  }

  // ---- imports ----

  Result<ImportResult> Import(const std::string& bank_name, ImportRequest request) override {
    auto db = pool_.Acquire();
    const auto started = Now();
    auto result = ImportOn(*db, bank_name, request, started);
    if (!result && result.error().code != ErrorCode::kNotFound) {
      // Log the rejection on its own, after the import's transaction rolled back.
      (void)LogRejectedOn(*db, bank_name, request, result.error().message, started);
    }
    return result;
  }

  Status LogRejectedImport(const std::string& bank_name, const ImportRequest& request,
                           const std::string& error) override {
    auto db = pool_.Acquire();
    return LogRejectedOn(*db, bank_name, request, error, Now());
  }

  Result<std::vector<ImportLogRecord>> ListImports(const std::string& bank_name) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto bank, GetBankOn(*db, bank_name));
    auto rows = db->Query(
        "SELECT id, bank_id, format, source, actor, status, error, added, removed, unchanged, started_at, "
        "finished_at, checkpoint FROM imports WHERE bank_id = $1 ORDER BY id DESC LIMIT 1000",
        {bank.id});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<ImportLogRecord> records;
    for (const auto& row : *rows) {
      ImportLogRecord record;
      record.id = row.Int(0);
      record.bank_id = row.Int(1);
      record.format = row.Text(2);
      record.source = row.Text(3);
      record.actor = row.Text(4);
      record.status = row.Text(5);
      record.error = row.Text(6);
      record.added = row.Int(7);
      record.removed = row.Int(8);
      record.unchanged = row.Int(9);
      record.started_at = row.Int(10);
      record.finished_at = row.Int(11);
      record.checkpoint = row.OptText(12);
      records.push_back(std::move(record));
    }
    return records;
  }

  Result<std::vector<IndexedEntry>> LiveEntriesAfter(std::int64_t after_id, int limit) override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT e.id, e.bank_id, e.signal_type, e.value, e.payload FROM bank_entries e "
        "JOIN banks b ON b.id = e.bank_id "
        "WHERE e.id > $1 AND e.removed_at IS NULL AND b.deleted_at IS NULL ORDER BY e.id LIMIT $2",
        {after_id, std::int64_t{limit}});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<IndexedEntry> entries;
    entries.reserve(rows->size());
    for (const auto& row : *rows) entries.push_back({row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4)});
    return entries;
  }

  Result<std::vector<IndexedEntry>> FindLiveEntries(const std::string& bank,
                                                    const std::vector<std::pair<std::string, std::string>>& values) override {
    auto db = pool_.Acquire();
    std::vector<IndexedEntry> entries;
    for (const auto& [type, value] : values) {
      VIGIL_ASSIGN_OR_RETURN(
          auto rows, db->Query("SELECT e.id, e.bank_id, e.signal_type, e.value, e.payload FROM bank_entries e "
                               "JOIN banks b ON b.id = e.bank_id WHERE b.name = $1 AND b.deleted_at IS NULL AND "
                               "e.signal_type = $2 AND e.value = $3 AND e.removed_at IS NULL ORDER BY e.id",
                               {bank, type, value}));
      for (const auto& row : rows) entries.push_back({row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4)});
    }
    return entries;
  }

  Result<std::vector<EntryRemoval>> RemovalsAfter(std::int64_t after_import_id) override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT id, removed_import_id, signal_type, value FROM bank_entries WHERE removed_import_id > $1 "
        "ORDER BY removed_import_id",
        {after_import_id});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<EntryRemoval> removals;
    removals.reserve(rows->size());
    for (const auto& row : *rows) removals.push_back({row.Int(0), row.Int(1), row.Text(2), row.Text(3)});
    return removals;
  }

  Result<std::string> Identity() override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT id FROM store_identity"));
    if (rows.size() != 1) return Fail(ErrorCode::kCorrupt, "store_identity holds " + std::to_string(rows.size()) + " rows, not 1");
    // A restored backup or a clone copies the row: where the data lives now tells the copy apart
    // (PostgreSQL: the cluster's system identifier, where the role may read it, and the database's
    // OID; SQLite: the file's device and inode).
    std::string identity = rows[0].Text(0);
    if (dialect_ == SqlDialect::kPostgres) {
      if (auto system = db->Query("SELECT system_identifier::text FROM pg_control_system()"); system && !system->empty()) {
        identity += ":" + system->front().Text(0);
      }
      VIGIL_ASSIGN_OR_RETURN(auto oid, db->Query("SELECT oid::text FROM pg_database WHERE datname = current_database()"));
      if (!oid.empty()) identity += ":" + oid.front().Text(0);
    } else {
      struct stat st {};
      if (::stat(sqlite_path_.c_str(), &st) == 0) {
        identity += ":" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
      }
    }
    return identity;
  }

  Result<IndexedEntry> EntryById(std::int64_t id) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT id, bank_id, signal_type, value FROM bank_entries WHERE id = $1", {id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no bank entry " + std::to_string(id));
    return IndexedEntry{rows[0].Int(0), rows[0].Int(1), rows[0].Text(2), rows[0].Text(3), ""};
  }

  Result<std::int64_t> LatestImportId() override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT COALESCE(MAX(id), 0) FROM imports"));
    return rows.at(0).Int(0);
  }

  Result<std::vector<BankEntry>> GetEntries(const std::vector<std::int64_t>& ids) override {
    auto db = pool_.Acquire();
    std::vector<BankEntry> entries;
    for (const auto id : ids) {
      VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string("SELECT ") + kEntryColumns + " FROM bank_entries WHERE id = $1", {id}));
      for (const auto& row : rows) entries.push_back(EntryFromRow(row));
    }
    return entries;
  }

  // ---- local overrides ----

  Result<std::vector<EntryOverride>> ListOverrides(const std::string& bank, bool include_revoked) override {
    auto db = pool_.Acquire();
    std::string sql =
        "SELECT o.id, b.name, o.signal_type, o.value, o.reason, o.created_by, o.created_at, o.entry_id, o.source, "
        "o.member, o.external_id, o.classification, o.skipped, o.revoked_at, o.revoked_by FROM overrides o JOIN banks "
        "b ON b.id = o.bank_id WHERE 1 = 1";
    std::vector<SqlValue> params;
    if (!bank.empty()) {
      sql += " AND b.name = $1 AND b.deleted_at IS NULL";
      params.emplace_back(bank);
    }
    if (!include_revoked) sql += " AND o.revoked_at IS NULL";
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(sql + " ORDER BY o.id", params));
    std::vector<EntryOverride> out;
    for (const auto& r : rows) {
      EntryOverride o;
      o.id = r.Int(0);
      o.bank = r.Text(1);
      o.signal_type = r.Text(2);
      o.value = r.Text(3);
      o.reason = r.Text(4);
      o.created_by = r.Text(5);
      o.created_at = r.Int(6);
      o.entry_id = r.Int(7);
      o.provenance = {r.Text(8), r.Text(9), r.Text(10), r.Text(11)};
      o.skipped = r.Int(12);
      o.revoked_at = r.OptInt(13);
      o.revoked_by = r.Text(14);
      out.push_back(std::move(o));
    }
    return out;
  }

  Result<EntryOverride> RevokeOverride(std::int64_t id, const std::string& actor) override {
    auto db = pool_.Acquire();
    {
      VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
      if (dialect_ == SqlDialect::kPostgres) VIGIL_TRY(db->Execute("LOCK TABLE imports IN EXCLUSIVE MODE"));
      const auto now = Now();
      auto rows = db->Query(
          "SELECT bank_id, signal_type, value, source, member, external_id, classification, payload, revoked_at FROM "
          "overrides WHERE id = $1",
          {id});
      if (!rows) return tl::unexpected(rows.error());
      if (rows->empty()) return Fail(ErrorCode::kNotFound, "no override " + std::to_string(id));
      const auto& o = rows->front();
      if (!o.IsNull(8)) return Fail(ErrorCode::kInvalidArgument, "override " + std::to_string(id) + " was revoked already");
      VIGIL_TRY(db->Execute("UPDATE overrides SET revoked_at = $1, revoked_by = $2 WHERE id = $3", {now, actor, id}));
      // The value comes back as a one-entry import, so every matcher picks it up.
      auto live = db->Query("SELECT 1 FROM bank_entries WHERE bank_id = $1 AND signal_type = $2 AND value = $3 AND "
                            "removed_at IS NULL",
                            {o.Int(0), o.Text(1), o.Text(2)});
      if (!live) return tl::unexpected(live.error());
      if (live->empty()) {
        auto import_row = db->Query(
            "INSERT INTO imports (bank_id, format, source, actor, status, added, started_at, finished_at) "
            "VALUES ($1, 'override', 'override revoked', $2, 'applied', 1, $3, $3) RETURNING id",
            {o.Int(0), actor, now});
        if (!import_row) return tl::unexpected(import_row.error());
        VIGIL_TRY(db->Execute(
            "INSERT INTO bank_entries (bank_id, signal_type, value, source, member, external_id, classification, "
            "added_at, import_id, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            {o.Int(0), o.Text(1), o.Text(2), o.Text(3), o.Text(4), o.Text(5), o.Text(6), now,
             import_row->front().Int(0), o.IsNull(7) ? SqlValue{} : SqlValue{o.Text(7)}}));
      }
      VIGIL_TRY(AuditOn(*db, actor, "override.revoke", std::to_string(id), o.Text(1) + ":" + o.Text(2)));
      VIGIL_TRY(transaction.Commit());
    }
    VIGIL_ASSIGN_OR_RETURN(auto all, ListOverrides("", true));
    for (auto& o : all) {
      if (o.id == id) return std::move(o);
    }
    return Fail(ErrorCode::kInternal, "override " + std::to_string(id) + " vanished");
  }

  // ---- content ----

  Result<ContentRecord> RecordContent(const ContentRecord& content) override {
    VIGIL_ASSIGN_OR_RETURN(auto recorded, cases_->RecordUpload(content, {}, "system"));
    return std::move(recorded.content);
  }

  Result<ContentRecord> GetContent(const std::string& content_id) override {
    auto db = pool_.Acquire();
    return ReadContentOn(*db, content_id);
  }

  Result<std::vector<ContentRecord>> ListMatchedContent(std::int64_t after_id, int limit) override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT c.content_id FROM content c WHERE c.id > $1 AND EXISTS (SELECT 1 FROM matches m WHERE m.content_row = c.id) "
        "ORDER BY c.id LIMIT $2",
        {after_id, std::int64_t{std::clamp(limit, 1, 10000)}});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<ContentRecord> out;
    for (const auto& row : *rows) {
      VIGIL_ASSIGN_OR_RETURN(auto content, ReadContentOn(*db, row.Text(0)));
      out.push_back(std::move(content));
    }
    return out;
  }

  Result<UploadMaintenance> MaintainUploads(const UploadRetention& retention) override {
    if (retention.keep_days < 0 || retention.partitions_ahead_days < 0 || retention.partitions_ahead_days > 60) {
      return Fail(ErrorCode::kInvalidArgument, "retention: keep_days must be 0 or more, partitions_ahead_days 0-60");
    }
    auto db = pool_.Acquire();
    if (uses_system_clock_) VIGIL_TRY(CheckClockOn(*db, *clock_));
    return MaintainUploadsOn(*db, clock_->NowMicros(), retention);
  }

  Result<std::vector<PastUpload>> PastUploadsAfter(PastUploadTable table, std::int64_t after_row, std::int64_t since,
                                                   int limit) override {
    auto db = pool_.Acquire();
    const bool uploads = table == PastUploadTable::kUploads;
    const std::string row = uploads ? "row_id" : "id";
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, db->Query("SELECT " + row + ", content_id, user_id, pdq, pdq_quality, sha256, md5, submitted_at, vpdq, " +
                                 (uploads ? "'visible'" : "state") + " FROM " +
                                 (uploads ? "uploads" : "content") + " WHERE " + row + " > $1 AND submitted_at >= $2 ORDER BY " +
                                 row + " LIMIT $3",
                             {after_row, since, std::int64_t{std::clamp(limit, 1, 100'000)}}));
    return PastUploadsFromRows(table, rows);
  }

  Result<std::vector<PastUpload>> PastUploadsByRow(PastUploadTable table, const std::vector<std::int64_t>& rows) override {
    std::vector<PastUpload> out;
    if (rows.empty()) return out;
    auto db = pool_.Acquire();
    const bool uploads = table == PastUploadTable::kUploads;
    const std::string row = uploads ? "row_id" : "id";
    std::string sql = "SELECT " + row + ", content_id, user_id, pdq, pdq_quality, sha256, md5, submitted_at, vpdq, " +
                                 (uploads ? "'visible'" : "state") + " FROM " +
                      (uploads ? "uploads" : "content") + " WHERE " + row + " IN (";
    std::vector<SqlValue> params;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      sql += (i == 0 ? "$" : ", $") + std::to_string(i + 1);
      params.emplace_back(rows[i]);
    }
    VIGIL_ASSIGN_OR_RETURN(auto found, db->Query(sql + ")", params));
    return PastUploadsFromRows(table, found);
  }

  static std::vector<PastUpload> PastUploadsFromRows(PastUploadTable table, const std::vector<SqlRow>& rows) {
    std::vector<PastUpload> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      PastUpload p;
      p.table = table;
      p.row = r.Int(0);
      p.content_id = r.Text(1);
      p.user_id = r.Text(2);
      p.pdq = r.Text(3);
      if (auto q = r.OptInt(4)) p.pdq_quality = static_cast<int>(*q);
      p.sha256 = r.Text(5);
      p.md5 = r.Text(6);
      p.submitted_at = r.Int(7);
      p.vpdq = r.Text(8);
      p.state = r.Text(9);
      out.push_back(std::move(p));
    }
    return out;
  }

  Result<std::vector<UploadPartition>> ListUploadPartitions() override {
    auto db = pool_.Acquire();
    return ListUploadPartitionsOn(*db);
  }

  // ---- keys ----

  static std::string AsciiLower(std::string text) {
    for (char& c : text) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return text;
  }

  // A key name as the audit log and decisions will show it: lower-case ASCII, nothing that hides
  // (NUL, line breaks, spaces) or imitates another name (letters from other scripts).
  static Result<std::string> CheckKeyName(const std::string& raw) {
    const std::string rule =
        "key name must be 1-64 characters of a-z, 0-9, '.', '_', '-' and '@', starting with a letter or digit";
    if (raw.empty() || raw.size() > 64) {
      return Fail(ErrorCode::kInvalidArgument, rule + " (it has " + std::to_string(raw.size()) + ")");
    }
    std::string name;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const auto c = static_cast<unsigned char>(raw[i]);
      const std::string at = rule + "; character " + std::to_string(i + 1) + " is ";
      if (c == 0) return Fail(ErrorCode::kInvalidArgument, at + "a NUL");
      if (c == '\n' || c == '\r') return Fail(ErrorCode::kInvalidArgument, at + "a line break");
      if (c < 0x20 || c == 0x7f) return Fail(ErrorCode::kInvalidArgument, at + "a control character");
      if (c == ' ') return Fail(ErrorCode::kInvalidArgument, at + "a space");
      if (c >= 0x80) {
        return Fail(ErrorCode::kInvalidArgument,
                    at + "not ASCII (letters of other scripts can imitate another name)");
      }
      const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
      const bool allowed = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') || lower == '.' ||
                           lower == '_' || lower == '-' || lower == '@';
      if (!allowed) return Fail(ErrorCode::kInvalidArgument, at + "'" + std::string(1, lower) + "'");
      name += lower;
    }
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) {
      return Fail(ErrorCode::kInvalidArgument, rule + "; it starts with '" + name.substr(0, 1) + "'");
    }
    // The audit log's actors that are not keys.
    if (name == "cli" || name == "system" || name == "policy" || name == "anonymous" || name == "operator") {
      return Fail(ErrorCode::kInvalidArgument, "key name '" + name + "' is reserved: the audit log uses it for the " +
                                                   (name == "cli"         ? "command line"
                                                    : name == "anonymous" ? "public routes"
                                                    : name == "operator"  ? "host's maintenance commands"
                                                                          : "service itself"));
    }
    return name;
  }

  static Result<std::string> NewKeySecret() {
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) return Fail(ErrorCode::kInternal, "no randomness for a key");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string secret = "vgl_";
    for (unsigned char byte : random) {
      secret += kHex[byte >> 4];
      secret += kHex[byte & 15];
    }
    return secret;
  }

  Result<NewApiKey> CreateApiKey(const std::string& name, const std::string& role, const std::string& actor) override {
    return MintApiKey(name, role, actor, actor, std::nullopt);
  }

  Result<NewApiKey> CreateApiKeyOnHost(const std::string& name, const std::string& role,
                                       const std::string& os_user) override {
    return MintApiKey(name, role, "cli", os_user.empty() ? "cli" : "cli:" + os_user, os_user);
  }

  // `os_user` set: minted on the host, any role active at once. Otherwise a sensitive role is pending.
  // `roles`: one role or several ("reviewer,legal"), kept in kRoles' order.
  Result<NewApiKey> MintApiKey(const std::string& raw_name, const std::string& roles, const std::string& actor,
                               const std::string& created_by, const std::optional<std::string>& os_user) {
    VIGIL_ASSIGN_OR_RETURN(const std::string role, CanonicalRoles(roles));
    auto name = CheckKeyName(raw_name);
    if (!name) return tl::unexpected(name.error());
    const bool pending = !os_user && HoldsSensitiveRole(role);
    // A pending key gets a secret nobody sees (key_hash is unique and never empty); its real one is
    // made when it is approved.
    auto secret = NewKeySecret();
    if (!secret) return tl::unexpected(secret.error());
    const std::string prefix = pending ? "" : secret->substr(0, 12);
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
    const auto now = Now();
    // A request that lapsed or was withdrawn before approval never authenticated anything: its name
    // is free again (the old row keeps its history under a suffixed name).
    VIGIL_ASSIGN_OR_RETURN(auto person, db->Query("SELECT 1 FROM people WHERE name = $1", {*name}));
    if (!person.empty()) {
      return Fail(ErrorCode::kAlreadyExists, "the key name '" + *name +
                                                 "' is a person's who signs in through the identity provider: a key "
                                                 "cannot act under their name");
    }
    auto freed = db->Execute(
        "UPDATE api_keys SET name = name || '~lapsed-' || CAST(id AS TEXT), revoked_at = COALESCE(revoked_at, $2) "
        "WHERE LOWER(name) = $1 AND status = 'pending' AND (revoked_at IS NOT NULL OR created_at <= $3)",
        {*name, now, now - kPendingKeyMicros});
    if (!freed) return tl::unexpected(freed.error());
    auto inserted = db->Query(
        "INSERT INTO api_keys (name, role, key_hash, prefix, created_at, status, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        {*name, role, Sha256Hex(*secret), prefix, now, std::string(pending ? "pending" : "active"), created_by});
    if (!inserted) {
      if (inserted.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists, "the key name '" + *name +
                                                   "' is taken: names are never reused, even after revocation (the "
                                                   "audit log and decisions name people by them)");
      }
      return tl::unexpected(inserted.error());
    }
    std::string detail = "role=" + role + " created_by=" + created_by;
    if (os_user) detail += " on the host (os_user=" + *os_user + "; host access stands in for a second admin)";
    if (pending) detail += " pending a second admin's approval";
    VIGIL_TRY(AuditOn(*db, actor, pending ? "key.request" : "key.create", *name, detail));
    VIGIL_TRY(transaction.Commit());
    NewApiKey key;
    key.record = {inserted->at(0).Int(0), *name, role, prefix, now, std::nullopt,
                  pending ? "pending" : "active", created_by, "", std::nullopt, std::nullopt, std::nullopt};
    if (!pending) key.secret = std::move(*secret);
    return key;
  }

  Result<NewApiKey> ApproveApiKey(const std::string& raw_name, const std::string& approver) override {
    const std::string name = AsciiLower(raw_name);
    auto secret = NewKeySecret();
    if (!secret) return tl::unexpected(secret.error());
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
    const auto now = Now();
    auto rows = db->Query(
        "SELECT id, name, role, created_at, status, created_by FROM api_keys WHERE LOWER(name) = $1 AND revoked_at IS NULL",
        {name});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return Fail(ErrorCode::kNotFound, "no pending key named '" + name + "'");
    const auto& row = rows->front();
    NewApiKey key;
    key.record = {row.Int(0), row.Text(1), row.Text(2), secret->substr(0, 12), row.Int(3), std::nullopt,
                  "active", row.Text(5), approver, now, std::nullopt, std::nullopt};
    if (row.Text(4) != "pending") {
      return Fail(ErrorCode::kAlreadyExists, "key '" + key.record.name + "' is active already");
    }
    if (key.record.created_at <= now - kPendingKeyMicros) {
      return Fail(ErrorCode::kNotFound, "the request for key '" + key.record.name +
                                            "' lapsed (a pending key waits 24 hours for its second admin): request it again");
    }
    // Requests made before actors were plain key names say "key:<name>": the same person.
    std::string requester = AsciiLower(key.record.created_by);
    if (requester.rfind("key:", 0) == 0) requester.erase(0, 4);
    if (requester == AsciiLower(approver)) {
      return Fail(ErrorCode::kPermissionDenied, "key '" + key.record.name + "' (" + key.record.role +
                                                    ") was requested by '" + approver +
                                                    "': a second, different admin must approve it");
    }
    auto changed = db->Execute(
        "UPDATE api_keys SET status = 'active', key_hash = $1, prefix = $2, approved_by = $3, approved_at = $4 "
        "WHERE id = $5 AND status = 'pending' AND revoked_at IS NULL",
        {Sha256Hex(*secret), key.record.prefix, approver, now, key.record.id});
    if (!changed) return tl::unexpected(changed.error());
    if (*changed == 0) return Fail(ErrorCode::kNotFound, "no pending key named '" + name + "'");
    VIGIL_TRY(AuditOn(*db, approver, "key.approve", key.record.name,
                      "role=" + key.record.role + " requested_by=" + key.record.created_by));
    VIGIL_TRY(transaction.Commit());
    key.secret = std::move(*secret);
    return key;
  }

  Result<std::vector<ApiKeyRecord>> ListApiKeys() override {
    auto db = pool_.Acquire();
    auto rows = db->Query(
        "SELECT id, name, role, prefix, created_at, revoked_at, status, created_by, approved_by, approved_at, "
        "expires_at, previous_until FROM api_keys ORDER BY id");
    if (!rows) return tl::unexpected(rows.error());
    const auto now = Now();
    const auto lapsed = now - kPendingKeyMicros;
    std::vector<ApiKeyRecord> keys;
    for (const auto& row : *rows) {
      keys.push_back({row.Int(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4), row.OptInt(5), row.Text(6),
                      row.Text(7), row.Text(8), row.OptInt(9), row.OptInt(10), row.OptInt(11)});
      auto& key = keys.back();
      if (key.status == "pending" && !key.revoked_at && key.created_at <= lapsed) key.status = "expired";
      if (key.status == "active" && key.expires_at && *key.expires_at <= now) key.status = "expired";
      if (key.status == "active" && key.revoked_at) key.status = "revoked";
      if (key.previous_until && *key.previous_until <= now) key.previous_until.reset();
    }
    return keys;
  }

  Status RevokeApiKey(const std::string& name, const std::string& actor) override {
    const std::string lower = AsciiLower(name);
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT id, name, status FROM api_keys WHERE LOWER(name) = $1 AND revoked_at IS NULL", {lower}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no live key named '" + lower + "'");
    const auto& row = rows.front();
    auto changed = db->Execute("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                               {Now(), row.Int(0)});
    if (!changed) return tl::unexpected(changed.error());
    if (*changed == 0) return Fail(ErrorCode::kNotFound, "no live key named '" + lower + "'");
    // A revoked reviewer works no queue any more: their memberships go with the key (names are never
    // reused, so nobody else could inherit them, but the queues' member lists would say otherwise).
    VIGIL_ASSIGN_OR_RETURN(auto queues, db->Query("SELECT queue FROM queue_members WHERE reviewer = $1 ORDER BY queue",
                                                  {row.Text(1)}));
    std::string left;
    for (const auto& q : queues) left.append(left.empty() ? "" : ",").append(q.Text(0));
    VIGIL_TRY(db->Execute("DELETE FROM queue_members WHERE reviewer = $1", {row.Text(1)}));
    std::string detail = row.Text(2) == "pending" ? "withdrawn before approval" : "";
    if (!left.empty()) detail.append(detail.empty() ? "" : "; ").append("left queues: ").append(left);
    VIGIL_TRY(AuditOn(*db, actor, "key.revoke", row.Text(1), detail));
    return transaction.Commit();
  }

  Result<ApiKeyRecord> Authenticate(const std::string& secret) override {
    auto db = pool_.Acquire();
    const std::string hash = Sha256Hex(secret);
    const auto now = Now();
    auto rows = db->Query(
        "SELECT id, name, role, prefix, created_at, created_by, approved_by, approved_at, expires_at, previous_until, "
        "key_hash <> $1 FROM api_keys WHERE (key_hash = $1 OR (previous_hash = $1 AND previous_until > $2)) AND revoked_at IS NULL "
        "AND status = 'active' AND (expires_at IS NULL OR expires_at > $2)",
        {hash, now});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return Fail(ErrorCode::kNotFound, "unknown, revoked or expired API key");
    const auto& row = rows->front();
    ApiKeyRecord key{row.Int(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4), std::nullopt,
                     "active",   row.Text(5), row.Text(6), row.OptInt(7), row.OptInt(8), row.OptInt(9)};
    key.by_previous_secret = row.Text(10) == "1" || row.Text(10) == "t" || row.Text(10) == "true";
    return key;
  }

  Status SetApiKeyExpiry(const std::string& raw_name, std::optional<std::int64_t> expires_at,
                         const std::string& actor) override {
    const std::string name = AsciiLower(raw_name);
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto changed, db->Execute("UPDATE api_keys SET expires_at = $1 WHERE LOWER(name) = $2 AND "
                                                     "revoked_at IS NULL",
                                                     {expires_at ? SqlValue(*expires_at) : SqlValue(), name}));
    if (changed == 0) return Fail(ErrorCode::kNotFound, "no live key named '" + name + "'");
    VIGIL_TRY(AuditOn(*db, actor, "key.expiry", name, expires_at ? "expires_at=" + std::to_string(*expires_at) : "never"));
    return transaction.Commit();
  }

  Result<NewApiKey> RotateApiKey(const std::string& raw_name, std::int64_t overlap_seconds,
                                 const std::string& actor) override {
    const std::string name = AsciiLower(raw_name);
    if (overlap_seconds < 0 || overlap_seconds > 30 * 86'400) {
      return Fail(ErrorCode::kInvalidArgument, "the overlap is 0 to 30 days");
    }
    auto secret = NewKeySecret();
    if (!secret) return tl::unexpected(secret.error());
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(*db));
    const auto now = Now();
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, db->Query("SELECT id, name, role, created_at, created_by, approved_by, approved_at, expires_at "
                             "FROM api_keys WHERE LOWER(name) = $1 AND revoked_at IS NULL AND status = 'active' AND "
                             "(expires_at IS NULL OR expires_at > $2)",
                             {name, now}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no live, active key named '" + name + "'");
    const auto& row = rows.front();
    const std::optional<std::int64_t> until =
        overlap_seconds > 0 ? std::optional<std::int64_t>(now + overlap_seconds * 1'000'000) : std::nullopt;
    VIGIL_TRY(db->Execute("UPDATE api_keys SET previous_hash = CASE WHEN $1 > 0 THEN key_hash ELSE NULL END, "
                          "previous_until = $2, key_hash = $3, prefix = $4 WHERE id = $5",
                          {overlap_seconds, until ? SqlValue(*until) : SqlValue(), Sha256Hex(*secret),
                           secret->substr(0, 12), row.Int(0)}));
    VIGIL_TRY(AuditOn(*db, actor, "key.rotate", row.Text(1),
                      "the previous secret works " + (overlap_seconds > 0 ? "for " + std::to_string(overlap_seconds) +
                                                                                " more seconds"
                                                                          : std::string("no longer"))));
    VIGIL_TRY(transaction.Commit());
    NewApiKey key;
    key.record = {row.Int(0), row.Text(1), row.Text(2), secret->substr(0, 12), row.Int(3), std::nullopt, "active",
                  row.Text(4), row.Text(5), row.OptInt(6), row.OptInt(7), until};
    key.secret = std::move(*secret);
    return key;
  }

  Status Audit(const std::string& actor, const std::string& action, const std::string& target,
               const std::string& detail) override {
    auto db = pool_.Acquire();
    // The chain's append locks its head: that needs a transaction of its own.
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_TRY(AuditOn(*db, actor, action, target, detail));
    return txn.Commit();
  }

  Result<std::vector<AuditRecord>> ListAudit(int limit) override {
    auto db = pool_.Acquire();
    auto rows = db->Query("SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
                          {std::int64_t{limit}});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<AuditRecord> records;
    for (const auto& row : *rows) {
      records.push_back({row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5)});
    }
    return records;
  }

 private:
  std::int64_t Now() const { return clock_->NowMicros(); }

  Status AuditOn(SqlConnection& db, const std::string& actor, const std::string& action, const std::string& target,
                 const std::string& detail) {
    return AppendAudit(db, Now(), actor, action, target, detail);
  }

  Status LogRejectedOn(SqlConnection& db, const std::string& bank_name, const ImportRequest& request,
                       const std::string& error, std::int64_t started) {
    VIGIL_ASSIGN_OR_RETURN(auto bank, GetBankOn(db, bank_name));
    VIGIL_TRY(db.Execute(
        "INSERT INTO imports (bank_id, format, source, actor, status, error, started_at, finished_at) "
        "VALUES ($1, $2, $3, $4, 'rejected', $5, $6, $7)",
        {bank.id, request.format, request.source, request.actor, error.substr(0, 2000), started, Now()}));
    return {};
  }

  Result<Bank> GetBankOn(SqlConnection& db, const std::string& name) {
    auto rows = db.Query(std::string("SELECT ") + kBankColumns + " FROM banks b WHERE b.name = $1 AND b.deleted_at IS NULL",
                         {name});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return Fail(ErrorCode::kNotFound, "no bank named '" + name + "'");
    return BankFromRow(rows->front());
  }

  // Consumes request.ops; the rest of the request stays for the log.
  Result<ImportResult> ImportOn(SqlConnection& db, const std::string& bank_name, ImportRequest& request,
                                std::int64_t started) {
    VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(db));
    if (dialect_ == SqlDialect::kPostgres) {
      VIGIL_TRY(db.Execute("LOCK TABLE imports IN EXCLUSIVE MODE"));
    }
    auto bank = GetBankOn(db, bank_name);
    if (!bank) return tl::unexpected(bank.error());
    auto import_row = db.Query(
        "INSERT INTO imports (bank_id, format, source, actor, status, started_at, checkpoint) "
        "VALUES ($1, $2, $3, $4, 'applied', $5, $6) RETURNING id",
        {bank->id, request.format, request.source, request.actor, started,
         request.checkpoint ? SqlValue{*request.checkpoint} : SqlValue{}});
    if (!import_row) return tl::unexpected(import_row.error());
    auto applied = ApplyImport(db, bank->id, import_row->at(0).Int(0), request.source, std::move(request.ops),
                               request.more_ops, Now());
    if (!applied) return tl::unexpected(applied.error());
    ImportResult& result = *applied;
    const auto now = Now();
    VIGIL_TRY(db.Execute("UPDATE imports SET added = $1, removed = $2, unchanged = $3, finished_at = $4 WHERE id = $5",
                         {result.added, result.removed, result.unchanged + result.relabelled, Now(), result.import_id}));
    if (request.checkpoint) {
      VIGIL_TRY(db.Execute("UPDATE banks SET sync_checkpoint = $1, updated_at = $2 WHERE id = $3",
                           {*request.checkpoint, now, bank->id}));
    }
    const boost::json::object detail{{"import_id", result.import_id}, {"format", request.format},
                                     {"source", request.source},      {"added", result.added},
                                     {"removed", result.removed},     {"relabelled", result.relabelled}};
    VIGIL_TRY(AuditOn(db, request.actor, "bank.import", bank_name, boost::json::serialize(detail)));
    VIGIL_TRY(transaction.Commit());
    if (dialect_ == SqlDialect::kPostgres && result.added + result.removed > 10'000) {
      // Fresh planner statistics after a bulk change (autovacuum would get there, later).
      (void)db.Execute("ANALYZE bank_entries");
    }
    return std::move(result);
  }

  ConnectionPool pool_;
  SqlDialect dialect_;
  std::string sqlite_path_;
  const Clock* clock_;
  bool uses_system_clock_;
  std::unique_ptr<CaseStore> cases_;
  std::unique_ptr<ReportStore> reports_;
  std::unique_ptr<SharingStore> sharing_;
  std::unique_ptr<ExchangeStore> exchanges_;
  std::unique_ptr<EventStore> events_;
  std::unique_ptr<QueueStore> queues_;
  std::unique_ptr<WellnessStore> wellness_;
  std::unique_ptr<SessionStore> sessions_;
};

}  // namespace
}  // namespace store

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  using namespace store;
  const bool postgres = !options.postgres_url.empty();
  if (!postgres && options.sqlite_path.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "no database: give a SQLite path or a PostgreSQL URL");
  }
  const int pool_size = std::clamp(options.pool_size, 1, 64);
  std::vector<std::unique_ptr<SqlConnection>> connections;
  for (int i = 0; i < pool_size; ++i) {
    VIGIL_ASSIGN_OR_RETURN(auto connection, postgres ? OpenPostgres(options.postgres_url) : OpenSqlite(options.sqlite_path));
    if (i == 0) {
      if (options.clock == nullptr) VIGIL_TRY(CheckClockOn(*connection, SystemClock()));
      VIGIL_TRY(Migrate(*connection));
      VIGIL_TRY(EnsureChangeNotifications(*connection));
      // Records from before the log was chained get chained once (a no-op afterwards).
      VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*connection));
      if (postgres) {
        if (auto locked = connection->Execute("LOCK TABLE audit_head IN EXCLUSIVE MODE"); !locked) {
          return tl::unexpected(locked.error());
        }
      }
      VIGIL_TRY(SealAuditLog(*connection));
      VIGIL_TRY(txn.Commit());
    }
    connections.push_back(std::move(connection));
  }
  return std::unique_ptr<Store>(
      std::make_unique<SqlStore>(std::move(connections), postgres ? SqlDialect::kPostgres : SqlDialect::kSqlite,
                                 options));
}

}  // namespace vigil
