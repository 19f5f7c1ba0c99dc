// Times as the API and the CLI print them: ISO 8601 in UTC with microseconds
// ("2026-12-03T07:41:38.123456Z"). Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace vigil {

// Microseconds since the Unix epoch, as ISO 8601 UTC.
std::string IsoTime(std::int64_t micros);

}  // namespace vigil
