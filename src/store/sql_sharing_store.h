// The SharingStore over the SQL layer (see include/vigil/sharing.h), sharing the Store's
// connection pool and its hash-chained audit log.
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "vigil/clock.h"
#include "vigil/sharing.h"

namespace vigil::store {

std::unique_ptr<SharingStore> MakeSqlSharingStore(ConnectionPool& pool, const Clock& clock);

}  // namespace vigil::store
