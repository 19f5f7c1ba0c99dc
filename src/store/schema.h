// The store's schema as numbered migrations, applied in order inside transactions on open.
#pragma once

#include "store/sql_connection.h"

namespace vigil::store {

// The newest schema version this build knows.
int LatestSchemaVersion();

// Applies every migration above the database's current version, up to `up_to` (default: the
// latest; a lower one lets tests build a database as an older release left it). Refuses a database
// whose version is newer than this build (kUnsupported), so an old binary never writes a new schema.
Status Migrate(SqlConnection& connection, int up_to = 0);

Result<int> CurrentSchemaVersion(SqlConnection& connection);

}  // namespace vigil::store
