// Review teams against the real `vigil serve`, on SQLite and PostgreSQL: cases routed to named
// queues (NCII specialists, the general queue) and seen, claimed, revealed and decided only by the
// reviewers who work that queue; claiming the next case of a queue; per-queue counts and metrics;
// the organisation's reveal limit that a reviewer may lower and never raise, and the break the
// server enforces whatever the client does; exposure figures for managers; an appeal's reviewer
// revealing the media of the case appealed; the history of decided cases and appeals, searched by
// user and upload.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "service_harness.h"
#include "test_images.h"
#include "test_postgres.h"
#include "util/iso_time.h"
#include "vigil/file_hasher.h"

namespace vigil {
namespace {

namespace json = boost::json;
using testing::Http;
using testing::HttpJson;

constexpr const char* kRules = R"toml(
[[rule]]
name = "listed"
banks = ["intimate", "other-list"]
actions = ["block", "hold"]

[[queue]]
name = "ncii"
title = "Intimate images (NCII specialists)"
categories = ["ncii"]
sla_hours = 6
)toml";

json::value Parse(const testing::HttpReply& reply) {
  boost::system::error_code ec;
  auto v = json::parse(reply.body, ec);
  EXPECT_FALSE(ec) << reply.status << ": " << reply.body.substr(0, 300);
  return v;
}

enum class Backend { kSqlite, kPostgres };

class ReviewTeamsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      postgres_.Create();
      if (IsSkipped() || HasFatalFailure()) return;
      store_flags_ = {"--database-url", postgres_.url(), "--data-dir", (dir_.path() / "data").string()};
    } else {
      store_flags_ = {"--data-dir", (dir_.path() / "data").string()};
    }
    for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{
             {"platform", "submitter"}, {"nadia", "reviewer"}, {"nick", "reviewer"}, {"gus", "reviewer"},
             {"audit", "auditor"}, {"root", "admin"}, {"lists", "bank-admin"}}) {
      keys_[name] = testing::CreateKey(store_flags_, role, name);
      ASSERT_FALSE(keys_[name].empty()) << name;
    }
    std::ofstream(dir_.path() / "rules.toml") << kRules;
    std::ofstream(dir_.path() / "vigil.toml") << "[workflow]\nown_bank = \"\"\n[wellness]\nreveal_limit = 3\nbreak_minutes = 5\n";
    std::vector<std::string> args = store_flags_;
    args.insert(args.end(), {"--no-access-log", "--rules", (dir_.path() / "rules.toml").string(), "--config",
                             (dir_.path() / "vigil.toml").string()});
    server_ = std::make_unique<testing::ServerProcess>(dir_.path() / "server", args);
    ASSERT_TRUE(server_->Start()) << server_->Log();
    port_ = server_->port();
    FileHasher hasher({});
    photo_ = testing::TestDataDir() / "vectors/pdq/bridge-mods/aaa-orig.jpg";
    other_ = testing::TestDataDir() / "vectors/pdq/misc-images/c.png";
    for (const auto& [bank, category, path] : std::vector<std::tuple<std::string, std::string, std::filesystem::path>>{
             {"intimate", "ncii", photo_}, {"other-list", "other", other_}}) {
      ASSERT_EQ(Call("lists", "POST", "/v1/banks", R"({"name":")" + bank + R"(","category":")" + category + R"("})").status, 201u);
      const std::string pdq = hasher.HashFile(path)->pdq.hash.ToHex();
      auto imported = Http(port_, "POST", "/v1/banks/" + bank + "/import?format=csv", "pdq," + pdq + "\n",
                           {{"Authorization", "Bearer " + keys_["lists"]}, {"Content-Type", "text/csv"}});
      ASSERT_EQ(imported.status, 200u) << imported.body;
    }
    ASSERT_EQ(Call("root", "PUT", "/v1/queues/ncii/members/nadia").status, 200u);
    ASSERT_EQ(Call("root", "PUT", "/v1/queues/ncii/members/nick").status, 200u);
  }

  testing::HttpReply Call(const std::string& who, const std::string& method, const std::string& target,
                          const std::string& body = {}) {
    return HttpJson(port_, method, target, keys_[who], body);
  }

  // Uploads the listed intimate-image stand-in (or the other list's) as `user`; the case id. The
  // answer names the queue the case is in.
  std::int64_t Upload(const std::string& content_id, const std::string& user, bool intimate = true) {
    const auto bytes = testing::ReadFile(intimate ? photo_ : other_);
    auto reply = Http(port_, "POST", "/v1/content?content_id=" + content_id + "&user_id=" + user,
                      std::string(bytes.begin(), bytes.end()),
                      {{"Authorization", "Bearer " + keys_["platform"]},
                       {"Content-Type", intimate ? "image/jpeg" : "image/png"}});
    EXPECT_EQ(reply.status, 201u) << reply.body;
    auto v = Parse(reply);
    const auto case_id = v.at("policy").at("case_id").as_int64();
    const auto listed = Parse(Call("root", "GET", "/v1/cases/" + std::to_string(case_id)));
    EXPECT_EQ(json::serialize(v.at("policy").at("queue")), json::serialize(listed.at("queue"))) << reply.body;
    EXPECT_EQ(v.at("policy").at("queue").as_string(), intimate ? "ncii" : "general") << reply.body;
    return case_id;
  }

  testing::HttpReply Media(const std::string& who, std::int64_t case_id, const std::string& content_id,
                           const std::string& extra = "") {
    return Http(port_, "GET", "/v1/cases/" + std::to_string(case_id) + "/media/" + content_id + "?variant=original" + extra,
                "", {{"Authorization", "Bearer " + keys_[who]}});
  }

  std::vector<std::int64_t> ListedCases(const std::string& who, const std::string& query = "") {
    auto reply = Call(who, "GET", "/v1/cases" + query);
    EXPECT_EQ(reply.status, 200u) << reply.body;
    std::vector<std::int64_t> ids;
    const auto listed = Parse(reply);
    for (const auto& c : listed.at("cases").as_array()) ids.push_back(c.at("id").as_int64());
    return ids;
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::vector<std::string> store_flags_;
  std::map<std::string, std::string> keys_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::uint16_t port_ = 0;
  std::filesystem::path photo_, other_;
};

