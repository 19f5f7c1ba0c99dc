// Console sign-in through the organisation's OpenID provider ([sso]): the authorization-code flow
// with PKCE (GET /v1/sso/login, GET /v1/sso/callback), the caller's identity (GET /v1/me),
// sign-out, and the admins' view of sessions and people. See sessions.h for what is stored and
// audited, and sso/session_cookie.h for the cookies and the CSRF token.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "net/http_fetch.h"
#include "server/api_service.h"
#include "server/api_support.h"
#include "sso/base64url.h"
#include "sso/session_cookie.h"
#include "util/iso_time.h"
#include "util/utf8.h"
#include "vigil/clock.h"
#include "vigil/digest.h"
#include "vigil/sessions.h"

namespace vigil::server {
namespace {

// A console path to return to after signing in: /ui/ and letters, digits, '/', '#', '-', '_' (the
// console's views); anything else (another site, a scheme, dot segments, escapes) is /ui/.
std::string ReturnPath(const std::string& asked) {
  if (asked.size() > 256 || !asked.starts_with("/ui/") || asked.find("//") != std::string::npos) return "/ui/";
  for (char c : asked) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '#' ||
                    c == '-' || c == '_';
    if (!ok) return "/ui/";
  }
  return asked;
}

// What a provider says about a person, for display and the audit log: well-formed UTF-8 without
// control characters (C0, DEL, C1) or the bidirectional overrides that make text read otherwise than
// it is stored, at most `max` bytes (never cutting a character).
std::string Printable(const std::string& text, std::size_t max) {
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto c = static_cast<unsigned char>(text[at]);
    const std::size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    const std::string_view one(text.data() + at, std::min(n, text.size() - at));
    at += one.size();
    if (one.size() != n || !IsValidUtf8(one)) continue;
    std::uint32_t cp = c;
    if (n == 2) cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(one[1]) & 0x3Fu);
    if (n == 3) cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(one[1]) & 0x3Fu) << 6) | (static_cast<unsigned char>(one[2]) & 0x3Fu);
    const bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    const bool bidi = cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
                      (cp >= 0x2066 && cp <= 0x2069);
    if (control || bidi) continue;
    if (out.size() + one.size() > max) break;
    out.append(one);
  }
  return out;
}

// The sign-in cookie's value: 32 random bytes, base64url.
bool WellFormedBinding(const std::string& value) {
  return value.size() == 43 && std::all_of(value.begin(), value.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
         });
}

// One of the sign-ins that may wait on the provider at once (a slow provider holds a worker for
// each): held while it lives, if there was room.
class SignInSlot {
 public:
  SignInSlot(std::atomic<int>& count, int max) : count_(count), held_(++count <= max) {
    if (!held_) --count_;
  }
  ~SignInSlot() {
    if (held_) --count_;
  }
  SignInSlot(const SignInSlot&) = delete;
  SignInSlot& operator=(const SignInSlot&) = delete;
  bool held() const { return held_; }

 private:
  std::atomic<int>& count_;
  bool held_;
};

// The provider's claim as a Vigil name: lower case, [a-z0-9._@-], 1-64, starting with a letter or
// digit, not one of the actors that are not people.
Result<std::string> PersonName(const std::string& claim, const std::string& claim_name) {
  std::string name;
  for (char c : claim) name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  const bool chars_ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@';
  });
  const bool starts_ok = chars_ok && ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'));
  if (name == "cli" || name == "system" || name == "policy" || name == "anonymous" || name == "operator") {
    return Fail(ErrorCode::kInvalidArgument, "the provider's '" + claim_name + "' claim ('" + name +
                                                 "') is a name Vigil keeps for itself (cli, system, policy, anonymous, operator)");
  }
  if (!starts_ok) {
    return Fail(ErrorCode::kInvalidArgument, "the provider's '" + claim_name + "' claim ('" + claim.substr(0, 64) +
                                                 "') cannot be a Vigil name (1-64 of a-z 0-9 . _ - @, starting with a "
                                                 "letter or digit)");
  }
  return name;
}

Response Redirect(const std::string& location) {
  Response response{http::status::found, 11};
  response.set(http::field::location, location);
  response.set(http::field::cache_control, "no-store");
  return response;
}

