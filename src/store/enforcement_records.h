// Enforcement actions and accounts in SQL, and the words of their statements of reasons: shared
// by the parts of the CaseStore that act (the policy on an upload, a review decision, an appeal).
// The user-facing statement takes its ground and legal basis from the taxonomy and states the facts
// in general words; list names, entry ids and reviewers' notes go only into `internal_detail`.
//
// Thread safety: functions of a connection, which the caller holds alone (inside its transaction).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/sql_connection.h"
#include "vigil/cases.h"
#include "vigil/taxonomy.h"

namespace vigil::store {

inline constexpr const char* kActionColumns =
    "id, user_id, content_id, kind, until_at, ground, facts, automated, redress, actor, case_id, created_at, "
    "notified_at, category, legal_basis, internal_detail, decision_id, undone_by";

EnforcementAction ActionFromRow(const SqlRow& row);

struct NewAction {
  std::string user_id;
  std::string content_id;  // "" for account actions
  std::string kind;
  std::optional<std::int64_t> until;
  StatementOfReasons statement;
  std::string internal_detail;
  std::string actor;
  std::int64_t case_id = 0;
  std::int64_t decision_id = 0;
};
Result<std::int64_t> InsertAction(SqlConnection& db, const NewAction& action, std::int64_t now);
Result<EnforcementAction> ActionOn(SqlConnection& db, std::int64_t id);

Status SetAccount(SqlConnection& db, const std::string& user_id, const std::string& state,
                  std::optional<std::int64_t> until, std::int64_t now);
// The account as it stands at `now` (a timed restriction or suspension ends by itself).
Result<Account> AccountOn(SqlConnection& db, const std::string& user_id, std::int64_t now);

// Statements of reasons, in words for the user.
StatementOfReasons AutomatedStatement(const Category& category, bool account, const std::string& redress);
// A classifier's score alone hid the upload (policy.h, classifier_only): the user is told it is
// held for review, never that it matched a list or which violation it may be.
StatementOfReasons PendingReviewStatement(const Category& category, const std::string& redress);
StatementOfReasons ReviewStatement(const Category& category, bool account, const std::string& user_statement,
                                   const std::string& redress);
StatementOfReasons ReversalStatement(const std::string& why, const std::string& user_statement);

// JSON helpers for the TEXT columns that hold lists and maps.
std::vector<std::string> JsonStrings(const std::string& text);
std::string ToJsonArray(const std::vector<std::string>& items);
std::map<std::string, std::string> JsonStringMap(const std::string& text);
std::string ToJsonObject(const std::map<std::string, std::string>& items);

}  // namespace vigil::store