TEST_P(ReviewTeamsTest, RoutingSendsAnNciiCaseOnlyToItsQueuesReviewers) {
  const auto ncii = Upload("ncii-1", "user-n");
  const auto general = Upload("other-1", "user-g", false);
  const std::string base = "/v1/cases/" + std::to_string(ncii);
  auto c = Parse(Call("nadia", "GET", base));
  EXPECT_EQ(c.at("queue").as_string(), "ncii");

  // A reviewer outside the queue: not listed, not readable, not claimable, no media, no decision.
  EXPECT_EQ(ListedCases("gus"), std::vector<std::int64_t>{general});
  EXPECT_EQ(Call("gus", "GET", base).status, 404u);
  EXPECT_EQ(Call("gus", "POST", base + "/claim").status, 404u);
  EXPECT_EQ(Media("gus", ncii, "ncii-1").status, 404u);
  EXPECT_EQ(Call("gus", "POST", base + "/decision", R"({"verdict":"not_violating","reason":"x"})").status, 404u);
  EXPECT_EQ(Call("gus", "POST", "/v1/queues/ncii/next").status, 404u);
  EXPECT_EQ(Call("gus", "GET", "/v1/cases?queue=ncii").body.find("ncii-1"), std::string::npos);

  // Its members see both queues' cases and claim the NCII one from their queue.
  auto seen = ListedCases("nadia");
  EXPECT_EQ(seen.size(), 2u);
  auto next = Call("nadia", "POST", "/v1/queues/ncii/next");
  ASSERT_EQ(next.status, 200u) << next.body;
  EXPECT_EQ(Parse(next).at("id").as_int64(), ncii);
  EXPECT_EQ(Parse(next).at("assigned_to").as_string(), "nadia");
  // Held by nadia: nothing left in the queue for nick.
  EXPECT_EQ(Call("nick", "POST", "/v1/queues/ncii/next").status, 404u);
  // Auditors read every queue.
  EXPECT_EQ(Call("audit", "GET", base).status, 200u);

  // The queue's SLA (6 hours) is shorter than the priority's: the case is due by it.
  auto times = Parse(Call("nadia", "GET", base));
  const auto due = ParseIsoTime(std::string(times.at("sla_due").as_string()));
  const auto created = ParseIsoTime(std::string(times.at("created_at").as_string()));
  ASSERT_TRUE(due && created);
  EXPECT_LE(*due - *created, std::int64_t{6} * 3600 * 1'000'000 + 1'000'000);

  // Counts per queue, and metrics per queue.
  auto queues = Parse(Call("root", "GET", "/v1/queues")).at("queues").as_array();
  ASSERT_EQ(queues.size(), 2u);
  EXPECT_EQ(queues[0].at("name").as_string(), "ncii");
  EXPECT_EQ(queues[0].at("in_review").as_int64(), 1);
  EXPECT_EQ(queues[0].at("members").as_array().size(), 2u);
  EXPECT_EQ(queues[1].at("name").as_string(), "general");
  EXPECT_EQ(queues[1].at("open").as_int64(), 1);
  auto gus_queues = Parse(Call("gus", "GET", "/v1/queues")).at("queues").as_array();
  ASSERT_EQ(gus_queues.size(), 1u) << "a reviewer sees the queues they work";
  const auto metrics = Call("audit", "GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(vigil_queue_cases{queue="ncii",status="in_review"} 1)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(vigil_queue_cases{queue="general",status="open"} 1)"), std::string::npos);

  // A user report of an intimate image is routed there too, by its category.
  const auto bytes = testing::ReadFile(testing::TestDataDir() / "vectors/pdq/reg-test-input/labelme-subset/q0122.jpg");
  ASSERT_EQ(Http(port_, "POST", "/v1/content?content_id=plain-1&user_id=user-r", std::string(bytes.begin(), bytes.end()),
                 {{"Authorization", "Bearer " + keys_["platform"]}, {"Content-Type", "image/jpeg"}})
                .status,
            201u);
  auto reported = Call("platform", "POST", "/v1/user-reports",
                       R"({"content_id":"plain-1","reporter":"u-77","reason":"posted without my consent","category":"ncii"})");
  ASSERT_EQ(reported.status, 201u) << reported.body;
  const auto report_case = Parse(reported).at("case_id").as_int64();
  EXPECT_EQ(Parse(Call("nick", "GET", "/v1/cases/" + std::to_string(report_case))).at("queue").as_string(), "ncii");
  EXPECT_EQ(Call("gus", "GET", "/v1/cases/" + std::to_string(report_case)).status, 404u);

  // A misrouted case is moved by a reviewer of its queue, with a reason; the claim goes with it.
  auto moved = Call("nadia", "POST", base + "/queue", R"({"queue":"general","reason":"not an intimate image"})");
  ASSERT_EQ(moved.status, 200u) << moved.body;
  EXPECT_EQ(Parse(moved).at("queue").as_string(), "general");
  EXPECT_EQ(Parse(moved).at("assigned_to").as_string(), "");
  EXPECT_EQ(Call("gus", "GET", base).status, 200u);
  EXPECT_NE(Call("audit", "GET", "/v1/audit?limit=50").body.find("not an intimate image"), std::string::npos);
  // Membership is the admin's to give.
  EXPECT_EQ(Call("nadia", "PUT", "/v1/queues/ncii/members/gus").status, 403u);
  EXPECT_EQ(Call("root", "PUT", "/v1/queues/ncii/members/audit").status, 404u) << "only reviewer keys work queues";
  EXPECT_EQ(Call("root", "PUT", "/v1/queues/nope/members/gus").status, 404u);
}

