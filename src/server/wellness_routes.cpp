// Routes for reviewer wellness (include/vigil/wellness.h): a reviewer's own limit and breaks, what
// their screen covered again, managers' limits per reviewer, and exposure figures.
#include "server/api_service.h"
#include "server/api_support.h"
#include "util/iso_time.h"
#include "vigil/clock.h"
#include "vigil/sessions.h"

namespace vigil::server {
namespace {

boost::json::object WellnessJson(const WellnessState& s, std::int64_t now) {
  auto opt = [](const std::optional<int>& v) { return v ? boost::json::value(*v) : boost::json::value(nullptr); };
  const bool on_break = s.break_until > now;
  return {{"reviewer", s.reviewer},
          {"org_reveal_limit", s.org_limit},
          {"manager_reveal_limit", opt(s.manager_limit)},
          {"own_reveal_limit", opt(s.own_limit)},
          {"reveal_limit", s.limit},
          {"reveals", s.reveals},
          {"remaining", on_break ? 0 : std::max<std::int64_t>(0, s.limit - s.reveals)},
          {"break_minutes", s.break_minutes},
          {"on_break", on_break},
          {"break_until", on_break ? boost::json::value(IsoTime(s.break_until)) : boost::json::value(nullptr)},
          {"break_seconds_left", on_break ? (s.break_until - now + 999'999) / 1'000'000 : 0}};
}

// {"reveal_limit": n} or {"reveal_limit": null} (no limit of one's own / the manager's).
Result<std::optional<int>> ParseLimit(const boost::json::object& body) {
  VIGIL_TRY(CheckKnownFields(body, {"reveal_limit"}));
  const auto* v = body.if_contains("reveal_limit");
  if (v == nullptr) return Fail(ErrorCode::kInvalidArgument, "'reveal_limit' (an integer, or null for none) is required");
  if (v->is_null()) return std::optional<int>{};
  if (!v->is_int64() || v->as_int64() < 1 || v->as_int64() > 500) {
    return Fail(ErrorCode::kInvalidArgument, "'reveal_limit' must be an integer from 1 to 500, or null");
  }
  return std::optional<int>(static_cast<int>(v->as_int64()));
}

}  // namespace

std::optional<Response> ApiService::RefuseUnknownReviewer(const std::string& name) {
  auto keys = store_.ListApiKeys();
  if (!keys) return ErrorResponse(keys.error());
  if (std::none_of(keys->begin(), keys->end(), [&](const ApiKeyRecord& k) {
        return k.name == name && HoldsRole(k.role, "reviewer") && !k.revoked_at;
      })) {
    // A person who signs in through the identity provider, with reviewer among their roles.
    auto person = store_.Sessions().GetPerson(name);
    if (person && HoldsRole(person->roles, "reviewer")) return std::nullopt;
    return ErrorResponse(http::status::not_found, "not_found",
                         "no active reviewer key, nor reviewer signing in through the identity provider, named '" +
                             name.substr(0, 64) + "'");
  }
  return std::nullopt;
}

std::optional<Response> ApiService::AdmitReveal(const ApiCall& call) {
  const auto now = SystemClock().NowMicros();
  auto admitted = store_.Wellness().AdmitReveal(call.actor, options_.wellness, now);
  if (admitted) return std::nullopt;
  if (admitted.error().code != ErrorCode::kResourceExhausted) return ErrorResponse(admitted.error());
  auto state = store_.Wellness().GetWellness(call.actor, options_.wellness, now);
  const std::int64_t seconds = state ? std::max<std::int64_t>(1, (state->break_until - now + 999'999) / 1'000'000) : 60;
  Response refused = ErrorResponse(http::status::too_many_requests, "break_required",
                                   "time for a break: no media are revealed for " + std::to_string((seconds + 59) / 60) +
                                       " more minute(s) (" + admitted.error().message + ")");
  refused.set(http::field::retry_after, std::to_string(seconds));
  return refused;
}

Response ApiService::GetMyWellness(ApiCall& call) {
  const auto now = SystemClock().NowMicros();
  auto state = store_.Wellness().GetWellness(call.actor, options_.wellness, now);
  if (!state) return ErrorResponse(state.error());
  return JsonResponse(http::status::ok, WellnessJson(*state, now));
}

Response ApiService::SetMyWellness(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  auto limit = ParseLimit(*body);
  if (!limit) return ErrorResponse(limit.error());
  const auto now = SystemClock().NowMicros();
  auto state = store_.Wellness().SetOwnLimit(call.actor, *limit, options_.wellness, now);
  if (!state) return ErrorResponse(state.error());
  return JsonResponse(http::status::ok, WellnessJson(*state, now));
}

Response ApiService::StartMyBreak(ApiCall& call) {
  const auto now = SystemClock().NowMicros();
  auto state = store_.Wellness().StartBreak(call.actor, options_.wellness, now);
  if (!state) return ErrorResponse(state.error());
  return JsonResponse(http::status::ok, WellnessJson(*state, now));
}

Response ApiService::CoverMyReveals(ApiCall& call) {
  if (auto covered = store_.Wellness().CoverReveals(call.actor, SystemClock().NowMicros()); !covered) {
    return ErrorResponse(covered.error());
  }
  return Response{http::status::no_content, 11};
}

Response ApiService::GetReviewerWellness(ApiCall& call) {
  if (auto refused = RefuseUnknownReviewer(call.path["name"])) return std::move(*refused);
  const auto now = SystemClock().NowMicros();
  auto state = store_.Wellness().GetWellness(call.path["name"], options_.wellness, now);
  if (!state) return ErrorResponse(state.error());
  return JsonResponse(http::status::ok, WellnessJson(*state, now));
}

Response ApiService::SetReviewerWellness(ApiCall& call) {
  const std::string reviewer = call.path["name"];
  if (auto refused = RefuseUnknownReviewer(reviewer)) return std::move(*refused);
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  auto limit = ParseLimit(*body);
  if (!limit) return ErrorResponse(limit.error());
  const auto now = SystemClock().NowMicros();
  auto state = store_.Wellness().SetManagerLimit(reviewer, *limit, call.actor, options_.wellness, now);
  if (!state) return ErrorResponse(state.error());
  return JsonResponse(http::status::ok, WellnessJson(*state, now));
}

// ?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 30 days).
Response ApiService::GetExposure(ApiCall& call) {
  const auto now = SystemClock().NowMicros();
  std::int64_t from = now - std::int64_t{30} * 86'400'000'000, to = now + 1;
  for (const char* name : {"from", "to"}) {
    const std::string text = call.query[name];
    if (text.empty()) continue;
    auto parsed = ParseIsoTime(text.size() == 10 ? text + "T00:00:00Z" : text);
    if (!parsed) {
      return ErrorResponse(http::status::bad_request, "invalid_argument",
                           std::string(name) + " must be a date (YYYY-MM-DD) or an ISO 8601 time");
    }
    (std::string_view(name) == "from" ? from : to) = *parsed;
  }
  if (to <= from) return ErrorResponse(http::status::bad_request, "invalid_argument", "'to' must be after 'from'");
  auto figures = store_.Wellness().Exposure(from, to, options_.wellness, now);
  if (!figures) return ErrorResponse(figures.error());
  boost::json::array out;
  for (const auto& f : *figures) {
    out.push_back(boost::json::object{{"reviewer", f.reviewer},
                                      {"reveals", f.reveals},
                                      {"cases", f.cases},
                                      {"exposure_seconds", f.exposure_seconds},
                                      {"exposure_minutes", (f.exposure_seconds + 30) / 60},
                                      {"breaks", f.breaks},
                                      {"forced_breaks", f.forced_breaks},
                                      {"days_with_reveals", f.days_with_reveals}});
  }
  return JsonResponse(http::status::ok, boost::json::object{{"from", IsoTime(from)},
                                                            {"to", IsoTime(to)},
                                                            {"exposure_cap_minutes", options_.wellness.exposure_cap_minutes},
                                                            {"reviewers", std::move(out)}});
}

}  // namespace vigil::server
