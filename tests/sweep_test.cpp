// Sweeps on both backends: a violating decision searches past uploads for copies of the file it
// confirmed (the same bytes, or the same picture encoded again), blocks or holds each per the
// rules, and puts each other account in a case of its own linked to the deciding one, for a person
// to decide: never an account action or a report on its own. A second sweep records nothing twice.
#include <gtest/gtest.h>

#include <algorithm>

#include "match/past_upload_index.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/digest.h"
#include "vigil/matcher.h"
#include "workflow/decision_workflow.h"
#include "workflow/retro_matcher.h"
#include "workflow/upload_workflow.h"
#include "workflow_fixtures.h"

namespace vigil {
namespace {

using Backend = testing::StoreBackend;

// The industry list's rule, at upload time.
const std::string kListedRule = R"(
[[rule]]
name = "listed"
banks = ["industry"]
found = "at_upload"
actions = ["block", "hold"]
)";

// What a platform writes for sweeps: copies are blocked and held. A rule for any match that
// suspends and reports (as a platform's catch-all might) must not do so for a sweep's copies.
const std::string kRules = kListedRule + R"(
[[rule]]
name = "copies"
found = "sweep"
actions = ["block", "hold"]

[[rule]]
name = "catch-all"
actions = ["block", "hold", "suspend", "queue_report"]
suspend_days = 30
)";

class SweepTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { Open(StoreOptions{}, postgres_, dir_.path()); }

  // The store and everything on it (again, with other workflow options, in a test that needs them).
  void Open(const StoreOptions& store_options, testing::TestPostgres& postgres, const std::filesystem::path& dir) {
    decisions_.reset();
    retro_.reset();
    index_.reset();
    uploads_.reset();
    matcher_.reset();
    store_.reset();
    std::filesystem::create_directories(dir);
    store_ = testing::OpenTestStore(GetParam(), dir, postgres, store_options);
    if (store_ == nullptr) return;
    matcher_ = std::make_unique<Matcher>(*store_);
    ASSERT_TRUE(matcher_->Load());
    uploads_ = std::make_unique<UploadWorkflow>(store_->Cases(), *matcher_, MediaHasher{}, nullptr, UploadWorkflowOptions{});
    SetRules(kRules);
    index_ = std::make_unique<PastUploadIndex>(*store_, SystemClock(), PastUploadIndexOptions{.window_days = 90});
    ASSERT_TRUE(index_->Load());
    retro_ = std::make_unique<RetroMatcher>(*store_, *index_, *uploads_, SystemClock(), 90);
    DecisionWorkflowOptions options;
    options.own_bank = "platform";
    options.sweeper = retro_.get();
    options.on_problem = [this](const std::string& what, std::int64_t, const Error& error) {
      problems_.push_back(what + ": " + error.message);
    };
    options.on_sweep = [this](const SweepResult& r) { last_sweep_ = r; };
    decisions_ = std::make_unique<DecisionWorkflow>(*store_, options);
  }

  void SetRules(const std::string& text) {
    auto rules = PolicyRules::Parse(text, "rules.toml");
    ASSERT_TRUE(rules) << rules.error().ToString();
    uploads_->SetRules(std::make_shared<const PolicyRules>(std::move(*rules)));
  }

  void Submit(const std::string& id, const std::string& user, const testing::Bytes& bytes) {
    auto recorded = uploads_->Submit({id, user, "", bytes});
    ASSERT_TRUE(recorded) << recorded.error().ToString();
  }

  // Copies of one picture uploaded by three accounts (acct-1 twice) and an unrelated picture, all
  // before anything listed it; then the original, which an industry list has meanwhile, from
  // `origin-user`: its case, claimed by alice.
  std::int64_t CopiesThenAListedOriginal() {
    const auto picture = testing::MakePattern(96, 64, 3, 11);
    original_ = testing::EncodePng(picture);
    Submit("copy-a", "acct-1", original_);                          // the same bytes
    Submit("copy-b", "acct-2", testing::EncodeJpeg(picture, 90));   // encoded again
    Submit("copy-c", "acct-3", testing::EncodeJpeg(picture, 70));
    Submit("copy-d", "acct-1", testing::EncodeJpeg(picture, 80));
    Submit("unrelated", "acct-4", testing::EncodePng(testing::MakePattern(96, 64, 3, 12)));
    testing::ListedMatch(*store_, "industry", "csam", Sha256Hex(original_));
    EXPECT_TRUE(matcher_->Refresh());
    auto recorded = uploads_->Submit({"original", "origin-user", "", original_});
    EXPECT_TRUE(recorded && recorded->opened) << (recorded ? "no case" : recorded.error().ToString());
    if (!recorded || !recorded->opened) return 0;
    EXPECT_TRUE(store_->Cases().ClaimCase(recorded->opened->id, "alice"));
    return recorded->opened->id;
  }

  static CaseStore::DecisionRequest Violating() {
    CaseStore::DecisionRequest request;
    request.verdict = Verdict::kViolating;
    request.reason = "confirmed";
    request.account_action = AccountAction::kSuspend;
    request.account_days = 30;
    request.category = testing::BuiltInCategory("csam");
    request.classification = "B1";
    return request;
  }

  // Open cases of `user` ("" : uploads without a user).
  std::vector<std::int64_t> OpenCasesOf(const std::string& user) {
    std::vector<std::int64_t> out;
    auto cases = store_->Cases().ListCases(std::nullopt, 100);
    EXPECT_TRUE(cases);
    for (const auto& c : *cases) {
      if (c.user_id == user) out.push_back(c.id);
    }
    return out;
  }

  // The open case of `user` (0: none).
  std::int64_t OpenCaseOf(const std::string& user) {
    auto cases = store_->Cases().ListCases(std::nullopt, 100);
    EXPECT_TRUE(cases);
    for (const auto& c : *cases) {
      if (c.user_id == user) return c.id;
    }
    return 0;
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_, other_postgres_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Matcher> matcher_;
  std::unique_ptr<UploadWorkflow> uploads_;
  std::unique_ptr<PastUploadIndex> index_;
  std::unique_ptr<RetroMatcher> retro_;
  std::unique_ptr<DecisionWorkflow> decisions_;
  std::vector<std::string> problems_;
  SweepResult last_sweep_;
  testing::Bytes original_;
};

