// The stream worker's loop (stream_worker.h).
#include "stream/stream_worker.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "stream/upload_event.h"
#include "util/utf8.h"

namespace vigil::stream {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string JsonString(const std::string& text) { return boost::json::serialize(boost::json::value(text)); }

// A header value fit for a dead letter's JSON: valid UTF-8 without control characters, or a note.
std::string Printable(std::optional<std::string> value) {
  if (!value) return "";
  std::string text = value->substr(0, 256);
  if (!IsValidUtf8(text) || HasControlCharacter(text)) return "(not printable: " + std::to_string(value->size()) + " bytes)";
  return text;
}

// Failures worth another delivery: something this worker depends on is down or broke.
bool Transient(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kIoError || code == ErrorCode::kInternal;
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10,
                                                               30,     60,    300};
  return kBuckets;
}

}  // namespace

// One event held by the worker; `mu` serialises its acknowledgements with the in-progress ticker.
struct Job {
  explicit Job(StreamMessage m) : msg(std::move(m)) {}
  StreamMessage msg;
  std::mutex mu;
  bool answered = false;
  bool started = false;
  // Matched nothing: waits for the batch recorder with what it needs.
  UploadEvent event;
  DeliveryInfo info;
  std::vector<std::uint8_t> file;
  std::optional<PreparedUpload> prepared;
};

