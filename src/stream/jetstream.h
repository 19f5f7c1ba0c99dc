// What Vigil uses of NATS JetStream, over the NATS C client (libnats): a connection that
// reconnects forever, streams and durable pull consumers created (or checked) at start, fetching,
// the four acknowledgements, and publishing with a message id that JetStream de-duplicates within
// the stream's duplicate window. Errors are values naming the NATS status and, where the server
// gave one, its JetStream error code; a lost connection is kUnavailable.
//
// Thread safety: a JetStreamConnection may be used from many threads at once (libnats connections
// are); a PullConsumer's Fetch from one thread at a time; a StreamMessage by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/status.h"

// libnats' types, kept out of every includer.
struct __natsMsg;
struct __natsConnection;
struct __natsSubscription;
struct __jsCtx;

namespace vigil::stream {

// NATS URLs as they may be logged: any user and password (nats://user:secret@host) left out.
std::string RedactNatsUrls(const std::string& urls);

struct NatsConnectOptions {
  std::string url = "nats://127.0.0.1:4222";  // one URL, or several separated by commas (a cluster)
  std::string name = "vigil";                 // how the server lists this client
  std::string credentials_file;               // a .creds file (user JWT and NKey seed); empty: none
  std::chrono::milliseconds reconnect_wait{250};
  std::chrono::milliseconds request_timeout{5000};  // JetStream API calls and publish acknowledgements
};

// A stream as Vigil creates it when it is missing (an operator may create it otherwise).
struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  std::chrono::seconds max_age{0};              // 0: messages are kept until acknowledged / limits
  std::int64_t max_bytes = -1;                  // -1: no limit
  std::int32_t max_message_bytes = -1;          // -1: the server's max_payload
  std::chrono::seconds duplicate_window{120};   // Nats-Msg-Id de-duplication
  int replicas = 1;
  bool work_queue = false;                      // each message removed once acknowledged
};

// A durable pull consumer with explicit acknowledgement.
struct ConsumerSpec {
  std::string stream;
  std::string durable;
  std::string filter_subject;
  std::chrono::seconds ack_wait{30};   // unacknowledged this long (no in-progress ack): redelivered
  std::int64_t max_ack_pending = 1000; // messages handed out and not yet acknowledged, all workers
};

// JetStream's facts about one delivered message.
struct DeliveryInfo {
  std::uint64_t stream_sequence = 0;
  std::uint64_t delivered = 1;      // 1 the first time; more on redelivery
  std::int64_t published_ns = 0;    // when the stream stored it (Unix nanoseconds)
  std::uint64_t pending = 0;        // messages after it not yet delivered to this consumer
};

class StreamMessage {
 public:
  explicit StreamMessage(__natsMsg* msg);
  ~StreamMessage();
  StreamMessage(StreamMessage&& other) noexcept;
  StreamMessage& operator=(StreamMessage&& other) noexcept;
  StreamMessage(const StreamMessage&) = delete;
  StreamMessage& operator=(const StreamMessage&) = delete;

  std::string_view subject() const;
  std::span<const std::uint8_t> data() const;
  // A header's first value; none when absent.
  std::optional<std::string> Header(const char* name) const;
  Result<DeliveryInfo> Info() const;

  // Acknowledges and waits for the server to confirm: once this returns OK the message is not
  // delivered again.
  Status Ack();
  // Acknowledges without waiting for the server's confirmation (one lost is a redelivery, which
  // the worker answers from its record).
  Status AckAsync();
  // Asks for redelivery after `delay`.
  Status Nak(std::chrono::milliseconds delay);
  // Resets the acknowledgement timer: still working on it.
  Status InProgress();
  // Never deliver again (after a dead letter was published for it).
  Status Term();

 private:
  __natsMsg* msg_;
};

struct PublishAck {
  std::uint64_t sequence = 0;
  bool duplicate = false;  // JetStream had this message id already (within its duplicate window)
};

