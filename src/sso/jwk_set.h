// A provider's signing keys (its JWKS document, RFC 7517): each usable key turned into a PEM public
// key with OpenSSL, for the JWT library to verify with. Hostile input: at most 64 keys; RSA moduli
// of 2048 to 8192 bits; EC keys on P-256 or P-384 with a point checked to be on the curve; keys for
// encryption ("use": "enc") and kinds Vigil does not verify with are skipped, not errors.
// Thread safety: a parsed set is immutable; ParseJwks is reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::sso {

struct Jwk {
  std::string kid;  // "" when the provider gives none
  std::string kty;  // "RSA" or "EC"
  std::string crv;  // EC: "P-256" or "P-384"
  std::string alg;  // as the key names it ("" : any of its kind)
  std::string pem;  // SubjectPublicKeyInfo, PEM
};

// kInvalidArgument naming what is wrong with the document (not JSON, no "keys", a malformed key).
Result<std::vector<Jwk>> ParseJwks(std::string_view json);

}  // namespace vigil::sso