TEST_P(SweepTest, AViolatingDecisionSweepsCopiesByThreeOtherAccountsIntoThreeLinkedCasesAndBlocksThem) {
  if (store_ == nullptr) GTEST_SKIP() << "PostgreSQL is not available";
  const auto origin = CopiesThenAListedOriginal();
  ASSERT_NE(origin, 0);
  auto decided = decisions_->Decide(origin, Violating(), "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_TRUE(problems_.empty()) << problems_.front();

  EXPECT_EQ(decided->sweep_copies, 4);
  EXPECT_EQ(decided->sweep_accounts, 3);
  ASSERT_EQ(decided->swept.size(), 3u);
  std::set<std::int64_t> linked;
  for (const std::string user : {"acct-1", "acct-2", "acct-3"}) {
    const auto case_id = OpenCaseOf(user);
    ASSERT_NE(case_id, 0) << user << " has no case";
    linked.insert(case_id);
    auto c = store_->Cases().GetCase(case_id);
    ASSERT_TRUE(c) << c.error().ToString();
    EXPECT_EQ(c->swept_from, std::vector<std::int64_t>{origin}) << user;
    EXPECT_FALSE(c->report_queued) << user << ": a sweep never reports on its own";
    EXPECT_FALSE(c->second_review_required);
    for (const auto& item : c->items) {
      EXPECT_EQ(item.state, "blocked") << item.content_id;
      ASSERT_FALSE(item.matches.empty());  // the same bytes match the PDQ, SHA-256 and MD5 entries
      for (const auto& m : item.matches) {
        EXPECT_EQ(m.sweep_of, origin);
        EXPECT_EQ(m.bank_name, "platform-csam");
        EXPECT_EQ(m.provenance.external_id, "case:" + std::to_string(origin));
      }
    }
    const auto listed = std::find_if(decided->swept.begin(), decided->swept.end(),
                                     [&](const Case::SweptCopies& s) { return s.case_id == case_id; });
    ASSERT_NE(listed, decided->swept.end()) << "the deciding case links to " << user << "'s";
    EXPECT_EQ(listed->copies, user == "acct-1" ? 2 : 1);
    EXPECT_EQ(c->items.size(), user == "acct-1" ? 2u : 1u);
    EXPECT_EQ(store_->Cases().GetAccount(user)->state, "active") << user << ": a sweep never acts on an account";
  }
  EXPECT_EQ(linked.size(), 3u);
  const auto copy_b = store_->GetContent("copy-b");
  ASSERT_TRUE(copy_b);
  EXPECT_NE(copy_b->policy_outcome.find("\"case_id\":" + std::to_string(OpenCaseOf("acct-2"))), std::string::npos)
      << "the answer on record is the sweep's, not 'nothing matched': " << copy_b->policy_outcome;
  EXPECT_EQ(store_->Cases().GetAccount("origin-user")->state, "suspended") << "the reviewer's decision stands";
  auto unrelated = store_->GetContent("unrelated");
  ASSERT_TRUE(unrelated);
  EXPECT_TRUE(unrelated->matches.empty());
  EXPECT_EQ(unrelated->state, "visible");
  EXPECT_EQ(OpenCaseOf("acct-4"), 0);

  // Audited, and counted under its own detection source.
  auto audit = store_->ListAudit(200);
  ASSERT_TRUE(audit);
  EXPECT_TRUE(std::any_of(audit->begin(), audit->end(), [&](const AuditRecord& r) {
    return r.action == "case.sweep" && r.target == std::to_string(origin) && r.detail.starts_with("4 copies by 3");
  }));
  auto facts = store_->Reports().TransparencyFactsBetween(0, std::numeric_limits<std::int64_t>::max());
  ASSERT_TRUE(facts) << facts.error().ToString();
  int swept_blocks = 0;
  for (const auto& a : facts->actions) {
    if (a.kind == "block_content" && a.content_id.starts_with("copy-")) {
      EXPECT_EQ(a.source, "sweep") << a.content_id;
      ++swept_blocks;
    }
  }
  EXPECT_EQ(swept_blocks, 4);

  // Swept again (by hand, or a second replica): nothing twice.
  auto again = decisions_->Sweep(*store_->Cases().GetCase(origin), "alice");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->copies, 0);
  EXPECT_EQ(again->already_matched, 4);
  EXPECT_EQ(store_->Cases().GetCase(origin)->sweep_copies, 4);
}

