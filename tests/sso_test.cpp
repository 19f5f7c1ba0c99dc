// Console sign-in through an OpenID provider, end to end: the real `vigil serve` on SQLite and
// PostgreSQL against a stand-in provider (oidc_standin.h), driven by a small cookie-keeping client
// that follows the redirects a browser would. Sign-in maps the provider's groups to several roles
// and audits the subject and display name; forged, expired, wrong-audience, wrong-issuer and
// wrong-nonce tokens are refused; keys rotated mid-test are followed; a sign-in finished in another
// browser or replayed is refused; CSRF is refused without the session's token; sign-out and an
// admin's end take effect at once; idle and absolute timeouts (the store, with time passed in); a
// name that is an API key's is not taken; keys with several roles act in the route's role.
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <atomic>
#include <fstream>
#include <thread>

#include "oidc_standin.h"
#include "service_harness.h"
#include "test_images.h"
#include "test_postgres.h"
#include "test_tls.h"
#include "vigil/sessions.h"

namespace vigil {
namespace {

namespace json = boost::json;
using testing::Http;
using testing::HttpReply;
using testing::TokenSpoil;

// "http://127.0.0.1:PORT/path?q" -> {PORT, "/path?q"}.
std::pair<std::uint16_t, std::string> Split(const std::string& url) {
  const auto host = url.find("://");
  const auto colon = url.find(':', host + 3);
  const auto slash = url.find('/', host + 3);
  return {static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1, slash - colon - 1))), url.substr(slash)};
}

// Percent-encodes a query value.
std::string UrlEncodeForTest(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out.append("%").append(1, kHex[c >> 4]).append(1, kHex[c & 15]);
  }
  return out;
}

// A browser's cookie jar, enough for the sign-in's redirects.
class Browser {
 public:
  HttpReply Request(std::uint16_t port, const std::string& method, const std::string& target,
                    std::map<std::string, std::string> headers = {}, const std::string& body = {}) {
    std::string cookie;
    for (const auto& [name, value] : jar_) cookie += (cookie.empty() ? "" : "; ") + name + "=" + value;
    if (!cookie.empty()) headers["Cookie"] = cookie;
    auto reply = Http(port, method, target, body, headers);
    std::string lines = reply.headers["set-cookie"];
    std::size_t at = 0;
    while (at < lines.size()) {
      auto end = lines.find('\n', at);
      if (end == std::string::npos) end = lines.size();
      const std::string line = lines.substr(at, end - at);
      set_cookies_.push_back(line);
      const auto eq = line.find('=');
      const auto semi = line.find(';');
      const std::string name = line.substr(0, eq);
      const std::string value = line.substr(eq + 1, semi - eq - 1);
      if (line.find("Max-Age=0") != std::string::npos || value.empty()) jar_.erase(name);
      else jar_[name] = value;
      at = end + 1;
    }
    return reply;
  }
  std::map<std::string, std::string>& jar() { return jar_; }
  const std::vector<std::string>& set_cookies() const { return set_cookies_; }

 private:
  std::map<std::string, std::string> jar_;
  std::vector<std::string> set_cookies_;
};

json::value Parse(const HttpReply& reply) {
  boost::system::error_code ec;
  auto v = json::parse(reply.body, ec);
  EXPECT_FALSE(ec) << reply.status << ": " << reply.body.substr(0, 300);
  return v;
}

// kSqliteTls: SQLite with the service on TLS ([tls]) and an https redirect URI: Secure, __Host- cookies.
enum class Backend { kSqlite, kPostgres, kSqliteTls };

