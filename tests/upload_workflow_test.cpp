// The upload workflow in-process, on both SQL backends, with its seams faked where a test wants a
// failure (the media hasher, the kept-media store): one behaviour per test.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <thread>

#include "fake_stores.h"
#include "store/media_store.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"
#include "vigil/upload_metadata.h"
#include "workflow/upload_json.h"
#include "workflow/upload_workflow.h"
#include "workflow_fixtures.h"

namespace vigil {
namespace {

using Backend = testing::StoreBackend;

constexpr const char* kRules = R"(
[[rule]]
name = "listed"
banks = ["stand-ins"]
actions = ["block", "hold"]
)";

// A kept-media store that refuses the first `failures` writes, then keeps in a directory.
class FlakyMedia final : public MediaStore {
 public:
  FlakyMedia(std::filesystem::path dir, int failures) : inner_(OpenMediaDirectory(std::move(dir))), failures_(failures) {}
  Status Keep(const std::string& sha256, std::span<const std::uint8_t> bytes) override {
    if (failures_-- > 0) return Fail(ErrorCode::kIoError, "disk full (injected)");
    return inner_->Keep(sha256, bytes);
  }
  Result<std::vector<std::uint8_t>> Read(const std::string& sha256) const override { return inner_->Read(sha256); }
  bool Has(const std::string& sha256) const override { return inner_->Has(sha256); }

 private:
  std::unique_ptr<MediaStore> inner_;
  std::atomic<int> failures_;
};

class UploadWorkflowTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(GetParam(), dir_.path(), postgres_);
    if (store_ == nullptr) return;
    listed_ = testing::EncodePng(testing::MakePattern(96, 64, 3, 7));
    other_ = testing::EncodePng(testing::MakePattern(96, 64, 3, 8));
    testing::ListedMatch(*store_, "stand-ins", "csam", Sha256Hex(listed_));
    matcher_ = std::make_unique<Matcher>(*store_);
    ASSERT_TRUE(matcher_->Load());
    auto rules = PolicyRules::Parse(kRules, "rules.toml");
    ASSERT_TRUE(rules) << rules.error().ToString();
    rules_ = std::make_shared<const PolicyRules>(std::move(*rules));
  }

  std::unique_ptr<UploadWorkflow> Workflow(MediaStore* media, MediaHasher hasher = {}) {
    auto workflow = std::make_unique<UploadWorkflow>(store_->Cases(), *matcher_, std::move(hasher), media, UploadWorkflowOptions{});
    workflow->SetRules(rules_);
    return workflow;
  }

  UploadRequest Upload(const std::string& id, const testing::Bytes& bytes, const std::string& user = "user-1") {
    return {id, user, "", bytes};
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Matcher> matcher_;
  std::shared_ptr<const PolicyRules> rules_;
  testing::Bytes listed_, other_;
};

TEST_P(UploadWorkflowTest, AMatchAppliesThePolicyAndKeepsTheMedia) {
  auto media = OpenMediaDirectory(dir_.path() / "media");
  auto recorded = Workflow(media.get())->Submit(Upload("u-1", listed_));
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  ASSERT_EQ(recorded->content.matches.size(), 1u);
  ASSERT_TRUE(recorded->opened.has_value());
  EXPECT_EQ(recorded->content.state, "blocked");
  EXPECT_TRUE(media->Has(Sha256Hex(listed_)));
}

TEST_P(UploadWorkflowTest, AnUploadThatMatchesNothingIsRecordedAndNothingIsKept) {
  auto media = OpenMediaDirectory(dir_.path() / "media");
  auto recorded = Workflow(media.get())->Submit(Upload("u-1", other_));
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  EXPECT_TRUE(recorded->content.matches.empty());
  EXPECT_FALSE(recorded->opened.has_value());
  EXPECT_EQ(recorded->content.state, "visible");
  EXPECT_FALSE(media->Has(Sha256Hex(other_)));
}

