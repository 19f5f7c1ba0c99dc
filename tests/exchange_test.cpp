// Exchanges against stand-ins of NCMEC hash sharing, StopNCII and ThreatExchange, on both
// backends: syncs page through, resume from the last committed page after a failure at any page
// with nothing lost or doubled, remove what tombstones name, refuse hostile answers and leave the
// bank at its last good checkpoint, honour 429 Retry-After, never run on two replicas at once, and
// send a review decision back exactly once, also when the process is killed between queueing and
// sending.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <set>
#include <thread>

#include "exchange/exchange_client.h"
#include "exchange/exchange_sync.h"
#include "exchange_standins.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/cases.h"
#include "vigil/exchange.h"
#include "vigil/store.h"
#include "workflow_fixtures.h"

namespace vigil {
namespace {

using Backend = testing::StoreBackend;
using testing::NcmecStandIn;
using testing::StandInFault;

std::string Hex(std::uint64_t seed, std::size_t digits) {
  std::string out;
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  while (out.size() < digits) {
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
    out += buf;
  }
  return out.substr(0, digits);
}

std::int64_t NowMicros() { return SystemClock().NowMicros(); }

// Run options for the replica `holder`.
struct As {
  explicit As(std::string name) : holder(std::move(name)) {}
  operator exchange::SyncOptions() const {
    exchange::SyncOptions options;
    options.holder = holder;
    return options;
  }
  operator exchange::FeedbackOptions() const {
    exchange::FeedbackOptions options;
    options.holder = holder;
    return options;
  }
  std::string holder;
};

class ExchangeTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(GetParam(), dir_.path(), postgres_);
    if (store_ == nullptr) return;
    Bank bank;
    bank.name = "ncmec-list";
    bank.category = "csam";
    ASSERT_TRUE(store_->CreateBank(bank, "test"));
    ::setenv("VIGIL_TEST_NCMEC", "esp-user:s3cret-pass", 1);
    ASSERT_TRUE(ncmec_.Start());
    retry_.attempts = 3;
    retry_.backoff = std::chrono::milliseconds(1);
    retry_.sleep = [this](std::chrono::milliseconds ms) { slept_.push_back(ms); };
  }

  // An NCMEC record with an MD5 and a PDQ, `age` seconds old.
  NcmecStandIn::Record Record(int i, int age = 3600) {
    NcmecStandIn::Record r;
    r.member = i % 3 == 0 ? "43" : "42";
    r.id = "entry-" + std::to_string(i);
    r.timestamp = NowMicros() - std::int64_t{age} * 1'000'000 + i;
    r.md5 = Hex(static_cast<std::uint64_t>(i), 32);
    r.pdq = Hex(static_cast<std::uint64_t>(i) + 1'000'000, 64);
    return r;
  }

  void AddNcmecExchange(const std::string& settings_extra = "", bool feedback = false) {
    Exchange x;
    x.name = "ncmec";
    x.kind = "ncmec";
    x.bank = "ncmec-list";
    x.credentials = "env:VIGIL_TEST_NCMEC";
    x.feedback = feedback;
    x.settings = R"({"base_url": ")" + ncmec_.base_url() + R"(", "start": "2020-01-01T00:00:00Z")" + settings_extra + "}";
    auto created = store_->Exchanges().CreateExchange(x, "admin");
    ASSERT_TRUE(created) << created.error().ToString();
  }

  Result<exchange::SyncOutcome> Sync(const std::string& name = "ncmec", const std::string& holder = "replica-1") {
    auto x = store_->Exchanges().GetExchange(name);
    if (!x) return tl::unexpected(x.error());
    exchange::ClientOptions options;
    options.retry = retry_;
    options.max_records_per_page = 50;
    auto client = exchange::MakeExchangeClient(*x, options);
    if (!client) return tl::unexpected(client.error());
    return exchange::SyncExchange(*store_, name, **client, As(holder));
  }

  // Queues and sends the exchange's feedback as replica-1 would (its client made afresh).
  Result<exchange::FeedbackOutcome> SendFeedback(const std::string& name = "ncmec") {
    auto x = store_->Exchanges().GetExchange(name);
    if (!x) return tl::unexpected(x.error());
    exchange::ClientOptions options;
    options.retry = retry_;
    auto client = exchange::MakeExchangeClient(*x, options);
    if (!client) return tl::unexpected(client.error());
    return exchange::SendExchangeFeedback(*store_, name, **client, As("replica-1"));
  }

  // The bank's live entries as "type:value" (with a count per value, to see doubles).
  std::multiset<std::string> Live(const std::string& bank = "ncmec-list") {
    std::multiset<std::string> out;
    auto entries = store_->ListEntries(bank, 0, 100000, false);
    EXPECT_TRUE(entries);
    if (entries) {
      for (const auto& e : *entries) out.insert(e.signal_type + ":" + e.value);
    }
    return out;
  }