class SsoTest : public ::testing::TestWithParam<Backend> {
 protected:
  SsoTest() : provider_("vigil-console", "s3cret-of-the-client") {}

  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      postgres_.Create();
      if (IsSkipped() || HasFatalFailure()) return;
      store_flags_ = {"--database-url", postgres_.url(), "--data-dir", (dir_.path() / "data").string()};
    } else {
      store_flags_ = {"--data-dir", (dir_.path() / "data").string()};
    }
    ASSERT_TRUE(provider_.Start());
    for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{
             {"root", "admin"}, {"platform", "submitter"}, {"lena", "reviewer,legal"}}) {
      keys_[name] = testing::CreateKey(store_flags_, role, name);
      ASSERT_FALSE(keys_[name].empty()) << name;
    }
    port_ = testing::FreePort();
    const bool tls = GetParam() == Backend::kSqliteTls;
    cookie_ = tls ? "__Host-vigil-session" : "vigil-session";
    std::ofstream(dir_.path() / "client-secret") << "s3cret-of-the-client\n";
    std::ofstream config(dir_.path() / "vigil.toml");
    config << "[sso]\nissuer = \"" << provider_.issuer() << "\"\nclient_id = \"vigil-console\"\nclient_secret_env = \"\"\n"
           << "client_secret_file = \"" << (dir_.path() / "client-secret").string() << "\"\n"
           << "redirect_uri = \"" << (tls ? "https" : "http") << "://127.0.0.1:" << port_ << "/v1/sso/callback\"\n"
           << "group_roles = \"t-and-s=reviewer; legal-team=legal\"\nprovider_name = \"Stand-in IdP\"\n";
    if (tls) {
      config << testing::WriteTlsTable(dir_.path(), "vigil.test");
      testing::UseTls(true);
    }
    config.close();
    std::vector<std::string> args = store_flags_;
    args.insert(args.end(), {"--no-access-log", "--listen", "127.0.0.1:" + std::to_string(port_), "--config",
                             (dir_.path() / "vigil.toml").string()});
    server_ = std::make_unique<testing::ServerProcess>(dir_.path() / "server", args);
    ASSERT_TRUE(server_->Start()) << server_->Log();
    ASSERT_EQ(server_->port(), port_);
  }

  // Signs in as the provider's current user: where the service sent the browser at the end.
  std::string SignIn(Browser& browser, const std::string& return_to = "/ui/") {
    auto login = browser.Request(port_, "GET", "/v1/sso/login?return_to=" + return_to);
    EXPECT_EQ(login.status, 302u) << login.body;
    auto [idp_port, authorize] = Split(login.headers["location"]);
    EXPECT_EQ(idp_port, Split(provider_.issuer() + "/").first);
    auto approved = Provider(idp_port, authorize);
    EXPECT_EQ(approved.status, 302u) << approved.body;
    callback_ = Split(approved.headers["location"]).second;
    auto back = browser.Request(port_, "GET", callback_);
    EXPECT_EQ(back.status, 302u) << back.body;
    return back.headers["location"];
  }

  // The stand-in provider speaks plain http, whatever the service does.
  static HttpReply Provider(std::uint16_t port, const std::string& target) {
    const bool tls = GetParam() == Backend::kSqliteTls;
    testing::UseTls(false);
    auto reply = Http(port, "GET", target);
    testing::UseTls(tls);
    return reply;
  }

  void TearDown() override { testing::UseTls(false); }

  HttpReply Me(Browser& browser) { return browser.Request(port_, "GET", "/v1/me"); }

  std::string SessionCookie(Browser& browser) { return browser.jar()[cookie_]; }

  std::vector<json::object> Audit(const std::string& action) {
    auto reply = testing::HttpJson(port_, "GET", "/v1/audit?limit=200", keys_["root"]);
    EXPECT_EQ(reply.status, 200u) << reply.body;
    std::vector<json::object> out;
    const auto parsed = Parse(reply);
    for (const auto& r : parsed.at("audit").as_array()) {
      if (r.at("action").as_string() == action) out.push_back(r.as_object());
    }
    return out;
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  testing::OidcStandIn provider_;
  std::vector<std::string> store_flags_;
  std::map<std::string, std::string> keys_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::uint16_t port_ = 0;
  std::string callback_;
  std::string cookie_ = "vigil-session";
};

