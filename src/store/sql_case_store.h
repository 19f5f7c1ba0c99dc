// The CaseStore over the SQL layer (see include/vigil/cases.h), sharing the Store's connection
// pool and writing to the same hash-chained audit log.
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "store/sql_connection.h"
#include "vigil/cases.h"
#include "vigil/clock.h"
#include "vigil/store.h"

namespace vigil::store {

std::unique_ptr<CaseStore> MakeSqlCaseStore(ConnectionPool& pool, const Clock& clock, WorkflowOptions options = {});

}  // namespace vigil::store
