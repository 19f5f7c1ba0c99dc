// The decision workflow in-process, on both SQL backends: an upload through the upload workflow,
// then a decision, a correction or an appeal, and what follows (preservation, the report draft, a
// problem recorded on the case). No request reaches a CyberTipline: drafting sends nothing.
#include <gtest/gtest.h>

#include "store/media_store.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/digest.h"
#include "workflow/decision_workflow.h"
#include "workflow/upload_workflow.h"
#include "workflow_fixtures.h"

namespace vigil {
namespace {

using Backend = testing::StoreBackend;

constexpr const char* kMasterKey = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

class DecisionWorkflowTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(GetParam(), dir_.path(), postgres_);
    if (store_ == nullptr) return;
    media_ = OpenMediaDirectory(dir_.path() / "media");
    VaultOptions vault;
    vault.directory = (dir_.path() / "vault").string();
    vault.master_key_hex = kMasterKey;
    auto opened = EvidenceVault::Open(*store_, vault, SystemClock());
    ASSERT_TRUE(opened) << opened.error().ToString();
    vault_ = std::move(*opened);
    CyberTipConfig config;  // never called: drafting sends nothing
    config.base_url = "https://127.0.0.1:1/ispws";
    config.username = "esp";
    client_ = std::make_unique<CyberTipClient>(config, MakeHttpTransport(config));
    FilerOptions filer;
    filer.reporter = testing::TestReporter();
    filer.media_dir = (dir_.path() / "media").string();
    filer_ = std::make_unique<ReportFiler>(*store_, *client_, vault_.get(), filer);
  }

  // An upload of a fresh benign image, listed in a bank of `category`, through the upload
  // workflow with a blocking, holding rule: the case it opened.
  std::int64_t MatchedCase(const std::string& user, const std::string& content_id, const std::string& category,
                           bool claim = true) {
    const testing::Bytes bytes = testing::EncodePng(testing::MakePattern(80, 60, 3, static_cast<std::uint32_t>(++seed_)));
    const std::string bank = category + "-list";
    testing::ListedMatch(*store_, bank, category, Sha256Hex(bytes));
    Matcher matcher(*store_);
    EXPECT_TRUE(matcher.Load());
    auto rules = PolicyRules::Parse("[[rule]]\nname = \"listed\"\nactions = [\"block\", \"hold\"]\n", "rules.toml");
    EXPECT_TRUE(rules);
    UploadWorkflow uploads(store_->Cases(), matcher, {}, media_.get(), {});
    uploads.SetRules(std::make_shared<const PolicyRules>(std::move(*rules)));
    auto recorded = uploads.Submit({content_id, user, "", bytes});
    EXPECT_TRUE(recorded && recorded->opened) << (recorded ? "no case" : recorded.error().ToString());
    if (!recorded || !recorded->opened) return 0;
    if (claim) {
      EXPECT_TRUE(store_->Cases().ClaimCase(recorded->opened->id, "alice"));
    }
    return recorded->opened->id;
  }

  CaseStore::DecisionRequest Violating(const std::string& category) {
    CaseStore::DecisionRequest request;
    request.verdict = Verdict::kViolating;
    request.reason = "the listed image";
    request.account_action = AccountAction::kSuspend;
    request.account_days = 30;
    request.category = testing::BuiltInCategory(category);
    if (category == "csam") request.classification = "B1";
    return request;
  }

  DecisionWorkflow Workflow(ReportFiler* filer) {
    DecisionWorkflowOptions options;
    options.vault = vault_.get();
    options.filer = filer;
    options.media_dir = (dir_.path() / "media").string();
    options.on_problem = [this](const std::string& what, std::int64_t, const Error& error) {
      problems_.push_back(what + ": " + error.message);
    };
    return DecisionWorkflow(*store_, options);
  }

