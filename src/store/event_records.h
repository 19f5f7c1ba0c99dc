// Writing events to the platform's outbox (include/vigil/events.h) inside the transaction of the
// change they announce: the store's parts that act call these, never the routes.
//
// Thread safety: functions of a connection, which the caller holds alone (inside its transaction).
#pragma once

#include <cstdint>
#include <string>

#include "store/enforcement_records.h"
#include "store/sql_connection.h"
#include "vigil/cases.h"

namespace vigil::store {

struct NewEvent {
  std::string kind;
  std::string user_id;
  std::string content_id;
  std::int64_t case_id = 0;
  std::string data = "{}";  // a JSON object
};
Status InsertEvent(SqlConnection& db, const NewEvent& event, std::int64_t now);

// The event an enforcement action (inserted as `action_id`) announces ("content.blocked",
// "account.banned", ...): its kind, and the user-facing parts of the action (never internal_detail).
Status InsertActionEvent(SqlConnection& db, const NewAction& action, std::int64_t action_id, std::int64_t now);

}  // namespace vigil::store
