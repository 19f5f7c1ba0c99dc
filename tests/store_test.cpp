// The store suite, run against both backends: SQLite in a temp dir, and PostgreSQL when
// VIGIL_TEST_POSTGRES names a server (scripts/test starts one; under CI a missing server fails
// the suite instead of skipping it). Also the matcher on top of each store.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "test_images.h"
#include "store/schema.h"
#include "store/sql_connection.h"
#include "test_postgres.h"
#include "vigil/cases.h"
#include "vigil/clock.h"
#include "vigil/hash_list.h"
#include "vigil/matcher.h"
#include "vigil/pdq.h"
#include "vigil/reports.h"
#include "vigil/store.h"
#include "vigil/video.h"

namespace vigil {
namespace {

std::string PdqHex(int seed) {
  // Distinct, far-apart hashes: each seed sets a different pseudo-random pattern.
  std::uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(seed + 1);
  std::string hex;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 64; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    hex += kHex[x & 15];
  }
  return hex;
}

std::string FlipBits(const std::string& hex, int bits) {
  std::string out = hex;  // flip one bit in each of the first `bits` hex digits
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < bits; ++i) {
    const int digit = out[i] <= '9' ? out[i] - '0' : out[i] - 'a' + 10;
    out[i] = kHex[digit ^ 1];
  }
  return out;
}

ImportRequest Parse(std::string_view format, std::string_view data, const std::string& source = "test.csv") {
  ListParseOptions options;
  options.source = source;
  auto parsed = ParseHashList(format, data, options);
  EXPECT_TRUE(parsed) << parsed.error().ToString();
  ImportRequest request;
  request.format = std::string(format);
  request.source = source;
  request.actor = "test";
  if (parsed) {
    request.ops = std::move(parsed->ops);
    request.checkpoint = parsed->checkpoint;
  }
  return request;
}

enum class Backend { kSqlite, kPostgres };

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    StoreOptions options;
    if (GetParam() == Backend::kPostgres) {
      postgres_.Create();
      if (IsSkipped() || HasFatalFailure()) return;
      options.postgres_url = postgres_.url();
    } else {
      options.sqlite_path = (dir_.path() / "vigil.db").string();
    }
    options_ = options;
    auto store = Store::Open(options);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
  }

  void TearDown() override { store_.reset(); }

  Bank MakeBank(const std::string& name) {
    Bank bank;
    bank.name = name;
    bank.description = "benign stand-ins";
    bank.labels = {"test", "wallpapers"};
    auto created = store_->CreateBank(bank, "test");
    EXPECT_TRUE(created) << created.error().ToString();
    return created ? *created : Bank{};
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, MigratesAndReopens) {
  EXPECT_EQ(*store_->SchemaVersion(), store::LatestSchemaVersion());
  store_.reset();
  auto again = Store::Open(options_);  // migrations already applied: nothing to do
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(*(*again)->SchemaVersion(), store::LatestSchemaVersion());
}

// Schema 7 flips the priority scale (P0 = most urgent) and moves old records into the new shapes:
// a database as release 6 left it comes through with its cases, decisions, appeals and disabled
// entries carried over.
TEST_P(StoreTest, SchemaSevenMigratesWhatAnOlderReleaseStored) {
  testing::TempDir dir;
  testing::TestPostgres fresh;
  StoreOptions options;
  std::unique_ptr<store::SqlConnection> db;
  if (GetParam() == Backend::kPostgres) {
    fresh.Create();
    if (IsSkipped() || HasFatalFailure()) return;
    options.postgres_url = fresh.url();
    auto opened = store::OpenPostgres(fresh.url());
    ASSERT_TRUE(opened) << opened.error().ToString();
    db = std::move(*opened);
  } else {
    options.sqlite_path = (dir.path() / "old.db").string();
    auto opened = store::OpenSqlite(options.sqlite_path);
    ASSERT_TRUE(opened) << opened.error().ToString();
    db = std::move(*opened);
  }
  ASSERT_TRUE(store::Migrate(*db, 6));
  ASSERT_EQ(*store::CurrentSchemaVersion(*db), 6);
  const char* old_rows[] = {
      "INSERT INTO banks (id, name, created_at, updated_at) VALUES (1, 'old', 1, 1)",
      "INSERT INTO bank_entries (id, bank_id, signal_type, value, added_at, removed_at, disabled_reason) VALUES "
      "(1, 1, 'md5', '00000000000000000000000000000001', 1, 5, 'a logo')",
      "INSERT INTO entry_feedback (entry_id, reason, reviewer, at) VALUES (1, 'a logo', 'alice', 5)",
      "INSERT INTO cases (id, user_id, status, priority, sla_due, created_at, updated_at) VALUES "
      "(1, 'u1', 'open', 3, 10, 1, 1), (2, 'u2', 'decided', 0, 10, 1, 1)",
      "INSERT INTO decisions (id, case_id, reviewer, verdict, classification, decided_at) VALUES "
      "(1, 2, 'alice', 'violating', 'B1', 2)",
      "INSERT INTO actions (id, user_id, content_id, kind, ground, facts, automated, redress, actor, case_id, "
      "decision_id, created_at) VALUES (1, 'u2', '', 'suspend_account', 'g', 'f', 0, 'r', 'alice', 2, 1, 2)",
      "INSERT INTO appeals (id, action_id, user_id, statement, status, created_at, sla_due) VALUES "
      "(1, 1, 'u2', 'mine', 'overturned', 3, 9)",
  };
  for (const char* sql : old_rows) ASSERT_TRUE(db->Execute(sql)) << sql;
  db.reset();
  auto store = Store::Open(options);
  ASSERT_TRUE(store) << store.error().ToString();
  EXPECT_EQ(*(*store)->SchemaVersion(), store::LatestSchemaVersion());
  EXPECT_EQ((*store)->Cases().GetCase(1)->priority, 0) << "the old most urgent (3) is now P0";
  EXPECT_EQ((*store)->Cases().GetCase(2)->priority, 3);
  const auto decided = (*store)->Cases().GetCase(2);
  ASSERT_EQ(decided->decisions.size(), 1u);
  EXPECT_EQ(decided->decisions[0].category, "csam");
  EXPECT_TRUE(decided->decisions[0].cybertip);
  auto appeal = (*store)->Cases().GetAppeal(1);
  ASSERT_TRUE(appeal);
  EXPECT_EQ(appeal->case_id, 2);
  EXPECT_EQ(appeal->decision_id, 1);
  EXPECT_EQ(appeal->action_ids, std::vector<std::int64_t>{1});
  EXPECT_EQ(appeal->undone, std::vector<std::int64_t>{1});
  auto overrides = (*store)->ListOverrides("old", false);
  ASSERT_TRUE(overrides);
  ASSERT_EQ(overrides->size(), 1u);
  EXPECT_EQ((*overrides)[0].reason, "a logo");
  EXPECT_EQ((*overrides)[0].created_by, "alice");
}

