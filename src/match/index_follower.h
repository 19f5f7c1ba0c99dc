// Keeps a Matcher current with the shared store while a server or worker runs: it refreshes as
// soon as PostgreSQL announces a bank change (store/change_notifications.h: LISTEN/NOTIFY, pushed
// at the changing transaction's commit) and, regardless, every `interval` (SQLite, a notification
// lost while the listening connection was down, a database without the triggers). Each refresh
// after a notification reports the sync delay: from the change's transaction start to the index
// having it.
//
// Thread safety: runs one thread of its own; Stats may be called from any thread. The callbacks
// run on that thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "vigil/matcher.h"

namespace vigil {

struct IndexFollowerOptions {
  std::chrono::milliseconds interval{2000};
  std::string postgres_url;  // empty: polling only
  std::function<void()> after_refresh;                        // gauges, rules reload, ...
  std::function<void(double seconds)> on_synced;              // one per notified change
  std::function<void(const std::string& message)> on_error;   // a failed refresh, listener or snapshot
  // A matcher snapshot written after a refresh at most this often (0: never), so the next start
  // (this replica's or a new one's) reads it instead of every entry; see Matcher::SaveSnapshot.
  std::string snapshot_dir;
  std::chrono::minutes snapshot_every{0};
  std::function<void(double seconds)> on_snapshot;            // one per snapshot written
};

struct IndexFollowerStats {
  std::int64_t notifications = 0;  // changes announced by PostgreSQL
  std::int64_t refreshes = 0;
  double last_sync_seconds = 0;
  double max_sync_seconds = 0;
  bool listening = false;          // the LISTEN connection is up
  std::int64_t snapshots = 0;      // written
};

class IndexFollower {
 public:
  IndexFollower(Matcher& matcher, IndexFollowerOptions options);
  ~IndexFollower();  // stops and joins its thread
  IndexFollower(const IndexFollower&) = delete;
  IndexFollower& operator=(const IndexFollower&) = delete;

  IndexFollowerStats Stats() const;

 private:
  void Run();
  void Refresh();
  void MaybeSnapshot();

  Matcher& matcher_;
  IndexFollowerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  IndexFollowerStats stats_;
  std::chrono::steady_clock::time_point last_snapshot_ = std::chrono::steady_clock::now();
  std::thread thread_;
};

}  // namespace vigil
