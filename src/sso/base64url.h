// Base64url (RFC 4648 §5, no padding), as JWTs, JWKs and PKCE use it, over OpenSSL's base64 codec.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::sso {

std::string Base64UrlEncode(std::string_view bytes);
// kInvalidArgument for characters outside the alphabet, padding, or an impossible length.
Result<std::string> Base64UrlDecode(std::string_view text);
// `bytes` random bytes (OpenSSL's generator), base64url-encoded: states, nonces, PKCE verifiers.
Result<std::string> RandomBase64Url(std::size_t bytes);
// The PKCE S256 challenge of a verifier: base64url(SHA-256(verifier)) (RFC 7636 §4.2).
std::string PkceChallenge(std::string_view verifier);

}  // namespace vigil::sso