  std::vector<CyberTipReport> ReportsOf(std::int64_t case_id) {
    std::vector<CyberTipReport> out;
    auto reports = store_->Reports().ListReports(std::nullopt, 100);
    EXPECT_TRUE(reports);
    if (reports) {
      for (const auto& r : *reports) {
        if (r.case_id == case_id) out.push_back(r);
      }
    }
    return out;
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<MediaStore> media_;
  std::unique_ptr<EvidenceVault> vault_;
  std::unique_ptr<CyberTipClient> client_;
  std::unique_ptr<ReportFiler> filer_;
  std::vector<std::string> problems_;
  int seed_ = 0;
};

TEST_P(DecisionWorkflowTest, AViolatingCsamDecisionEnforcesPreservesAndDrafts) {
  const auto case_id = MatchedCase("user-1", "u-1", "csam");
  auto decided = Workflow(filer_.get()).Decide(case_id, Violating("csam"), "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_EQ(decided->status, CaseStatus::kDecided);
  EXPECT_EQ(store_->Cases().GetAccount("user-1")->state, "suspended");
  auto evidence = store_->Reports().ListEvidence(case_id);
  ASSERT_TRUE(evidence);
  EXPECT_FALSE(evidence->empty());
  const auto reports = ReportsOf(case_id);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].state, ReportState::kDraft);
  EXPECT_TRUE(decided->report_problem.empty());
  EXPECT_TRUE(problems_.empty());
}

// Every match says what this platform's reviewers said of its entry: an upload of the same listed
// image after a violating decision reads "1 confirmed", and the feedback export carries the counts.
TEST_P(DecisionWorkflowTest, AMatchCarriesItsEntrysConfirmedAndRejectedCounts) {
  const auto case_id = MatchedCase("user-1", "u-1", "csam");
  auto before = store_->GetContent("u-1");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->matches.size(), 1u);
  EXPECT_EQ(before->matches[0].entry_confirmed, 0);
  ASSERT_TRUE(Workflow(filer_.get()).Decide(case_id, Violating("csam"), "alice"));
  auto after = store_->GetContent("u-1");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->matches[0].entry_confirmed, 1);
  EXPECT_EQ(after->matches[0].entry_rejected, 0);
  ASSERT_TRUE(store_->Cases().DisableEntry(after->matches[0].entry_id, "a logo after all", "alice"));
  EXPECT_EQ(store_->GetContent("u-1")->matches[0].entry_rejected, 1);
  auto feedback = store_->Cases().ListFeedback();
  ASSERT_TRUE(feedback);
  ASSERT_EQ(feedback->size(), 1u);
  EXPECT_EQ(feedback->at(0).confirmed, 1);
  EXPECT_EQ(feedback->at(0).rejected, 1);
}

// A ban needs two reviewers. The second agreeing that the content violates but not to the ban
// used to enforce the second's suspension alone (the proposed ban silently dropped); now any
// disagreement on the account escalates, and nothing is enforced until a senior decides.
TEST_P(DecisionWorkflowTest, ASecondReviewThatDropsTheProposedBanEscalatesInsteadOfEnforcing) {
  const auto case_id = MatchedCase("user-5", "u-5", "csam");
  auto workflow = Workflow(filer_.get());
  auto ban = Violating("csam");
  ban.account_action = AccountAction::kBan;
  ban.account_days.reset();
  auto first = workflow.Decide(case_id, ban, "alice");
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->status, CaseStatus::kOpen) << "a ban waits for a second reviewer";
  ASSERT_TRUE(store_->Cases().ClaimCase(case_id, "bob"));
  auto second = workflow.Decide(case_id, Violating("csam"), "bob");  // violating, suspend 30 days
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->status, CaseStatus::kEscalated);
  EXPECT_EQ(store_->Cases().GetAccount("user-5")->state, "active");
  ASSERT_EQ(second->decisions.size(), 2u);
  EXPECT_EQ(second->decisions[0].account_action, AccountAction::kBan);
  EXPECT_EQ(second->decisions[1].account_action, AccountAction::kSuspend);
}

