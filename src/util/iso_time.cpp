// IsoTime (util/iso_time.h).
#include "util/iso_time.h"

#include <cstdio>
#include <ctime>

namespace vigil {

std::string IsoTime(std::int64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  const auto n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%.*s.%06lldZ", static_cast<int>(n), buffer,
                static_cast<long long>(micros % 1'000'000));
  return out;
}

}  // namespace vigil