TEST_P(ReviewTeamsTest, AReviewerCannotRaiseTheOrganisationsRevealLimit) {
  auto me = Parse(Call("nadia", "GET", "/v1/me/wellness"));
  EXPECT_EQ(me.at("reveal_limit").as_int64(), 3);
  auto raised = Call("nadia", "PUT", "/v1/me/wellness", R"({"reveal_limit": 10})");
  EXPECT_EQ(raised.status, 400u) << raised.body;
  auto lowered = Call("nadia", "PUT", "/v1/me/wellness", R"({"reveal_limit": 2})");
  ASSERT_EQ(lowered.status, 200u) << lowered.body;
  EXPECT_EQ(Parse(lowered).at("reveal_limit").as_int64(), 2);
  // Back up to the organisation's, never past it.
  EXPECT_EQ(Call("nadia", "PUT", "/v1/me/wellness", R"({"reveal_limit": 3})").status, 200u);
  // A manager lowers it for one reviewer; the reviewer cannot undo that.
  EXPECT_EQ(Call("root", "PUT", "/v1/reviewers/nick/wellness", R"({"reveal_limit": 4})").status, 400u);
  ASSERT_EQ(Call("root", "PUT", "/v1/reviewers/nick/wellness", R"({"reveal_limit": 1})").status, 200u);
  EXPECT_EQ(Call("nick", "PUT", "/v1/me/wellness", R"({"reveal_limit": 2})").status, 400u);
  EXPECT_EQ(Parse(Call("nick", "GET", "/v1/me/wellness")).at("reveal_limit").as_int64(), 1);
  EXPECT_EQ(Call("nick", "PUT", "/v1/reviewers/nadia/wellness", R"({"reveal_limit": 1})").status, 403u);
}