TEST_P(SsoTest, SignInMapsGroupsToSeveralRolesAndAuditsTheSubjectAndDisplayName) {
  provider_.SetUser({"00u1", "Dana", "Dana Scully", "dana@example.org", {"t-and-s", "legal-team", "marketing"}});
  Browser browser;
  EXPECT_EQ(SignIn(browser, "/ui/%23queue"), "/ui/#queue");
  // The session cookie: HttpOnly, SameSite=Strict; Secure with the __Host- prefix over TLS, and not
  // over plain http (the browser would drop it).
  const bool tls = GetParam() == Backend::kSqliteTls;
  bool saw = false;
  for (const auto& line : browser.set_cookies()) {
    if (!line.starts_with(cookie_ + "=") || line.find("Max-Age=0") != std::string::npos) continue;
    saw = true;
    EXPECT_NE(line.find("HttpOnly"), std::string::npos) << line;
    EXPECT_NE(line.find("SameSite=Strict"), std::string::npos) << line;
    EXPECT_EQ(line.find("; Secure") != std::string::npos, tls) << line;
    EXPECT_NE(line.find("Path=/"), std::string::npos) << line;
  }
  EXPECT_TRUE(saw);
  // The sign-in cookie stays for its 10 minutes (another tab's sign-in may still be under way).
  EXPECT_EQ(browser.jar().count(tls ? "__Host-vigil-signin" : "vigil-signin"), 1u);
  auto me = Me(browser);
  ASSERT_EQ(me.status, 200u) << me.body;
  const auto who = Parse(me);
  EXPECT_EQ(who.at("name").as_string(), "dana");
  EXPECT_EQ(who.at("kind").as_string(), "session");
  EXPECT_EQ(who.at("display_name").as_string(), "Dana Scully");
  EXPECT_EQ(json::serialize(who.at("roles")), R"(["reviewer","legal"])");
  EXPECT_FALSE(who.at("csrf_token").as_string().empty());
  // Each route acts in the role it needs: reviewer for the queue, legal for reports; nothing of admin.
  EXPECT_EQ(browser.Request(port_, "GET", "/v1/cases").status, 200u);
  EXPECT_EQ(browser.Request(port_, "GET", "/v1/reports").status, 200u);
  auto keys = browser.Request(port_, "GET", "/v1/keys");
  EXPECT_EQ(keys.status, 403u) << keys.body;
  EXPECT_NE(keys.body.find("roles 'reviewer,legal' may not call this route"), std::string::npos) << keys.body;
  // What a person does is audited under their name, bound to the provider's subject and display name.
  const auto started = Audit("session.start");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].at("actor").as_string(), "dana");
  const std::string detail(started[0].at("detail").as_string());
  EXPECT_NE(detail.find(R"(subject="00u1")"), std::string::npos) << detail;
  EXPECT_NE(detail.find("issuer=\"" + provider_.issuer() + "\""), std::string::npos) << detail;
  EXPECT_NE(detail.find(R"(display_name="Dana Scully")"), std::string::npos) << detail;
  EXPECT_NE(detail.find("roles=reviewer,legal"), std::string::npos) << detail;
  const auto csrf = std::string(who.at("csrf_token").as_string());
  ASSERT_EQ(browser.Request(port_, "POST", "/v1/me/break", {{"X-CSRF-Token", csrf}, {"Content-Type", "application/json"}}, "{}").status, 200u);
  const auto breaks = Audit("wellness.break");
  ASSERT_EQ(breaks.size(), 1u);
  EXPECT_EQ(breaks[0].at("actor").as_string(), "dana");
  EXPECT_EQ(json::serialize(breaks[0].at("person_now")),
            R"({"issuer":")" + provider_.issuer() + R"(","subject":"00u1","display_name":"Dana Scully"})");
  auto people = testing::HttpJson(port_, "GET", "/v1/people", keys_["root"]);
  ASSERT_EQ(people.status, 200u) << people.body;
  EXPECT_NE(people.body.find(R"("subject":"00u1")"), std::string::npos) << people.body;
}

TEST_P(SsoTest, ForgedExpiredWrongAudienceIssuerOrNonceTokensSignNobodyIn) {
  for (const auto spoil : {TokenSpoil::kForeignKey, TokenSpoil::kExpired, TokenSpoil::kWrongAudience, TokenSpoil::kWrongIssuer,
                           TokenSpoil::kWrongNonce, TokenSpoil::kAlgNone, TokenSpoil::kHmacWithPublicKey}) {
    provider_.SpoilNextToken(spoil);
    Browser browser;
    const std::string landed = SignIn(browser);
    EXPECT_TRUE(landed.starts_with("/ui/#sso-error=ID%20token%20refused")) << static_cast<int>(spoil) << ": " << landed;
    EXPECT_TRUE(SessionCookie(browser).empty()) << static_cast<int>(spoil);
    EXPECT_EQ(Me(browser).status, 401u);
  }
  EXPECT_TRUE(Audit("session.start").empty());
  // And the provider, unspoilt, signs people in.
  Browser browser;
  EXPECT_EQ(SignIn(browser), "/ui/");
  EXPECT_EQ(Me(browser).status, 200u);
}

