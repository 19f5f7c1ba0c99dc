// The hash-chained audit log (see audit_chain.h).
#include "store/audit_chain.h"

#include "vigil/digest.h"

namespace vigil::store {
namespace {

// Length-prefixed fields: no two different records frame to the same bytes.
void Field(std::string& out, const std::string& value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ';';
}

constexpr const char* kGenesis = "vigil-audit-v1";

Status WriteHead(SqlConnection& db, std::int64_t records, std::int64_t last_id, const std::string& last_hash) {
  auto updated = db.Execute("UPDATE audit_head SET records = $1, last_id = $2, last_hash = $3 WHERE id = 1",
                            {records, last_id, last_hash});
  if (!updated) return tl::unexpected(updated.error());
  if (*updated == 0) {
    auto inserted = db.Execute("INSERT INTO audit_head (id, records, last_id, last_hash) VALUES (1, $1, $2, $3)",
                               {records, last_id, last_hash});
    if (!inserted) return tl::unexpected(inserted.error());
  }
  return {};
}

}  // namespace

std::string AuditRecordHash(const std::string& prev_hash, std::int64_t id, std::int64_t at, const std::string& actor,
                            const std::string& action, const std::string& target, const std::string& detail) {
  std::string framed;
  Field(framed, prev_hash);
  Field(framed, std::to_string(id));
  Field(framed, std::to_string(at));
  Field(framed, actor);
  Field(framed, action);
  Field(framed, target);
  Field(framed, detail);
  return Sha256Hex(framed);
}

Status AppendAudit(SqlConnection& db, std::int64_t at, const std::string& actor, const std::string& action,
                   const std::string& target, const std::string& detail) {
  if (db.dialect() == SqlDialect::kPostgres) {
    VIGIL_TRY(db.Execute("LOCK TABLE audit_head IN EXCLUSIVE MODE"));
  }
  VIGIL_ASSIGN_OR_RETURN(auto head, db.Query("SELECT records, last_id, last_hash FROM audit_head WHERE id = 1"));
  std::int64_t records = 0, last_id = 0;
  std::string prev = kGenesis;
  if (!head.empty()) {
    records = head.front().Int(0);
    last_id = head.front().Int(1);
    prev = head.front().Text(2);
  }
  const std::int64_t id = last_id + 1;
  const std::string hash = AuditRecordHash(prev, id, at, actor, action, target, detail);
  auto inserted = db.Execute(
      "INSERT INTO audit_log (id, at, actor, action, target, detail, prev_hash, hash) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {id, at, actor, action, target, detail, prev, hash});
  if (!inserted) return tl::unexpected(inserted.error());
  return WriteHead(db, records + 1, id, hash);
}

Status SealAuditLog(SqlConnection& db) {
  VIGIL_ASSIGN_OR_RETURN(auto head, db.Query("SELECT records FROM audit_head WHERE id = 1"));
  if (!head.empty()) return {};  // already chained
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id"));
  std::string prev = kGenesis;
  std::int64_t last_id = 0;
  for (const auto& row : rows) {
    const std::string hash =
        AuditRecordHash(prev, row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5));
    VIGIL_TRY(db.Execute("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3", {prev, hash, row.Int(0)}));
    prev = hash;
    last_id = row.Int(0);
  }
  return WriteHead(db, static_cast<std::int64_t>(rows.size()), last_id, prev);
}

Result<AuditCheck> VerifyAuditLog(SqlConnection& db) {
  AuditCheck check;
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT id, at, actor, action, target, detail, prev_hash, hash FROM audit_log ORDER BY id"));
  std::string prev = kGenesis;
  std::int64_t last_id = 0;
  for (const auto& row : rows) {
    const std::int64_t id = row.Int(0);
    const std::string expected =
        AuditRecordHash(row.Text(6), id, row.Int(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5));
    if (row.Text(6) != prev) {
      check.problems.push_back("record " + std::to_string(id) + ": does not follow record " + std::to_string(last_id) +
                               " (a record between them was deleted, or the previous one was changed)");
    }
    if (row.Text(7) != expected) {
      check.problems.push_back("record " + std::to_string(id) + ": its contents do not match its hash (edited)");
    }
    prev = row.Text(7);
    last_id = id;
    ++check.records;
  }
  VIGIL_ASSIGN_OR_RETURN(auto head, db.Query("SELECT records, last_id, last_hash FROM audit_head WHERE id = 1"));
  if (!head.empty()) {
    const auto& h = head.front();
    if (h.Int(0) != check.records) {
      check.problems.push_back("the log holds " + std::to_string(check.records) + " records but " +
                               std::to_string(h.Int(0)) + " were appended (records deleted)");
    }
    if (h.Int(1) != last_id || h.Text(2) != prev) {
      check.problems.push_back("the last record is not the last one appended (record " + std::to_string(h.Int(1)) +
                               "): the tail was deleted or replaced");
    }
  }
  return check;
}

}  // namespace vigil::store
