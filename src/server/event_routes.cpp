// Routes for events to the platform: GET /v1/events (the feed), GET /v1/events/dead (webhook dead
// letters), POST /v1/events/{id}/redeliver; and the webhook sender's start and stop.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "server/api_service.h"
#include "server/api_support.h"
#include "server/webhook_sender.h"

namespace vigil::server {
namespace {

boost::json::object EventJson(const PlatformEvent& e) {
  boost::system::error_code ec;
  auto data = boost::json::parse(e.data, ec);
  boost::json::object out{{"id", e.id},
                          {"kind", e.kind},
                          {"created_at", IsoTime(e.created_at)},
                          {"user_id", e.user_id},
                          {"content_id", e.content_id},
                          {"case_id", e.case_id},
                          {"data", ec ? boost::json::value(boost::json::object{}) : std::move(data)}};
  boost::json::object delivery{{"attempts", e.attempts}, {"last_error", e.last_error}, {"dead", e.dead}};
  delivery["delivered_at"] = OptTime(e.delivered_at);
  out["delivery"] = std::move(delivery);
  return out;
}

}  // namespace

Response ApiService::ListEvents(ApiCall& call) {
  auto after = QueryInt(call.query, "after", 0, 0, INT64_MAX);
  if (!after) return ErrorResponse(after.error());
  auto limit = QueryInt(call.query, "limit", 100, 1, 1000);
  if (!limit) return ErrorResponse(limit.error());
  const std::string& user = call.query["user_id"];
  if (user.size() > 256 || std::any_of(user.begin(), user.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "user_id: at most 256 characters, no control characters");
  }
  auto events = store_.Events().ListEvents(*after, static_cast<int>(*limit), user);
  if (!events) return ErrorResponse(events.error());
  boost::json::array out;
  for (const auto& e : *events) out.push_back(EventJson(e));
  // The cursor to ask with next: the last id seen, or the one asked with when nothing is new.
  const std::int64_t next = events->empty() ? *after : events->back().id;
  return JsonResponse(http::status::ok, boost::json::object{{"events", std::move(out)}, {"next_after", next}});
}

Response ApiService::ListDeadEvents(ApiCall& call) {
  auto after = QueryInt(call.query, "after", 0, 0, INT64_MAX);
  if (!after) return ErrorResponse(after.error());
  auto limit = QueryInt(call.query, "limit", 100, 1, 1000);
  if (!limit) return ErrorResponse(limit.error());
  auto events = store_.Events().ListDeadEvents(*after, static_cast<int>(*limit));
  if (!events) return ErrorResponse(events.error());
  boost::json::array out;
  for (const auto& e : *events) out.push_back(EventJson(e));
  const std::int64_t next = events->empty() ? *after : events->back().id;
  return JsonResponse(http::status::ok, boost::json::object{{"events", std::move(out)}, {"next_after", next}});
}

Response ApiService::RedeliverEvent(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto done = store_.Events().Redeliver(*id, call.actor); !done) return ErrorResponse(done.error());
  return Response{http::status::no_content, 11};
}

void ApiService::StartWebhooks(WebhookOptions options, const std::string& holder) {
  if (options.url.empty() || webhooks_ != nullptr) return;
  webhooks_ = std::make_unique<WebhookSender>(store_.Events(), SystemClock(), std::move(options), holder);
  webhooks_->Start([this](const Result<WebhookPass>& pass) {
    if (!pass) {
      spdlog::warn(R"("msg":"webhook pass failed","error":{})", boost::json::serialize(boost::json::value(pass.error().ToString())));
      return;
    }
    metrics_.CountWebhooks(pass->delivered, pass->failed, pass->dead);
    if (pass->failed > 0) {
      spdlog::warn(R"("msg":"webhook delivery failed","failed":{},"dead":{},"delivered":{},"first":{})", pass->failed,
                   pass->dead, pass->delivered, boost::json::serialize(boost::json::value(pass->first_error)));
    }
    if (auto pending = store_.Events().PendingEvents()) metrics_.SetPendingEvents(*pending);
  });
}

void ApiService::StopWebhooks() { webhooks_.reset(); }

}  // namespace vigil::server
