// The service's Prometheus metrics (prometheus-cpp core; served from our own /metrics route as
// text format 0.0.4): requests and latency by route and status, matches by bank, index size by
// signal type, imports by outcome, decoder workers, background filing and purging.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace vigil::server {

class ServiceMetrics {
 public:
  ServiceMetrics();
  void ObserveRequest(const std::string& route, const std::string& method, unsigned status, double seconds);
  void CountMatch(const std::string& bank, const std::string& signal_type);
  // Retroactive matching after an import: matches recorded, and uploads whose recording failed.
  void CountLateMatches(const std::string& bank, std::int64_t recorded, std::int64_t failed);
  // Sweeps after violating decisions: copies recorded, blocked, and those whose recording failed.
  void CountSweep(std::int64_t copies, std::int64_t blocked, std::int64_t failed);
  void CountImport(const std::string& bank, const std::string& outcome, std::int64_t added, std::int64_t removed);
  void SetIndexEntries(const std::string& signal_type, double entries);
  // The index of past uploads (retroactive matching): what it holds ("pdq", "digests",
  // "video_frames") and its memory.
  void SetPastUploads(const std::string& kind, double count, double memory_bytes);
  void CountLookupSignals(double signals);
  // Webhook passes: events delivered, attempts failed, events given up on; and those waiting.
  void CountWebhooks(std::int64_t delivered, std::int64_t failed, std::int64_t dead);
  void SetPendingEvents(std::int64_t pending);
  // Review queues: cases by queue and status (open, in_review, escalated), those past their SLA,
  // and the age of the most overdue one's SLA (0 when none is due yet).
  void SetQueue(const std::string& queue, std::int64_t open, std::int64_t in_review, std::int64_t escalated,
                std::int64_t overdue, double most_overdue_seconds);
  // From a bank change's transaction start (on any replica) to this process's index having it.
  void ObserveIndexSync(double seconds);
  // What the HTTP layer did on its own: answer_lost, connection_cap, accept_backoff.
  void CountConnectionEvent(const std::string& event);
  // Counts kept elsewhere (the decoder pool, the background reporting thread), mirrored into
  // counters at scrape time: `total` is the count's current sum.
  enum class Mirrored { kDecoderWorkers, kBackground };
  void MirrorCount(Mirrored family, const std::string& event, std::int64_t total);
  // Reports by state, and what needs a person (stalled filings, withdrawals pending at NCMEC,
  // filed reports whose case changed, cases that cannot be reported): set at scrape time.
  void SetReporting(const std::map<std::string, std::int64_t>& by_state, std::int64_t stalled,
                    std::int64_t withdrawals_pending, std::int64_t filed_followups, std::int64_t unreportable_cases);
  // List entries in flood quarantine now: set at scrape time.
  void SetQuarantinedEntries(std::int64_t entries);
  // Exchanges: one run's outcome ("ok", "failed", "busy": another replica held it) with the records
  // it fetched; feedback items by what became of them; the lag behind each service's newest record.
  void CountExchangeRun(const std::string& exchange, const std::string& outcome, std::int64_t fetched);
  void CountExchangeFeedback(const std::string& exchange, const std::string& state, std::int64_t items);
  // Both from the status each pass: the lag behind the newest record the service reported, and the
  // time since the last successful sync (which grows while syncs fail, where the lag may not).
  void SetExchangeLag(const std::string& exchange, double seconds);
  void SetExchangeSinceSuccess(const std::string& exchange, double seconds);
  // A classifier's uploads so far by outcome (classified, failed, skipped: circuit open or rate
  // limited), mirrored from its own counts, and whether its circuit is open now.
  void MirrorClassifier(const std::string& classifier, const std::string& outcome, std::int64_t total);
  void SetClassifierCircuitOpen(const std::string& classifier, bool open);
  // The text exposition of every metric.
  std::string Render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& matches_;
  prometheus::Family<prometheus::Counter>& late_matches_;
  prometheus::Family<prometheus::Counter>& sweep_copies_;
  prometheus::Family<prometheus::Counter>& imports_;
  prometheus::Family<prometheus::Counter>& exchange_runs_;
  prometheus::Family<prometheus::Counter>& exchange_records_;
  prometheus::Family<prometheus::Counter>& exchange_feedback_;
  prometheus::Family<prometheus::Gauge>& exchange_lag_;
  prometheus::Family<prometheus::Gauge>& exchange_since_success_;
  prometheus::Family<prometheus::Counter>& import_entries_;
  prometheus::Family<prometheus::Gauge>& index_entries_;
  prometheus::Family<prometheus::Gauge>& past_uploads_;
  prometheus::Family<prometheus::Counter>& webhooks_;
  prometheus::Gauge& events_pending_;
  prometheus::Family<prometheus::Gauge>& queue_cases_;
  prometheus::Family<prometheus::Gauge>& queue_overdue_;
  prometheus::Family<prometheus::Gauge>& queue_most_overdue_;
  prometheus::Gauge& past_upload_bytes_;
  prometheus::Counter& lookup_signals_;
  prometheus::Family<prometheus::Counter>& decoder_;
  prometheus::Family<prometheus::Counter>& background_;
  prometheus::Family<prometheus::Counter>& connection_events_;
  prometheus::Family<prometheus::Gauge>& reports_;
  prometheus::Family<prometheus::Gauge>& attention_;
  prometheus::Histogram& index_sync_;
  prometheus::Gauge& quarantined_;
  prometheus::Family<prometheus::Counter>& classifier_uploads_;
  prometheus::Family<prometheus::Gauge>& classifier_circuit_;
};

}  // namespace vigil::server