TEST_P(SsoTest, KeysTheProviderRotatesMidDayAreFollowedWithoutARestart) {
  Browser first;
  ASSERT_EQ(SignIn(first), "/ui/");
  EXPECT_EQ(provider_.Requests("jwks"), 1);
  provider_.RotateKeys();  // the old key is gone from the JWKS; new tokens name the new one
  Browser second;
  ASSERT_EQ(SignIn(second), "/ui/");
  EXPECT_EQ(provider_.Requests("jwks"), 2);
  EXPECT_EQ(Me(second).status, 200u);
  EXPECT_EQ(Me(first).status, 200u) << "a session does not depend on the key that signed its sign-in";
  provider_.UseEs256(true);  // and an EC key (ES256) of the same JWKS
  Browser third;
  ASSERT_EQ(SignIn(third), "/ui/");
  EXPECT_EQ(provider_.Requests("jwks"), 2) << "the EC key was in the set already";
}

TEST_P(SsoTest, ASignInFinishedInAnotherBrowserOrReplayedIsRefused) {
  Browser victim;
  auto login = victim.Request(port_, "GET", "/v1/sso/login");
  ASSERT_EQ(login.status, 302u);
  auto [idp_port, authorize] = Split(login.headers["location"]);
  auto approved = Provider(idp_port, authorize);
  const std::string callback = Split(approved.headers["location"]).second;
  Browser other;  // has no sign-in cookie for this state (a login CSRF's victim, or a stolen link)
  auto landed = other.Request(port_, "GET", callback);
  EXPECT_NE(landed.headers["location"].find("another%20browser"), std::string::npos) << landed.headers["location"];
  EXPECT_TRUE(SessionCookie(other).empty());
  // That try used nothing up: the browser that began the sign-in finishes it, once.
  auto rightful = victim.Request(port_, "GET", callback);
  EXPECT_EQ(rightful.headers["location"], "/ui/");
  EXPECT_EQ(Me(victim).status, 200u);
  auto replay = victim.Request(port_, "GET", callback);
  EXPECT_NE(replay.headers["location"].find("sso-error"), std::string::npos) << "a callback works once";
}

TEST_P(SsoTest, TwoSignInsBegunInOneBrowserBothFinish) {
  Browser browser;
  std::vector<std::string> callbacks;
  for (int tab = 0; tab < 2; ++tab) {
    auto login = browser.Request(port_, "GET", "/v1/sso/login");
    ASSERT_EQ(login.status, 302u);
    auto [idp_port, authorize] = Split(login.headers["location"]);
    callbacks.push_back(Split(Provider(idp_port, authorize).headers["location"]).second);
  }
  EXPECT_EQ(browser.Request(port_, "GET", callbacks[0]).headers["location"], "/ui/");
  EXPECT_EQ(browser.Request(port_, "GET", callbacks[1]).headers["location"], "/ui/");
}

TEST_P(SsoTest, AReturnPathOutsideTheConsoleBecomesTheConsole) {
  for (const std::string asked : {"/ui/../../v1/keys", "/ui/..%2F..%2Fv1", "//evil.example", "https://evil.example/ui/",
                                  "/ui/%5c%5cevil.example", "/ui/#queue"}) {
    Browser browser;
    auto login = browser.Request(port_, "GET", "/v1/sso/login?return_to=" + UrlEncodeForTest(asked));
    ASSERT_EQ(login.status, 302u);
    auto [idp_port, authorize] = Split(login.headers["location"]);
    auto landed = browser.Request(port_, "GET", Split(Provider(idp_port, authorize).headers["location"]).second);
    EXPECT_EQ(landed.headers["location"], asked == "/ui/#queue" ? "/ui/#queue" : "/ui/") << asked;
  }
}

