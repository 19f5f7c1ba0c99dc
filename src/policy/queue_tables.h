// The rules file's [[queue]] tables read into ReviewQueue values (checked by ReviewQueues::Make).
// Thread safety: a pure function.
#pragma once

#include <string>
#include <vector>

#include <toml++/toml.h>

#include "vigil/review_queues.h"

namespace vigil::policy {

// Keys: name, title, categories, banks, bank_labels, sources, max_priority, sla_hours, open_to_all.
// Errors name `source` and the line.
Result<std::vector<ReviewQueue>> ParseQueueTables(const toml::array& tables, const std::string& source);

}  // namespace vigil::policy