// The sequence an adopter's trial ran: the original confirmed, then a swept account's case
// confirmed too (its own sweep finds the original and the other copies again), then that case
// overturned on appeal. A sweep never touches what a person decided, grows the cases it finds
// (an upload without a user included) rather than opening more, counts only what it blocked; the
// own bank keeps the first case's provenance and a value another confirmed file still has.
TEST_P(SweepTest, ASecondSweepLeavesDecidedFilesAloneAndTheOwnBankKeepsWhatIsStillConfirmed) {
  if (store_ == nullptr) GTEST_SKIP() << "PostgreSQL is not available";
  Submit("copy-anon", "", testing::EncodeJpeg(testing::MakePattern(96, 64, 3, 11), 85));
  const auto origin = CopiesThenAListedOriginal();
  ASSERT_TRUE(decisions_->Decide(origin, Violating(), "alice"));
  EXPECT_EQ(last_sweep_.copies, 5);
  EXPECT_EQ(last_sweep_.blocked, 5);
  EXPECT_EQ(last_sweep_.accounts, 3) << "an upload without a user is no account";
  ASSERT_EQ(OpenCasesOf("").size(), 1u);
  const auto acct1 = OpenCaseOf("acct-1");
  const auto acct2 = OpenCaseOf("acct-2");
  ASSERT_NE(acct1, 0);
  ASSERT_NE(acct2, 0);

  // acct-2's case confirmed: its sweep finds the original (decided) and the others' copies.
  ASSERT_TRUE(store_->Cases().ClaimCase(acct2, "bob"));
  ASSERT_TRUE(decisions_->Decide(acct2, Violating(), "bob"));
  EXPECT_TRUE(problems_.empty()) << problems_.front();
  EXPECT_GE(last_sweep_.decided_already, 1) << "the original, decided in the first case";
  EXPECT_EQ(last_sweep_.blocked, 0) << "everything it found was blocked already";
  EXPECT_EQ(store_->GetContent("original")->state, "removed");
  EXPECT_TRUE(OpenCasesOf("origin-user").empty()) << "a decided file is never put in a new case";
  EXPECT_EQ(OpenCasesOf("").size(), 1u) << "the anonymous copy's case grew; no second one";
  EXPECT_EQ(OpenCasesOf("acct-1"), std::vector<std::int64_t>{acct1});

  // acct-1's case holds copy-a, the original's very bytes: confirmed, then overturned on appeal.
  auto own_entry = [&]() -> std::string {
    auto entries = store_->ListEntries("platform-csam", 0, 1000, false);
    EXPECT_TRUE(entries);
    for (const auto& e : *entries) {
      if (e.signal_type == "sha256" && e.value == Sha256Hex(original_)) return e.provenance.external_id;
    }
    return "";
  };
  ASSERT_EQ(own_entry(), "case:" + std::to_string(origin));
  ASSERT_TRUE(store_->Cases().ClaimCase(acct1, "bob"));
  ASSERT_TRUE(decisions_->Decide(acct1, Violating(), "bob"));
  EXPECT_EQ(own_entry(), "case:" + std::to_string(origin)) << "the first confirmation's provenance stays";
  auto actions = store_->Cases().ListActions("acct-1");
  ASSERT_TRUE(actions);
  const auto removal = std::find_if(actions->begin(), actions->end(),
                                    [](const auto& a) { return a.content_id == "copy-a" && a.kind == "remove_content"; });
  ASSERT_NE(removal, actions->end());
  auto appeal = store_->Cases().FileAppeal(removal->id, "my own photo", "platform");
  ASSERT_TRUE(appeal) << appeal.error().ToString();
  ASSERT_TRUE(store_->Cases().ClaimAppeal(appeal->id, "carol"));
  ASSERT_TRUE(decisions_->DecideAppeal(appeal->id, {"overturned", {}, "not it", ""}, "carol"));
  EXPECT_EQ(store_->GetContent("copy-a")->state, "restored");
  EXPECT_EQ(own_entry(), "case:" + std::to_string(origin)) << "the original is still confirmed: its value stays listed";
}