TEST_P(ReviewTeamsTest, TheServerEnforcesTheBreakWhateverTheClientDoes) {
  const auto id = Upload("ncii-1", "user-n");
  Upload("ncii-2", "user-n");
  ASSERT_EQ(Call("nadia", "POST", "/v1/cases/" + std::to_string(id) + "/claim").status, 200u);
  for (int i = 0; i < 3; ++i) {
    auto shown = Media("nadia", id, i % 2 ? "ncii-2" : "ncii-1");
    ASSERT_EQ(shown.status, 200u) << shown.body;
  }
  // The fourth original is refused, the break starts, and asking again changes nothing.
  for (int i = 0; i < 2; ++i) {
    auto refused = Media("nadia", id, "ncii-1");
    ASSERT_EQ(refused.status, 429u) << refused.body;
    EXPECT_EQ(Parse(refused).at("error").at("code").as_string(), "break_required");
    EXPECT_FALSE(refused.headers["retry-after"].empty());
    EXPECT_GT(std::stoi(refused.headers["retry-after"]), 200);
  }
  auto me = Parse(Call("nadia", "GET", "/v1/me/wellness"));
  EXPECT_TRUE(me.at("on_break").as_bool());
  EXPECT_EQ(me.at("remaining").as_int64(), 0);
  // Blurred previews stay available during a break; originals do not.
  EXPECT_EQ(Http(port_, "GET", "/v1/cases/" + std::to_string(id) + "/media/ncii-1", "",
                 {{"Authorization", "Bearer " + keys_["nadia"]}}).status, 200u);
  // Only what was shown counts as viewed.
  auto c = Parse(Call("nadia", "POST", "/v1/cases/" + std::to_string(id) + "/decision",
                      R"({"verdict":"violating","reason":"listed intimate image"})"));
  EXPECT_EQ(c.at("decisions").as_array()[0].at("viewed").as_array().size(), 2u);
  ASSERT_EQ(Call("nadia", "POST", "/v1/me/cover").status, 204u);

  // The manager's figures: three reveals in one case, one forced break, minutes on screen.
  auto exposure = Call("root", "GET", "/v1/wellness/exposure");
  ASSERT_EQ(exposure.status, 200u) << exposure.body;
  auto reviewers = Parse(exposure).at("reviewers").as_array();
  ASSERT_EQ(reviewers.size(), 1u) << exposure.body;
  EXPECT_EQ(reviewers[0].at("reviewer").as_string(), "nadia");
  EXPECT_EQ(reviewers[0].at("reveals").as_int64(), 3);
  EXPECT_EQ(reviewers[0].at("cases").as_int64(), 1);
  EXPECT_EQ(reviewers[0].at("forced_breaks").as_int64(), 1);
  EXPECT_LT(reviewers[0].at("exposure_minutes").to_number<double>(), 1.0) << "covered by the break at once";
  EXPECT_EQ(Call("nadia", "GET", "/v1/wellness/exposure").status, 403u) << "managers' figures, not reviewers'";
}

