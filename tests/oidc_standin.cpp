// The stand-in OpenID provider (oidc_standin.h).
#include "oidc_standin.h"


#include <boost/json.hpp>
#include <chrono>

#include "sso/base64url.h"

namespace vigil::testing {
namespace {

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct OidcStandIn::Grant {
  std::string code, nonce, challenge, redirect_uri;
  OidcUser user;
  bool used = false;
};

OidcStandIn::OidcStandIn(std::string client_id, std::string client_secret)
    : client_id_(std::move(client_id)), client_secret_(std::move(client_secret)) {}

OidcStandIn::~OidcStandIn() { Stop(); }

void OidcStandIn::SetUser(const OidcUser& user) {
  std::lock_guard lock(mutex_);
  user_ = user;
}

void OidcStandIn::RotateKeys(bool keep_old) {
  std::lock_guard lock(mutex_);
  signer_.Rotate(keep_old);
}

void OidcStandIn::UseEs256(bool on) {
  std::lock_guard lock(mutex_);
  signer_.UseEs256(on);
  foreign_.UseEs256(on);
}

void OidcStandIn::SpoilNextToken(TokenSpoil spoil) {
  std::lock_guard lock(mutex_);
  spoil_ = spoil;
}

std::string OidcStandIn::Endpoint(const Call& call) const {
  if (call.path == "/.well-known/openid-configuration") return "discovery";
  if (call.path == "/authorize") return "authorize";
  if (call.path == "/token") return "token";
  if (call.path == "/jwks") return "jwks";
  return "other";
}

OidcStandIn::Reply OidcStandIn::Answer(Call& call) {
  Reply reply;
  reply.content_type = "application/json";
  auto error = [&](unsigned status, const std::string& code) {
    reply.status = status;
    reply.body = boost::json::serialize(boost::json::object{{"error", code}});
    return reply;
  };
  const std::string me = origin();
  if (call.path == "/.well-known/openid-configuration") {
    reply.body = boost::json::serialize(boost::json::object{
        {"issuer", me},
        {"authorization_endpoint", me + "/authorize"},
        {"token_endpoint", me + "/token"},
        {"jwks_uri", me + "/jwks"},
        {"end_session_endpoint", me + "/logout"},
        {"response_types_supported", boost::json::array{"code"}},
        {"code_challenge_methods_supported", boost::json::array{"S256"}},
        {"id_token_signing_alg_values_supported", boost::json::array{"RS256", "ES256"}}});
    return reply;
  }
  if (call.path == "/jwks") {
    reply.body = signer_.Jwks();
    return reply;
  }
  if (call.path == "/authorize") {
    if (call.query["client_id"] != client_id_ || call.query["response_type"] != "code" ||
        call.query["code_challenge_method"] != "S256" || call.query["code_challenge"].empty() ||
        call.query["nonce"].empty() || call.query["scope"].find("openid") == std::string::npos) {
      return error(400, "invalid_request");
    }
    auto grant = std::make_unique<Grant>();
    grant->code = "code-" + std::to_string(grants_.size() + 1) + "-" + *sso::RandomBase64Url(12);
    grant->nonce = call.query["nonce"];
    grant->challenge = call.query["code_challenge"];
    grant->redirect_uri = call.query["redirect_uri"];
    grant->user = user_;
    reply.status = 302;
    reply.location = grant->redirect_uri + "?code=" + grant->code + "&state=" + call.query["state"];
    grants_.push_back(std::move(grant));
    return reply;
  }
  if (call.path == "/token" && call.method == "POST") {
    // The form body, decoded like a query.
    std::map<std::string, std::string> form;
    std::size_t at = 0;
    const std::string& body = call.body;
    while (at <= body.size()) {
      auto amp = body.find('&', at);
      if (amp == std::string::npos) amp = body.size();
      const auto pair = body.substr(at, amp - at);
      const auto eq = pair.find('=');
      auto decode = [](std::string s) {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
          if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
          } else {
            out += s[i] == '+' ? ' ' : s[i];
          }
        }
        return out;
      };
      if (!pair.empty() && eq != std::string::npos) form[decode(pair.substr(0, eq))] = decode(pair.substr(eq + 1));
      at = amp + 1;
    }
    const std::string basic = "Basic " + sso::Base64UrlEncode(client_id_ + ":" + client_secret_);
    auto authorization = call.headers["authorization"];
    // Basic uses standard base64: compare after mapping the URL-safe alphabet back and padding.
    std::string expected = "Basic ";
    {
      std::string b = sso::Base64UrlEncode(client_id_ + ":" + client_secret_);
      for (char& c : b) c = c == '-' ? '+' : c == '_' ? '/' : c;
      while (b.size() % 4 != 0) b += '=';
      expected += b;
    }
    (void)basic;
    if (authorization != expected) return error(401, "invalid_client");
    if (form["grant_type"] != "authorization_code") return error(400, "unsupported_grant_type");
    Grant* grant = nullptr;
    for (auto& g : grants_) {
      if (g->code == form["code"]) grant = g.get();
    }
    if (grant == nullptr || grant->used) return error(400, "invalid_grant");
    grant->used = true;
    if (grant->redirect_uri != form["redirect_uri"]) return error(400, "invalid_grant");
    if (sso::PkceChallenge(form["code_verifier"]) != grant->challenge) return error(400, "invalid_grant");
    const std::int64_t now = Now();
    boost::json::array groups;
    for (const auto& g : grant->user.groups) groups.emplace_back(g);
    boost::json::object claims{{"iss", me},
                               {"sub", grant->user.subject},
                               {"aud", client_id_},
                               {"iat", now},
                               {"exp", now + 300},
                               {"nonce", grant->nonce},
                               {"name", grant->user.name},
                               {"preferred_username", grant->user.preferred_username},
                               {"email", grant->user.email},
                               {"groups", std::move(groups)}};
    const TokenSpoil spoil = spoil_;
    spoil_ = TokenSpoil::kNone;
    if (spoil == TokenSpoil::kExpired) {
      claims["iat"] = now - 3600;
      claims["exp"] = now - 1800;
    }
    if (spoil == TokenSpoil::kWrongAudience) claims["aud"] = "another-client";
    if (spoil == TokenSpoil::kWrongIssuer) claims["iss"] = "https://evil.example";
    if (spoil == TokenSpoil::kWrongNonce) claims["nonce"] = "not-the-nonce";
    const std::string text = boost::json::serialize(claims);
    std::string token;
    if (spoil == TokenSpoil::kForeignKey) {
      token = foreign_.Sign(text);
    } else if (spoil == TokenSpoil::kAlgNone) {
      token = sso::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + sso::Base64UrlEncode(text) + ".";
    } else if (spoil == TokenSpoil::kHmacWithPublicKey) {
      token = signer_.SignHmacWithPublicKey(text);
    } else {
      token = signer_.Sign(text);
    }
    reply.body = boost::json::serialize(
        boost::json::object{{"access_token", "at-" + grant->code}, {"token_type", "Bearer"}, {"expires_in", 300}, {"id_token", token}});
    return reply;
  }
  return error(404, "not_found");
}

}  // namespace vigil::testing
