// JetStream over libnats (jetstream.h).
#include "stream/jetstream.h"

#include <nats/nats.h>

#include <atomic>
#include <mutex>

namespace vigil::stream {
namespace {

// "nats: timeout" plus the JetStream error code and libnats' last error text where there is one.
Error NatsError(const std::string& what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string message = what + ": " + natsStatus_GetText(s);
  if (jerr != 0) message += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  natsStatus last = NATS_OK;
  if (const char* text = nats_GetLastError(&last); text != nullptr && *text != '\0' && last == s) {
    message += ": " + std::string(text);
  }
  ErrorCode code = ErrorCode::kUnavailable;
  switch (s) {
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_MAX_PAYLOAD: code = ErrorCode::kInvalidArgument; break;
    case NATS_NOT_FOUND: code = ErrorCode::kNotFound; break;
    case NATS_NO_MEMORY: code = ErrorCode::kResourceExhausted; break;
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED: code = ErrorCode::kPermissionDenied; break;
    case NATS_ERR: code = jerr != 0 ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable; break;
    default: break;
  }
  return {code, message};
}

Status Check(const std::string& what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  if (s == NATS_OK) return {};
  return tl::unexpected(NatsError(what, s, jerr));
}

std::int64_t Nanos(std::chrono::seconds s) { return std::chrono::duration_cast<std::chrono::nanoseconds>(s).count(); }

// A natsMsg with headers and data, destroyed unless handed over.
Result<natsMsg*> MakeMessage(const std::string& subject, const std::vector<std::pair<std::string, std::string>>& headers,
                             std::span<const std::uint8_t> data, const std::string& message_id) {
  natsMsg* msg = nullptr;
  VIGIL_TRY(Check("building a message for " + subject,
                  natsMsg_Create(&msg, subject.c_str(), nullptr, reinterpret_cast<const char*>(data.data()),
                                 static_cast<int>(data.size()))));
  for (const auto& [name, value] : headers) {
    if (natsStatus s = natsMsgHeader_Set(msg, name.c_str(), value.c_str()); s != NATS_OK) {
      natsMsg_Destroy(msg);
      return tl::unexpected(NatsError("header " + name, s));
    }
  }
  if (!message_id.empty()) {
    if (natsStatus s = natsMsgHeader_Set(msg, "Nats-Msg-Id", message_id.c_str()); s != NATS_OK) {
      natsMsg_Destroy(msg);
      return tl::unexpected(NatsError("header Nats-Msg-Id", s));
    }
  }
  return msg;
}

}  // namespace

std::string RedactNatsUrls(const std::string& urls) {
  std::string out;
  std::size_t start = 0;
  while (start <= urls.size()) {
    const auto end = urls.find(',', start);
    std::string url = urls.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const auto scheme = url.find("://");
    const std::size_t host = scheme == std::string::npos ? 0 : scheme + 3;
    if (const auto at = url.find('@', host); at != std::string::npos) url = url.substr(0, host) + "***@" + url.substr(at + 1);
    out += (start == 0 ? "" : ",") + url;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

StreamMessage::StreamMessage(natsMsg* msg) : msg_(msg) {}
StreamMessage::~StreamMessage() {
  if (msg_ != nullptr) natsMsg_Destroy(msg_);
}
StreamMessage::StreamMessage(StreamMessage&& other) noexcept : msg_(std::exchange(other.msg_, nullptr)) {}
StreamMessage& StreamMessage::operator=(StreamMessage&& other) noexcept {
  if (this != &other) {
    if (msg_ != nullptr) natsMsg_Destroy(msg_);
    msg_ = std::exchange(other.msg_, nullptr);
  }
  return *this;
}

std::string_view StreamMessage::subject() const { return natsMsg_GetSubject(msg_); }

std::span<const std::uint8_t> StreamMessage::data() const {
  const int n = natsMsg_GetDataLength(msg_);
  if (n <= 0) return {};
  return {reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg_)), static_cast<std::size_t>(n)};
}

std::optional<std::string> StreamMessage::Header(const char* name) const {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg_, name, &value) != NATS_OK || value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<DeliveryInfo> StreamMessage::Info() const {
  jsMsgMetaData* meta = nullptr;
  VIGIL_TRY(Check("reading a message's JetStream metadata", natsMsg_GetMetaData(&meta, msg_)));
  DeliveryInfo info{meta->Sequence.Stream, meta->NumDelivered, meta->Timestamp, meta->NumPending};
  jsMsgMetaData_Destroy(meta);
  return info;
}

Status StreamMessage::Ack() {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  return Check("acknowledging a message", natsMsg_AckSync(msg_, nullptr, &jerr), jerr);
}

Status StreamMessage::AckAsync() { return Check("acknowledging a message", natsMsg_Ack(msg_, nullptr)); }

Status StreamMessage::Nak(std::chrono::milliseconds delay) {
  return Check("asking for a redelivery", natsMsg_NakWithDelay(msg_, delay.count(), nullptr));
}

Status StreamMessage::InProgress() { return Check("extending a message's acknowledgement time", natsMsg_InProgress(msg_, nullptr)); }

Status StreamMessage::Term() { return Check("ending a message's deliveries", natsMsg_Term(msg_, nullptr)); }

PullConsumer::PullConsumer(natsSubscription* sub) : sub_(sub) {}
PullConsumer::~PullConsumer() {
  natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
}

Result<std::vector<StreamMessage>> PullConsumer::Fetch(int batch, std::chrono::milliseconds wait) {
  natsMsgList list{nullptr, 0};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = natsSubscription_Fetch(&list, sub_, batch, std::max<std::int64_t>(1, wait.count()), &jerr);
  std::vector<StreamMessage> out;
  if (s == NATS_TIMEOUT) return out;
  if (s != NATS_OK) return tl::unexpected(NatsError("fetching messages", s, jerr));
  out.reserve(static_cast<std::size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    out.emplace_back(list.Msgs[i]);
    list.Msgs[i] = nullptr;  // owned by the StreamMessage now
  }
  natsMsgList_Destroy(&list);
  return out;
}

struct JetStreamConnection::AsyncErrors {
  std::mutex mu;
  AsyncPublishOutcome outcome;
};

Listener::Listener(natsSubscription* sub) : sub_(sub) {}
Listener::~Listener() {
  natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
}

std::optional<StreamMessage> Listener::Next(std::chrono::milliseconds wait) {
  natsMsg* msg = nullptr;
  if (natsSubscription_NextMsg(&msg, sub_, std::max<std::int64_t>(1, wait.count())) != NATS_OK) return std::nullopt;
  return StreamMessage(msg);
}

JetStreamConnection::JetStreamConnection(natsConnection* nc, jsCtx* js, std::chrono::milliseconds timeout)
    : nc_(nc), js_(js), timeout_(timeout), async_errors_(std::make_unique<AsyncErrors>()) {}

JetStreamConnection::~JetStreamConnection() {
  jsCtx_Destroy(js_);
  natsConnection_Close(nc_);
  natsConnection_Destroy(nc_);
}

Result<std::unique_ptr<JetStreamConnection>> JetStreamConnection::Connect(const NatsConnectOptions& options) {
  natsOptions* opts = nullptr;
  VIGIL_TRY(Check("NATS options", natsOptions_Create(&opts)));
  auto status = [&]() -> Status {
    VIGIL_TRY(Check("NATS URL '" + RedactNatsUrls(options.url) + "'", natsOptions_SetURL(opts, options.url.c_str())));
    VIGIL_TRY(Check("NATS client name", natsOptions_SetName(opts, options.name.c_str())));
    VIGIL_TRY(Check("NATS reconnects", natsOptions_SetMaxReconnect(opts, -1)));
    VIGIL_TRY(Check("NATS reconnect wait", natsOptions_SetReconnectWait(opts, options.reconnect_wait.count())));
    VIGIL_TRY(Check("NATS timeout", natsOptions_SetTimeout(opts, options.request_timeout.count())));
    if (!options.credentials_file.empty()) {
      VIGIL_TRY(Check("NATS credentials '" + options.credentials_file + "'",
                      natsOptions_SetUserCredentialsFromFiles(opts, options.credentials_file.c_str(), nullptr)));
    }
    return {};
  }();
  if (!status) {
    natsOptions_Destroy(opts);
    return tl::unexpected(status.error());
  }
  natsConnection* nc = nullptr;
  const natsStatus s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    Error e = NatsError("connecting to " + RedactNatsUrls(options.url), s);
    // Refused credentials are a configuration to mend; anything else may pass (the server is down).
    if (e.code != ErrorCode::kPermissionDenied) e.code = ErrorCode::kUnavailable;
    return tl::unexpected(e);
  }
  // The context carries the error handler of asynchronous publishes, so the counter comes first.
  auto errors = std::make_unique<AsyncErrors>();
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = options.request_timeout.count();
  jo.PublishAsync.MaxPending = 4096;
  jo.PublishAsync.AckHandler = [](jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
    auto& e = *static_cast<AsyncErrors*>(closure);
    std::lock_guard lock(e.mu);
    if (err != nullptr) {
      if (e.outcome.failed++ == 0) e.outcome.first_error = err->ErrText != nullptr ? err->ErrText : natsStatus_GetText(err->Err);
      const char* id = nullptr;
      if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) e.outcome.failed_ids.emplace_back(id);
    } else if (ack != nullptr && ack->Duplicate) {
      const char* id = nullptr;
      if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) e.outcome.duplicates.emplace_back(id);
    }
    natsMsg_Destroy(msg);
  };
  jo.PublishAsync.AckHandlerClosure = errors.get();
  jsCtx* js = nullptr;
  if (natsStatus js_status = natsConnection_JetStream(&js, nc, &jo); js_status != NATS_OK) {
    natsConnection_Destroy(nc);
    return tl::unexpected(NatsError("JetStream context", js_status));
  }
  std::unique_ptr<JetStreamConnection> out(new JetStreamConnection(nc, js, options.request_timeout));
  out->async_errors_ = std::move(errors);
  return out;
}