  std::string Checkpoint(const std::string& bank = "ncmec-list") {
    auto b = store_->GetBank(bank);
    return b && b->sync_checkpoint ? *b->sync_checkpoint : "";
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::unique_ptr<Store> store_;
  NcmecStandIn ncmec_{"esp-user", "s3cret-pass", 4};
  exchange::RetryPolicy retry_;
  std::vector<std::chrono::milliseconds> slept_;
};

TEST_P(ExchangeTest, AnNcmecSyncPagesThroughAndKeepsEachEntrysProvenance) {
  AddNcmecExchange();
  for (int i = 1; i <= 10; ++i) ncmec_.Put(Record(i));
  auto outcome = Sync();
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->pages, 3);  // 10 records, 4 a page
  EXPECT_EQ(outcome->fetched, 10);
  EXPECT_EQ(outcome->added, 20);
  EXPECT_EQ(Live().size(), 20u);
  auto entries = store_->ListEntries("ncmec-list", 0, 100, false);
  ASSERT_TRUE(entries);
  const auto& e = entries->front();
  EXPECT_EQ(e.provenance.source, "ncmec");
  EXPECT_TRUE(e.provenance.member == "42" || e.provenance.member == "43");
  EXPECT_EQ(e.provenance.external_id.rfind("entry-", 0), 0u);
  EXPECT_EQ(e.provenance.classification, "A1");
  // The list's own time for the record, as NCMEC wrote it (whole seconds).
  ASSERT_TRUE(e.listed_at.has_value());
  const int i = std::stoi(e.provenance.external_id.substr(6));
  const auto written = Record(i).timestamp;
  EXPECT_LE(written - *e.listed_at, 5'000'000);  // the helper's "now" moved on a little since
  EXPECT_EQ(*e.listed_at % 1'000'000, 0);
  // The window is exhausted: the checkpoint is its end, with no paging link.
  EXPECT_EQ(Checkpoint().find("next"), std::string::npos) << Checkpoint();
  auto x = store_->Exchanges().GetExchange("ncmec");
  ASSERT_TRUE(x);
  EXPECT_TRUE(x->status.last_ok);
  EXPECT_EQ(x->status.last_fetched, 10);
  EXPECT_EQ(x->status.runs, 1);
  EXPECT_TRUE(x->status.newest_item_at.has_value());
  EXPECT_TRUE(x->status.lease_holder.empty());
}

TEST_P(ExchangeTest, TombstonesAndUpdatedRecordsChangeTheBankOnTheNextSync) {
  AddNcmecExchange();
  for (int i = 1; i <= 6; ++i) ncmec_.Put(Record(i));
  ASSERT_TRUE(Sync());
  ASSERT_EQ(Live().size(), 12u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the next window starts at the last one's end
  ncmec_.Delete("42", "entry-1", NowMicros());
  auto updated = Record(2, 0);
  updated.timestamp = NowMicros();
  updated.pdq = Hex(777, 64);  // the record now carries another PDQ: the old one goes
  ncmec_.Put(updated);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto outcome = Sync();
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_TRUE(outcome->started_from_checkpoint);
  EXPECT_EQ(outcome->fetched, 2);  // only what changed since the last window
  const auto live = Live();
  EXPECT_EQ(live.count("md5:" + Hex(1, 32)), 0u);
  EXPECT_EQ(live.count("pdq:" + Hex(1'000'001, 64)), 0u);
  EXPECT_EQ(live.count("pdq:" + Hex(1'000'002, 64)), 0u);
  EXPECT_EQ(live.count("pdq:" + Hex(777, 64)), 1u);
  EXPECT_EQ(live.count("md5:" + Hex(2, 32)), 1u);
  EXPECT_EQ(live.size(), 10u);
  // The removal is on record: the entry is a tombstone, not gone.
  auto all = store_->ListEntries("ncmec-list", 0, 100, true);
  ASSERT_TRUE(all);
  std::size_t tombstones = 0;
  for (const auto& e : *all) tombstones += e.removed_at.has_value() ? 1 : 0;
  EXPECT_EQ(tombstones, 3u);
}

TEST_P(ExchangeTest, ASyncInterruptedAtEveryPageResumesWithNothingLostOrDoubled) {
  AddNcmecExchange();
  for (int i = 1; i <= 14; ++i) ncmec_.Put(Record(i));  // 4 pages
  std::multiset<std::string> expected;
  for (int i = 1; i <= 14; ++i) {
    expected.insert("md5:" + Hex(static_cast<std::uint64_t>(i), 32));
    expected.insert("pdq:" + Hex(static_cast<std::uint64_t>(i) + 1'000'000, 64));
  }
  for (int page = 0; page < 4; ++page) {
    ASSERT_TRUE(store_->Exchanges().ResetCheckpoint("ncmec", "test"));
    // Every attempt at that page fails; the pages before it are committed.
    ncmec_.FailAt("entries", page, StandInFault::Http500(), retry_.attempts);
    auto failed = Sync();
    ASSERT_FALSE(failed) << "page " << page;
    EXPECT_NE(failed.error().message.find("page " + std::to_string(page + 1)), std::string::npos) << failed.error().message;
    EXPECT_NE(failed.error().message.find("HTTP 500"), std::string::npos) << failed.error().message;
    if (page > 0) {
      EXPECT_NE(Checkpoint().find("next"), std::string::npos) << "page " << page << ": " << Checkpoint();
    }
    auto x = store_->Exchanges().GetExchange("ncmec");
    ASSERT_TRUE(x);
    EXPECT_FALSE(x->status.last_ok);
    EXPECT_NE(x->status.last_error.find("HTTP 500"), std::string::npos);
    auto resumed = Sync();
    ASSERT_TRUE(resumed) << resumed.error().ToString();
    EXPECT_EQ(resumed->started_from_checkpoint, page > 0);
  }
  EXPECT_EQ(Live(), expected);
  auto problems = store_->CheckIntegrity();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
}

TEST_P(ExchangeTest, HostileAnswersAreRefusedAndLeaveTheBankAtItsLastGoodCheckpoint) {
  AddNcmecExchange();
  for (int i = 1; i <= 3; ++i) ncmec_.Put(Record(i));
  ASSERT_TRUE(Sync());
  const auto live = Live();
  const auto checkpoint = Checkpoint();
  std::string many = "<queryResult><images>";
  for (int i = 0; i < 60; ++i) {
    many += "<image><member id=\"42\">M</member><timestamp>2026-01-01T00:00:00Z</timestamp><id>x" + std::to_string(i) +
            "</id><fingerprints><md5>" + Hex(static_cast<std::uint64_t>(i) + 50, 32) + "</md5></fingerprints></image>";
  }
  many += "</images></queryResult>";
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"<queryResult><images><image>", "malformed XML"},
      {"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">]>"
       "<queryResult><images><image><id>&lol2;</id></image></images></queryResult>",
       "DOCTYPE"},
      {"<reportResponse><responseCode>0</responseCode></reportResponse>", "expected an NCMEC <queryResult>"},
      {many, "more than 50 records"},
      {"<queryResult><images><image><member id=\"42\">M</member><timestamp>2026-01-01T00:00:00Z</timestamp><id>y</id>"
       "<fingerprints><pdq>not-a-hash</pdq></fingerprints></image></images></queryResult>",
       "line 1"},
      {"<queryResult><images/><paging><next>https://attacker.example/v2/entries?x=1</next></paging></queryResult>",
       "another origin"},
  };
  for (const auto& [body, expected] : hostile) {
    ncmec_.FailAt("entries", 0, StandInFault::Body(body));
    auto outcome = Sync();
    ASSERT_FALSE(outcome) << body.substr(0, 60);
    EXPECT_NE(outcome.error().message.find(expected), std::string::npos) << outcome.error().message;
    EXPECT_EQ(Live(), live) << expected;
    EXPECT_EQ(Checkpoint(), checkpoint) << expected;
  }
  // A body over the transfer limit is refused as it arrives.
  auto x = store_->Exchanges().GetExchange("ncmec");
  ASSERT_TRUE(x);
  exchange::ClientOptions small;
  small.retry = retry_;
  small.limits.max_body_bytes = 512;
  ncmec_.FailAt("entries", 0, StandInFault::Body(many));
  auto client = exchange::MakeExchangeClient(*x, small);
  ASSERT_TRUE(client) << client.error().ToString();
  auto outcome = exchange::SyncExchange(*store_, "ncmec", **client, As("replica-1"));
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().message.find("over"), std::string::npos) << outcome.error().message;
  EXPECT_EQ(Live(), live);
  // And after all that, the next good answer syncs.
  ncmec_.Put(Record(4, 0));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_TRUE(Sync());
  EXPECT_EQ(Live().size(), live.size() + 2);
}

