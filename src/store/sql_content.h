// Uploads and their matches in SQL, shared by the Store (reads) and the CaseStore (which records an
// upload, its matches and the policy's outcome in one transaction).
//
// Thread safety: functions of a connection, which the caller holds alone.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "store/sql_connection.h"
#include "vigil/store.h"

namespace vigil::store {

// Inserts the upload and its matches; returns the content row id. kAlreadyExists when the
// content id is taken (the transaction should then be abandoned).
Result<std::int64_t> InsertContentOn(SqlConnection& db, const ContentRecord& content, std::int64_t now);

// The upload with its matches (bank name and provenance), state and recorded policy outcome.
Result<ContentRecord> ReadContentOn(SqlConnection& db, const std::string& content_id);

// A content row as read (no matches).
ContentRecord ContentFromRow(const SqlRow& row);
// The uploads with these content ids, without their matches, in no particular order.
Result<std::vector<ContentRecord>> ReadContentsWithoutMatchesOn(SqlConnection& db, const std::vector<std::string>& ids);
// Inserts uploads that matched nothing in one statement; content ids already taken are left as
// they are. Returns the content ids inserted.
Result<std::vector<std::string>> InsertUnmatchedContentsOn(SqlConnection& db, std::span<const ContentRecord> contents,
                                                           std::int64_t now);

}  // namespace vigil::store
