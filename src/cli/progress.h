// A one-line progress bar on stderr for long runs (only when stderr is a terminal).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace vigil::cli {

class ProgressBar {
 public:
  // enabled: draw at all (callers pass "stderr is a terminal and not --quiet").
  ProgressBar(std::size_t total, std::string label, bool enabled);
  ~ProgressBar();
  void Update(std::size_t done, std::size_t failed);
  void Finish();

 private:
  void Draw(std::size_t done, std::size_t failed);
  std::size_t total_;
  std::string label_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace vigil::cli