Status JetStreamConnection::EnsureStream(const StreamSpec& spec) {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js_, spec.name.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    std::vector<std::string> missing;
    for (const auto& wanted : spec.subjects) {
      bool found = false;
      for (int i = 0; i < info->Config->SubjectsLen; ++i) found = found || wanted == info->Config->Subjects[i];
      if (!found) missing.push_back(wanted);
    }
    jsStreamInfo_Destroy(info);
    if (!missing.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "stream " + spec.name + " exists but does not capture subject '" + missing.front() + "'");
    }
    return {};
  }
  if (s != NATS_NOT_FOUND) return tl::unexpected(NatsError("looking up stream " + spec.name, s, jerr));
  std::vector<const char*> subjects;
  for (const auto& subject : spec.subjects) subjects.push_back(subject.c_str());
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = spec.name.c_str();
  config.Subjects = subjects.data();
  config.SubjectsLen = static_cast<int>(subjects.size());
  config.Storage = js_FileStorage;
  config.Retention = spec.work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
  config.MaxAge = Nanos(spec.max_age);
  config.MaxBytes = spec.max_bytes;
  config.MaxMsgSize = spec.max_message_bytes;
  config.Duplicates = Nanos(spec.duplicate_window);
  config.Replicas = spec.replicas;
  jerr = static_cast<jsErrCode>(0);
  s = js_AddStream(&info, js_, &config, nullptr, &jerr);
  if (s == NATS_OK) jsStreamInfo_Destroy(info);
  return Check("creating stream " + spec.name, s, jerr);
}

