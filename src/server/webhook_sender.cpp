// Signed webhooks from the events outbox (see webhook_sender.h).
#include "server/webhook_sender.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <future>
#include <vector>
#include <boost/json.hpp>

#include "util/iso_time.h"

namespace vigil::server {

std::string WebhookSignature(const std::string& secret, std::int64_t unix_seconds, const std::string& body) {
  const std::string signed_text = std::to_string(unix_seconds) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 15];
  }
  return "t=" + std::to_string(unix_seconds) + ",v1=" + hex;
}

std::string WebhookBody(const PlatformEvent& e) {
  boost::system::error_code ec;
  auto data = boost::json::parse(e.data, ec);
  if (ec || !data.is_object()) data = boost::json::object{};
  return boost::json::serialize(boost::json::object{{"id", e.id},
                                                    {"kind", e.kind},
                                                    {"created_at", IsoTime(e.created_at)},
                                                    {"user_id", e.user_id},
                                                    {"content_id", e.content_id},
                                                    {"case_id", e.case_id},
                                                    {"data", std::move(data)}});
}

WebhookSender::WebhookSender(EventStore& events, const Clock& clock, WebhookOptions options, std::string holder)
    : events_(events), clock_(clock), options_(std::move(options)), holder_(std::move(holder)) {
  options_.concurrency = std::max(1, options_.concurrency);
  net::FetchLimits limits;
  limits.timeout = options_.timeout;
  limits.max_body_bytes = kMaxAnswerBytes;  // read and dropped: only the status counts
  if (auto url = net::ParseHttpUrl(options_.url)) limits.allowed_hosts = {url->host};
  for (int i = 0; i < options_.concurrency; ++i) fetchers_.push_back(net::MakeBeastFetcher(limits));
}

WebhookSender::~WebhookSender() { Stop(); }

Result<WebhookPass> WebhookSender::RunOnce() {
  WebhookPass pass;
  // The lease outlives the slowest attempt and is renewed as the pass goes; a replica that dies
  // holding it delays delivery by at most this long.
  const std::int64_t lease_seconds = std::max<std::int64_t>(10, options_.timeout.count() * 3);
  VIGIL_ASSIGN_OR_RETURN(pass.leased, events_.AcquireDeliveryLease(holder_, lease_seconds));
  if (!pass.leased) return pass;
  std::int64_t leased_at = clock_.NowMicros();
  // Attempts in flight, each on a fetcher of its own. The store answers only the oldest
  // undelivered event of an account, and one in flight is undelivered, so an account has at most
  // one attempt out at a time (its order holds) while other accounts' go on beside it: a receiver
  // slow for some accounts holds up no other.
  struct InFlight {
    PlatformEvent event;
    std::size_t fetcher;
    std::future<Result<net::HttpReply>> reply;
  };
  std::vector<InFlight> in_flight;
  std::vector<std::size_t> free_fetchers;
  for (std::size_t i = 0; i < fetchers_.size(); ++i) free_fetchers.push_back(i);
  bool drained = false;  // the outbox had nothing more due, last time it was asked
  while (true) {
    if (!free_fetchers.empty() && !drained) {
      VIGIL_ASSIGN_OR_RETURN(auto due, events_.DueEvents(clock_.NowMicros(), options_.batch));
      std::size_t launched = 0;
      for (auto& event : due) {
        if (free_fetchers.empty()) break;
        if (std::any_of(in_flight.begin(), in_flight.end(), [&](const InFlight& f) { return f.event.id == event.id; })) continue;
        const std::size_t fetcher = free_fetchers.back();
        free_fetchers.pop_back();
        const std::string body = WebhookBody(event);
        net::HttpCall call;
        call.method = "POST";
        call.url = options_.url;
        call.content_type = "application/json";
        call.body = body;
        call.headers = {{"Vigil-Event-Id", std::to_string(event.id)},
                        {"Vigil-Event-Kind", event.kind},
                        {"Vigil-Signature", WebhookSignature(options_.secret, clock_.NowMicros() / 1'000'000, body)}};
        net::HttpFetcher* client = fetchers_[fetcher].get();
        in_flight.push_back({std::move(event), fetcher,
                             std::async(std::launch::async, [client, call = std::move(call)] { return client->Send(call); })});
        ++launched;
      }
      drained = launched == 0;
    }
    if (in_flight.empty()) break;
    // The first attempt to finish (polled: attempts end by their own deadline).
    auto done = in_flight.end();
    while (done == in_flight.end()) {
      for (auto it = in_flight.begin(); it != in_flight.end(); ++it) {
        if (it->reply.wait_for(std::chrono::milliseconds(2)) == std::future_status::ready) {
          done = it;
          break;
        }
      }
    }
    const PlatformEvent event = done->event;
    auto reply = done->reply.get();
    free_fetchers.push_back(done->fetcher);
    in_flight.erase(done);
    drained = false;  // a slot is free, and delivering this may have made its account's next event due
    if (clock_.NowMicros() - leased_at > lease_seconds * 1'000'000 / 3) {
      VIGIL_ASSIGN_OR_RETURN(bool kept, events_.AcquireDeliveryLease(holder_, lease_seconds));
      if (!kept) {
        for (auto& f : in_flight) (void)f.reply.get();  // let them end; their outcome is retried later
        return pass;
      }
      leased_at = clock_.NowMicros();
    }
    if (reply && reply->status >= 200 && reply->status < 300) {
      VIGIL_TRY(events_.MarkDelivered(event.id, clock_.NowMicros()));
      ++pass.delivered;
      continue;
    }
    const std::string error = reply ? "the receiver answered HTTP " + std::to_string(reply->status) : reply.error().message;
    const std::int64_t attempt = event.attempts + 1;
    const bool dead = attempt >= options_.max_attempts;
    const auto wait = std::min<std::int64_t>(options_.max_backoff.count(),
                                             options_.backoff.count() << std::min<std::int64_t>(attempt - 1, 20));
    VIGIL_TRY(events_.MarkFailed(event.id, error, clock_.NowMicros() + wait * 1'000'000, dead));
    ++pass.failed;
    if (dead) ++pass.dead;
    if (pass.first_error.empty()) pass.first_error = "event " + std::to_string(event.id) + ": " + error;
  }
  return pass;
}

void WebhookSender::Start(std::function<void(const Result<WebhookPass>&)> on_pass) {
  if (thread_.joinable() || options_.url.empty()) return;
  thread_ = std::thread([this, on_pass = std::move(on_pass)] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      auto pass = RunOnce();
      if (on_pass) on_pass(pass);
      lock.lock();
      cv_.wait_for(lock, options_.poll, [&] { return stop_; });
    }
  });
}

void WebhookSender::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  (void)events_.ReleaseDeliveryLease(holder_);
}

}  // namespace vigil::server