TEST_P(DecisionWorkflowTest, AnIntimateImageDecisionPreservesButDraftsNoReport) {
  const auto case_id = MatchedCase("user-2", "u-2", "ncii");
  auto decided = Workflow(filer_.get()).Decide(case_id, Violating("ncii"), "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_FALSE(store_->Reports().ListEvidence(case_id)->empty());
  EXPECT_TRUE(ReportsOf(case_id).empty());
}

TEST_P(DecisionWorkflowTest, AReportThatCannotBeDraftedIsRecordedOnTheCaseAndACorrectionDraftsIt) {
  // A reporter profile without a company: the draft cannot be made.
  FilerOptions incomplete;
  incomplete.media_dir = (dir_.path() / "media").string();
  ReportFiler unconfigured(*store_, *client_, vault_.get(), incomplete);
  const auto case_id = MatchedCase("user-3", "u-3", "csam");
  auto decided = Workflow(&unconfigured).Decide(case_id, Violating("csam"), "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_EQ(decided->status, CaseStatus::kDecided);  // the decision stands
  EXPECT_FALSE(decided->report_problem.empty());
  ASSERT_FALSE(problems_.empty());
  EXPECT_NE(problems_[0].find("report draft failed"), std::string::npos) << problems_[0];
  // Configured now: a correction of the labels drafts it and clears the problem.
  auto corrected = Workflow(filer_.get()).Reclassify(case_id, "A1", {}, "lee");
  ASSERT_TRUE(corrected) << corrected.error().ToString();
  EXPECT_TRUE(corrected->report_problem.empty()) << corrected->report_problem;
  EXPECT_EQ(ReportsOf(case_id).size(), 1u);
}

TEST_P(DecisionWorkflowTest, AnOverturnedAppealVoidsTheDraftAndDraftsNothingNew) {
  const auto case_id = MatchedCase("user-4", "u-4", "csam");
  auto workflow = Workflow(filer_.get());
  ASSERT_TRUE(workflow.Decide(case_id, Violating("csam"), "alice"));
  auto actions = store_->Cases().ListActions("user-4");
  ASSERT_TRUE(actions);
  ASSERT_FALSE(actions->empty());
  auto appeal = store_->Cases().FileAppeal(actions->back().id, "my own photo", "platform");
  ASSERT_TRUE(appeal) << appeal.error().ToString();
  ASSERT_TRUE(store_->Cases().ClaimAppeal(appeal->id, "bob"));
  auto decided = workflow.DecideAppeal(appeal->id, {"overturned", {}, "benign", ""}, "bob");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_EQ(decided->status, "overturned");
  const auto reports = ReportsOf(case_id);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].state, ReportState::kVoided);
  EXPECT_EQ(store_->Cases().GetAccount("user-4")->state, "active");
  // The entry's counts (shown with matches, sent in feedback) no longer call it confirmed.
  auto content = store_->GetContent("u-4");
  ASSERT_TRUE(content);
  ASSERT_FALSE(content->matches.empty());
  EXPECT_EQ(content->matches[0].entry_confirmed, 0);
  EXPECT_EQ(content->matches[0].entry_rejected, 1);
}

// The platform's own bank: a file confirmed violating is listed in it, so the next upload of it
// matches at upload time; the appeal that restores the file takes it out again.
TEST_P(DecisionWorkflowTest, AConfirmedFileJoinsTheOwnBankAndAnOverturnedAppealTakesItOut) {
  const auto case_id = MatchedCase("user-5", "u-5", "csam");
  const testing::Bytes bytes = testing::EncodePng(testing::MakePattern(80, 60, 3, static_cast<std::uint32_t>(seed_)));
  DecisionWorkflowOptions options;
  options.own_bank = "platform";
  options.on_problem = [this](const std::string& what, std::int64_t, const Error& error) {
    problems_.push_back(what + ": " + error.message);
  };
  DecisionWorkflow workflow(*store_, options);
  ASSERT_TRUE(workflow.Decide(case_id, Violating("csam"), "alice"));
  EXPECT_TRUE(problems_.empty()) << problems_.front();
  auto bank = store_->GetBank("platform-csam");
  ASSERT_TRUE(bank) << bank.error().ToString();
  EXPECT_EQ(bank->category, "csam");
  EXPECT_GE(bank->live_entries, 1);
  auto entries = store_->ListEntries("platform-csam", 0, 100, false);
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->front().provenance.external_id, "case:" + std::to_string(case_id));
  EXPECT_EQ(entries->front().provenance.source, "decision by alice");

  auto matches_of = [&](const std::string& id) {
    Matcher matcher(*store_);
    EXPECT_TRUE(matcher.Load());
    UploadWorkflow uploads(store_->Cases(), matcher, {}, nullptr, {});
    auto recorded = uploads.Submit({id, "someone-else", "", bytes});
    EXPECT_TRUE(recorded) << recorded.error().ToString();
    std::vector<std::string> banks;
    if (recorded) {
      for (const auto& m : recorded->content.matches) banks.push_back(m.bank_name);
    }
    return banks;
  };
  const auto again = matches_of("again-1");
  EXPECT_NE(std::find(again.begin(), again.end(), "platform-csam"), again.end()) << "matched at upload time";

  auto actions = store_->Cases().ListActions("user-5");
  ASSERT_TRUE(actions);
  const auto removal = std::find_if(actions->begin(), actions->end(),
                                    [](const auto& a) { return a.content_id == "u-5" && a.kind != "restore_content"; });
  ASSERT_NE(removal, actions->end());
  auto appeal = store_->Cases().FileAppeal(removal->id, "my own photo", "platform");
  ASSERT_TRUE(appeal) << appeal.error().ToString();
  ASSERT_TRUE(store_->Cases().ClaimAppeal(appeal->id, "bob"));
  ASSERT_TRUE(workflow.DecideAppeal(appeal->id, {"overturned", {}, "benign", ""}, "bob"));
  EXPECT_EQ(store_->GetBank("platform-csam")->live_entries, 0) << "restored: out of the own bank";
  const auto after = matches_of("again-2");
  EXPECT_EQ(std::find(after.begin(), after.end(), "platform-csam"), after.end());
}

