// Retroactive matching on both backends: an upload that matched nothing when it came is found when
// a list gains its hash later, and handled by the rules for late matches; a second run changes
// nothing; rules for matches at upload time do not fire; uploads past the window are not searched.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

#include "match/past_upload_index.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/clock.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"
#include "vigil/hash_list.h"
#include "vigil/matcher.h"
#include "vigil/pdq.h"
#include "workflow/retro_matcher.h"
#include "workflow/upload_workflow.h"

namespace vigil {
namespace {

using Backend = testing::StoreBackend;
constexpr std::int64_t kDay = 86'400'000'000;

class SettableClock final : public Clock {
 public:
  std::int64_t NowMicros() const override { return now.load(); }
  std::atomic<std::int64_t> now{SystemClock().NowMicros()};
};

constexpr const char* kRules = R"(
[[rule]]
name = "at-upload"
banks = ["later-list"]
found = "at_upload"
actions = ["block", "hold", "suspend"]

[[rule]]
name = "found-later"
banks = ["later-list"]
found = "later"
max_upload_age_days = 60
actions = ["hold"]
hold_priority = 1
)";

class RetroMatcherTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.clock = &clock_;
    store_ = testing::OpenTestStore(GetParam(), dir_.path(), postgres_, options);
    if (store_ == nullptr) return;
    Bank bank;
    bank.name = "later-list";
    ASSERT_TRUE(store_->CreateBank(bank, "test"));
    matcher_ = std::make_unique<Matcher>(*store_);
    ASSERT_TRUE(matcher_->Load());
    workflow_ = std::make_unique<UploadWorkflow>(store_->Cases(), *matcher_, MediaHasher{}, nullptr, UploadWorkflowOptions{});
    auto rules = PolicyRules::Parse(kRules, "rules.toml");
    ASSERT_TRUE(rules) << rules.error().ToString();
    workflow_->SetRules(std::make_shared<const PolicyRules>(std::move(*rules)));
    index_ = std::make_unique<PastUploadIndex>(*store_, clock_, PastUploadIndexOptions{.window_days = 180});
    retro_ = std::make_unique<RetroMatcher>(*store_, *index_, *workflow_, clock_, 180);
  }

  // Uploads a benign pattern as `user`; returns its PDQ hex.
  std::string Submit(const std::string& id, const std::string& user, int seed) {
    const auto bytes = testing::EncodePng(testing::MakePattern(96, 64, 3, seed));
    auto recorded = workflow_->Submit({id, user, "", bytes});
    EXPECT_TRUE(recorded) << recorded.error().ToString();
    EXPECT_TRUE(recorded && recorded->content.matches.empty()) << "nothing is listed yet";
    return recorded ? recorded->content.hashes.at("pdq") : "";
  }

  // A video upload that matched nothing: recorded with its vPDQ frames (as the upload workflow
  // records a hashed video), without decoding one here.
  void RecordVideo(const std::string& id, const std::string& user, const std::string& frames) {
    ContentRecord video;
    video.content_id = id;
    video.user_id = user;
    video.media_type = "video/mp4";
    video.hashes = {{"sha256", Sha256Hex(id)}, {"md5", std::string(32, 'a')}};
    video.vpdq = frames;
    const auto recorded = store_->Cases().RecordUnmatchedUploads(std::vector<ContentRecord>{video});
    ASSERT_EQ(recorded.size(), 1u);
    ASSERT_TRUE(recorded[0]) << recorded[0].error().ToString();
  }

  // The bank gains these lines (csv), as an import would; the entries it added.
  std::vector<IndexedEntry> Import(const std::string& csv, const std::string& format = "csv") {
    ListParseOptions parse;
    auto parsed = ParseHashList(format, csv, parse);
    EXPECT_TRUE(parsed) << parsed.error().ToString();
    ImportRequest request;
    request.format = format;
    request.ops = std::move(parsed->ops);
    auto imported = store_->Import("later-list", std::move(request));
    EXPECT_TRUE(imported) << imported.error().ToString();
    return imported ? imported->added_entries : std::vector<IndexedEntry>{};
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  SettableClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Matcher> matcher_;
  std::unique_ptr<UploadWorkflow> workflow_;
  std::unique_ptr<PastUploadIndex> index_;
  std::unique_ptr<RetroMatcher> retro_;
};

