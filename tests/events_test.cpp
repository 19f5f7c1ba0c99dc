// Events to the platform against the real `vigil serve`: the outbox written with each change
// (content blocked, an account suspended, a case decided), the feed paged with ?after=, and signed
// webhooks to a receiver that fails, answers 500 and is slow: retried with backoff, in order for
// each account, each signed and carrying its id, dead letters redelivered by hand, and nothing lost
// when the service is killed and started again.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <csignal>
#include <fstream>
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "exchange_standins.h"
#include "server/webhook_sender.h"
#include "service_harness.h"
#include "test_images.h"

namespace vigil {
namespace {

using testing::CreateKey;
using testing::Http;
using testing::HttpJson;
using testing::ServerProcess;

constexpr const char* kSecret = "whsec-test-0123456789";

std::string PdqOf(const std::filesystem::path& path) {
  auto run = testing::RunVigil({"hash", path.string()});
  EXPECT_EQ(run.status, 0) << run.err;
  return std::string(boost::json::parse(run.out).at("pdq").as_string());
}

std::filesystem::path Photo(int i) {
  const auto pdq = testing::TestDataDir() / "vectors/pdq";
  const std::filesystem::path photos[] = {pdq / "misc-images/c.png", pdq / "reg-test-input/labelme-subset/q0122.jpg",
                                          pdq / "reg-test-input/labelme-subset/q0291.jpg"};
  return photos[i];
}

// The platform's webhook receiver: records what arrives; can be told to fail.
class Receiver final : public testing::StandInServer {
 public:
  ~Receiver() override { Stop(); }
  struct Delivery {
    std::string body, id, kind, signature;
  };
  std::vector<Delivery> Deliveries() const {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }

 protected:
  // Events of accounts named "user-slow-..." count under their own endpoint, so a test can slow them.
  std::string Endpoint(const Call& call) const override {
    return call.body.find("\"user_id\":\"user-slow-") != std::string::npos ? "hook-slow" : "hook";
  }
  Reply Answer(Call& call) override {
    deliveries_.push_back({call.body, call.headers["vigil-event-id"], call.headers["vigil-event-kind"],
                           call.headers["vigil-signature"]});
    return Reply{204, "", "text/plain", -1, ""};
  }

 private:
  std::vector<Delivery> deliveries_;
};

bool SignatureValid(const std::string& header, const std::string& body) {
  const auto comma = header.find(",v1=");
  if (header.rfind("t=", 0) != 0 || comma == std::string::npos) return false;
  const std::int64_t t = std::stoll(header.substr(2, comma - 2));
  return server::WebhookSignature(kSecret, t, body) == header;
}

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_flags_ = {"--data-dir", (dir_.path() / "data").string()};
    for (const char* role : {"submitter", "reviewer", "bank-admin", "auditor", "admin"}) {
      keys_[role] = CreateKey(store_flags_, role, std::string(role) + "-key");
      ASSERT_FALSE(keys_[role].empty()) << role;
    }
    ASSERT_TRUE(receiver_.Start());
  }

  void Start(bool webhooks = true) {
    const auto rules = dir_.path() / "rules.toml";
    std::ofstream(rules) << "[[rule]]\nname = \"listed\"\nbanks = [\"listed\"]\nactions = [\"block\", \"hold\", \"suspend\"]\n"
                            "suspend_days = 7\n";
    const auto config = dir_.path() / "vigil.toml";
    std::ofstream file(config);
    if (webhooks) {
      file << "[webhooks]\nurl = \"" << (hook_origin_.empty() ? receiver_.origin() : hook_origin_) << "/hook\"\nbackoff_seconds = 1\nmax_backoff_seconds = 1\n"
           << "max_attempts = " << max_attempts_ << "\npoll_ms = 100\ntimeout_seconds = 2\n";
    }
    file.close();
    std::vector<std::string> args = store_flags_;
    args.insert(args.end(), {"--config", config.string(), "--rules", rules.string()});
    setenv("VIGIL_WEBHOOK_SECRET", kSecret, 1);
    server_ = std::make_unique<ServerProcess>(dir_.path() / "server", args);
    ASSERT_TRUE(server_->Start()) << server_->Log();
  }

