// Retention of uploads that matched nothing (the `uploads` table, schema migration 8).
//
// PostgreSQL: `uploads` is partitioned by day of submission (UTC): uploads_pYYYYMMDD holds
// [day, day + 1) in Unix microseconds, and uploads_default anything no daily partition covers (rows
// from before migration 8, clocks far off, days the maintenance did not run ahead of). A pass:
//   1. makes the partitions of today and the next `partitions_ahead_days` days that are missing,
//      moving any rows of that day out of uploads_default first (ATTACH refuses otherwise);
//   2. when keep_days > 0, for each daily partition wholly older than now - keep_days: copies the
//      rows of held accounts into `content` (the permanent record), then drops the partition;
//      in uploads_default, the same for rows older than the cutoff, row by row.
// SQLite: one table; step 2 copies and deletes rows older than the cutoff.
// Held accounts: any user with a case (open or closed, so any report and legal hold, which hang
// on cases), an enforcement action, or an account state. Their old uploads are kept, as an
// investigator or a preservation request for the account would need them.
//
// Each step is its own transaction under a transaction-scoped advisory lock (7215002), taken with
// pg_try_advisory_xact_lock: a replica that finds it taken stops and reports `skipped`. DDL waits
// at most 2 s for its table lock (lock_timeout), so a long query never queues uploads behind it;
// a step that times out fails the pass, which the next pass retries.
//
// Thread safety: functions of a connection, which the caller holds alone.
#pragma once

#include <cstdint>

#include "store/sql_connection.h"
#include "vigil/store.h"

namespace vigil::store {

Result<UploadMaintenance> MaintainUploadsOn(SqlConnection& db, std::int64_t now, const UploadRetention& retention);

// The partitions as they are (SQLite: the one table).
Result<std::vector<UploadPartition>> ListUploadPartitionsOn(SqlConnection& db);

// "uploads_pYYYYMMDD" for the UTC day holding `micros`, and back (nullopt for other names).
std::string UploadPartitionName(std::int64_t micros);
std::optional<std::int64_t> UploadPartitionStart(std::string_view name);

}  // namespace vigil::store
