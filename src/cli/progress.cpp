// Progress bar drawing: at most ten redraws a second, rate and ETA, cleared when done.
#include "cli/progress.h"

#include <cstdio>

namespace vigil::cli {

ProgressBar::ProgressBar(std::size_t total, std::string label, bool enabled)
    : total_(total), label_(std::move(label)), enabled_(enabled && total > 0),
      start_(std::chrono::steady_clock::now()), last_draw_() {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(std::size_t done, std::size_t failed) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw(done, failed);
}

void ProgressBar::Draw(std::size_t done, std::size_t failed) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * static_cast<double>(done) / static_cast<double>(total_));
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = 0;
  std::fprintf(stderr, "\r%s [%s] %zu/%zu  %.0f/s  ETA %.0fs  failed %zu ", label_.c_str(), bar,
               done, total_, rate, eta, failed);
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace vigil::cli
