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
#include "test_tls.h"
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

// kSqliteTls: the same on SQLite, every request over TLS ([tls] with a certificate made here).
enum class Backend { kSqlite, kPostgres, kSqliteTls };

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
    // These tests follow one list's entries through decisions; the own banks (on by default: a
    // confirmed file would match its re-encodings here) and sweeps have tests of their own.
    std::ofstream config(dir_.path() / "vigil.toml");
    config << "[workflow]\nlease_seconds = 2\nown_bank = \"\"\n";
    if (GetParam() == Backend::kSqliteTls) {
      config << testing::WriteTlsTable(dir_.path(), "vigil.test");
      testing::UseTls(true);
    }
    config.close();
    std::vector<std::string> args = store_flags_;
    args.insert(args.end(), {"--no-access-log", "--rules", (dir_.path() / "rules.toml").string(), "--config",
                             (dir_.path() / "vigil.toml").string()});
    server_ = std::make_unique<testing::ServerProcess>(dir_.path() / "server", args);
    ASSERT_TRUE(server_->Start()) << server_->Log();
    port_ = server_->port();
    if (GetParam() == Backend::kSqliteTls) {
      // Really TLS: plain HTTP gets no answer, and TLS answers carry HSTS.
      testing::UseTls(false);
      ASSERT_EQ(Http(port_, "GET", "/healthz").status, 0u);
      testing::UseTls(true);
      ASSERT_EQ(Http(port_, "GET", "/healthz").headers["strict-transport-security"], "max-age=31536000");
    }
    // A bank with one benign photo's PDQ.
    ASSERT_EQ(Call("lists", "POST", "/v1/banks", R"({"name":"benign-list","labels":["test"],"category":"csam"})").status,
              201u);
    FileHasher hasher({});
    photo_ = testing::TestDataDir() / "vectors/pdq/bridge-mods/aaa-orig.jpg";
    const std::string pdq = hasher.HashFile(photo_)->pdq.hash.ToHex();
    auto imported = Http(port_, "POST", "/v1/banks/benign-list/import?format=csv", "pdq," + pdq + ",bridge,B1\n",
                         {{"Authorization", "Bearer " + keys_["lists"]}, {"Content-Type", "text/csv"}});
    ASSERT_EQ(imported.status, 200u) << imported.body;
  }

  void TearDown() override { testing::UseTls(false); }

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
  // This server has no [reporter] config: the CSAM decision's report cannot be drafted. That is
  // said where people look (the case, the metrics), not in one log line.
  EXPECT_NE(c.at("report_problem").as_string().subview().find("reporter config"), std::string::npos)
      << json::serialize(c);
  EXPECT_NE(Call("audit", "GET", "/metrics").body.find(R"(vigil_reporting_attention{reason="unreportable_case"} 1)"),
            std::string::npos);
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
    EXPECT_EQ(sor.at("category").as_string(), "csam");
    EXPECT_NE(sor.at("ground").as_string().subview().find("Child sexual abuse material"), std::string::npos);
    EXPECT_FALSE(sor.at("legal_basis").as_string().empty());
    // What the user is told carries no list names, entry ids or the reviewer's own note.
    EXPECT_EQ(sor.at("facts").as_string().subview().find("benign-list"), std::string::npos);
    EXPECT_EQ(sor.at("facts").as_string().subview().find("re-encoded"), std::string::npos);
    EXPECT_FALSE(sor.at("redress").as_string().empty());
    EXPECT_FALSE(a.as_object().contains("internal"));
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
  // One appeal covers the whole decision: both removals, the suspension and the automated blocks
  // the policy put on the same uploads before review (the trial needed four appeals).
  EXPECT_EQ(Parse(overturned).at("action_ids").as_array().size(), 5u) << overturned.body;
  EXPECT_EQ(Parse(overturned).at("undone").as_array().size(), 5u) << overturned.body;
  account = Parse(Call("platform", "GET", "/v1/accounts/user-9")).as_object();
  EXPECT_EQ(account.at("state").as_string(), "active");
  int restored_content = 0;
  for (const auto& a : account.at("actions").as_array()) restored_content += a.at("kind").as_string() == "restore_content";
  EXPECT_EQ(restored_content, 2);
  const auto after_appeal = Parse(Call("alice", "GET", base));
  for (const auto& item : after_appeal.at("items").as_array()) EXPECT_EQ(item.at("state").as_string(), "restored");
  EXPECT_TRUE(after_appeal.at("report_problem").as_string().empty()) << "nothing left to report";
  // The reviewer who overturned the false positive may disable the entry behind it (the adopter
  // trial: 403, only the original decider could); carol, who never saw the case, may not.
  const auto entry = std::to_string(first.at("matches").as_array()[0].at("entry_id").as_int64());
  EXPECT_EQ(Call("carol", "POST", "/v1/entries/" + entry + "/disable", R"({"reason":"x"})").status, 403u);
  EXPECT_EQ(Call("bob", "POST", "/v1/entries/" + entry + "/disable", R"({"reason":"overturned: a holiday photo"})").status, 204u);
  // Staff see what the user does not.
  auto staff_view = Parse(Call("alice", "GET", "/v1/accounts/user-9")).as_object();
  EXPECT_NE(json::serialize(staff_view).find("benign-list"), std::string::npos);

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

