// Review queues and reviewer wellness below the service: the [[queue]] tables of a rules file
// (checks and routing), and the wellness store's limits, enforced breaks, their end and exposure
// figures, with time passed in (no waiting).
#include <gtest/gtest.h>

#include "test_images.h"
#include "vigil/policy.h"
#include "vigil/store.h"
#include "vigil/wellness.h"

namespace vigil {
namespace {

constexpr std::int64_t kMinute = 60'000'000;

Result<PolicyRules> Rules(const std::string& queues) {
  return PolicyRules::Parse("[[rule]]\nname = \"r\"\nactions = [\"hold\"]\n" + queues, "rules.toml");
}

TEST(ReviewQueuesTest, ACaseGoesToTheFirstQueueWhoseConditionsAllHold) {
  auto rules = Rules(R"(
[[queue]]
name = "ncii"
categories = ["ncii"]
sla_hours = 12
[[queue]]
name = "urgent-reports"
sources = ["user_report"]
max_priority = 0
[[queue]]
name = "csam"
categories = ["csam"]
)");
  ASSERT_TRUE(rules) << rules.error().message;
  const auto& queues = rules->queues();
  EXPECT_EQ(queues.Route({"ncii", {}, {}, 2, "hash_match"}).name, "ncii");
  EXPECT_EQ(queues.Route({"csam", {}, {}, 0, "user_report"}).name, "urgent-reports");
  EXPECT_EQ(queues.Route({"csam", {}, {}, 1, "user_report"}).name, "csam");
  EXPECT_EQ(queues.Route({"other", {}, {}, 0, "hash_match"}).name, "general");
  EXPECT_EQ(queues.Route({"ncii", {}, {}, 2, "hash_match"}).sla_hours, 12);
  ASSERT_EQ(queues.queues().size(), 4u);
  EXPECT_TRUE(queues.queues().back().open_to_all) << "the default queue is open to every reviewer";
  EXPECT_FALSE(queues.Find("ncii")->open_to_all) << "a specialist queue is its members' only";
}

TEST(ReviewQueuesTest, ThePolicyRoutesTheCaseItOpensByTheMatchedBanksLabels) {
  auto rules = PolicyRules::Parse(R"(
[[rule]]
name = "held"
actions = ["hold"]
[[queue]]
name = "partner"
bank_labels = ["partner-list"]
)", "rules.toml");
  ASSERT_TRUE(rules) << rules.error().message;
  ContentFacts facts;
  facts.matches.push_back({"bank-a", {"partner-list"}, "", "", "pdq", 3, 100});
  EXPECT_EQ(rules->Evaluate(facts).queue, "partner");
  facts.matches[0].bank_labels = {"other"};
  EXPECT_EQ(rules->Evaluate(facts).queue, "general");
}

TEST(ReviewQueuesTest, BadQueueTablesAreRefusedNamingTheLine) {
  struct Case {
    std::string text, message;
  };
  for (const auto& c : std::vector<Case>{
           {"[[queue]]\nname = \"x\"\ncategories = [\"nope\"]\n", "no category 'nope'"},
           {"[[queue]]\nname = \"x\"\n", "without conditions"},
           {"[[queue]]\nname = \"Bad Name\"\ncategories = [\"csam\"]\n", "a-z, 0-9"},
           {"[[queue]]\nname = \"x\"\nsources = [\"rumour\"]\n", "unknown source 'rumour'"},
           {"[[queue]]\nname = \"x\"\ncategories = [\"csam\"]\n[[queue]]\nname = \"x\"\ncategories = [\"ncii\"]\n",
            "comes earlier"},
           {"[[queue]]\nname = \"general\"\ncategories = [\"csam\"]\n", "no conditions"},
           {"[[queue]]\nname = \"x\"\ncategories = [\"csam\"]\ncolour = \"red\"\n", "unknown queue key 'colour'"},
           {"[[queue]]\nname = \"x\"\ncategories = [\"csam\"]\nsla_hours = 0\n", "sla_hours"},
       }) {
    auto rules = Rules(c.text);
    ASSERT_FALSE(rules) << c.text;
    EXPECT_NE(rules.error().message.find(c.message), std::string::npos) << rules.error().message;
    EXPECT_NE(rules.error().message.find("rules.toml:"), std::string::npos) << rules.error().message;
  }
}

class WellnessStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.sqlite_path = (dir_.path() / "vigil.db").string();
    auto opened = Store::Open(options);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    policy_.reveal_limit = 3;
    policy_.break_minutes = 10;
    policy_.exposure_cap_minutes = 5;
  }
  WellnessStore& wellness() { return store_->Wellness(); }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  WellnessPolicy policy_;
  std::int64_t now_ = 1'700'000'000'000'000;
};