struct StreamWorker::State {
  State(JetStreamConnection& n, PullConsumer& c, const UploadWorkflow& w, const MediaRoots& r, StreamWorkerOptions o)
      : nats(n),
        consumer(c),
        workflow(w),
        roots(r),
        options(std::move(o)),
        registry(std::make_shared<prometheus::Registry>()),
        events(prometheus::BuildCounter()
                   .Name("vigil_worker_events_total")
                   .Help("Upload events answered, by outcome: recorded, replayed, unhashable, retried, dead_letter, "
                         "handed_back; and waited: a pause while the store or a decoder worker was unavailable")
                   .Register(*registry)),
        redeliveries(prometheus::BuildCounter()
                         .Name("vigil_worker_redeliveries_total")
                         .Help("Events received that JetStream had delivered before")
                         .Register(*registry)
                         .Add({})),
        gauges(prometheus::BuildGauge()
                   .Name("vigil_worker_events")
                   .Help("Events held by this worker (in_flight) and the consumer's lag (pending: in the stream, "
                         "not yet delivered; ack_pending: delivered to any worker, not yet acknowledged)")
                   .Register(*registry)),
        stages(prometheus::BuildHistogram()
                   .Name("vigil_worker_stage_seconds")
                   .Help("Time per event by stage: read (media by path), submit (hash, match, record), publish "
                         "(the result, until stored), ack (until the server confirmed)")
                   .Register(*registry)),
        end_to_end(prometheus::BuildHistogram()
                       .Name("vigil_worker_publish_to_result_seconds")
                       .Help("From the event's storing in the stream to its result's")
                       .Register(*registry)
                       .Add({}, LatencyBuckets())),
        index_sync(prometheus::BuildHistogram()
                       .Name("vigil_index_sync_seconds")
                       .Help("From a bank change's transaction start, on any replica, to this worker's index having it")
                       .Register(*registry)
                       .Add({}, LatencyBuckets())),
        batch_sizes(prometheus::BuildHistogram()
                        .Name("vigil_worker_record_batch_size")
                        .Help("Uploads that matched nothing recorded per transaction")
                        .Register(*registry)
                        .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256})) {
    if (options.concurrency < 1) options.concurrency = 1;
    if (options.max_batch < 1) options.max_batch = 1;
    if (options.max_in_flight < options.concurrency) options.max_in_flight = 2 * options.concurrency + options.max_batch;
    if (options.max_deliveries < 1) options.max_deliveries = 1;
  }

  prometheus::Counter& Outcome(const char* outcome) { return events.Add({{"outcome", outcome}}); }
  prometheus::Histogram& Stage(const char* stage) { return stages.Add({{"stage", stage}}, LatencyBuckets()); }

  JetStreamConnection& nats;
  PullConsumer& consumer;
  const UploadWorkflow& workflow;
  const MediaRoots& roots;
  StreamWorkerOptions options;

  std::mutex mu;
  std::condition_variable queued_cv;   // a job queued, or stopping
  std::condition_variable room_cv;     // a job answered, or stopping
  std::deque<std::shared_ptr<Job>> queue;
  std::list<std::shared_ptr<Job>> held;  // every job fetched and not yet answered
  std::deque<std::shared_ptr<Job>> to_record;  // matched nothing: for the batch recorder
  std::condition_variable batch_cv;
  bool stopping = false;
  bool workers_done = false;  // no more jobs for the batch recorder

  std::atomic<std::int64_t> recorded{0}, replayed{0}, unhashable{0}, retried{0}, dead_letters{0}, redelivered{0},
      handed_back{0}, waits{0};
  std::atomic<std::uint64_t> lag{0};

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Counter& redeliveries;
  prometheus::Family<prometheus::Gauge>& gauges;
  prometheus::Family<prometheus::Histogram>& stages;
  prometheus::Histogram& end_to_end;
  prometheus::Histogram& index_sync;
  prometheus::Histogram& batch_sizes;

  // Returns true when the job went to the batch recorder (answered later).
  bool Process(const std::shared_ptr<Job>& job);
  void RecordBatch(std::vector<std::shared_ptr<Job>>& batch);
  void Failed(Job& job, const UploadEvent& event, const DeliveryInfo& info, const Error& e);
  void DeadLetter(Job& job, const UploadEvent& event, const DeliveryInfo& info, const std::string& reason);
  void Retry(Job& job, const UploadEvent& event, const DeliveryInfo& info, const Error& error);
  // An error result belongs to its event (the same id may be sent again with media that hash), so
  // its message id is the event's; a recorded upload's result is its content id's.
  void PublishError(Job& job, const UploadEvent& event, const DeliveryInfo& info, const Error& error) {
    Publish(job, event, info, ErrorEventJson(event, error), options.consumer.stream + "-error-" +
            std::to_string(info.stream_sequence), unhashable, "unhashable");
  }
  void Publish(Job& job, const UploadEvent& event, const DeliveryInfo& info, const std::string& payload,
               const std::string& message_id,
               std::atomic<std::int64_t>& counter, const char* outcome);
  void Answered(const std::shared_ptr<Job>& job);
  // Runs `attempt` again, after a growing pause, while it fails with kUnavailable (the store or a
  // decoder worker down: a failover, a restart), holding the event (its acknowledgement timer kept
  // reset) instead of spending its deliveries; returns its first other answer, or the
  // unavailability once the worker is stopping.
  template <typename F>
  auto UntilAvailable(F&& attempt) -> decltype(attempt());
  bool Stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }
};

template <typename F>
auto StreamWorker::State::UntilAvailable(F&& attempt) -> decltype(attempt()) {
  auto pause = std::chrono::milliseconds(200);
  for (int tries = 1;; ++tries) {
    auto answer = attempt();
    if (answer || answer.error().code != ErrorCode::kUnavailable) return answer;
    if (tries == 1 || tries % 20 == 0) {
      spdlog::warn(R"("msg":"a dependency is unavailable; holding the event and trying again","tries":{},"error":{})",
                   tries, JsonString(answer.error().ToString()));
    }
    ++waits;
    Outcome("waited").Increment();
    std::unique_lock lock(mu);
    if (room_cv.wait_for(lock, pause, [this] { return stopping; })) return answer;
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(5));
  }
}

void StreamWorker::State::Answered(const std::shared_ptr<Job>& job) {
  std::lock_guard lock(mu);
  held.remove(job);
  room_cv.notify_all();
}

