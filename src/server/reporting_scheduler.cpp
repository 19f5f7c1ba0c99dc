// The background filer and purger of `vigil serve` (see reporting_scheduler.h).
#include "server/reporting_scheduler.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace vigil::server {
namespace {

std::string Quoted(const std::string& text) { return boost::json::serialize(boost::json::value(text)); }

}  // namespace

ReportingScheduler::ReportingScheduler(ReportingServices& services, SchedulerOptions options)
    : services_(services), options_(options) {}

ReportingScheduler::~ReportingScheduler() { Stop(); }

void ReportingScheduler::Start() {
  if (thread_.joinable()) return;
  if (options_.file_interval.count() == 0 && options_.purge_interval.count() == 0) return;
  thread_ = std::thread([this] { Loop(); });
}

void ReportingScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SchedulerCounts ReportingScheduler::Counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void ReportingScheduler::Loop() {
  using Clock = std::chrono::steady_clock;
  // The first passes run at once: reports approved while the service was down are filed now.
  Clock::time_point next_file = Clock::now(), next_purge = Clock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto now = Clock::now();
    if (options_.file_interval.count() > 0 && now >= next_file) {
      lock.unlock();
      FilePass();
      lock.lock();
      next_file = Clock::now() + options_.file_interval;
    }
    if (options_.purge_interval.count() > 0 && now >= next_purge) {
      lock.unlock();
      PurgePass();
      lock.lock();
      next_purge = Clock::now() + options_.purge_interval;
    }
    auto wake = Clock::time_point::max();
    if (options_.file_interval.count() > 0) wake = std::min(wake, next_file);
    if (options_.purge_interval.count() > 0) wake = std::min(wake, next_purge);
    cv_.wait_until(lock, wake, [this] { return stop_; });
  }
}

void ReportingScheduler::FilePass() {
  if (!services_.filer) return;
  auto filed = services_.filer->ResumeAll("system", options_.in_flight_grace, [this] {
    std::lock_guard lock(mu_);
    return !stop_;
  });
  std::lock_guard lock(mu_);
  ++counts_.filing_passes;
  if (!filed) {
    spdlog::warn(R"("msg":"background filing failed","error":{})", Quoted(filed.error().ToString()));
    return;
  }
  counts_.reports_filed += *filed;
  if (*filed > 0) spdlog::info(R"("msg":"reports filed","count":{})", *filed);
}

void ReportingScheduler::PurgePass() {
  if (!services_.vault) return;
  const PurgeResult purged = services_.vault->PurgeExpired("system");
  std::lock_guard lock(mu_);
  ++counts_.purge_passes;
  counts_.items_purged += purged.purged;
  if (purged.purged > 0 || !purged.problems.empty()) {
    spdlog::info(R"("msg":"evidence purged","items":{},"kept_on_hold":{},"problems":{})", purged.purged,
                 purged.kept_on_hold, purged.problems.size());
  }
  for (const auto& problem : purged.problems) spdlog::warn(R"("msg":"purge problem","detail":{})", Quoted(problem));
}

SchedulerOptions SchedulerOptionsFrom(const ServerConfig& config, const ReportingServices& services) {
  const auto& rep = config.reporting;
  SchedulerOptions options;
  const bool can_file = !rep.cybertip.username.empty() && services.client != nullptr;
  options.file_interval = can_file ? std::chrono::seconds(rep.file_interval_seconds) : std::chrono::seconds(0);
  // Longer than one request can take with every retry, so another process's live request is left be.
  options.in_flight_grace = std::chrono::seconds(
      (rep.cybertip.timeout.count() + 30) * rep.cybertip.attempts + 30);  // each try and its backoff (<= 30 s)
  options.purge_interval = services.vault ? std::chrono::seconds(rep.purge_interval_hours * 3600) : std::chrono::seconds(0);
  return options;
}

}  // namespace vigil::server
