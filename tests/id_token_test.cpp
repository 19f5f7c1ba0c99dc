// ID-token verification (src/sso/id_token.h) against tokens a stand-in provider signs with keys made
// by OpenSSL: what is accepted (RS256, ES256, the key chosen by kid), and every way a token is
// refused (alg none, HMAC with the public key as the secret, another key under the same kid, an
// unknown kid told apart so the caller fetches keys again, expiry, audience, azp, issuer, nonce,
// future iat); hostile JWKS documents; group-to-role mapping; several roles per key; the session's
// CSRF token and cookies.
#include <gtest/gtest.h>

#include <jwt.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>

#include "jwt_signer.h"
#include "sso/base64url.h"
#include "sso/group_roles.h"
#include "sso/id_token.h"
#include "sso/jwk_set.h"
#include "sso/session_cookie.h"
#include "vigil/roles.h"

namespace vigil {
namespace {

namespace json = boost::json;

constexpr const char* kIssuer = "https://idp.example.org";

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class IdTokenTest : public ::testing::Test {
 protected:
  json::object Claims() {
    const auto now = Now();
    return {{"iss", kIssuer}, {"sub", "00u1"},        {"aud", "vigil"}, {"iat", now}, {"exp", now + 300},
            {"nonce", "n-1"}, {"name", "Dana Scully"}, {"preferred_username", "dana"},
            {"groups", json::array{"t-and-s", "legal-team"}}};
  }
  sso::IdTokenExpectations Expect() {
    sso::IdTokenExpectations e;
    e.issuer = kIssuer;
    e.client_id = "vigil";
    e.nonce = "n-1";
    e.now = Now();
    return e;
  }
  std::vector<sso::Jwk> Keys() {
    auto keys = sso::ParseJwks(provider_.Jwks());
    EXPECT_TRUE(keys) << keys.error().message;
    return keys ? *keys : std::vector<sso::Jwk>{};
  }
  Result<sso::IdTokenClaims> Verify(const json::object& claims) {
    return sso::VerifyIdToken(provider_.Sign(json::serialize(claims)), Keys(), Expect());
  }
  std::string Refusal(const json::object& claims) {
    auto verified = Verify(claims);
    EXPECT_FALSE(verified);
    return verified ? std::string() : verified.error().message;
  }

  testing::JwtSigner provider_;
};

TEST_F(IdTokenTest, ATokenSignedByTheProvidersRsaKeyIsAcceptedWithItsClaims) {
  auto claims = Verify(Claims());
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ(claims->subject, "00u1");
  EXPECT_EQ(claims->issuer, kIssuer);
  EXPECT_EQ(claims->name, "Dana Scully");
  EXPECT_EQ(claims->Claim("preferred_username"), "dana");
  EXPECT_EQ(claims->groups, (std::vector<std::string>{"t-and-s", "legal-team"}));
}

TEST_F(IdTokenTest, ATokenSignedByTheProvidersEcKeyIsAccepted) {
  provider_.UseEs256(true);
  auto claims = Verify(Claims());
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ(claims->subject, "00u1");
}

TEST_F(IdTokenTest, AnUnsignedTokenIsRefusedWhateverItsHeaderSays) {
  const std::string token = sso::Base64UrlEncode(R"({"alg":"none","kid":"k1-rs"})") + "." +
                            sso::Base64UrlEncode(json::serialize(Claims())) + ".";
  auto verified = sso::VerifyIdToken(token, Keys(), Expect());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(verified.error().message.find("signature"), std::string::npos) << verified.error().message;
  // With a signature part, "none" is refused by its algorithm.
  auto with_sig = sso::VerifyIdToken(token + "AAAA", Keys(), Expect());
  ASSERT_FALSE(with_sig);
  EXPECT_NE(with_sig.error().message.find("algorithm 'none'"), std::string::npos) << with_sig.error().message;
}

TEST_F(IdTokenTest, AnHmacTokenKeyedWithThePublicKeyIsRefused) {
  // Whoever has the provider's public key can make this token, and libjwt alone verifies it.
  const auto keys = Keys();
  const std::string& public_pem = keys.front().pem;
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grants_json(jwt, json::serialize(Claims()).c_str());
  jwt_add_header(jwt, "kid", keys.front().kid.c_str());
  jwt_set_alg(jwt, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(public_pem.data()), static_cast<int>(public_pem.size()));
  char* encoded = jwt_encode_str(jwt);
  const std::string token = encoded;
  free(encoded);
  jwt_free(jwt);
  jwt_t* decoded = nullptr;
  EXPECT_EQ(jwt_decode(&decoded, token.c_str(), reinterpret_cast<const unsigned char*>(public_pem.data()),
                       static_cast<int>(public_pem.size())),
            0)
      << "libjwt 1.10 trusts the header's algorithm: the check before it is what refuses this token";
  jwt_free(decoded);
  auto verified = sso::VerifyIdToken(token, keys, Expect());
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("algorithm 'HS256'"), std::string::npos) << verified.error().message;
}

TEST_F(IdTokenTest, ATokenSignedByAnotherKeyUnderThePublishedKidIsRefused) {
  testing::JwtSigner forger;  // its own keys, the same kid names
  auto verified = sso::VerifyIdToken(forger.Sign(json::serialize(Claims())), Keys(), Expect());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(verified.error().message.find("does not verify"), std::string::npos) << verified.error().message;
}

TEST_F(IdTokenTest, AnUnknownKidIsToldApartSoTheCallerFetchesTheKeysAgain) {
  const auto old_keys = Keys();
  provider_.Rotate();
  auto verified = sso::VerifyIdToken(provider_.Sign(json::serialize(Claims())), old_keys, Expect());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(sso::VerifyIdToken(provider_.Sign(json::serialize(Claims())), Keys(), Expect()));
}

TEST_F(IdTokenTest, AnExpiredTokenIsRefusedBeyondTheLeeway) {
  auto claims = Claims();
  claims["exp"] = Now() - 61;
  EXPECT_NE(Refusal(claims).find("expired"), std::string::npos);
  claims["exp"] = Now() - 30;  // within the minute's leeway
  EXPECT_TRUE(Verify(claims));
}

TEST_F(IdTokenTest, ATokenForAnotherClientIsRefused) {
  auto claims = Claims();
  claims["aud"] = "another-client";
  EXPECT_NE(Refusal(claims).find("another client"), std::string::npos);
  claims["aud"] = json::array{"another-client", "vigil"};  // several audiences: azp must be this client
  EXPECT_NE(Refusal(claims).find("azp"), std::string::npos);
  claims["azp"] = "vigil";
  EXPECT_TRUE(Verify(claims));
}

TEST_F(IdTokenTest, ATokenFromAnotherIssuerIsRefused) {
  auto claims = Claims();
  claims["iss"] = "https://idp.example.org/";  // one character off is another issuer
  EXPECT_NE(Refusal(claims).find("issuer"), std::string::npos);
}

TEST_F(IdTokenTest, ATokenWithAnotherSignInsNonceIsRefused) {
  auto claims = Claims();
  claims["nonce"] = "n-2";
  EXPECT_NE(Refusal(claims).find("nonce"), std::string::npos);
  claims.erase("nonce");
  EXPECT_NE(Refusal(claims).find("nonce"), std::string::npos);
}

TEST_F(IdTokenTest, ATokenIssuedInTheFutureOrWithoutTimesIsRefused) {
  auto claims = Claims();
  claims["iat"] = Now() + 3600;
  EXPECT_NE(Refusal(claims).find("future"), std::string::npos);
  claims = Claims();
  claims.erase("exp");
  EXPECT_NE(Refusal(claims).find("expiry"), std::string::npos);
  claims = Claims();
  claims["nbf"] = Now() + 3600;
  EXPECT_NE(Refusal(claims).find("not valid yet"), std::string::npos);
}

TEST_F(IdTokenTest, ClaimsCarryingANulOrASubjectWithControlCharactersAreRefusedByName) {
  auto claims = Claims();
  claims["name"] = std::string("Dana\0Scully", 11);
  // Signed properly (libjwt will not encode a NUL; OpenSSL signs the text as it is).
  const auto token = provider_.SignRs256Raw(json::serialize(claims));
  ASSERT_NE(token.find('.'), std::string::npos);
  auto verified = sso::VerifyIdToken(token, Keys(), Expect());
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("NUL"), std::string::npos) << verified.error().message;
  claims = Claims();
  claims["name"] = "Dana Scully";
  EXPECT_TRUE(sso::VerifyIdToken(provider_.SignRs256Raw(json::serialize(claims)), Keys(), Expect()))
      << "the same signing, without the NUL, verifies";
  claims = Claims();
  claims["sub"] = "00u1\nadmin";
  EXPECT_NE(Refusal(claims).find("control characters"), std::string::npos);
}

