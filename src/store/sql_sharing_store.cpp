// Partners, received and exported bundles on SQL (see include/vigil/sharing.h). Each change is one
// transaction with its audit record.
#include "store/sql_sharing_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "store/audit_chain.h"
#include "store/record_names.h"

namespace vigil::store {
namespace {

constexpr const char* kPartnerColumns = "id, name, public_key, bank, trust, created_at, created_by, removed_at";
constexpr const char* kReceivedColumns =
    "b.id, b.partner_id, p.name, b.sharer, b.sharer_bank, b.sequence, b.kind, b.since_import, b.through_import, "
    "b.sha256, b.signer, b.status, b.entries, b.removals, b.document, b.import_id, b.received_at, b.received_by, "
    "b.decided_at, b.decided_by";
constexpr const char* kExportColumns =
    "x.id, k.name, x.sequence, x.kind, x.since_import, x.through_import, x.sha256, x.entries, x.removals, "
    "x.created_at, x.created_by";

SqlValue OptionalInt(const std::optional<std::int64_t>& v) { return v ? SqlValue{*v} : SqlValue{}; }

Partner PartnerFromRow(const SqlRow& r) {
  Partner p;
  p.id = r.Int(0);
  p.name = r.Text(1);
  p.public_key = r.Text(2);
  p.bank = r.Text(3);
  p.trust = r.Text(4);
  p.created_at = r.Int(5);
  p.created_by = r.Text(6);
  p.removed_at = r.OptInt(7);
  return p;
}

ReceivedBundle ReceivedFromRow(const SqlRow& r) {
  ReceivedBundle b;
  b.id = r.Int(0);
  b.partner_id = r.Int(1);
  b.partner = r.Text(2);
  b.sharer = r.Text(3);
  b.sharer_bank = r.Text(4);
  b.sequence = r.Int(5);
  b.kind = r.Text(6);
  b.since_import = r.Int(7);
  b.through_import = r.Int(8);
  b.sha256 = r.Text(9);
  b.signer = r.Text(10);
  b.status = r.Text(11);
  b.entries = r.Int(12);
  b.removals = r.Int(13);
  b.document = r.Text(14);
  b.import_id = r.OptInt(15);
  b.received_at = r.Int(16);
  b.received_by = r.Text(17);
  b.decided_at = r.OptInt(18);
  b.decided_by = r.Text(19);
  return b;
}

ExportedBundle ExportFromRow(const SqlRow& r) {
  ExportedBundle x;
  x.id = r.Int(0);
  x.bank = r.Text(1);
  x.sequence = r.Int(2);
  x.kind = r.Text(3);
  x.since_import = r.Int(4);
  x.through_import = r.Int(5);
  x.sha256 = r.Text(6);
  x.entries = r.Int(7);
  x.removals = r.Int(8);
  x.created_at = r.Int(9);
  x.created_by = r.Text(10);
  return x;
}

bool ValidKey(const std::string& key) {
  return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

class SqlSharingStore final : public SharingStore {
 public:
  SqlSharingStore(ConnectionPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  Result<Partner> AddPartner(const Partner& p, const std::string& actor) override {
    if (!ValidRecordName(p.name)) {
      return Fail(ErrorCode::kInvalidArgument, "partner name '" + p.name + "': 1-64 of a-z, 0-9, - and _, starting with a letter or digit");
    }
    if (!ValidKey(p.public_key)) {
      return Fail(ErrorCode::kInvalidArgument, "partner '" + p.name + "': the public key must be 64 lowercase hex digits (an Ed25519 key)");
    }
    if (p.trust != "live" && p.trust != "review") {
      return Fail(ErrorCode::kInvalidArgument, "partner '" + p.name + "': trust must be \"live\" or \"review\", not '" + p.trust + "'");
    }
    if (p.bank.empty()) return Fail(ErrorCode::kInvalidArgument, "partner '" + p.name + "': a bank is needed");
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto bank, db->Query("SELECT id FROM banks WHERE name = $1 AND deleted_at IS NULL", {p.bank}));
    if (bank.empty()) return Fail(ErrorCode::kNotFound, "partner '" + p.name + "': no bank named '" + p.bank + "'");
    const auto now = clock_.NowMicros();
    auto row = db->Query("INSERT INTO partners (name, public_key, bank, trust, created_at, created_by) VALUES "
                         "($1, $2, $3, $4, $5, $6) RETURNING id",
                         {p.name, p.public_key, p.bank, p.trust, now, actor});
    if (!row) {
      if (row.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists, "a partner named '" + p.name + "' or holding that key is on record");
      }
      return tl::unexpected(row.error());
    }
    VIGIL_TRY(AppendAudit(*db, now, actor, "partner.add", "partner:" + p.name,
                          "key=" + p.public_key + " bank=" + p.bank + " trust=" + p.trust));
    VIGIL_TRY(txn.Commit());
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string("SELECT ") + kPartnerColumns + " FROM partners WHERE id = $1",
                                                {row->front().Int(0)}));
    return PartnerFromRow(rows.front());
  }

