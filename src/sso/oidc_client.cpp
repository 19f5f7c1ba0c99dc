// OpenID Connect client: discovery, authorization URL, code redemption, ID-token verification
// (oidc_client.h).
#include "sso/oidc_client.h"

#include <boost/json.hpp>

#include "sso/base64url.h"

namespace vigil::sso {
namespace {

constexpr auto kRetryDiscovery = std::chrono::seconds(10);
constexpr auto kKeysMaxAge = std::chrono::hours(1);

std::string Member(const boost::json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

OidcClient::OidcClient(OidcSettings settings, FetcherFactory make_fetcher)
    : settings_(std::move(settings)), make_fetcher_(std::move(make_fetcher)) {
  if (!make_fetcher_) {
    net::FetchLimits limits;
    limits.max_body_bytes = 1u << 20;
    limits.timeout = settings_.timeout;
    make_fetcher_ = [limits] { return net::MakeBeastFetcher(limits); };
  }
}

Result<net::HttpReply> OidcClient::Get(const std::string& url, const char* what) {
  net::HttpCall call;
  call.url = url;
  call.headers.emplace_back("Accept", "application/json");
  auto reply = make_fetcher_()->Send(call);
  if (!reply) return Fail(ErrorCode::kUnavailable, std::string("the identity provider's ") + what + ": " + reply.error().message);
  if (reply->status != 200) {
    return Fail(ErrorCode::kUnavailable, std::string("the identity provider's ") + what + " answered HTTP " +
                                             std::to_string(reply->status));
  }
  return reply;
}

namespace {

Result<ProviderMetadata> ParseDiscovery(const std::string& body, const std::string& issuer) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return Fail(ErrorCode::kInvalidArgument, "the identity provider's discovery document is not JSON");
  const auto& o = doc.as_object();
  // OpenID Connect Discovery §4.3: the issuer it states must be the one configured, exactly.
  if (Member(o, "issuer") != issuer) {
    return Fail(ErrorCode::kInvalidArgument, "the identity provider's discovery document names issuer '" +
                                                 Member(o, "issuer").substr(0, 200) + "', not the configured '" + issuer +
                                                 "' ([sso] issuer must be the provider's, character for character)");
  }
  ProviderMetadata m{Member(o, "authorization_endpoint"), Member(o, "token_endpoint"), Member(o, "jwks_uri"),
                     Member(o, "end_session_endpoint")};
  for (const auto& [name, url] : {std::pair<const char*, std::string>{"authorization_endpoint", m.authorization_endpoint},
                                  {"token_endpoint", m.token_endpoint},
                                  {"jwks_uri", m.jwks_uri}}) {
    if (auto parsed = net::ParseHttpUrl(url); !parsed) {
      return Fail(ErrorCode::kInvalidArgument, std::string("the identity provider's ") + name + ": " + parsed.error().message);
    }
  }
  if (!m.end_session_endpoint.empty() && !net::ParseHttpUrl(m.end_session_endpoint)) m.end_session_endpoint.clear();
  if (const auto* methods = o.if_contains("code_challenge_methods_supported"); methods != nullptr && methods->is_array()) {
    bool s256 = false;
    for (const auto& method : methods->as_array()) s256 = s256 || (method.is_string() && method.as_string() == "S256");
    if (!s256) return Fail(ErrorCode::kInvalidArgument, "the identity provider does not offer PKCE with S256");
  }
  return m;
}

}  // namespace

Result<ProviderMetadata> OidcClient::Metadata() {
  {
    std::unique_lock lock(mu_);
    // Another request is asking: wait for its answer (no longer than it may take).
    if (discovering_) {
      changed_.wait_for(lock, settings_.timeout + std::chrono::seconds(1), [&] { return !discovering_; });
      if (discovering_) return Fail(ErrorCode::kUnavailable, "the identity provider is slow to answer: try again shortly");
    }
    if (metadata_) return *metadata_;
    if (discovery_failed_at_ != std::chrono::steady_clock::time_point{} &&
        std::chrono::steady_clock::now() - discovery_failed_at_ < kRetryDiscovery) {
      return tl::unexpected(discovery_error_);
    }
    discovering_ = true;
  }
  std::string issuer = settings_.issuer;
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  Result<ProviderMetadata> found = Get(issuer + "/.well-known/openid-configuration", "discovery document")
                                       .and_then([&](const net::HttpReply& reply) { return ParseDiscovery(reply.body, settings_.issuer); });
  std::lock_guard lock(mu_);
  discovering_ = false;
  changed_.notify_all();
  if (!found) {
    discovery_failed_at_ = std::chrono::steady_clock::now();
    discovery_error_ = found.error();
    return found;
  }
  metadata_ = *found;
  return found;
}

Result<std::string> OidcClient::AuthorizationUrl(const std::string& state, const std::string& nonce,
                                                 const std::string& verifier) {
  VIGIL_ASSIGN_OR_RETURN(auto m, Metadata());
  std::string url = m.authorization_endpoint;
  url.append(url.find('?') == std::string::npos ? "?" : "&");
  url.append("response_type=code&client_id=").append(net::UrlEncode(settings_.client_id));
  url.append("&redirect_uri=").append(net::UrlEncode(settings_.redirect_uri));
  url.append("&scope=").append(net::UrlEncode(settings_.scopes));
  url.append("&state=").append(net::UrlEncode(state));
  url.append("&nonce=").append(net::UrlEncode(nonce));
  url.append("&code_challenge=").append(PkceChallenge(verifier)).append("&code_challenge_method=S256");
  return url;
}

Result<std::string> OidcClient::RedeemCode(const std::string& code, const std::string& verifier) {
  VIGIL_ASSIGN_OR_RETURN(auto m, Metadata());
  net::HttpCall call;
  call.method = "POST";
  call.url = m.token_endpoint;
  call.content_type = "application/x-www-form-urlencoded";
  call.body = "grant_type=authorization_code&code=" + net::UrlEncode(code) +
              "&redirect_uri=" + net::UrlEncode(settings_.redirect_uri) + "&code_verifier=" + net::UrlEncode(verifier) +
              "&client_id=" + net::UrlEncode(settings_.client_id);
  if (!settings_.client_secret.empty()) {
    call.headers.emplace_back("Authorization", "Basic " + net::Base64(net::UrlEncode(settings_.client_id) + ":" +
                                                                       net::UrlEncode(settings_.client_secret)));
  }
  call.headers.emplace_back("Accept", "application/json");
  auto reply = make_fetcher_()->Send(call);
  if (!reply) return Fail(ErrorCode::kUnavailable, "the identity provider's token endpoint: " + reply.error().message);
  boost::system::error_code ec;
  auto doc = boost::json::parse(reply->body, ec);
  const boost::json::object* o = !ec && doc.is_object() ? &doc.as_object() : nullptr;
  if (reply->status != 200) {
    const std::string error = o != nullptr ? Member(*o, "error") : "";
    return Fail(reply->status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kPermissionDenied,
                "the identity provider refused the sign-in's code (HTTP " + std::to_string(reply->status) +
                    (error.empty() ? std::string() : ", " + error.substr(0, 64)) + ")" +
                    (error == "invalid_client" ? ": check [sso] client_id and the client's secret" : ""));
  }
  if (o == nullptr) return Fail(ErrorCode::kPermissionDenied, "the identity provider's token answer is not JSON");
  std::string id_token = Member(*o, "id_token");
  if (id_token.empty()) return Fail(ErrorCode::kPermissionDenied, "the identity provider's token answer holds no ID token");
  return id_token;
}

Result<std::vector<Jwk>> OidcClient::Keys(bool refresh) {
  {
    std::unique_lock lock(mu_);
    // Another request is fetching them: its answer is this one's too.
    if (fetching_keys_) {
      changed_.wait_for(lock, 2 * settings_.timeout + std::chrono::seconds(1), [&] { return !fetching_keys_; });
      if (fetching_keys_) return Fail(ErrorCode::kUnavailable, "the identity provider is slow to answer: try again shortly");
      if (keys_fetched_ != std::chrono::steady_clock::time_point{}) return keys_;
    }
    const auto now = std::chrono::steady_clock::now();
    const bool have = keys_fetched_ != std::chrono::steady_clock::time_point{};
    const bool stale = !have || now - keys_fetched_ > kKeysMaxAge;
    if (have && !stale && !refresh) return keys_;
    fetching_keys_ = true;
  }
  Result<std::vector<Jwk>> keys = Metadata().and_then([&](const ProviderMetadata& m) {
    return Get(m.jwks_uri, "keys (JWKS)").and_then([](const net::HttpReply& reply) { return ParseJwks(reply.body); });
  });
  std::lock_guard lock(mu_);
  fetching_keys_ = false;
  changed_.notify_all();
  if (!keys) return keys;
  keys_ = *keys;
  keys_fetched_ = std::chrono::steady_clock::now();
  return keys;
}

Result<IdTokenClaims> OidcClient::Verify(const std::string& id_token, const std::string& nonce, std::int64_t now) {
  IdTokenExpectations expect{settings_.issuer,      settings_.client_id,      nonce,
                             now,                   settings_.leeway_seconds, settings_.algorithms,
                             settings_.groups_claim};
  VIGIL_ASSIGN_OR_RETURN(auto keys, Keys(false));
  auto claims = VerifyIdToken(id_token, keys, expect);
  if (claims || claims.error().code != ErrorCode::kNotFound) return claims;
  // A key the set does not hold: the provider may have rotated. Fetch again, then once more.
  VIGIL_ASSIGN_OR_RETURN(keys, Keys(true));
  claims = VerifyIdToken(id_token, keys, expect);
  if (!claims && claims.error().code == ErrorCode::kNotFound) {
    return Fail(ErrorCode::kPermissionDenied, "ID token refused: " + claims.error().message);
  }
  return claims;
}

}  // namespace vigil::sso
