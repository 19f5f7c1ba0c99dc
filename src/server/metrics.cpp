// Prometheus metric families and their text rendering.
#include "server/metrics.h"

#include <prometheus/text_serializer.h>

namespace vigil::server {

ServiceMetrics::ServiceMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("vigil_http_requests_total")
                    .Help("HTTP requests by route, method and status")
                    .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("vigil_http_request_duration_seconds")
                   .Help("Time from a request's last byte to its response, by route")
                   .Register(*registry_)),
      matches_(prometheus::BuildCounter().Name("vigil_matches_total").Help("Matches by bank and signal type").Register(*registry_)),
      late_matches_(prometheus::BuildCounter()
                        .Name("vigil_late_matches_total")
                        .Help("Retroactive matching after imports, by bank: matches recorded, uploads that failed")
                        .Register(*registry_)),
      sweep_copies_(prometheus::BuildCounter()
                        .Name("vigil_sweep_copies_total")
                        .Help("Copies of confirmed files found by sweeps: recorded (held for review), blocked, failed")
                        .Register(*registry_)),
      imports_(prometheus::BuildCounter().Name("vigil_imports_total").Help("Imports by bank and outcome").Register(*registry_)),
      exchange_runs_(prometheus::BuildCounter()
                         .Name("vigil_exchange_runs_total")
                         .Help("Exchange syncs by exchange and outcome (ok, failed, busy: another replica held it)")
                         .Register(*registry_)),
      exchange_records_(prometheus::BuildCounter()
                            .Name("vigil_exchange_records_total")
                            .Help("Records fetched from hash-sharing services, by exchange")
                            .Register(*registry_)),
      exchange_feedback_(prometheus::BuildCounter()
                             .Name("vigil_exchange_feedback_total")
                             .Help("Review decisions sent back to hash-sharing services, by exchange and state "
                                   "(sent, skipped: the service had it, failed, retrying)")
                             .Register(*registry_)),
      exchange_lag_(prometheus::BuildGauge()
                        .Name("vigil_exchange_lag_seconds")
                        .Help("Seconds since the newest record a hash-sharing service reported, by exchange")
                        .Register(*registry_)),
      exchange_since_success_(prometheus::BuildGauge()
                                  .Name("vigil_exchange_since_success_seconds")
                                  .Help("Seconds since an exchange's last successful sync (grows while syncs fail)")
                                  .Register(*registry_)),
      import_entries_(prometheus::BuildCounter()
                          .Name("vigil_import_entries_total")
                          .Help("Entries added or removed by imports, by bank")
                          .Register(*registry_)),
      index_entries_(prometheus::BuildGauge()
                         .Name("vigil_index_entries")
                         .Help("Live entries in the in-memory indexes, by signal type")
                         .Register(*registry_)),
      past_uploads_(prometheus::BuildGauge()
                        .Name("vigil_past_uploads")
                        .Help("Uploads of the look-back window held for retroactive matching, by kind (pdq, digests, video_frames)")
                        .Register(*registry_)),
      webhooks_(prometheus::BuildCounter()
                    .Name("vigil_webhook_deliveries_total")
                    .Help("Webhook attempts by outcome: delivered, failed (retried later), dead (given up on)")
                    .Register(*registry_)),
      events_pending_(prometheus::BuildGauge()
                          .Name("vigil_events_pending")
                          .Help("Events to the platform not yet delivered by webhook (dead letters apart)")
                          .Register(*registry_)
                          .Add({})),
      queue_cases_(prometheus::BuildGauge()
                       .Name("vigil_queue_cases")
                       .Help("Cases still to decide, by review queue and status (open, in_review, escalated)")
                       .Register(*registry_)),
      queue_overdue_(prometheus::BuildGauge()
                         .Name("vigil_queue_overdue_cases")
                         .Help("Cases past their SLA and not decided, by review queue")
                         .Register(*registry_)),
      queue_most_overdue_(prometheus::BuildGauge()
                              .Name("vigil_queue_most_overdue_seconds")
                              .Help("How far past its SLA the most overdue case of each review queue is (0: none)")
                              .Register(*registry_)),
      past_upload_bytes_(prometheus::BuildGauge()
                             .Name("vigil_past_upload_index_bytes")
                             .Help("Memory of the index of past uploads")
                             .Register(*registry_)
                             .Add({})),
      lookup_signals_(prometheus::BuildCounter()
                          .Name("vigil_lookup_signals_total")
                          .Help("Signals looked up (a lookup request carries up to 1000)")
                          .Register(*registry_)
                          .Add({})),
      decoder_(prometheus::BuildCounter()
                   .Name("vigil_decoder_workers_total")
                   .Help("Sandboxed decoder workers: requests served, workers started, workers lost (crashed, "
                         "filtered or timed out)")
                   .Register(*registry_)),
      background_(prometheus::BuildCounter()
                      .Name("vigil_background_total")
                      .Help("Background reporting work: reports filed, evidence items purged, passes run")
                      .Register(*registry_)),
      connection_events_(prometheus::BuildCounter()
                             .Name("vigil_http_connection_events_total")
                             .Help("What the HTTP layer did on its own: answers not delivered (client gone after "
                                   "the work was done), connections refused by the caps, accept paused at the "
                                   "descriptor limit")
                             .Register(*registry_)),
      reports_(prometheus::BuildGauge().Name("vigil_reports").Help("CyberTipline reports by state").Register(*registry_)),
      attention_(prometheus::BuildGauge()
                     .Name("vigil_reporting_attention")
                     .Help("Reporting that needs a person: stalled filings (an error recorded), withdrawals pending "
                           "at NCMEC, filed reports whose case changed, decided cases that cannot be reported, "
                           "failed reports (to be filed again once the cause is dealt with)")
                     .Register(*registry_)),
      index_sync_(prometheus::BuildHistogram()
                      .Name("vigil_index_sync_seconds")
                      .Help("From a bank change's transaction start, on any replica, to this process's index "
                            "having it (PostgreSQL LISTEN/NOTIFY)")
                      .Register(*registry_)
                      .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                                       2.5, 5, 10, 30})),
      quarantined_(prometheus::BuildGauge()
                       .Name("vigil_quarantined_entries")
                       .Help("List entries in flood quarantine: their matches are held for review until released")
                       .Register(*registry_)
                       .Add({})),
      classifier_uploads_(prometheus::BuildCounter()
                              .Name("vigil_classifier_uploads_total")
                              .Help("Uploads by classifier and outcome: classified, failed (the classifier answered an error), "
                                    "skipped (its circuit was open or its rate limit reached)")
                              .Register(*registry_)),
      classifier_circuit_(prometheus::BuildGauge()
                              .Name("vigil_classifier_circuit_open")
                              .Help("1 while a classifier's circuit breaker is open (it is not called), by classifier")
                              .Register(*registry_)) {}

