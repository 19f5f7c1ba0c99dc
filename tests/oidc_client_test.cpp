// The OpenID client against the stand-in provider, in one process and from its own sources, so that
// scripts/test also runs it under ThreadSanitizer: many sign-ins at once ask the provider for its
// configuration and keys once (the others wait for that answer), a failure is remembered rather than
// asked again at once, keys rotated under concurrent verifications are fetched again, and a code is
// redeemed with the client's secret and the PKCE verifier.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "oidc_standin.h"
#include "sso/base64url.h"
#include "sso/oidc_client.h"

namespace vigil {
namespace {

namespace json = boost::json;

class OidcClientTest : public ::testing::Test {
 protected:
  OidcClientTest() : provider_("vigil-console", "secret") {}
  void SetUp() override {
    ASSERT_TRUE(provider_.Start());
    settings_.issuer = provider_.issuer();
    settings_.client_id = "vigil-console";
    settings_.client_secret = "secret";
    settings_.redirect_uri = "http://127.0.0.1:1/v1/sso/callback";
    settings_.timeout = std::chrono::seconds(5);
  }
  // A code for a sign-in with this nonce and verifier, as the browser would bring it back.
  std::string Code(const std::string& nonce, const std::string& verifier, sso::OidcClient& client) {
    auto url = client.AuthorizationUrl("state", nonce, verifier);
    EXPECT_TRUE(url) << url.error().message;
    const auto path = url->substr(url->find("/authorize"));
    auto call = net::ParseHttpUrl(*url);
    EXPECT_TRUE(call);
    auto fetcher = net::MakeBeastFetcher({});
    auto reply = fetcher->Send({"GET", *url, {}, "", ""});
    EXPECT_TRUE(reply) << path;
    const auto at = reply->location.find("code=");
    return reply->location.substr(at + 5, reply->location.find('&', at) - at - 5);
  }
  testing::OidcStandIn provider_;
  sso::OidcSettings settings_;
};

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST_F(OidcClientTest, ManySignInsAtOnceAskTheProviderForItsConfigurationOnce) {
  provider_.FailAt("discovery", 0, testing::StandInFault::Delay(300));
  sso::OidcClient client(settings_);
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      if (client.Metadata()) ++answered;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered.load(), 12);
  EXPECT_EQ(provider_.Requests("discovery"), 1);
}

TEST_F(OidcClientTest, AFailureIsRememberedForAWhileRatherThanAskedAgainAtOnce) {
  provider_.FailAt("discovery", 0, testing::StandInFault::Http500(), 10);
  sso::OidcClient client(settings_);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto m = client.Metadata();
      if (!m && m.error().code == ErrorCode::kUnavailable) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 8);
  EXPECT_EQ(provider_.Requests("discovery"), 1);
}

TEST_F(OidcClientTest, CodesRedeemedAtOnceAreVerifiedWithKeysFetchedOnceAndAgainAfterARotation) {
  sso::OidcClient client(settings_);
  auto run = [&](int people) {
    std::vector<std::thread> threads;
    std::atomic<int> verified{0};
    for (int i = 0; i < people; ++i) {
      threads.emplace_back([&, i] {
        const std::string nonce = "n-" + std::to_string(i), verifier = *sso::RandomBase64Url(32);
        const std::string code = Code(nonce, verifier, client);
        auto token = client.RedeemCode(code, verifier);
        if (!token) return ADD_FAILURE() << token.error().message;
        auto claims = client.Verify(*token, nonce, Now());
        if (claims) ++verified;
        else ADD_FAILURE() << claims.error().message;
      });
    }
    for (auto& t : threads) t.join();
    return verified.load();
  };
  EXPECT_EQ(run(8), 8);
  EXPECT_EQ(provider_.Requests("jwks"), 1);
  provider_.RotateKeys();
  EXPECT_EQ(run(8), 8);
  EXPECT_LE(provider_.Requests("jwks"), 3) << "a rotation costs one fetch (two when one races the other)";
}

TEST_F(OidcClientTest, ACodeIsRefusedWithAnotherVerifierOrTwice) {
  sso::OidcClient client(settings_);
  const std::string verifier = *sso::RandomBase64Url(32);
  const std::string code = Code("n", verifier, client);
  auto wrong = client.RedeemCode(code, verifier + "x");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(wrong.error().message.find("invalid_grant"), std::string::npos) << wrong.error().message;
  EXPECT_FALSE(client.RedeemCode(code, verifier)) << "the provider used the code up";
}

}  // namespace
}  // namespace vigil
