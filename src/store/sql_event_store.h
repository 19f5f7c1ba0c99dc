// The EventStore over the SQL layer (see include/vigil/events.h), sharing the Store's connection
// pool and its hash-chained audit log (redeliveries are audited).
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "vigil/clock.h"
#include "vigil/events.h"

namespace vigil::store {

std::unique_ptr<EventStore> MakeSqlEventStore(ConnectionPool& pool, const Clock& clock);

}  // namespace vigil::store
