// Verifies an OpenID Connect ID token (OpenID Connect Core 1.0 §3.1.3.7) against the provider's
// keys: the signature with libjwt over OpenSSL, then issuer, audience (and azp when there are
// several audiences), expiry, issued-at, not-before and nonce.
//
// libjwt 1.10 verifies with whatever algorithm the token's header names, and accepts "none" and
// HMAC: a token saying "HS256" would be checked with the provider's public key as the HMAC secret,
// which anyone can compute. So the header is read here first: the algorithm must be one the
// operator allows (asymmetric only), the key is chosen by kid and must be of that algorithm's
// kind (and name that algorithm, when it names one), and after libjwt's check the algorithm it
// verified with is compared again.
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sso/jwk_set.h"
#include "vigil/status.h"

namespace vigil::sso {

struct IdTokenExpectations {
  std::string issuer;     // exactly as discovery gave it
  std::string client_id;  // the audience
  std::string nonce;      // the sign-in's
  std::int64_t now = 0;   // seconds since the epoch
  std::int64_t leeway_seconds = 60;
  std::vector<std::string> algorithms = {"RS256", "ES256"};  // of RS256/384/512, ES256/384
  std::string groups_claim = "groups";
};

struct IdTokenClaims {
  std::string issuer, subject;
  std::string name, preferred_username, email;
  std::vector<std::string> groups;
  std::int64_t issued_at = 0, expires_at = 0;
  // Every string claim by name, for the configured name claim.
  std::vector<std::pair<std::string, std::string>> strings;
  std::string Claim(std::string_view claim) const;
};

// kNotFound when the token names a key (kid) the set does not hold: the provider may have rotated
// its keys (fetch them again, then retry once). kPermissionDenied naming the first check that
// failed for everything else; nothing of a token that fails is returned.
Result<IdTokenClaims> VerifyIdToken(std::string_view token, const std::vector<Jwk>& keys,
                                    const IdTokenExpectations& expect);

}  // namespace vigil::sso
