// Events written with the changes they announce (see event_records.h).
#include "store/event_records.h"

#include <boost/json.hpp>

#include "util/iso_time.h"

namespace vigil::store {
namespace {

// block_content -> content.blocked, suspend_account -> account.suspended, ...
std::string ActionEventKind(const std::string& kind) {
  static const std::pair<const char*, const char*> kKinds[] = {
      {"block_content", "content.blocked"},      {"remove_content", "content.removed"},
      {"restore_content", "content.restored"},   {"restrict_account", "account.restricted"},
      {"suspend_account", "account.suspended"},  {"ban_account", "account.banned"},
      {"restore_account", "account.restored"},
  };
  for (const auto& [from, to] : kKinds) {
    if (kind == from) return to;
  }
  return "action." + kind;
}

}  // namespace

Status InsertEvent(SqlConnection& db, const NewEvent& e, std::int64_t now) {
  VIGIL_TRY(db.Execute(
      "INSERT INTO events (kind, user_id, content_id, case_id, data, created_at, next_attempt_at) VALUES ($1, $2, $3, "
      "$4, $5, $6, $6)",
      {e.kind, e.user_id, e.content_id, e.case_id, e.data, now}));
  return {};
}

Status InsertActionEvent(SqlConnection& db, const NewAction& a, std::int64_t action_id, std::int64_t now) {
  const auto& s = a.statement;
  boost::json::object statement{{"ground", s.ground},     {"facts", s.facts},     {"category", s.category},
                                {"legal_basis", s.legal_basis}, {"redress", s.redress}};
  boost::json::object data{{"action_id", action_id},
                           {"kind", a.kind},
                           {"automated", s.automated},
                           {"decision_id", a.decision_id},
                           {"statement", std::move(statement)}};
  data["until"] = a.until ? boost::json::value(IsoTime(*a.until)) : boost::json::value(nullptr);
  NewEvent event;
  event.kind = ActionEventKind(a.kind);
  event.user_id = a.user_id;
  event.content_id = a.content_id;
  event.case_id = a.case_id;
  event.data = boost::json::serialize(data);
  return InsertEvent(db, event, now);
}

}  // namespace vigil::store
