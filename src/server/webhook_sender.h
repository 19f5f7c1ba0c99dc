// Delivers events to the platform (include/vigil/events.h) as signed webhooks: each event one
// HTTPS POST of its JSON to the configured URL, signed with HMAC-SHA256 over "<unix time>.<body>"
// in `Vigil-Signature: t=<time>,v1=<hex>` (a receiver checks the signature and the time, and uses
// `Vigil-Event-Id` as the idempotency key: delivery is at least once). A 2xx answer delivers it;
// anything else (an error status, no answer within the timeout, no connection) is retried with
// exponential backoff, and after max_attempts the event is a dead letter until redelivered by hand.
// An account's events go in order (the store holds back an event while an earlier one of its
// account is undelivered), up to `concurrency` accounts' at once; one replica sends at a time (a
// lease in the store). Nothing is lost across a restart: what was not delivered is still in the outbox.
//
// Thread safety: Start/Stop from the owning thread; RunOnce from one thread at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_fetch.h"
#include "vigil/clock.h"
#include "vigil/events.h"

namespace vigil::server {

struct WebhookOptions {
  std::string url;     // https://... (plain http only to this host); "" : no webhooks
  std::string secret;  // the HMAC key; required with a URL
  std::chrono::seconds timeout{10};
  int max_attempts = 10;
  std::chrono::seconds backoff{5};      // before the second attempt; doubled each time, at most max_backoff
  std::chrono::seconds max_backoff{3600};
  std::chrono::milliseconds poll{1000};  // how often the outbox is looked at
  int batch = 100;
  int concurrency = 8;  // attempts at once (each for another account)
};

struct WebhookPass {
  std::int64_t delivered = 0, failed = 0, dead = 0;
  bool leased = false;  // false: another replica holds the lease
  std::string first_error;  // "event ID: why", for the log
};

// A receiver's answer may be this long (it is read and dropped); a longer one fails the attempt.
inline constexpr std::uint64_t kMaxAnswerBytes = 16ull << 20;

// The signature header's value for `body` at `unix_seconds`: "t=<time>,v1=<hex HMAC-SHA256>".
std::string WebhookSignature(const std::string& secret, std::int64_t unix_seconds, const std::string& body);
// The JSON body sent for an event.
std::string WebhookBody(const PlatformEvent& event);

class WebhookSender {
 public:
  WebhookSender(EventStore& events, const Clock& clock, WebhookOptions options, std::string holder);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Sends what is due until nothing is, or an attempt fails; counted in the result.
  Result<WebhookPass> RunOnce();
  // Runs passes every `poll` on a thread of its own until Stop; `on_pass` sees each (metrics, logs).
  void Start(std::function<void(const Result<WebhookPass>&)> on_pass);
  void Stop();

 private:
  EventStore& events_;
  const Clock& clock_;
  WebhookOptions options_;
  std::string holder_;
  std::vector<std::unique_ptr<net::HttpFetcher>> fetchers_;  // one per attempt at once, for the URL's host
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vigil::server