TEST_P(RetroMatcherTest, AnUploadFoundWhenItsListGainsItsHashLaterIsHeldByTheRuleForLateMatches) {
  ASSERT_TRUE(index_->Load());
  const std::string pdq = Submit("before-listing", "alice", 7);
  Submit("unrelated", "bob", 8);
  clock_.now += 10 * kDay;
  const auto added = Import("pdq," + pdq + ",ext-1,A1\n");
  ASSERT_EQ(added.size(), 1u);
  auto result = retro_->MatchNewEntries(*store_->GetBank("later-list"), added);
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(result->uploads_matched, 1);
  EXPECT_EQ(result->uploads_held, 1);

  auto content = store_->GetContent("before-listing");
  ASSERT_TRUE(content) << content.error().ToString();
  ASSERT_EQ(content->matches.size(), 1u);
  EXPECT_TRUE(content->matches[0].retroactive);
  EXPECT_EQ(content->matches[0].provenance.external_id, "ext-1");
  EXPECT_EQ(content->state, "visible") << "the rule for late matches holds; the one that blocks is for upload time";
  auto cases = store_->Cases().ListCases(std::nullopt, 10);
  ASSERT_TRUE(cases);
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ(cases->at(0).user_id, "alice");
  EXPECT_EQ(cases->at(0).priority, 1);
  EXPECT_EQ(store_->Cases().GetAccount("alice")->state, "active") << "the at-upload rule's suspension did not fire";
  EXPECT_TRUE(store_->GetContent("unrelated")->matches.empty());
  EXPECT_NE(content->policy_outcome.find(R"("hold":true)"), std::string::npos) << content->policy_outcome;
  auto problems = store_->CheckIntegrity();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty()) << problems->front();

  // The same entries again (a re-run, a second replica): nothing new.
  auto again = retro_->MatchNewEntries(*store_->GetBank("later-list"), added);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->uploads_matched, 0);
  EXPECT_EQ(again->already_matched, 1);
  EXPECT_EQ(store_->Cases().ListCases(std::nullopt, 10)->size(), 1u);

  // The list gains the upload's SHA-256 too: that import found one match, not the earlier one
  // again (its answer counted every late match of the bank the upload had).
  const auto by_digest = Import("sha256," + content->hashes.at("sha256") + ",ext-2,A1\n");
  ASSERT_EQ(by_digest.size(), 1u);
  auto second = retro_->MatchNewEntries(*store_->GetBank("later-list"), by_digest);
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->uploads_matched, 1);
  EXPECT_EQ(second->matches_recorded, 1);
}

// An upload found later moves to the permanent record; the next upload must not take its row
// number (SQLite reused the largest rowid once it was deleted), or the index, which follows rows
// past the last it read, never sees it (an adopter's trial found retroactive matches and sweeps
// silently missing every other upload).
TEST_P(RetroMatcherTest, AnUploadAfterOneMovedToThePermanentRecordIsStillFound) {
  ASSERT_TRUE(index_->Load());
  const std::string first = Submit("first", "alice", 7);
  auto found = retro_->MatchNewEntries(*store_->GetBank("later-list"), Import("pdq," + first + "\n"));
  ASSERT_TRUE(found) << found.error().ToString();
  ASSERT_EQ(found->uploads_matched, 1) << boost::json::serialize(RetroMatchJson(*found));
  const std::string second = Submit("second", "bob", 8);
  auto again = retro_->MatchNewEntries(*store_->GetBank("later-list"), Import("pdq," + second + "\n"));
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->uploads_matched, 1) << "the second upload was not seen";
  EXPECT_EQ(store_->GetContent("second")->matches.size(), 1u);
}