TEST_P(StoreTest, BankLifecycle) {
  const Bank bank = MakeBank("wallpapers");
  EXPECT_EQ(bank.name, "wallpapers");
  EXPECT_EQ(bank.labels, (std::vector<std::string>{"test", "wallpapers"}));
  EXPECT_TRUE(bank.enabled);
  EXPECT_EQ(bank.pdq_max_distance, 31);
  EXPECT_EQ(bank.pdq_min_quality, 50);

  auto duplicate = store_->CreateBank(bank, "test");
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);

  Bank bad;
  bad.name = "Has Spaces";
  EXPECT_EQ(store_->CreateBank(bad, "test").error().code, ErrorCode::kInvalidArgument);
  bad.name = "ok";
  bad.pdq_max_distance = 300;
  EXPECT_EQ(store_->CreateBank(bad, "test").error().code, ErrorCode::kInvalidArgument);

  BankUpdate update;
  update.enabled = false;
  update.pdq_max_distance = 40;
  update.labels = std::vector<std::string>{"x"};
  auto updated = store_->UpdateBank("wallpapers", update, "test");
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_FALSE(updated->enabled);
  EXPECT_EQ(updated->pdq_max_distance, 40);
  EXPECT_EQ(updated->labels, std::vector<std::string>{"x"});
  EXPECT_EQ(updated->description, "benign stand-ins");

  EXPECT_EQ(store_->ListBanks()->size(), 1u);
  ASSERT_TRUE(store_->DeleteBank("wallpapers", "test"));
  EXPECT_EQ(store_->GetBank("wallpapers").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->DeleteBank("wallpapers", "test").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListBanks()->empty());
  // The name is free again after a soft delete; the audit log kept every step.
  EXPECT_TRUE(store_->CreateBank(bank, "test"));
  auto audit = store_->ListAudit(10);
  ASSERT_TRUE(audit);
  ASSERT_GE(audit->size(), 4u);
  EXPECT_EQ((*audit)[0].action, "bank.create");
  EXPECT_EQ((*audit)[1].action, "bank.delete");
  EXPECT_EQ((*audit)[2].action, "bank.update");
}

TEST_P(StoreTest, ImportIsIdempotentAndTracksProvenance) {
  MakeBank("b");
  const std::string csv = "signal_type,value,external_id,classification\n"
                          "pdq," + PdqHex(1) + ",wall-1,A\n"
                          "md5,0123456789ABCDEF0123456789abcdef,wall-2,B\n"
                          "pdq," + PdqHex(2) + "\n";
  auto first = store_->Import("b", Parse("csv", csv));
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->added, 3);
  EXPECT_EQ(first->added_entries.size(), 3u);
  auto second = store_->Import("b", Parse("csv", csv));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->added, 0);
  EXPECT_EQ(second->unchanged, 3);
  EXPECT_EQ(store_->GetBank("b")->live_entries, 3);

  auto entries = store_->ListEntries("b", 0, 100, false);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[1].value, "0123456789abcdef0123456789abcdef");  // normalised to lower case
  EXPECT_EQ((*entries)[0].provenance.external_id, "wall-1");
  EXPECT_EQ((*entries)[0].provenance.classification, "A");
  EXPECT_EQ((*entries)[0].provenance.source, "test.csv");

  auto log = store_->ListImports("b");
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[1].added, 3);
  EXPECT_EQ((*log)[0].unchanged, 3);
  EXPECT_EQ((*log)[0].status, "applied");

  std::ostringstream out;
  WriteEntriesCsv(*entries, true, out);
  auto reparsed = Parse("csv", out.str());
  EXPECT_EQ(reparsed.ops.size(), 3u);
  EXPECT_EQ(store_->Import("b", reparsed)->added, 0);
}

// A bank larger than one page of the importer's read of live entries (50,000): a re-import
// finds every entry (unchanged, relabelled, removed across the page boundary), and the added
// entries the result hands to the matcher carry their values and ascending ids.
TEST_P(StoreTest, ImportSeesEveryEntryOfABankLargerThanOnePage) {
  MakeBank("large");
  constexpr int kCount = 50'100;
  std::string csv;
  for (int i = 1; i <= kCount; ++i) csv += "pdq," + PdqHex(i) + ",item-" + std::to_string(i) + "\n";
  auto first = store_->Import("large", Parse("csv", csv));
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->added, kCount);
  ASSERT_EQ(first->added_entries.size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(first->added_entries.front().value, PdqHex(1));
  EXPECT_EQ(first->added_entries.back().value, PdqHex(kCount));
  EXPECT_EQ(first->added_entries.back().signal_type, "pdq");
  for (std::size_t i = 1; i < first->added_entries.size(); ++i) {
    ASSERT_LT(first->added_entries[i - 1].id, first->added_entries[i].id);
  }

  // Again, with the last entry relabelled, one new entry, and one past the first page removed.
  std::string again = csv;
  again.replace(again.rfind("item-"), std::string::npos, "item-renamed\n");
  again += "pdq," + PdqHex(kCount + 1) + "\n";
  ImportRequest request = Parse("csv", again);
  ImportOp removal;
  removal.kind = ImportOp::Kind::kRemove;
  removal.signal_type = "pdq";
  removal.value = PdqHex(kCount - 50);
  removal.line = kCount + 2;
  request.ops.push_back(removal);
  auto second = store_->Import("large", std::move(request));
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->added, 1);
  EXPECT_EQ(second->relabelled, 1);
  EXPECT_EQ(second->removed, 1);
  EXPECT_EQ(second->unchanged, kCount - 1);
  ASSERT_EQ(second->removed_entry_ids.size(), 1u);
  EXPECT_EQ(second->removed_entry_ids[0], first->added_entries[kCount - 51].id);
  EXPECT_EQ(store_->GetBank("large")->live_entries, kCount);
  auto last = store_->ListEntries("large", first->added_entries.back().id - 1, 1, false);
  ASSERT_TRUE(last);
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].provenance.external_id, "item-renamed");
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