// The deciding case overturned on appeal: the copies its sweep blocked stay blocked in their own
// cases for their reviewers (other accounts' uploads, judged on their own), and each such case
// says its source was overturned (a trial found nothing on them told the reviewer).
TEST_P(SweepTest, ACaseSweptFromADecisionLaterOverturnedSaysSo) {
  if (store_ == nullptr) GTEST_SKIP() << "PostgreSQL is not available";
  const auto origin = CopiesThenAListedOriginal();
  ASSERT_TRUE(decisions_->Decide(origin, Violating(), "alice"));
  const auto acct1 = OpenCaseOf("acct-1");
  ASSERT_NE(acct1, 0);
  EXPECT_TRUE(store_->Cases().GetCase(acct1)->swept_from_overturned.empty());
  auto actions = store_->Cases().ListActions("origin-user");
  ASSERT_TRUE(actions);
  const auto removal = std::find_if(actions->begin(), actions->end(),
                                    [](const auto& a) { return a.content_id == "original" && a.kind == "remove_content"; });
  ASSERT_NE(removal, actions->end());
  auto appeal = store_->Cases().FileAppeal(removal->id, "my own photo", "platform");
  ASSERT_TRUE(appeal) << appeal.error().ToString();
  ASSERT_TRUE(store_->Cases().ClaimAppeal(appeal->id, "carol"));
  ASSERT_TRUE(decisions_->DecideAppeal(appeal->id, {"overturned", {}, "not it", ""}, "carol"));
  const auto swept = store_->Cases().GetCase(acct1);
  ASSERT_TRUE(swept);
  EXPECT_EQ(swept->swept_from, std::vector<std::int64_t>{origin});
  EXPECT_EQ(swept->swept_from_overturned, std::vector<std::int64_t>{origin});
  EXPECT_EQ(swept->status, CaseStatus::kOpen) << "still a reviewer's to decide";
}

