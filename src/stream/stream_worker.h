// A stream worker: takes upload events from a JetStream durable pull consumer, runs each through
// the upload workflow (the same Submit as POST /v1/content: hash in the decoder sandbox, match,
// record with the policy's outcome in one transaction), publishes the result event, and
// acknowledges the event only after both the record and the result are durable.
//
// For each event, in order:
//   1. delivered more than max_deliveries times (a worker died or timed out on it each time):
//      dead letter, never processed again;
//   2. malformed (ids, metadata, payload, media path outside the roots): dead letter at once;
//   3. the bytes: the payload, or the file under a media root (missing / unreadable: retried);
//   4. the workflow: Prepare (hash, match); an upload with matches is recorded alone with the
//      policy's outcome (Record); those that matched nothing, most of them, are recorded together
//      by a batch recorder thread, as many in one transaction as have gathered (at most
//      max_batch), and their results are published together. A redelivered event was recorded
//      before: it is answered with the first outcome (no second record, match, case or action) and
//      the same result bytes are published again, with the content id as Nats-Msg-Id, so
//      JetStream stores them once within its window;
//   5. failures: the media cannot be hashed (undecodable, too large, too slow) -> an error result
//      and ack; the same content id with other bytes or user -> dead letter; the store or a
//      decoder worker unavailable (a failover, a restart) -> the event is held, its timer kept
//      reset, and tried again after a growing pause (at most 5 s) until they are back: an outage
//      stalls the workers (the rest waits in the stream) instead of spending deliveries; other
//      failures of this event (I/O, internal, a result not stored) -> redelivered after a growing
//      delay, dead letter once it has been delivered max_deliveries times;
//   6. publish the result (waits for JetStream's ack), then ack the event (alone: waits for the
//      server's confirmation; in a batch: sent without waiting, a lost ack being a redelivery).
//   While an event is worked on, its acknowledgement timer is reset every ack_wait/3 (slow videos).
//   A dead letter is a JSON object on dead_letter_subject (upload_event.h) and the event is ended
//   (Term) once the dead letter is stored.
// At most max_in_flight events are held at once (fetched and not yet answered): backpressure is
// JetStream's, the rest wait in the stream. Stop(): no more fetches, events held but not started
// are handed back (Nak, no delay) for another worker, the ones being worked on finish.
//
// Thread safety: Run blocks the calling thread and runs its own; Stop, Counts and RenderMetrics
// may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "stream/jetstream.h"
#include "stream/media_roots.h"
#include "vigil/status.h"
#include "workflow/upload_workflow.h"

namespace vigil::stream {

struct StreamWorkerOptions {
  ConsumerSpec consumer;
  std::string result_subject = "vigil.results";
  std::string dead_letter_subject = "vigil.dead";
  int concurrency = 1;           // events worked on at once
  int max_in_flight = 0;         // events held at once (fetched, not answered); 0: 2 x concurrency + max_batch
  int max_batch = 64;            // uploads that matched nothing recorded in one transaction, at most
  int max_deliveries = 5;        // past this an event goes to the dead letters
  std::size_t max_inline_bytes = 1 << 20;
  std::uint64_t max_file_bytes = 256ull << 20;     // media read by path
  std::chrono::milliseconds retry_delay{500};      // first redelivery delay; doubles, at most 60 s
  std::chrono::milliseconds fetch_wait{500};
  std::chrono::milliseconds lag_interval{1000};    // how often the consumer's lag is read
};

// What the worker did since it started.
struct StreamWorkerCounts {
  std::int64_t recorded = 0;     // results published for new uploads
  std::int64_t replayed = 0;     // results published again for events recorded before
  std::int64_t unhashable = 0;   // error results (media that cannot be hashed)
  std::int64_t retried = 0;      // events handed back for a later redelivery (transient failures)
  std::int64_t dead_letters = 0;
  std::int64_t redeliveries = 0; // events received that had been delivered before
  std::int64_t handed_back = 0;  // events held at Stop and handed back unstarted
  std::int64_t waits = 0;        // pauses while the store or a decoder worker was unavailable
  std::int64_t in_flight = 0;    // held now
  std::uint64_t lag = 0;         // the consumer's pending events, as last read
};

class StreamWorker {
 public:
  StreamWorker(JetStreamConnection& nats, PullConsumer& consumer, const UploadWorkflow& workflow,
               const MediaRoots& roots, StreamWorkerOptions options);
  ~StreamWorker();
  StreamWorker(const StreamWorker&) = delete;
  StreamWorker& operator=(const StreamWorker&) = delete;

  // Works until Stop(); returns once every event it held is answered or handed back.
  void Run();
  void Stop();

  StreamWorkerCounts Counts() const;
  // The index-sync delay of a bank change (match/index_follower.h), for the metrics.
  void ObserveIndexSync(double seconds);
  // Prometheus text: events by outcome, redeliveries, dead letters, in flight, consumer lag, and
  // latency by stage (read, submit, publish, ack) and from publish to result, index-sync delay.
  std::string RenderMetrics() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::stream