TEST_P(ExchangeTest, AServiceThatRepeatsItsPagingLinkCannotKeepASyncGoing) {
  AddNcmecExchange();
  const std::string loop = "<queryResult><images/><paging><next>/v2/entries?loop=1</next></paging></queryResult>";
  ncmec_.FailAt("entries", 0, StandInFault::Body(loop), 2);
  auto looped = Sync();
  ASSERT_FALSE(looped);
  EXPECT_NE(looped.error().message.find("page 2: the service sent a paging position it had sent before"), std::string::npos)
      << looped.error().message;
  EXPECT_EQ(ncmec_.Requests("entries"), 2);
  // Empty pages that each say more follow, with a fresh link every time, stop too.
  ASSERT_TRUE(store_->Exchanges().ResetCheckpoint("ncmec", "test"));
  for (int i = 0; i < 102; ++i) {
    ncmec_.FailAt("entries", 0, StandInFault::Body("<queryResult><images/><paging><next>/v2/entries?page=" +
                                                   std::to_string(i) + "</next></paging></queryResult>"));
  }
  auto empty = Sync();
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("empty pages in a row"), std::string::npos) << empty.error().message;
  EXPECT_LE(ncmec_.Requests("entries"), 2 + 102);
}

TEST_P(ExchangeTest, ThrottlingWaitsAsRetryAfterSaysAndGivesUpPastTheCap) {
  AddNcmecExchange();
  ncmec_.Put(Record(1));
  ncmec_.FailAt("entries", 0, StandInFault::Http429(2));
  auto outcome = Sync();
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  ASSERT_EQ(slept_.size(), 1u);
  EXPECT_EQ(slept_[0], std::chrono::seconds(2));
  ASSERT_TRUE(store_->Exchanges().ResetCheckpoint("ncmec", "test"));
  ncmec_.FailAt("entries", 0, StandInFault::Http429(100000));
  auto throttled = Sync();
  ASSERT_FALSE(throttled);
  EXPECT_NE(throttled.error().message.find("throttling"), std::string::npos) << throttled.error().message;
}

TEST_P(ExchangeTest, RefusedCredentialsAreNamedAndTheSecretIsNeverShown) {
  ::setenv("VIGIL_TEST_NCMEC", "esp-user:wrong-password", 1);
  AddNcmecExchange();
  auto outcome = Sync();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(outcome.error().message.find("refused the credentials"), std::string::npos);
  EXPECT_EQ(outcome.error().message.find("wrong-password"), std::string::npos);
  auto x = store_->Exchanges().GetExchange("ncmec");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->status.last_error.find("wrong-password"), std::string::npos);
  EXPECT_EQ(x->credentials, "env:VIGIL_TEST_NCMEC");
  // A misspelt setting is refused, naming it, rather than quietly falling back to a default.
  Exchange typo;
  typo.name = "ncmec";
  typo.kind = "ncmec";
  typo.settings = R"({"base_ulr": "https://report.cybertip.org/hashsharing"})";
  auto checked = exchange::CheckExchangeSettings(typo);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("unknown setting 'base_ulr'"), std::string::npos) << checked.error().message;
  // A secret where a location belongs is refused.
  ExchangeUpdate u;
  u.credentials = "esp-user:s3cret-pass";
  EXPECT_FALSE(store_->Exchanges().UpdateExchange("ncmec", u, "admin"));
}

TEST_P(ExchangeTest, TwoReplicasNeverHoldTheSameExchangeAtOnce) {
  AddNcmecExchange();
  StoreOptions options;
  if (GetParam() == Backend::kSqlite) options.sqlite_path = (dir_.path() / "vigil.db").string();
  else options.postgres_url = postgres_.url();
  auto other = Store::Open(options);
  ASSERT_TRUE(other) << other.error().ToString();
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> winners{0};
    std::thread a([&] { winners += *store_->Exchanges().AcquireLease("ncmec", "replica-a", 60) ? 1 : 0; });
    std::thread b([&] { winners += *(*other)->Exchanges().AcquireLease("ncmec", "replica-b", 60) ? 1 : 0; });
    a.join();
    b.join();
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_TRUE(store_->Exchanges().ReleaseLease("ncmec", "replica-a"));
    ASSERT_TRUE((*other)->Exchanges().ReleaseLease("ncmec", "replica-b"));
  }
  // A sync while another replica holds the lease does not start, and says who holds it.
  ASSERT_TRUE(*(*other)->Exchanges().AcquireLease("ncmec", "replica-b", 60));
  ncmec_.Put(Record(1));
  auto refused = Sync("ncmec", "replica-a");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("replica-b"), std::string::npos);
  EXPECT_EQ(ncmec_.Requests("entries"), 0);
  EXPECT_TRUE(Live().empty());
}