boost::json::object SessionJson(const SessionRecord& s, std::int64_t now) {
  boost::json::array roles;
  for (const auto& r : SplitRoles(s.roles)) roles.emplace_back(r);
  boost::json::object out{{"id", s.id},
                          {"name", s.name},
                          {"display_name", s.display_name},
                          {"subject", s.subject},
                          {"issuer", s.issuer},
                          {"roles", std::move(roles)},
                          {"created_at", IsoTime(s.created_at)},
                          {"last_seen", IsoTime(s.last_seen)},
                          {"idle_until", IsoTime(s.idle_until)},
                          {"absolute_until", IsoTime(s.absolute_until)},
                          {"remote", s.remote}};
  out["ended_at"] = s.ended_at ? boost::json::value(IsoTime(*s.ended_at)) : nullptr;
  out["end_reason"] = s.end_reason;
  out["live"] = !s.ended_at && now < s.idle_until && now < s.absolute_until;
  return out;
}

}  // namespace

std::string ApiService::CookieAttributes() const {
  return options_.sso.secure_cookies ? "; Path=/; HttpOnly; Secure" : "; Path=/; HttpOnly";
}

Response ApiService::SignInFailed(const std::string& why, const std::string& remote) {
  spdlog::warn(R"("msg":"sign-in refused","why":{},"remote":{})", boost::json::serialize(boost::json::value(why)),
               boost::json::serialize(boost::json::value(remote)));
  // The fragment is read by the console and never sent to a server (nor logged by a proxy). The
  // sign-in cookie stays: another sign-in of this browser may still be under way.
  return Redirect("/ui/#sso-error=" + net::UrlEncode(why.substr(0, 300)));
}

Status ApiService::CheckSso() {
  if (!oidc_) return {};
  const auto& o = options_.sso.oidc;
  auto metadata = oidc_->Metadata();
  spdlog::log(metadata ? spdlog::level::info : spdlog::level::warn, R"("msg":"single sign-on","issuer":{},"client_id":{},"client":{},"secure_cookies":{},"waiting_sign_ins":{},"provider":{})",
               boost::json::serialize(boost::json::value(o.issuer)), boost::json::serialize(boost::json::value(o.client_id)),
               o.client_secret.empty() ? "\"public (no secret: PKCE alone)\"" : "\"confidential\"",
               options_.sso.secure_cookies, options_.sso.max_waiting_sign_ins, boost::json::serialize(boost::json::value(metadata ? "reached" : metadata.error().message)));
  if (!metadata && metadata.error().code == ErrorCode::kInvalidArgument) {
    spdlog::error(R"("msg":"single sign-on will refuse every sign-in","why":{})",
                  boost::json::serialize(boost::json::value(metadata.error().message)));
  }
  return {};
}

Response ApiService::SsoInfo(ApiCall&) {
  boost::json::object out{{"enabled", oidc_ != nullptr}};
  if (oidc_) {
    out["provider"] = options_.sso.provider_name;
    out["login"] = "/v1/sso/login";
  }
  return JsonResponse(http::status::ok, out);
}

Response ApiService::SsoLogin(ApiCall& call) {
  if (!oidc_) return ErrorResponse(http::status::not_found, "not_found", "single sign-on is not configured ([sso] issuer)");
  // Each sign-in begun costs a row and a redirect: one address may begin only so many.
  if (!auth_.AdmitAnonymous(call.remote)) {
    auto response = ErrorResponse(http::status::too_many_requests, "rate_limited", "too many sign-ins begun from this address");
    response.set(http::field::retry_after, "1");
    return response;
  }
  // A slow provider holds a worker for each sign-in waiting on it: only so many at once.
  const SignInSlot slot(sign_ins_in_flight_, std::max(1, options_.sso.max_waiting_sign_ins));
  if (!slot.held()) {
    return SignInFailed("too many sign-ins are waiting for the identity provider: try again in a moment", call.remote);
  }
  auto state = sso::RandomBase64Url(32);
  auto nonce = sso::RandomBase64Url(32);
  auto verifier = sso::RandomBase64Url(48);
  // The browser's sign-in cookie: kept when it has one, so that two sign-ins begun in two tabs both
  // finish.
  std::optional<std::string> binding =
      sso::CookieValue(call.request[http::field::cookie], sso::SignInCookieName(options_.sso.secure_cookies));
  if (!binding || !WellFormedBinding(*binding)) {
    auto fresh = sso::RandomBase64Url(32);
    if (!fresh) return ErrorResponse(http::status::internal_server_error, "internal", "no randomness");
    binding = *fresh;
  }
  if (!state || !nonce || !verifier) return ErrorResponse(http::status::internal_server_error, "internal", "no randomness");
  auto url = oidc_->AuthorizationUrl(*state, *nonce, *verifier);
  if (!url) return SignInFailed(url.error().message, call.remote);
  SignInFlow flow{*state, *nonce, *verifier, Sha256Hex(*binding), ReturnPath(call.query["return_to"]),
                  SystemClock().NowMicros()};
  if (auto begun = store_.Sessions().BeginSignIn(flow); !begun) return ErrorResponse(begun.error());
  Response response = Redirect(*url);
  response.insert(http::field::set_cookie, sso::SignInCookieName(options_.sso.secure_cookies) + "=" + *binding +
                                               CookieAttributes() + "; SameSite=Lax; Max-Age=600");
  return response;
}