// A second trial: with flood quarantine at 3 accounts, the sweep's own finds (copies in three
// accounts) quarantined the confirmed file's own-bank entry, so the rest of the sweep and every
// later upload of it went unblocked. What reviewers confirmed is never quarantined.
TEST_P(SweepTest, ASweepFindingManyAccountsNeverQuarantinesTheConfirmedFile) {
  if (store_ == nullptr) GTEST_SKIP() << "PostgreSQL is not available";
  StoreOptions options;
  options.workflow.quarantine_distinct_users = 2;
  Open(options, other_postgres_, dir_.path() / "quarantine");
  ASSERT_NE(store_, nullptr);
  const auto origin = CopiesThenAListedOriginal();
  ASSERT_TRUE(decisions_->Decide(origin, Violating(), "alice"));
  auto quarantined = store_->Cases().ListQuarantine();
  ASSERT_TRUE(quarantined) << quarantined.error().ToString();
  EXPECT_TRUE(quarantined->empty()) << quarantined->front().bank;
  for (const std::string id : {"copy-a", "copy-b", "copy-c", "copy-d"}) {
    auto copy = store_->GetContent(id);
    ASSERT_TRUE(copy);
    EXPECT_EQ(copy->state, "blocked") << id;
  }
}

TEST_P(SweepTest, ARuleForSweepsThatOnlyHoldsLeavesTheCopiesUpForTheirReviewers) {
  if (store_ == nullptr) GTEST_SKIP() << "PostgreSQL is not available";
  SetRules(kListedRule + R"(
[[rule]]
name = "copies-held"
found = "sweep"
actions = ["hold"]
hold_priority = 0
)");
  const auto origin = CopiesThenAListedOriginal();
  ASSERT_TRUE(decisions_->Decide(origin, Violating(), "alice"));
  auto copy = store_->GetContent("copy-b");
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->state, "visible");
  const auto case_id = OpenCaseOf("acct-2");
  ASSERT_NE(case_id, 0);
  EXPECT_EQ(store_->Cases().GetCase(case_id)->priority, 0);
}

TEST_P(SweepTest, ACopyOnAnAllowListIsRecordedSuppressedAndLeftAlone) {
  if (store_ == nullptr) GTEST_SKIP() << "PostgreSQL is not available";
  const auto origin = CopiesThenAListedOriginal();
  Bank allow;
  allow.name = "known-good";
  allow.negative = true;
  ASSERT_TRUE(store_->CreateBank(allow, "test"));
  auto copy_c = store_->GetContent("copy-c");
  ASSERT_TRUE(copy_c);
  ImportRequest request;
  request.format = "csv";
  ImportOp op;
  op.signal_type = "sha256";
  op.value = copy_c->hashes.at("sha256");
  request.ops.push_back(op);
  ASSERT_TRUE(store_->Import("known-good", std::move(request)));
  ASSERT_TRUE(matcher_->Refresh());
  ASSERT_TRUE(decisions_->Decide(origin, Violating(), "alice"));
  copy_c = store_->GetContent("copy-c");
  ASSERT_TRUE(copy_c);
  EXPECT_EQ(copy_c->state, "visible");
  ASSERT_EQ(copy_c->matches.size(), 1u);
  EXPECT_NE(copy_c->matches[0].suppressed_by, 0);
  EXPECT_EQ(OpenCaseOf("acct-3"), 0);
  EXPECT_NE(OpenCaseOf("acct-2"), 0);
  auto origin_case = store_->Cases().GetCase(origin);
  ASSERT_TRUE(origin_case);
  EXPECT_EQ(origin_case->sweep_copies, 3) << "the allow-listed copy is not one acted on";
  EXPECT_EQ(origin_case->sweep_accounts, 2);
  for (const auto& s : origin_case->swept) EXPECT_NE(s.case_id, 0);
  EXPECT_EQ(last_sweep_.allow_listed, 1);
  EXPECT_EQ(last_sweep_.copies, 3);
}