// A case opened by a match on the entry of `bank` holding (`type`, `value`), claimed by alice and,
// when a verdict is given, decided with it.
void CaseOnMatch(Store& store, const std::string& bank, const std::string& type, const std::string& value,
                 const std::string& content_id, std::optional<Verdict> verdict) {
  auto entries = store.ListEntries(bank, 0, 1000, false);
  ASSERT_TRUE(entries);
  MatchRecord match;
  for (const auto& e : *entries) {
    if (e.signal_type == type && e.value == value) {
      match.entry_id = e.id;
      match.bank_id = e.bank_id;
    }
  }
  ASSERT_NE(match.entry_id, 0);
  match.signal_type = type;
  ContentRecord c;
  c.content_id = content_id;
  c.user_id = "user-" + content_id;
  c.media_type = "image/jpeg";
  c.byte_size = 6;
  c.hashes = {{"sha256", Hex(std::hash<std::string>{}(content_id), 64)}};
  if (type == "md5") c.hashes["md5"] = value;
  c.submitted_at = SystemClock().NowMicros();
  c.matches = {match};
  PolicyOutcome outcome;
  outcome.block = outcome.hold = true;
  outcome.rules = {"known-image"};
  outcome.category = testing::BuiltInCategory("csam");
  testing::TempDir media;
  auto recorded = testing::RecordWithOutcome(store, c, outcome, media.path(), "benign");
  ASSERT_TRUE(recorded && recorded->opened) << (recorded ? "no case" : recorded.error().ToString());
  ASSERT_TRUE(store.Cases().ClaimCase(recorded->opened->id, "alice"));
  if (!verdict) return;
  CaseStore::DecisionRequest decision;
  decision.verdict = *verdict;
  decision.reason = *verdict == Verdict::kViolating ? "confirmed" : "a benign stand-in";
  if (*verdict == Verdict::kViolating) {
    decision.category = testing::BuiltInCategory("csam");
    decision.classification = "A1";
  }
  auto decided = store.Cases().Decide(recorded->opened->id, decision, "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
}

void DecideMatch(Store& store, const std::string& md5, const std::string& content_id, Verdict verdict) {
  CaseOnMatch(store, "ncmec-list", "md5", md5, content_id, verdict);
}

TEST_P(ExchangeTest, ReviewDecisionsReachNcmecOnceEachAsAffirmativeOrNegative) {
  AddNcmecExchange("", true);
  for (int i = 1; i <= 4; ++i) ncmec_.Put(Record(i));
  ASSERT_TRUE(Sync());
  DecideMatch(*store_, Hex(1, 32), "photo-1", Verdict::kViolating);
  DecideMatch(*store_, Hex(2, 32), "photo-2", Verdict::kNotViolating);
  // A second confirmation of entry 1 (another upload): the service already has it from us.
  DecideMatch(*store_, Hex(1, 32), "photo-1b", Verdict::kViolating);
  auto sent = SendFeedback("ncmec");
  ASSERT_TRUE(sent) << sent.error().ToString();
  EXPECT_EQ(sent->queued, 3);
  EXPECT_EQ(sent->sent, 2);
  EXPECT_EQ(sent->skipped, 1);
  const auto feedback = ncmec_.Feedback();
  EXPECT_EQ(feedback.size(), 2u);
  const std::string member1 = Record(1).member, member2 = Record(2).member;
  EXPECT_EQ(feedback.at(member1 + "/entry-1/MD5"), "affirmative");
  EXPECT_EQ(feedback.at(member2 + "/entry-2/MD5").rfind("negative:01234567-", 0), 0u);
  EXPECT_EQ(ncmec_.FeedbackPuts(), 2);
  // Nothing twice: a second run finds nothing to send.
  auto again = SendFeedback("ncmec");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->queued + again->sent, 0);
  EXPECT_EQ(ncmec_.FeedbackPuts(), 2);
  // An entry disabled as a false positive is a negative with the reviewer's reason.
  auto entries = store_->ListEntries("ncmec-list", 0, 1000, false);
  ASSERT_TRUE(entries);
  std::int64_t entry3 = 0;
  for (const auto& e : *entries) {
    if (e.value == Hex(3, 32)) entry3 = e.id;
  }
  CaseOnMatch(*store_, "ncmec-list", "md5", Hex(3, 32), "photo-3", std::nullopt);
  ASSERT_TRUE(store_->Cases().DisableEntry(entry3, "a logo, not abuse material", "alice"));
  auto disabled = SendFeedback("ncmec");
  ASSERT_TRUE(disabled) << disabled.error().ToString();
  EXPECT_EQ(disabled->sent, 1);
  EXPECT_EQ(ncmec_.Feedback().at(Record(3).member + "/entry-3/MD5").rfind("negative:", 0), 0u);
  // Visible per entry.
  auto items = store_->Exchanges().ListFeedback("ncmec", entry3, 10);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ(items->front().state, "sent");
  EXPECT_EQ(items->front().reason, "a logo, not abuse material");
}

