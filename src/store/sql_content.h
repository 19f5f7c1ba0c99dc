// Uploads and their matches in SQL, shared by the Store (reads) and the CaseStore (which records an
// upload, its matches and the policy's outcome in one transaction).
//
// Thread safety: functions of a connection, which the caller holds alone.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/sql_connection.h"
#include "vigil/store.h"

namespace vigil::store {

// Where an upload is kept: one that matched something, and anything that was done about, in
// `content` with its matches (for good); one that matched nothing in `uploads`, which retention
// empties after its window (store/upload_retention.h). A content id is in one or the other, never
// both: writers take LockContentIdsOn first and look in both (SQLite has one writer at a time).

// Takes a transaction-scoped lock on each content id (PostgreSQL; in sorted order; a no-op on
// SQLite), so that two writers of one id take turns until commit.
Status LockContentIdsOn(SqlConnection& db, std::vector<std::string> ids);

// Inserts the upload and its matches into `content`; returns the content row id. kAlreadyExists
// when the content id is taken there (the transaction should then be abandoned).
Result<std::int64_t> InsertContentOn(SqlConnection& db, const ContentRecord& content, std::int64_t now);

// The columns an upload has in both `uploads` and `content` (moving one copies these).
inline constexpr const char* kUploadRecordColumns =
    "content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality, submitted_at, metadata, vpdq, "
    "outcome, classifications, plugin_hashes";

// One match of the content row (`retroactive` as the match says).
Status InsertMatchOn(SqlConnection& db, std::int64_t content_row, const MatchRecord& match, std::int64_t now);

// The upload's row in `content`, moving it there from `uploads` first when it is there; nullopt
// when neither table holds it (never recorded, or removed by retention). The caller holds its lock.
Result<std::optional<std::int64_t>> KeepInContentOn(SqlConnection& db, const std::string& content_id);

// Inserts uploads that matched nothing into `uploads` in one statement (submitted at `now` unless
// they say otherwise). The caller has locked their ids and found them free.
Status InsertUploadsOn(SqlConnection& db, std::span<const ContentRecord> contents, std::int64_t now);

// The upload with its matches (bank name and provenance), state and recorded policy outcome, from
// either table (ContentRecord::id is 0 for one in `uploads`).
Result<ContentRecord> ReadContentOn(SqlConnection& db, const std::string& content_id);

// What this platform's reviewers said of an entry's matches: uploads it matched in cases decided
// violating (confirmed), and in cases decided not violating plus the reviewers' rejections of the
// entry (entry_feedback) (rejected).
Result<std::pair<std::int64_t, std::int64_t>> EntryReviewCountsOn(SqlConnection& db, std::int64_t entry_id);

// A content row as read (no matches).
ContentRecord ContentFromRow(const SqlRow& row);
// The uploads with these content ids in either table, without their matches, in no particular order.
Result<std::vector<ContentRecord>> ReadContentsWithoutMatchesOn(SqlConnection& db, const std::vector<std::string>& ids);

}  // namespace vigil::store