TEST_P(ReviewTeamsTest, AnAppealReviewerRevealsTheCaseAppealedOnlyWhileHoldingTheAppeal) {
  const auto id = Upload("ncii-1", "user-a");
  const std::string base = "/v1/cases/" + std::to_string(id);
  ASSERT_EQ(Call("nadia", "POST", base + "/claim").status, 200u);
  ASSERT_EQ(Call("nadia", "POST", base + "/decision", R"({"verdict":"violating","reason":"listed intimate image"})").status, 200u);
  auto account = Parse(Call("platform", "GET", "/v1/accounts/user-a"));
  std::int64_t action = 0;
  for (const auto& a : account.at("actions").as_array()) {
    if (a.at("kind").as_string() == "remove_content") action = a.at("id").as_int64();
  }
  ASSERT_NE(action, 0) << json::serialize(account);
  auto appeal = Call("platform", "POST", "/v1/appeals", R"({"action_id":)" + std::to_string(action) + R"(,"statement":"it is me, I posted it"})");
  ASSERT_EQ(appeal.status, 201u) << appeal.body;
  const auto appeal_id = Parse(appeal).at("id").as_int64();
  const std::string with_appeal = "&appeal=" + std::to_string(appeal_id);
  EXPECT_EQ(Media("nick", id, "ncii-1", with_appeal).status, 403u) << "claim the appeal first";
  EXPECT_EQ(Call("gus", "GET", "/v1/appeals/" + std::to_string(appeal_id)).status, 404u) << "the NCII queue's appeal";
  ASSERT_EQ(Call("nick", "POST", "/v1/appeals/" + std::to_string(appeal_id) + "/claim").status, 200u);
  auto shown = Media("nick", id, "ncii-1", with_appeal);
  EXPECT_EQ(shown.status, 200u) << shown.body;
  EXPECT_EQ(Media("nick", id, "ncii-1").status, 403u) << "without the appeal, the decided case is nobody's to claim";
  ASSERT_EQ(Call("nick", "POST", "/v1/appeals/" + std::to_string(appeal_id) + "/decision",
                 R"({"outcome":"upheld","reason":"the listed image"})").status, 200u);
  EXPECT_EQ(Media("nick", id, "ncii-1", with_appeal).status, 403u) << "a decided appeal reveals nothing more";

  // The history: decided cases and appeals, by user and by upload.
  Upload("other-1", "user-b", false);
  EXPECT_EQ(ListedCases("audit", "?status=decided&user_id=user-a"), std::vector<std::int64_t>{id});
  EXPECT_EQ(ListedCases("audit", "?status=decided,closed&content_id=ncii-1"), std::vector<std::int64_t>{id});
  EXPECT_TRUE(ListedCases("audit", "?status=decided&user_id=user-b").empty());
  auto decided = Parse(Call("nadia", "GET", "/v1/appeals?status=decided&content_id=ncii-1")).at("appeals").as_array();
  ASSERT_EQ(decided.size(), 1u);
  EXPECT_EQ(decided[0].at("status").as_string(), "upheld");
  EXPECT_TRUE(Parse(Call("nadia", "GET", "/v1/appeals?status=decided&user_id=user-b")).at("appeals").as_array().empty());
  EXPECT_TRUE(Parse(Call("gus", "GET", "/v1/appeals?status=decided")).at("appeals").as_array().empty());
}

