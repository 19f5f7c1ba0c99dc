// Enforcement actions, accounts and statements of reasons in SQL (see enforcement_records.h).
#include "store/enforcement_records.h"

#include "store/event_records.h"

#include <boost/json.hpp>

namespace vigil::store {

EnforcementAction ActionFromRow(const SqlRow& row) {
  EnforcementAction a;
  a.id = row.Int(0);
  a.user_id = row.Text(1);
  a.content_id = row.Text(2);
  a.kind = row.Text(3);
  a.until = row.OptInt(4);
  a.statement.ground = row.Text(5);
  a.statement.facts = row.Text(6);
  a.statement.automated = row.Int(7) != 0;
  a.statement.redress = row.Text(8);
  a.actor = row.Text(9);
  a.case_id = row.Int(10);
  a.created_at = row.Int(11);
  a.notified_at = row.OptInt(12);
  a.statement.category = row.Text(13);
  a.statement.legal_basis = row.Text(14);
  a.internal_detail = row.Text(15);
  a.decision_id = row.Int(16);
  a.undone_by = row.OptInt(17);
  return a;
}

Result<std::int64_t> InsertAction(SqlConnection& db, const NewAction& a, std::int64_t now) {
  const auto& s = a.statement;
  auto inserted = db.Query(
      "INSERT INTO actions (user_id, content_id, kind, until_at, ground, facts, automated, redress, actor, case_id, "
      "decision_id, created_at, category, legal_basis, internal_detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
      "$10, $11, $12, $13, $14, $15) RETURNING id",
      {a.user_id, a.content_id, a.kind, a.until ? SqlValue{*a.until} : SqlValue{}, s.ground, s.facts,
       std::int64_t{s.automated ? 1 : 0}, s.redress, a.actor, a.case_id, a.decision_id, now, s.category, s.legal_basis,
       a.internal_detail});
  if (!inserted) return tl::unexpected(inserted.error());
  const std::int64_t id = inserted->front().Int(0);
  // Announced to the platform with the action, in its transaction (include/vigil/events.h).
  VIGIL_TRY(InsertActionEvent(db, a, id, now));
  return id;
}

Result<EnforcementAction> ActionOn(SqlConnection& db, std::int64_t id) {
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kActionColumns + " FROM actions WHERE id = $1", {id}));
  if (rows.empty()) return Fail(ErrorCode::kNotFound, "no action " + std::to_string(id));
  return ActionFromRow(rows.front());
}

Status SetAccount(SqlConnection& db, const std::string& user_id, const std::string& state,
                  std::optional<std::int64_t> until, std::int64_t now) {
  auto updated = db.Execute("UPDATE accounts SET state = $1, until_at = $2, updated_at = $3 WHERE user_id = $4",
                            {state, until ? SqlValue{*until} : SqlValue{}, now, user_id});
  if (!updated) return tl::unexpected(updated.error());
  if (*updated == 0) {
    VIGIL_TRY(db.Execute("INSERT INTO accounts (user_id, state, until_at, updated_at) VALUES ($1, $2, $3, $4)",
                         {user_id, state, until ? SqlValue{*until} : SqlValue{}, now}));
  }
  return {};
}

Result<Account> AccountOn(SqlConnection& db, const std::string& user_id, std::int64_t now) {
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT user_id, state, until_at, updated_at FROM accounts WHERE user_id = $1", {user_id}));
  Account a;
  a.user_id = user_id;
  if (rows.empty()) return a;
  a.state = rows.front().Text(1);
  a.until = rows.front().OptInt(2);
  a.updated_at = rows.front().Int(3);
  if (a.until && *a.until <= now && a.state != "banned") {
    a.state = "active";
    a.until.reset();
  }
  return a;
}

StatementOfReasons AutomatedStatement(const Category& category, bool account, const std::string& redress) {
  StatementOfReasons s;
  s.category = category.id;
  s.ground = category.ground;
  s.legal_basis = category.legal_basis;
  s.facts = account ? "An upload from this account matched a list of known material of this kind that the platform "
                      "uses. The action was taken automatically, before any person reviewed it."
                    : "This upload matched a list of known material of this kind that the platform uses. It was "
                      "blocked automatically, before any person reviewed it.";
  s.automated = true;
  s.redress = redress;
  return s;
}

StatementOfReasons PendingReviewStatement(const Category& category, const std::string& redress) {
  StatementOfReasons s;
  s.category = category.id;  // the case's category, for the figures; the words below accuse of nothing
  s.ground = "Hidden while the platform reviews it: nothing has been decided";
  s.legal_basis = "The platform's terms of service, which let it hide content while it is reviewed";
  s.facts = "An automated assessment flagged this upload for review. It is hidden until a person has reviewed it; "
            "nothing has been decided about it or about this account.";
  s.automated = true;
  s.redress = redress;
  return s;
}

StatementOfReasons ReviewStatement(const Category& category, bool account, const std::string& user_statement,
                                   const std::string& redress) {
  StatementOfReasons s;
  s.category = category.id;
  s.ground = category.ground;
  s.legal_basis = category.legal_basis;
  s.facts = account ? "Our review team confirmed that content uploaded by this account violates this policy."
                    : "Our review team confirmed that this content violates this policy.";
  if (!user_statement.empty()) s.facts += " " + user_statement;
  s.automated = false;
  s.redress = redress;
  return s;
}

StatementOfReasons ReversalStatement(const std::string& why, const std::string& user_statement) {
  StatementOfReasons s;
  s.ground = why;
  s.facts = "The earlier action is reversed.";
  if (!user_statement.empty()) s.facts += " " + user_statement;
  s.automated = false;
  s.redress = "No further action is needed.";
  return s;
}

std::vector<std::string> JsonStrings(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const auto value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return out;
  for (const auto& item : value.as_array()) {
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

std::string ToJsonArray(const std::vector<std::string>& items) {
  boost::json::array a;
  for (const auto& s : items) a.emplace_back(s);
  return boost::json::serialize(a);
}

std::map<std::string, std::string> JsonStringMap(const std::string& text) {
  std::map<std::string, std::string> out;
  boost::system::error_code ec;
  const auto value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return out;
  for (const auto& [key, item] : value.as_object()) {
    if (item.is_string()) out.emplace(std::string(key), std::string(item.as_string()));
  }
  return out;
}

std::string ToJsonObject(const std::map<std::string, std::string>& items) {
  boost::json::object o;
  for (const auto& [key, value] : items) o[key] = value;
  return boost::json::serialize(o);
}

}  // namespace vigil::store
