// ID-token checks around libjwt (id_token.h).
#include "sso/id_token.h"

#include <jwt.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>

#include "sso/base64url.h"

namespace vigil::sso {
namespace {

constexpr std::size_t kMaxTokenBytes = 16 * 1024;
constexpr std::size_t kMaxGroups = 256;

tl::unexpected<Error> Refuse(const std::string& why) { return Fail(ErrorCode::kPermissionDenied, "ID token refused: " + why); }

struct JwtFree {
  void operator()(jwt_t* p) const { jwt_free(p); }
};

jwt_alg_t LibjwtAlg(std::string_view alg) {
  if (alg == "RS256") return JWT_ALG_RS256;
  if (alg == "RS384") return JWT_ALG_RS384;
  if (alg == "RS512") return JWT_ALG_RS512;
  if (alg == "ES256") return JWT_ALG_ES256;
  if (alg == "ES384") return JWT_ALG_ES384;
  return JWT_ALG_INVAL;
}

// Whether `key` may verify `alg`.
bool KeyFits(const Jwk& key, std::string_view alg) {
  if (!key.alg.empty() && key.alg != alg) return false;
  if (alg.starts_with("RS")) return key.kty == "RSA";
  if (alg == "ES256") return key.kty == "EC" && key.crv == "P-256";
  if (alg == "ES384") return key.kty == "EC" && key.crv == "P-384";
  return false;
}

Result<boost::json::object> JsonSegment(std::string_view segment, const char* what) {
  auto bytes = Base64UrlDecode(segment);
  if (!bytes) return Refuse(std::string("its ") + what + " is not base64url");
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(*bytes, ec);
  if (ec || !value.is_object()) return Refuse(std::string("its ") + what + " is not a JSON object");
  return std::move(value.as_object());
}

std::string String(const boost::json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A NumericDate claim; nullopt when absent; kPermissionDenied when not a number.
Result<std::optional<std::int64_t>> Time(const boost::json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) return std::optional<std::int64_t>();
  if (v->is_int64()) return std::optional<std::int64_t>(v->as_int64());
  if (v->is_uint64() && v->as_uint64() < (1ull << 62)) return std::optional<std::int64_t>(static_cast<std::int64_t>(v->as_uint64()));
  if (v->is_double() && v->as_double() > -1e15 && v->as_double() < 1e15) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->as_double()));
  }
  return Refuse(std::string("its '") + name + "' is not a time");
}

}  // namespace

std::string IdTokenClaims::Claim(std::string_view claim) const {
  for (const auto& [k, v] : strings) {
    if (k == claim) return v;
  }
  return "";
}