TEST_P(ReviewTeamsTest, AReviewerOutsideAQueueLearnsNothingOfItsUploadsThroughOtherRoutes) {
  const auto id = Upload("ncii-1", "user-n");
  const std::string base = "/v1/cases/" + std::to_string(id);
  ASSERT_EQ(Call("nadia", "POST", base + "/claim").status, 200u);
  ASSERT_EQ(Call("nadia", "POST", base + "/decision", R"({"verdict":"violating","reason":"SECRET-NOTE of the NCII team"})").status, 200u);
  EXPECT_EQ(Call("nadia", "GET", "/v1/content/ncii-1").status, 200u);
  EXPECT_EQ(Call("gus", "GET", "/v1/content/ncii-1").status, 404u) << "the upload's case, bank and entries";
  auto account = Call("gus", "GET", "/v1/accounts/user-n");
  ASSERT_EQ(account.status, 200u);
  EXPECT_EQ(account.body.find("SECRET-NOTE"), std::string::npos) << account.body;
  EXPECT_NE(Call("nadia", "GET", "/v1/accounts/user-n").body.find("SECRET-NOTE"), std::string::npos);
  // An escalation by an outsider neither joins nor speeds the other team's case.
  const auto open = Upload("ncii-2", "user-n");
  auto escalated = Call("gus", "POST", "/v1/user-reports", R"({"content_id":"ncii-2","source":"escalation","priority":0})");
  EXPECT_EQ(escalated.status, 404u) << escalated.body;
  EXPECT_EQ(Parse(Call("nadia", "GET", "/v1/cases/" + std::to_string(open))).at("priority").as_int64(), 2);
}

TEST_P(ReviewTeamsTest, ACaseInAQueueTheRulesNoLongerDeclareIsNobodysUntilAnAdminMovesIt) {
  const auto id = Upload("ncii-1", "user-n");
  const std::string base = "/v1/cases/" + std::to_string(id);
  std::string rules = kRules;
  rules = rules.substr(0, rules.find("[[queue]]"));
  std::ofstream(dir_.path() / "rules.toml") << rules;
  auto reloaded = Call("root", "POST", "/v1/rules/reload");
  ASSERT_EQ(reloaded.status, 200u) << reloaded.body;
  EXPECT_NE(reloaded.body.find("no longer declare"), std::string::npos) << reloaded.body;
  // Failing closed: not opened to every reviewer, not even to its former members.
  EXPECT_EQ(Call("gus", "GET", base).status, 404u);
  EXPECT_EQ(Call("nadia", "GET", base).status, 404u);
  auto queues = Parse(Call("root", "GET", "/v1/queues")).at("queues").as_array();
  ASSERT_EQ(queues.size(), 2u);
  EXPECT_EQ(queues[1].at("name").as_string(), "ncii");
  EXPECT_FALSE(queues[1].at("declared").as_bool());
  ASSERT_EQ(Call("root", "POST", base + "/queue", R"({"queue":"general","reason":"the NCII queue was retired"})").status, 200u);
  EXPECT_EQ(Call("gus", "GET", base).status, 200u);
}