  void ListPhotos() {
    auto made = HttpJson(server_->port(), "POST", "/v1/banks", keys_["bank-admin"], R"({"name": "listed"})");
    ASSERT_EQ(made.status, 201u) << made.body;
    const std::string list = "pdq," + PdqOf(Photo(0)) + "\npdq," + PdqOf(Photo(1)) + "\npdq," + PdqOf(Photo(2)) + "\n";
    auto imported = Http(server_->port(), "POST", "/v1/banks/listed/import?format=csv", list,
                         {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "text/csv"}});
    ASSERT_EQ(imported.status, 200u) << imported.body;
  }

  void Upload(const std::string& content_id, const std::string& user, int photo) {
    const auto bytes = testing::ReadFile(Photo(photo));
    auto submitted = Http(server_->port(), "POST", "/v1/content?content_id=" + content_id + "&user_id=" + user,
                          std::string(bytes.begin(), bytes.end()),
                          {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
    ASSERT_EQ(submitted.status, 201u) << submitted.body;
  }

  boost::json::array Feed(std::int64_t after, int limit = 100, const std::string& user = "") {
    auto feed = HttpJson(server_->port(), "GET",
                         "/v1/events?after=" + std::to_string(after) + "&limit=" + std::to_string(limit) +
                             (user.empty() ? "" : "&user_id=" + user),
                         keys_["submitter"]);
    EXPECT_EQ(feed.status, 200u) << feed.body;
    return boost::json::parse(feed.body).at("events").as_array();
  }

  // Waits for `n` deliveries (at most ~20 s).
  std::vector<Receiver::Delivery> AwaitDeliveries(std::size_t n) {
    for (int i = 0; i < 200; ++i) {
      auto got = receiver_.Deliveries();
      if (got.size() >= n) return got;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return receiver_.Deliveries();
  }

  testing::TempDir dir_;
  std::vector<std::string> store_flags_;
  std::map<std::string, std::string> keys_;
  std::unique_ptr<ServerProcess> server_;
  Receiver receiver_;
  int max_attempts_ = 10;
  std::string hook_origin_;  // "" : receiver_
};

TEST_F(EventsTest, ABlockedUploadAndTheSuspensionAreInTheFeedWithTheirStatementsAndPaged) {
  Start(false);
  ListPhotos();
  Upload("c-1", "user-1", 0);
  const auto all = Feed(0);
  std::vector<std::string> kinds;
  for (const auto& e : all) kinds.emplace_back(e.at("kind").as_string());
  ASSERT_EQ(kinds, (std::vector<std::string>{"content.blocked", "account.suspended"})) << boost::json::serialize(all);
  const auto& blocked = all[0].as_object();
  EXPECT_EQ(blocked.at("user_id").as_string(), "user-1");
  EXPECT_EQ(blocked.at("content_id").as_string(), "c-1");
  const auto& data = blocked.at("data").as_object();
  EXPECT_EQ(data.at("kind").as_string(), "block_content");
  EXPECT_TRUE(data.at("automated").as_bool());
  EXPECT_FALSE(data.at("statement").at("ground").as_string().empty());
  EXPECT_EQ(boost::json::serialize(all).find("listed"), std::string::npos) << "no list names in what the platform gets";
  EXPECT_FALSE(all[1].at("data").at("until").is_null());
  // Paged: one at a time with ?after=.
  const auto first = Feed(0, 1);
  ASSERT_EQ(first.size(), 1u);
  const auto second = Feed(first[0].at("id").as_int64(), 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].at("kind").as_string(), "account.suspended");
  EXPECT_TRUE(Feed(second[0].at("id").as_int64()).empty());
  EXPECT_TRUE(Feed(0, 100, "someone-else").empty());
}

TEST_F(EventsTest, ACaseDecisionIsAnEvent) {
  Start(false);
  ListPhotos();
  Upload("c-1", "user-1", 0);
  auto cases = HttpJson(server_->port(), "GET", "/v1/cases", keys_["reviewer"]);
  const auto case_id = std::to_string(boost::json::parse(cases.body).at("cases").at(0).at("id").as_int64());
  ASSERT_EQ(HttpJson(server_->port(), "POST", "/v1/cases/" + case_id + "/claim", keys_["reviewer"]).status, 200u);
  auto decided = HttpJson(server_->port(), "POST", "/v1/cases/" + case_id + "/decision", keys_["reviewer"],
                          R"({"verdict": "not_violating", "reason": "a benign photo"})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  bool found = false;
  for (const auto& e : Feed(0)) {
    if (e.at("kind").as_string() == "case.decided") {
      EXPECT_EQ(e.at("data").at("verdict").as_string(), "not_violating");
      EXPECT_EQ(std::to_string(e.at("case_id").as_int64()), case_id);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

// A platform's whole sequence: the upload is blocked and its account suspended, a reviewer confirms,
// the user appeals and another reviewer overturns: the platform is told each step, in order, and
// the webhook receiver gets the same events in the same order as the feed.
TEST_F(EventsTest, UploadDecisionAppealAndReversalReachThePlatformInOrder) {
  keys_["reviewer-2"] = CreateKey(store_flags_, "reviewer", "reviewer-2");
  Start();
  ListPhotos();
  Upload("c-1", "user-1", 0);
  auto cases = HttpJson(server_->port(), "GET", "/v1/cases", keys_["reviewer"]);
  const auto case_id = std::to_string(boost::json::parse(cases.body).at("cases").at(0).at("id").as_int64());
  ASSERT_EQ(HttpJson(server_->port(), "POST", "/v1/cases/" + case_id + "/claim", keys_["reviewer"]).status, 200u);
  auto confirmed = HttpJson(server_->port(), "POST", "/v1/cases/" + case_id + "/decision", keys_["reviewer"],
                            R"({"verdict": "violating", "reason": "listed"})");
  ASSERT_EQ(confirmed.status, 200u) << confirmed.body;
  std::int64_t suspension = 0;
  const auto account = boost::json::parse(HttpJson(server_->port(), "GET", "/v1/accounts/user-1", keys_["submitter"]).body);
  for (const auto& a : account.at("actions").as_array()) {
    if (a.at("kind").as_string() == "suspend_account") suspension = a.at("id").as_int64();
  }
  ASSERT_NE(suspension, 0);
  auto appeal = HttpJson(server_->port(), "POST", "/v1/appeals", keys_["submitter"],
                         R"({"action_id": )" + std::to_string(suspension) + R"(, "statement": "mine, and benign"})");
  ASSERT_EQ(appeal.status, 201u) << appeal.body;
  const auto appeal_base = "/v1/appeals/" + std::to_string(boost::json::parse(appeal.body).at("id").as_int64());
  ASSERT_EQ(HttpJson(server_->port(), "POST", appeal_base + "/claim", keys_["reviewer-2"]).status, 200u);
  ASSERT_EQ(HttpJson(server_->port(), "POST", appeal_base + "/decision", keys_["reviewer-2"],
                     R"({"outcome": "overturned", "reason": "benign"})")
                .status,
            200u);
  std::vector<std::string> kinds;
  for (const auto& e : Feed(0, 100, "user-1")) kinds.emplace_back(e.at("kind").as_string());
  // Blocked and suspended at upload; confirmed (the decision removes the upload); the appeal
  // overturned reverses what it covers.
  ASSERT_GE(kinds.size(), 6u);
  EXPECT_EQ(kinds[0], "content.blocked");
  EXPECT_EQ(kinds[1], "account.suspended");
  const auto decided = std::find(kinds.begin(), kinds.end(), "case.decided");
  const auto appealed = std::find(kinds.begin(), kinds.end(), "appeal.decided");
  ASSERT_NE(decided, kinds.end());
  ASSERT_NE(appealed, kinds.end());
  EXPECT_LT(decided, appealed);
  EXPECT_NE(std::find(decided, appealed, "content.removed"), appealed);
  EXPECT_NE(std::find(decided, kinds.end(), "account.restored"), kinds.end());
  EXPECT_NE(std::find(decided, kinds.end(), "content.restored"), kinds.end());
  const auto got = AwaitDeliveries(kinds.size());
  std::vector<std::string> delivered;
  for (const auto& d : got) delivered.push_back(d.kind);
  EXPECT_EQ(delivered, kinds);
}

TEST_F(EventsTest, AReceiverSlowForSomeAccountsHoldsUpNoOther) {
  receiver_.FailAt("hook-slow", 0, testing::StandInFault::Delay(3000), 100);  // past the 2 s timeout, each time
  Start();
  ListPhotos();
  for (int i = 1; i <= 3; ++i) Upload("slow-" + std::to_string(i), "user-slow-" + std::to_string(i), 0);
  Upload("fast-1", "user-fast", 1);
  // Sent one at a time, the fast account's first event would wait behind three 2 s timeouts.
  const auto started = std::chrono::steady_clock::now();
  std::vector<Receiver::Delivery> got;
  while (std::chrono::steady_clock::now() - started < std::chrono::seconds(20)) {
    got = receiver_.Deliveries();
    if (std::any_of(got.begin(), got.end(), [](const Receiver::Delivery& d) { return d.body.find("user-fast") != std::string::npos; })) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_LT(waited, std::chrono::milliseconds(2500)) << "the fast account waited behind the slow ones";
}

TEST_F(EventsTest, AnAccountSuspendedAlreadyIsNotSuspendedAgainByTheNextMatch) {
  Start(false);
  ListPhotos();
  Upload("c-1", "user-1", 0);
  Upload("c-2", "user-1", 1);
  std::vector<std::string> kinds;
  for (const auto& e : Feed(0, 100, "user-1")) kinds.emplace_back(e.at("kind").as_string());
  EXPECT_EQ(kinds, (std::vector<std::string>{"content.blocked", "account.suspended", "content.blocked"}));
}

// A list that gains a file a person has judged already (reported, reviewed, found not violating):
// the late match is recorded, and nothing is done to the upload or its account on its strength.
TEST_F(EventsTest, ALateMatchDoesNotUndoAPersonsDecision) {
  Start(false);
  ListPhotos();
  const auto photo = testing::TestDataDir() / "vectors/pdq/bridge-mods/aaa-orig.jpg";
  const auto bytes = testing::ReadFile(photo);
  auto submitted = Http(server_->port(), "POST", "/v1/content?content_id=judged-1&user_id=user-9",
                        std::string(bytes.begin(), bytes.end()),
                        {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(submitted.status, 201u) << submitted.body;
  auto reported = HttpJson(server_->port(), "POST", "/v1/user-reports", keys_["submitter"], R"({"content_id": "judged-1"})");
  ASSERT_EQ(reported.status, 201u) << reported.body;
  const auto case_id = std::to_string(boost::json::parse(reported.body).at("case_id").as_int64());
  ASSERT_EQ(HttpJson(server_->port(), "POST", "/v1/cases/" + case_id + "/claim", keys_["reviewer"]).status, 200u);
  ASSERT_EQ(HttpJson(server_->port(), "POST", "/v1/cases/" + case_id + "/decision", keys_["reviewer"],
                     R"({"verdict": "not_violating", "reason": "a bridge"})")
                .status,
            200u);
  auto added = Http(server_->port(), "POST", "/v1/banks/listed/media", std::string(bytes.begin(), bytes.end()),
                    {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(added.status, 201u) << added.body;
  std::vector<std::string> kinds;
  for (const auto& e : Feed(0, 100, "user-9")) kinds.emplace_back(e.at("kind").as_string());
  EXPECT_EQ(kinds, (std::vector<std::string>{"case.decided"}));
  auto record = HttpJson(server_->port(), "GET", "/v1/content/judged-1", keys_["auditor"]);
  const auto content = boost::json::parse(record.body).as_object();
  EXPECT_EQ(content.at("state").as_string(), "visible") << record.body;
  EXPECT_FALSE(content.at("matches").as_array().empty()) << "the late match is on the record";
}

TEST_F(EventsTest, WebhooksAreSignedCarryTheirIdAndArriveInOrderForAnAccount) {
  Start();
  ListPhotos();
  Upload("c-1", "user-1", 0);
  Upload("c-2", "user-2", 1);
  const auto got = AwaitDeliveries(4);
  ASSERT_EQ(got.size(), 4u);
  std::map<std::string, std::vector<std::int64_t>> ids_by_user;
  for (const auto& d : got) {
    EXPECT_TRUE(SignatureValid(d.signature, d.body)) << d.signature;
    const auto body = boost::json::parse(d.body).as_object();
    EXPECT_EQ(std::to_string(body.at("id").as_int64()), d.id);
    EXPECT_EQ(body.at("kind").as_string(), d.kind);
    ids_by_user[std::string(body.at("user_id").as_string())].push_back(body.at("id").as_int64());
  }
  for (const auto& [user, ids] : ids_by_user) EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << user;
  // A tampered body does not verify.
  EXPECT_FALSE(SignatureValid(got[0].signature, got[0].body + " "));
}

TEST_F(EventsTest, AReceiverThatFailsIsRetriedAndNothingIsDeliveredOutOfOrder) {
  receiver_.FailAt("hook", 0, testing::StandInFault::Http500(), 2);
  Start();
  ListPhotos();
  Upload("c-1", "user-1", 0);  // content.blocked, then account.suspended, for the same account
  const auto got = AwaitDeliveries(2);
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(receiver_.Requests("hook"), 4);  // two 500s, then both
  EXPECT_EQ(got[0].kind, "content.blocked");
  EXPECT_EQ(got[1].kind, "account.suspended");
  const auto metrics = HttpJson(server_->port(), "GET", "/metrics", keys_["auditor"]).body;
  EXPECT_NE(metrics.find("vigil_webhook_deliveries_total{outcome=\"failed\"} 2"), std::string::npos) << metrics.substr(0, 3000);
}

TEST_F(EventsTest, ASlowReceiverIsGivenUpOnAtTheTimeoutAndRetried) {
  receiver_.FailAt("hook", 0, testing::StandInFault::Delay(3500));  // the timeout here is 2 s
  Start();
  ListPhotos();
  Upload("c-1", "user-1", 0);
  const auto got = AwaitDeliveries(3);  // the slow one arrived late, then both again
  ASSERT_GE(got.size(), 2u);
  // Delivery is at least once: the receiver dedupes by Vigil-Event-Id.
  std::set<std::string> distinct;
  for (const auto& d : got) distinct.insert(d.id);
  EXPECT_EQ(distinct.size(), 2u);
  const auto feed = Feed(0);
  for (const auto& e : feed) EXPECT_FALSE(e.at("delivery").at("delivered_at").is_null()) << boost::json::serialize(e);
}

TEST_F(EventsTest, AnEventGivenUpOnIsADeadLetterThatHoldsItsAccountsLaterEventsUntilRedelivered) {
  max_attempts_ = 2;
  receiver_.FailAt("hook", 0, testing::StandInFault::Http500(), 2);
  Start();
  ListPhotos();
  Upload("c-1", "user-1", 0);
  std::string dead_id;
  for (int i = 0; i < 100 && dead_id.empty(); ++i) {
    auto dead = HttpJson(server_->port(), "GET", "/v1/events/dead", keys_["auditor"]);
    const auto events = boost::json::parse(dead.body).at("events").as_array();
    if (!events.empty()) dead_id = std::to_string(events[0].at("id").as_int64());
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(dead_id.empty());
  EXPECT_EQ(boost::json::parse(HttpJson(server_->port(), "GET", "/v1/events/dead?after=" + dead_id, keys_["auditor"]).body)
                .at("events").as_array().size(),
            0u);  // paged like the feed
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(receiver_.Deliveries().empty());  // the suspension waits behind the dead letter
  EXPECT_EQ(HttpJson(server_->port(), "POST", "/v1/events/" + dead_id + "/redeliver", keys_["auditor"]).status, 403u);
  EXPECT_EQ(HttpJson(server_->port(), "POST", "/v1/events/" + dead_id + "/redeliver", keys_["admin"]).status, 204u);
  const auto got = AwaitDeliveries(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, "content.blocked");
  EXPECT_EQ(got[1].kind, "account.suspended");
}

TEST_F(EventsTest, EventsNotDeliveredWhenTheServiceIsKilledAreDeliveredAfterItStartsAgain) {
  receiver_.FailAt("hook", 0, testing::StandInFault::Http500(), 1000);  // the platform's receiver is down
  Start();
  ListPhotos();
  Upload("c-1", "user-1", 0);
  for (int i = 0; i < 50 && receiver_.Requests("hook") == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GT(receiver_.Requests("hook"), 0);
  server_->Kill();  // SIGKILL: nothing is flushed on the way out
  // The receiver is back (at another address here), and so is the service.
  Receiver back;
  ASSERT_TRUE(back.Start());
  hook_origin_ = back.origin();
  Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (back.Deliveries().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto got = back.Deliveries();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, "content.blocked");
  EXPECT_EQ(got[1].kind, "account.suspended");
}

}  // namespace
}  // namespace vigil