// The go-live trial: a false positive disabled here came back with the next import of the same
// list. Now the override is kept by bank and value, skips the value on every re-import, is listed,
// and can be revoked (which brings the entry back).
TEST_P(WorkflowTest, LocalOverridesSurviveReimportsAndCanBeRevoked) {
  auto first = Upload("ov-1", "user-21", 80);
  ASSERT_FALSE(first.at("matches").as_array().empty());
  const auto entry_id = first.at("matches").as_array()[0].at("entry_id").as_int64();
  // A reviewer disables an entry that matched in a case they hold (or decided), no other.
  EXPECT_EQ(Call("alice", "POST", "/v1/entries/" + std::to_string(entry_id) + "/disable", R"({"reason":"a logo"})").status, 403u);
  const auto case_id = first.at("policy").at("case_id").as_int64();
  ASSERT_EQ(Call("alice", "POST", "/v1/cases/" + std::to_string(case_id) + "/claim").status, 200u);
  ASSERT_EQ(Call("alice", "POST", "/v1/entries/" + std::to_string(entry_id) + "/disable", R"({"reason":"a logo"})").status, 204u);
  EXPECT_TRUE(Upload("ov-2", "user-21", 80).at("matches").as_array().empty());
  // The daily refresh: the same list again.
  FileHasher hasher({});
  const std::string pdq = hasher.HashFile(photo_)->pdq.hash.ToHex();
  auto again = Http(port_, "POST", "/v1/banks/benign-list/import?format=csv", "pdq," + pdq + ",bridge,B1\n",
                    {{"Authorization", "Bearer " + keys_["lists"]}, {"Content-Type", "text/csv"}});
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(Parse(again).at("overridden").as_int64(), 1);
  EXPECT_EQ(Parse(again).at("added").as_int64(), 0);
  EXPECT_TRUE(Upload("ov-3", "user-21", 80).at("matches").as_array().empty());
  auto listed = Parse(Call("lists", "GET", "/v1/overrides?bank=benign-list"));
  ASSERT_EQ(listed.at("overrides").as_array().size(), 1u) << json::serialize(listed);
  const auto& o = listed.at("overrides").as_array()[0];
  EXPECT_EQ(o.at("reason").as_string(), "a logo");
  EXPECT_EQ(o.at("created_by").as_string(), "alice");
  EXPECT_EQ(o.at("skipped_by_imports").as_int64(), 1);
  EXPECT_EQ(Call("platform", "DELETE", "/v1/overrides/" + std::to_string(o.at("id").as_int64())).status, 403u);
  auto revoked = Call("lists", "DELETE", "/v1/overrides/" + std::to_string(o.at("id").as_int64()));
  ASSERT_EQ(revoked.status, 200u) << revoked.body;
  EXPECT_FALSE(Parse(revoked).at("revoked_at").is_null());
  EXPECT_FALSE(Upload("ov-4", "user-22", 80).at("matches").as_array().empty());
  EXPECT_TRUE(Parse(Call("lists", "GET", "/v1/overrides")).at("overrides").as_array().empty());
  EXPECT_TRUE(Parse(Call("audit", "GET", "/v1/audit/verify")).at("ok").as_bool());
}