TEST_F(WellnessStoreTest, AReviewerMayLowerTheirLimitButNeverRaiseItAboveTheOrganisationsOrTheirManagers) {
  EXPECT_FALSE(wellness().SetOwnLimit("alice", 4, policy_, now_)) << "above the organisation's 3";
  auto lowered = wellness().SetOwnLimit("alice", 2, policy_, now_);
  ASSERT_TRUE(lowered) << lowered.error().message;
  EXPECT_EQ(lowered->limit, 2);
  EXPECT_FALSE(wellness().SetManagerLimit("alice", 4, "root", policy_, now_)) << "a manager only lowers it too";
  ASSERT_TRUE(wellness().SetManagerLimit("alice", 1, "root", policy_, now_));
  EXPECT_EQ(wellness().GetWellness("alice", policy_, now_)->limit, 1);
  auto raised = wellness().SetOwnLimit("alice", 2, policy_, now_);
  ASSERT_FALSE(raised) << "the manager's 1 is the ceiling now";
  EXPECT_NE(raised.error().message.find("your manager"), std::string::npos) << raised.error().message;
}

TEST_F(WellnessStoreTest, TheLimitStartsABreakThatRefusesRevealsUntilItEndsThenTheCountStartsAgain) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(wellness().AdmitReveal("bob", policy_, now_ + i));
  auto refused = wellness().AdmitReveal("bob", policy_, now_ + 10);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kResourceExhausted);
  auto state = wellness().GetWellness("bob", policy_, now_ + 20);
  EXPECT_EQ(state->break_until, now_ + 10 + 10 * kMinute);
  // Nine minutes later: still on the break, whatever the client does.
  EXPECT_FALSE(wellness().AdmitReveal("bob", policy_, now_ + 9 * kMinute));
  // After it: admitted, counted from zero.
  auto after = wellness().AdmitReveal("bob", policy_, now_ + 11 * kMinute);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->reveals, 1);
}

TEST_F(WellnessStoreTest, ARefundedRevealDoesNotCountTowardTheLimit) {
  ASSERT_TRUE(wellness().AdmitReveal("carol", policy_, now_));
  ASSERT_TRUE(wellness().RefundReveal("carol"));
  EXPECT_EQ(wellness().GetWellness("carol", policy_, now_)->reveals, 0);
}

TEST_F(WellnessStoreTest, ATakenBreakIsCountedAndEndsNoSoonerThanTheOrganisationSays) {
  auto taken = wellness().StartBreak("dan", policy_, now_);
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_EQ(taken->break_until, now_ + 10 * kMinute);
  // Taking it again during the break does not make it end sooner or later.
  EXPECT_EQ(wellness().StartBreak("dan", policy_, now_ + kMinute)->break_until, now_ + 10 * kMinute);
  EXPECT_FALSE(wellness().AdmitReveal("dan", policy_, now_ + 2 * kMinute));
  auto figures = wellness().Exposure(now_ - kMinute, now_ + 60 * kMinute, policy_, now_ + 60 * kMinute);
  ASSERT_TRUE(figures);
  ASSERT_EQ(figures->size(), 1u);
  EXPECT_EQ((*figures)[0].breaks, 1);
  EXPECT_EQ((*figures)[0].forced_breaks, 0);
}

}  // namespace
}  // namespace vigil