// An upload found later (a list grew, a sweep) was never kept: its case is decided, but the report
// cannot carry the file until the platform supplies the bytes, which must be exactly the upload's.
TEST_P(DecisionWorkflowTest, ACaseWhoseMediaWasNeverKeptIsReportedOnceThePlatformSuppliesTheBytes) {
  const testing::Bytes bytes = testing::EncodePng(testing::MakePattern(80, 60, 3, 4242));
  testing::ListedMatch(*store_, "csam-list", "csam", Sha256Hex(bytes));
  Matcher matcher(*store_);
  ASSERT_TRUE(matcher.Load());
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"listed\"\nactions = [\"hold\"]\n", "rules.toml");
  ASSERT_TRUE(rules);
  UploadWorkflow uploads(store_->Cases(), matcher, {}, nullptr, {});  // keeps no media
  uploads.SetRules(std::make_shared<const PolicyRules>(std::move(*rules)));
  auto recorded = uploads.Submit({"unkept-1", "user-9", "", bytes});
  ASSERT_TRUE(recorded && recorded->opened) << (recorded ? "no case" : recorded.error().ToString());
  const auto case_id = recorded->opened->id;
  ASSERT_TRUE(store_->Cases().ClaimCase(case_id, "alice"));
  auto workflow = Workflow(filer_.get());
  auto decided = workflow.Decide(case_id, Violating("csam"), "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_NE(decided->report_problem.find("not kept"), std::string::npos) << decided->report_problem;
  EXPECT_TRUE(ReportsOf(case_id).empty());

  testing::Bytes other = bytes;
  other.back() ^= 1;
  auto wrong = workflow.SupplyMedia(case_id, "unkept-1", other, *media_, "platform");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(wrong.error().message.find("SHA-256"), std::string::npos) << wrong.error().message;
  auto absent = workflow.SupplyMedia(case_id, "not-in-the-case", bytes, *media_, "platform");
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, ErrorCode::kNotFound);

  auto supplied = workflow.SupplyMedia(case_id, "unkept-1", bytes, *media_, "platform");
  ASSERT_TRUE(supplied) << supplied.error().ToString();
  EXPECT_TRUE(supplied->items.at(0).has_media);
  EXPECT_EQ(supplied->report_problem, "");
  const auto reports = ReportsOf(case_id);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].state, ReportState::kDraft);
  auto audit = store_->ListAudit(50);
  ASSERT_TRUE(audit);
  EXPECT_TRUE(std::any_of(audit->begin(), audit->end(),
                          [](const AuditRecord& r) { return r.action == "media.attach" && r.target == "unkept-1"; }));
  // Again: nothing changes, nothing is drafted twice.
  ASSERT_TRUE(workflow.SupplyMedia(case_id, "unkept-1", bytes, *media_, "platform"));
  EXPECT_EQ(ReportsOf(case_id).size(), 1u);
}