// The line formats are read op by op while the import runs (OpenHashList + more_ops): HMA's
// header-named columns map onto ours; a bad line in the middle fails the import, nothing lands
// and the attempt is logged; the entry limit holds; the whole-list parse gives the same ops.
TEST_P(StoreTest, LineListsStreamIntoAnImport) {
  MakeBank("hma");
  const std::string hma = "bank_member_id,signal_type,signal_value,tags\n"
                          "m-1,pdq," + PdqHex(1) + ",B1\n"
                          "m-2,video_md5,0123456789ABCDEF0123456789abcdef,B2\n";
  ListParseOptions options;
  options.source = "hma.csv";
  auto stream = [&](std::string_view format, std::string_view text) -> Result<ImportResult> {
    auto reader = OpenHashList(format, text, options);
    if (!reader) return tl::unexpected(reader.error());
    ImportRequest request;
    request.format = std::string(format);
    request.source = options.source;
    request.actor = "test";
    request.more_ops = [list = reader->get()](ImportOp& op) { return list->Next(op); };
    return store_->Import("hma", std::move(request));
  };
  auto imported = stream("hma", hma);
  ASSERT_TRUE(imported) << imported.error().ToString();
  EXPECT_EQ(imported->added, 2);
  auto entries = store_->ListEntries("hma", 0, 10, false);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].provenance.external_id, "m-1");
  EXPECT_EQ((*entries)[0].provenance.classification, "B1");
  EXPECT_EQ((*entries)[1].signal_type, "md5");
  EXPECT_EQ((*entries)[1].value, "0123456789abcdef0123456789abcdef");
  auto whole = ParseHashList("hma", hma, options);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->ops.size(), 2u);
  EXPECT_EQ(whole->ops[1].provenance.classification, "B2");

  // A short row on line 3 of 4: the import fails naming it; the rows before it are not applied.
  const std::string broken = "signal_type,signal_value,tags\npdq," + PdqHex(2) + ",A\npdq," + PdqHex(3) +
                             "\npdq," + PdqHex(4) + ",A\n";
  auto failed = stream("hma", broken);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("hma.csv: line 3: expected 3 fields, got 2"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(store_->GetBank("hma")->live_entries, 2);
  auto log = store_->ListImports("hma");
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)[0].status, "rejected");
  // A header without the columns is refused when the reader opens, before any import.
  auto no_columns = OpenHashList("hma", "id,hash\n1,2\n", options);
  ASSERT_FALSE(no_columns);
  EXPECT_NE(no_columns.error().message.find("line 1: HMA header must name"), std::string::npos);
  // The entry limit, counted as the ops stream.
  options.max_entries = 2;
  auto limited = stream("text", PdqHex(5) + "\n" + PdqHex(6) + "\n" + PdqHex(7) + "\n");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(store_->GetBank("hma")->live_entries, 2);
}

TEST_P(StoreTest, BadLineChangesNothing) {
  MakeBank("b");
  ImportRequest request = Parse("csv", "pdq," + PdqHex(1) + "\npdq," + PdqHex(2) + "\n");
  // A hand-built op with a bad value in the middle (lists are parsed first, but the store
  // validates again).
  ImportOp bad;
  bad.signal_type = "pdq";
  bad.value = "zz";
  bad.line = 2;
  request.ops.insert(request.ops.begin() + 1, bad);
  auto result = store_->Import("b", request);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error().message.find("line 2"), std::string::npos) << result.error().message;
  EXPECT_EQ(store_->GetBank("b")->live_entries, 0);
  auto log = store_->ListImports("b");
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].status, "rejected");
  EXPECT_NE((*log)[0].error.find("line 2"), std::string::npos);
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
  EXPECT_EQ(store_->Import("missing", request).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, NcmecRecordsUpdateAndTombstone) {
  MakeBank("ncmec");
  const std::string md5a(32, 'a'), md5b(32, 'b'), sha1(40, 'c');
  const std::string first =
      "<?xml version=\"1.0\"?><queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">"
      "<images count=\"2\" maxTimestamp=\"2026-01-02T00:00:00Z\">"
      "<image><member id=\"42\">Member</member><timestamp>2026-01-01T00:00:00Z</timestamp><id>img1</id>"
      "<classification>A1</classification><fingerprints><md5>" + md5a + "</md5><sha1>" + sha1 +
      "</sha1><pdna>opaque</pdna><pdq>" + PdqHex(7) + "</pdq></fingerprints></image>"
      "<image><member id=\"42\">Member</member><timestamp>2026-01-02T00:00:00Z</timestamp><id>img2</id>"
      "<fingerprints><md5>" + md5b + "</md5></fingerprints></image>"
      "</images></queryResult>";
  auto request = Parse("ncmec", first, "ncmec-2026-01");
  EXPECT_EQ(request.checkpoint.value_or(""), "2026-01-02T00:00:00Z");
  auto applied = store_->Import("ncmec", request);
  ASSERT_TRUE(applied) << applied.error().ToString();
  EXPECT_EQ(applied->added, 4);
  EXPECT_EQ(store_->GetBank("ncmec")->sync_checkpoint.value_or(""), "2026-01-02T00:00:00Z");

  // img1 is reclassified and loses its sha1; img2 is deleted.
  const std::string second =
      "<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">"
      "<images maxTimestamp=\"2026-02-01T00:00:00Z\">"
      "<image><member id=\"42\">Member</member><timestamp>2026-02-01T00:00:00Z</timestamp><id>img1</id>"
      "<classification>A2</classification><fingerprints><md5>" + md5a + "</md5><pdq>" + PdqHex(7) +
      "</pdq></fingerprints></image>"
      "<deletedImage><member id=\"42\">Member</member><id>img2</id><timestamp>2026-02-01T00:00:00Z</timestamp></deletedImage>"
      "</images></queryResult>";
  auto updated = store_->Import("ncmec", Parse("ncmec", second, "ncmec-2026-02"));
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(updated->added, 0);
  EXPECT_EQ(updated->removed, 2);  // the sha1 of img1, the md5 of img2
  EXPECT_EQ(updated->relabelled, 2);
  auto live = store_->ListEntries("ncmec", 0, 100, false);
  ASSERT_EQ(live->size(), 2u);
  for (const auto& entry : *live) {
    EXPECT_EQ(entry.provenance.external_id, "img1");
    EXPECT_EQ(entry.provenance.classification, "A2");
    EXPECT_EQ(entry.provenance.member, "42");
  }
  EXPECT_EQ(store_->ListEntries("ncmec", 0, 100, true)->size(), 4u);  // tombstones kept
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

TEST_P(StoreTest, StopNciiWithdrawals) {
  MakeBank("ncii");
  const std::string a = PdqHex(3), b = PdqHex(4);
  const std::string page1 = R"({"count":2,"nextSetTimestamp":1700000000,"hasMoreRecords":false,"hashRecords":[
    {"lastModtimestamp":1,"signalType":"ImagePDQ","hashValue":")" + a + R"(","hashStatus":"Active","caseNumbers":{"c1":"Active"}},
    {"lastModtimestamp":2,"signalType":"ImagePDQ","hashValue":")" + b + R"(","hashStatus":"Received","caseNumbers":{}},
    {"lastModtimestamp":2,"signalType":"VideoTMK","hashValue":"xyz","hashStatus":"Active","caseNumbers":{}}]})";
  auto first = store_->Import("ncii", Parse("stopncii", page1, "stopncii"));
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->added, 2);
  EXPECT_EQ(store_->GetBank("ncii")->sync_checkpoint.value_or(""), "1700000000");
  const std::string page2 = R"({"nextSetTimestamp":1700000100,"hashRecords":[
    {"lastModtimestamp":3,"signalType":"ImagePDQ","hashValue":")" + a + R"(","hashStatus":"Withdrawn","caseNumbers":{"c1":"Withdrawn"}}]})";
  auto second = store_->Import("ncii", Parse("stopncii", page2, "stopncii"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->removed, 1);
  EXPECT_EQ(store_->GetBank("ncii")->live_entries, 1);
}