TEST_P(SsoTest, ASlowProviderHoldsUpNeitherProbesNorKeyCallsNorUploads) {
  // Four worker threads: two sign-ins may wait on the provider, the other two workers stay for
  // uploads. The token endpoint answers after 3 seconds; four people finish signing in at once.
  const std::string config = testing::ReadText(dir_.path() / "vigil.toml");
  std::ofstream(dir_.path() / "vigil.toml") << "worker_threads = 4\n" << config;
  server_->Terminate();
  ASSERT_TRUE(server_->Start()) << server_->Log();
  std::vector<Browser> people(4);
  std::vector<std::string> callbacks;
  for (auto& browser : people) {
    auto login = browser.Request(port_, "GET", "/v1/sso/login");
    auto [idp_port, authorize] = Split(login.headers["location"]);
    callbacks.push_back(Split(Provider(idp_port, authorize).headers["location"]).second);
  }
  provider_.FailAt("token", 0, testing::StandInFault::Delay(3000), 4);
  std::vector<std::thread> finishing;
  std::atomic<int> signed_in{0}, told_to_retry{0};
  for (std::size_t i = 0; i < people.size(); ++i) {
    finishing.emplace_back([&, i] {
      const auto landed = people[i].Request(port_, "GET", callbacks[i]).headers["location"];
      if (landed == "/ui/") ++signed_in;
      else if (landed.find("too%20many%20sign-ins") != std::string::npos) ++told_to_retry;
      else ADD_FAILURE() << landed;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(Http(port_, "GET", "/healthz").status, 200u);
  EXPECT_EQ(testing::HttpJson(port_, "GET", "/v1/me", keys_["root"]).status, 200u);
  const auto photo = testing::ReadFile(testing::TestDataDir() / "vectors/pdq/bridge-mods/aaa-orig.jpg");
  auto hashed = Http(port_, "POST", "/v1/hash", std::string(photo.begin(), photo.end()),
                     {{"Authorization", "Bearer " + keys_["platform"]}, {"Content-Type", "image/jpeg"}});
  EXPECT_EQ(hashed.status, 200u) << hashed.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2)) << "the provider held up other work";
  for (auto& t : finishing) t.join();
  EXPECT_EQ(signed_in.load(), 2) << "two waited on the provider";
  EXPECT_EQ(told_to_retry.load(), 2) << "the others were told to try again at once";
}

TEST_P(SsoTest, AProviderThatCannotBeReachedIsAskedOnceAndTheReasonRemembered) {
  provider_.FailAt("discovery", 0, testing::StandInFault::Http500(), 100);
  server_->Terminate();
  ASSERT_TRUE(server_->Start()) << server_->Log();  // asks at start: refused
  // The service asks once it listens: its answer is logged once it has been refused (reading the
  // count before that raced the question under load).
  for (int i = 0; i < 200 && server_->Log().find("\"msg\":\"single sign-on\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int asked = provider_.Requests("discovery");
  for (int i = 0; i < 5; ++i) {
    Browser browser;
    auto login = browser.Request(port_, "GET", "/v1/sso/login");
    EXPECT_NE(login.headers["location"].find("sso-error=the%20identity%20provider"), std::string::npos)
        << login.headers["location"];
  }
  EXPECT_EQ(provider_.Requests("discovery"), asked) << "a failure is remembered for 10 seconds";
  EXPECT_NE(server_->Log().find("\"msg\":\"single sign-on\""), std::string::npos) << server_->Log();
}

TEST_P(SsoTest, WhatTheProviderSaysCannotForgeTheAuditLogNorLearnWhoHoldsAName) {
  // ESC, a C1 control (NEL) and a right-to-left override: none reaches the log or a screen.
  provider_.SetUser({"00u7", "lex", "Lex roles=admin\x1b[31m\xc2\x85\xe2\x80\xae subject=idp|adam", "l@example.org", {"t-and-s"}});
  Browser lex;
  ASSERT_EQ(SignIn(lex), "/ui/");
  const auto started = Audit("session.start");
  ASSERT_EQ(started.size(), 1u);
  const std::string detail(started[0].at("detail").as_string());
  EXPECT_NE(detail.find(R"(subject="00u7")"), std::string::npos) << detail;
  EXPECT_NE(detail.find(R"(display_name="Lex roles=admin[31m subject=idp|adam")"), std::string::npos) << detail;
  EXPECT_EQ(detail.find('\x1b'), std::string::npos);
  // Another subject with the same preferred_username learns nothing of lex's subject or issuer.
  provider_.SetUser({"00u8", "LEX", "Not Lex", "n@example.org", {"t-and-s"}});
  Browser other;
  const std::string refused = SignIn(other);
  EXPECT_NE(refused.find("is%20taken%20in%20Vigil"), std::string::npos) << refused;
  EXPECT_EQ(refused.find("00u7"), std::string::npos) << refused;
}

TEST_P(SsoTest, AnOperatorMovesPeopleToANewIssuerOrRebindsOne) {
  Browser before;
  ASSERT_EQ(SignIn(before), "/ui/");  // dana, subject 00u1
  auto moved = testing::RunVigil(
      [&] { auto a = std::vector<std::string>{"people", "move-issuer", "--from", provider_.issuer(), "--to", "https://new.example"};
            a.insert(a.end(), store_flags_.begin(), store_flags_.end()); return a; }());
  ASSERT_EQ(moved.status, 0) << moved.err;
  EXPECT_NE(moved.err.find("1 people now bound to https://new.example"), std::string::npos) << moved.err;
  // Signing in through the old issuer now: the person is told what happened (their own binding).
  Browser old_issuer;
  const std::string told = SignIn(old_issuer);
  EXPECT_NE(told.find("another%20issuer"), std::string::npos) << told;
  auto rebound = testing::RunVigil(
      [&] { auto a = std::vector<std::string>{"people", "rebind", "--name", "dana", "--subject", "00u9", "--issuer", provider_.issuer()};
            a.insert(a.end(), store_flags_.begin(), store_flags_.end()); return a; }());
  ASSERT_EQ(rebound.status, 0) << rebound.err;
  EXPECT_EQ(Me(before).status, 401u) << "a rebound person's sessions end";
  provider_.SetUser({"00u9", "dana", "Dana Scully", "dana@example.org", {"t-and-s"}});
  Browser after;
  EXPECT_EQ(SignIn(after), "/ui/");
  EXPECT_EQ(Audit("people.rebind").size(), 1u);
  EXPECT_EQ(Audit("people.move_issuer").size(), 1u);
}

TEST_P(SsoTest, AChangeWithTheSessionCookieButWithoutItsCsrfTokenIsRefused) {
  Browser browser;
  ASSERT_EQ(SignIn(browser), "/ui/");
  const std::string csrf(Parse(Me(browser)).at("csrf_token").as_string());
  auto forged = browser.Request(port_, "POST", "/v1/me/break", {{"Content-Type", "application/json"}}, "{}");
  EXPECT_EQ(forged.status, 403u) << forged.body;
  EXPECT_NE(forged.body.find("\"csrf\""), std::string::npos) << forged.body;
  auto wrong = browser.Request(port_, "POST", "/v1/me/break", {{"X-CSRF-Token", csrf + "x"}, {"Content-Type", "application/json"}}, "{}");
  EXPECT_EQ(wrong.status, 403u);
  auto right = browser.Request(port_, "POST", "/v1/me/break", {{"X-CSRF-Token", csrf}, {"Content-Type", "application/json"}}, "{}");
  EXPECT_EQ(right.status, 200u) << right.body;
  // Machines keep their keys, which a page on another site cannot send: no token for them.
  EXPECT_EQ(testing::HttpJson(port_, "POST", "/v1/me/key/rotate", keys_["platform"], "{}").status, 200u);
}

TEST_P(SsoTest, SignOutAndAnAdminsEndTakeEffectAtOnce) {
  Browser browser;
  ASSERT_EQ(SignIn(browser), "/ui/");
  const std::string cookie = SessionCookie(browser);
  const std::string csrf(Parse(Me(browser)).at("csrf_token").as_string());
  auto out = browser.Request(port_, "POST", "/v1/sso/logout", {{"X-CSRF-Token", csrf}});
  ASSERT_EQ(out.status, 200u) << out.body;
  EXPECT_NE(Parse(out).at("provider_logout").as_string().find(provider_.issuer() + "/logout"), std::string::npos);
  EXPECT_TRUE(SessionCookie(browser).empty()) << "the cookie is cleared";
  EXPECT_EQ(Http(port_, "GET", "/v1/me", "", {{"Cookie", cookie_ + "=" + cookie}}).status, 401u) << "and the session is over";
  // An admin ends another session.
  Browser second;
  ASSERT_EQ(SignIn(second), "/ui/");
  auto live = testing::HttpJson(port_, "GET", "/v1/sessions", keys_["root"]);
  ASSERT_EQ(live.status, 200u);
  const auto sessions = Parse(live).at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 1u) << live.body;
  const auto id = sessions[0].at("id").as_int64();
  EXPECT_EQ(testing::HttpJson(port_, "DELETE", "/v1/sessions/" + std::to_string(id), keys_["root"]).status, 200u);
  EXPECT_EQ(Me(second).status, 401u);
  EXPECT_EQ(Audit("session.end").size(), 2u);
}

TEST_P(SsoTest, APersonWhoseGroupsGiveNoRoleOrWhoseNameIsAKeysIsNotSignedIn) {
  provider_.SetUser({"00u2", "mallory", "Mallory", "m@example.org", {"marketing"}});
  Browser browser;
  EXPECT_NE(SignIn(browser).find("none%20of%20your%20groups"), std::string::npos);
  EXPECT_TRUE(SessionCookie(browser).empty());
  provider_.SetUser({"00u3", "root", "Not Root", "r@example.org", {"t-and-s"}});
  Browser impostor;
  // The same answer as for another person's name: nothing tells which names keys have.
  EXPECT_NE(SignIn(impostor).find("is%20taken%20in%20Vigil"), std::string::npos);
  EXPECT_EQ(Audit("session.refused").size(), 2u);
  // A name bound to one subject is not another's.
  provider_.SetUser({"00u4", "dana", "Dana", "d@example.org", {"t-and-s"}});
  Browser dana;
  ASSERT_EQ(SignIn(dana), "/ui/");
  provider_.SetUser({"00u5", "dana", "Another Dana", "d2@example.org", {"t-and-s"}});
  Browser other;
  EXPECT_NE(SignIn(other).find("is%20taken%20in%20Vigil"), std::string::npos);
  // Nor may a key be minted under a person's name.
  auto minted = testing::HttpJson(port_, "POST", "/v1/keys", keys_["root"], R"({"name":"dana","role":"submitter"})");
  EXPECT_EQ(minted.status, 409u) << minted.body;
}

TEST_P(SsoTest, AKeyWithSeveralRolesActsInTheRoleEachRouteNeeds) {
  const std::string& lena = keys_["lena"];
  EXPECT_EQ(testing::HttpJson(port_, "GET", "/v1/cases", lena).status, 200u);    // as reviewer
  EXPECT_EQ(testing::HttpJson(port_, "GET", "/v1/reports", lena).status, 200u);  // as legal
  EXPECT_EQ(testing::HttpJson(port_, "GET", "/v1/banks", lena).status, 403u);
  // Naming a role picks it: legal may not list cases; a role not held is refused.
  auto as_legal = Http(port_, "GET", "/v1/cases", "", {{"Authorization", "Bearer " + lena}, {"X-Vigil-Role", "legal"}});
  EXPECT_EQ(as_legal.status, 403u) << as_legal.body;
  EXPECT_EQ(Http(port_, "GET", "/v1/cases", "", {{"Authorization", "Bearer " + lena}, {"X-Vigil-Role", "Reviewer"}}).status, 200u)
      << "the role's name in any case";
  auto as_admin = Http(port_, "GET", "/v1/reports", "", {{"Authorization", "Bearer " + lena}, {"X-Vigil-Role", "admin"}});
  EXPECT_EQ(as_admin.status, 403u);
  EXPECT_NE(as_admin.body.find("does not hold"), std::string::npos) << as_admin.body;
  auto listed = testing::HttpJson(port_, "GET", "/v1/keys", keys_["root"]);
  EXPECT_NE(listed.body.find(R"("roles":["reviewer","legal"])"), std::string::npos) << listed.body;
  // Over the API, several roles with a sensitive one wait for a second admin like that role alone.
  auto requested = testing::HttpJson(port_, "POST", "/v1/keys", keys_["root"], R"({"name":"lex","roles":["legal","reviewer"]})");
  EXPECT_EQ(requested.status, 202u) << requested.body;
  auto both = testing::HttpJson(port_, "POST", "/v1/keys", keys_["root"], R"({"name":"m6","roles":["admin"],"role":"reviewer"})");
  EXPECT_EQ(both.status, 400u) << both.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, SsoTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres, Backend::kSqliteTls),
                         [](const auto& param_info) {
                           return param_info.param == Backend::kSqlite     ? "Sqlite"
                                  : param_info.param == Backend::kPostgres ? "Postgres"
                                                                           : "SqliteOverTls";
                         });

// Timeouts, with time passed in: the store ends a session idle too long, or past its absolute
// limit however busy, and audits why.
class SessionStoreTest : public ::testing::TestWithParam<testing::StoreBackend> {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(GetParam(), dir_.path(), postgres_);
    if (!store_) return;
    person_ = {"dana", "https://idp.example.org", "00u1", "Dana Scully", "dana@example.org", "reviewer", 0, 0};
  }
  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::unique_ptr<Store> store_;
  Person person_;
  static constexpr std::int64_t kMinute = 60'000'000;
  const std::int64_t t0_ = std::int64_t{1'800'000'000} * 1'000'000;
};

TEST_P(SessionStoreTest, ASessionIdleLongerThanItsTimeoutEnds) {
  if (!store_) return;
  auto& sessions = store_->Sessions();
  auto session = sessions.StartSession(person_, {30 * 60, 12 * 3600}, "127.0.0.1", t0_);
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_TRUE(sessions.TouchSession(session->secret, t0_ + 29 * kMinute));  // a request: idle again from here
  EXPECT_TRUE(sessions.TouchSession(session->secret, t0_ + 58 * kMinute));
  auto idle = sessions.TouchSession(session->secret, t0_ + 89 * kMinute);
  ASSERT_FALSE(idle);
  EXPECT_NE(idle.error().message.find("idle timeout"), std::string::npos) << idle.error().message;
  EXPECT_FALSE(sessions.TouchSession(session->secret, t0_ + 59 * kMinute)) << "ended for good";
  auto audit = store_->ListAudit(10);
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->front().action, "session.end");
  EXPECT_NE(audit->front().detail.find("idle timeout"), std::string::npos);
}

TEST_P(SessionStoreTest, ABusySessionEndsAtItsAbsoluteLimit) {
  if (!store_) return;
  auto& sessions = store_->Sessions();
  auto session = sessions.StartSession(person_, {30 * 60, 3600}, "127.0.0.1", t0_);
  ASSERT_TRUE(session);
  for (int minute = 10; minute < 60; minute += 10) {
    EXPECT_TRUE(sessions.TouchSession(session->secret, t0_ + minute * kMinute)) << minute;
  }
  auto over = sessions.TouchSession(session->secret, t0_ + 60 * kMinute);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("absolute timeout"), std::string::npos) << over.error().message;
}

