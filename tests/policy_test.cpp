// Policy rules: parsing with strict validation (unknown keys, wrong types, contradictions and
// unreachable rules refused with the line and rule named) and evaluation (conditions, the
// strongest actions winning, stop).
#include <gtest/gtest.h>

#include <boost/json.hpp>

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
hold_priority = 0
second_review = true

[[rule]]
name = "near-pdq"
signal_types = ["pdq"]
max_distance = 31
min_quality = 50
actions = ["hold"]
hold_priority = 2

[[rule]]
name = "repeat-offender"
min_prior_cases = 2
actions = ["restrict"]
suspend_days = 7
)";

MatchFacts Match(const std::string& bank, const std::string& type, int distance, std::optional<int> quality = 90,
                 const std::string& category = "") {
  return MatchFacts{bank, {"csam"}, category, "A1", type, distance, type == "pdq" ? quality : std::nullopt};
}

TEST(Policy, ParsesAndEvaluates) {
  auto rules = PolicyRules::Parse(kRules, "rules.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  ASSERT_EQ(rules->rules().size(), 3u);
  EXPECT_EQ(rules->rules()[0].line, 2);

  ContentFacts exact{"image/jpeg", "US", 0, {Match("industry", "sha256", 0)}};
  PolicyOutcome o = rules->Evaluate(exact);
  EXPECT_TRUE(o.block && o.hold && o.queue_report && o.notify && o.second_review);
  EXPECT_EQ(o.hold_priority, 0);  // P0: the most urgent
  EXPECT_EQ(o.account, AccountAction::kSuspend);
  EXPECT_FALSE(o.account_days);  // permanent
  EXPECT_EQ(o.rules, std::vector<std::string>{"exact-known"});

  ContentFacts near{"image/png", "", 0, {Match("own", "pdq", 20)}};
  o = rules->Evaluate(near);
  EXPECT_TRUE(o.hold);
  EXPECT_FALSE(o.block);
  EXPECT_EQ(o.hold_priority, 2);
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
           {"[[rule]]\nname = \"x\"\nactions = [\"queue_report\"]\n", "'queue_report' needs 'block'"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\", \"queue_report\"]\n", "'queue_report' needs 'block'"},
           {"[[rule]]\nname = \"x\"\ncategory = \"ncii\"\nactions = [\"block\", \"queue_report\"]\n",
            "not reported to NCMEC"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nhold_priority = 9\n", "within 0..3"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nsignal_types = [\"md5\"]\nmin_quality = 50\n",
            "'min_quality' applies to PDQ matches only"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nsignal_types = [\"pdq\"]\nmedia_types = [\"video/*\"]\n",
            "never fires: videos are matched by vpdq"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nsignal_types = [\"vpdq\"]\nmedia_types = [\"image/png\"]\n",
            "never fires: images are matched by pdq"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\ncategory = \"spam\"\n", "unknown category 'spam'"},
           {"[[category]]\nid = \"a\"\ntitle = \"A\"\n", "'ground'"},
           {"[[category]]\nid = \"A B\"\ntitle = \"A\"\nground = \"g\"\n", "must be 1-32 of [a-z0-9_-]"},
           {"[[category]]\nid = \"a\"\ntitle = \"A\"\nground = \"g\"\ncolour = 1\n", "unknown category key 'colour'"},
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
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nfound = \"Later\"\n", "'found' must be"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nfound = \"\"\n", "'found' must be"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nmax_upload_age_days = 5\n", "needs found = \"later\""},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nfound = \"later\"\nsignal_types = [\"sha1\"]\n",
            "never fires: matches found later"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nfound = \"sweep\"\nsignal_types = [\"sha1\"]\n",
            "never fires: matches found by sweeps"},
           {"[[rule]]\nname = \"x\"\nactions = [\"hold\"]\nfound = \"soon\"\n", "\"sweep\""},
           {"[[rule]]\nname = \"x\"\nactions = [\"block\", \"hold\", \"suspend\"]\nfound = \"sweep\"\n", "never acts on an account"},
           {"[[rule]]\nname = \"x\"\nactions = [\"block\", \"queue_report\"]\nfound = \"sweep\"\n", "reports on its own"},
           {"[[rule]\nname = \"x\"", "r:1"}}) {
    auto rules = PolicyRules::Parse(text, "r");
    ASSERT_FALSE(rules) << text;
    EXPECT_NE(rules.error().message.find(says), std::string::npos) << text << " -> " << rules.error().message;
  }
  EXPECT_EQ(PolicyRules::Load("/nonexistent/rules.toml").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(PolicyRules::Parse("", "empty"));  // no rules: nothing automated
}

