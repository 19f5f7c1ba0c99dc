// Policy rules: parsing with strict validation (unknown keys, wrong types, contradictions and
// unreachable rules refused with the line and rule named) and evaluation (conditions, the
// strongest actions winning, stop).
#include <gtest/gtest.h>

#include "vigil/policy.h"

namespace vigil {
namespace {

const char* kRules = R"(
[[rule]]
name = "exact-known"
description = "an exact cryptographic hash on an industry list"
banks = ["industry"]
signal_types = ["md5", "sha1", "sha256"]
actions = ["block", "hold", "queue_report", "suspend", "notify"]
hold_priority = 3
second_review = true

[[rule]]
name = "near-pdq"
signal_types = ["pdq"]
max_distance = 31
min_quality = 50
actions = ["hold"]
hold_priority = 1

[[rule]]
name = "repeat-offender"
min_prior_cases = 2
actions = ["restrict"]
suspend_days = 7
)";

MatchFacts Match(const std::string& bank, const std::string& type, int distance, std::optional<int> quality = 90) {
  return MatchFacts{bank, {"csam"}, "A1", type, distance, quality};
}

TEST(Policy, ParsesAndEvaluates) {
  auto rules = PolicyRules::Parse(kRules, "rules.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  ASSERT_EQ(rules->rules().size(), 3u);
  EXPECT_EQ(rules->rules()[0].line, 2);

  ContentFacts exact{"image/jpeg", "US", 0, {Match("industry", "sha256", 0)}};
  PolicyOutcome o = rules->Evaluate(exact);
  EXPECT_TRUE(o.block && o.hold && o.queue_report && o.notify && o.second_review);
  EXPECT_EQ(o.hold_priority, 3);
  EXPECT_EQ(o.account, AccountAction::kSuspend);
  EXPECT_FALSE(o.account_days);  // permanent
  EXPECT_EQ(o.rules, std::vector<std::string>{"exact-known"});

  ContentFacts near{"image/png", "", 0, {Match("own", "pdq", 20)}};
  o = rules->Evaluate(near);
  EXPECT_TRUE(o.hold);
  EXPECT_FALSE(o.block);
  EXPECT_EQ(o.hold_priority, 1);
  // Too far, or too low a quality: nothing.
  EXPECT_FALSE(rules->Evaluate({"image/png", "", 0, {Match("own", "pdq", 40)}}).Acts());
  EXPECT_FALSE(rules->Evaluate({"image/png", "", 0, {Match("own", "pdq", 10, 30)}}).Acts());
  // History: a repeat offender is also restricted; the suspension of another rule wins.
  o = rules->Evaluate({"image/png", "", 2, {Match("own", "pdq", 10)}});
  EXPECT_EQ(o.account, AccountAction::kRestrict);
  EXPECT_EQ(o.account_days, 7);
  o = rules->Evaluate({"image/png", "", 2, {Match("industry", "md5", 0)}});
  EXPECT_EQ(o.account, AccountAction::kSuspend);
  EXPECT_FALSE(o.account_days);
  EXPECT_NE(rules->ToJson().find("\"exact-known\""), std::string::npos);
}

TEST(Policy, StopEndsEvaluation) {
  auto rules = PolicyRules::Parse(R"(
[[rule]]
name = "first"
banks = ["a"]
actions = ["hold"]
stop = true
[[rule]]
name = "second"
banks = ["a"]
actions = ["block"]
)", "r");
  ASSERT_TRUE(rules) << rules.error().ToString();
  const auto o = rules->Evaluate({"image/jpeg", "", 0, {Match("a", "pdq", 0)}});
  EXPECT_TRUE(o.hold);
  EXPECT_FALSE(o.block);
}

TEST(Policy, BadFilesAreRefusedWithTheLineAndRule) {
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\ncolour = \"red\"\n", "r:4: unknown rule key 'colour'"},
           {"[[rule]]\nactions = [\"hold\"]\n", "every rule needs a 'name'"},
           {"[[rule]]\nname = \"x\"\nactions = [\"explode\"]\n", "unknown action 'explode'"},
           {"[[rule]]\nname = \"x\"\nactions = []\n", "at least one action"},
           {"[[rule]]\nname = \"x\"\nactions = [\"restrict\", \"suspend\"]\nsuspend_days = 3\n",
            "contradictory actions: restrict and suspend"},
           {"[[rule]]\nname = \"x\"\nactions = [\"block\"]\nhold_priority = 2\n", "'hold_priority' without the 'hold' action"},
           {"[[rule]]\nname = \"x\"\nactions = [\"restrict\"]\n", "'restrict' needs 'suspend_days'"},
           {"[[rule]]\nname = \"x\"\nactions = [\"queue_report\"]\n", "'queue_report' needs 'hold' or 'block'"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nhold_priority = 9\n", "within 0..3"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nsignal_types = [\"tmk\"]\n", "unknown signal type 'tmk'"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nsignal_types = [\"md5\"]\nmax_distance = 10\n",
            "cryptographic hashes only"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\n[[rule]]\nname = \"x\"\nactions = [\"block\"]\n",
            "a rule of this name comes earlier"},
           {"[[rule]]\nname = \"all\"\nactions = [\"hold\"]\nstop = true\n[[rule]]\nname = \"late\"\nactions = [\"block\"]\n",
            "rule 'late'): never fires"},
           {"[[rule]]\nname = \"x\"\nbanks = \"a\"\nactions = [\"hold\"]\n", "'banks' must be a list of strings"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nsecond_review = \"yes\"\n", "true or false"},
           {"[rules]\nname = 1\n", "unknown key 'rules'"},
           {"[[rule]\nname = \"x\"", "r:1"}}) {
    auto rules = PolicyRules::Parse(text, "r");
    ASSERT_FALSE(rules) << text;
    EXPECT_NE(rules.error().message.find(says), std::string::npos) << text << " -> " << rules.error().message;
  }
  EXPECT_EQ(PolicyRules::Load("/nonexistent/rules.toml").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(PolicyRules::Parse("", "empty"));  // no rules: nothing automated
}

}  // namespace
}  // namespace vigil