  Result<std::vector<Partner>> ListPartners(bool include_removed) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string("SELECT ") + kPartnerColumns + " FROM partners" +
                                                (include_removed ? "" : " WHERE removed_at IS NULL") + " ORDER BY name",
                                                {}));
    std::vector<Partner> out;
    for (const auto& r : rows) out.push_back(PartnerFromRow(r));
    return out;
  }

  Result<Partner> PartnerByKey(const std::string& public_key) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string("SELECT ") + kPartnerColumns +
                                                    " FROM partners WHERE public_key = $1 AND removed_at IS NULL",
                                                {public_key}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no partner holds the key " + public_key);
    return PartnerFromRow(rows.front());
  }

  Status RemovePartner(const std::string& name, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("UPDATE partners SET removed_at = $1 WHERE name = $2 AND removed_at IS NULL "
                                                "RETURNING id",
                                                {now, name}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no partner named '" + name + "'");
    VIGIL_TRY(AppendAudit(*db, now, actor, "partner.remove", "partner:" + name, ""));
    return txn.Commit();
  }

  Result<std::optional<ReceivedBundle>> LastReceived(const std::string& public_key, const std::string& sharer_bank) override {
    VIGIL_ASSIGN_OR_RETURN(auto list, Received("WHERE b.signer = $1 AND b.sharer_bank = $2 ORDER BY b.sequence DESC, b.id DESC LIMIT 1",
                                               {public_key, sharer_bank}));
    if (list.empty()) return std::optional<ReceivedBundle>();
    return std::optional<ReceivedBundle>(std::move(list.front()));
  }

  Result<ReceivedBundle> GetReceived(std::int64_t id) override {
    VIGIL_ASSIGN_OR_RETURN(auto list, Received("WHERE b.id = $1", {id}));
    if (list.empty()) return Fail(ErrorCode::kNotFound, "no received bundle " + std::to_string(id));
    return std::move(list.front());
  }

  Result<ReceivedBundle> RecordReceived(const ReceivedBundle& b) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    auto row = db->Query(
        "INSERT INTO partner_bundles (partner_id, sharer, sharer_bank, sequence, kind, since_import, through_import, "
        "sha256, signer, status, entries, removals, document, received_at, received_by) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        {b.partner_id, b.sharer, b.sharer_bank, b.sequence, b.kind, b.since_import, b.through_import, b.sha256,
         b.signer, b.status, b.entries, b.removals, b.document.empty() ? SqlValue{} : SqlValue{b.document}, now,
         b.received_by});
    if (!row) {
      if (row.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists, "bundle " + std::to_string(b.sequence) + " of " + b.sharer_bank +
                                                   " from this partner is already on record");
      }
      return tl::unexpected(row.error());
    }
    const std::int64_t id = row->front().Int(0);
    VIGIL_TRY(AppendAudit(*db, now, b.received_by, "bundle.receive", "bundle:" + std::to_string(id),
                          "sharer=" + b.sharer + " bank=" + b.sharer_bank + " sequence=" + std::to_string(b.sequence) +
                              " kind=" + b.kind + " status=" + b.status + " sha256=" + b.sha256));
    VIGIL_TRY(txn.Commit());
    return GetReceived(id);
  }

  Status SetReceivedStatus(std::int64_t id, const std::string& status, std::optional<std::int64_t> import_id,
                           const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    // A decided bundle no longer needs its document.
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, db->Query("UPDATE partner_bundles SET status = $1, import_id = COALESCE($2, import_id), decided_at = $3, "
                             "decided_by = $4, document = CASE WHEN $1 = 'held' THEN document ELSE NULL END "
                             "WHERE id = $5 RETURNING id",
                             {status, OptionalInt(import_id), now, actor, id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no received bundle " + std::to_string(id));
    VIGIL_TRY(AppendAudit(*db, now, actor, "bundle." + status, "bundle:" + std::to_string(id),
                          import_id ? "import=" + std::to_string(*import_id) : ""));
    return txn.Commit();
  }

  Result<std::vector<ReceivedBundle>> ListReceived(const std::string& partner, int limit) override {
    const std::string tail = " ORDER BY b.id DESC LIMIT " + std::to_string(std::clamp(limit, 1, 1000));
    if (partner.empty()) return Received(tail, {});
    return Received("WHERE p.name = $1" + tail, {partner});
  }

  Result<std::optional<ExportedBundle>> LastExport(const std::string& bank) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string("SELECT ") + kExportColumns +
                                                    " FROM bundle_exports x JOIN banks k ON k.id = x.bank_id "
                                                    "WHERE k.name = $1 AND k.deleted_at IS NULL ORDER BY x.sequence DESC LIMIT 1",
                                                {bank}));
    if (rows.empty()) return std::optional<ExportedBundle>();
    return std::optional<ExportedBundle>(ExportFromRow(rows.front()));
  }

  Result<ExportedBundle> RecordExport(const ExportedBundle& x) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto bank, db->Query("SELECT id FROM banks WHERE name = $1 AND deleted_at IS NULL", {x.bank}));
    if (bank.empty()) return Fail(ErrorCode::kNotFound, "no bank named '" + x.bank + "'");
    const auto now = clock_.NowMicros();
    auto row = db->Query(
        "INSERT INTO bundle_exports (bank_id, sequence, kind, since_import, through_import, sha256, entries, removals, "
        "created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        {bank.front().Int(0), x.sequence, x.kind, x.since_import, x.through_import, x.sha256, x.entries, x.removals,
         now, x.created_by});
    if (!row) {
      if (row.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists, "bundle " + std::to_string(x.sequence) + " of bank '" + x.bank +
                                                   "' was exported already (another export ran at the same time)");
      }
      return tl::unexpected(row.error());
    }
    VIGIL_TRY(AppendAudit(*db, now, x.created_by, "bundle.export", "bank:" + x.bank,
                          "sequence=" + std::to_string(x.sequence) + " kind=" + x.kind + " entries=" +
                              std::to_string(x.entries) + " removals=" + std::to_string(x.removals) + " sha256=" + x.sha256));
    VIGIL_TRY(txn.Commit());
    VIGIL_ASSIGN_OR_RETURN(auto last, LastExport(x.bank));
    return *last;
  }

  Result<std::vector<SharedEntry>> EntriesForBundle(const std::string& bank_name, bool full, std::int64_t since,
                                                    std::int64_t through, std::vector<SharedRemoval>* removed) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto bank, db->Query("SELECT id FROM banks WHERE name = $1 AND deleted_at IS NULL", {bank_name}));
    if (bank.empty()) return Fail(ErrorCode::kNotFound, "no bank named '" + bank_name + "'");
    const std::int64_t bank_id = bank.front().Int(0);
    // Live as of `through`: added by an import up to it (or by none: entries made before imports
    // were numbered) and not removed by one up to it.
    std::string where = "e.bank_id = $1 AND (e.import_id IS NULL OR e.import_id <= $2) AND "
                        "(e.removed_import_id IS NULL OR e.removed_import_id > $2) AND "
                        "(e.removed_at IS NULL OR e.removed_import_id IS NOT NULL)";
    std::vector<SqlValue> params{bank_id, through};
    if (!full) {
      where += " AND e.import_id > $3";
      params.emplace_back(since);
    }
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT e.id, e.signal_type, e.value, e.source, e.member, e.external_id, "
                                                "e.classification, e.added_at, COALESCE(e.payload, '') FROM bank_entries e WHERE " + where +
                                                " ORDER BY e.id",
                                                params));
    VIGIL_ASSIGN_OR_RETURN(auto counts, ReviewCounts(*db, bank_id));
    std::vector<SharedEntry> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      SharedEntry s;
      s.entry.id = r.Int(0);
      s.entry.bank_id = bank_id;
      s.entry.signal_type = r.Text(1);
      s.entry.value = r.Text(2);
      s.entry.provenance = {r.Text(3), r.Text(4), r.Text(5), r.Text(6)};
      s.entry.added_at = r.Int(7);
      s.entry.payload = r.Text(8);
      if (auto it = counts.find(s.entry.id); it != counts.end()) {
        s.confirmed = it->second.first;
        s.rejected = it->second.second;
      }
      out.push_back(std::move(s));
    }
    if (!full && removed != nullptr) {
      VIGIL_ASSIGN_OR_RETURN(
          auto gone, db->Query("SELECT DISTINCT e.signal_type, e.value FROM bank_entries e WHERE e.bank_id = $1 AND "
                               "e.removed_import_id > $2 AND e.removed_import_id <= $3 AND NOT EXISTS (SELECT 1 FROM "
                               "bank_entries l WHERE l.bank_id = e.bank_id AND l.signal_type = e.signal_type AND "
                               "l.value = e.value AND l.removed_at IS NULL) ORDER BY e.signal_type, e.value",
                               {bank_id, since, through}));
      for (const auto& r : gone) removed->push_back({r.Text(0), r.Text(1)});
    }
    return out;
  }

 private:
  Result<std::vector<ReceivedBundle>> Received(const std::string& tail, const std::vector<SqlValue>& params) {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string("SELECT ") + kReceivedColumns +
                                                    " FROM partner_bundles b JOIN partners p ON p.id = b.partner_id " + tail,
                                                params));
    std::vector<ReceivedBundle> out;
    for (const auto& r : rows) out.push_back(ReceivedFromRow(r));
    return out;
  }

  // entry id -> (confirmed, rejected) for the bank's entries with decided matches or feedback.
  Result<std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>>> ReviewCounts(SqlConnection& db, std::int64_t bank_id) {
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> counts;
    VIGIL_ASSIGN_OR_RETURN(
        auto decided, db.Query("SELECT m.entry_id, CASE WHEN d.verdict = 'violating' AND t.state <> 'restored' THEN 1 "
                               "ELSE 0 END, COUNT(DISTINCT m.content_row) FROM matches m "
                               "JOIN bank_entries e ON e.id = m.entry_id JOIN case_items i ON i.content_row = m.content_row "
                               "JOIN decisions d ON d.case_id = i.case_id JOIN content t ON t.id = m.content_row "
                               "WHERE e.bank_id = $1 AND d.verdict IN ('violating', 'not_violating') GROUP BY 1, 2",
                               {bank_id}));
    // As EntryReviewCountsOn: a violating decision overturned on appeal (restored) is a rejection.
    for (const auto& r : decided) {
      auto& c = counts[r.Int(0)];
      (r.Int(1) == 1 ? c.first : c.second) += r.Int(2);
    }
    VIGIL_ASSIGN_OR_RETURN(auto feedback, db.Query("SELECT f.entry_id, COUNT(*) FROM entry_feedback f JOIN bank_entries e "
                                                   "ON e.id = f.entry_id WHERE e.bank_id = $1 GROUP BY f.entry_id",
                                                   {bank_id}));
    for (const auto& r : feedback) counts[r.Int(0)].second += r.Int(1);
    return counts;
  }

  ConnectionPool& pool_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<SharingStore> MakeSqlSharingStore(ConnectionPool& pool, const Clock& clock) {
  return std::make_unique<SqlSharingStore>(pool, clock);
}

}  // namespace vigil::store