TEST_P(ExchangeTest, ADecisionOverturnedOnAppealSendsACorrectingNegative) {
  AddNcmecExchange("", true);
  ncmec_.Put(Record(1));
  ASSERT_TRUE(Sync());
  DecideMatch(*store_, Hex(1, 32), "photo-1", Verdict::kViolating);
  ASSERT_TRUE(SendFeedback("ncmec"));
  const std::string key = Record(1).member + "/entry-1/MD5";
  ASSERT_EQ(ncmec_.Feedback().at(key), "affirmative");
  auto actions = store_->Cases().ListActions("user-photo-1");
  ASSERT_TRUE(actions);
  ASSERT_FALSE(actions->empty());
  auto appeal = store_->Cases().FileAppeal(actions->back().id, "my own photo", "platform");
  ASSERT_TRUE(appeal) << appeal.error().ToString();
  ASSERT_TRUE(store_->Cases().ClaimAppeal(appeal->id, "bob"));
  auto decided = store_->Cases().DecideAppeal(appeal->id, {"overturned", {}, "benign after all", ""}, "bob");
  ASSERT_TRUE(decided) << decided.error().ToString();
  auto sent = SendFeedback("ncmec");
  ASSERT_TRUE(sent) << sent.error().ToString();
  EXPECT_EQ(sent->sent, 1);
  EXPECT_EQ(ncmec_.Feedback().at(key).rfind("negative:", 0), 0u);
  auto items = store_->Exchanges().ListFeedback("ncmec", 0, 10);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ(items->front().source, "appeal");
  EXPECT_EQ(items->front().reason, "overturned on appeal");
}

TEST_P(ExchangeTest, FeedbackThatFailsIsRetriedLaterAndNotLost) {
  AddNcmecExchange("", true);
  ncmec_.Put(Record(1));
  ASSERT_TRUE(Sync());
  DecideMatch(*store_, Hex(1, 32), "photo-1", Verdict::kViolating);
  ncmec_.FailAt("feedback", 0, StandInFault::Http500(), retry_.attempts);
  auto first = SendFeedback("ncmec");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->retrying, 1);
  auto items = store_->Exchanges().ListFeedback("ncmec", 0, 10);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ(items->front().state, "queued");
  EXPECT_NE(items->front().last_error.find("HTTP 500"), std::string::npos);
  EXPECT_GT(items->front().next_attempt_at, NowMicros());
  // Not due yet: nothing is sent; once due (the backoff passed), it goes.
  auto early = SendFeedback("ncmec");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->sent, 0);
  ASSERT_TRUE(store_->Exchanges().MarkFeedback(items->front().id, "queued", "", 0));
  auto later = SendFeedback("ncmec");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->sent, 1);
  EXPECT_EQ(ncmec_.Feedback().size(), 1u);
}

TEST_P(ExchangeTest, FeedbackReachesNcmecOnceWhenTheProcessIsKilledBetweenQueueingAndSending) {
  AddNcmecExchange("", true);
  ncmec_.Put(Record(1));
  ASSERT_TRUE(Sync());
  DecideMatch(*store_, Hex(1, 32), "photo-1", Verdict::kViolating);
  const std::string where = GetParam() == Backend::kSqlite ? " --data-dir " + dir_.path().string()
                                                           : " --database-url '" + postgres_.url() + "'";
  auto run = [&](const std::string& failpoints) {
    const std::string command = "VIGIL_TEST_NCMEC=esp-user:s3cret-pass VIGIL_FAILPOINTS=" + failpoints + " " +
                                std::string(VIGIL_TEST_CLI) + " exchange feedback ncmec" + where + " 2>&1";
    FILE* p = popen(command.c_str(), "r");
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
  };
  // Killed after queueing, before sending: nothing reached NCMEC, the item waits.
  auto killed = run("exchange.feedback.before_send=exit");
  EXPECT_NE(killed.first, 0) << killed.second;
  EXPECT_EQ(ncmec_.FeedbackPuts(), 0);
  // The lease of the killed process is still held: the next run waits for it to lapse.
  ASSERT_TRUE(store_->Exchanges().ReleaseLease("ncmec", store_->Exchanges().GetExchange("ncmec")->status.lease_holder));
  auto resumed = run("");
  ASSERT_EQ(resumed.first, 0) << resumed.second;
  EXPECT_EQ(ncmec_.FeedbackPuts(), 1);
  auto again = run("");
  ASSERT_EQ(again.first, 0) << again.second;
  EXPECT_EQ(ncmec_.FeedbackPuts(), 1);
  EXPECT_EQ(ncmec_.Feedback().size(), 1u);
  // Killed after NCMEC accepted it but before it was marked: sent again on restart (a PUT: NCMEC
  // holds one opinion per member), so the service's state is the same.
  DecideMatch(*store_, Hex(1, 32), "photo-2", Verdict::kNotViolating);
  auto after_send = run("exchange.feedback.after_send=exit");
  EXPECT_NE(after_send.first, 0) << after_send.second;
  EXPECT_EQ(ncmec_.FeedbackPuts(), 2);
  ASSERT_TRUE(store_->Exchanges().ReleaseLease("ncmec", store_->Exchanges().GetExchange("ncmec")->status.lease_holder));
  ASSERT_EQ(run("").first, 0);
  EXPECT_EQ(ncmec_.FeedbackPuts(), 3);
  EXPECT_EQ(ncmec_.Feedback().size(), 1u);
  EXPECT_EQ(ncmec_.Feedback().begin()->second.rfind("negative:", 0), 0u);
  ASSERT_EQ(run("").first, 0);
  EXPECT_EQ(ncmec_.FeedbackPuts(), 3);
}