// The go-live trial replayed: a user banned through an intimate-image (StopNCII-style) bank was
// told their account was banned for CSAM, with list names and the reviewer's note in the text.
TEST_P(WorkflowTest, AnIntimateImageBanNamesTheNciiGroundAndNoListInternals) {
  ASSERT_EQ(Call("lists", "POST", "/v1/banks", R"({"name":"ncii-hashes","category":"ncii"})").status, 201u);
  const auto other_photo = testing::TestDataDir() / "vectors/pdq/misc-images/c.png";
  FileHasher hasher({});
  const std::string pdq = hasher.HashFile(other_photo)->pdq.hash.ToHex();
  ASSERT_EQ(Http(port_, "POST", "/v1/banks/ncii-hashes/import?format=csv", "pdq," + pdq + ",case-77,\n",
                 {{"Authorization", "Bearer " + keys_["lists"]}, {"Content-Type", "text/csv"}})
                .status,
            200u);
  std::ofstream(dir_.path() / "rules.toml") << std::string(kRules) + R"(
[[rule]]
name = "ncii"
banks = ["ncii-hashes"]
actions = ["block", "hold"]
hold_priority = 0
)";
  ASSERT_EQ(Call("root", "POST", "/v1/rules/reload").status, 200u);
  const auto bytes = testing::ReadFile(other_photo);
  auto reply = Http(port_, "POST", "/v1/content?content_id=ncii-1&user_id=user-31", std::string(bytes.begin(), bytes.end()),
                    {{"Authorization", "Bearer " + keys_["platform"]}, {"Content-Type", "image/png"}});
  ASSERT_EQ(reply.status, 201u) << reply.body;
  auto upload = Parse(reply).as_object();
  EXPECT_EQ(upload.at("policy").at("category").as_string(), "ncii");
  EXPECT_EQ(upload.at("policy").at("priority").as_int64(), 0);
  const std::string base = "/v1/cases/" + std::to_string(upload.at("policy").at("case_id").as_int64());
  EXPECT_EQ(Parse(Call("alice", "GET", base)).at("category").as_string(), "ncii");
  // A CSAM label on an NCII decision is refused; the ban needs two reviewers.
  ASSERT_EQ(Call("alice", "POST", base + "/claim").status, 200u);
  EXPECT_EQ(Call("alice", "POST", base + "/decision",
                 R"({"verdict":"violating","classification":"B1","reason":"x","account_action":"ban"})").status,
            400u);
  const std::string decision =
      R"x({"verdict":"violating","reason":"matches StopNCII case-77 (ncii-hashes)","account_action":"ban"})x";
  ASSERT_EQ(Call("alice", "POST", base + "/decision", decision).status, 200u);
  ASSERT_EQ(Call("bob", "POST", base + "/claim").status, 200u);
  auto decided = Call("bob", "POST", base + "/decision", decision);
  ASSERT_EQ(decided.status, 200u) << decided.body;
  EXPECT_FALSE(Parse(decided).at("decisions").as_array().back().at("cybertip").as_bool());
  auto account = Parse(Call("platform", "GET", "/v1/accounts/user-31")).as_object();
  EXPECT_EQ(account.at("state").as_string(), "banned");
  int statements = 0;
  for (const auto& a : account.at("actions").as_array()) {
    const auto& sor = a.at("statement_of_reasons").as_object();
    const std::string text = json::serialize(sor);
    ++statements;
    EXPECT_EQ(sor.at("category").as_string(), "ncii") << text;
    EXPECT_NE(text.find("consent"), std::string::npos) << text;
    for (const char* internal : {"child sexual abuse", "Child sexual abuse", "ncii-hashes", "case-77", "StopNCII",
                                 "benign-list", "distance"}) {
      EXPECT_EQ(text.find(internal), std::string::npos) << internal << " in " << text;
    }
  }
  EXPECT_GE(statements, 3);  // the automated block, the removal, the ban
}