// What the asynchronous publishes since the last WaitPublished came to.
struct AsyncPublishOutcome {
  std::int64_t failed = 0;
  std::string first_error;
  std::vector<std::string> duplicates;  // message ids JetStream had already stored
  std::vector<std::string> failed_ids;  // message ids not stored
};

struct ConsumerState {
  std::uint64_t pending = 0;      // in the stream, not yet delivered: the lag
  std::int64_t ack_pending = 0;   // delivered, not yet acknowledged
  std::int64_t redelivered = 0;   // delivered more than once and not yet acknowledged
  std::int64_t waiting = 0;       // fetch requests waiting
};

class PullConsumer {
 public:
  explicit PullConsumer(__natsSubscription* sub);
  ~PullConsumer();
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Up to `batch` messages, waiting at most `wait` for the first; empty when none came.
  // kUnavailable while the connection is down.
  Result<std::vector<StreamMessage>> Fetch(int batch, std::chrono::milliseconds wait);

 private:
  __natsSubscription* sub_;
};

// Messages on a subject as they are published (no replay, no acknowledgement).
class Listener {
 public:
  explicit Listener(__natsSubscription* sub);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  // The next message, or none after `wait`.
  std::optional<StreamMessage> Next(std::chrono::milliseconds wait);

 private:
  __natsSubscription* sub_;
};

class JetStreamConnection {
 public:
  // Connects (kUnavailable when no server answers, kPermissionDenied when it refuses the
  // credentials); afterwards reconnects on its own, forever.
  static Result<std::unique_ptr<JetStreamConnection>> Connect(const NatsConnectOptions& options);
  ~JetStreamConnection();
  JetStreamConnection(const JetStreamConnection&) = delete;
  JetStreamConnection& operator=(const JetStreamConnection&) = delete;

  // Creates the stream when missing; an existing one must capture every subject of the spec
  // (kInvalidArgument naming the stream otherwise). Its other settings are the operator's.
  Status EnsureStream(const StreamSpec& spec);
  // Creates the durable consumer, or updates the settings an existing one may change.
  Status EnsureConsumer(const ConsumerSpec& spec);
  // A pull subscription bound to the (existing) durable consumer.
  Result<std::unique_ptr<PullConsumer>> Subscribe(const ConsumerSpec& spec);

  // Publishes and waits for the stream's acknowledgement: once this returns the message is
  // stored. `message_id` (Nats-Msg-Id) makes a second publish within the duplicate window a no-op.
  Result<PublishAck> Publish(const std::string& subject, const std::vector<std::pair<std::string, std::string>>& headers,
                             std::span<const std::uint8_t> data, const std::string& message_id);
  // Publishes without waiting (up to 4096 unacknowledged, then it waits); WaitPublished waits for
  // every acknowledgement and says what the publishes since the last call came to.
  Status PublishAsync(const std::string& subject, const std::vector<std::pair<std::string, std::string>>& headers,
                      std::span<const std::uint8_t> data, const std::string& message_id);
  Result<AsyncPublishOutcome> WaitPublished(std::chrono::milliseconds timeout);
  // A plain (not JetStream) subscription: every message published on `subject` from now on.
  Result<std::unique_ptr<Listener>> Listen(const std::string& subject);

  Result<ConsumerState> Consumer(const std::string& stream, const std::string& durable);
  // Messages stored in a stream now.
  Result<std::uint64_t> StreamMessages(const std::string& stream);
  bool connected() const;

  __natsConnection* native() { return nc_; }
  __jsCtx* jetstream() { return js_; }

 private:
  JetStreamConnection(__natsConnection* nc, __jsCtx* js, std::chrono::milliseconds timeout);
  struct AsyncErrors;
  __natsConnection* nc_;
  __jsCtx* js_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<AsyncErrors> async_errors_;
};

}  // namespace vigil::stream
