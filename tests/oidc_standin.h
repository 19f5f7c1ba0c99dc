// A stand-in OpenID provider for tests, written from OpenID Connect Core 1.0, Discovery 1.0 and
// RFC 7636 (PKCE), on the stand-ins' HTTP server (exchange_standins.h):
//   GET  /.well-known/openid-configuration   discovery (issuer = this origin)
//   GET  /authorize                          "signs in" the user the test set and redirects back
//                                            with a code (checks client_id, redirect_uri, S256)
//   POST /token                              the code for an ID token (checks the client's secret,
//                                            the redirect_uri and the PKCE verifier; a code works once)
//   GET  /jwks                               the signing keys' public halves
// ID tokens are signed with libjwt (RS256 by default; ES256 on request) by keys made with OpenSSL;
// RotateKeys() replaces the signing key mid-test. The next token can be spoiled on purpose (expired,
// another audience, issuer or nonce, signed by a key the JWKS does not hold, "none", or HMAC with the
// public key as its secret) to see the service refuse it.
// Thread safety: every method may be called while the server runs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exchange_standins.h"
#include "jwt_signer.h"

namespace vigil::testing {

struct OidcUser {
  std::string subject = "00u1";
  std::string preferred_username = "dana";
  std::string name = "Dana Scully";
  std::string email = "dana@example.org";
  std::vector<std::string> groups = {"t-and-s"};
};

enum class TokenSpoil { kNone, kExpired, kWrongAudience, kWrongIssuer, kWrongNonce, kForeignKey, kAlgNone, kHmacWithPublicKey };

class OidcStandIn final : public StandInServer {
 public:
  OidcStandIn(std::string client_id, std::string client_secret);
  ~OidcStandIn() override;
  OidcStandIn(const OidcStandIn&) = delete;
  OidcStandIn& operator=(const OidcStandIn&) = delete;
  std::string issuer() const { return origin(); }
  void SetUser(const OidcUser& user);
  // A new signing key with a new kid; with keep_old the JWKS lists the old one too.
  void RotateKeys(bool keep_old = false);
  // ID tokens signed ES256 (P-256) from now on, RS256 again with false.
  void UseEs256(bool on);
  void SpoilNextToken(TokenSpoil spoil);

 protected:
  std::string Endpoint(const Call& call) const override;
  Reply Answer(Call& call) override;

 private:
  struct Grant;
  std::string client_id_, client_secret_;
  OidcUser user_;
  JwtSigner signer_;
  JwtSigner foreign_;  // keys never published, under the same kid names (forged tokens)
  TokenSpoil spoil_ = TokenSpoil::kNone;
  std::vector<std::unique_ptr<Grant>> grants_;
};

}  // namespace vigil::testing