TEST_P(ExchangeTest, StopNciiPagesByTokenRemovesWithdrawnHashesAndTakesFeedback) {
  testing::StopNciiStandIn stopncii("sub-key", "fetch-key", "feedback-key");
  ASSERT_TRUE(stopncii.Start());
  Bank bank;
  bank.name = "ncii";
  bank.category = "ncii";
  ASSERT_TRUE(store_->CreateBank(bank, "test"));
  ::setenv("VIGIL_TEST_STOPNCII", R"({"subscription_key": "sub-key", "fetch_key": "fetch-key", "feedback_key": "feedback-key"})", 1);
  Exchange x;
  x.name = "stopncii";
  x.kind = "stopncii";
  x.bank = "ncii";
  x.credentials = "env:VIGIL_TEST_STOPNCII";
  x.feedback = true;
  x.settings = R"({"base_url": ")" + stopncii.base_url() + R"(", "page_size": 3})";
  ASSERT_TRUE(store_->Exchanges().CreateExchange(x, "admin"));
  const std::int64_t now = NowMicros() / 1'000'000;
  for (int i = 0; i < 7; ++i) stopncii.Put({"ImagePDQ", Hex(static_cast<std::uint64_t>(i) + 500, 64), "Active", "", now - 100 + i});
  stopncii.Put({"VideoTMK", Hex(99, 64), "Active", "", now - 50});  // a type Vigil does not match: skipped
  // Interrupted at the second page, then resumed from the token.
  stopncii.FailAt("FetchHashes", 1, StandInFault::Http500(), retry_.attempts);
  ASSERT_FALSE(Sync("stopncii"));
  EXPECT_NE(Checkpoint("ncii").find("token"), std::string::npos) << Checkpoint("ncii");
  auto outcome = Sync("stopncii");
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_TRUE(outcome->started_from_checkpoint);
  EXPECT_EQ(Live("ncii").size(), 7u);
  auto ncii = store_->ListEntries("ncii", 0, 100, false);
  ASSERT_TRUE(ncii);
  for (const auto& e : *ncii) {
    ASSERT_TRUE(e.listed_at.has_value());
    EXPECT_LE(std::abs(*e.listed_at / 1'000'000 - now), 100);
  }
  // A later Withdrawn record removes the hash.
  stopncii.Put({"ImagePDQ", Hex(500, 64), "Withdrawn", "", now + 5});
  auto later = Sync("stopncii");
  ASSERT_TRUE(later) << later.error().ToString();
  EXPECT_EQ(later->fetched, 1);
  EXPECT_EQ(later->removed, 1);
  EXPECT_EQ(Live("ncii").size(), 6u);
  // Feedback: a disabled entry goes back as NotBlocked, with the feedback key.
  auto entries = store_->ListEntries("ncii", 0, 100, false);
  ASSERT_TRUE(entries);
  CaseOnMatch(*store_, "ncii", "pdq", entries->front().value, "photo-ncii", std::nullopt);
  ASSERT_TRUE(store_->Cases().DisableEntry(entries->front().id, "not intimate imagery", "alice"));
  auto sent = SendFeedback("stopncii");
  ASSERT_TRUE(sent) << sent.error().ToString();
  EXPECT_EQ(sent->sent, 1);
  EXPECT_EQ(stopncii.Feedback().at(entries->front().value), "NotBlocked");
}

TEST_P(ExchangeTest, ThreatExchangeFollowsPagingDeletesAndNeverStoresTheToken) {
  testing::ThreatExchangeStandIn te("1234567890|secret-token-abcdefghij", "777", 2);
  ASSERT_TRUE(te.Start());
  Bank bank;
  bank.name = "te";
  ASSERT_TRUE(store_->CreateBank(bank, "test"));
  ::setenv("VIGIL_TEST_TE", "1234567890|secret-token-abcdefghij", 1);
  Exchange x;
  x.name = "te";
  x.kind = "threatexchange";
  x.bank = "te";
  x.credentials = "env:VIGIL_TEST_TE";
  x.feedback = true;
  x.settings = R"({"base_url": ")" + te.base_url() + R"(", "privacy_group": "777"})";
  ASSERT_TRUE(store_->Exchanges().CreateExchange(x, "admin"));
  const std::int64_t now = NowMicros() / 1'000'000;
  for (int i = 0; i < 5; ++i) {
    te.Put({"ind-" + std::to_string(i), Hex(static_cast<std::uint64_t>(i) + 900, 64), "HASH_PDQ", std::to_string(5000 + i),
            "1000", now - 100 + i, false});
  }
  te.Put({"ind-md5", Hex(42, 32), "HASH_MD5", "6000", "1000", now - 90, false});
  te.Put({"ind-url", "https://example.org/x", "URI", "7000", "1000", now - 80, false});
  // Interrupted mid-window: the stored checkpoint holds the paging link, without the token.
  te.FailAt("threat_updates", 2, StandInFault::Http500(), retry_.attempts);
  ASSERT_FALSE(Sync("te"));
  EXPECT_NE(Checkpoint("te").find("after="), std::string::npos) << Checkpoint("te");
  EXPECT_EQ(Checkpoint("te").find("secret-token"), std::string::npos) << Checkpoint("te");
  auto outcome = Sync("te");
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(Live("te").size(), 6u);
  EXPECT_EQ(Checkpoint("te").find("secret-token"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  te.Put({"ind-0", Hex(900, 64), "HASH_PDQ", "5000", "1000", NowMicros() / 1'000'000, true});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto later = Sync("te");
  ASSERT_TRUE(later) << later.error().ToString();
  EXPECT_EQ(later->removed, 1);
  EXPECT_EQ(Live("te").size(), 5u);
  // Feedback on a descriptor: DISAGREE_WITH_TAGS for a false positive.
  auto entries = store_->ListEntries("te", 0, 100, false);
  ASSERT_TRUE(entries);
  CaseOnMatch(*store_, "te", entries->front().signal_type, entries->front().value, "photo-te", std::nullopt);
  auto disabled_entry = store_->Cases().DisableEntry(entries->front().id, "a meme", "alice");
  ASSERT_TRUE(disabled_entry) << disabled_entry.error().ToString();
  auto sent = SendFeedback("te");
  ASSERT_TRUE(sent) << sent.error().ToString();
  EXPECT_EQ(sent->sent, 1);
  EXPECT_EQ(te.Reactions().at(entries->front().provenance.external_id), "DISAGREE_WITH_TAGS");
}

TEST_P(ExchangeTest, APlainListFileReplacesTheBanksEntriesAndSkipsAnUnchangedList) {
  Bank bank;
  bank.name = "plain";
  ASSERT_TRUE(store_->CreateBank(bank, "test"));
  const auto list = dir_.path() / "list.csv";
  std::ofstream(list) << "md5," << Hex(1, 32) << "\nmd5," << Hex(2, 32) << "\n";
  Exchange x;
  x.name = "plain";
  x.kind = "url";
  x.bank = "plain";
  x.settings = R"({"url": "file:)" + list.string() + R"(", "format": "csv"})";
  ASSERT_TRUE(store_->Exchanges().CreateExchange(x, "admin"));
  auto sync = [&]() {
    auto got = store_->Exchanges().GetExchange("plain");
    exchange::ClientOptions options;
    options.list_roots = {dir_.path().string()};
    auto client = exchange::MakeExchangeClient(*got, options);
    EXPECT_TRUE(client);
    return exchange::SyncExchange(*store_, "plain", **client, As("replica-1"));
  };
  // An entry imported by hand into the same bank is not the list's to remove.
  ImportRequest by_hand;
  by_hand.format = "csv";
  by_hand.source = "manual.csv";
  by_hand.actor = "test";
  ImportOp manual;
  manual.signal_type = "md5";
  manual.value = Hex(99, 32);
  manual.provenance.source = "manual.csv";
  by_hand.ops.push_back(manual);
  ASSERT_TRUE(store_->Import("plain", std::move(by_hand)));
  auto first = sync();
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->added, 2);
  EXPECT_EQ(first->removed, 0);
  auto unchanged = sync();
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->pages, 0);
  std::ofstream(list) << "md5," << Hex(2, 32) << "\nmd5," << Hex(3, 32) << "\n";
  auto changed = sync();
  ASSERT_TRUE(changed) << changed.error().ToString();
  EXPECT_EQ(changed->added, 1);
  EXPECT_EQ(changed->removed, 1);
  EXPECT_EQ(Live("plain"), (std::multiset<std::string>{"md5:" + Hex(2, 32), "md5:" + Hex(3, 32), "md5:" + Hex(99, 32)}));
  // A list outside the allowed directories is refused.
  ExchangeUpdate u;
  u.settings = R"({"url": "file:/etc/passwd", "format": "text"})";
  ASSERT_TRUE(store_->Exchanges().UpdateExchange("plain", u, "admin"));
  auto outside = sync();
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().message.find("outside the directories"), std::string::npos) << outside.error().message;
}