// The go-live trial: a rule with min_quality = 50 never fired for a video matching a CSAM bank,
// since a vPDQ match carries no quality. Quality is PDQ's: other signal types are not held to it.
TEST(Policy, AQualityConditionDoesNotStopVideoOrDigestMatches) {
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"csam\"\nbank_labels = [\"csam\"]\nmin_quality = 50\n"
                                  "actions = [\"block\", \"hold\"]\n", "r");
  ASSERT_TRUE(rules) << rules.error().ToString();
  EXPECT_TRUE(rules->Evaluate({"video/mp4", "", 0, {Match("videos", "vpdq", 12)}}).block);
  EXPECT_TRUE(rules->Evaluate({"video/mp4", "", 0, {Match("videos", "md5", 0)}}).block);
  EXPECT_TRUE(rules->Evaluate({"image/jpeg", "", 0, {Match("photos", "pdq", 12, 80)}}).block);
  EXPECT_FALSE(rules->Evaluate({"image/jpeg", "", 0, {Match("photos", "pdq", 12, 30)}}).Acts());
}

// The outcome names its category: the rule's own, else the bank's; the taxonomy's "other" when
// neither names a known one.
TEST(Policy, TheOutcomeCarriesTheCategoryOfTheFirstRuleThatFired) {
  auto rules = PolicyRules::Parse(R"(
[[rule]]
name = "ncii-bank"
banks = ["stopncii"]
actions = ["block", "hold"]
[[rule]]
name = "terror"
banks = ["gifct"]
category = "terrorist_content"
actions = ["hold"]
)", "r");
  ASSERT_TRUE(rules) << rules.error().ToString();
  auto o = rules->Evaluate({"image/jpeg", "", 0, {Match("stopncii", "pdq", 3, 90, "ncii")}});
  EXPECT_EQ(o.category.id, "ncii");
  EXPECT_FALSE(o.category.cybertip);
  EXPECT_NE(o.category.ground.find("consent"), std::string::npos);
  o = rules->Evaluate({"image/jpeg", "", 0, {Match("gifct", "pdq", 3, 90, "csam")}});
  EXPECT_EQ(o.category.id, "terrorist_content");
  o = rules->Evaluate({"image/jpeg", "", 0, {Match("stopncii", "pdq", 3)}});
  EXPECT_EQ(o.category.id, "other");
}

TEST(Policy, ARulesFilesCategoriesReplaceTheBuiltInOnes) {
  auto rules = PolicyRules::Parse(R"(
[[category]]
id = "csam"
title = "CSAM"
ground = "Child sexual abuse material."
legal_basis = "Terms, section 4"
cybertip = true
classifications = ["a1", "B2"]
[[category]]
id = "other"
title = "Other"
ground = "Against the terms."
[[rule]]
name = "r"
category = "csam"
actions = ["hold"]
)", "r");
  ASSERT_TRUE(rules) << rules.error().ToString();
  ASSERT_EQ(rules->taxonomy().categories().size(), 2u);
  EXPECT_EQ(rules->taxonomy().Find("ncii"), nullptr);
  const Category* csam = rules->taxonomy().Find("csam");
  ASSERT_NE(csam, nullptr);
  EXPECT_EQ(csam->classifications, (std::vector<std::string>{"A1", "B2"}));
  EXPECT_EQ(*rules->taxonomy().NormalizeClassification(*csam, " b2 "), "B2");
  EXPECT_FALSE(rules->taxonomy().NormalizeClassification(*csam, "B1"));
  EXPECT_NE(rules->ToJson().find("\"categories\""), std::string::npos);
}