Response ApiService::SsoCallback(ApiCall& call) {
  if (!oidc_) return ErrorResponse(http::status::not_found, "not_found", "single sign-on is not configured ([sso] issuer)");
  const std::string state = call.query["state"];
  if (state.empty()) return SignInFailed("the provider's answer carries no sign-in state", call.remote);
  if (state.size() > 256) return SignInFailed("the provider's answer's state is over 256 characters", call.remote);
  const SignInSlot slot(sign_ins_in_flight_, std::max(1, options_.sso.max_waiting_sign_ins));
  if (!slot.held()) {
    return SignInFailed("too many sign-ins are waiting for the identity provider: try again in a moment", call.remote);
  }
  // Taken only by the browser that began it (its sign-in cookie), and then once.
  const auto binding = sso::CookieValue(call.request[http::field::cookie], sso::SignInCookieName(options_.sso.secure_cookies));
  auto flow = store_.Sessions().TakeSignIn(state, Sha256Hex(binding.value_or("")), SystemClock().NowMicros());
  if (!flow) {
    const auto code = flow.error().code;
    if (code == ErrorCode::kNotFound || code == ErrorCode::kPermissionDenied) return SignInFailed(flow.error().message, call.remote);
    spdlog::error(R"("msg":"sign-in not read","error":{})", boost::json::serialize(boost::json::value(flow.error().ToString())));
    return SignInFailed("the sign-in could not be read: try again (the server's log says why)", call.remote);
  }
  if (const auto error = call.query.find("error"); error != call.query.end()) {
    std::string code = error->second.substr(0, 64);
    for (char& c : code) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
    }
    return SignInFailed("the identity provider did not sign you in (" + code + ")", call.remote);
  }
  const std::string code = call.query["code"];
  if (code.empty()) return SignInFailed("the provider's answer carries no code", call.remote);
  if (code.size() > 2048) return SignInFailed("the provider's answer's code is over 2048 characters", call.remote);
  auto id_token = oidc_->RedeemCode(code, flow->verifier);
  if (!id_token) return SignInFailed(id_token.error().message, call.remote);
  const auto now = SystemClock().NowMicros();
  auto claims = oidc_->Verify(*id_token, flow->nonce, now / 1'000'000);
  if (!claims) return SignInFailed(claims.error().message, call.remote);
  Person person;
  person.issuer = claims->issuer;
  person.subject = claims->subject;
  person.display_name = Printable(claims->name, 128);
  person.email = Printable(claims->email, 256);
  person.last_seen = now;
  auto refuse = [&](const std::string& why) {
    (void)store_.Sessions().AuditRefusedSignIn(person, why + " (remote=" + call.remote + ")");
    return SignInFailed(why, call.remote);
  };
  auto name = PersonName(claims->Claim(options_.sso.name_claim), options_.sso.name_claim);
  if (!name) return refuse(name.error().message);
  person.name = *name;
  person.roles = sso::RolesForGroups(group_roles_, claims->groups);
  if (person.roles.empty()) return refuse("none of your groups at the identity provider gives a Vigil role (ask an admin)");
  SessionTimeouts timeouts{options_.sso.idle_minutes * 60, options_.sso.absolute_hours * 3600};
  auto session = store_.Sessions().StartSession(person, timeouts, call.remote, now);
  if (!session) {
    const auto why = session.error().code;
    if (why == ErrorCode::kAlreadyExists || why == ErrorCode::kInvalidArgument) return refuse(session.error().message);
    // The store's own trouble is for the log, not the browser.
    spdlog::error(R"("msg":"sign-in not recorded","error":{})", boost::json::serialize(boost::json::value(session.error().ToString())));
    return SignInFailed("the sign-in could not be recorded: try again (the server's log says why)", call.remote);
  }
  Response response = Redirect(flow->return_to.empty() ? "/ui/" : flow->return_to);
  response.insert(http::field::set_cookie, sso::SessionCookieName(options_.sso.secure_cookies) + "=" + session->secret +
                                               CookieAttributes() + "; SameSite=Strict");
  return response;
}

