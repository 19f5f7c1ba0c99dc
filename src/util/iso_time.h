// Times as the API and the CLI print them: ISO 8601 in UTC with microseconds
// ("2026-12-03T07:41:38.123456Z"). Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vigil {

// Microseconds since the Unix epoch, as ISO 8601 UTC.
std::string IsoTime(std::int64_t micros);
// "2026-11-30T10:00:00Z", with or without a fraction of a second, as microseconds since the Unix
// epoch; nothing when the text is not that.
std::optional<std::int64_t> ParseIsoTime(const std::string& text);

}  // namespace vigil