TEST_P(ExchangeTest, HostileStopNciiAndThreatExchangeAnswersAreRefusedWithTheBankUnchanged) {
  testing::StopNciiStandIn stopncii("sub-key", "fetch-key", "feedback-key");
  testing::ThreatExchangeStandIn te("1234567890|secret-token-abcdefghij", "777", 2);
  ASSERT_TRUE(stopncii.Start());
  ASSERT_TRUE(te.Start());
  for (const char* name : {"ncii", "te"}) {
    Bank bank;
    bank.name = name;
    ASSERT_TRUE(store_->CreateBank(bank, "test"));
  }
  ::setenv("VIGIL_TEST_STOPNCII", R"({"subscription_key": "sub-key", "fetch_key": "fetch-key"})", 1);
  ::setenv("VIGIL_TEST_TE", "1234567890|secret-token-abcdefghij", 1);
  Exchange a;
  a.name = "stopncii";
  a.kind = "stopncii";
  a.bank = "ncii";
  a.credentials = "env:VIGIL_TEST_STOPNCII";
  a.settings = R"({"base_url": ")" + stopncii.base_url() + R"("})";
  ASSERT_TRUE(store_->Exchanges().CreateExchange(a, "admin"));
  Exchange b;
  b.name = "te";
  b.kind = "threatexchange";
  b.bank = "te";
  b.credentials = "env:VIGIL_TEST_TE";
  b.settings = R"({"base_url": ")" + te.base_url() + R"(", "privacy_group": 777})";
  ASSERT_TRUE(store_->Exchanges().CreateExchange(b, "admin"));
  const std::string pdq = Hex(5, 64);
  std::string many = R"({"hashRecords": [)";
  for (int i = 0; i < 60; ++i) {
    many += std::string(i ? "," : "") + R"({"signalType": "ImagePDQ", "hashValue": ")" + Hex(i + 70, 64) + R"(", "hashStatus": "Active"})";
  }
  many += R"(], "hasMoreRecords": false, "nextSetTimestamp": 5})";
  const std::vector<std::pair<std::string, std::string>> stopncii_answers = {
      {"{\"hashRecords\": [", "malformed JSON"},
      {R"({"hashRecords": "all of them"})", "expected"},
      {R"({"hashRecords": [], "hasMoreRecords": "yes"})", "hasMoreRecords"},
      {R"({"hashRecords": [{"hashValue": ")" + pdq + R"("}]})", "no signalType"},
      {R"({"hashRecords": [{"signalType": "ImagePDQ", "hashValue": "zz"}]})", "record 1"},
      {R"({"hashRecords": [{"signalType": "ImagePDQ", "hashValue": ")" + pdq + R"(", "lastModtimestamp": "soon"}]})",
       "lastModtimestamp"},
      {R"({"hashRecords": [], "hasMoreRecords": true})", "nextPageToken"},
      {many, "more than 50"},
      {std::string(64, '[') + std::string(64, ']'), "malformed JSON"},
  };
  for (const auto& [body, expected] : stopncii_answers) {
    stopncii.FailAt("FetchHashes", 0, StandInFault::Body(body));
    auto outcome = Sync("stopncii");
    ASSERT_FALSE(outcome) << body.substr(0, 80);
    EXPECT_NE(outcome.error().message.find(expected), std::string::npos) << outcome.error().message;
    EXPECT_TRUE(Live("ncii").empty());
    EXPECT_EQ(Checkpoint("ncii"), "");
  }
  const std::vector<std::pair<std::string, std::string>> te_answers = {
      {R"({"data": {"id": 1}})", "no \"data\" list"},
      {R"({"data": [{"id": "1", "indicator": ")" + pdq + R"(", "type": "HASH_PDQ", "should_delete": "no", "descriptors": {"data": []}}]})",
       "should_delete"},
      {R"({"data": [{"id": "1", "indicator": "not hex", "type": "HASH_PDQ", "descriptors": {"data": [{"id": "2"}]}}]})",
       "indicator"},
      {R"({"data": [{"id": "1", "indicator": ")" + pdq + R"(", "type": "HASH_PDQ", "descriptors": {"data": [{"id": "2\u0001"}]}}]})",
       "printable"},
      {R"({"data": [], "paging": {"next": "https://collector.example/v9.0/777/threat_updates/?after=1"}})", "another origin"},
      {R"({"data": [], "paging": {"next": 42}})", "paging.next"},
      {R"({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})", "no \"data\" list"},
  };
  for (const auto& [body, expected] : te_answers) {
    te.FailAt("threat_updates", 0, StandInFault::Body(body));
    auto outcome = Sync("te");
    ASSERT_FALSE(outcome) << body.substr(0, 80);
    EXPECT_NE(outcome.error().message.find(expected), std::string::npos) << outcome.error().message;
    EXPECT_EQ(outcome.error().message.find("secret-token"), std::string::npos);
    EXPECT_TRUE(Live("te").empty());
    EXPECT_EQ(Checkpoint("te"), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ExchangeTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

TEST(ExchangeHttp, AHeaderWithALineBreakIsRefusedBeforeAnythingIsSent) {
  testing::NcmecStandIn ncmec("u", "p");
  ASSERT_TRUE(ncmec.Start());
  auto fetcher = exchange::MakeBeastFetcher({});
  exchange::HttpCall call;
  call.url = ncmec.base_url() + "/v2/status";
  call.headers = {{"Authorization", "Basic x\r\nX-Injected: yes\r\n\r\nGET /smuggled HTTP/1.1"}};
  auto reply = fetcher->Send(call);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(reply.error().message.find("smuggled"), std::string::npos);
  EXPECT_EQ(ncmec.Requests("/hashsharing/v2/status"), 0);
}

// A server that takes the connection and never answers: the request ends at its deadline (it
// used to wait for ever: Beast's timeouts bind asynchronous operations only).
TEST(ExchangeHttp, AServerThatNeverAnswersIsGivenUpAtTheDeadline) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);  // connections complete in the backlog; none is ever read
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  exchange::FetchLimits limits;
  limits.timeout = std::chrono::seconds(1);
  auto fetcher = exchange::MakeBeastFetcher(limits);
  exchange::HttpCall call;
  call.url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/v2/entries";
  const auto start = std::chrono::steady_clock::now();
  auto reply = fetcher->Send(call);
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(listener);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kIoError);  // sent: the server may have acted on it
  EXPECT_NE(reply.error().message.find("within 1 s"), std::string::npos) << reply.error().message;
  EXPECT_LT(took, std::chrono::seconds(10));
}

// A fetcher that answers from a script: 429 with the given Retry-After, then 200.
class ThrottlingFetcher final : public exchange::HttpFetcher {
 public:
  explicit ThrottlingFetcher(std::string retry_after) : retry_after_(std::move(retry_after)) {}
  Result<exchange::HttpReply> Send(const exchange::HttpCall&) override {
    exchange::HttpReply reply;
    reply.status = calls_++ == 0 ? 429 : 200;
    if (reply.status == 429) reply.retry_after = retry_after_;
    return reply;
  }

 private:
  std::string retry_after_;
  int calls_ = 0;
};

TEST(ExchangeHttp, RetryAfterAsAnHttpDateWaitsUntilThen) {
  const std::time_t in_a_minute = std::time(nullptr) + 60;
  std::tm when{};
  ::gmtime_r(&in_a_minute, &when);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &when);
  ThrottlingFetcher fetcher(date);
  exchange::RetryPolicy policy;
  std::vector<std::chrono::milliseconds> slept;
  policy.sleep = [&](std::chrono::milliseconds ms) { slept.push_back(ms); };
  auto reply = exchange::SendWithRetry(fetcher, {}, policy, "the stand-in");
  ASSERT_TRUE(reply) << reply.error().ToString();
  ASSERT_EQ(slept.size(), 1u);
  EXPECT_GE(slept[0], std::chrono::seconds(58)) << date;
  EXPECT_LE(slept[0], std::chrono::seconds(60)) << date;
}