TEST_P(ReviewTeamsTest, AMovedCaseIsDueByItsNewQueuesSlaAndAClaimedOneIsItsHoldersToMove) {
  const auto id = Upload("other-1", "user-g", false);
  const std::string base = "/v1/cases/" + std::to_string(id);
  ASSERT_EQ(Call("gus", "POST", base + "/claim").status, 200u);
  auto taken = Call("nadia", "POST", base + "/queue", R"({"queue":"ncii","reason":"mine now"})");
  EXPECT_EQ(taken.status, 409u) << taken.body;
  EXPECT_EQ(Call("nadia", "POST", base + "/queue", R"({"queue":"ncii","reason":"   "})").status, 400u);
  auto moved = Call("gus", "POST", base + "/queue", R"({"queue":"ncii","reason":"an intimate image"})");
  ASSERT_EQ(moved.status, 200u) << moved.body;
  auto c = Parse(Call("nadia", "GET", base));
  const auto due = ParseIsoTime(std::string(c.at("sla_due").as_string()));
  const auto created = ParseIsoTime(std::string(c.at("created_at").as_string()));
  ASSERT_TRUE(due && created);
  EXPECT_LE(*due - *created, std::int64_t{6} * 3600 * 1'000'000 + 1'000'000) << "the NCII queue's 6 hours";
}

TEST_P(ReviewTeamsTest, AViewRecordedByHandCountsAgainstTheRevealLimit) {
  const auto id = Upload("ncii-1", "user-n");
  ASSERT_EQ(Call("nadia", "POST", "/v1/cases/" + std::to_string(id) + "/claim").status, 200u);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Media("nadia", id, "ncii-1").status, 200u);
  auto view = Call("nadia", "POST", "/v1/cases/" + std::to_string(id) + "/views", R"({"content_id":"ncii-1"})");
  EXPECT_EQ(view.status, 429u) << view.body;
  EXPECT_EQ(view.body.find("until 1"), std::string::npos) << "times in words, not microseconds: " << view.body;
}

TEST_P(ReviewTeamsTest, NextPassesOverACaseWaitingForTheCallersSecondReview) {
  const auto id = Upload("ncii-1", "user-n");
  ASSERT_EQ(Call("nadia", "POST", "/v1/queues/ncii/next").status, 200u);
  // A ban needs a second reviewer: the case waits, marked, for someone other than nadia.
  auto first = Call("nadia", "POST", "/v1/cases/" + std::to_string(id) + "/decision",
                    R"({"verdict":"violating","reason":"listed","account_action":"ban"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_TRUE(Parse(first).at("awaiting_second_review").as_bool()) << first.body;
  auto again = Call("nadia", "POST", "/v1/queues/ncii/next");
  EXPECT_EQ(again.status, 404u) << "passed over, not refused: " << again.body;
  auto second = Call("nick", "POST", "/v1/queues/ncii/next");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(Parse(second).at("id").as_int64(), id);
}

TEST_P(ReviewTeamsTest, ARevokedReviewerNoLongerCountsAsAMemberOfTheirQueues) {
  auto members = [&] {
    auto reply = Call("root", "GET", "/v1/queues");
    EXPECT_EQ(reply.status, 200u) << reply.body;
    const auto listed = Parse(reply);
    for (const auto& q : listed.at("queues").as_array()) {
      if (q.at("name").as_string() == "ncii") return json::serialize(q.at("members"));
    }
    return std::string();
  };
  EXPECT_EQ(members(), R"(["nadia","nick"])");
  ASSERT_EQ(Call("root", "DELETE", "/v1/keys/nick").status, 204u);
  EXPECT_EQ(members(), R"(["nadia"])");
  bool audited = false;
  const auto audit = Parse(Call("audit", "GET", "/v1/audit?limit=20"));
  for (const auto& r : audit.at("audit").as_array()) {
    audited = audited || (r.at("action").as_string() == "key.revoke" && r.at("target").as_string() == "nick" &&
                          std::string(r.at("detail").as_string()).find("ncii") != std::string::npos);
  }
  EXPECT_TRUE(audited) << "the revocation says which queues the reviewer left";
}

INSTANTIATE_TEST_SUITE_P(Backends, ReviewTeamsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace vigil
