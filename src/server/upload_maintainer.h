// The service's upload maintenance in the background: a pass of Store::MaintainUploads when it
// starts (so today's partitions exist before uploads arrive) and then every `interval`: the coming
// days' partitions made, uploads that matched nothing removed after the retention window. Every
// replica (`vigil serve`, `vigil worker`) runs one; the store lets one pass at a time do the work.
//
// Thread safety: Start/Stop from one thread; Counts from any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "server/metrics.h"
#include "vigil/store.h"

namespace vigil::server {

struct UploadMaintenanceCounts {
  std::int64_t passes = 0, failures = 0, skipped = 0;
  std::int64_t uploads_removed = 0, uploads_kept = 0;
  std::int64_t partitions_created = 0, partitions_dropped = 0;
};

class UploadMaintainer {
 public:
  // interval 0: never (Start does nothing).
  UploadMaintainer(Store& store, UploadRetention retention, std::chrono::minutes interval);
  ~UploadMaintainer();  // stops and joins
  UploadMaintainer(const UploadMaintainer&) = delete;
  UploadMaintainer& operator=(const UploadMaintainer&) = delete;

  void Start();
  void Stop();
  UploadMaintenanceCounts Counts() const;

 private:
  void Loop();
  void Pass();

  Store& store_;
  const UploadRetention retention_;
  const std::chrono::minutes interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  UploadMaintenanceCounts counts_;
  std::thread thread_;
};

// The counts as vigil_background_total{event="upload_..."} at scrape time.
void MirrorUploadMaintenance(ServiceMetrics& metrics, const UploadMaintenanceCounts& counts);

}  // namespace vigil::server