// The adopter trial: a CLI-made bank with a "csam" label but no category, and a rule queueing a
// report, produced a case in "other" and no report. A rule that queues a report stands for a
// reported category.
TEST(Policy, ARuleThatQueuesAReportResolvesToAReportedCategory) {
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"r\"\nbank_labels = [\"csam\"]\n"
                                  "actions = [\"block\", \"hold\", \"queue_report\"]\n", "r");
  ASSERT_TRUE(rules) << rules.error().ToString();
  const auto o = rules->Evaluate({"image/jpeg", "", 0, {Match("ncmec", "pdq", 3, 90, "")}});
  EXPECT_EQ(o.category.id, "csam");
  EXPECT_TRUE(o.category.cybertip);
}

// The adopter trial: a rule without a category that queues reports, on a StopNCII bank (category
// "ncii"), turned an intimate-image match into a CSAM case, told the user "CSAM" and marked it
// for a CyberTipline report. The bank's unreported category stands and nothing is queued; the
// same rule on a CSAM bank still queues its report.
TEST(Policy, AReportingRuleOnABankOfAnUnreportedCategoryKeepsThatCategoryAndQueuesNothing) {
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"generic\"\nactions = [\"block\", \"hold\", \"queue_report\"]\n", "r");
  ASSERT_TRUE(rules) << rules.error().ToString();
  auto o = rules->Evaluate({"image/jpeg", "", 0, {Match("ncii-list", "pdq", 3, 90, "ncii")}});
  EXPECT_EQ(o.category.id, "ncii");
  EXPECT_FALSE(o.queue_report);
  EXPECT_TRUE(o.block);
  o = rules->Evaluate({"image/jpeg", "", 0, {Match("ncmec", "pdq", 3, 90, "csam")}});
  EXPECT_EQ(o.category.id, "csam");
  EXPECT_TRUE(o.queue_report);
}

// An upload matching an unreported bank first and a reported one after: the reported category
// (and its report) wins over the first rule's.
TEST(Policy, AReportedCategoryWinsOverAnEarlierUnreportedOne) {
  auto rules = PolicyRules::Parse(R"(
[[rule]]
name = "ncii"
banks = ["stopncii"]
actions = ["block", "hold"]
[[rule]]
name = "csam"
banks = ["ncmec"]
actions = ["block", "hold", "queue_report"]
)", "r");
  ASSERT_TRUE(rules) << rules.error().ToString();
  const auto o = rules->Evaluate(
      {"image/jpeg", "", 0, {Match("stopncii", "pdq", 3, 90, "ncii"), Match("ncmec", "pdq", 5, 90, "csam")}});
  EXPECT_EQ(o.category.id, "csam");
  EXPECT_TRUE(o.queue_report);
  EXPECT_EQ(o.rules.size(), 2u);
}

// The attack pass: a rules file with a key of 60,000 dotted parts crashed the process (toml++
// recurses), and a rules reload through the API took the server down. Refused before parsing.
TEST(Policy, ARulesFileNestedTooDeepIsRefusedNotParsed) {
  std::string deep = "a";
  for (int i = 0; i < 60'000; ++i) deep += ".a";
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"x\"\nactions = [\"hold\"]\n" + deep + " = 1\n", "r");
  ASSERT_FALSE(rules);
  EXPECT_NE(rules.error().message.find("r:4: a key nested more than"), std::string::npos) << rules.error().message;
  std::string header = "[" + deep + "]\n";
  EXPECT_FALSE(PolicyRules::Parse(header, "r"));
  std::string arrays(100, '[');
  EXPECT_FALSE(PolicyRules::Parse("x = " + arrays + "\n", "r"));
  // Dots inside quoted strings are not keys.
  EXPECT_TRUE(PolicyRules::Parse("[[rule]]\nname = \"" + std::string(200, '.') + "\"\nactions = [\"hold\"]\n", "r"));
}

