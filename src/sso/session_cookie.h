// The console session's cookies and its CSRF token. The session cookie holds the session's secret
// (HttpOnly, SameSite=Strict, Path=/; Secure with the __Host- prefix over TLS); the sign-in
// cookie ties a sign-in to the browser that began it (SameSite=Lax: it must come back on the
// provider's redirect). Calls that change anything with a session cookie must carry the session's
// CSRF token in X-CSRF-Token: a value derived from the secret (SHA-256 under a fixed label) that a
// page on another site cannot read, so nothing is stored for it.
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vigil::sso {

std::string SessionCookieName(bool secure);
std::string SignInCookieName(bool secure);
// The value of cookie `name` in a Cookie header ("a=b; name=value"); nullopt when absent.
std::optional<std::string> CookieValue(std::string_view header, std::string_view name);
std::string CsrfToken(std::string_view session_secret);
// Whether `given` is the session's CSRF token (compared in constant time).
bool CsrfTokenMatches(std::string_view session_secret, std::string_view given);

}  // namespace vigil::sso
