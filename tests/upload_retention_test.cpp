// Uploads that matched nothing: kept apart from the permanent record (`uploads`, partitioned by day
// on PostgreSQL), recorded once per content id across both tables, and removed after the retention
// window except those of accounts with a case or an action. Run on both backends, as store_test.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "test_images.h"
#include "store/schema.h"
#include "store/sql_connection.h"
#include "store/upload_retention.h"
#include "test_postgres.h"
#include "vigil/cases.h"
#include "vigil/clock.h"
#include "vigil/hash_list.h"
#include "vigil/policy.h"
#include "vigil/store.h"

namespace vigil {
namespace {

constexpr std::int64_t kDay = 86'400'000'000;

class SettableClock final : public Clock {
 public:
  std::int64_t NowMicros() const override { return now.load(); }
  std::atomic<std::int64_t> now{std::int64_t{1767225600} * 1000000 + 3'600'000'000};  // 2026-01-01 01:00 UTC
};

enum class Backend { kSqlite, kPostgres };

ContentRecord Upload(const std::string& id, const std::string& user, char byte = 'a') {
  ContentRecord c;
  c.content_id = id;
  c.user_id = user;
  c.media_type = "image/jpeg";
  c.byte_size = 100;
  c.hashes = {{"sha256", std::string(64, byte)}, {"pdq", std::string(64, 'f')}};
  c.pdq_quality = 90;
  c.metadata_json = "{}";
  return c;
}

class UploadRetentionTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      postgres_.Create();
      if (IsSkipped() || HasFatalFailure()) return;
      options_.postgres_url = postgres_.url();
    } else {
      options_.sqlite_path = (dir_.path() / "vigil.db").string();
    }
    options_.clock = &clock_;
    options_.pool_size = 8;
    auto store = Store::Open(options_);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
  }

  bool Postgres() const { return GetParam() == Backend::kPostgres; }

  std::unique_ptr<store::SqlConnection> Connect() {
    auto db = Postgres() ? store::OpenPostgres(options_.postgres_url) : store::OpenSqlite(options_.sqlite_path);
    EXPECT_TRUE(db) << db.error().ToString();
    return db ? std::move(*db) : nullptr;
  }

  std::int64_t Count(const std::string& sql) {
    auto db = Connect();
    auto rows = db->Query(sql);
    EXPECT_TRUE(rows) << rows.error().ToString();
    return rows ? rows->at(0).Int(0) : -1;
  }

  // A matched upload of `user` whose policy holds it: opens a case for the account.
  void RecordMatchedWithCase(const std::string& id, const std::string& user) {
    Bank bank;
    bank.name = "b-" + id;
    ASSERT_TRUE(store_->CreateBank(bank, "test"));
    ListParseOptions parse;
    auto parsed = ParseHashList("csv", "pdq," + std::string(63, '0') + "1,ext\n", parse);
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    ImportRequest request;
    request.format = "csv";
    request.ops = std::move(parsed->ops);
    auto imported = store_->Import(bank.name, std::move(request));
    ASSERT_TRUE(imported) << imported.error().ToString();
    ContentRecord c = Upload(id, user, 'm');
    MatchRecord match;
    match.bank_id = store_->GetBank(bank.name)->id;
    match.entry_id = imported->added_entries.at(0).id;
    match.signal_type = "pdq";
    match.distance = 1;
    c.matches.push_back(match);
    UploadPolicy policy;
    policy.evaluate = [](const ContentFacts&) {
      PolicyOutcome outcome;
      outcome.hold = true;
      outcome.rules = {"hold"};
      return outcome;
    };
    auto recorded = store_->Cases().RecordUpload(c, policy, "test");
    ASSERT_TRUE(recorded) << recorded.error().ToString();
    ASSERT_TRUE(recorded->opened);
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  SettableClock clock_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_P(UploadRetentionTest, UnmatchedUploadsAreKeptApartAndReadBackLikeAnyOther) {
  ASSERT_TRUE(store_->Cases().RecordUpload(Upload("one", "u1"), {}, "test"));
  auto batch = store_->Cases().RecordUnmatchedUploads(std::vector{Upload("two", "u1"), Upload("three", "u2")});
  for (const auto& r : batch) ASSERT_TRUE(r) << r.error().ToString();
  RecordMatchedWithCase("four", "u3");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM uploads"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM content"), 1) << "only what matched is in the permanent record";
  auto two = store_->GetContent("two");
  ASSERT_TRUE(two) << two.error().ToString();
  EXPECT_EQ(two->user_id, "u1");
  EXPECT_EQ(two->hashes.at("sha256"), std::string(64, 'a'));
  EXPECT_EQ(two->state, "visible");
  EXPECT_TRUE(two->matches.empty());
  EXPECT_EQ(batch[0]->content.content_id, "two");
  EXPECT_EQ(batch[0]->content.submitted_at, two->submitted_at);
  auto matched = store_->ListMatchedContent(0, 10);
  ASSERT_TRUE(matched);
  ASSERT_EQ(matched->size(), 1u);
  EXPECT_EQ(matched->at(0).content_id, "four");
  auto problems = store_->CheckIntegrity();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
}