TEST_P(UploadWorkflowTest, AFailureToKeepTheMediaLeavesNothingRecordedAndTheRetrySucceeds) {
  FlakyMedia media(dir_.path() / "media", 1);
  auto workflow = Workflow(&media);
  auto failed = workflow->Submit(Upload("u-1", listed_));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kIoError);
  EXPECT_EQ(store_->GetContent("u-1").error().code, ErrorCode::kNotFound);
  auto cases = store_->Cases().ListCases(std::nullopt, 100);
  ASSERT_TRUE(cases);
  EXPECT_TRUE(cases->empty());
  auto retried = workflow->Submit(Upload("u-1", listed_));
  ASSERT_TRUE(retried) << retried.error().ToString();
  EXPECT_FALSE(retried->replayed);
  EXPECT_TRUE(retried->opened.has_value());
  EXPECT_TRUE(media.Has(Sha256Hex(listed_)));
}

TEST_P(UploadWorkflowTest, ARetryWithTheSameBytesIsAnsweredWithTheFirstOutcome) {
  auto media = OpenMediaDirectory(dir_.path() / "media");
  auto workflow = Workflow(media.get());
  auto first = workflow->Submit(Upload("u-1", listed_));
  ASSERT_TRUE(first) << first.error().ToString();
  auto again = workflow->Submit(Upload("u-1", listed_));
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->content.policy_outcome, first->content.policy_outcome);
  auto cases = store_->Cases().ListCases(std::nullopt, 100);
  ASSERT_TRUE(cases);
  EXPECT_EQ(cases->size(), 1u);
}

TEST_P(UploadWorkflowTest, TheSameIdWithOtherBytesIsRefused) {
  auto workflow = Workflow(nullptr);
  ASSERT_TRUE(workflow->Submit(Upload("u-1", other_)));
  auto clash = workflow->Submit(Upload("u-1", listed_));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(UploadWorkflowTest, AHashingFailureRecordsNothing) {
  auto workflow = Workflow(nullptr, [](std::span<const std::uint8_t>, const MediaHashOptions&) -> Result<HashedMedia> {
    return Fail(ErrorCode::kResourceExhausted, "decoder worker ran out of memory (injected)");
  });
  auto failed = workflow->Submit(Upload("u-1", listed_));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(store_->GetContent("u-1").error().code, ErrorCode::kNotFound);
}

TEST_P(UploadWorkflowTest, BadIdsAreRefusedBeforeAnyByteIsDecoded) {
  int hashed = 0;
  auto workflow = Workflow(nullptr, [&hashed](std::span<const std::uint8_t> bytes, const MediaHashOptions& options) {
    ++hashed;
    return HashMedia(bytes, options);
  });
  for (const std::string& id : {std::string(), std::string(257, 'x'), std::string("a\nb"), std::string("a\0b", 3)}) {
    auto refused = workflow->Submit(Upload(id, listed_));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.error().message.find("content_id"), std::string::npos) << refused.error().message;
  }
  auto bad_user = workflow->Submit(Upload("u-1", listed_, "user\x7f"));
  ASSERT_FALSE(bad_user);
  EXPECT_NE(bad_user.error().message.find("user_id"), std::string::npos);
  EXPECT_EQ(hashed, 0);
}

TEST_P(UploadWorkflowTest, WithoutRulesMatchesAreRecordedAndNothingActs) {
  auto workflow = Workflow(nullptr);
  workflow->SetRules(nullptr);
  auto recorded = workflow->Submit(Upload("u-1", listed_));
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  EXPECT_EQ(recorded->content.matches.size(), 1u);
  EXPECT_FALSE(recorded->opened.has_value());
  EXPECT_EQ(recorded->content.state, "visible");
}

// Several workers (or HTTP threads) recording one user's matched uploads at once open one case
// and add every upload to it; before, the others failed on the one-open-case-per-user index.
TEST_P(UploadWorkflowTest, OneUsersMatchedUploadsRecordedAtOnceShareOneCase) {
  auto workflow = Workflow(nullptr);
  std::vector<testing::Bytes> copies;
  for (int q = 0; q < 8; ++q) copies.push_back(listed_);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (!workflow->Submit(Upload("same-" + std::to_string(i), copies[static_cast<std::size_t>(i)]))) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  auto cases = store_->Cases().ListCases(std::nullopt, 100);
  ASSERT_TRUE(cases);
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ(store_->Cases().GetCase(cases->front().id)->items.size(), 8u);
}

