// Signing keys for test ID tokens: RSA-2048 and EC P-256 pairs made with OpenSSL, tokens signed with
// libjwt (RS256, or ES256), the JWKS of the public halves, rotation to a new key generation with a
// new kid. Two signers name their keys alike ("k1-rs", "k1-ec"): one forges the other's tokens.
// Thread safety: none; callers serialise (OidcStandIn holds its lock).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace vigil::testing {

class JwtSigner {
 public:
  JwtSigner();
  ~JwtSigner();
  // A new key generation with the next kid; with keep_old the JWKS lists the old ones too.
  void Rotate(bool keep_old = false);
  void UseEs256(bool on) { es256_ = on; }
  std::string Sign(const std::string& claims_json) const;
  // HS256 keyed with the current public key's PEM: what anyone holding the JWKS can make.
  std::string SignHmacWithPublicKey(const std::string& claims_json) const;
  std::string Jwks() const;
  // RS256 over a payload given as text, signed with OpenSSL directly: for claims libjwt will not
  // encode (a NUL in a string).
  std::string SignRs256Raw(const std::string& payload_json) const;

 private:
  struct Key;
  std::string SignWith(const Key& key, const std::string& claims_json, bool hmac) const;
  std::vector<std::unique_ptr<Key>> keys_;  // the newest first
  bool es256_ = false;
  int next_kid_ = 1;
};

}  // namespace vigil::testing