Status JetStreamConnection::EnsureConsumer(const ConsumerSpec& spec) {
  jsConsumerConfig config;
  jsConsumerConfig_Init(&config);
  config.Durable = spec.durable.c_str();
  config.FilterSubject = spec.filter_subject.empty() ? nullptr : spec.filter_subject.c_str();
  config.AckPolicy = js_AckExplicit;
  config.AckWait = Nanos(spec.ack_wait);
  config.MaxAckPending = spec.max_ack_pending;
  config.MaxDeliver = -1;  // the worker dead-letters past its own limit, with the reason (stream_worker.h)
  config.DeliverPolicy = js_DeliverAll;
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddConsumer(&info, js_, spec.stream.c_str(), &config, nullptr, &jerr);
  if (s != NATS_OK) {
    // It exists with other settings: change those a consumer may change.
    jerr = static_cast<jsErrCode>(0);
    s = js_UpdateConsumer(&info, js_, spec.stream.c_str(), &config, nullptr, &jerr);
  }
  if (s == NATS_OK) jsConsumerInfo_Destroy(info);
  return Check("creating consumer " + spec.durable + " on stream " + spec.stream, s, jerr);
}

Result<std::unique_ptr<PullConsumer>> JetStreamConnection::Subscribe(const ConsumerSpec& spec) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = spec.stream.c_str();
  so.Consumer = spec.durable.c_str();
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  VIGIL_TRY(Check("subscribing to consumer " + spec.durable,
                  js_PullSubscribe(&sub, js_, spec.filter_subject.c_str(), spec.durable.c_str(), nullptr, &so, &jerr),
                  jerr));
  return std::make_unique<PullConsumer>(sub);
}