// Videos too: a listed video is searched frame by frame against past uploads' frames, and the
// video rule (as at upload time) decides; an unrelated video is not matched.
TEST_P(RetroMatcherTest, AVideoUploadedBeforeItsListHadItIsFoundByItsFrames) {
  const auto dir = testing::TestDataDir() / "vectors/vpdq/debian-ffmpeg";
  const std::string chair = testing::ReadText(dir / "chair-19-sd-bar.txt");
  RecordVideo("video-before", "alice", chair);
  RecordVideo("other-video", "bob", testing::ReadText(dir / "doorknob-hd-no-bar.txt"));
  ASSERT_TRUE(index_->Load());
  EXPECT_GT(index_->Stats().video_frames, 0u);
  const auto added = Import(chair, "vpdq");
  ASSERT_EQ(added.size(), 1u);
  auto result = retro_->MatchNewEntries(*store_->GetBank("later-list"), added);
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(result->entries_searched, 1);
  EXPECT_EQ(result->uploads_matched, 1);
  auto video = store_->GetContent("video-before");
  ASSERT_TRUE(video);
  ASSERT_EQ(video->matches.size(), 1u);
  EXPECT_EQ(video->matches[0].signal_type, "vpdq");
  EXPECT_TRUE(video->matches[0].retroactive);
  EXPECT_EQ(video->matches[0].distance, 0);
  ASSERT_TRUE(video->matches[0].query_match_percent);
  EXPECT_DOUBLE_EQ(*video->matches[0].query_match_percent, 100.0);
  EXPECT_TRUE(store_->GetContent("other-video")->matches.empty());
  EXPECT_EQ(store_->Cases().ListCases(std::nullopt, 10)->size(), 1u);
}

// The whole sequence for a case a late match opened: decided violating, appealed, overturned,
// and the list imported again: the upload is restored and not matched a second time.
TEST_P(RetroMatcherTest, ACaseALateMatchOpenedIsDecidedAppealedAndSurvivesTheNextImport) {
  ASSERT_TRUE(index_->Load());
  const std::string pdq = Submit("late-case", "hana", 7);
  const std::string list = "pdq," + pdq + ",ext-9,A1\n";
  auto found = retro_->MatchNewEntries(*store_->GetBank("later-list"), Import(list));
  ASSERT_TRUE(found) << found.error().ToString();
  ASSERT_EQ(found->uploads_held, 1);
  const auto case_id = store_->Cases().ListCases(std::nullopt, 10)->at(0).id;
  ASSERT_TRUE(store_->Cases().ClaimCase(case_id, "alice"));
  CaseStore::DecisionRequest decision;
  decision.verdict = Verdict::kViolating;
  decision.reason = "the listed image, found later";
  decision.category.id = "other";
  auto decided = store_->Cases().Decide(case_id, decision, "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_NE(store_->GetContent("late-case")->state, "visible") << "taken down by the decision";
  auto actions = store_->Cases().ListActions("hana");
  ASSERT_TRUE(actions);
  const auto removal = std::find_if(actions->begin(), actions->end(), [](const auto& a) { return a.content_id == "late-case"; });
  ASSERT_NE(removal, actions->end());
  auto appeal = store_->Cases().FileAppeal(removal->id, "mine", "platform");
  ASSERT_TRUE(appeal) << appeal.error().ToString();
  ASSERT_TRUE(store_->Cases().ClaimAppeal(appeal->id, "bob"));
  ASSERT_TRUE(store_->Cases().DecideAppeal(appeal->id, {"overturned", {}, "benign", ""}, "bob"));
  EXPECT_EQ(store_->GetContent("late-case")->state, "restored");
  auto again = retro_->MatchNewEntries(*store_->GetBank("later-list"), Import(list));
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->uploads_matched, 0) << "the list again: nothing new, no second case";
  EXPECT_TRUE(store_->Cases().ListCases(std::nullopt, 10)->empty()) << "no second case opened";
  EXPECT_EQ(store_->Cases().GetCase(case_id)->status, CaseStatus::kDecided);
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

TEST_P(RetroMatcherTest, UploadsOlderThanTheRulesAgeOrTheWindowAreNotActedOn) {
  ASSERT_TRUE(index_->Load());
  const std::string old_pdq = Submit("ninety-days", "carol", 11);
  clock_.now += 90 * kDay;  // past the rule's 60 days, within the index's 180
  auto result = retro_->MatchNewEntries(*store_->GetBank("later-list"), Import("pdq," + old_pdq + "\n"));
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(result->uploads_matched, 1) << "recorded";
  EXPECT_EQ(result->uploads_held, 0) << "but no rule for an upload that old";
  EXPECT_TRUE(store_->GetContent("ninety-days")->matches.at(0).retroactive);

  const std::string older_pdq = Submit("two-hundred-days", "dave", 12);
  clock_.now += 200 * kDay;
  auto outside = retro_->MatchNewEntries(*store_->GetBank("later-list"), Import("pdq," + older_pdq + "\n"));
  ASSERT_TRUE(outside) << outside.error().ToString();
  EXPECT_EQ(outside->uploads_matched, 0) << "past the window";
  EXPECT_TRUE(store_->GetContent("two-hundred-days")->matches.empty());
}

TEST_P(RetroMatcherTest, ADisabledBankMatchesNothingLater) {
  ASSERT_TRUE(index_->Load());
  const std::string pdq = Submit("quiet", "erin", 13);
  const auto added = Import("pdq," + pdq + "\n");
  BankUpdate off;
  off.enabled = false;
  ASSERT_TRUE(store_->UpdateBank("later-list", off, "test"));
  auto result = retro_->MatchNewEntries(*store_->GetBank("later-list"), added);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->uploads_matched, 0);
}