TEST_P(SessionStoreTest, ASignInIsTakenOnceAndLapsesAfterTenMinutes) {
  if (!store_) return;
  auto& sessions = store_->Sessions();
  ASSERT_TRUE(sessions.BeginSignIn({"state-1", "nonce", "verifier", "browser", "/ui/", t0_}));
  ASSERT_TRUE(sessions.BeginSignIn({"state-2", "nonce", "verifier", "browser", "/ui/", t0_}));
  auto other = sessions.TakeSignIn("state-1", "another-browser", t0_ + kMinute);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kPermissionDenied) << "and it is left for its own browser";
  auto taken = sessions.TakeSignIn("state-1", "browser", t0_ + kMinute);
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_EQ(taken->nonce, "nonce");
  EXPECT_FALSE(sessions.TakeSignIn("state-1", "browser", t0_ + kMinute));
  EXPECT_FALSE(sessions.TakeSignIn("state-2", "browser", t0_ + 11 * kMinute));
  EXPECT_FALSE(sessions.TakeSignIn("never-begun", "browser", t0_));
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionStoreTest,
                         ::testing::Values(testing::StoreBackend::kSqlite, testing::StoreBackend::kPostgres),
                         [](const auto& param_info) {
                           return param_info.param == testing::StoreBackend::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace vigil