// A second matched upload of an already suspended account does not suspend it again: one action,
// one statement to the user. An upload without a user suspends no account (there is none).
TEST_P(UploadWorkflowTest, ASuspendedAccountIsNotSuspendedAgainAndNoUserIsNeverSuspended) {
  auto rules = PolicyRules::Parse(R"(
[[rule]]
name = "listed"
banks = ["stand-ins"]
actions = ["block", "hold", "suspend"]
)",
                                  "rules.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  rules_ = std::make_shared<const PolicyRules>(std::move(*rules));
  auto workflow = Workflow(nullptr);
  ASSERT_TRUE(workflow->Submit(Upload("a-1", listed_, "alice")));
  ASSERT_TRUE(workflow->Submit(Upload("a-2", listed_, "alice")));
  auto actions = store_->Cases().ListActions("alice");
  ASSERT_TRUE(actions);
  int suspensions = 0;
  for (const auto& a : *actions) suspensions += a.kind == "suspend_account";
  EXPECT_EQ(suspensions, 1);
  EXPECT_EQ(store_->Cases().GetAccount("alice")->state, "suspended");
  auto anonymous = workflow->Submit(Upload("n-1", listed_, ""));
  ASSERT_TRUE(anonymous) << anonymous.error().ToString();
  EXPECT_NE(anonymous->content.policy_outcome.find(R"("account_action":"none")"), std::string::npos)
      << "the answer says what was done: " << anonymous->content.policy_outcome;
  auto none = store_->Cases().ListActions("");
  ASSERT_TRUE(none);
  for (const auto& a : *none) EXPECT_NE(a.kind, "suspend_account");
  EXPECT_EQ(store_->Cases().GetAccount("")->state, "active");
}

// A known false positive (a logo on a third-party list): an allow-list (negative bank) holding it
// suppresses the other banks' matches. They are recorded, marked, and nothing acts on them.
TEST_P(UploadWorkflowTest, AnUploadOnAnAllowListHasItsMatchesRecordedAsSuppressedAndNothingActs) {
  Bank allow;
  allow.name = "known-logos";
  allow.negative = true;
  ASSERT_TRUE(store_->CreateBank(allow, "test"));
  EXPECT_TRUE(store_->GetBank("known-logos")->negative);
  testing::ListedMatch(*store_, "known-logos", "", Sha256Hex(listed_));
  ASSERT_TRUE(matcher_->Refresh());
  auto workflow = Workflow(nullptr);
  auto recorded = workflow->Submit(Upload("logo-1", listed_));
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  ASSERT_EQ(recorded->content.matches.size(), 1u) << "the listed bank's match, not the allow-list's";
  const auto& match = recorded->content.matches[0];
  EXPECT_EQ(match.bank_name, "stand-ins");
  EXPECT_NE(match.suppressed_by, 0) << "suppressed by the allow-list's entry";
  EXPECT_FALSE(recorded->opened) << "no case";
  EXPECT_EQ(recorded->content.state, "visible") << "not blocked";
  EXPECT_TRUE(UploadAnswer(recorded->content).at("matches").as_array()[0].as_object().contains("suppressed_by"));
  EXPECT_TRUE(store_->Cases().ListCases(std::nullopt, 10)->empty());
  // Another upload the allow-list does not hold is acted on as before.
  auto other = workflow->Submit(Upload("other-1", other_));
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->content.matches.empty());
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

