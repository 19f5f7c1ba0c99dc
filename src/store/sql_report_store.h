// The ReportStore over the SQL layer (see include/vigil/reports.h), sharing the Store's
// connection pool and its hash-chained audit log.
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "vigil/clock.h"
#include "vigil/reports.h"

namespace vigil::store {

std::unique_ptr<ReportStore> MakeSqlReportStore(ConnectionPool& pool, const Clock& clock);

}  // namespace vigil::store