Response ApiService::SsoLogout(ApiCall& call) {
  if (call.key == nullptr || call.key->session_id == 0) {
    return ErrorResponse(http::status::bad_request, "invalid_argument",
                         "this is an API key, not a console session: there is nothing to sign out of");
  }
  const auto ended = store_.Sessions().EndSession(call.key->session_id, call.actor, "signed out", SystemClock().NowMicros());
  if (!ended && ended.error().code != ErrorCode::kNotFound) return ErrorResponse(ended.error());
  boost::json::object out{{"signed_out", true}};
  if (oidc_) {
    auto metadata = oidc_->Metadata();
    out["provider_logout"] = metadata && !metadata->end_session_endpoint.empty()
                                 ? boost::json::value(metadata->end_session_endpoint + "?client_id=" +
                                                      net::UrlEncode(options_.sso.oidc.client_id))
                                 : nullptr;
  }
  Response response = JsonResponse(http::status::ok, out);
  response.insert(http::field::set_cookie,
                  sso::SessionCookieName(options_.sso.secure_cookies) + "=" + CookieAttributes() + "; SameSite=Strict; Max-Age=0");
  return response;
}

Response ApiService::Me(ApiCall& call) {
  boost::json::array roles;
  for (const auto& r : SplitRoles(call.key->roles_held.empty() ? call.key->role : call.key->roles_held)) roles.emplace_back(r);
  boost::json::object out{{"name", call.actor}, {"roles", std::move(roles)}};
  if (call.key->session_id == 0) {
    out["kind"] = "key";
    out["expires_at"] = call.key->expires_at ? boost::json::value(IsoTime(*call.key->expires_at)) : nullptr;
    return JsonResponse(http::status::ok, out);
  }
  out["kind"] = "session";
  const auto secret = sso::CookieValue(call.request[http::field::cookie], sso::SessionCookieName(options_.sso.secure_cookies));
  out["csrf_token"] = secret ? sso::CsrfToken(*secret) : "";
  if (auto s = store_.Sessions().GetSession(call.key->session_id)) {
    out["display_name"] = s->display_name;
    out["subject"] = s->subject;
    out["idle_until"] = IsoTime(s->idle_until);
    out["absolute_until"] = IsoTime(s->absolute_until);
  }
  return JsonResponse(http::status::ok, out);
}

Response ApiService::ListSessions(ApiCall& call) {
  auto limit = QueryInt(call.query, "limit", 100, 1, 1000);
  if (!limit) return ErrorResponse(limit.error());
  const std::string which = call.query.count("all") ? call.query["all"] : "";
  const auto now = SystemClock().NowMicros();
  auto sessions = store_.Sessions().ListSessions(which != "true", static_cast<int>(*limit), now);
  if (!sessions) return ErrorResponse(sessions.error());
  boost::json::array out;
  for (const auto& s : *sessions) out.push_back(SessionJson(s, now));
  return JsonResponse(http::status::ok, boost::json::object{{"sessions", std::move(out)}});
}

Response ApiService::EndSessionRoute(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  if (auto ended = store_.Sessions().EndSession(*id, call.actor, "ended by " + call.actor, SystemClock().NowMicros()); !ended) {
    return ErrorResponse(ended.error());
  }
  return JsonResponse(http::status::ok, boost::json::object{{"id", *id}, {"ended", true}});
}

Response ApiService::ListPeople(ApiCall&) {
  auto people = store_.Sessions().ListPeople();
  if (!people) return ErrorResponse(people.error());
  boost::json::array out;
  for (const auto& p : *people) {
    boost::json::array roles;
    for (const auto& r : SplitRoles(p.roles)) roles.emplace_back(r);
    out.push_back(boost::json::object{{"name", p.name},
                                      {"display_name", p.display_name},
                                      {"email", p.email},
                                      {"issuer", p.issuer},
                                      {"subject", p.subject},
                                      {"roles", std::move(roles)},
                                      {"first_seen", IsoTime(p.first_seen)},
                                      {"last_seen", IsoTime(p.last_seen)}});
  }
  return JsonResponse(http::status::ok, boost::json::object{{"people", std::move(out)}});
}

}  // namespace vigil::server