Result<IdTokenClaims> VerifyIdToken(std::string_view token, const std::vector<Jwk>& keys, const IdTokenExpectations& expect) {
  if (token.size() > kMaxTokenBytes) return Refuse("it is over 16 KiB");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refuse("it is not a signed JWT (three parts)");
  }
  if (dot2 + 1 == token.size()) return Refuse("it carries no signature");
  VIGIL_ASSIGN_OR_RETURN(auto header, JsonSegment(token.substr(0, dot1), "header"));
  const std::string alg = String(header, "alg");
  if (std::find(expect.algorithms.begin(), expect.algorithms.end(), alg) == expect.algorithms.end() ||
      LibjwtAlg(alg) == JWT_ALG_INVAL) {
    std::string allowed;
    for (const auto& a : expect.algorithms) allowed.append(allowed.empty() ? "" : ", ").append(a);
    return Refuse("its algorithm '" + alg.substr(0, 16) + "' is not one this service accepts (" + allowed + ")");
  }
  if (header.contains("crit")) return Refuse("it has critical header parameters this service does not understand");
  const std::string kid = String(header, "kid");
  const Jwk* key = nullptr;
  int fitting = 0;
  for (const auto& k : keys) {
    if (!KeyFits(k, alg)) continue;
    if (!kid.empty() ? k.kid == kid : ++fitting == 1) key = &k;
  }
  if (kid.empty() && fitting > 1) return Refuse("it names no key (kid) and the provider has several");
  if (key == nullptr) {
    if (!kid.empty()) return Fail(ErrorCode::kNotFound, "ID token signed with key '" + kid.substr(0, 64) + "', not among the provider's keys");
    return Refuse("the provider has no " + alg + " key");
  }
  // libjwt's C strings stop at a NUL: a token carrying one is refused here, by name, rather than as a
  // signature that "does not verify".
  if (auto payload = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
      payload && (payload->find('\0') != std::string::npos || payload->find("\\u0000") != std::string::npos)) {
    return Refuse("its claims carry a NUL character");
  }
  const std::string text(token);
  jwt_t* raw = nullptr;
  const int failed = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key->pem.data()),
                                static_cast<int>(key->pem.size()));
  std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  if (failed != 0 || !jwt) return Refuse("its signature does not verify with the provider's key '" + key->kid.substr(0, 64) + "'");
  if (jwt_get_alg(jwt.get()) != LibjwtAlg(alg)) return Refuse("it was verified with another algorithm than its header names");

  VIGIL_ASSIGN_OR_RETURN(auto claims, JsonSegment(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload"));
  IdTokenClaims out;
  out.issuer = String(claims, "iss");
  if (out.issuer != expect.issuer) return Refuse("its issuer '" + out.issuer.substr(0, 128) + "' is not '" + expect.issuer + "'");
  const auto* aud = claims.if_contains("aud");
  bool audience = false;
  std::size_t audiences = 0;
  if (aud != nullptr && aud->is_string()) {
    audience = aud->as_string() == expect.client_id;
    audiences = 1;
  } else if (aud != nullptr && aud->is_array()) {
    for (const auto& a : aud->as_array()) audience = audience || (a.is_string() && a.as_string() == expect.client_id);
    audiences = aud->as_array().size();
  }
  if (!audience) return Refuse("it was issued for another client (aud)");
  if (audiences > 1 && String(claims, "azp") != expect.client_id) {
    return Refuse("it has several audiences and its authorized party (azp) is not this client");
  }
  VIGIL_ASSIGN_OR_RETURN(auto exp, Time(claims, "exp"));
  VIGIL_ASSIGN_OR_RETURN(auto iat, Time(claims, "iat"));
  VIGIL_ASSIGN_OR_RETURN(auto nbf, Time(claims, "nbf"));
  if (!exp) return Refuse("it has no expiry (exp)");
  if (*exp + expect.leeway_seconds <= expect.now) return Refuse("it expired");
  if (!iat) return Refuse("it has no issue time (iat)");
  if (*iat > expect.now + expect.leeway_seconds) return Refuse("it was issued in the future (iat)");
  if (nbf && *nbf > expect.now + expect.leeway_seconds) return Refuse("it is not valid yet (nbf)");
  if (expect.nonce.empty() || String(claims, "nonce") != expect.nonce) return Refuse("its nonce is not this sign-in's");
  out.subject = String(claims, "sub");
  if (out.subject.empty() || out.subject.size() > 255) return Refuse("its subject (sub) is missing or over 255 characters");
  if (std::any_of(out.subject.begin(), out.subject.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return Refuse("its subject (sub) carries control characters");
  }
  out.name = String(claims, "name");
  out.preferred_username = String(claims, "preferred_username");
  out.email = String(claims, "email");
  out.issued_at = *iat;
  out.expires_at = *exp;
  for (const auto& [k, v] : claims) {
    if (v.is_string() && v.as_string().size() <= 512) out.strings.emplace_back(std::string(k), std::string(v.as_string()));
  }
  if (const auto* groups = claims.if_contains(expect.groups_claim); groups != nullptr) {
    if (groups->is_string()) {
      out.groups.emplace_back(groups->as_string());
    } else if (groups->is_array()) {
      if (groups->as_array().size() > kMaxGroups) return Refuse("it lists more than 256 groups");
      for (const auto& g : groups->as_array()) {
        if (g.is_string() && g.as_string().size() <= 256) out.groups.emplace_back(g.as_string());
      }
    }
  }
  return out;
}

}  // namespace vigil::sso