// The go-live trial: killed during uploads, matched uploads were left without a case; a retry got
// 409; concurrent identical uploads got 500s. The upload, its matches and its outcome commit
// together, and a retry of the same upload gets the same answer.
TEST_P(WorkflowTest, AnUploadAndItsPolicyOutcomeCommitTogetherAndRetriesGetTheSameAnswer) {
  ASSERT_EQ(server_->Terminate(), 0);
  std::vector<std::string> args = store_flags_;
  args.insert(args.end(), {"--no-access-log", "--rules", (dir_.path() / "rules.toml").string(), "--config",
                           (dir_.path() / "vigil.toml").string()});
  setenv("VIGIL_FAILPOINTS", "upload.before_commit=exit", 1);
  auto dying = std::make_unique<testing::ServerProcess>(dir_.path() / "dying", args);
  ASSERT_TRUE(dying->Start()) << dying->Log();
  unsetenv("VIGIL_FAILPOINTS");
  port_ = dying->port();
  auto image = DecodeImage(testing::ReadFile(photo_), {});
  const auto bytes = testing::EncodeJpeg(*image, 75);
  const std::string body(bytes.begin(), bytes.end());
  const std::map<std::string, std::string> headers{{"Authorization", "Bearer " + keys_["platform"]},
                                                   {"Content-Type", "image/jpeg"}};
  auto lost = Http(port_, "POST", "/v1/content?content_id=kill-1&user_id=user-41", body, headers);
  EXPECT_EQ(lost.status, 0u) << "the process should have died before answering: " << lost.body;
  dying.reset();
  server_ = std::make_unique<testing::ServerProcess>(dir_.path() / "server2", args);
  ASSERT_TRUE(server_->Start()) << server_->Log();
  port_ = server_->port();
  // Nothing of the killed upload was kept: not the upload without its case, nothing at all.
  EXPECT_EQ(Call("alice", "GET", "/v1/content/kill-1").status, 404u);
  auto first = Http(port_, "POST", "/v1/content?content_id=kill-1&user_id=user-41", body, headers);
  ASSERT_EQ(first.status, 201u) << first.body;
  EXPECT_FALSE(Parse(first).at("policy").at("case_id").is_null());
  auto again = Http(port_, "POST", "/v1/content?content_id=kill-1&user_id=user-41", body, headers);
  EXPECT_EQ(again.status, 201u) << again.body;
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.headers["idempotent-replay"], "true");
  // The same id with other bytes is a conflict.
  const auto other = testing::EncodeJpeg(*image, 40);
  EXPECT_EQ(Http(port_, "POST", "/v1/content?content_id=kill-1&user_id=user-41", std::string(other.begin(), other.end()),
                 headers).status,
            409u);
  // Twelve identical requests at once: one answer, given to all.
  std::vector<std::thread> clients;
  std::vector<testing::HttpReply> replies(12);
  for (std::size_t i = 0; i < replies.size(); ++i) {
    clients.emplace_back([&, i] { replies[i] = Http(port_, "POST", "/v1/content?content_id=same-1&user_id=user-42", body, headers); });
  }
  for (auto& t : clients) t.join();
  for (const auto& r : replies) {
    EXPECT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(r.body, replies[0].body);
  }
  std::vector<std::string> check{"store", "check"};
  check.insert(check.end(), store_flags_.begin(), store_flags_.end());
  ASSERT_EQ(server_->Terminate(), 0);
  auto checked = testing::RunVigil(check);
  EXPECT_EQ(checked.status, 0) << checked.out << checked.err;
}

// The adopter trial: appealing the policy's automatic block of a case a reviewer had confirmed let
// that same reviewer overturn it, restored the content while the removal stood, and voided the
// report; a second appeal of the removal was then accepted. The block belongs to the reviewer's
// decision: one appeal covers both, goes to someone else, and reverses each item once.
TEST_P(WorkflowTest, AppealingTheAutomaticBlockOfAConfirmedCaseAppealsTheReviewersDecision) {
  auto upload = Upload("auto-1", "user-51", 80);
  const std::string base = "/v1/cases/" + std::to_string(upload.at("policy").at("case_id").as_int64());
  ASSERT_EQ(Call("alice", "POST", base + "/claim").status, 200u);
  ASSERT_EQ(Call("alice", "POST", base + "/decision", R"({"verdict":"violating","classification":"B1","reason":"listed"})").status,
            200u);
  std::int64_t block = 0, removal = 0;
  const auto account = Parse(Call("platform", "GET", "/v1/accounts/user-51"));
  for (const auto& a : account.at("actions").as_array()) {
    if (a.at("kind").as_string() == "block_content") block = a.at("id").as_int64();
    if (a.at("kind").as_string() == "remove_content") removal = a.at("id").as_int64();
  }
  ASSERT_NE(block, 0);
  ASSERT_NE(removal, 0);
  auto appeal = Call("platform", "POST", "/v1/appeals", R"({"action_id":)" + std::to_string(block) + "}");
  ASSERT_EQ(appeal.status, 201u) << appeal.body;
  EXPECT_EQ(Parse(appeal).at("original_decider").as_string(), "alice");
  EXPECT_EQ(Parse(appeal).at("action_ids").as_array().size(), 2u) << appeal.body;
  EXPECT_EQ(Call("platform", "POST", "/v1/appeals", R"({"action_id":)" + std::to_string(removal) + "}").status, 409u);
  const std::string appeal_base = "/v1/appeals/" + std::to_string(Parse(appeal).at("id").as_int64());
  EXPECT_EQ(Call("alice", "POST", appeal_base + "/claim").status, 403u);
  ASSERT_EQ(Call("bob", "POST", appeal_base + "/claim").status, 200u);
  ASSERT_EQ(Call("bob", "POST", appeal_base + "/decision", R"({"outcome":"overturned","reason":"benign"})").status, 200u);
  const auto after = Parse(Call("alice", "GET", "/v1/accounts/user-51"));
  int restorations = 0;
  for (const auto& a : after.at("actions").as_array()) {
    restorations += a.at("kind").as_string() == "restore_content";
    if (a.at("kind").as_string() != "restore_content") {
      EXPECT_TRUE(a.at("reversed").as_bool()) << json::serialize(a);
    }
  }
  EXPECT_EQ(restorations, 1) << "one item, restored once";
}