// A redelivered event after a bank change matches where the first delivery did not: it must get
// the first answer, not a second record (and the other way round).
TEST_P(UploadRetentionTest, AContentIdIsRecordedOnceAcrossBothTables) {
  ASSERT_TRUE(store_->Cases().RecordUpload(Upload("first-unmatched", "u1"), {}, "test"));
  RecordMatchedWithCase("first-matched", "u2");

  ContentRecord now_matching = Upload("first-unmatched", "u1");
  MatchRecord match;
  match.bank_id = 1;
  match.entry_id = 1;
  match.signal_type = "pdq";
  now_matching.matches.push_back(match);
  auto again = store_->Cases().RecordUpload(now_matching, {}, "test");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_TRUE(again->replayed);
  EXPECT_TRUE(again->content.matches.empty()) << "the first answer";

  auto unmatched_again = store_->Cases().RecordUnmatchedUploads(std::vector{Upload("first-matched", "u2", 'm')});
  ASSERT_TRUE(unmatched_again[0]) << unmatched_again[0].error().ToString();
  EXPECT_TRUE(unmatched_again[0]->replayed);
  EXPECT_EQ(unmatched_again[0]->content.matches.size(), 1u) << "the first answer";

  auto other_bytes = store_->Cases().RecordUnmatchedUploads(std::vector{Upload("first-unmatched", "u1", 'z')});
  ASSERT_FALSE(other_bytes[0]);
  EXPECT_EQ(other_bytes[0].error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM uploads"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM content"), 1);
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