// The go-live trial: priority 3 was the most urgent, the reverse of the P0 convention.
TEST(Policy, PriorityZeroIsTheMostUrgentAndWinsAmongRulesThatHold) {
  auto rules = PolicyRules::Parse(R"(
[[rule]]
name = "low"
actions = ["hold"]
hold_priority = 3
[[rule]]
name = "urgent"
banks = ["a"]
actions = ["hold"]
hold_priority = 0
)", "r");
  ASSERT_TRUE(rules) << rules.error().ToString();
  EXPECT_EQ(rules->Evaluate({"image/jpeg", "", 0, {Match("a", "pdq", 0)}}).hold_priority, 0);
  EXPECT_EQ(rules->Evaluate({"image/jpeg", "", 0, {Match("b", "pdq", 0)}}).hold_priority, 3);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(Strikes, PointsByCategoryHalveEveryHalfLifeAndTheHighestThresholdReachedIsProposed) {
  auto rules = PolicyRules::Parse(R"(
[strikes]
points = { csam = 100, ncii = 20 }
default_points = 5
half_life_days = 10
[[strikes.threshold]]
points = 50
propose = "suspend"
[[strikes.threshold]]
points = 20
propose = "restrict"
)", "test.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  const auto& policy = rules->strikes();
  ASSERT_EQ(policy.thresholds.size(), 2u);
  EXPECT_EQ(policy.thresholds[0].propose, "restrict");  // sorted by points
  constexpr std::int64_t kDay = 86'400'000'000;
  const std::int64_t now = 1000 * kDay;
  // 20 (ncii, today) + 5 (other, today): 25 points, a restriction proposed.
  auto standing = ScoreStrikes(policy, {{"ncii", now}, {"other", now}}, now);
  EXPECT_DOUBLE_EQ(standing.points, 25);
  EXPECT_EQ(standing.cases, 2);
  EXPECT_EQ(standing.proposed, "restrict");
  // 100 points ten days ago (one half-life): 50, a suspension proposed; twenty days: 25.
  EXPECT_DOUBLE_EQ(ScoreStrikes(policy, {{"csam", now - 10 * kDay}}, now).points, 50);
  EXPECT_EQ(ScoreStrikes(policy, {{"csam", now - 10 * kDay}}, now).proposed, "suspend");
  EXPECT_DOUBLE_EQ(ScoreStrikes(policy, {{"csam", now - 20 * kDay}}, now).points, 25);
  EXPECT_EQ(ScoreStrikes(policy, {}, now).proposed, "");
  // GET /v1/rules shows the policy.
  const auto json = boost::json::parse(rules->ToJson());
  EXPECT_EQ(json.at("strikes").at("thresholds").as_array().size(), 2u);
  EXPECT_EQ(json.at("strikes").at("points").at("csam").as_double(), 100.0);
}

TEST(Strikes, AStrikePolicyNamingAnUnknownCategoryOrActionIsRefused) {
  auto unknown = PolicyRules::Parse("[strikes]\npoints = { nope = 1 }\n", "t.toml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("no category 'nope'"), std::string::npos) << unknown.error().message;
  auto action = PolicyRules::Parse("[strikes]\n[[strikes.threshold]]\npoints = 1\npropose = \"delete\"\n", "t.toml");
  ASSERT_FALSE(action);
  EXPECT_NE(action.error().message.find("proposes"), std::string::npos);
  EXPECT_FALSE(PolicyRules::Parse("[strikes]\nhalf_life_days = 0\n", "t.toml"));
  EXPECT_FALSE(PolicyRules::Parse("[strikes]\nbogus = 1\n", "t.toml"));
  EXPECT_FALSE(PolicyRules::Parse("[strikes]\npoints = { csam = nan }\n", "t.toml"));
  EXPECT_FALSE(PolicyRules::Parse("[strikes]\npoints = { csam = \"100\" }\n", "t.toml"));
  // A weaker action at more points, or two at the same points, is a mistake in the file.
  EXPECT_FALSE(PolicyRules::Parse("[strikes]\n[[strikes.threshold]]\npoints = 20\npropose = \"ban\"\n"
                                  "[[strikes.threshold]]\npoints = 50\npropose = \"restrict\"\n", "t.toml"));
  EXPECT_FALSE(PolicyRules::Parse("[strikes]\n[[strikes.threshold]]\npoints = 50\npropose = \"restrict\"\n"
                                  "[[strikes.threshold]]\npoints = 50\npropose = \"suspend\"\n", "t.toml"));
}

}  // namespace
}  // namespace vigil