// An upload that joins a case after its reviewer claimed it (a new match of the account, a late
// match, a sweep's copy) was never in front of them: the decision is refused until they claim the
// case again, so a decision never covers an upload nobody saw.
TEST_P(DecisionWorkflowTest, AnUploadThatJoinedTheCaseAfterTheClaimMustBeSeenBeforeTheDecision) {
  const auto case_id = MatchedCase("user-20", "u-20a", "csam");
  ASSERT_EQ(MatchedCase("user-20", "u-20b", "csam", false), case_id) << "the account's open case grows";
  auto workflow = Workflow(nullptr);
  auto refused = workflow.Decide(case_id, Violating("csam"), "alice");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(refused.error().message.find("u-20b"), std::string::npos) << refused.error().message;
  EXPECT_EQ(store_->GetContent("u-20b")->state, "blocked") << "nothing was enforced";
  ASSERT_TRUE(store_->Cases().ClaimCase(case_id, "alice"));
  auto decided = workflow.Decide(case_id, Violating("csam"), "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_EQ(store_->GetContent("u-20b")->state, "removed");
}

// Two accounts' cases confirm the same file; the first is overturned on appeal: the own bank keeps
// the value (the second still confirms it) and names the second case from then on; overturning the
// second takes the value out.
TEST_P(DecisionWorkflowTest, AnOwnBankValueConfirmedTwiceNamesTheCaseThatStillConfirmsIt) {
  const auto first = MatchedCase("user-30", "u-30", "csam");
  const testing::Bytes bytes = testing::EncodePng(testing::MakePattern(80, 60, 3, static_cast<std::uint32_t>(seed_)));
  Matcher matcher(*store_);
  ASSERT_TRUE(matcher.Load());
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"listed\"\nbanks = [\"csam-list\"]\nactions = [\"block\", \"hold\"]\n",
                                  "rules.toml");
  ASSERT_TRUE(rules);
  UploadWorkflow uploads(store_->Cases(), matcher, {}, media_.get(), {});
  uploads.SetRules(std::make_shared<const PolicyRules>(std::move(*rules)));
  auto again = uploads.Submit({"u-31", "user-31", "", bytes});
  ASSERT_TRUE(again && again->opened) << (again ? "no case" : again.error().ToString());
  const auto second = again->opened->id;
  ASSERT_TRUE(store_->Cases().ClaimCase(second, "alice"));
  DecisionWorkflowOptions options;
  options.own_bank = "platform";
  DecisionWorkflow workflow(*store_, options);
  ASSERT_TRUE(workflow.Decide(first, Violating("csam"), "alice"));
  ASSERT_TRUE(workflow.Decide(second, Violating("csam"), "alice"));
  auto provenance = [&]() -> std::string {
    auto entries = store_->ListEntries("platform-csam", 0, 100, false);
    EXPECT_TRUE(entries);
    for (const auto& e : *entries) {
      if (e.signal_type == "sha256" && e.value == Sha256Hex(bytes)) return e.provenance.external_id;
    }
    return "";
  };
  ASSERT_EQ(provenance(), "case:" + std::to_string(first));
  auto overturn = [&](const std::string& user, const std::string& content_id) {
    auto actions = store_->Cases().ListActions(user);
    ASSERT_TRUE(actions);
    const auto removal = std::find_if(actions->begin(), actions->end(), [&](const auto& a) {
      return a.content_id == content_id && a.kind == "remove_content";
    });
    ASSERT_NE(removal, actions->end());
    auto appeal = store_->Cases().FileAppeal(removal->id, "mine", "platform");
    ASSERT_TRUE(appeal) << appeal.error().ToString();
    ASSERT_TRUE(store_->Cases().ClaimAppeal(appeal->id, "bob"));
    ASSERT_TRUE(workflow.DecideAppeal(appeal->id, {"overturned", {}, "not it", ""}, "bob"));
  };
  overturn("user-30", "u-30");
  EXPECT_EQ(provenance(), "case:" + std::to_string(second)) << "still confirmed, by the second case";
  overturn("user-31", "u-31");
  EXPECT_EQ(provenance(), "") << "confirmed by no case: out of the own bank";
}

INSTANTIATE_TEST_SUITE_P(Backends, DecisionWorkflowTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace vigil