void StreamWorker::State::DeadLetter(Job& job, const UploadEvent& event, const DeliveryInfo& info,
                                     const std::string& reason) {
  const std::string letter = DeadLetterJson(event, std::string(job.msg.subject()), info.stream_sequence, info.delivered, reason);
  auto stored = nats.Publish(options.dead_letter_subject, {},
                             {reinterpret_cast<const std::uint8_t*>(letter.data()), letter.size()},
                             options.consumer.stream + "-dead-" + std::to_string(info.stream_sequence));
  std::lock_guard lock(job.mu);
  job.answered = true;
  if (!stored) {
    // Not stored: the event stays, and comes back for another try at the dead letter.
    spdlog::warn(R"("msg":"dead letter not stored; the event will be redelivered","sequence":{},"error":{})",
                 info.stream_sequence, JsonString(stored.error().ToString()));
    (void)job.msg.Nak(options.retry_delay);
    return;
  }
  (void)job.msg.Term();
  ++dead_letters;
  Outcome("dead_letter").Increment();
  spdlog::warn(R"("msg":"dead letter","content_id":{},"sequence":{},"deliveries":{},"reason":{})",
               JsonString(event.content_id), info.stream_sequence, info.delivered, JsonString(reason));
}

void StreamWorker::State::Retry(Job& job, const UploadEvent& event, const DeliveryInfo& info, const Error& error) {
  if (info.delivered >= static_cast<std::uint64_t>(options.max_deliveries)) {
    DeadLetter(job, event, info,
               "failed on each of " + std::to_string(info.delivered) + " deliveries; last: " + error.ToString());
    return;
  }
  const auto shift = std::min<std::uint64_t>(info.delivered - 1, 10);
  const auto delay = std::min<std::chrono::milliseconds>(options.retry_delay * (1LL << shift), std::chrono::seconds(60));
  {
    std::lock_guard lock(job.mu);
    job.answered = true;
    (void)job.msg.Nak(delay);
  }
  ++retried;
  Outcome("retried").Increment();
  spdlog::warn(R"("msg":"event will be retried","content_id":{},"sequence":{},"delivery":{},"delay_ms":{},"error":{})",
               JsonString(event.content_id), info.stream_sequence, info.delivered, delay.count(),
               JsonString(error.ToString()));
}