TEST_P(StoreTest, ContentAndMatches) {
  MakeBank("b");
  auto imported = store_->Import("b", Parse("csv", "pdq," + PdqHex(1) + ",ext-1,A\n"));
  ASSERT_TRUE(imported);
  ContentRecord content;
  content.content_id = "upload-1";
  content.user_id = "user-9";
  content.media_type = "image/jpeg";
  content.byte_size = 1234;
  content.hashes = {{"pdq", PdqHex(1)}, {"md5", std::string(32, '0')}};
  content.pdq_quality = 90;
  content.metadata_json = R"({"surface":"profile"})";
  MatchRecord match;
  match.bank_id = store_->GetBank("b")->id;
  match.entry_id = imported->added_entries[0].id;
  match.signal_type = "pdq";
  match.distance = 4;
  match.quality = 90;
  content.matches.push_back(match);
  auto recorded = store_->RecordContent(content);
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  EXPECT_EQ(recorded->content_id, "upload-1");
  ASSERT_EQ(recorded->matches.size(), 1u);
  EXPECT_EQ(recorded->matches[0].bank_name, "b");
  EXPECT_EQ(recorded->matches[0].provenance.external_id, "ext-1");
  EXPECT_EQ(recorded->matches[0].distance, 4);
  EXPECT_EQ(recorded->hashes.at("md5"), std::string(32, '0'));
  EXPECT_EQ(recorded->metadata_json, R"({"surface":"profile"})");

  EXPECT_EQ(store_->RecordContent(content).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->GetContent("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetContent("upload-1")->user_id, "user-9");
  EXPECT_TRUE(store_->CheckIntegrity()->empty());
}

TEST_P(StoreTest, ApiKeysAreHashedAndRevocable) {
  auto key = store_->CreateApiKey("ingest", "submitter", "cli");
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_EQ(key->secret.rfind("vgl_", 0), 0u);
  EXPECT_EQ(key->secret.size(), 68u);
  EXPECT_EQ(store_->CreateApiKey("ingest", "submitter", "cli").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateApiKey("x", "superuser", "cli").error().code, ErrorCode::kInvalidArgument);
  auto who = store_->Authenticate(key->secret);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->role, "submitter");
  EXPECT_EQ(who->name, "ingest");
  EXPECT_FALSE(store_->Authenticate(key->secret + "x"));
  const auto listed_keys = store_->ListApiKeys();
  ASSERT_TRUE(listed_keys);
  for (const auto& listed : *listed_keys) {
    EXPECT_EQ(listed.prefix, key->secret.substr(0, 12));  // never the whole secret
  }
  ASSERT_TRUE(store_->RevokeApiKey("ingest", "cli"));
  EXPECT_EQ(store_->Authenticate(key->secret).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->RevokeApiKey("ingest", "cli").error().code, ErrorCode::kNotFound);
}

// Names the audit log could not show plainly, or that could pass for another's, are refused with
// a message that says which character is wrong.
TEST_P(StoreTest, KeyNamesWithNulNewlineSpacesOrNonAsciiAreRefused) {
  for (const auto& [name, says] : std::vector<std::pair<std::string, std::string>>{
           {std::string("dana\0admin", 10), "is a NUL"},
           {"dana\nkey.create", "is a line break"},
           {"dana\tx", "a control character"},
           {"dana smith", "is a space"},
           {"d\xd0\xb0na", "not ASCII"},  // a Cyrillic a
           {"", "1-64 characters"},
           {std::string(65, 'a'), "1-64 characters"},
           {"-dana", "starts with '-'"},
           {"dana~revoked-1", "is '~'"},
           {"cli", "reserved"}}) {
    auto created = store_->CreateApiKey(name, "submitter", "root");
    ASSERT_FALSE(created) << name;
    EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument) << name;
    EXPECT_NE(created.error().message.find(says), std::string::npos) << created.error().message;
  }
  EXPECT_TRUE(store_->ListApiKeys()->empty());
  EXPECT_TRUE(store_->CreateApiKey("dana.smith@example.org", "submitter", "root"));
  EXPECT_TRUE(store_->CreateApiKey(std::string(64, 'a'), "submitter", "root"));
}

TEST_P(StoreTest, KeyNamesAreStoredLowerCaseAndUniqueIgnoringCase) {
  auto key = store_->CreateApiKey("Dana", "reviewer", "root");
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_EQ(key->record.name, "dana");
  EXPECT_EQ(store_->Authenticate(key->secret)->name, "dana");
  EXPECT_EQ(store_->CreateApiKey("DANA", "reviewer", "root").error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(store_->RevokeApiKey("DaNa", "root"));
}

// The audit log and decisions name people by key name: a name once used never names anyone else.
TEST_P(StoreTest, ARevokedKeyNameIsNeverReused) {
  auto first = store_->CreateApiKey("ingest", "submitter", "root");
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_TRUE(store_->RevokeApiKey("ingest", "root"));
  for (const std::string name : {"ingest", "INGEST"}) {
    auto again = store_->CreateApiKey(name, "submitter", "root");
    ASSERT_FALSE(again) << name;
    EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
    EXPECT_NE(again.error().message.find("never reused"), std::string::npos) << again.error().message;
  }
  EXPECT_EQ(store_->CreateApiKeyOnHost("ingest", "submitter", "ops").error().code, ErrorCode::kAlreadyExists);
}

TEST_P(StoreTest, OtherRolesAreActiveAtOnceAndSayWhoMintedThem) {
  auto key = store_->CreateApiKey("uploads", "submitter", "root");
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_EQ(key->record.status, "active");
  EXPECT_FALSE(key->secret.empty());
  auto who = store_->Authenticate(key->secret);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->created_by, "root");
  EXPECT_EQ(store_->ListApiKeys()->at(0).created_by, "root");
}

