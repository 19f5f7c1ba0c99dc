// Signed webhooks from the events outbox (see webhook_sender.h).
#include "server/webhook_sender.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
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

WebhookSender::WebhookSender(EventStore& events, const Clock& clock, WebhookOptions options, std::string holder,
                             std::unique_ptr<net::HttpFetcher> fetcher)
    : events_(events), clock_(clock), options_(std::move(options)), holder_(std::move(holder)), fetcher_(std::move(fetcher)) {
  if (fetcher_ == nullptr) {
    net::FetchLimits limits;
    limits.timeout = options_.timeout;
    limits.max_body_bytes = 64 << 10;  // the receiver's answer is not read
    if (auto url = net::ParseHttpUrl(options_.url)) limits.allowed_hosts = {url->host};
    fetcher_ = net::MakeBeastFetcher(limits);
  }
}

WebhookSender::~WebhookSender() { Stop(); }

Result<WebhookPass> WebhookSender::RunOnce() {
  WebhookPass pass;
  // The lease outlives a pass's slowest attempt and is renewed every pass; a replica that dies
  // holding it delays delivery by at most this long.
  const std::int64_t lease_seconds = std::max<std::int64_t>(10, options_.timeout.count() * 3);
  VIGIL_ASSIGN_OR_RETURN(pass.leased, events_.AcquireDeliveryLease(holder_, lease_seconds));
  if (!pass.leased) return pass;
  std::int64_t leased_at = clock_.NowMicros();
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(auto due, events_.DueEvents(clock_.NowMicros(), options_.batch));
    if (due.empty()) break;
    bool failed = false;
    for (const auto& event : due) {
      // Renewed before it could run out mid-pass, so two replicas never send an account's events at once.
      if (clock_.NowMicros() - leased_at > lease_seconds * 1'000'000 / 3) {
        VIGIL_ASSIGN_OR_RETURN(bool kept, events_.AcquireDeliveryLease(holder_, lease_seconds));
        if (!kept) return pass;
        leased_at = clock_.NowMicros();
      }
      const std::string body = WebhookBody(event);
      const std::int64_t now = clock_.NowMicros();
      net::HttpCall call;
      call.method = "POST";
      call.url = options_.url;
      call.content_type = "application/json";
      call.body = body;
      call.headers = {{"Vigil-Event-Id", std::to_string(event.id)},
                      {"Vigil-Event-Kind", event.kind},
                      {"Vigil-Signature", WebhookSignature(options_.secret, now / 1'000'000, body)}};
      auto reply = fetcher_->Send(call);
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
      failed = true;
    }
    // A failed attempt ends the pass (the receiver is likely down); the next is a poll away.
    if (failed) break;
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
