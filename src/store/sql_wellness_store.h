// The WellnessStore over the SQL layer (see include/vigil/wellness.h), sharing the Store's
// connection pool and its hash-chained audit log (limits set and breaks are audited).
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "vigil/wellness.h"

namespace vigil::store {

std::unique_ptr<WellnessStore> MakeSqlWellnessStore(ConnectionPool& pool);

}  // namespace vigil::store