TEST_F(IdTokenTest, AnAlgorithmTheOperatorDidNotAllowIsRefused) {
  provider_.UseEs256(true);
  auto expect = Expect();
  expect.algorithms = {"RS256"};
  auto verified = sso::VerifyIdToken(provider_.Sign(json::serialize(Claims())), Keys(), expect);
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("'ES256' is not one this service accepts"), std::string::npos);
}

TEST_F(IdTokenTest, MangledTokensAreRefusedWithoutACrash) {
  const std::string good = provider_.Sign(json::serialize(Claims()));
  for (const std::string& token :
       {std::string(), std::string("a.b"), std::string("a.b.c.d"), std::string("!!!.e30.c2ln"), good.substr(0, good.size() / 2),
        std::string(20000, 'a'), good + "x", "e30." + good.substr(good.find('.') + 1)}) {
    auto verified = sso::VerifyIdToken(token, Keys(), Expect());
    EXPECT_FALSE(verified) << token.substr(0, 40);
  }
}

TEST(JwksTest, HostileKeySetsAreRefusedOrSkippedWithAReason) {
  EXPECT_FALSE(sso::ParseJwks("not json"));
  EXPECT_FALSE(sso::ParseJwks(R"({"keys": 1})"));
  // A 512-bit RSA modulus is too small to trust.
  auto small = sso::ParseJwks(R"({"keys":[{"kty":"RSA","kid":"s","n":")" + sso::Base64UrlEncode(std::string(64, '\x81')) +
                              R"(","e":"AQAB"}]})");
  ASSERT_FALSE(small);
  EXPECT_NE(small.error().message.find("512 bits"), std::string::npos) << small.error().message;
  // An EC point off the curve.
  auto off = sso::ParseJwks(R"({"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":")" +
                            sso::Base64UrlEncode(std::string(32, '\x01')) + R"(","y":")" +
                            sso::Base64UrlEncode(std::string(32, '\x02')) + R"("}]})");
  ASSERT_FALSE(off);
  // Encryption keys and kinds Vigil does not verify with are skipped.
  auto skipped = sso::ParseJwks(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","use":"enc","n":"AA","e":"AQAB"}]})");
  ASSERT_TRUE(skipped) << skipped.error().message;
  EXPECT_TRUE(skipped->empty());
  std::string many = R"({"keys":[)";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + R"({"kty":"oct"})";
  EXPECT_FALSE(sso::ParseJwks(many + "]}"));
}

