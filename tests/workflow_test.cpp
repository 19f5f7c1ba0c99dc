// The workflow end to end through the API of the real server: uploads that match -> rules fire ->
// a case opens -> a reviewer claims, reveals one item, decides -> the account is suspended with a
// statement of reasons -> the user appeals -> a second reviewer overturns -> the account is
// restored; the audit log verifies, and an edited or deleted audit record is found. Also the
// role rules, second reviews, claims and leases, bad input, and false-positive feedback.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "service_harness.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/file_hasher.h"
#include "vigil/image.h"
#include "vigil/store.h"

namespace vigil {
namespace {

namespace json = boost::json;
using testing::Http;
using testing::HttpJson;

constexpr const char* kRules = R"(
[[rule]]
name = "known-image"
description = "a near copy of a listed image"
banks = ["benign-list"]
signal_types = ["pdq", "md5", "sha1", "sha256"]
max_distance = 31
actions = ["block", "hold", "queue_report"]
hold_priority = 2
)";

json::value Parse(const testing::HttpReply& reply) {
  boost::system::error_code ec;
  auto v = json::parse(reply.body, ec);
  EXPECT_FALSE(ec) << reply.status << ": " << reply.body.substr(0, 300);
  return v;
}

std::string Code(const testing::HttpReply& reply) {
  auto v = Parse(reply);
  return v.is_object() && v.as_object().contains("error") ? std::string(v.at("error").at("code").as_string()) : "";
}

enum class Backend { kSqlite, kPostgres };

class WorkflowTest : public ::testing::TestWithParam<Backend> {
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
             {"platform", "submitter"}, {"alice", "reviewer"}, {"bob", "reviewer"}, {"carol", "reviewer"},
             {"audit", "auditor"}, {"root", "admin"}, {"lists", "bank-admin"}}) {
      keys_[name] = testing::CreateKey(store_flags_, role, name);
      ASSERT_FALSE(keys_[name].empty()) << name;
    }
    std::ofstream(dir_.path() / "rules.toml") << kRules;
    std::ofstream(dir_.path() / "vigil.toml") << "[workflow]\nlease_seconds = 2\n";
    std::vector<std::string> args = store_flags_;
    args.insert(args.end(), {"--no-access-log", "--rules", (dir_.path() / "rules.toml").string(), "--config",
                             (dir_.path() / "vigil.toml").string()});
    server_ = std::make_unique<testing::ServerProcess>(dir_.path() / "server", args);
    ASSERT_TRUE(server_->Start()) << server_->Log();
    port_ = server_->port();
    // A bank with one benign photo's PDQ.
    ASSERT_EQ(Call("lists", "POST", "/v1/banks", R"({"name":"benign-list","labels":["test"]})").status, 201u);
    FileHasher hasher({});
    photo_ = testing::SharedDir() / "vectors/pdq/bridge-mods/aaa-orig.jpg";
    const std::string pdq = hasher.HashFile(photo_)->pdq.hash.ToHex();
    auto imported = Http(port_, "POST", "/v1/banks/benign-list/import?format=csv", "pdq," + pdq + ",bridge,B1\n",
                         {{"Authorization", "Bearer " + keys_["lists"]}, {"Content-Type", "text/csv"}});
    ASSERT_EQ(imported.status, 200u) << imported.body;
  }

  testing::HttpReply Call(const std::string& who, const std::string& method, const std::string& target,
                          const std::string& body = {}) {
    return HttpJson(port_, method, target, keys_[who], body);
  }

  // Uploads a re-encoded copy of the listed photo as `user`.
  json::object Upload(const std::string& content_id, const std::string& user, int quality) {
    auto image = DecodeImage(testing::ReadFile(photo_), {});
    const auto bytes = testing::EncodeJpeg(*image, quality);
    auto reply = Http(port_, "POST", "/v1/content?content_id=" + content_id + "&user_id=" + user,
                      std::string(bytes.begin(), bytes.end()),
                      {{"Authorization", "Bearer " + keys_["platform"]}, {"Content-Type", "image/jpeg"}});
    EXPECT_EQ(reply.status, 201u) << reply.body;
    return Parse(reply).as_object();
  }

  std::string DbPath() const { return (dir_.path() / "data" / "vigil.db").string(); }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::vector<std::string> store_flags_;
  std::map<std::string, std::string> keys_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::uint16_t port_ = 0;
  std::filesystem::path photo_;
};