Result<PublishAck> JetStreamConnection::Publish(const std::string& subject,
                                                const std::vector<std::pair<std::string, std::string>>& headers,
                                                std::span<const std::uint8_t> data, const std::string& message_id) {
  VIGIL_ASSIGN_OR_RETURN(natsMsg * msg, MakeMessage(subject, headers, data, message_id));
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout_.count();
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_PublishMsg(&ack, js_, msg, &po, &jerr);
  natsMsg_Destroy(msg);
  if (s != NATS_OK) return tl::unexpected(NatsError("publishing to " + subject, s, jerr));
  PublishAck out{ack->Sequence, ack->Duplicate};
  jsPubAck_Destroy(ack);
  return out;
}

Status JetStreamConnection::PublishAsync(const std::string& subject,
                                         const std::vector<std::pair<std::string, std::string>>& headers,
                                         std::span<const std::uint8_t> data, const std::string& message_id) {
  VIGIL_ASSIGN_OR_RETURN(natsMsg * msg, MakeMessage(subject, headers, data, message_id));
  const natsStatus s = js_PublishMsgAsync(js_, &msg, nullptr);  // takes the message when it succeeds
  if (msg != nullptr) natsMsg_Destroy(msg);
  return Check("publishing to " + subject, s);
}

Result<AsyncPublishOutcome> JetStreamConnection::WaitPublished(std::chrono::milliseconds timeout) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout.count();
  VIGIL_TRY(Check("waiting for publish acknowledgements", js_PublishAsyncComplete(js_, &po)));
  std::lock_guard lock(async_errors_->mu);
  return std::exchange(async_errors_->outcome, {});
}

Result<std::unique_ptr<Listener>> JetStreamConnection::Listen(const std::string& subject) {
  natsSubscription* sub = nullptr;
  VIGIL_TRY(Check("subscribing to " + subject, natsConnection_SubscribeSync(&sub, nc_, subject.c_str())));
  natsSubscription_SetPendingLimits(sub, 1 << 20, 1 << 30);
  return std::make_unique<Listener>(sub);
}

Result<ConsumerState> JetStreamConnection::Consumer(const std::string& stream, const std::string& durable) {
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  VIGIL_TRY(Check("consumer " + durable, js_GetConsumerInfo(&info, js_, stream.c_str(), durable.c_str(), nullptr, &jerr),
                  jerr));
  ConsumerState out{info->NumPending, info->NumAckPending, info->NumRedelivered, info->NumWaiting};
  jsConsumerInfo_Destroy(info);
  return out;
}

Result<std::uint64_t> JetStreamConnection::StreamMessages(const std::string& stream) {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  VIGIL_TRY(Check("stream " + stream, js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &jerr), jerr));
  const std::uint64_t n = info->State.Msgs;
  jsStreamInfo_Destroy(info);
  return n;
}

bool JetStreamConnection::connected() const { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

}  // namespace vigil::stream