// PostgreSQL has no unique index across partitions: ids are locked while they are looked up and
// written. Eight writers with overlapping batches record each id once.
TEST_P(UploadRetentionTest, WritersOfTheSameIdsAtOnceRecordEachOnce) {
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      for (int round = 0; round < 10; ++round) {
        std::vector<ContentRecord> batch;
        for (int k = 0; k < 16; ++k) {
          const int id = (round * 7 + k * (w % 2 == 0 ? 1 : 3)) % 40;
          batch.push_back(Upload("id-" + std::to_string(id), "u" + std::to_string(id)));
        }
        for (const auto& r : store_->Cases().RecordUnmatchedUploads(batch)) {
          if (!r) failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM uploads"), Count("SELECT COUNT(DISTINCT content_id) FROM uploads"));
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

TEST_P(UploadRetentionTest, RetentionRemovesOldUnmatchedUploadsButKeepsThoseOfAccountsWithACase) {
  ASSERT_TRUE(store_->MaintainUploads({}));  // today's partitions first, as a running service has them
  ASSERT_TRUE(store_->Cases().RecordUpload(Upload("old-a", "a"), {}, "test"));
  ASSERT_TRUE(store_->Cases().RecordUpload(Upload("old-b", "b"), {}, "test"));
  RecordMatchedWithCase("b-matched", "b");  // the account b now has a case
  clock_.now += 95 * kDay;
  ASSERT_TRUE(store_->Cases().RecordUpload(Upload("recent-a", "a"), {}, "test"));

  UploadRetention ninety;
  ninety.keep_days = 90;
  auto pass = store_->MaintainUploads(ninety);
  ASSERT_TRUE(pass) << pass.error().ToString();
  EXPECT_FALSE(pass->skipped);
  EXPECT_EQ(pass->uploads_removed, 1);
  EXPECT_EQ(pass->uploads_kept, 1);
  EXPECT_EQ(store_->GetContent("old-a").error().code, ErrorCode::kNotFound) << "past the window";
  auto kept = store_->GetContent("old-b");
  ASSERT_TRUE(kept) << "an account with a case keeps its uploads";
  EXPECT_NE(kept->id, 0) << "moved into the permanent record";
  EXPECT_TRUE(store_->GetContent("recent-a"));
  if (Postgres()) {
    EXPECT_EQ(pass->partitions_dropped.front(), "uploads_p20260101");
    EXPECT_EQ(pass->partitions_created.front(), store::UploadPartitionName(clock_.now));
    std::set<std::string> names;
    for (const auto& p : pass->partitions) names.insert(p.name);
    EXPECT_FALSE(names.contains("uploads_p20260101"));
    EXPECT_TRUE(names.contains("uploads_default"));
    EXPECT_TRUE(names.contains(store::UploadPartitionName(clock_.now + 3 * kDay)));
  }
  // A second pass finds nothing more to do; the permanent record keeps its rows.
  auto again = store_->MaintainUploads(ninety);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->uploads_removed, 0);
  EXPECT_TRUE(again->partitions_created.empty());
  EXPECT_TRUE(store_->GetContent("b-matched"));
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

TEST_P(UploadRetentionTest, RetentionOfZeroDaysKeepsEverything) {
  ASSERT_TRUE(store_->Cases().RecordUpload(Upload("old", "a"), {}, "test"));
  clock_.now += 3650 * kDay;
  UploadRetention forever;
  forever.keep_days = 0;
  auto pass = store_->MaintainUploads(forever);
  ASSERT_TRUE(pass) << pass.error().ToString();
  EXPECT_EQ(pass->uploads_removed, 0);
  EXPECT_TRUE(store_->GetContent("old"));
  UploadRetention negative;
  negative.keep_days = -1;
  EXPECT_EQ(store_->MaintainUploads(negative).error().code, ErrorCode::kInvalidArgument);
}

// An account that gets a case while a pass runs: the pass waits for nothing and removes nothing of
// it while the case's transaction is open (its step cannot take its locks), and the next pass keeps
// its old uploads. (A trial saw a case opened mid-pass and the account's old uploads dropped.)
TEST_P(UploadRetentionTest, AnAccountThatGetsACaseDuringAPassKeepsItsOldUploads) {
  if (!Postgres()) GTEST_SKIP() << "SQLite has one writer at a time";
  ASSERT_TRUE(store_->Cases().RecordUpload(Upload("late-held-old", "late"), {}, "test"));
  clock_.now += 100 * kDay;
  auto other = Connect();
  ASSERT_TRUE(other->Execute("BEGIN"));
  ASSERT_TRUE(other->Execute("INSERT INTO cases (user_id, status, priority, sla_due, created_at, updated_at) VALUES "
                             "('late', 'open', 1, 0, 0, 0)"));
  UploadRetention ninety;
  ninety.keep_days = 90;
  auto during = store_->MaintainUploads(ninety);
  EXPECT_FALSE(during) << "the pass cannot decide whose uploads to keep while a case is being opened";
  EXPECT_TRUE(store_->GetContent("late-held-old")) << "nothing removed meanwhile";
  ASSERT_TRUE(other->Execute("COMMIT"));
  auto after = store_->MaintainUploads(ninety);
  ASSERT_TRUE(after) << after.error().ToString();
  EXPECT_EQ(after->uploads_kept, 1);
  EXPECT_TRUE(store_->GetContent("late-held-old"));
}

// The service's own test met a deadlock: an upload's recording (its upload row, then its case)
// against a maintenance pass making a day's partition (which held the cases, then waited for the
// uploads table). Making a partition decides nothing about accounts, so it takes no lock on cases
// and does not wait for a case being opened.
TEST_P(UploadRetentionTest, MakingADaysPartitionDoesNotWaitForACaseBeingOpened) {
  if (!Postgres()) GTEST_SKIP() << "partitions are PostgreSQL's";
  clock_.now += 10 * kDay;  // a day without its partition yet
  auto other = Connect();
  ASSERT_TRUE(other->Execute("BEGIN"));
  ASSERT_TRUE(other->Execute("INSERT INTO cases (user_id, status, priority, sla_due, created_at, updated_at) VALUES "
                             "('opening', 'open', 1, 0, 0, 0)"));
  UploadRetention keep;  // retention off: only partitions are made
  keep.keep_days = 0;
  keep.partitions_ahead_days = 1;
  auto pass = store_->MaintainUploads(keep);
  ASSERT_TRUE(pass) << pass.error().ToString();
  EXPECT_FALSE(pass->partitions_created.empty());
  ASSERT_TRUE(other->Execute("COMMIT"));
}

// A case about an upload without a user id does not make every anonymous upload "held".
TEST_P(UploadRetentionTest, AnonymousUploadsAreNotKeptBecauseOneAnonymousUploadHasACase) {
  ASSERT_TRUE(store_->Cases().RecordUpload(Upload("anon-old", ""), {}, "test"));
  RecordMatchedWithCase("anon-matched", "");
  clock_.now += 100 * kDay;
  UploadRetention ninety;
  ninety.keep_days = 90;
  auto pass = store_->MaintainUploads(ninety);
  ASSERT_TRUE(pass) << pass.error().ToString();
  EXPECT_EQ(pass->uploads_kept, 0);
  EXPECT_EQ(store_->GetContent("anon-old").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetContent("anon-matched"));
}

// A partition named like a day but bounded otherwise was not made by the maintenance: left alone.
TEST_P(UploadRetentionTest, APartitionWhoseBoundsAreNotItsNamesDayIsNotDropped) {
  if (!Postgres()) GTEST_SKIP() << "PostgreSQL partitions only";
  auto db = Connect();
  const std::int64_t far = clock_.now.load() + 500 * kDay;
  ASSERT_TRUE(db->Execute("CREATE TABLE uploads_p20200102 PARTITION OF uploads FOR VALUES FROM (" + std::to_string(far) +
                          ") TO (" + std::to_string(far + kDay) + ")"));
  UploadRetention ninety;
  ninety.keep_days = 90;
  auto pass = store_->MaintainUploads(ninety);
  ASSERT_TRUE(pass) << pass.error().ToString();
  EXPECT_TRUE(std::find(pass->partitions_dropped.begin(), pass->partitions_dropped.end(), "uploads_p20200102") ==
              pass->partitions_dropped.end());
  ASSERT_EQ(pass->warnings.size(), 1u);
  EXPECT_NE(pass->warnings[0].find("uploads_p20200102"), std::string::npos);
  const auto listed = std::find_if(pass->partitions.begin(), pass->partitions.end(),
                                   [](const UploadPartition& p) { return p.name == "uploads_p20200102"; });
  ASSERT_NE(listed, pass->partitions.end());
  EXPECT_EQ(listed->from, far) << "the bounds it has, not the day its name says";
}

// A host whose clock is far off the database's would drop today's uploads (ahead) or record times
// retention takes for old (behind): refused.
TEST_P(UploadRetentionTest, AHostClockFarOffTheDatabasesIsRefused) {
  if (!Postgres()) GTEST_SKIP() << "SQLite has no other clock";
  auto db = Connect();
  SettableClock ahead;
  ahead.now = SystemClock().NowMicros() + 60 * kDay;
  auto refused = store::CheckClockOn(*db, ahead);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("ahead of"), std::string::npos) << refused.error().message;
  SettableClock behind;
  behind.now = SystemClock().NowMicros() - 40 * kDay;
  EXPECT_NE(store::CheckClockOn(*db, behind).error().message.find("behind"), std::string::npos);
  EXPECT_TRUE(store::CheckClockOn(*db, SystemClock()));
}

// Uploads of a day no partition was made for land in the default partition; making that day's
// partition later moves them into it.
TEST_P(UploadRetentionTest, ADaysUploadsInTheDefaultPartitionMoveWhenItsPartitionIsMade) {
  if (!Postgres()) GTEST_SKIP() << "PostgreSQL partitions only";
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->Cases().RecordUpload(Upload("d" + std::to_string(i), "a"), {}, "t"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM uploads_default"), 5);
  auto pass = store_->MaintainUploads({});
  ASSERT_TRUE(pass) << pass.error().ToString();
  const std::string today = store::UploadPartitionName(clock_.now);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM uploads_default"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM " + today), 5);
  EXPECT_TRUE(store_->GetContent("d3"));
  EXPECT_EQ(pass->partitions_created.size(), 4u) << "today and three days ahead";
}

// Several replicas run the maintenance on their own schedule: one does it, the others skip.
TEST_P(UploadRetentionTest, APassWhileAnotherReplicaMaintainsSkips) {
  if (!Postgres()) GTEST_SKIP() << "one process per SQLite database";
  auto other = Connect();
  ASSERT_TRUE(other->Execute("BEGIN"));
  ASSERT_TRUE(other->Query("SELECT pg_advisory_xact_lock(7215002)"));
  auto pass = store_->MaintainUploads({});
  ASSERT_TRUE(pass) << pass.error().ToString();
  EXPECT_TRUE(pass->skipped);
  ASSERT_TRUE(other->Execute("ROLLBACK"));
  pass = store_->MaintainUploads({});
  ASSERT_TRUE(pass);
  EXPECT_FALSE(pass->skipped);
}

// Schema 8 moves what an older release stored about uploads that matched nothing out of the
// permanent record; what matched or was acted on stays.
TEST_P(UploadRetentionTest, SchemaEightMovesUnmatchedUploadsOutOfThePermanentRecord) {
  testing::TempDir dir;
  testing::TestPostgres fresh;
  StoreOptions options;
  std::unique_ptr<store::SqlConnection> db;
  if (Postgres()) {
    fresh.Create();
    if (IsSkipped() || HasFatalFailure()) return;
    options.postgres_url = fresh.url();
    db = std::move(*store::OpenPostgres(fresh.url()));
  } else {
    options.sqlite_path = (dir.path() / "old.db").string();
    db = std::move(*store::OpenSqlite(options.sqlite_path));
  }
  ASSERT_TRUE(store::Migrate(*db, 7));
  const char* old_rows[] = {
      "INSERT INTO banks (id, name, created_at, updated_at) VALUES (1, 'old', 1, 1)",
      "INSERT INTO bank_entries (id, bank_id, signal_type, value, added_at) VALUES (1, 1, 'md5', "
      "'00000000000000000000000000000001', 1)",
      "INSERT INTO content (id, content_id, user_id, submitted_at, outcome) VALUES (1, 'plain', 'u1', 10, NULL), "
      "(2, 'matched', 'u1', 11, '{}'), (3, 'acted-on', 'u2', 12, NULL)",
      "INSERT INTO matches (content_row, bank_id, entry_id, signal_type, distance, matched_at) VALUES (2, 1, 1, 'md5', 0, 11)",
      "INSERT INTO actions (user_id, content_id, kind, ground, facts, automated, redress, actor, created_at) VALUES "
      "('u2', 'acted-on', 'block_content', 'g', 'f', 1, 'r', 'system', 12)",
  };
  for (const char* sql : old_rows) ASSERT_TRUE(db->Execute(sql)) << sql;
  db.reset();
  auto store = Store::Open(options);
  ASSERT_TRUE(store) << store.error().ToString();
  EXPECT_EQ(*(*store)->SchemaVersion(), store::LatestSchemaVersion());
  EXPECT_EQ((*store)->GetContent("plain")->id, 0) << "moved to uploads";
  EXPECT_EQ((*store)->GetContent("plain")->submitted_at, 10);
  EXPECT_EQ((*store)->GetContent("matched")->id, 2);
  EXPECT_EQ((*store)->GetContent("matched")->matches.size(), 1u);
  EXPECT_EQ((*store)->GetContent("acted-on")->id, 3);
  auto problems = (*store)->CheckIntegrity();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty()) << problems->front();
}

INSTANTIATE_TEST_SUITE_P(Backends, UploadRetentionTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

TEST(UploadPartitionNames, NameADayAndReadBack) {
  EXPECT_EQ(store::UploadPartitionName(0), "uploads_p19700101");
  EXPECT_EQ(store::UploadPartitionName(-1), "uploads_p19691231");
  EXPECT_EQ(store::UploadPartitionName(std::int64_t{1767225600} * 1000000 + kDay - 1), "uploads_p20260101");
  EXPECT_EQ(store::UploadPartitionStart("uploads_p20260101"), std::int64_t{1767225600} * 1000000);
  EXPECT_EQ(store::UploadPartitionStart("uploads_p19691231"), -kDay);
  for (const char* other : {"uploads_default", "uploads_p20261301", "uploads_p2026010", "uploads_p2026010x",
                            "uploads_p20260230", "content"}) {
    EXPECT_FALSE(store::UploadPartitionStart(other)) << other;
  }
}

}  // namespace
}  // namespace vigil
