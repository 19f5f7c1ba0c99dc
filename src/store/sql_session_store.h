// The SessionStore over the SQL layer (see include/vigil/sessions.h), sharing the Store's
// connection pool and its hash-chained audit log (sessions' starts and ends are audited).
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "vigil/sessions.h"

namespace vigil::store {

std::unique_ptr<SessionStore> MakeSqlSessionStore(ConnectionPool& pool);

}  // namespace vigil::store
