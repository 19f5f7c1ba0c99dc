// CyberTipline reports follow their case. When an appeal (or anything else) reverses part of a
// decided case, its reports must not go on as if nothing happened: inside the same transaction as
// the reversal,
//   - the case has nothing reportable left (every item restored, or no violating decision in a
//     category that is reported): every unfinished report is withdrawn;
//   - a report's own files changed (one of them was restored): that report is withdrawn, and the
//     case can be reported again for what is left;
// where "withdrawn" means: a draft or approved report (nothing sent) becomes `voided`; an open
// report (NCMEC holds an unfinished submission) keeps `withdraw_reason`, which makes the filer
// retract it before anything else; a filed report cannot be withdrawn at NCMEC and keeps the reason
// as a follow-up for the legal team. Each change is audited.
//
// Thread safety: a function of a connection, which the caller holds alone (inside its transaction).
#pragma once

#include <cstdint>
#include <string>

#include "store/sql_connection.h"
#include "vigil/status.h"

namespace vigil::store {

// Whether a decided case still has something to report: a final violating decision in a reported
// category, and at least one item not restored.
Result<bool> CaseReportable(SqlConnection& db, std::int64_t case_id);

// Applies the rules above to the case's reports; `why` says what changed ("appeal 4 overturned the
// decision"). Returns how many reports it withdrew or marked.
Result<int> FollowCase(SqlConnection& db, std::int64_t case_id, std::int64_t now, const std::string& actor,
                       const std::string& why);

}  // namespace vigil::store