TEST_P(RetroMatcherTest, AnUploadOnAnAllowListHasItsLateMatchesSuppressed) {
  Bank allow;
  allow.name = "allow";
  allow.negative = true;
  ASSERT_TRUE(store_->CreateBank(allow, "test"));
  ASSERT_TRUE(index_->Load());
  const std::string pdq = Submit("a-logo", "frank", 7);
  ListParseOptions parse;
  auto parsed = ParseHashList("csv", "pdq," + pdq + "\n", parse);
  ASSERT_TRUE(parsed);
  ImportRequest request;
  request.format = "csv";
  request.ops = std::move(parsed->ops);
  auto allowed = store_->Import("allow", std::move(request));
  ASSERT_TRUE(allowed) << allowed.error().ToString();
  ASSERT_TRUE(matcher_->Refresh());
  auto none = retro_->MatchNewEntries(*store_->GetBank("allow"), allowed->added_entries);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->uploads_matched, 0) << "an allow-list's entries are not matches";
  auto result = retro_->MatchNewEntries(*store_->GetBank("later-list"), Import("pdq," + pdq + "\n"));
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(result->uploads_matched, 1) << result->candidates << " candidates, " << result->already_matched
                                        << " already matched, " << result->gone << " gone, "
                                        << result->entries_searched << " searched";
  EXPECT_EQ(result->uploads_held, 0) << "suppressed: nothing acts";
  const auto content = store_->GetContent("a-logo");
  ASSERT_TRUE(content);
  ASSERT_EQ(content->matches.size(), 1u);
  EXPECT_NE(content->matches[0].suppressed_by, 0);
}

// An upload matched, blocked and in an open case at upload time gains a late match of another
// entry: recorded in the same case, not blocked twice. (A trial saw the case item's duplicate
// abort the PostgreSQL transaction, and the late matches lost.)
TEST_P(RetroMatcherTest, ALateMatchOfAnUploadAlreadyInACaseJoinsItAndBlocksNothingTwice) {
  ASSERT_TRUE(index_->Load());
  const auto bytes = testing::EncodePng(testing::MakePattern(96, 64, 3, 7));
  auto prepared = workflow_->Prepare({"matched-early", "gina", "", bytes});  // hashes, records nothing
  ASSERT_TRUE(prepared) << prepared.error().ToString();
  const std::string pdq = prepared->content.hashes.at("pdq");
  Import("pdq," + pdq + ",first\n");
  ASSERT_TRUE(matcher_->Refresh());
  auto at_upload = workflow_->Submit({"matched-early", "gina", "", bytes});
  ASSERT_TRUE(at_upload) << at_upload.error().ToString();
  ASSERT_TRUE(at_upload->opened);
  EXPECT_EQ(at_upload->content.state, "blocked");
  std::string near = pdq;
  near[0] = near[0] == '0' ? '1' : '0';
  auto result = retro_->MatchNewEntries(*store_->GetBank("later-list"), Import("pdq," + near + ",second\n"));
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(result->failed, 0) << result->first_error;
  EXPECT_EQ(result->uploads_matched, 1);
  const auto content = store_->GetContent("matched-early");
  ASSERT_TRUE(content);
  EXPECT_EQ(content->matches.size(), 2u);
  EXPECT_EQ(store_->Cases().ListCases(std::nullopt, 10)->size(), 1u);
  auto actions = store_->Cases().ListActions("gina");
  ASSERT_TRUE(actions);
  EXPECT_EQ(std::count_if(actions->begin(), actions->end(), [](const auto& a) { return a.kind == "block_content"; }), 1);
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, RetroMatcherTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace vigil