// A confirmed video: its frames go into the own bank, and another account's copy of the video,
// uploaded before anything listed it, is found by the video rule.
TEST_P(SweepTest, AConfirmedVideoSweepsAnotherAccountsCopyByItsFrames) {
  if (store_ == nullptr) GTEST_SKIP() << "PostgreSQL is not available";
  const std::string frames =
      testing::ReadText(testing::TestDataDir() / "vectors/vpdq/debian-ffmpeg/chair-19-sd-bar.txt");
  auto video = [&](const std::string& id, const std::string& user) {
    ContentRecord v;
    v.content_id = id;
    v.user_id = user;
    v.media_type = "video/mp4";
    v.hashes = {{"sha256", Sha256Hex(id)}, {"md5", Sha256Hex(id + "-md5").substr(0, 32)}};
    v.vpdq = frames;
    return v;
  };
  ASSERT_TRUE(store_->Cases().RecordUnmatchedUploads(std::vector<ContentRecord>{video("copy-video", "acct-9")})[0]);
  // The original: a different file of the same video, matched by the industry list's SHA-256.
  ContentRecord original = video("original-video", "origin-user");
  original.matches = {testing::ListedMatch(*store_, "industry", "csam", original.hashes.at("sha256"))};
  PolicyOutcome hold;
  hold.hold = true;
  hold.rules = {"listed"};
  hold.category = testing::BuiltInCategory("csam");
  auto recorded = testing::RecordWithOutcome(*store_, original, hold, dir_.path() / "media", "video bytes");
  ASSERT_TRUE(recorded && recorded->opened) << (recorded ? "no case" : recorded.error().ToString());
  ASSERT_TRUE(store_->Cases().ClaimCase(recorded->opened->id, "alice"));
  auto decided = decisions_->Decide(recorded->opened->id, Violating(), "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_TRUE(problems_.empty()) << problems_.front();
  EXPECT_EQ(decided->sweep_copies, 1);
  const auto case_id = OpenCaseOf("acct-9");
  ASSERT_NE(case_id, 0);
  auto copy = store_->GetContent("copy-video");
  ASSERT_TRUE(copy);
  ASSERT_EQ(copy->matches.size(), 1u);
  EXPECT_EQ(copy->matches[0].signal_type, "vpdq");
  EXPECT_EQ(copy->matches[0].sweep_of, decided->id);
  EXPECT_EQ(copy->state, "blocked");
}

TEST_P(SweepTest, ADecisionThatIsNotViolatingSweepsNothing) {
  if (store_ == nullptr) GTEST_SKIP() << "PostgreSQL is not available";
  const auto origin = CopiesThenAListedOriginal();
  CaseStore::DecisionRequest request;
  request.verdict = Verdict::kNotViolating;
  request.reason = "a benign picture";
  auto decided = decisions_->Decide(origin, request, "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_EQ(decided->sweep_copies, 0);
  EXPECT_EQ(OpenCaseOf("acct-1"), 0);
  EXPECT_EQ(store_->GetContent("copy-a")->state, "visible");
}

INSTANTIATE_TEST_SUITE_P(Backends, SweepTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace vigil
