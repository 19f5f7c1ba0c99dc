// The service's side of OpenID Connect's authorization-code flow with PKCE (RFC 7636) against the
// organisation's provider: discovery (/.well-known/openid-configuration, whose issuer must be the
// configured one exactly), the authorization URL, redeeming a code at the token endpoint
// (client_secret_basic when there is a secret; a public client otherwise), and verifying the ID
// token with the provider's keys (id_token.h). Keys are fetched on first use, again every hour,
// and again when a token names a key the set does not hold, so a provider rotating its keys mid-day
// is followed without a restart (tokens come only from the token endpoint, for a code of a sign-in
// begun here, so nobody outside can make the service fetch keys at will). Discovery that fails (the provider down
// when the service starts) is tried again at the next sign-in, at most every 10 seconds.
//
// Thread safety: every method may be called from many threads; no lock is held while the provider
// is asked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/http_fetch.h"
#include "sso/id_token.h"
#include "sso/jwk_set.h"
#include "vigil/status.h"

namespace vigil::sso {

struct OidcSettings {
  std::string issuer;         // https://login.example.org/realms/staff (http only to this host: tests)
  std::string client_id;
  std::string client_secret;  // "" : a public client (PKCE alone)
  std::string redirect_uri;   // https://vigil.example.org/v1/sso/callback, registered with the provider
  std::string scopes = "openid profile email";
  std::vector<std::string> algorithms = {"RS256", "ES256"};
  std::int64_t leeway_seconds = 60;
  std::string groups_claim = "groups";
  std::chrono::seconds timeout{10};
};

struct ProviderMetadata {
  std::string authorization_endpoint, token_endpoint, jwks_uri;
  std::string end_session_endpoint;  // "" : the provider offers none
};

class OidcClient {
 public:
  using FetcherFactory = std::function<std::unique_ptr<net::HttpFetcher>()>;
  // `make_fetcher`: null for the real one (Beast over OpenSSL, 1 MiB answers, the settings' timeout);
  // one fetcher is made per request, so requests to the provider never wait for each other.
  explicit OidcClient(OidcSettings settings, FetcherFactory make_fetcher = nullptr);

  const OidcSettings& settings() const { return settings_; }
  // kUnavailable when the provider cannot be reached (and, for 10 seconds after a failure, at once
  // with the same reason); kInvalidArgument when its document is wrong. One request at a time asks
  // the provider; others wait for its answer.
  Result<ProviderMetadata> Metadata();
  // Where to send the browser: the authorization endpoint with this sign-in's state, nonce and the
  // S256 challenge of `verifier`.
  Result<std::string> AuthorizationUrl(const std::string& state, const std::string& nonce, const std::string& verifier);
  // The ID token for an authorization code (kPermissionDenied when the provider refuses the code).
  Result<std::string> RedeemCode(const std::string& code, const std::string& verifier);
  // The verified claims of an ID token from this provider (`now` in seconds).
  Result<IdTokenClaims> Verify(const std::string& id_token, const std::string& nonce, std::int64_t now);

 private:
  Result<std::vector<Jwk>> Keys(bool refresh);
  Result<net::HttpReply> Get(const std::string& url, const char* what);

  OidcSettings settings_;
  FetcherFactory make_fetcher_;
  std::mutex mu_;  // guards what follows; never held while the provider is asked
  std::condition_variable changed_;  // a discovery or key fetch finished
  std::optional<ProviderMetadata> metadata_;
  bool discovering_ = false;
  std::chrono::steady_clock::time_point discovery_failed_at_{};
  Error discovery_error_{ErrorCode::kUnavailable, ""};
  std::vector<Jwk> keys_;
  bool fetching_keys_ = false;
  std::chrono::steady_clock::time_point keys_fetched_{};
};

}  // namespace vigil::sso
