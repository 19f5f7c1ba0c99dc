// Time as an interface, so tests can control it (LevelDB's Env idea, for clocks only).
#pragma once

#include <cstdint>

namespace vigil {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch.
  virtual std::int64_t NowMicros() const = 0;
};

// The real-time clock; a process-wide singleton.
const Clock& SystemClock();

}  // namespace vigil
