// Session cookies and CSRF tokens (session_cookie.h).
#include "sso/session_cookie.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "sso/base64url.h"

namespace vigil::sso {

std::string SessionCookieName(bool secure) { return secure ? "__Host-vigil-session" : "vigil-session"; }
std::string SignInCookieName(bool secure) { return secure ? "__Host-vigil-signin" : "vigil-signin"; }

std::optional<std::string> CookieValue(std::string_view header, std::string_view name) {
  std::size_t at = 0;
  while (at < header.size()) {
    auto end = header.find(';', at);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(at, end - at);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return std::string(value);
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::string CsrfToken(std::string_view session_secret) {
  std::string input = "vigil-csrf-token:";
  input.append(session_secret);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool CsrfTokenMatches(std::string_view session_secret, std::string_view given) {
  const std::string expected = CsrfToken(session_secret);
  return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace vigil::sso