TEST(GroupRolesTest, APersonHoldsEveryRoleTheirGroupsGiveAndNoneForOtherGroups) {
  auto mapping = sso::ParseGroupRoles("t-and-s=reviewer; legal-team = legal, reviewer ;ops=admin");
  ASSERT_TRUE(mapping) << mapping.error().message;
  EXPECT_EQ(sso::RolesForGroups(*mapping, {"legal-team", "t-and-s"}), "reviewer,legal");
  EXPECT_EQ(sso::RolesForGroups(*mapping, {"marketing"}), "");
  EXPECT_EQ(sso::RolesForGroups(*mapping, {}), "");
  auto wrong = sso::ParseGroupRoles("t-and-s=reviewer;legal=lawyer");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("unknown role 'lawyer'"), std::string::npos) << wrong.error().message;
  EXPECT_FALSE(sso::ParseGroupRoles("reviewer"));
  EXPECT_FALSE(sso::ParseGroupRoles("=reviewer"));
}

TEST(RolesTest, SeveralRolesAreKeptOnceEachInTheRolesOrder) {
  EXPECT_EQ(*CanonicalRoles("legal, reviewer,legal"), "reviewer,legal");
  EXPECT_FALSE(CanonicalRoles(""));
  EXPECT_FALSE(CanonicalRoles("reviewer,root"));
  EXPECT_TRUE(HoldsRole("reviewer,legal", "legal"));
  EXPECT_FALSE(HoldsRole("reviewer,legal", "leg"));
  EXPECT_TRUE(HoldsSensitiveRole("reviewer,legal"));
  EXPECT_FALSE(HoldsSensitiveRole("reviewer,auditor"));
}

TEST(SessionCookieTest, TheCsrfTokenBelongsToItsSessionAndCookiesAreFoundByName) {
  const std::string token = sso::CsrfToken("secret-a");
  EXPECT_TRUE(sso::CsrfTokenMatches("secret-a", token));
  EXPECT_FALSE(sso::CsrfTokenMatches("secret-b", token));
  EXPECT_FALSE(sso::CsrfTokenMatches("secret-a", ""));
  EXPECT_FALSE(sso::CsrfTokenMatches("secret-a", token.substr(1)));
  EXPECT_EQ(sso::CookieValue("a=1; vigil-session=xyz; b=2", "vigil-session"), "xyz");
  EXPECT_EQ(sso::CookieValue("xvigil-session=1", "vigil-session"), std::nullopt);
  EXPECT_EQ(sso::CookieValue("", "vigil-session"), std::nullopt);
}

TEST(Base64UrlTest, RoundTripsAndRefusesOtherAlphabets) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\xff\xfe\x00\x01", 4)}) {
    EXPECT_EQ(*sso::Base64UrlDecode(sso::Base64UrlEncode(s)), s);
  }
  EXPECT_FALSE(sso::Base64UrlDecode("ab+c"));
  EXPECT_FALSE(sso::Base64UrlDecode("abc="));
  EXPECT_FALSE(sso::Base64UrlDecode("a"));
  // RFC 7636 Appendix B's example.
  EXPECT_EQ(sso::PkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

}  // namespace
}  // namespace vigil
