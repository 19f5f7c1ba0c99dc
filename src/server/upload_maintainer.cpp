// Background upload maintenance (see upload_maintainer.h).
#include "server/upload_maintainer.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace vigil::server {

UploadMaintainer::UploadMaintainer(Store& store, UploadRetention retention, std::chrono::minutes interval)
    : store_(store), retention_(retention), interval_(interval) {}

UploadMaintainer::~UploadMaintainer() { Stop(); }

void UploadMaintainer::Start() {
  if (interval_.count() <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void UploadMaintainer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

UploadMaintenanceCounts UploadMaintainer::Counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void UploadMaintainer::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Pass();
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

void UploadMaintainer::Pass() {
  auto pass = store_.MaintainUploads(retention_);
  std::lock_guard lock(mu_);
  ++counts_.passes;
  if (!pass) {
    ++counts_.failures;
    spdlog::warn(R"("msg":"upload maintenance failed","error":{})",
                 boost::json::serialize(boost::json::value(pass.error().ToString())));
    return;
  }
  if (pass->skipped) {
    ++counts_.skipped;
    return;
  }
  for (const auto& warning : pass->warnings) {
    spdlog::warn(R"("msg":"upload maintenance","warning":{})", boost::json::serialize(boost::json::value(warning)));
  }
  counts_.uploads_removed += pass->uploads_removed;
  counts_.uploads_kept += pass->uploads_kept;
  counts_.partitions_created += static_cast<std::int64_t>(pass->partitions_created.size());
  counts_.partitions_dropped += static_cast<std::int64_t>(pass->partitions_dropped.size());
  if (pass->uploads_removed > 0 || pass->uploads_kept > 0 || !pass->partitions_created.empty() ||
      !pass->partitions_dropped.empty()) {
    boost::json::array created(pass->partitions_created.begin(), pass->partitions_created.end());
    boost::json::array dropped(pass->partitions_dropped.begin(), pass->partitions_dropped.end());
    spdlog::info(R"("msg":"upload maintenance","partitions_created":{},"partitions_dropped":{},)"
                 R"("uploads_removed":{},"uploads_kept":{},"retention_days":{})",
                 boost::json::serialize(created), boost::json::serialize(dropped), pass->uploads_removed,
                 pass->uploads_kept, retention_.keep_days);
  }
}

void MirrorUploadMaintenance(ServiceMetrics& metrics, const UploadMaintenanceCounts& counts) {
  using Mirrored = ServiceMetrics::Mirrored;
  metrics.MirrorCount(Mirrored::kBackground, "upload_maintenance_passes", counts.passes);
  metrics.MirrorCount(Mirrored::kBackground, "upload_maintenance_failures", counts.failures);
  metrics.MirrorCount(Mirrored::kBackground, "upload_maintenance_skipped", counts.skipped);
  metrics.MirrorCount(Mirrored::kBackground, "upload_rows_removed", counts.uploads_removed);
  metrics.MirrorCount(Mirrored::kBackground, "upload_rows_kept", counts.uploads_kept);
  metrics.MirrorCount(Mirrored::kBackground, "upload_partitions_created", counts.partitions_created);
  metrics.MirrorCount(Mirrored::kBackground, "upload_partitions_dropped", counts.partitions_dropped);
}

}  // namespace vigil::server