TEST_P(WorkflowTest, MatchToCaseToDecisionToAppealToRestore) {
  // Two matching uploads by one user: the rule blocks each, holds it, and one case collects both.
  auto first = Upload("upload-1", "user-9", 80);
  ASSERT_TRUE(first.contains("policy")) << json::serialize(first);
  EXPECT_EQ(first.at("policy").at("rules").as_array()[0].as_string(), "known-image");
  EXPECT_TRUE(first.at("policy").at("block").as_bool());
  const auto case_id = first.at("policy").at("case_id").as_int64();
  auto second = Upload("upload-2", "user-9", 60);
  EXPECT_EQ(second.at("policy").at("case_id").as_int64(), case_id);

  auto queue = Parse(Call("alice", "GET", "/v1/cases"));
  ASSERT_EQ(queue.at("cases").as_array().size(), 1u);
  EXPECT_EQ(queue.at("cases").as_array()[0].at("priority").as_int64(), 2);
  EXPECT_EQ(queue.at("cases").as_array()[0].at("item_count").as_int64(), 2);

  // Roles: the platform cannot decide, the auditor can read but not claim.
  EXPECT_EQ(Call("platform", "POST", "/v1/cases/" + std::to_string(case_id) + "/decision", R"({"verdict":"violating"})").status, 403u);
  EXPECT_EQ(Call("audit", "GET", "/v1/cases/" + std::to_string(case_id)).status, 200u);
  EXPECT_EQ(Call("audit", "POST", "/v1/cases/" + std::to_string(case_id) + "/claim").status, 403u);
  // Deciding without a claim is refused.
  EXPECT_EQ(Call("alice", "POST", "/v1/cases/" + std::to_string(case_id) + "/decision",
                 R"({"verdict":"violating","classification":"B1","reason":"x"})").status, 403u);

  const std::string base = "/v1/cases/" + std::to_string(case_id);
  auto claimed = Call("alice", "POST", base + "/claim");
  ASSERT_EQ(claimed.status, 200u) << claimed.body;
  EXPECT_EQ(Parse(claimed).at("assigned_to").as_string(), "alice");
  // A double claim by someone else is refused while the lease runs.
  auto double_claim = Call("bob", "POST", base + "/claim");
  EXPECT_EQ(double_claim.status, 409u);
  EXPECT_EQ(Code(double_claim), "already_exists");

  // Media: blurred preview by default; the original only on reveal, which is recorded.
  auto preview = Http(port_, "GET", base + "/media/upload-1", "", {{"Authorization", "Bearer " + keys_["alice"]}});
  ASSERT_EQ(preview.status, 200u) << preview.body;
  EXPECT_EQ(preview.headers["content-type"], "image/jpeg");
  EXPECT_EQ(preview.headers["cache-control"], "no-store");
  auto preview_image = DecodeImage(testing::Bytes(preview.body.begin(), preview.body.end()), {});
  ASSERT_TRUE(preview_image);
  EXPECT_EQ(preview_image->channels, 1u);  // grayscale
  EXPECT_LE(std::max(preview_image->width, preview_image->height), 320u);
  auto original = Http(port_, "GET", base + "/media/upload-1?variant=original", "", {{"Authorization", "Bearer " + keys_["alice"]}});
  ASSERT_EQ(original.status, 200u);
  EXPECT_EQ(original.headers["content-type"], "image/jpeg");

  auto decided = Call("alice", "POST", base + "/decision",
                      R"({"verdict":"violating","classification":"B1","reason":"the listed photo, re-encoded",)"
                      R"("account_action":"suspend","account_days":30})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  auto c = Parse(decided).as_object();
  EXPECT_EQ(c.at("status").as_string(), "decided");
  const auto& decision = c.at("decisions").as_array()[0].as_object();
  EXPECT_EQ(decision.at("reviewer").as_string(), "alice");
  // Only the item revealed counts as viewed: a legal fact, never a default.
  ASSERT_EQ(decision.at("viewed").as_array().size(), 1u);
  EXPECT_EQ(decision.at("viewed").as_array()[0].as_string(), "upload-1");
  for (const auto& item : c.at("items").as_array()) EXPECT_EQ(item.at("state").as_string(), "removed");
  // Deciding again is refused: the case is closed.
  EXPECT_EQ(Call("alice", "POST", base + "/decision", R"({"verdict":"not_violating","reason":"x"})").status, 400u);

  auto account = Parse(Call("platform", "GET", "/v1/accounts/user-9")).as_object();
  EXPECT_EQ(account.at("state").as_string(), "suspended");
  std::int64_t suspend_id = 0;
  for (const auto& a : account.at("actions").as_array()) {
    if (a.at("kind").as_string() != "suspend_account") continue;
    suspend_id = a.at("id").as_int64();
    const auto& sor = a.at("statement_of_reasons").as_object();
    EXPECT_FALSE(sor.at("automated").as_bool());
    EXPECT_FALSE(sor.at("ground").as_string().empty());
    EXPECT_NE(sor.at("facts").as_string().subview().find("B1"), std::string::npos);
    EXPECT_FALSE(sor.at("redress").as_string().empty());
  }
  ASSERT_NE(suspend_id, 0) << json::serialize(account);
  EXPECT_EQ(Call("platform", "POST", "/v1/actions/" + std::to_string(suspend_id) + "/notified").status, 204u);

  // The user appeals; the deciding reviewer cannot take it; another overturns.
  auto appeal = Call("platform", "POST", "/v1/appeals",
                     R"({"action_id":)" + std::to_string(suspend_id) + R"(,"statement":"my own holiday photo"})");
  ASSERT_EQ(appeal.status, 201u) << appeal.body;
  const auto appeal_id = Parse(appeal).at("id").as_int64();
  EXPECT_EQ(Parse(appeal).at("original_decider").as_string(), "alice");
  EXPECT_EQ(Call("platform", "POST", "/v1/appeals", R"({"action_id":)" + std::to_string(suspend_id) + "}").status, 409u);
  const std::string appeal_base = "/v1/appeals/" + std::to_string(appeal_id);
  auto own = Call("alice", "POST", appeal_base + "/claim");
  EXPECT_EQ(own.status, 403u);
  EXPECT_EQ(Code(own), "permission_denied");
  ASSERT_EQ(Call("bob", "POST", appeal_base + "/claim").status, 200u);
  EXPECT_EQ(Call("carol", "POST", appeal_base + "/decision", R"({"outcome":"overturned","reason":"x"})").status, 403u);
  auto overturned = Call("bob", "POST", appeal_base + "/decision", R"({"outcome":"overturned","reason":"benign on closer review"})");
  ASSERT_EQ(overturned.status, 200u) << overturned.body;
  EXPECT_EQ(Parse(overturned).at("status").as_string(), "overturned");
  account = Parse(Call("platform", "GET", "/v1/accounts/user-9")).as_object();
  EXPECT_EQ(account.at("state").as_string(), "active");
  EXPECT_EQ(account.at("actions").as_array().back().at("kind").as_string(), "restore_account");

  // Admins see overturn rates.
  auto reviewers = Parse(Call("root", "GET", "/v1/reviewers"));
  bool saw_alice = false;
  for (const auto& r : reviewers.at("reviewers").as_array()) {
    if (r.at("reviewer").as_string() == "alice") {
      saw_alice = true;
      EXPECT_EQ(r.at("overturned").as_int64(), 1);
      EXPECT_DOUBLE_EQ(r.at("overturn_rate").to_number<double>(), 1.0);
    }
  }
  EXPECT_TRUE(saw_alice);

  // The audit chain verifies, through the API and the CLI.
  auto verified = Parse(Call("audit", "GET", "/v1/audit/verify"));
  EXPECT_TRUE(verified.at("ok").as_bool()) << json::serialize(verified);
  EXPECT_GT(verified.at("records").as_int64(), 10);
  std::vector<std::string> verify{"audit", "verify"};
  verify.insert(verify.end(), store_flags_.begin(), store_flags_.end());
  auto cli = testing::RunVigil(verify);
  EXPECT_EQ(cli.status, 0) << cli.out << cli.err;

  if (GetParam() != Backend::kSqlite) return;
  // Tamper with the stored log: an edited record, then a deleted one, are each found and named.
  ASSERT_EQ(server_->Terminate(), 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE audit_log SET detail = 'nothing to see' WHERE id = 5", nullptr, nullptr, nullptr), SQLITE_OK);
  cli = testing::RunVigil(verify);
  EXPECT_EQ(cli.status, 1);
  EXPECT_NE(cli.out.find("record 5: its contents do not match its hash (edited)"), std::string::npos) << cli.out;
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM audit_log WHERE id = 8", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  cli = testing::RunVigil(verify);
  EXPECT_EQ(cli.status, 1);
  EXPECT_NE(cli.out.find("record 9: does not follow record 7"), std::string::npos) << cli.out;
}

// A case that needs a second review: the first violating decision waits; the same reviewer cannot
// give the second; a different one does, and only then is anything enforced. A lease that ran
// out stops a decision; a not-violating decision undoes the automatic block.
TEST_P(WorkflowTest, SecondReviewLeasesAndFalsePositives) {
  auto first = Upload("upload-a", "user-5", 85);
  const auto case_id = first.at("policy").at("case_id").as_int64();
  const std::string base = "/v1/cases/" + std::to_string(case_id);
  ASSERT_EQ(Call("alice", "POST", base + "/claim").status, 200u);
  // A ban always needs a second review.
  auto decided = Call("alice", "POST", base + "/decision",
                      R"({"verdict":"violating","classification":"B1","reason":"listed","account_action":"ban"})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  EXPECT_EQ(Parse(decided).at("status").as_string(), "open");
  EXPECT_EQ(Parse(Call("platform", "GET", "/v1/accounts/user-5")).at("state").as_string(), "active");
  auto same = Call("alice", "POST", base + "/claim");
  EXPECT_EQ(same.status, 403u) << same.body;
  ASSERT_EQ(Call("bob", "POST", base + "/claim").status, 200u);
  // The lease (2 s in this test's config) runs out: the decision is refused until claimed again.
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  auto stale = Call("bob", "POST", base + "/decision", R"({"verdict":"violating","classification":"B1","reason":"agree","account_action":"ban"})");
  EXPECT_EQ(stale.status, 403u);
  EXPECT_NE(stale.body.find("expired"), std::string::npos) << stale.body;
  ASSERT_EQ(Call("bob", "POST", base + "/claim").status, 200u);
  auto second = Call("bob", "POST", base + "/decision", R"({"verdict":"violating","classification":"B1","reason":"agree","account_action":"ban"})");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(Parse(second).at("status").as_string(), "decided");
  EXPECT_EQ(Parse(Call("platform", "GET", "/v1/accounts/user-5")).at("state").as_string(), "banned");

  // Bad decisions: unknown fields, no reason, an account action on a clean verdict.
  auto other = Upload("upload-b", "user-6", 70);
  const std::string other_base = "/v1/cases/" + std::to_string(other.at("policy").at("case_id").as_int64());
  ASSERT_EQ(Call("carol", "POST", other_base + "/claim").status, 200u);
  EXPECT_EQ(Call("carol", "POST", other_base + "/decision", R"({"verdict":"violating","colour":"red"})").status, 400u);
  EXPECT_EQ(Call("carol", "POST", other_base + "/decision", R"({"verdict":"not_violating"})").status, 400u);
  EXPECT_EQ(Call("carol", "POST", other_base + "/decision", R"({"verdict":"not_violating","reason":"x","account_action":"ban"})").status,
            400u);
  EXPECT_EQ(Call("carol", "POST", other_base + "/decision", R"({"verdict":"maybe","reason":"x"})").status, 400u);
  EXPECT_EQ(Call("carol", "POST", "/v1/cases/99999/claim").status, 404u);
  // Not violating: the automatic block is undone.
  auto clean = Call("carol", "POST", other_base + "/decision", R"({"verdict":"not_violating","reason":"a different bridge"})");
  ASSERT_EQ(clean.status, 200u) << clean.body;
  EXPECT_EQ(Parse(clean).at("items").as_array()[0].at("state").as_string(), "restored");
  // The match was wrong: the entry stops matching here and the list owner gets feedback.
  const auto entry_id = other.at("matches").as_array()[0].at("entry_id").as_int64();
  EXPECT_EQ(Call("carol", "POST", "/v1/entries/" + std::to_string(entry_id) + "/disable", R"({"reason":"false positive: a different bridge"})").status,
            204u);
  auto feedback = Http(port_, "GET", "/v1/feedback?format=csv", "", {{"Authorization", "Bearer " + keys_["lists"]}});
  EXPECT_NE(feedback.body.find("a different bridge"), std::string::npos) << feedback.body;
  auto after = Upload("upload-c", "user-7", 80);
  EXPECT_TRUE(after.at("matches").as_array().empty()) << json::serialize(after);
  EXPECT_FALSE(after.contains("policy"));
  EXPECT_TRUE(Parse(Call("audit", "GET", "/v1/audit/verify")).at("ok").as_bool());
  // The rules are readable, and a reload of a broken file keeps the old ones.
  EXPECT_NE(Call("alice", "GET", "/v1/rules").body.find("known-image"), std::string::npos);
  std::ofstream(dir_.path() / "rules.toml") << "[[rule]]\nname = \"x\"\nactions = [\"explode\"]\n";
  auto reload = Call("root", "POST", "/v1/rules/reload");
  EXPECT_EQ(reload.status, 400u);
  EXPECT_NE(reload.body.find("explode"), std::string::npos);
  EXPECT_NE(Call("alice", "GET", "/v1/rules").body.find("known-image"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, WorkflowTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace vigil
