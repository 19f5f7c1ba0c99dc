// The service's background reporting duties: files every approved report as soon as it can (and
// resumes ones a crash or an outage interrupted), and purges evidence whose retention ended. One
// thread; each duty on its own interval; stopped (and joined) before the store goes away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "server/reporting_services.h"

namespace vigil::server {

struct SchedulerOptions {
  std::chrono::seconds file_interval{60};   // 0: never (filing only by the API or the CLI)
  std::chrono::seconds in_flight_grace{300};  // a request another process sent this recently is its own
  std::chrono::seconds purge_interval{86'400};  // 0: never
};

struct SchedulerCounts {
  std::int64_t filing_passes = 0;
  std::int64_t reports_filed = 0;
  std::int64_t purge_passes = 0;
  std::int64_t items_purged = 0;
};

class ReportingScheduler {
 public:
  ReportingScheduler(ReportingServices& services, SchedulerOptions options);
  ~ReportingScheduler();  // stops and joins
  ReportingScheduler(const ReportingScheduler&) = delete;
  ReportingScheduler& operator=(const ReportingScheduler&) = delete;

  void Start();
  void Stop();
  SchedulerCounts Counts() const;

 private:
  void Loop();
  void FilePass();
  void PurgePass();

  ReportingServices& services_;
  SchedulerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  SchedulerCounts counts_;
  std::thread thread_;
};

// The scheduler's options from the configuration: filing runs only when CyberTipline credentials
// are configured; purging only when the vault is open.
SchedulerOptions SchedulerOptionsFrom(const ServerConfig& config, const ReportingServices& services);

}  // namespace vigil::server