void StreamWorker::State::Publish(Job& job, const UploadEvent& event, const DeliveryInfo& info,
                                  const std::string& payload, const std::string& message_id,
                                  std::atomic<std::int64_t>& counter, const char* outcome) {
  const auto t0 = Clock::now();
  auto stored = nats.Publish(options.result_subject, {{kContentIdHeader, event.content_id}},
                             {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, message_id);
  const auto t1 = Clock::now();
  Stage("publish").Observe(Seconds(t1 - t0));
  if (!stored) {
    // The record is in the store; the next delivery replays it and publishes the result again.
    Retry(job, event, info, stored.error());
    return;
  }
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  if (info.published_ns > 0 && now_ns > info.published_ns) end_to_end.Observe(static_cast<double>(now_ns - info.published_ns) / 1e9);
  Status acked;
  {
    std::lock_guard lock(job.mu);
    job.answered = true;
    acked = job.msg.Ack();
  }
  Stage("ack").Observe(Seconds(Clock::now() - t1));
  if (!acked) {
    // Redelivered later: replayed, the same result published again (and de-duplicated).
    spdlog::warn(R"("msg":"ack lost; the event will be redelivered and replayed","content_id":{},"error":{})",
                 JsonString(event.content_id), JsonString(acked.error().ToString()));
  }
  ++counter;
  Outcome(outcome).Increment();
}

void StreamWorker::State::Failed(Job& job, const UploadEvent& event, const DeliveryInfo& info, const Error& e) {
  if (Transient(e.code)) return Retry(job, event, info, e);
  if (e.code == ErrorCode::kAlreadyExists) return DeadLetter(job, event, info, e.message);
  PublishError(job, event, info, e);
}

bool StreamWorker::State::Process(const std::shared_ptr<Job>& shared) {
  Job& job = *shared;
  const auto info_or = job.msg.Info();
  DeliveryInfo info = info_or ? *info_or : DeliveryInfo{};
  if (info.delivered > 1) {
    ++redelivered;
    redeliveries.Increment();
  }
  auto header = [&job](const char* name) { return job.msg.Header(name); };
  auto parsed = ParseUploadEvent(header, job.msg.data().size(), options.max_inline_bytes);
  UploadEvent event = parsed ? *parsed : UploadEvent{Printable(header(kContentIdHeader)), Printable(header(kUserIdHeader)), "", ""};
  if (info.delivered > static_cast<std::uint64_t>(options.max_deliveries)) {
    DeadLetter(job, event, info,
               "delivered " + std::to_string(info.delivered) +
                   " times without an answer (a worker stopped or timed out while working on it)");
    return false;
  }
  if (!parsed) {
    DeadLetter(job, event, info, "malformed event: " + parsed.error().ToString());
    return false;
  }
  std::span<const std::uint8_t> bytes = job.msg.data();
  if (!event.media_path.empty()) {
    const auto t0 = Clock::now();
    auto read = roots.Read(event.media_path, options.max_file_bytes);
    Stage("read").Observe(Seconds(Clock::now() - t0));
    if (!read) {
      const ErrorCode code = read.error().code;
      if (code == ErrorCode::kNotFound || code == ErrorCode::kIoError) {
        Retry(job, event, info, read.error());
      } else if (code == ErrorCode::kTooLarge || code == ErrorCode::kUnsupported) {
        PublishError(job, event, info, read.error());
      } else {
        DeadLetter(job, event, info, "media path refused: " + read.error().message);
      }
      return false;
    }
    job.file = std::move(*read);
    bytes = job.file;
  }
  UploadRequest upload;
  upload.content_id = event.content_id;
  upload.user_id = event.user_id;
  upload.metadata_json = event.metadata_json;
  upload.bytes = bytes;
  const auto t0 = Clock::now();
  auto prepared = UntilAvailable([&] { return workflow.Prepare(upload); });
  Stage("hash_match").Observe(Seconds(Clock::now() - t0));
  if (!prepared) {
    Failed(job, event, info, prepared.error());
    return false;
  }
  if (!UploadWorkflow::NeedsPolicy(*prepared)) {
    // Most uploads: recorded with others in one transaction by the batch recorder.
    job.event = std::move(event);
    job.info = info;
    job.prepared = std::move(*prepared);
    std::lock_guard lock(mu);
    to_record.push_back(shared);
    batch_cv.notify_one();
    return true;
  }
  const auto t1 = Clock::now();
  auto submitted = UntilAvailable([&] { return workflow.Record(*prepared); });
  Stage("record").Observe(Seconds(Clock::now() - t1));
  if (!submitted) {
    Failed(job, event, info, submitted.error());
    return false;
  }
  Publish(job, event, info, ResultEventJson(*submitted), event.content_id, submitted->replayed ? replayed : recorded,
          submitted->replayed ? "replayed" : "recorded");
  return false;
}

void StreamWorker::State::RecordBatch(std::vector<std::shared_ptr<Job>>& batch) {
  std::vector<PreparedUpload> prepared;
  prepared.reserve(batch.size());
  for (const auto& job : batch) prepared.push_back(std::move(*job->prepared));  // not needed after
  const auto t0 = Clock::now();
  auto results = workflow.RecordUnmatched(prepared);
  // The whole batch failed for want of the store: hold it and try again.
  for (auto pause = std::chrono::milliseconds(200);
       !results.empty() && std::all_of(results.begin(), results.end(), [](const auto& r) {
         return !r && r.error().code == ErrorCode::kUnavailable;
       }) && !Stopping();
       pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(5))) {
    ++waits;
    Outcome("waited").Increment();
    spdlog::warn(R"("msg":"the store is unavailable; holding a batch and trying again","uploads":{},"error":{})",
                 batch.size(), JsonString(results.front().error().ToString()));
    {
      std::unique_lock lock(mu);
      room_cv.wait_for(lock, pause, [this] { return stopping; });
    }
    results = workflow.RecordUnmatched(prepared);
  }
  const auto t1 = Clock::now();
  Stage("record").Observe(Seconds(t1 - t0) / static_cast<double>(batch.size()));
  batch_sizes.Observe(static_cast<double>(batch.size()));
  // Results of the recorded ones go out together; the rest are answered one by one.
  std::vector<std::size_t> sent;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Job& job = *batch[i];
    if (!results[i]) {
      Failed(job, job.event, job.info, results[i].error());
      continue;
    }
    const std::string payload = ResultEventJson(*results[i]);
    auto queued = nats.PublishAsync(options.result_subject, {{kContentIdHeader, job.event.content_id}},
                                    {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()},
                                    job.event.content_id);
    if (!queued) {
      Retry(job, job.event, job.info, queued.error());
      continue;
    }
    sent.push_back(i);
  }
  if (sent.empty()) return;
  auto outcome = nats.WaitPublished(std::chrono::seconds(30));
  const auto t2 = Clock::now();
  Stage("publish").Observe(Seconds(t2 - t1) / static_cast<double>(sent.size()));
  std::set<std::string> failed;
  if (outcome) failed.insert(outcome->failed_ids.begin(), outcome->failed_ids.end());
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  for (std::size_t i : sent) {
    Job& job = *batch[i];
    if (!outcome || failed.count(job.event.content_id) != 0) {
      // Recorded; the next delivery replays it and publishes the result again.
      Retry(job, job.event, job.info,
            outcome ? Error{ErrorCode::kUnavailable, "the result was not stored: " + outcome->first_error} : outcome.error());
      continue;
    }
    if (job.info.published_ns > 0 && now_ns > job.info.published_ns) {
      end_to_end.Observe(static_cast<double>(now_ns - job.info.published_ns) / 1e9);
    }
    {
      std::lock_guard lock(job.mu);
      job.answered = true;
      (void)job.msg.AckAsync();  // a lost ack is a redelivery, answered from the record
    }
    const bool again = results[i]->replayed;
    ++(again ? replayed : recorded);
    Outcome(again ? "replayed" : "recorded").Increment();
  }
  Stage("ack").Observe(Seconds(Clock::now() - t2) / static_cast<double>(sent.size()));
}

