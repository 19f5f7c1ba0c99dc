// An index that follows the shared store, pushed by PostgreSQL and polled (index_follower.h).
#include "match/index_follower.h"

#include <algorithm>

#include "store/change_notifications.h"
#include "vigil/clock.h"

namespace vigil {

using SteadyClock = std::chrono::steady_clock;

IndexFollower::IndexFollower(Matcher& matcher, IndexFollowerOptions options)
    : matcher_(matcher), options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

IndexFollower::~IndexFollower() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

IndexFollowerStats IndexFollower::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void IndexFollower::Refresh() {
  if (auto refreshed = matcher_.Refresh(); !refreshed && options_.on_error) {
    options_.on_error("index refresh failed: " + refreshed.error().ToString());
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.refreshes;
  }
  if (options_.after_refresh) options_.after_refresh();
  MaybeSnapshot();
}

void IndexFollower::MaybeSnapshot() {
  if (options_.snapshot_every.count() <= 0 || options_.snapshot_dir.empty()) return;
  const auto start = SteadyClock::now();
  if (start - last_snapshot_ < options_.snapshot_every) return;
  last_snapshot_ = start;  // a failure waits for the next period too, rather than retrying at every refresh
  if (auto saved = matcher_.SaveSnapshot(options_.snapshot_dir); !saved) {
    if (options_.on_error) options_.on_error("index snapshot failed: " + saved.error().ToString());
    return;
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.snapshots;
  }
  if (options_.on_snapshot) {
    options_.on_snapshot(std::chrono::duration<double>(SteadyClock::now() - start).count());
  }
}

void IndexFollower::Run() {
  std::unique_ptr<store::ChangeListener> listener;
  auto next_poll = SteadyClock::now() + options_.interval;
  auto next_connect = SteadyClock::now();
  bool reported_down = false;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stats_.listening = listener != nullptr;
    }
    const auto now = SteadyClock::now();
    if (!options_.postgres_url.empty() && listener == nullptr && now >= next_connect) {
      auto opened = store::ChangeListener::Listen(options_.postgres_url);
      if (opened) {
        listener = std::move(*opened);
        reported_down = false;
        Refresh();  // anything changed while nobody listened
        next_poll = SteadyClock::now() + options_.interval;
      } else {
        if (!reported_down && options_.on_error) options_.on_error(opened.error().message + "; polling meanwhile");
        reported_down = true;
        next_connect = now + options_.interval;
      }
    }
    if (listener != nullptr) {
      const auto wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(next_poll - now),
                                   std::chrono::milliseconds(1), std::chrono::milliseconds(250));
      auto changes = listener->Wait(wait);
      if (!changes) {
        if (options_.on_error) options_.on_error(changes.error().message + "; polling until it is back");
        listener.reset();
        next_connect = SteadyClock::now() + std::chrono::milliseconds(500);
        continue;
      }
      if (!changes->empty()) {
        Refresh();
        next_poll = SteadyClock::now() + options_.interval;
        const std::int64_t synced = SystemClock().NowMicros();
        std::lock_guard lock(mu_);
        for (const std::int64_t at : *changes) {
          ++stats_.notifications;
          if (at <= 0 || at > synced) continue;
          const double seconds = static_cast<double>(synced - at) / 1e6;
          stats_.last_sync_seconds = seconds;
          stats_.max_sync_seconds = std::max(stats_.max_sync_seconds, seconds);
          if (options_.on_synced) options_.on_synced(seconds);
        }
        continue;
      }
    } else {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, std::min(next_poll, options_.postgres_url.empty() ? next_poll : next_connect),
                     [this] { return stop_; });
      if (stop_) return;
    }
    if (SteadyClock::now() >= next_poll) {
      Refresh();
      next_poll = SteadyClock::now() + options_.interval;
    }
  }
}

}  // namespace vigil
