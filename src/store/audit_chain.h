// The hash-chained audit log. Every record holds the SHA-256 of the previous record's hash and its
// own fields, so editing or deleting a record breaks the chain at that point; a head row (count and
// last hash, written in the same transaction as each append) catches a deleted tail. Appends are
// serialised (a table lock on PostgreSQL; SQLite has one writer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/sql_connection.h"
#include "vigil/status.h"

namespace vigil::store {

// The hash of a record: SHA-256 over the previous hash and the fields, unambiguously framed.
std::string AuditRecordHash(const std::string& prev_hash, std::int64_t id, std::int64_t at, const std::string& actor,
                            const std::string& action, const std::string& target, const std::string& detail);

// Appends a record inside the caller's transaction.
Status AppendAudit(SqlConnection& db, std::int64_t at, const std::string& actor, const std::string& action,
                   const std::string& target, const std::string& detail);

// Chains records written before the log was chained (schema version < 4), in id order, once.
Status SealAuditLog(SqlConnection& db);

struct AuditCheck {
  std::int64_t records = 0;
  std::vector<std::string> problems;  // empty: the chain verifies
};

// Walks the whole chain and reports every break, naming the record.
Result<AuditCheck> VerifyAuditLog(SqlConnection& db);

}  // namespace vigil::store