TEST_P(StoreTest, AnAdminsCustodianKeyIsPendingAndAuthenticatesNothingUntilASecondAdminApproves) {
  for (const std::string role : {"custodian", "legal", "admin"}) {
    const std::string name = "new-" + role;
    auto requested = store_->CreateApiKey(name, role, "root");
    ASSERT_TRUE(requested) << requested.error().ToString();
    EXPECT_EQ(requested->record.status, "pending");
    EXPECT_TRUE(requested->secret.empty());  // nothing to present yet
    EXPECT_TRUE(requested->record.prefix.empty());
    const auto listed = store_->ListApiKeys();
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->back().status, "pending");
    auto approved = store_->ApproveApiKey(name, "ops");
    ASSERT_TRUE(approved) << approved.error().ToString();
    EXPECT_EQ(approved->record.status, "active");
    EXPECT_EQ(approved->record.created_by, "root");
    EXPECT_EQ(approved->record.approved_by, "ops");
    auto who = store_->Authenticate(approved->secret);
    ASSERT_TRUE(who) << role;
    EXPECT_EQ(who->role, role);
    EXPECT_EQ(who->approved_by, "ops");
    EXPECT_EQ(store_->ApproveApiKey(name, "third").error().code, ErrorCode::kAlreadyExists);  // once
  }
  const auto audit = store_->ListAudit(100);
  ASSERT_TRUE(audit);
  int requests = 0, approvals = 0;
  for (const auto& record : *audit) {
    if (record.action == "key.request" && record.actor == "root") ++requests;
    if (record.action == "key.approve" && record.actor == "ops" && record.detail.find("requested_by=root") != std::string::npos) ++approvals;
  }
  EXPECT_EQ(requests, 3);
  EXPECT_EQ(approvals, 3);
}

TEST_P(StoreTest, TheAdminWhoRequestedAKeyCannotApproveIt) {
  ASSERT_TRUE(store_->CreateApiKey("carl", "custodian", "root"));
  for (const std::string approver : {"root", "ROOT"}) {
    auto approved = store_->ApproveApiKey("carl", approver);
    ASSERT_FALSE(approved);
    EXPECT_EQ(approved.error().code, ErrorCode::kPermissionDenied);
    EXPECT_NE(approved.error().message.find("second, different admin"), std::string::npos) << approved.error().message;
  }
  EXPECT_EQ(store_->ListApiKeys()->at(0).status, "pending");
}

// A settable clock: pending keys lapse after a day.
class StepClock final : public Clock {
 public:
  std::int64_t NowMicros() const override { return now; }
  std::int64_t now = std::int64_t{1767225600} * 1000000;  // 2026-01-01
};

TEST_P(StoreTest, APendingKeyLapsesAfterADayAndItsNameCanBeRequestedAgain) {
  StepClock clock;
  StoreOptions options = options_;
  options.clock = &clock;
  auto store = Store::Open(options);
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE((*store)->CreateApiKey("carl", "custodian", "root"));
  clock.now += kPendingKeyMicros;
  EXPECT_EQ((*store)->ListApiKeys()->at(0).status, "expired");
  auto late = (*store)->ApproveApiKey("carl", "ops");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kNotFound);
  EXPECT_NE(late.error().message.find("lapsed"), std::string::npos) << late.error().message;
  // It never authenticated anything, so its name is free: the old request keeps a suffixed name.
  auto again = (*store)->CreateApiKey("carl", "custodian", "root");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_TRUE((*store)->ApproveApiKey("carl", "ops"));
  const auto keys = (*store)->ListApiKeys();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->at(0).name, "carl~lapsed-" + std::to_string(keys->at(0).id));
  EXPECT_TRUE(keys->at(0).revoked_at.has_value());
  EXPECT_EQ(keys->at(1).status, "active");
}