// Both reviewers of a two-review ban had a part in it: neither may decide its appeal.
TEST_P(WorkflowTest, NeitherReviewerOfATwoReviewBanMayDecideItsAppeal) {
  auto upload = Upload("ban-1", "user-52", 80);
  const std::string base = "/v1/cases/" + std::to_string(upload.at("policy").at("case_id").as_int64());
  const std::string ban = R"({"verdict":"violating","classification":"B1","reason":"listed","account_action":"ban"})";
  ASSERT_EQ(Call("alice", "POST", base + "/claim").status, 200u);
  ASSERT_EQ(Call("alice", "POST", base + "/decision", ban).status, 200u);
  ASSERT_EQ(Call("bob", "POST", base + "/claim").status, 200u);
  ASSERT_EQ(Call("bob", "POST", base + "/decision", ban).status, 200u);
  std::int64_t banned = 0;
  const auto account = Parse(Call("platform", "GET", "/v1/accounts/user-52"));
  for (const auto& a : account.at("actions").as_array()) {
    if (a.at("kind").as_string() == "ban_account") banned = a.at("id").as_int64();
  }
  ASSERT_NE(banned, 0);
  auto appeal = Call("platform", "POST", "/v1/appeals", R"({"action_id":)" + std::to_string(banned) + "}");
  ASSERT_EQ(appeal.status, 201u) << appeal.body;
  const std::string appeal_base = "/v1/appeals/" + std::to_string(Parse(appeal).at("id").as_int64());
  EXPECT_EQ(Call("alice", "POST", appeal_base + "/claim").status, 403u);
  EXPECT_EQ(Call("bob", "POST", appeal_base + "/claim").status, 403u);
  EXPECT_EQ(Call("carol", "POST", appeal_base + "/claim").status, 200u);
}

// Escalating a case brings its deadline forward with its priority (P1 at least).
TEST_P(WorkflowTest, AnEscalatedCaseIsDueAsAPriorityOneCase) {
  auto upload = Upload("esc-1", "user-53", 80);
  const std::string base = "/v1/cases/" + std::to_string(upload.at("policy").at("case_id").as_int64());
  const auto before = Parse(Call("alice", "GET", base));
  ASSERT_EQ(Call("alice", "POST", base + "/claim").status, 200u);
  auto escalated = Call("alice", "POST", base + "/decision", R"({"verdict":"escalate","reason":"unsure"})");
  ASSERT_EQ(escalated.status, 200u) << escalated.body;
  EXPECT_EQ(Parse(escalated).at("priority").as_int64(), 1);
  EXPECT_LT(std::string(Parse(escalated).at("sla_due").as_string()), std::string(before.at("sla_due").as_string()));
}

INSTANTIATE_TEST_SUITE_P(Backends, WorkflowTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres, Backend::kSqliteTls),
                         [](const auto& param_info) {
                           return param_info.param == Backend::kSqlite     ? "Sqlite"
                                  : param_info.param == Backend::kPostgres ? "Postgres"
                                                                           : "SqliteOverTls";
                         });

}  // namespace
}  // namespace vigil