// Flood quarantine: an entry matching uploads of many accounts at once (a junk entry on a list) is
// quarantined at the threshold; its matches are then held for review, not acted on, until a
// person releases it.
TEST_P(UploadWorkflowTest, AnEntryMatchingManyAccountsAtOnceIsQuarantinedAndItsMatchesHeldUntilReleased) {
  testing::TempDir dir;
  testing::TestPostgres postgres;
  StoreOptions options;
  options.workflow.quarantine_distinct_users = 3;
  auto store = testing::OpenTestStore(GetParam(), dir.path(), postgres, options);
  if (store == nullptr) return;
  testing::ListedMatch(*store, "stand-ins", "csam", Sha256Hex(listed_));
  Matcher matcher(*store);
  ASSERT_TRUE(matcher.Load());
  auto rules = PolicyRules::Parse(R"(
[[rule]]
name = "listed"
banks = ["stand-ins"]
actions = ["block", "hold", "suspend"]
)",
                                  "rules.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  UploadWorkflow workflow(store->Cases(), matcher, {}, nullptr, UploadWorkflowOptions{});
  workflow.SetRules(std::make_shared<const PolicyRules>(std::move(*rules)));
  auto submit = [&](const std::string& id, const std::string& user) {
    auto recorded = workflow.Submit({id, user, "", listed_});
    EXPECT_TRUE(recorded) << recorded.error().ToString();
    return recorded ? recorded->content : ContentRecord{};
  };
  EXPECT_EQ(submit("q-1", "u1").state, "blocked");
  EXPECT_EQ(submit("q-2", "u2").state, "blocked");
  const auto third = submit("q-3", "u3");  // the third account: the entry is quarantined
  EXPECT_EQ(third.state, "visible") << "held, not blocked";
  ASSERT_EQ(third.matches.size(), 1u);
  EXPECT_TRUE(third.matches[0].quarantined);
  EXPECT_EQ(store->Cases().GetAccount("u3")->state, "active") << "no automatic suspension";
  EXPECT_NE(third.policy_outcome.find("flood-quarantine"), std::string::npos) << third.policy_outcome;
  auto quarantined = store->Cases().ListQuarantine();
  ASSERT_TRUE(quarantined) << quarantined.error().ToString();
  ASSERT_EQ(quarantined->size(), 1u);
  EXPECT_EQ(quarantined->at(0).distinct_users, 3);
  EXPECT_EQ(submit("q-4", "u4").state, "visible") << "still quarantined";
  auto cases = store->Cases().ListCases(std::nullopt, 10);
  ASSERT_TRUE(cases);
  EXPECT_EQ(cases->size(), 4u) << "every upload is in front of a reviewer";

  ASSERT_TRUE(store->Cases().ReleaseQuarantine(quarantined->at(0).entry_id, "curator"));
  EXPECT_TRUE(store->Cases().ListQuarantine()->empty());
  EXPECT_EQ(store->Cases().ReleaseQuarantine(quarantined->at(0).entry_id, "curator").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(submit("q-5", "u5").state, "blocked") << "released: matches before the release no longer count";
  EXPECT_TRUE(store->CheckIntegrity()->empty());
}

// Uploads that matched nothing are recorded many to a transaction (stream workers); each gets the
// answer Submit would give, and the same JSON again when it is retried, so a republished result
// is byte-for-byte the first.
TEST_P(UploadWorkflowTest, UploadsThatMatchedNothingAreRecordedTogetherAndRetriesGetTheSameAnswer) {
  auto workflow = Workflow(nullptr);
  std::vector<testing::Bytes> images;
  for (std::uint32_t i = 0; i < 5; ++i) images.push_back(testing::EncodePng(testing::MakePattern(80, 60, 3, 100 + i)));
  std::vector<PreparedUpload> prepared;
  for (std::size_t i = 0; i < images.size(); ++i) {
    auto p = workflow->Prepare(Upload("batch-" + std::to_string(i), images[i]));
    ASSERT_TRUE(p) << p.error().ToString();
    ASSERT_TRUE(p->content.matches.empty());
    prepared.push_back(std::move(*p));
  }
  prepared.push_back(prepared[1]);  // the same upload twice in one batch: the second is a retry
  auto first = workflow->RecordUnmatched(prepared);
  ASSERT_EQ(first.size(), prepared.size());
  for (std::size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(first[i]) << first[i].error().ToString();
    EXPECT_FALSE(first[i]->replayed);
    EXPECT_EQ(first[i]->content.state, "visible");
  }
  ASSERT_TRUE(first[5]);
  EXPECT_TRUE(first[5]->replayed);
  auto again = workflow->RecordUnmatched(std::span(prepared).first(5));
  for (std::size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(again[i]) << again[i].error().ToString();
    EXPECT_TRUE(again[i]->replayed);
    EXPECT_EQ(boost::json::serialize(UploadAnswer(again[i]->content)), boost::json::serialize(UploadAnswer(first[i]->content)));
  }
  // As Submit answers them: the same record.
  auto submitted = workflow->Submit(Upload("batch-2", images[2]));
  ASSERT_TRUE(submitted);
  EXPECT_EQ(boost::json::serialize(UploadAnswer(submitted->content)), boost::json::serialize(UploadAnswer(first[2]->content)));
  // The same id with other bytes is a conflict; an upload with matches must be recorded alone.
  auto other = workflow->Prepare(Upload("batch-0", images[4]));
  auto listed = workflow->Prepare(Upload("listed-1", listed_));
  ASSERT_TRUE(other && listed);
  ASSERT_FALSE(listed->content.matches.empty());
  auto mixed = workflow->RecordUnmatched(std::vector<PreparedUpload>{*other, *listed});
  ASSERT_FALSE(mixed[0]);
  EXPECT_EQ(mixed[0].error().code, ErrorCode::kAlreadyExists);
  ASSERT_FALSE(mixed[1]);
  EXPECT_EQ(mixed[1].error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->GetContent("listed-1").error().code, ErrorCode::kNotFound);
}

TEST(MediaDirectory, RefusesNamesThatAreNotSha256AndReadsBackWhatItKept) {
  testing::TempDir dir;
  auto media = OpenMediaDirectory(dir.path() / "media", 16);
  const std::vector<std::uint8_t> bytes = {1, 2, 3};
  for (const std::string& name : {std::string("../etc/passwd"), std::string(64, 'A'), std::string(63, 'a'), std::string()}) {
    EXPECT_EQ(media->Keep(name, bytes).error().code, ErrorCode::kInvalidArgument) << name;
    EXPECT_FALSE(media->Has(name));
  }
  const std::string name = Sha256Hex(bytes);
  EXPECT_EQ(media->Read(name).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(media->Keep(std::string(64, 'a'), bytes).error().code, ErrorCode::kInvalidArgument);  // not their SHA-256
  ASSERT_TRUE(media->Keep(name, bytes));
  ASSERT_TRUE(media->Keep(name, bytes));  // kept already
  EXPECT_EQ(*media->Read(name), bytes);
  const std::vector<std::uint8_t> big(17, 0);
  EXPECT_EQ(media->Keep(Sha256Hex(big), big).error().code, ErrorCode::kTooLarge);
}

// A kept file changed on disk (damage, tampering) is refused, not shown to a reviewer or sent in a
// report as the upload.
TEST(MediaDirectory, AKeptFileChangedOnDiskIsRefusedAsCorrupt) {
  testing::TempDir dir;
  auto media = OpenMediaDirectory(dir.path() / "media");
  const std::vector<std::uint8_t> bytes = {1, 2, 3};
  const std::string name = Sha256Hex(bytes);
  ASSERT_TRUE(media->Keep(name, bytes));
  std::filesystem::permissions(dir.path() / "media" / name, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  testing::WriteFile(dir.path() / "media" / name, {9, 9, 9});
  auto read = media->Read(name);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kCorrupt);
}

INSTANTIATE_TEST_SUITE_P(Backends, UploadWorkflowTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

// The same workflow over in-memory fakes (tests/fake_stores.h): no database, the matcher following
// a FakeEntryFeed and the upload recorded by a FakeUploadRecorder. What the workflow itself owns
// (hashing, matching, handing the recorder the policy and the media) shows without a store.
class UploadWorkflowOnFakes : public ::testing::Test {
 protected:
  void SetUp() override {
    listed_ = testing::EncodePng(testing::MakePattern(96, 64, 3, 7));
    other_ = testing::EncodePng(testing::MakePattern(96, 64, 3, 8));
    const std::int64_t bank = feed_.AddBank("stand-ins", "csam");
    feed_.AddEntry(bank, "sha256", Sha256Hex(listed_));
    ASSERT_TRUE(matcher_.Load());
    auto rules = PolicyRules::Parse(kRules, "rules.toml");
    ASSERT_TRUE(rules) << rules.error().ToString();
    workflow_ = std::make_unique<UploadWorkflow>(recorder_, matcher_, HashMedia, nullptr, UploadWorkflowOptions{});
    workflow_->SetRules(std::make_shared<const PolicyRules>(std::move(*rules)));
  }

  UploadRequest Upload(const std::string& id, const testing::Bytes& bytes) { return {id, "user-1", "", bytes}; }

  testing::TempDir dir_;
  testing::FakeEntryFeed feed_;
  testing::FakeUploadRecorder recorder_{feed_};
  Matcher matcher_{feed_};
  std::unique_ptr<UploadWorkflow> workflow_;
  testing::Bytes listed_, other_;
};

TEST_F(UploadWorkflowOnFakes, AMatchReachesTheRecorderWithThePolicysOutcome) {
  auto recorded = workflow_->Submit(Upload("u-1", listed_));
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  ASSERT_EQ(recorder_.calls, 1);
  const ContentRecord& content = recorder_.recorded.at("u-1").content;
  ASSERT_EQ(content.matches.size(), 1u);
  EXPECT_EQ(content.matches[0].signal_type, "sha256");
  EXPECT_EQ(content.hashes.at("sha256"), Sha256Hex(listed_));
  EXPECT_EQ(content.media_type, "image/png");
  EXPECT_EQ(recorded->content.state, "blocked");
  EXPECT_TRUE(recorded->opened.has_value());
}

TEST_F(UploadWorkflowOnFakes, AnUploadThatMatchesNothingIsRecordedWithoutACase) {
  auto recorded = workflow_->Submit(Upload("u-1", other_));
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  EXPECT_TRUE(recorder_.recorded.at("u-1").content.matches.empty());
  EXPECT_FALSE(recorded->opened.has_value());
  EXPECT_EQ(recorded->content.state, "visible");
}

TEST_F(UploadWorkflowOnFakes, AnUndecodableUploadNeverReachesTheRecorder) {
  const testing::Bytes junk = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'};
  auto recorded = workflow_->Submit(Upload("u-1", junk));
  ASSERT_FALSE(recorded);
  EXPECT_EQ(recorded.error().code, ErrorCode::kUnsupported) << recorded.error().ToString();
  EXPECT_EQ(recorder_.calls, 0);
}

TEST_F(UploadWorkflowOnFakes, AFailureToKeepTheMediaLeavesNothingRecordedAndTheRetrySucceeds) {
  FlakyMedia media(dir_.path() / "media", 1);
  UploadWorkflow workflow(recorder_, matcher_, HashMedia, &media, UploadWorkflowOptions{});
  workflow.SetRules(workflow_->Rules());
  auto failed = workflow.Submit(Upload("u-1", listed_));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kIoError);
  EXPECT_EQ(recorder_.recorded.count("u-1"), 0u);
  auto retried = workflow.Submit(Upload("u-1", listed_));
  ASSERT_TRUE(retried) << retried.error().ToString();
  EXPECT_TRUE(retried->opened.has_value());
  EXPECT_TRUE(media.Has(Sha256Hex(listed_)));
}

// The metadata keys Vigil reads are checked when the upload arrives: an ip_event without an ip used
// to be accepted and made the case's CyberTipline report fail to draft later.
TEST_F(UploadWorkflowOnFakes, MetadataVigilReadsIsCheckedWhenTheUploadArrives) {
  for (const char* bad : {R"({"ip_event":{"event":"Login"}})", R"({"jurisdiction":5})",
                          R"({"ip_event":{"ip":"192.0.2.1","at":"yesterday"}})", R"({"publicly_available":"yes"})", "[1]"}) {
    auto refused = workflow_->Submit({"u-bad", "user-1", bad, listed_});
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(recorder_.calls, 0);
  auto ok = workflow_->Submit({"u-1", "user-1", R"({"surface":"dm","jurisdiction":"DE","ip_event":{"ip":"192.0.2.1","at":"2026-11-30T10:00:00Z"}})", listed_});
  ASSERT_TRUE(ok) << ok.error().ToString();
  auto parsed = ParseUploadMetadata(recorder_.recorded.at("u-1").content.metadata_json);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->jurisdiction, "DE");
  ASSERT_TRUE(parsed->ip_event.has_value());
  EXPECT_EQ(parsed->ip_event->event, "Upload");
  EXPECT_EQ(parsed->ip_event->at, std::int64_t{1796032800} * 1000000);
}

TEST_F(UploadWorkflowOnFakes, AnEntryTheFeedRemovesStopsMatchingAfterARefresh) {
  feed_.RemoveEntry(1);
  ASSERT_TRUE(matcher_.Refresh());
  auto recorded = workflow_->Submit(Upload("u-1", listed_));
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  EXPECT_TRUE(recorded->content.matches.empty());
}

TEST_F(UploadWorkflowOnFakes, AFeedThatFailsLeavesTheMatcherAsItWas) {
  feed_.FailNextCall();
  auto refreshed = matcher_.Refresh();
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code, ErrorCode::kUnavailable);
  auto recorded = workflow_->Submit(Upload("u-1", listed_));
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  EXPECT_EQ(recorded->content.matches.size(), 1u);
}

}  // namespace
}  // namespace vigil