TEST_P(StoreTest, AKeyPastItsExpiryAuthenticatesNothing) {
  StepClock clock;
  StoreOptions options = options_;
  options.clock = &clock;
  auto store = Store::Open(options);
  ASSERT_TRUE(store) << store.error().ToString();
  auto key = (*store)->CreateApiKey("ingest", "submitter", "root");
  ASSERT_TRUE(key);
  ASSERT_TRUE((*store)->SetApiKeyExpiry("INGEST", clock.now + 86'400'000'000, "root"));
  EXPECT_TRUE((*store)->Authenticate(key->secret));
  clock.now += 86'400'000'000;
  EXPECT_EQ((*store)->Authenticate(key->secret).error().code, ErrorCode::kNotFound);
  EXPECT_EQ((*store)->ListApiKeys()->at(0).status, "expired");
  EXPECT_EQ((*store)->SetApiKeyExpiry("nobody", std::nullopt, "root").error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, ARotatedKeysPreviousSecretWorksUntilTheOverlapEnds) {
  StepClock clock;
  StoreOptions options = options_;
  options.clock = &clock;
  auto store = Store::Open(options);
  ASSERT_TRUE(store) << store.error().ToString();
  auto first = (*store)->CreateApiKey("ingest", "submitter", "root");
  ASSERT_TRUE(first);
  auto second = (*store)->RotateApiKey("ingest", 3600, "ingest");
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_NE(second->secret, first->secret);
  EXPECT_EQ(second->record.name, "ingest");
  EXPECT_EQ((*store)->Authenticate(first->secret)->name, "ingest") << "both work during the overlap";
  EXPECT_EQ((*store)->Authenticate(second->secret)->name, "ingest");
  EXPECT_TRUE((*store)->ListApiKeys()->at(0).previous_until.has_value());
  clock.now += 3601'000'000;
  EXPECT_FALSE((*store)->Authenticate(first->secret)) << "the previous secret stops after the overlap";
  EXPECT_TRUE((*store)->Authenticate(second->secret));
  // Without an overlap the previous secret stops at once.
  auto third = (*store)->RotateApiKey("ingest", 0, "root");
  ASSERT_TRUE(third);
  EXPECT_FALSE((*store)->Authenticate(second->secret));
  EXPECT_TRUE((*store)->Authenticate(third->secret));
  // A pending request has no secret to rotate; a revoked key neither.
  ASSERT_TRUE((*store)->CreateApiKey("carl", "custodian", "root"));
  EXPECT_EQ((*store)->RotateApiKey("carl", 0, "root").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE((*store)->RevokeApiKey("ingest", "root"));
  EXPECT_EQ((*store)->ListApiKeys()->at(0).status, "revoked");
  EXPECT_EQ((*store)->RotateApiKey("ingest", 0, "root").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE((*store)->Authenticate(third->secret));
  const auto audit = (*store)->ListAudit(100);
  EXPECT_EQ(std::count_if(audit->begin(), audit->end(), [](const AuditRecord& r) { return r.action == "key.rotate"; }), 2);
}

TEST_P(StoreTest, AWithdrawnPendingKeyCannotBeApproved) {
  ASSERT_TRUE(store_->CreateApiKey("carl", "custodian", "root"));
  ASSERT_TRUE(store_->RevokeApiKey("carl", "root"));
  EXPECT_EQ(store_->ApproveApiKey("carl", "ops").error().code, ErrorCode::kNotFound);
}

// The host (direct database access, the vault key's level of trust) is the second factor there.
TEST_P(StoreTest, TheHostMintsACustodianKeyDirectlyAndTheAuditLogSaysSo) {
  auto key = store_->CreateApiKeyOnHost("carl", "custodian", "dana");
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_EQ(key->record.status, "active");
  EXPECT_EQ(key->record.created_by, "cli:dana");
  ASSERT_TRUE(store_->Authenticate(key->secret));
  const auto audit = store_->ListAudit(1);
  ASSERT_TRUE(audit);
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ(audit->at(0).actor, "cli");
  EXPECT_EQ(audit->at(0).action, "key.create");
  EXPECT_EQ(audit->at(0).target, "carl");
  EXPECT_NE(audit->at(0).detail.find("os_user=dana"), std::string::npos) << audit->at(0).detail;
  EXPECT_NE(audit->at(0).detail.find("role=custodian"), std::string::npos) << audit->at(0).detail;
}

TEST_P(StoreTest, MatcherFollowsImportsWhileLookingUp) {
  MakeBank("near");
  Bank strict;
  strict.name = "strict";
  strict.pdq_max_distance = 8;
  ASSERT_TRUE(store_->CreateBank(strict, "test"));
  ASSERT_TRUE(store_->Import("near", Parse("csv", "pdq," + PdqHex(1) + "\nsha256," + std::string(64, 'e') + "\n")));
  Matcher matcher(*store_);
  ASSERT_TRUE(matcher.Load());

  auto lookup = [&](const std::string& type, const std::string& value, std::optional<int> quality = 100) {
    auto hits = matcher.Lookup({type, value, quality, ""});
    EXPECT_TRUE(hits) << hits.error().ToString();
    return hits ? *hits : std::vector<MatchHit>{};
  };
  const std::string near = FlipBits(PdqHex(1), 20);
  ASSERT_EQ(lookup("pdq", near).size(), 1u);
  EXPECT_EQ(lookup("pdq", near)[0].distance, 20);
  EXPECT_EQ(lookup("pdq", near)[0].bank_name, "near");
  EXPECT_TRUE(lookup("pdq", near, 10).empty());  // below the bank's quality floor
  EXPECT_TRUE(lookup("pdq", FlipBits(PdqHex(1), 40)).empty());
  EXPECT_EQ(lookup("sha256", std::string(64, 'E')).size(), 1u);
  EXPECT_EQ(matcher.Lookup({"pdq", "abc", {}, ""}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(matcher.Lookup({"tmk", "abc", {}, ""}).error().code, ErrorCode::kInvalidArgument);

  // Lookups on another thread while imports land and the matcher refreshes.
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::thread reader([&] {
    while (!stop) {
      auto hits = matcher.Lookup({"pdq", near, 100, ""});
      if (!hits || hits->empty()) ++errors;  // the first entry stays matched throughout
    }
  });
  ASSERT_TRUE(store_->Import("strict", Parse("csv", "pdq," + PdqHex(1) + "\npdq," + PdqHex(2) + "\n")));
  ASSERT_TRUE(matcher.Refresh());
  EXPECT_EQ(lookup("pdq", FlipBits(PdqHex(2), 6)).size(), 1u);
  EXPECT_EQ(lookup("pdq", near).size(), 1u);  // 20 > strict's 8
  EXPECT_EQ(lookup("pdq", FlipBits(PdqHex(1), 4)).size(), 2u);

  ImportRequest removal = Parse("csv", "pdq," + PdqHex(2) + "\n");
  removal.ops[0].kind = ImportOp::Kind::kRemove;
  ASSERT_TRUE(store_->Import("strict", removal));
  ASSERT_TRUE(matcher.Refresh());
  stop = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_TRUE(lookup("pdq", FlipBits(PdqHex(2), 6)).empty());  // tombstoned
  BankUpdate disable;
  disable.enabled = false;
  ASSERT_TRUE(store_->UpdateBank("near", disable, "test"));
  ASSERT_TRUE(matcher.Refresh());
  EXPECT_TRUE(lookup("pdq", near).empty());                     // bank disabled
  EXPECT_EQ(lookup("pdq", FlipBits(PdqHex(1), 4)).size(), 1u);  // strict still matches
  ASSERT_TRUE(store_->DeleteBank("strict", "test"));
  ASSERT_TRUE(matcher.Refresh());
  EXPECT_TRUE(lookup("pdq", FlipBits(PdqHex(1), 4)).empty());

  // A fresh matcher loads the same state.
  Matcher fresh(*store_);
  ASSERT_TRUE(fresh.Load());
  EXPECT_EQ(fresh.Stats().entries_by_type[0], 1u);  // near's pdq (strict's were deleted with the bank)
}

// A new replica starts from a snapshot plus the changes after it, and then matches exactly like
// one that read every entry: new entries, tombstones and bank settings after the snapshot included.
TEST_P(StoreTest, ASnapshotPlusTheChangesAfterItMatchesLikeAFullLoad) {
  MakeBank("near");
  MakeBank("later");
  ASSERT_TRUE(store_->Import("near", Parse("csv", "pdq," + PdqHex(1) + "\npdq," + PdqHex(2) + "\nsha256," +
                                                     std::string(64, 'e') + "\nmd5," + std::string(32, 'a') + "\n")));
  Matcher first(*store_);
  ASSERT_TRUE(first.Load());
  const auto snapshot = dir_.path() / "index";
  ASSERT_TRUE(first.SaveSnapshot(snapshot));
  ASSERT_TRUE(first.SaveSnapshot(snapshot)) << "replaces the one there";

  // After the snapshot: an entry removed, entries added, a bank disabled.
  ImportRequest removal = Parse("csv", "pdq," + PdqHex(2) + "\n");
  removal.ops[0].kind = ImportOp::Kind::kRemove;
  ASSERT_TRUE(store_->Import("near", removal));
  ASSERT_TRUE(store_->Import("later", Parse("csv", "pdq," + PdqHex(3) + "\nsha1," + std::string(40, 'b') + "\n")));
  Bank strict;
  strict.name = "off";
  ASSERT_TRUE(store_->CreateBank(strict, "test"));
  ASSERT_TRUE(store_->Import("off", Parse("csv", "pdq," + PdqHex(4) + "\n")));
  BankUpdate disable;
  disable.enabled = false;
  ASSERT_TRUE(store_->UpdateBank("off", disable, "test"));

  Matcher from_snapshot(*store_);
  ASSERT_TRUE(from_snapshot.LoadSnapshot(snapshot));
  Matcher full(*store_);
  ASSERT_TRUE(full.Load());
  auto hits = [](const Matcher& m, const std::string& type, const std::string& value) {
    auto found = m.Lookup({type, value, 100, ""});
    EXPECT_TRUE(found) << found.error().ToString();
    std::vector<std::pair<std::int64_t, int>> out;
    if (found) {
      for (const auto& h : *found) out.emplace_back(h.entry_id, h.distance);
    }
    return out;
  };
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"pdq", FlipBits(PdqHex(1), 5)}, {"pdq", FlipBits(PdqHex(2), 5)}, {"pdq", FlipBits(PdqHex(3), 5)},
      {"pdq", PdqHex(4)},             {"sha256", std::string(64, 'e')}, {"md5", std::string(32, 'a')},
      {"sha1", std::string(40, 'b')}};
  for (const auto& [type, value] : queries) {
    EXPECT_EQ(hits(from_snapshot, type, value), hits(full, type, value)) << type << " " << value;
  }
  EXPECT_EQ(hits(from_snapshot, "pdq", FlipBits(PdqHex(1), 5)).size(), 1u);
  EXPECT_TRUE(hits(from_snapshot, "pdq", FlipBits(PdqHex(2), 5)).empty()) << "removed after the snapshot";
  EXPECT_EQ(hits(from_snapshot, "pdq", FlipBits(PdqHex(3), 5)).size(), 1u) << "added after the snapshot";
  EXPECT_TRUE(hits(from_snapshot, "pdq", PdqHex(4)).empty()) << "its bank was disabled";
  EXPECT_EQ(from_snapshot.Stats().last_entry_id, full.Stats().last_entry_id);
  EXPECT_EQ(from_snapshot.LoadSnapshot(snapshot).error().code, ErrorCode::kInvalidArgument) << "only into a new matcher";
}

TEST_P(StoreTest, ASnapshotOfAnotherDatabaseOrADamagedOneIsRefused) {
  MakeBank("b");
  ASSERT_TRUE(store_->Import("b", Parse("csv", "pdq," + PdqHex(1) + "\n")));
  Matcher matcher(*store_);
  ASSERT_TRUE(matcher.Load());
  const auto snapshot = dir_.path() / "index";
  ASSERT_TRUE(matcher.SaveSnapshot(snapshot));

  testing::TempDir other_dir;
  StoreOptions other_options;
  other_options.sqlite_path = (other_dir.path() / "other.db").string();
  auto other = Store::Open(other_options);
  ASSERT_TRUE(other) << other.error().ToString();
  Matcher elsewhere(**other);
  auto refused = elsewhere.LoadSnapshot(snapshot);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("another database"), std::string::npos) << refused.error().message;
  EXPECT_EQ(elsewhere.Stats().last_entry_id, 0) << "nothing of it was taken";

  const auto bin = snapshot / "matcher.bin";
  auto write = [&](const std::string& text) { std::ofstream(bin, std::ios::binary | std::ios::trunc) << text; };
  std::string bytes = testing::ReadText(bin);
  std::string flipped = bytes;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x40);
  write(flipped);
  Matcher damaged(*store_);
  EXPECT_EQ(damaged.LoadSnapshot(snapshot).error().code, ErrorCode::kCorrupt);
  write(bytes.substr(0, bytes.size() - 20));
  EXPECT_EQ(damaged.LoadSnapshot(snapshot).error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(damaged.LoadSnapshot(dir_.path() / "none").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(damaged.Load()) << "the store still has everything";
  EXPECT_EQ(damaged.Lookup({"pdq", PdqHex(1), 100, ""})->size(), 1u);
}

// A mistaken snapshot path must never cost what is there (an adopter's trial pointed it at the
// data directory and lost the database).
TEST_P(StoreTest, ASnapshotIsNeverWrittenOverAFolderOrFileThatIsNotOne) {
  MakeBank("b");
  ASSERT_TRUE(store_->Import("b", Parse("csv", "pdq," + PdqHex(1) + "\n")));
  Matcher matcher(*store_);
  ASSERT_TRUE(matcher.Load());
  const auto busy = dir_.path() / "busy";
  std::filesystem::create_directories(busy);
  std::ofstream(busy / "vigil.db") << "precious";
  auto refused = matcher.SaveSnapshot(busy);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(refused.error().message.find("vigil.db"), std::string::npos) << refused.error().message;
  EXPECT_EQ(testing::ReadText(busy / "vigil.db"), "precious");
  const auto file = dir_.path() / "a-file";
  std::ofstream(file) << "precious";
  EXPECT_EQ(matcher.SaveSnapshot(file).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(testing::ReadText(file), "precious");
  const auto link = dir_.path() / "link";
  std::filesystem::create_directory_symlink(busy, link);
  EXPECT_EQ(matcher.SaveSnapshot(link).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(matcher.SaveSnapshot("").error().code, ErrorCode::kInvalidArgument);
  // A new folder, an empty one, and one holding a snapshot are fine (with or without a trailing /).
  const auto empty = dir_.path() / "empty";
  std::filesystem::create_directories(empty);
  ASSERT_TRUE(matcher.SaveSnapshot(empty));
  ASSERT_TRUE(matcher.SaveSnapshot(empty.string() + "/"));
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << "left behind: " << entry.path();
  }
}

// A backup restored (or a database cloned) keeps its identity: a snapshot taken of the original
// after it diverged must not be taken for the copy's index.
TEST_P(StoreTest, ASnapshotOfARestoredBackupIsRefused) {
  if (GetParam() != Backend::kSqlite) GTEST_SKIP() << "the copy is a file copy (the PostgreSQL case is the same code)";
  MakeBank("b");
  ASSERT_TRUE(store_->Import("b", Parse("csv", "pdq," + PdqHex(1) + "\n")));
  store_.reset();
  const auto copy_path = dir_.path() / "restored.db";
  std::filesystem::copy_file(dir_.path() / "vigil.db", copy_path);
  store_ = std::move(*Store::Open(options_));
  ASSERT_TRUE(store_->Import("b", Parse("csv", "pdq," + PdqHex(2) + "\n")));
  Matcher original(*store_);
  ASSERT_TRUE(original.Load());
  const auto snapshot = dir_.path() / "index";
  ASSERT_TRUE(original.SaveSnapshot(snapshot));

  StoreOptions restored_options;
  restored_options.sqlite_path = copy_path.string();
  auto restored = Store::Open(restored_options);
  ASSERT_TRUE(restored) << restored.error().ToString();
  Matcher behind(**restored);
  EXPECT_EQ(behind.LoadSnapshot(snapshot).error().code, ErrorCode::kInvalidArgument) << "the copy is behind";
  ASSERT_TRUE((*restored)->Import("b", Parse("csv", "pdq," + PdqHex(3) + "\n")));  // the same entry id, another hash
  Matcher diverged(**restored);
  auto refused = diverged.LoadSnapshot(snapshot);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("restored backup"), std::string::npos) << refused.error().message;
}

TEST_P(StoreTest, ASnapshotFileThatIsAFifoIsRefusedWithoutWaiting) {
  MakeBank("b");
  ASSERT_TRUE(store_->Import("b", Parse("csv", "pdq," + PdqHex(1) + "\n")));
  Matcher matcher(*store_);
  ASSERT_TRUE(matcher.Load());
  const auto snapshot = dir_.path() / "index";
  ASSERT_TRUE(matcher.SaveSnapshot(snapshot));
  std::filesystem::remove(snapshot / "matcher.bin");
  ASSERT_EQ(mkfifo((snapshot / "matcher.bin").c_str(), 0600), 0);
  Matcher fresh(*store_);
  EXPECT_EQ(fresh.LoadSnapshot(snapshot).error().code, ErrorCode::kInvalidArgument);
}

// Video entries: the frames travel as the entry's payload and go into the matcher's frame index;
// a listed video matches its own frames and a subset of them (a clip), through Load and Refresh,
// and stops matching when its bank is disabled or deleted.
TEST_P(StoreTest, VideoEntriesMatchThroughTheFrameIndex) {
  MakeBank("videos");
  const auto vectors = testing::TestDataDir() / "vectors/vpdq/debian-ffmpeg";
  const std::string listed_text = testing::ReadText(vectors / "chair-19-sd-bar.txt");
  ListParseOptions options;
  options.source = "chair.vpdq";
  options.external_id = "v19";
  auto parsed = ParseHashList("vpdq", listed_text, options);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->ops.size(), 1u);
  EXPECT_EQ(parsed->ops[0].signal_type, "vpdq");
  EXPECT_EQ(parsed->ops[0].payload, listed_text);
  // Frames come only with the vpdq format: a csv or text row naming vpdq is refused at its line
  // (the fuzzer's find: such rows parsed, and only the store refused them later).
  for (const auto& [format, text] : std::vector<std::pair<std::string, std::string>>{
           {"csv", "pdq," + PdqHex(1) + "\nvpdq," + parsed->ops[0].value + "\n"},
           {"hma", "signal_type,signal_value\nvpdq," + parsed->ops[0].value + "\n"}}) {
    auto refused = ParseHashList(format, text, options);
    ASSERT_FALSE(refused) << format;
    EXPECT_NE(refused.error().message.find("line 2: vpdq entries carry their frames: import them with format=vpdq"),
              std::string::npos)
        << refused.error().message;
  }
  options.signal_type = "vpdq";
  EXPECT_FALSE(ParseHashList("text", parsed->ops[0].value, options));
  options.signal_type = "pdq";
  Matcher matcher(*store_);
  ASSERT_TRUE(matcher.Load());
  ImportRequest request{"vpdq", "chair.vpdq", "test", parsed->ops, std::nullopt, {}};
  auto imported = store_->Import("videos", request);
  ASSERT_TRUE(imported) << imported.error().ToString();
  ASSERT_TRUE(matcher.Refresh());
  EXPECT_EQ(matcher.Stats().entries_by_type[4], 1u);
  EXPECT_GT(matcher.Stats().video_frames, 100u);

  auto listed = ParseVpdq(listed_text);
  ASSERT_TRUE(listed);
  const std::vector<VpdqFrame> clip(listed->begin() + 200, listed->begin() + 320);  // 4 s of 18.8
  auto other = ParseVpdq(testing::ReadText(vectors / "doorknob-hd-no-bar.txt"));
  ASSERT_TRUE(other);
  auto hits = matcher.LookupVideo(clip);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].query_match_percent, 100.0);
  EXPECT_LT((*hits)[0].compared_match_percent, 50.0);
  EXPECT_EQ((*hits)[0].distance, 0);
  EXPECT_TRUE(matcher.LookupVideo(*other)->empty());
  // The index agrees with the brute-force definition.
  EXPECT_NEAR((*hits)[0].compared_match_percent, MatchVpdq(clip, *listed).compared_match_percent, 1e-9);

  auto entries = store_->ListEntries("videos", 0, 10, false);
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->front().payload, listed_text);
  Matcher fresh(*store_);
  ASSERT_TRUE(fresh.Load());
  EXPECT_EQ(fresh.LookupVideo(clip)->size(), 1u);

  BankUpdate disable;
  disable.enabled = false;
  ASSERT_TRUE(store_->UpdateBank("videos", disable, "test"));
  ASSERT_TRUE(matcher.Refresh());
  EXPECT_TRUE(matcher.LookupVideo(clip)->empty());
  ASSERT_TRUE(store_->DeleteBank("videos", "test"));
  ASSERT_TRUE(fresh.Refresh());
  EXPECT_TRUE(fresh.LookupVideo(clip)->empty());
  // A frame list with no usable frames is refused.
  EXPECT_FALSE(matcher.LookupVideo(std::vector<VpdqFrame>{}));
  EXPECT_EQ(matcher.Lookup({"vpdq", std::string(64, 'a'), std::nullopt, ""}).error().code, ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

// A write to a server that has become a read-only standby (a failover) is kUnavailable: worth
// trying again later, so a stream worker holds its events instead of failing them.
TEST(PostgresErrors, AWriteToAReadOnlyServerIsUnavailableNotInternal) {
  testing::TestPostgres fresh;
  fresh.Create();
  if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return;
  StoreOptions options;
  options.postgres_url = fresh.url() + " options='-c default_transaction_read_only=on'";
  auto store = Store::Open(options);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable) << store.error().ToString();
  EXPECT_NE(store.error().message.find("read-only"), std::string::npos) << store.error().message;
}

// The step in flight is stored as one word; every step reads back as the step written, and a word
// that is none of them (a hand-edited row, a newer release's step) is refused, never taken for "none".
TEST(ReportVocabulary, EveryStepInFlightReadsBackAsWritten) {
  using Kind = InFlightStep::Kind;
  const InFlightStep steps[] = {{}, InFlightStep::Of(Kind::kSubmit), InFlightStep::Of(Kind::kUpload, "c:1"),
                                InFlightStep::Of(Kind::kFileInfo, "photo 7.jpg"), InFlightStep::Of(Kind::kFinish),
                                InFlightStep::Of(Kind::kRetract), InFlightStep::Of(Kind::kPreserve)};
  for (const auto& step : steps) {
    auto parsed = ParseInFlightStep(InFlightStepName(step));
    ASSERT_TRUE(parsed) << InFlightStepName(step) << ": " << parsed.error().ToString();
    EXPECT_EQ(*parsed, step) << InFlightStepName(step);
  }
  EXPECT_EQ(InFlightStepName(InFlightStep::Of(Kind::kUpload, "a:b")), "upload:a:b");
  EXPECT_EQ(ParseInFlightStep("upload:a:b")->content_id, "a:b");
}

TEST(ReportVocabulary, AStepInFlightThatIsNoneOfTheKnownWordsIsRefused) {
  for (const char* word : {"Submit", "upload", "upload:", "finish:x", "preserve:", "send", " submit"}) {
    auto parsed = ParseInFlightStep(word);
    ASSERT_FALSE(parsed) << word;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << word;
    EXPECT_NE(parsed.error().message.find("unknown step in flight"), std::string::npos) << parsed.error().message;
  }
}

TEST(ReportVocabulary, ReportedFileStatesReadBackAndOthersAreRefused) {
  for (auto state : {ReportedFileState::kPending, ReportedFileState::kUploaded, ReportedFileState::kDescribed}) {
    EXPECT_EQ(*ParseReportedFileState(ReportedFileStateName(state)), state);
  }
  EXPECT_FALSE(ParseReportedFileState("finished"));
}

}  // namespace
}  // namespace vigil
