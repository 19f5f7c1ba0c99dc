// The ExchangeStore over the SQL layer (see include/vigil/exchange.h), sharing the Store's
// connection pool and its hash-chained audit log.
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "vigil/clock.h"
#include "vigil/exchange.h"

namespace vigil::store {

std::unique_ptr<ExchangeStore> MakeSqlExchangeStore(ConnectionPool& pool, const Clock& clock);

}  // namespace vigil::store