TEST(ExchangeHttp, FetchesOnACallersBehalfRefuseInternalAddresses) {
  for (const char* inside : {"127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                             "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1"}) {
    EXPECT_TRUE(net::IsInternalAddress(inside)) << inside;
  }
  for (const char* outside : {"93.184.216.34", "172.32.0.1", "8.8.8.8", "2606:4700::1111"}) {
    EXPECT_FALSE(net::IsInternalAddress(outside)) << outside;
  }
  testing::NcmecStandIn ncmec("u", "p");
  ASSERT_TRUE(ncmec.Start());
  exchange::FetchLimits limits;
  limits.allow_private_addresses = false;
  exchange::HttpCall call;
  call.url = ncmec.base_url() + "/v2/status";
  auto reply = exchange::MakeBeastFetcher(limits)->Send(call);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(reply.error().message.find("internal address"), std::string::npos) << reply.error().message;
  EXPECT_EQ(ncmec.Requests("/hashsharing/v2/status"), 0);
}

TEST(ExchangeUrls, PlainHttpIsOnlyForThisHostAndLinksMustStayOnTheirOrigin) {
  EXPECT_TRUE(exchange::ParseHttpUrl("https://report.cybertip.org/hashsharing"));
  EXPECT_TRUE(exchange::ParseHttpUrl("http://127.0.0.1:8080/x"));
  EXPECT_FALSE(exchange::ParseHttpUrl("http://report.cybertip.org/hashsharing"));
  EXPECT_FALSE(exchange::ParseHttpUrl("https://user:pw@report.cybertip.org/"));
  EXPECT_FALSE(exchange::ParseHttpUrl("ftp://example.org/"));
  EXPECT_FALSE(exchange::ParseHttpUrl("https://example.org/a b"));
}

}  // namespace
}  // namespace vigil