StreamWorker::StreamWorker(JetStreamConnection& nats, PullConsumer& consumer, const UploadWorkflow& workflow,
                           const MediaRoots& roots, StreamWorkerOptions options)
    : state_(std::make_unique<State>(nats, consumer, workflow, roots, std::move(options))) {}

StreamWorker::~StreamWorker() = default;

void StreamWorker::Stop() {
  std::lock_guard lock(state_->mu);
  state_->stopping = true;
  state_->queued_cv.notify_all();
  state_->room_cv.notify_all();
}

void StreamWorker::Run() {
  State& s = *state_;
  std::vector<std::thread> threads;
  for (int i = 0; i < s.options.concurrency; ++i) {
    threads.emplace_back([&s] {
      for (;;) {
        std::shared_ptr<Job> job;
        {
          std::unique_lock lock(s.mu);
          s.queued_cv.wait(lock, [&s] { return s.stopping || !s.queue.empty(); });
          if (s.stopping) return;  // what is still queued is handed back below
          job = std::move(s.queue.front());
          s.queue.pop_front();
          job->started = true;
        }
        if (!s.Process(job)) s.Answered(job);
      }
    });
  }
  // Records the uploads that matched nothing, as many at once as have gathered (at most max_batch).
  std::thread recorder([&s] {
    for (;;) {
      std::vector<std::shared_ptr<Job>> batch;
      {
        std::unique_lock lock(s.mu);
        s.batch_cv.wait(lock, [&s] { return !s.to_record.empty() || s.workers_done; });
        if (s.to_record.empty()) return;
        while (!s.to_record.empty() && static_cast<int>(batch.size()) < s.options.max_batch) {
          batch.push_back(std::move(s.to_record.front()));
          s.to_record.pop_front();
        }
      }
      s.RecordBatch(batch);
      for (const auto& job : batch) s.Answered(job);
    }
  });
  // Resets the acknowledgement timer of every job being worked on, and reads the consumer's lag.
  std::thread ticker([&s] {
    const auto ack_every = std::max<Clock::duration>(std::chrono::milliseconds(100), s.options.consumer.ack_wait / 3);
    auto next_ack = Clock::now() + ack_every;
    auto next_lag = Clock::now();
    std::unique_lock lock(s.mu);
    while (!s.stopping || !s.held.empty()) {
      s.room_cv.wait_for(lock, std::chrono::milliseconds(100));
      const auto now = Clock::now();
      if (now >= next_ack) {
        next_ack = now + ack_every;
        for (const auto& job : s.held) {
          std::lock_guard job_lock(job->mu);
          // Queued ones too: a job waiting behind slow videos must not time out and come back.
          if (!job->answered) (void)job->msg.InProgress();
        }
      }
      if (now >= next_lag && !s.stopping) {
        next_lag = now + s.options.lag_interval;
        lock.unlock();
        if (auto state = s.nats.Consumer(s.options.consumer.stream, s.options.consumer.durable)) {
          s.lag = state->pending;
          s.gauges.Add({{"state", "pending"}}).Set(static_cast<double>(state->pending));
          s.gauges.Add({{"state", "ack_pending"}}).Set(static_cast<double>(state->ack_pending));
        }
        lock.lock();
      }
    }
  });
  // Fetches while there is room, so that at most max_in_flight events are held.
  for (;;) {
    int room = 0;
    {
      std::unique_lock lock(s.mu);
      s.room_cv.wait(lock, [&s] { return s.stopping || static_cast<int>(s.held.size()) < s.options.max_in_flight; });
      if (s.stopping) break;
      room = s.options.max_in_flight - static_cast<int>(s.held.size());
    }
    auto fetched = s.consumer.Fetch(std::min(room, 256), s.options.fetch_wait);
    if (!fetched) {
      // Disconnected (NATS restarting, a failover): libnats reconnects; try again shortly.
      std::unique_lock lock(s.mu);
      s.room_cv.wait_for(lock, std::chrono::milliseconds(200), [&s] { return s.stopping; });
      continue;
    }
    if (fetched->empty()) continue;
    std::lock_guard lock(s.mu);
    for (auto& msg : *fetched) {
      auto job = std::make_shared<Job>(std::move(msg));
      s.held.push_back(job);
      s.queue.push_back(std::move(job));
    }
    s.gauges.Add({{"state", "in_flight"}}).Set(static_cast<double>(s.held.size()));
    s.queued_cv.notify_all();
  }
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(s.mu);
    s.workers_done = true;
  }
  s.batch_cv.notify_all();
  recorder.join();
  // Held and never started: handed back at once for another worker.
  {
    std::lock_guard lock(s.mu);
    for (auto& job : s.queue) {
      std::lock_guard job_lock(job->mu);
      job->answered = true;
      (void)job->msg.Nak(std::chrono::milliseconds(0));
      ++s.handed_back;
      s.Outcome("handed_back").Increment();
      s.held.remove(job);
    }
    s.queue.clear();
    s.room_cv.notify_all();
  }
  ticker.join();
}

StreamWorkerCounts StreamWorker::Counts() const {
  const State& s = *state_;
  StreamWorkerCounts c;
  c.recorded = s.recorded;
  c.replayed = s.replayed;
  c.unhashable = s.unhashable;
  c.retried = s.retried;
  c.dead_letters = s.dead_letters;
  c.redeliveries = s.redelivered;
  c.handed_back = s.handed_back;
  c.waits = s.waits;
  {
    std::lock_guard lock(state_->mu);
    c.in_flight = static_cast<std::int64_t>(s.held.size());
  }
  c.lag = s.lag;
  return c;
}

void StreamWorker::ObserveIndexSync(double seconds) { state_->index_sync.Observe(seconds); }

std::string StreamWorker::RenderMetrics() const {
  {
    std::lock_guard lock(state_->mu);
    state_->gauges.Add({{"state", "in_flight"}}).Set(static_cast<double>(state_->held.size()));
  }
  return prometheus::TextSerializer().Serialize(state_->registry->Collect());
}

}  // namespace vigil::stream
