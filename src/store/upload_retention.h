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
// Held accounts: any user (not the empty one) with a case (open or closed, so any report and legal
// hold, which hang on cases), an enforcement action, or an account state. Their old uploads move
// into `content`, as an investigator or a preservation request for the account would need them.
// Rows go by partition or in chunks of 50,000, each chunk a step of its own.
//
// Each step is its own transaction under a transaction-scoped advisory lock (7215002), taken with
// pg_try_advisory_xact_lock: a replica that finds it taken stops and reports `skipped`. A step
// holds cases, accounts and actions in SHARE mode, so no account becomes held between the step
// deciding whose rows to keep and its commit (a case opened meanwhile waits for the step; one
// opened after it finds its account's older rows gone, as retention had already run). Locks are
// waited for at most 2 s (lock_timeout), so a long query never queues uploads behind a step; a
// step that times out fails the pass, which the next pass retries. A partition whose bounds are
// not its name's day (not one this made) is left alone, with a warning.
//
// `now` is the caller's: SqlStore checks the host's clock against PostgreSQL's first (a replica
// with a clock far ahead would drop today's uploads).
//
// Thread safety: functions of a connection, which the caller holds alone.
#pragma once

#include <cstdint>

#include "store/sql_connection.h"
#include "vigil/clock.h"
#include "vigil/store.h"

namespace vigil::store {

// PostgreSQL: kInvalidArgument when `clock` is more than 10 minutes off the server's (records would
// carry wrong times, and retention would drop today's uploads or keep stale ones); SQLite: nothing
// to compare with.
Status CheckClockOn(SqlConnection& db, const Clock& clock);

Result<UploadMaintenance> MaintainUploadsOn(SqlConnection& db, std::int64_t now, const UploadRetention& retention);

// The partitions as they are (SQLite: the one table).
Result<std::vector<UploadPartition>> ListUploadPartitionsOn(SqlConnection& db);

// "uploads_pYYYYMMDD" for the UTC day holding `micros`, and back (nullopt for other names).
std::string UploadPartitionName(std::int64_t micros);
std::optional<std::int64_t> UploadPartitionStart(std::string_view name);

}  // namespace vigil::store
