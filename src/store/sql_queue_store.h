// The QueueStore over the SQL layer (see include/vigil/review_queues.h), sharing the Store's
// connection pool and its hash-chained audit log (memberships and moves are audited).
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "vigil/clock.h"
#include "vigil/review_queues.h"

namespace vigil::store {

std::unique_ptr<QueueStore> MakeSqlQueueStore(ConnectionPool& pool, const Clock& clock);

}  // namespace vigil::store
