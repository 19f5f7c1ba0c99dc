// Applying an import's ops to one bank inside the caller's transaction. The bank's live entries
// are read once into memory, the ops are applied there in file order (adds, relabels, removals by
// value or by record, record prunes), and the changes are written back in batches: multi-row
// INSERTs and UPDATE ... WHERE id IN (...). A list of N entries costs O(N) work and O(N / batch)
// round trips, whatever the database's planner statistics say (per-row lookups against a table
// that grows inside the transaction went quadratic on PostgreSQL).
#pragma once

#include <cstdint>

#include "store/sql_connection.h"
#include "vigil/store.h"

namespace vigil::store {

// Fills added/removed/relabelled/unchanged, added_entries and removed_entry_ids. Errors name the
// source and the op's line; the caller rolls back. The ops are consumed (their strings move into
// the applier) and freed before the rows are written.
Result<ImportResult> ApplyImport(SqlConnection& db, std::int64_t bank_id, std::int64_t import_id,
                                 const std::string& source, std::vector<ImportOp> ops,
                                 const std::function<Result<bool>(ImportOp&)>& more_ops, std::int64_t now);

}  // namespace vigil::store