void ServiceMetrics::SetQuarantinedEntries(std::int64_t entries) { quarantined_.Set(static_cast<double>(entries)); }

void ServiceMetrics::ObserveIndexSync(double seconds) { index_sync_.Observe(seconds); }

void ServiceMetrics::ObserveRequest(const std::string& route, const std::string& method, unsigned status,
                                    double seconds) {
  requests_.Add({{"route", route}, {"method", method}, {"status", std::to_string(status)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                                   0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                                   1,      2.5,     5,      10};
  latency_.Add({{"route", route}}, kBuckets).Observe(seconds);
}

void ServiceMetrics::CountMatch(const std::string& bank, const std::string& signal_type) {
  matches_.Add({{"bank", bank}, {"signal_type", signal_type}}).Increment();
}

void ServiceMetrics::CountSweep(std::int64_t copies, std::int64_t blocked, std::int64_t failed) {
  sweep_copies_.Add({{"outcome", "recorded"}}).Increment(static_cast<double>(copies));
  sweep_copies_.Add({{"outcome", "blocked"}}).Increment(static_cast<double>(blocked));
  sweep_copies_.Add({{"outcome", "failed"}}).Increment(static_cast<double>(failed));
}

void ServiceMetrics::CountLateMatches(const std::string& bank, std::int64_t recorded, std::int64_t failed) {
  late_matches_.Add({{"bank", bank}, {"outcome", "recorded"}}).Increment(static_cast<double>(recorded));
  late_matches_.Add({{"bank", bank}, {"outcome", "failed"}}).Increment(static_cast<double>(failed));
}

void ServiceMetrics::CountExchangeRun(const std::string& exchange, const std::string& outcome, std::int64_t fetched) {
  exchange_runs_.Add({{"exchange", exchange}, {"outcome", outcome}}).Increment();
  exchange_records_.Add({{"exchange", exchange}}).Increment(static_cast<double>(fetched));
}

void ServiceMetrics::CountExchangeFeedback(const std::string& exchange, const std::string& state, std::int64_t items) {
  if (items > 0) exchange_feedback_.Add({{"exchange", exchange}, {"state", state}}).Increment(static_cast<double>(items));
}

void ServiceMetrics::SetQueue(const std::string& queue, std::int64_t open, std::int64_t in_review,
                              std::int64_t escalated, std::int64_t overdue, double most_overdue_seconds) {
  queue_cases_.Add({{"queue", queue}, {"status", "open"}}).Set(static_cast<double>(open));
  queue_cases_.Add({{"queue", queue}, {"status", "in_review"}}).Set(static_cast<double>(in_review));
  queue_cases_.Add({{"queue", queue}, {"status", "escalated"}}).Set(static_cast<double>(escalated));
  queue_overdue_.Add({{"queue", queue}}).Set(static_cast<double>(overdue));
  queue_most_overdue_.Add({{"queue", queue}}).Set(most_overdue_seconds);
}

void ServiceMetrics::SetExchangeLag(const std::string& exchange, double seconds) {
  exchange_lag_.Add({{"exchange", exchange}}).Set(seconds);
}

void ServiceMetrics::SetExchangeSinceSuccess(const std::string& exchange, double seconds) {
  exchange_since_success_.Add({{"exchange", exchange}}).Set(seconds);
}

void ServiceMetrics::CountImport(const std::string& bank, const std::string& outcome, std::int64_t added,
                                 std::int64_t removed) {
  imports_.Add({{"bank", bank}, {"outcome", outcome}}).Increment();
  import_entries_.Add({{"bank", bank}, {"change", "added"}}).Increment(static_cast<double>(added));
  import_entries_.Add({{"bank", bank}, {"change", "removed"}}).Increment(static_cast<double>(removed));
}

void ServiceMetrics::CountWebhooks(std::int64_t delivered, std::int64_t failed, std::int64_t dead) {
  if (delivered > 0) webhooks_.Add({{"outcome", "delivered"}}).Increment(static_cast<double>(delivered));
  if (failed > 0) webhooks_.Add({{"outcome", "failed"}}).Increment(static_cast<double>(failed));
  if (dead > 0) webhooks_.Add({{"outcome", "dead"}}).Increment(static_cast<double>(dead));
}

void ServiceMetrics::SetPendingEvents(std::int64_t pending) { events_pending_.Set(static_cast<double>(pending)); }

void ServiceMetrics::SetPastUploads(const std::string& kind, double count, double memory_bytes) {
  past_uploads_.Add({{"kind", kind}}).Set(count);
  past_upload_bytes_.Set(memory_bytes);
}

void ServiceMetrics::SetIndexEntries(const std::string& signal_type, double entries) {
  index_entries_.Add({{"signal_type", signal_type}}).Set(entries);
}

void ServiceMetrics::CountLookupSignals(double signals) { lookup_signals_.Increment(signals); }

void ServiceMetrics::CountConnectionEvent(const std::string& event) { connection_events_.Add({{"event", event}}).Increment(); }

void ServiceMetrics::MirrorCount(Mirrored family, const std::string& event, std::int64_t total) {
  auto& f = family == Mirrored::kDecoderWorkers ? decoder_ : background_;
  auto& counter = f.Add({{"event", event}});
  const double delta = static_cast<double>(total) - counter.Value();
  if (delta > 0) counter.Increment(delta);
}

void ServiceMetrics::MirrorClassifier(const std::string& classifier, const std::string& outcome, std::int64_t total) {
  auto& counter = classifier_uploads_.Add({{"classifier", classifier}, {"outcome", outcome}});
  const double delta = static_cast<double>(total) - counter.Value();
  if (delta > 0) counter.Increment(delta);
}

void ServiceMetrics::SetClassifierCircuitOpen(const std::string& classifier, bool open) {
  classifier_circuit_.Add({{"classifier", classifier}}).Set(open ? 1.0 : 0.0);
}

void ServiceMetrics::SetReporting(const std::map<std::string, std::int64_t>& by_state, std::int64_t stalled,
                                  std::int64_t withdrawals_pending, std::int64_t filed_followups,
                                  std::int64_t unreportable_cases) {
  for (const char* state : {"draft", "approved", "open", "filed", "retracted", "failed", "voided"}) {
    const auto it = by_state.find(state);
    reports_.Add({{"state", state}}).Set(it == by_state.end() ? 0.0 : static_cast<double>(it->second));
  }
  attention_.Add({{"reason", "stalled"}}).Set(static_cast<double>(stalled));
  attention_.Add({{"reason", "withdrawal_pending"}}).Set(static_cast<double>(withdrawals_pending));
  attention_.Add({{"reason", "filed_followup"}}).Set(static_cast<double>(filed_followups));
  attention_.Add({{"reason", "unreportable_case"}}).Set(static_cast<double>(unreportable_cases));
  // A failed report waits for a person (`vigil report file ID` starts it over).
  const auto failed = by_state.find("failed");
  attention_.Add({{"reason", "failed"}}).Set(failed == by_state.end() ? 0.0 : static_cast<double>(failed->second));
}

std::string ServiceMetrics::Render() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

}  // namespace vigil::server
