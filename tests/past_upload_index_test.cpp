// The index of past uploads on both backends: what is in the window is found by PDQ and digest,
// new uploads are followed, and an upload whose transaction committed after later ones were read
// is still found. Run as store_test (PostgreSQL when VIGIL_TEST_POSTGRES names a server).
#include <gtest/gtest.h>

#include <atomic>

#include "match/past_upload_index.h"
#include "store/sql_connection.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/cases.h"
#include "vigil/clock.h"
#include "vigil/pdq.h"
#include "vigil/store.h"

namespace vigil {
namespace {

constexpr std::int64_t kDay = 86'400'000'000;

class SettableClock final : public Clock {
 public:
  std::int64_t NowMicros() const override { return now.load(); }
  std::atomic<std::int64_t> now{std::int64_t{1767225600} * 1000000};
};

std::string Hex(std::uint64_t seed, std::size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  while (out.size() < digits) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out += kHex[x & 15];
  }
  return out;
}

// `hex` with the first `bits` hex digits' lowest bit flipped.
std::string Near(std::string hex, int bits) {
  for (int i = 0; i < bits; ++i) {
    const int d = hex[static_cast<std::size_t>(i)] <= '9' ? hex[static_cast<std::size_t>(i)] - '0'
                                                          : hex[static_cast<std::size_t>(i)] - 'a' + 10;
    hex[static_cast<std::size_t>(i)] = "0123456789abcdef"[d ^ 1];
  }
  return hex;
}

ContentRecord Upload(const std::string& id, int seed) {
  ContentRecord c;
  c.content_id = id;
  c.user_id = "u-" + id;
  c.media_type = "image/jpeg";
  c.hashes = {{"pdq", Hex(static_cast<std::uint64_t>(seed), 64)},
              {"sha256", Hex(static_cast<std::uint64_t>(seed) + 1000, 64)},
              {"md5", Hex(static_cast<std::uint64_t>(seed) + 2000, 32)}};
  c.pdq_quality = 100;
  c.metadata_json = "{}";
  return c;
}

using Backend = testing::StoreBackend;

class PastUploadIndexTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.clock = &clock_;
    store_ = testing::OpenTestStore(GetParam(), dir_.path(), postgres_, options);
  }

  void Record(const std::string& id, int seed) {
    auto recorded = store_->Cases().RecordUpload(Upload(id, seed), {}, "test");
    ASSERT_TRUE(recorded) << recorded.error().ToString();
  }

  // The content ids of `hits`, read back from the store.
  std::vector<std::string> Ids(const std::vector<PastHit>& hits) {
    std::vector<std::string> out;
    for (const auto& h : hits) {
      auto rows = store_->PastUploadsByRow(h.table, {h.row});
      EXPECT_TRUE(rows) << rows.error().ToString();
      if (rows && !rows->empty()) out.push_back(rows->front().content_id);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  SettableClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_P(PastUploadIndexTest, UploadsInTheWindowAreFoundByPdqAndByDigest) {
  Record("too-old", 1);
  clock_.now += 200 * kDay;
  Record("recent", 2);
  Record("other", 3);
  PastUploadIndex index(*store_, clock_, {.window_days = 180});
  ASSERT_TRUE(index.Load());
  const auto recent = Upload("recent", 2);
  EXPECT_EQ(Ids(index.SearchPdq(*PdqHash::FromHex(Near(recent.hashes.at("pdq"), 10)), 31)),
            std::vector<std::string>{"recent"});
  EXPECT_EQ(Ids(index.SearchDigest("sha256", recent.hashes.at("sha256"))), std::vector<std::string>{"recent"});
  EXPECT_EQ(Ids(index.SearchDigest("md5", recent.hashes.at("md5"))), std::vector<std::string>{"recent"});
  EXPECT_TRUE(index.SearchDigest("md5", recent.hashes.at("sha256").substr(0, 32)).empty());
  EXPECT_TRUE(index.SearchPdq(*PdqHash::FromHex(Upload("too-old", 1).hashes.at("pdq")), 31).empty())
      << "older than the window";
  EXPECT_EQ(index.Stats().pdq, 2u);
}

TEST_P(PastUploadIndexTest, FollowPicksUpNewUploadsAndMovedOnes) {
  Record("first", 1);
  PastUploadIndex index(*store_, clock_, {});
  ASSERT_TRUE(index.Load());
  Record("second", 2);
  auto batch = store_->Cases().RecordUnmatchedUploads(std::vector{Upload("third", 3), Upload("fourth", 4)});
  for (const auto& r : batch) ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(index.SearchDigest("sha256", Upload("third", 3).hashes.at("sha256")).empty()) << "not followed yet";
  ASSERT_TRUE(index.Follow());
  for (const auto& [id, seed] : std::vector<std::pair<std::string, int>>{{"second", 2}, {"third", 3}, {"fourth", 4}}) {
    EXPECT_EQ(Ids(index.SearchDigest("sha256", Upload(id, seed).hashes.at("sha256"))), std::vector<std::string>{id});
  }
  EXPECT_EQ(index.Stats().gaps, 0u);
}

// Row numbers are taken when a row is written and seen when its transaction commits: a row written
// early and committed late is found by a later Follow.
TEST_P(PastUploadIndexTest, AnUploadThatCommitsAfterLaterOnesWereReadIsFoundLater) {
  if (GetParam() != Backend::kPostgres) GTEST_SKIP() << "SQLite has one writer at a time";
  PastUploadIndex index(*store_, clock_, {});
  ASSERT_TRUE(index.Load());
  auto other = store::OpenPostgres(postgres_.url());
  ASSERT_TRUE(other) << other.error().ToString();
  ASSERT_TRUE((*other)->Execute("BEGIN"));
  const auto late = Upload("late", 7);
  ASSERT_TRUE((*other)->Execute(
      "INSERT INTO uploads (content_id, user_id, sha256, pdq, submitted_at) VALUES ('late', 'u', $1, $2, $3)",
      {late.hashes.at("sha256"), late.hashes.at("pdq"), clock_.now.load()}));
  Record("early", 8);  // a higher row number, committed first
  ASSERT_TRUE(index.Follow());
  EXPECT_EQ(Ids(index.SearchDigest("sha256", Upload("early", 8).hashes.at("sha256"))), std::vector<std::string>{"early"});
  EXPECT_TRUE(index.SearchDigest("sha256", late.hashes.at("sha256")).empty());
  EXPECT_EQ(index.Stats().gaps, 1u) << "the skipped row is remembered";
  ASSERT_TRUE((*other)->Execute("COMMIT"));
  ASSERT_TRUE(index.Follow());
  EXPECT_EQ(Ids(index.SearchDigest("sha256", late.hashes.at("sha256"))), std::vector<std::string>{"late"});
  EXPECT_EQ(index.Stats().gaps, 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, PastUploadIndexTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace vigil
