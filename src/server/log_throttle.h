// A token bucket for log lines that an unauthenticated client can cause (refused requests): at
// most `per_second` lines a second on average, bursts of `burst`; what it holds back is counted
// and reported with the next line that is written, so a flood is visible without filling the disk.
//
// Thread safety: Admit and TakeDropped may be called from many threads at once.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace vigil::server {

class LogThrottle {
 public:
  LogThrottle(double per_second, double burst) : per_second_(per_second), burst_(burst), tokens_(burst) {}

  // True when a line may be written now; otherwise counts it as dropped.
  bool Admit() {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    const double elapsed = std::chrono::duration<double>(now - updated_).count();
    updated_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
    if (tokens_ < 1) {
      ++dropped_;
      return false;
    }
    tokens_ -= 1;
    return true;
  }

  // Lines held back since the last call.
  std::int64_t TakeDropped() {
    std::lock_guard lock(mu_);
    return std::exchange(dropped_, 0);
  }

 private:
  const double per_second_, burst_;
  std::mutex mu_;
  double tokens_;
  std::chrono::steady_clock::time_point updated_ = std::chrono::steady_clock::now();
  std::int64_t dropped_ = 0;
};

}  // namespace vigil::server
