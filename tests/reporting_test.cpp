// Reporting and preservation on benign stand-ins: CyberTipline documents (built with libxml2,
// validated against a schema), the client against a stand-in NCMEC server, the filing state
// machine through faults at every step and process kills between steps (no report filed twice,
// none lost), and the evidence vault (custodian-only reads, tamper detection, purge and holds,
// keys kept out of logs). On SQLite and on PostgreSQL.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "server/cybertip_standin.h"
#include "service_harness.h"
#include "test_images.h"
#include "test_postgres.h"
#include "workflow_fixtures.h"
#include "store/audit_chain.h"
#include "store/sql_connection.h"
#include "vigil/audit_anchor.h"
#include "vigil/case_evidence.h"
#include "vigil/cases.h"
#include "vigil/cybertip.h"
#include "vigil/cybertip_client.h"
#include "vigil/digest.h"
#include "vigil/evidence_vault.h"
#include "vigil/file_hasher.h"
#include "vigil/image.h"
#include "vigil/report_filer.h"
#include "vigil/reports.h"
#include "vigil/legal_package.h"
#include "vigil/store.h"
#include "vigil/transparency.h"

namespace vigil {
namespace {

using server::CyberTipStandIn;

const std::string kMasterKey = "5f1e0c6b2a9d4e8f7a3b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f";

std::string XsdPath() { return std::string(VIGIL_TEST_SOURCE_DIR) + "/data/cybertipline-subset.xsd"; }

// A controllable clock for retention.
class TestClock final : public Clock {
 public:
  std::int64_t NowMicros() const override { return now; }
  std::int64_t now = 1'780'000'000'000'000;  // 2026-05-28
};

constexpr std::int64_t kDay = 86'400'000'000;

TEST(CyberTipXml, ReportCarriesTheRecordedFactsAndValidates) {
  ReportDraft d;
  d.incident_at = 1'780'000'000'123'000;
  d.user.esp_identifier = "user-42";
  d.user.screen_name = "sunset_fan";
  d.user.ip_events.push_back({"192.0.2.7", "Upload", d.incident_at});
  d.user.temporarily_disabled_at = d.incident_at + kDay;
  d.user.temporarily_notified_at = d.incident_at + kDay + 1000;
  ReportFile f;
  f.content_id = "c1";
  f.file_name = "beach <1>.jpg";
  f.uploaded_at = d.incident_at;
  f.md5 = std::string(32, 'a');
  f.sha256 = std::string(64, 'b');
  f.viewed_by_esp = true;
  f.classification = "B1";
  d.files.push_back(f);
  auto xml = BuildReportXml(d, testing::TestReporter());
  ASSERT_TRUE(xml) << xml.error().ToString();
  EXPECT_NE(xml->find("<espIdentifier>user-42</espIdentifier>"), std::string::npos) << *xml;
  EXPECT_NE(xml->find("<incidentDateTime>2026-05-28T20:26:40.123Z</incidentDateTime>"), std::string::npos) << *xml;
  EXPECT_NE(xml->find("accountTemporarilyDisabled disabledDate=\"2026-05-29T20:26:40.123Z\" userNotified=\"true\""),
            std::string::npos)
      << *xml;
  EXPECT_TRUE(ValidateAgainstSchema(*xml, XsdPath()));

  // The file's details: the viewed flag and hashes from the record; the classification only
  // when the operator enabled it; names escaped by the library.
  ReporterProfile reporter = testing::TestReporter();
  auto details = BuildFileDetailsXml("70001", "f1", f, reporter);
  ASSERT_TRUE(details);
  EXPECT_NE(details->find("<fileViewedByEsp>true</fileViewedByEsp>"), std::string::npos);
  EXPECT_NE(details->find("beach &lt;1&gt;.jpg"), std::string::npos);
  EXPECT_EQ(details->find("industryClassification"), std::string::npos);
  EXPECT_TRUE(ValidateAgainstSchema(*details, XsdPath()));
  reporter.industry_classification = true;
  f.viewed_by_esp = false;
  details = BuildFileDetailsXml("70001", "f1", f, reporter);
  EXPECT_NE(details->find("<industryClassification>B1</industryClassification>"), std::string::npos);
  EXPECT_NE(details->find("<fileViewedByEsp>false</fileViewedByEsp>"), std::string::npos);
  EXPECT_TRUE(ValidateAgainstSchema(*details, XsdPath()));
}

TEST(CyberTipXml, MissingRequiredFieldsAreNamedBeforeSending) {
  ReportDraft d;
  d.user.esp_identifier = "u";
  EXPECT_NE(ValidateReport(d, testing::TestReporter()).error().message.find("incident date"), std::string::npos);
  d.incident_at = 1;
  EXPECT_NE(ValidateReport(d, testing::TestReporter()).error().message.find("at least one file"), std::string::npos);
  ReporterProfile nobody = testing::TestReporter();
  nobody.email.clear();
  EXPECT_NE(ValidateReport(d, nobody).error().message.find("reporting person"), std::string::npos);
  ReportFile f;
  f.uploaded_at = 1;
  f.md5 = "abc";
  d.files.push_back(f);
  EXPECT_NE(ValidateReport(d, testing::TestReporter()).error().message.find("MD5"), std::string::npos);

  // And the schema check names the problem with its line.
  ReporterProfile wrong = testing::TestReporter();
  wrong.incident_type = "Something else";
  d.files[0].md5 = std::string(32, '0');
  d.files[0].sha256 = std::string(64, '0');
  auto xml = BuildReportXml(d, wrong);
  ASSERT_TRUE(xml);
  auto checked = ValidateAgainstSchema(*xml, XsdPath());
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("line "), std::string::npos) << checked.error().message;
  EXPECT_NE(checked.error().message.find("incidentType"), std::string::npos) << checked.error().message;
}

TEST(CyberTipClient, ParsesAnswersAndKeepsUnknownCodes) {
  auto ok = ParseCyberTipResponse(
      "<reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription>"
      "<reportId>123</reportId></reportResponse>");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->code, 0);
  EXPECT_EQ(ok->report_id, "123");
  auto unknown = ParseCyberTipResponse("<reportResponse><responseCode>7777</responseCode></reportResponse>");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->code, 7777);
  auto done = ParseCyberTipResponse(
      "<reportDoneResponse><responseCode>0</responseCode><reportId>9</reportId><files><fileId>a</fileId>"
      "<fileId>b</fileId></files></reportDoneResponse>");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->file_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(ParseCyberTipResponse("<html>oops</html>"));
  EXPECT_FALSE(ParseCyberTipResponse("not xml"));
}

CyberTipConfig ClientConfig(const CyberTipStandIn& standin, const std::string& password = "pw") {
  CyberTipConfig config;
  config.base_url = standin.base_url();
  config.username = "esp";
  config.password = password;
  config.attempts = 3;
  config.backoff = std::chrono::milliseconds(5);
  config.timeout = std::chrono::seconds(10);
  return config;
}

TEST(CyberTipClient, CredentialsRetriesAndUnknownOutcomes) {
  CyberTipStandIn standin("esp", "pw");
  ASSERT_TRUE(standin.Start());
  CyberTipClient good(ClientConfig(standin), MakeHttpTransport(ClientConfig(standin)));
  auto status = good.Status();
  ASSERT_TRUE(status) << status.error().ToString();
  EXPECT_EQ(status->code, 0);
  EXPECT_EQ(status->request_id.rfind("standin-", 0), 0u);

  CyberTipClient bad(ClientConfig(standin, "wrong"), MakeHttpTransport(ClientConfig(standin, "wrong")));
  auto refused = bad.Status();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);

  // A transient code twice, then success: retried.
  standin.FailNext("/status", {CyberTipStandIn::Fault::kCode, 1000}, 2);
  status = good.Status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code, 0);
  // A final refusal is not retried and keeps its code.
  standin.FailNext("/submit", {CyberTipStandIn::Fault::kCode, 4100}, 1);
  auto submitted = good.Submit("<report/>");
  ASSERT_TRUE(submitted);
  EXPECT_EQ(submitted->code, 4100);
  // An upload whose answer is lost is not retried: it may have been stored.
  const int before = standin.Requests("/upload");
  standin.FailNext("/upload", {CyberTipStandIn::Fault::kHttp500, 0}, 1);
  auto upload = good.Upload("1", "x.jpg", "bytes");
  ASSERT_FALSE(upload);
  EXPECT_EQ(upload.error().code, ErrorCode::kIoError);
  EXPECT_EQ(standin.Requests("/upload"), before + 1);
  // Nothing listening: not delivered.
  CyberTipConfig nowhere = ClientConfig(standin);
  nowhere.base_url = "http://127.0.0.1:1/ispws";
  CyberTipClient unreachable(nowhere, MakeHttpTransport(nowhere));
  auto none = unreachable.Status();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);
}

// The Basic credentials never cross a network in the clear: plain http is refused for any host
// but this one (a test stand-in), before anything is sent.
TEST(CyberTipClient, PlainHttpToAnotherHostIsRefusedBeforeAnythingIsSent) {
  CyberTipConfig config;
  config.username = "esp";
  config.password = "pw";
  config.base_url = "http://exchange.example.org/ispws";
  EXPECT_EQ(MakeHttpTransport(config), nullptr);
  CyberTipClient client(config, MakeHttpTransport(config));
  auto status = client.Status();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find("https://"), std::string::npos) << status.error().message;
  config.base_url = "https://exchange.example.org/ispws";
  EXPECT_NE(MakeHttpTransport(config), nullptr);
}

// Without an account, nothing is sent anywhere, not even to the default (NCMEC's test
// environment): the error says what to configure.
TEST(CyberTipClient, WithoutAUsernameNothingIsSent) {
  CyberTipStandIn standin("esp", "pw");
  ASSERT_TRUE(standin.Start());
  CyberTipConfig config = ClientConfig(standin);
  config.username.clear();
  CyberTipClient client(config, MakeHttpTransport(config));
  auto status = client.Status();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message.find("[cybertip] username"), std::string::npos) << status.error().message;
  EXPECT_EQ(standin.Requests("/status"), 0);
}

enum class Backend { kSqlite, kPostgres };

// A store with one user's case decided violating: two benign photos uploaded, blocked, held,
// one revealed by the reviewer, the account suspended for 30 days.
class ReportingTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.clock = &clock_;
    if (GetParam() == Backend::kPostgres) {
      postgres_.Create();
      if (IsSkipped() || HasFatalFailure()) return;
      options.postgres_url = postgres_.url();
    } else {
      options.sqlite_path = (dir_.path() / "vigil.db").string();
    }
    auto store = Store::Open(options);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    media_dir_ = dir_.path() / "media";
    std::filesystem::create_directories(media_dir_);
    ASSERT_TRUE(standin_.Start());
    config_ = ClientConfig(standin_);
    client_ = std::make_unique<CyberTipClient>(config_, MakeHttpTransport(config_));
    VaultOptions vault;
    vault.directory = (dir_.path() / "vault").string();
    vault.master_key_hex = kMasterKey;
    auto opened = EvidenceVault::Open(*store_, vault, clock_);
    ASSERT_TRUE(opened) << opened.error().ToString();
    vault_ = std::move(*opened);
    FilerOptions filer;
    filer.reporter = testing::TestReporter();
    filer.media_dir = media_dir_.string();
    filer.xsd_path = XsdPath();
    filer_ = std::make_unique<ReportFiler>(*store_, *client_, vault_.get(), filer);
    case_id_ = DecidedCase("user-7", {"photo-1", "photo-2"});
  }

  // Uploads benign photos as `user`, opens a case, decides it violating.
  std::int64_t DecidedCase(const std::string& user, const std::vector<std::string>& ids) {
    FileHasher hasher({});
    std::int64_t case_id = 0;
    const char* photos[] = {"vectors/pdq/bridge-mods/aaa-orig.jpg", "vectors/pdq/bridge-mods/high-contrast.jpg"};
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto bytes = testing::ReadFile(testing::TestDataDir() / photos[i % 2]);
      auto hashed = hasher.HashBytes(bytes);
      EXPECT_TRUE(hashed);
      ContentRecord c;
      c.content_id = ids[i];
      c.user_id = user;
      c.media_type = "image/jpeg";
      c.byte_size = static_cast<std::int64_t>(bytes.size());
      c.hashes = {{"md5", hashed->digests.md5}, {"sha1", hashed->digests.sha1}, {"sha256", hashed->digests.sha256},
                  {"pdq", hashed->pdq.hash.ToHex()}};
      c.submitted_at = clock_.now;
      c.metadata_json = R"({"ip":"198.51.100.)" + std::to_string(i + 1) + R"(","screen_name":"sunset_fan"})";
      c.matches = {testing::ListedMatch(*store_, "stand-ins", "csam", hashed->digests.sha256)};
      PolicyOutcome outcome;
      outcome.block = outcome.hold = outcome.queue_report = true;
      outcome.rules = {"known-image"};
      outcome.category = testing::BuiltInCategory("csam");
      auto recorded = testing::RecordWithOutcome(*store_, c, outcome, media_dir_, std::string(bytes.begin(), bytes.end()));
      EXPECT_TRUE(recorded && recorded->opened) << (recorded ? "no case" : recorded.error().ToString());
      if (!recorded || !recorded->opened) return 0;
      case_id = recorded->opened->id;
      sha256_[ids[i]] = hashed->digests.sha256;
      bytes_[ids[i]] = std::string(bytes.begin(), bytes.end());
    }
    EXPECT_TRUE(store_->Cases().ClaimCase(case_id, "alice"));
    EXPECT_TRUE(store_->Cases().RecordView(case_id, ids[0], "alice"));
    CaseStore::DecisionRequest decision;
    decision.verdict = Verdict::kViolating;
    decision.classification = "B1";
    decision.reason = "matches a listed image";
    decision.account_action = AccountAction::kSuspend;
    decision.account_days = 30;
    decision.category = testing::BuiltInCategory("csam");
    auto decided = store_->Cases().Decide(case_id, decision, "alice");
    EXPECT_TRUE(decided) << decided.error().ToString();
    return case_id;
  }

  // One upload of `user`, matched in a bank of `category` and recorded with the policy's `outcome`
  // (in that category): the case it opened or grew (0 on failure).
  std::int64_t PolicyCase(const std::string& user, const std::string& content_id, const std::string& category,
                          PolicyOutcome outcome) {
    char digest[65];
    std::snprintf(digest, sizeof digest, "%064zx", std::hash<std::string>{}(content_id));
    ContentRecord c;
    c.content_id = content_id;
    c.user_id = user;
    c.media_type = "image/jpeg";
    c.byte_size = 6;
    c.hashes = {{"sha256", digest}};
    c.submitted_at = clock_.now;
    c.matches = {testing::ListedMatch(*store_, category + "-stand-ins", category, digest)};
    outcome.category = testing::BuiltInCategory(category);
    auto recorded = testing::RecordWithOutcome(*store_, c, outcome, media_dir_, "benign");
    EXPECT_TRUE(recorded && recorded->opened) << (recorded ? "no case" : recorded.error().ToString());
    return recorded && recorded->opened ? recorded->opened->id : 0;
  }

  // Preserves `bytes` as a media item of the fixture's case.
  Result<EvidenceItem> PreserveMedia(const std::string& content_id, const std::string& bytes) {
    EvidenceItem item;
    item.kind = "media";
    item.media_type = "image/jpeg";
    item.case_id = case_id_;
    item.content_id = content_id;
    return vault_->Preserve(bytes, item, "system");
  }

  std::int64_t ApprovedReport() {
    auto draft = filer_->Draft(case_id_, "system");
    EXPECT_TRUE(draft) << draft.error().ToString();
    auto approved = filer_->Approve(draft->id, "bob");
    EXPECT_TRUE(approved) << approved.error().ToString();
    return draft->id;
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  TestClock clock_;
  std::unique_ptr<Store> store_;
  std::filesystem::path media_dir_;
  CyberTipStandIn standin_{"esp", "pw", XsdPath()};
  CyberTipConfig config_;
  std::unique_ptr<CyberTipClient> client_;
  std::unique_ptr<EvidenceVault> vault_;
  std::unique_ptr<ReportFiler> filer_;
  std::int64_t case_id_ = 0;
  std::map<std::string, std::string> sha256_, bytes_;
};

TEST_P(ReportingTest, DecidedCaseIsReportedOnceAndPreserved) {
  auto draft = filer_->Draft(case_id_, "system");
  ASSERT_TRUE(draft) << draft.error().ToString();
  EXPECT_EQ(draft->state, ReportState::kDraft);
  EXPECT_EQ(draft->files.size(), 2u);
  // One report per user per incident.
  EXPECT_EQ(filer_->Draft(case_id_, "system").error().code, ErrorCode::kAlreadyExists);
  // Not without a person's approval.
  auto early = filer_->File(draft->id, "system");
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(standin_.Requests("/submit"), 0);
  EXPECT_EQ(filer_->Approve(draft->id, "system").error().code, ErrorCode::kPermissionDenied);
  ASSERT_TRUE(filer_->Approve(draft->id, "bob"));

  auto filed = filer_->File(draft->id, "system");
  ASSERT_TRUE(filed) << filed.error().ToString();
  EXPECT_EQ(filed->state, ReportState::kFiled) << filed->last_error;
  EXPECT_TRUE(filed->filed_at.has_value());
  EXPECT_EQ(filed->approved_by, "bob");
  ASSERT_EQ(standin_.Reports().size(), 1u);
  const auto at_ncmec = standin_.Reports()[0];
  EXPECT_EQ(at_ncmec.state, "finished");
  EXPECT_EQ(at_ncmec.esp_identifier, "user-7");
  EXPECT_EQ(filed->ncmec_report_id, at_ncmec.id);
  ASSERT_EQ(at_ncmec.file_ids.size(), 2u);
  // fileViewedByEsp follows the review record: the reviewer revealed photo-1 only.
  const auto& first = at_ncmec.file_details.at(filed->files[0].ncmec_file_id);
  const auto& second = at_ncmec.file_details.at(filed->files[1].ncmec_file_id);
  EXPECT_NE(first.find("<fileViewedByEsp>true</fileViewedByEsp>"), std::string::npos) << first;
  EXPECT_NE(second.find("<fileViewedByEsp>false</fileViewedByEsp>"), std::string::npos) << second;
  EXPECT_NE(at_ncmec.xml.find("accountTemporarilyDisabled"), std::string::npos);
  EXPECT_NE(at_ncmec.xml.find("<ipAddress>198.51.100.1</ipAddress>"), std::string::npos);

  // Filing again changes nothing.
  auto again = filer_->File(draft->id, "system");
  ASSERT_TRUE(again);
  EXPECT_EQ(standin_.Requests("/submit"), 1);
  EXPECT_EQ(standin_.Requests("/finish"), 1);

  // Preserved: both photos, the context and the report, held a year from the report.
  auto items = store_->Reports().ListEvidence(case_id_);
  ASSERT_TRUE(items);
  std::map<std::string, int> kinds;
  for (const auto& e : *items) {
    ++kinds[e.kind];
    EXPECT_GE(e.hold_until, *filed->filed_at + 365 * kDay);
  }
  EXPECT_EQ(kinds["media"], 2);
  EXPECT_EQ(kinds["context"], 1);
  EXPECT_EQ(kinds["report"], 1);
  for (const auto& e : *items) {
    if (e.kind != "media") continue;
    auto read = vault_->Read(e.id, "carl", kCustodianRole);
    ASSERT_TRUE(read) << read.error().ToString();
    EXPECT_EQ(*read, bytes_[e.content_id]);
    auto refused = vault_->Read(e.id, "alice", "reviewer");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  }
  auto audit = store_->ListAudit(500);
  ASSERT_TRUE(audit);
  int reads = 0, refusals = 0;
  for (const auto& a : *audit) {
    reads += a.action == "evidence.read" && a.actor == "carl";
    refusals += a.action == "evidence.read_refused" && a.actor == "alice";
    // The master key never reaches the log.
    EXPECT_EQ(a.detail.find(kMasterKey), std::string::npos);
  }
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(refusals, 2);
  std::vector<std::string> problems;
  std::int64_t records = 0;
  auto verified = store_->Cases().VerifyAudit(&records);
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->empty());
}

TEST_P(ReportingTest, FiledCaseIsProducedForLegalProcessAndCounted) {
  const std::int64_t id = ApprovedReport();
  auto filed = filer_->File(id, "system");
  ASSERT_TRUE(filed && filed->state == ReportState::kFiled);
  LegalRequest request;
  request.type = "search_warrant";
  request.agency = "Example County Sheriff";
  request.case_number = "2026-CR-0042";
  request.received_at = clock_.now;
  request.due_at = clock_.now + 14 * kDay;
  request.scope = "all records of user-7";
  request.case_ids = {case_id_};
  request.created_by = "lena";
  auto created = store_->Reports().CreateLegalRequest(request);
  ASSERT_TRUE(created) << created.error().ToString();
  const std::string seed = NewSigningSeed();
  const std::string public_key = *SigningPublicKey(seed);
  const auto out = dir_.path() / "production";
  // Only a custodian produces.
  EXPECT_EQ(ProduceLegalPackage(*store_, *vault_, created->id, out.string(), seed, "alice", "reviewer").error().code,
            ErrorCode::kPermissionDenied);
  auto package = ProduceLegalPackage(*store_, *vault_, created->id, out.string(), seed, "carl", kCustodianRole);
  ASSERT_TRUE(package) << package.error().ToString();
  EXPECT_EQ(package->files, 4);  // two photos, the context, the report
  EXPECT_GT(package->custody_records, 10);
  auto check = VerifyLegalPackage(out.string(), public_key);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->signature_ok);
  EXPECT_TRUE(check->problems.empty()) << check->problems.front();
  EXPECT_EQ(check->files_checked, 4);
  EXPECT_EQ(check->custody_records_checked, package->custody_records);
  auto produced = store_->Reports().GetLegalRequest(created->id);
  EXPECT_EQ(produced->status, "produced");
  EXPECT_EQ(produced->package_sha256, package->manifest_sha256);
  // The custody log shows the custodian's reads and the report's steps.
  const auto custody = testing::ReadFile(out / "custody.jsonl");
  const std::string custody_text(custody.begin(), custody.end());
  EXPECT_NE(custody_text.find("\"evidence.read\""), std::string::npos);
  EXPECT_NE(custody_text.find("\"report.filed\""), std::string::npos);
  // The photos in the package are the uploads.
  int photos = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out / "files")) {
    const auto bytes = testing::ReadFile(entry.path());
    const std::string text(bytes.begin(), bytes.end());
    photos += text == bytes_["photo-1"] || text == bytes_["photo-2"];
  }
  EXPECT_EQ(photos, 2);
  // A wrong key, a changed file, an added file: each found.
  EXPECT_FALSE(VerifyLegalPackage(out.string(), *SigningPublicKey(NewSigningSeed()))->signature_ok);
  for (const auto& entry : std::filesystem::directory_iterator(out / "files")) {
    if (entry.path().extension() == ".json") std::ofstream(entry.path(), std::ios::app) << " ";
  }
  std::ofstream(out / "files" / "extra.txt") << "x";
  check = VerifyLegalPackage(out.string(), public_key);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->signature_ok);
  ASSERT_EQ(check->problems.size(), 3u);  // SHA-256 and size of the context, and the extra file
  std::ofstream(out / "manifest.json", std::ios::app) << " ";  // a changed manifest: the signature fails
  EXPECT_FALSE(VerifyLegalPackage(out.string(), public_key)->signature_ok);
  // A package never overwrites another.
  EXPECT_EQ(ProduceLegalPackage(*store_, *vault_, created->id, out.string(), seed, "carl", kCustodianRole).error().code,
            ErrorCode::kAlreadyExists);

  // The transparency report counts it all in its month.
  clock_.now += kDay;
  auto report = BuildTransparencyReport(store_->Reports(), clock_.now - 40 * kDay, clock_.now + kDay);
  ASSERT_TRUE(report) << report.error().ToString();
  const MonthFigures& t = report->total;
  EXPECT_EQ(t.content_actioned, 2);
  EXPECT_EQ(t.content_actioned_by_source.at("hash:stand-ins"), 2);  // the fixture's bank of stand-ins
  EXPECT_EQ(t.accounts_suspended_temporary, 1);
  EXPECT_EQ(t.cybertipline_reports, 1);
  EXPECT_EQ(t.legal_requests_received, 1);
  EXPECT_EQ(t.legal_requests_answered, 1);
  ASSERT_TRUE(t.median_hours_upload_to_action.has_value());
  EXPECT_NEAR(*t.median_hours_upload_to_action, 0.0, 0.01);
  EXPECT_GE(report->months.size(), 2u);
  const std::string html = TransparencyHtml(*report, "Example Photos");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  const std::string csv = TransparencyCsv(*report);
  EXPECT_NE(csv.find("\ntotal,1,0,0,2,"), std::string::npos) << csv;
  EXPECT_NE(TransparencyJson(*report).find("\"cybertipline_reports\":1"), std::string::npos);
}

// A tar archive's plain files: path -> bytes.
std::map<std::string, std::string> TarFiles(const std::string& tar) {
  std::map<std::string, std::string> files;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK) {
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr) continue;
      std::string bytes;
      char buffer[1 << 16];
      la_ssize_t n = 0;
      while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0) bytes.append(buffer, static_cast<std::size_t>(n));
      files[archive_entry_pathname(e)] = std::move(bytes);
    }
  }
  archive_read_free(a);
  return files;
}

struct TarEntry {
  TarEntry(std::string p, std::string b, unsigned t = AE_IFREG, std::string s = {}, std::string h = {})
      : path(std::move(p)), bytes(std::move(b)), type(t), symlink(std::move(s)), hardlink(std::move(h)) {}
  std::string path;
  std::string bytes;
  unsigned type;
  std::string symlink, hardlink;
};

// A tar archive written as given: a hostile one, with the entries a careless extractor follows;
// through gzip when asked (a .tar.gz).
std::string MakeTar(const std::vector<TarEntry>& entries, bool gzip = false) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_open2(
      a, &out, nullptr,
      [](archive*, void* client, const void* buffer, size_t length) -> la_ssize_t {
        static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
        return static_cast<la_ssize_t>(length);
      },
      nullptr, nullptr);
  for (const auto& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_filetype(e, t.type);
    archive_entry_set_perm(e, 0600);
    if (!t.symlink.empty()) archive_entry_set_symlink(e, t.symlink.c_str());
    if (!t.hardlink.empty()) archive_entry_set_hardlink(e, t.hardlink.c_str());
    const bool data = t.type == AE_IFREG && t.hardlink.empty();
    archive_entry_set_size(e, data ? static_cast<la_int64_t>(t.bytes.size()) : 0);
    EXPECT_GE(archive_write_header(a, e), ARCHIVE_WARN) << t.path;
    if (data && !t.bytes.empty()) archive_write_data(a, t.bytes.data(), t.bytes.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// A production as one tar archive: kept in memory under a bound (refused before anything is
// decrypted when the evidence alone is over it), or written to a new file; recorded with the
// manifest's SHA-256; checked as it is by the library and by `vigil legal verify`. The archive is
// read, never unpacked: the genuine, signed package with a hostile entry added (a path that climbs
// out, an absolute path, a device, a second manifest, an unlisted file, a custody log under another
// folder, a file in a folder other than files/) or a file swapped for a link (to a copy of the very
// bytes, so following it would pass) does not verify.
TEST_P(ReportingTest, ProductionArchivesVerifyAndHostileEntriesAreRefused) {
  ASSERT_TRUE(PreserveMedia("photo-1", bytes_["photo-1"]));
  LegalRequest request;
  request.type = "court_order";
  request.agency = "Example County Sheriff";
  request.case_number = "2026-CR-0043";
  request.received_at = clock_.now;
  request.scope = "the photos of user-7";
  request.case_ids = {case_id_};
  request.created_by = "lena";
  auto created = store_->Reports().CreateLegalRequest(request);
  ASSERT_TRUE(created) << created.error().ToString();
  const std::string seed = NewSigningSeed();
  const std::string public_key = *SigningPublicKey(seed);
  auto reads = [&] {
    int n = 0;
    const auto audit = store_->ListAudit(1000);
    for (const auto& a : *audit) n += a.action == "evidence.read";
    return n;
  };

  ArchiveOutput small;
  small.max_bytes = 1000;
  auto refused = ProduceLegalArchive(*store_, *vault_, created->id, small, seed, "carl", kCustodianRole);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(refused.error().message.find("over the limit of 1000 bytes"), std::string::npos) << refused.error().message;
  EXPECT_EQ(reads(), 0) << "nothing was decrypted";
  EXPECT_EQ(store_->Reports().GetLegalRequest(created->id)->status, "open");

  ArchiveOutput memory;
  memory.max_bytes = 64 << 20;
  auto package = ProduceLegalArchive(*store_, *vault_, created->id, memory, seed, "carl", kCustodianRole);
  ASSERT_TRUE(package) << package.error().ToString();
  EXPECT_TRUE(package->path.empty());
  EXPECT_EQ(package->name.rfind("legal-request-" + std::to_string(created->id) + "-", 0), 0u) << package->name;
  EXPECT_EQ(package->files, 1);
  auto check = VerifyLegalArchive(package->archive, public_key);
  ASSERT_TRUE(check) << check.error().ToString();
  EXPECT_TRUE(check->signature_ok);
  EXPECT_TRUE(check->problems.empty()) << check->problems.front();
  EXPECT_EQ(check->files_checked, 1);
  EXPECT_EQ(check->custody_records_checked, package->custody_records);
  // The entries sit under the package's folder; the manifest among them is the one recorded.
  const auto members = TarFiles(package->archive);
  ASSERT_TRUE(members.count(package->name + "/manifest.json"));
  EXPECT_EQ(Sha256Hex(members.at(package->name + "/manifest.json")), package->manifest_sha256);
  EXPECT_EQ(store_->Reports().GetLegalRequest(created->id)->package_sha256, package->manifest_sha256);
  std::string photo_path;
  for (const auto& [path, bytes] : members) {
    if (path.ends_with("-media.jpg")) photo_path = path;
  }
  ASSERT_FALSE(photo_path.empty());
  EXPECT_EQ(members.at(photo_path), bytes_["photo-1"]);

  // To a new file (as `vigil legal export --out FILE.tar` writes it); never over another.
  ArchiveOutput to_file;
  to_file.file = (dir_.path() / "production.tar").string();
  auto written = ProduceLegalArchive(*store_, *vault_, created->id, to_file, seed, "carl", kCustodianRole);
  ASSERT_TRUE(written) << written.error().ToString();
  EXPECT_EQ(written->path, to_file.file);
  EXPECT_TRUE(written->archive.empty());
  check = VerifyLegalPackage(to_file.file, public_key);
  ASSERT_TRUE(check) << check.error().ToString();
  EXPECT_TRUE(check->problems.empty()) << check->problems.front();
  EXPECT_EQ(ProduceLegalArchive(*store_, *vault_, created->id, to_file, seed, "carl", kCustodianRole).error().code,
            ErrorCode::kAlreadyExists);
  const auto verified = testing::RunVigil({"legal", "verify", to_file.file, "--public-key", public_key});
  EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("the package verifies"), std::string::npos) << verified.out;

  std::vector<TarEntry> genuine, without_photo;
  for (const auto& [path, bytes] : members) {
    genuine.push_back({path, bytes});
    if (path != photo_path) without_photo.push_back({path, bytes});
  }
  const auto copy = dir_.path() / "copy-of-the-photo.jpg";
  std::ofstream(copy, std::ios::binary) << bytes_["photo-1"];
  const std::string escaped = (dir_.path() / "escaped.txt").string();
  auto with = [](std::vector<TarEntry> entries, TarEntry extra) {
    entries.push_back(std::move(extra));
    return entries;
  };
  std::string tampered = bytes_["photo-1"];
  tampered[tampered.size() / 2] ^= 1;
  const struct {
    std::string what;
    std::vector<TarEntry> entries;
    std::string says;
  } hostile[] = {
      {"climbs out", with(genuine, {"../escaped.txt", "x"}), "an absolute path, or one with \"..\""},
      {"climbs out of its folder", with(genuine, {package->name + "/files/../../escaped.txt", "x"}),
       "an absolute path, or one with \"..\""},
      {"absolute", with(genuine, {escaped, "x"}), "an absolute path, or one with \"..\""},
      {"symbolic link", with(without_photo, {photo_path, "", AE_IFLNK, copy.string(), ""}), "a symbolic link"},
      {"hard link", with(without_photo, {photo_path, "", AE_IFREG, "", package->name + "/manifest.json"}), "a hard link"},
      {"device", with(genuine, {package->name + "/files/tty", "", AE_IFCHR, "", ""}), "a device, pipe or other special file"},
      {"second manifest", with(genuine, {package->name + "/manifest.json", "{\"files\":[]}\n"}), "twice in the archive"},
      {"unlisted file", with(genuine, {package->name + "/files/extra.txt", "x"}), "files/extra.txt: not in the manifest"},
      {"changed photo", with(without_photo, {photo_path, tampered}), "SHA-256 differs"},
      {"custody log under another folder", with(genuine, {"d1/custody.jsonl", "x"}),
       "d1/custody.jsonl: outside the package's folder"},
      {"file in another folder of the package", with(genuine, {package->name + "/extra/payload.exe", "x"}),
       "extra/payload.exe: not part of the package"},
  };
  for (const auto& h : hostile) {
    const std::string tar = MakeTar(h.entries);
    auto judged = VerifyLegalArchive(tar, public_key);
    ASSERT_TRUE(judged) << h.what << ": " << judged.error().ToString();
    EXPECT_TRUE(judged->signature_ok) << h.what << ": the manifest and its signature are the genuine ones";
    const bool said = std::any_of(judged->problems.begin(), judged->problems.end(),
                                  [&](const std::string& p) { return p.find(h.says) != std::string::npos; });
    EXPECT_TRUE(said) << h.what << ": expected '" << h.says << "' in "
                      << (judged->problems.empty() ? "no problems" : judged->problems.front());
    // The recipient's command says it does not verify, and writes nothing anywhere.
    const auto file = dir_.path() / "hostile.tar";
    std::ofstream(file, std::ios::binary | std::ios::trunc) << tar;
    const auto cli = testing::RunVigil({"legal", "verify", file.string(), "--public-key", public_key});
    EXPECT_EQ(cli.status, 1) << h.what << ": " << cli.out << cli.err;
    EXPECT_NE(cli.out.find("NOT VALID"), std::string::npos) << h.what << ": " << cli.out;
    EXPECT_FALSE(std::filesystem::exists(escaped)) << h.what;
  }
  // Not a tar archive at all: a problem, not an error.
  auto garbage = VerifyLegalArchive("not an archive", public_key);
  ASSERT_TRUE(garbage);
  EXPECT_FALSE(garbage->problems.empty());
  EXPECT_FALSE(garbage->signature_ok);
}

// A genuine folder package of `case_id`'s preserved items, signed with a new key, that verifies
// as produced; its public key (empty on failure).
std::string GenuineFolderPackage(Store& store, EvidenceVault& vault, std::int64_t case_id, std::int64_t now,
                                 const std::filesystem::path& out) {
  LegalRequest request;
  request.type = "subpoena";
  request.agency = "Example County Sheriff";
  request.case_number = "2026-CR-0044";
  request.received_at = now;
  request.scope = "the photos of user-7";
  request.case_ids = {case_id};
  request.created_by = "lena";
  auto created = store.Reports().CreateLegalRequest(request);
  if (!created) {
    ADD_FAILURE() << created.error().ToString();
    return {};
  }
  const std::string seed = NewSigningSeed();
  auto package = ProduceLegalPackage(store, vault, created->id, out.string(), seed, "carl", kCustodianRole);
  if (!package) {
    ADD_FAILURE() << package.error().ToString();
    return {};
  }
  const std::string public_key = *SigningPublicKey(seed);
  auto check = VerifyLegalPackage(out.string(), public_key);
  if (!check || !check->problems.empty() || check->files_checked != 1) {
    ADD_FAILURE() << "the genuine package does not verify: "
                  << (!check ? check.error().ToString() : check->problems.empty() ? "" : check->problems.front());
    return {};
  }
  return public_key;
}

// The folder does not verify, by the library and by `vigil legal verify DIR`, with a problem that
// starts with `says` (the path it names); the genuine signature still verifies.
void ExpectFolderNotValid(const std::filesystem::path& out, const std::string& public_key, const std::string& says) {
  auto check = VerifyLegalPackage(out.string(), public_key);
  ASSERT_TRUE(check) << check.error().ToString();
  EXPECT_TRUE(check->signature_ok);
  std::string all;
  for (const auto& p : check->problems) all += p + "\n";
  EXPECT_TRUE(std::any_of(check->problems.begin(), check->problems.end(),
                          [&](const std::string& p) { return p.rfind(says, 0) == 0; }))
      << "expected '" << says << "' in:\n" << all;
  const auto cli = testing::RunVigil({"legal", "verify", out.string(), "--public-key", public_key});
  EXPECT_EQ(cli.status, 1) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("problem: " + says), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("NOT VALID"), std::string::npos) << cli.out;
}

TEST_P(ReportingTest, FolderPackageWithAFileOutsideFilesDoesNotVerify) {
  ASSERT_TRUE(PreserveMedia("photo-1", bytes_["photo-1"]));
  const auto out = dir_.path() / "production";
  const std::string public_key = GenuineFolderPackage(*store_, *vault_, case_id_, clock_.now, out);
  ASSERT_FALSE(public_key.empty());
  std::ofstream(out / "INSTRUCTIONS.html") << "<p>open files/run.exe</p>";
  ExpectFolderNotValid(out, public_key, "INSTRUCTIONS.html: not part of the package");
}

TEST_P(ReportingTest, FolderPackageWithAnExtraFolderDoesNotVerify) {
  ASSERT_TRUE(PreserveMedia("photo-1", bytes_["photo-1"]));
  const auto out = dir_.path() / "production";
  const std::string public_key = GenuineFolderPackage(*store_, *vault_, case_id_, clock_.now, out);
  ASSERT_FALSE(public_key.empty());
  std::filesystem::create_directory(out / "extra");
  std::ofstream(out / "extra" / "payload.exe") << "MZ";
  ExpectFolderNotValid(out, public_key, "extra: a folder that is not part of the package");
}

TEST_P(ReportingTest, FolderPackageWithASymlinkToEtcPasswdDoesNotVerify) {
  ASSERT_TRUE(PreserveMedia("photo-1", bytes_["photo-1"]));
  const auto out = dir_.path() / "production";
  const std::string public_key = GenuineFolderPackage(*store_, *vault_, case_id_, clock_.now, out);
  ASSERT_FALSE(public_key.empty());
  std::filesystem::create_symlink("/etc/passwd", out / "passwd");
  ExpectFolderNotValid(out, public_key, "passwd: a symbolic link");
}

// A .tar.gz of zero-filled files, small on disk, that expands far past the budget on what one
// package is read for: reading stops at the budget (a problem naming it), and what comes after
// is never reached.
TEST(LegalArchive, ArchiveOverTheReadBudgetIsStoppedAtTheBudget) {
  const std::string zeros(4 << 20, '\0');
  std::vector<TarEntry> entries{{"pkg", "", AE_IFDIR}};
  for (int i = 1; i <= 4; ++i) entries.push_back({"pkg/files/zeros-" + std::to_string(i), zeros});
  entries.push_back({"pkg/../after-the-budget.txt", "x"});
  const std::string tgz = MakeTar(entries, /*gzip=*/true);
  EXPECT_LT(tgz.size(), 256u << 10) << "small on disk";
  testing::TempDir dir;
  const auto file = dir.path() / "bomb.tar.gz";
  std::ofstream(file, std::ios::binary) << tgz;
  VerifyLimits limits;
  limits.max_total_bytes = 8 << 20;  // two of the four files
  auto check = VerifyLegalPackage(file.string(), *SigningPublicKey(NewSigningSeed()), limits);
  ASSERT_TRUE(check) << check.error().ToString();
  EXPECT_FALSE(check->signature_ok);
  std::string all;
  for (const auto& p : check->problems) all += p + "\n";
  EXPECT_NE(all.find("over 8388608 bytes of data in all"), std::string::npos) << all;
  EXPECT_EQ(all.find("after-the-budget.txt"), std::string::npos) << "read past the budget:\n" << all;
}

// A .tar.gz that expands over the bound on its ratio (a decompression bomb) is stopped early, with
// a problem naming the bound, well before its end.
TEST(LegalArchive, ArchiveThatExpandsLikeAGzipBombIsStoppedEarly) {
  const std::string tgz = MakeTar({{"pkg", "", AE_IFDIR},
                                   {"pkg/files/zeros", std::string(16 << 20, '\0')},
                                   {"pkg/../after-the-bomb.txt", "x"}},
                                  /*gzip=*/true);
  VerifyLimits limits;
  limits.expansion_floor = 1 << 20;
  auto check = VerifyLegalArchive(tgz, *SigningPublicKey(NewSigningSeed()), limits);
  ASSERT_TRUE(check) << check.error().ToString();
  std::string all;
  for (const auto& p : check->problems) all += p + "\n";
  EXPECT_NE(all.find("the archive expands over 100 times"), std::string::npos) << all;
  EXPECT_EQ(all.find("after-the-bomb.txt"), std::string::npos) << "read to its end:\n" << all;
}

// A productions folder inside the data directory, whose backups would carry decrypted evidence,
// is refused however it is spelt (the folder itself, below it, through "..", through a link);
// one outside it is accepted. `vigil serve` does not start with one.
TEST(LegalProductionsDir, InsideTheDataDirectoryIsRefusedAtStartUp) {
  testing::TempDir dir;
  const auto data = dir.path() / "data";
  std::filesystem::create_directories(data);
  std::filesystem::create_directory_symlink(data, dir.path() / "link-to-data");
  for (const auto& inside : {data, data / "productions", data / "productions" / "", dir.path() / "elsewhere" / ".." / "data" / "p",
                             dir.path() / "link-to-data" / "p"}) {
    auto refused = CheckProductionsDir(inside.string(), data.string());
    ASSERT_FALSE(refused) << inside;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.error().message.find("inside the data directory"), std::string::npos) << refused.error().message;
  }
  EXPECT_TRUE(CheckProductionsDir((dir.path() / "productions").string(), data.string()));
  EXPECT_TRUE(CheckProductionsDir((dir.path() / "data-productions").string(), data.string()));  // a sibling, not inside
  EXPECT_TRUE(CheckProductionsDir("", data.string()));  // unset: answered to the custodian only

  std::ofstream(dir.path() / "vigil.toml") << "[legal]\nproductions_dir = \"" << (data / "productions").string() << "\"\n";
  testing::ServerProcess server(dir.path() / "server",
                                {"--data-dir", data.string(), "--config", (dir.path() / "vigil.toml").string()});
  EXPECT_FALSE(server.Start(std::chrono::seconds(20))) << "the service started with productions in its data directory";
  EXPECT_NE(server.Log().find("inside the data directory"), std::string::npos) << server.Log();
}

// Accounts, not actions: user-9 is suspended for a week by the policy and then banned by two
// reviewers in the same month. That is one account (suspended permanently), next to the fixture's
// user-7 (suspended for 30 days); the three account actions are counted as actions, apart.
TEST_P(ReportingTest, TransparencyCountsAccountsNotActions) {
  PolicyOutcome outcome;
  outcome.block = outcome.hold = true;
  outcome.account = AccountAction::kSuspend;
  outcome.account_days = 7;
  outcome.rules = {"known-image"};
  const std::int64_t case_id = PolicyCase("user-9", "photo-9", "csam", outcome);
  ASSERT_NE(case_id, 0);
  CaseStore::DecisionRequest ban;
  ban.verdict = Verdict::kViolating;
  ban.classification = "B1";
  ban.reason = "matches a listed image";
  ban.account_action = AccountAction::kBan;
  ban.category = testing::BuiltInCategory("csam");
  ASSERT_TRUE(store_->Cases().ClaimCase(case_id, "alice"));
  auto first = store_->Cases().Decide(case_id, ban, "alice");
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->status, CaseStatus::kOpen);  // a ban waits for a second reviewer
  ASSERT_TRUE(store_->Cases().ClaimCase(case_id, "bob"));
  auto second = store_->Cases().Decide(case_id, ban, "bob");
  ASSERT_TRUE(second) << second.error().ToString();
  ASSERT_EQ(second->status, CaseStatus::kDecided);
  auto actions = store_->Cases().ListActions("user-9");
  ASSERT_TRUE(actions);
  std::vector<std::string> account_kinds;
  for (const auto& a : *actions) {
    if (a.content_id.empty()) account_kinds.push_back(a.kind);
  }
  ASSERT_EQ(account_kinds, (std::vector<std::string>{"suspend_account", "ban_account"}));

  auto report = BuildTransparencyReport(store_->Reports(), clock_.now - kDay, clock_.now + kDay);
  ASSERT_TRUE(report) << report.error().ToString();
  ASSERT_EQ(report->months.size(), 1u);
  for (const MonthFigures* m : {&report->months[0], &report->total}) {
    EXPECT_EQ(m->accounts_suspended_temporary, 1) << m->month << ": user-7 only";
    EXPECT_EQ(m->accounts_suspended_permanent, 1) << m->month << ": user-9, once";
    EXPECT_EQ(m->accounts_restricted, 0) << m->month;
    EXPECT_EQ(m->account_actions, 3) << m->month;
    EXPECT_EQ(m->accounts_actioned_by_category, (std::map<std::string, std::int64_t>{{"csam", 2}})) << m->month;
    // Alice's first decision on the ban took no action; Bob's did.
    EXPECT_EQ(m->violating_decisions_by_category, (std::map<std::string, std::int64_t>{{"csam", 2}})) << m->month;
  }
  const std::string json = TransparencyJson(*report);
  EXPECT_NE(json.find("\"accounts_suspended_temporary\":1,\"accounts_suspended_permanent\":1"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"account_actions\":3"), std::string::npos) << json;
  EXPECT_NE(TransparencyHtml(*report).find("<b>2</b>accounts suspended"), std::string::npos);
  const std::string csv = TransparencyCsv(*report);
  EXPECT_NE(csv.find("\ntotal,1,1,0,3,"), std::string::npos) << csv;
}

// Actions in two categories of violation are counted apart: the fixture's user-7 in CSAM (two
// uploads, a suspension, one decision) and user-9 in intimate images shared without consent (one
// upload, a restriction, one decision), per month and in total, in every format.
TEST_P(ReportingTest, TransparencyCountsEachCategoryApart) {
  PolicyOutcome outcome;
  outcome.block = outcome.hold = true;
  outcome.rules = {"known-image"};
  const std::int64_t case_id = PolicyCase("user-9", "photo-9", "ncii", outcome);
  ASSERT_NE(case_id, 0);
  CaseStore::DecisionRequest decision;
  decision.verdict = Verdict::kViolating;
  decision.reason = "shared without consent";
  decision.account_action = AccountAction::kRestrict;
  decision.account_days = 7;
  decision.category = testing::BuiltInCategory("ncii");
  ASSERT_TRUE(store_->Cases().ClaimCase(case_id, "alice"));
  auto decided = store_->Cases().Decide(case_id, decision, "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  ASSERT_EQ(decided->status, CaseStatus::kDecided);

  auto report = BuildTransparencyReport(store_->Reports(), clock_.now - kDay, clock_.now + kDay);
  ASSERT_TRUE(report) << report.error().ToString();
  report->category_titles = CategoryTitles(Taxonomy::BuiltIn());
  ASSERT_EQ(report->months.size(), 1u);
  using Counts = std::map<std::string, std::int64_t>;
  for (const MonthFigures* m : {&report->months[0], &report->total}) {
    EXPECT_EQ(m->content_actioned, 3) << m->month;
    EXPECT_EQ(m->content_actioned_by_category, (Counts{{"csam", 2}, {"ncii", 1}})) << m->month;
    EXPECT_EQ(m->accounts_actioned_by_category, (Counts{{"csam", 1}, {"ncii", 1}})) << m->month;
    EXPECT_EQ(m->violating_decisions_by_category, (Counts{{"csam", 1}, {"ncii", 1}})) << m->month;
    EXPECT_EQ(m->accounts_suspended_temporary, 1) << m->month;
    EXPECT_EQ(m->accounts_restricted, 1) << m->month;
  }
  const std::string json = TransparencyJson(*report);
  EXPECT_NE(json.find("\"content_actioned_by_category\":{\"csam\":2,\"ncii\":1}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"accounts_actioned_by_category\":{\"csam\":1,\"ncii\":1}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"violating_decisions_by_category\":{\"csam\":1,\"ncii\":1}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"category_titles\":{\"csam\":\"Child sexual abuse material\",\"ncii\":\"Intimate images "
                      "shared without consent\"}"),
            std::string::npos)
      << json;
  const std::string csv = TransparencyCsv(*report);
  EXPECT_NE(csv.find(",content_actioned_category_csam,accounts_actioned_category_csam,violating_decisions_category_"
                     "csam,content_actioned_category_ncii,accounts_actioned_category_ncii,violating_decisions_"
                     "category_ncii\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",2,1,1,1,1,1\n"), std::string::npos) << csv;  // the total row's category columns
  const std::string html = TransparencyHtml(*report);
  EXPECT_NE(html.find("<tr><td>Child sexual abuse material</td><td>2</td><td>1</td><td>1</td></tr>"), std::string::npos)
      << html;
  EXPECT_NE(html.find("<tr><td>Intimate images shared without consent</td><td>1</td><td>1</td><td>1</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("Uploads actioned by category of violation"), std::string::npos);
}

// `vigil report transparency` names the platform of the configuration file, as the service does
// (`--platform` overrides it).
TEST_P(ReportingTest, CliTransparencyNamesTheConfiguredPlatform) {
  std::ofstream(dir_.path() / "vigil.toml")
      << "[reporter]\ncompany_name = \"Example Photos Inc.\"\nplatform = \"Example Photos\"\n";
  auto run = [&](const std::string& format, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"report", "transparency", "--from", "2026-05-01", "--to", "2026-07-01",
                                     "--format", format, "--config", (dir_.path() / "vigil.toml").string(),
                                     "--data-dir", dir_.path().string()};
    if (GetParam() == Backend::kPostgres) args.insert(args.end(), {"--database-url", postgres_.url()});
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::RunVigil(args);
  };
  const auto json = run("json");
  ASSERT_EQ(json.status, 0) << json.out << json.err;
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(json.out, ec);
  ASSERT_FALSE(ec) << json.out;
  const auto* platform = parsed.as_object().if_contains("platform");
  ASSERT_NE(platform, nullptr) << json.out;
  EXPECT_EQ(platform->as_string(), "Example Photos");
  EXPECT_EQ(parsed.at("total").at("accounts_suspended_temporary").as_int64(), 1);  // the fixture's user-7
  const auto html = run("html");
  ASSERT_EQ(html.status, 0) << html.out << html.err;
  EXPECT_NE(html.out.find("<title>Transparency report: Example Photos</title>"), std::string::npos)
      << html.out.substr(0, 400);
  EXPECT_NE(html.out.find("<h1>Transparency report: Example Photos</h1>"), std::string::npos);
  EXPECT_EQ(html.out.find("Transparency report: the platform"), std::string::npos);
  EXPECT_NE(html.out.find("<td>Child sexual abuse material</td>"), std::string::npos);  // the category's title
  const auto named = run("html", {"--platform", "Another Name"});
  ASSERT_EQ(named.status, 0) << named.err;
  EXPECT_NE(named.out.find("<h1>Transparency report: Another Name</h1>"), std::string::npos);
}

// A person's act on the host (approving a CyberTipline report) needs that person's own key: `--as`
// alone named anyone (`vigil report approve 1 --as dana` recorded Dana's approval without Dana).
TEST_P(ReportingTest, ACliApprovalNeedsTheApproversOwnKeyAndTheAuditNamesThem) {
  auto dana = store_->CreateApiKeyOnHost("dana", "legal", "test");
  auto rita = store_->CreateApiKeyOnHost("rita", "reviewer", "test");
  ASSERT_TRUE(dana && rita);
  const auto key_file = [&](const std::string& name, const std::string& secret) {
    const auto path = dir_.path() / (name + ".key");
    std::ofstream(path) << secret << "\n";
    return path.string();
  };
  std::ofstream(dir_.path() / "vigil.toml")
      << "[reporter]\nfirst_name = \"Dana\"\nlast_name = \"Reyes\"\nemail = \"safety@example.org\"\n"
      << "company_name = \"Example Photos Inc.\"\nplatform = \"Example Photos\"\n";
  auto report_command = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--data-dir", dir_.path().string(), "--config", (dir_.path() / "vigil.toml").string()});
    if (GetParam() == Backend::kPostgres) args.insert(args.end(), {"--database-url", postgres_.url()});
    return testing::RunVigil(args);
  };
  // Drafted by the operator with this configuration (a draft is no person's act).
  const auto drafted = report_command({"report", "draft", std::to_string(case_id_)});
  ASSERT_EQ(drafted.status, 0) << drafted.out << drafted.err;
  const std::int64_t report_id = boost::json::parse(drafted.out).at("id").as_int64();
  const std::string id = std::to_string(report_id);
  auto approve = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"report", "approve", id};
    args.insert(args.end(), extra.begin(), extra.end());
    return report_command(args);
  };
  unsetenv("VIGIL_API_KEY");
  const auto named = approve({"--as", "dana"});
  EXPECT_NE(named.status, 0) << "--as alone is no proof: " << named.out;
  EXPECT_NE(named.err.find("--as alone names someone without their credential"), std::string::npos) << named.err;
  const auto reviewer = approve({"--api-key-file", key_file("rita", rita->secret)});
  EXPECT_NE(reviewer.status, 0);
  EXPECT_NE(reviewer.err.find("needs a legal key; 'rita' is a reviewer key"), std::string::npos) << reviewer.err;
  const auto mismatch = approve({"--api-key-file", key_file("dana", dana->secret), "--as", "someone-else"});
  EXPECT_NE(mismatch.status, 0);
  const auto forged = approve({"--api-key-file", key_file("forged", "vgl_not-a-real-key")});
  EXPECT_NE(forged.status, 0);
  EXPECT_EQ(store_->Reports().GetReport(report_id)->state, ReportState::kDraft) << "nothing approved so far";

  const auto approved = approve({"--api-key-file", key_file("dana", dana->secret)});
  ASSERT_EQ(approved.status, 0) << approved.out << approved.err;
  auto report = store_->Reports().GetReport(report_id);
  EXPECT_EQ(report->state, ReportState::kApproved);
  EXPECT_EQ(report->approved_by, "dana");
  EXPECT_EQ(report->created_by.rfind("operator:", 0), 0u) << report->created_by;
  auto audit = store_->ListAudit(20);
  ASSERT_TRUE(audit);
  EXPECT_TRUE(std::any_of(audit->begin(), audit->end(), [](const AuditRecord& r) { return r.actor == "dana"; }));
  // A maintenance command runs as the operator: --as is refused there rather than recorded.
  std::vector<std::string> list = {"report", "list", "--data-dir", dir_.path().string(), "--as", "dana"};
  if (GetParam() == Backend::kPostgres) list.insert(list.end(), {"--database-url", postgres_.url()});
  EXPECT_NE(testing::RunVigil(list).status, 0);
}

// Faults at each step, as NCMEC's documented codes and as lost answers; each run of File() is
// followed by more runs until the report settles. Exactly one report is finished at NCMEC with
// each file once, and the record agrees.
TEST_P(ReportingTest, FaultsAtEveryStepNeverFileTwiceNorLoseTheReport) {
  using Fault = CyberTipStandIn::Fault;
  const std::int64_t id = ApprovedReport();
  standin_.FailNext("/submit", {Fault::kActThenHttp500, 0});  // an orphan report opened, answer lost
  standin_.FailNext("/upload", {Fault::kCode, 1111}, 3);      // transient, more than the client retries
  standin_.FailNext("/upload", {Fault::kActThenHttp500, 0});  // stored, answer lost
  standin_.FailNext("/fileinfo", {Fault::kHttp500, 0}, 4);    // lost answers on an idempotent call
  standin_.FailNext("/finish", {Fault::kActThenHttp500, 0}, 1);  // finished, answer lost
  CyberTipReport r;
  int runs = 0;
  for (; runs < 12; ++runs) {
    auto filed = filer_->File(id, "system");
    ASSERT_TRUE(filed) << filed.error().ToString();
    r = *filed;
    if (r.state == ReportState::kFiled) break;
  }
  EXPECT_EQ(r.state, ReportState::kFiled) << r.last_error;
  EXPECT_GT(runs, 1);
  EXPECT_EQ(standin_.Finished("user-7"), 1);
  int finished = 0;
  for (const auto& report : standin_.Reports()) {
    if (report.state != "finished") continue;
    ++finished;
    EXPECT_EQ(report.id, r.ncmec_report_id);
    EXPECT_EQ(report.file_ids.size(), 2u) << "each file exactly once";
    EXPECT_EQ(report.file_details.size(), 2u);
  }
  EXPECT_EQ(finished, 1);
  EXPECT_TRUE(r.in_flight.empty());
  // What happened at NCMEC: the orphan of the lost submit stays unfinished (NCMEC deletes it),
  // the submission whose upload answer was lost was retracted, the third was filed.
  const auto reports = standin_.Reports();
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0].state, "open");
  EXPECT_EQ(reports[1].state, "retracted");
  EXPECT_EQ(reports[2].state, "finished");
  EXPECT_EQ(r.attempts, 2);
}

// The `vigil report file` process is killed (_exit, like kill -9) at a different point of the
// lifecycle on each run: after NCMEC answered a submit, an upload, a fileinfo and the finish, and
// just before the finish went out. The last run, undisturbed, settles it: one report finished at
// NCMEC, each file in it once, the record agreeing, nothing lost.
TEST_P(ReportingTest, ProcessKilledBetweenStepsResumesWithoutFilingTwice) {
  const std::int64_t id = ApprovedReport();
  std::ofstream(dir_.path() / "vigil.toml")
      << "[reporter]\nfirst_name = \"Dana\"\nlast_name = \"Reyes\"\nemail = \"safety@example.org\"\n"
      << "company_name = \"Example Photos Inc.\"\nplatform = \"Example Photos\"\n"
      << "[cybertip]\nbase_url = \"" << standin_.base_url() << "\"\nusername = \"esp\"\n"
      << "password_env = \"VIGIL_TEST_CT_PASSWORD\"\nxsd_path = \"" << XsdPath() << "\"\nattempts = 2\nbackoff_ms = 5\n"
      << "[vault]\nmaster_key_env = \"VIGIL_TEST_VAULT_KEY\"\n";
  setenv("VIGIL_TEST_CT_PASSWORD", "pw", 1);
  setenv("VIGIL_TEST_VAULT_KEY", kMasterKey.c_str(), 1);
  std::vector<std::string> args = {"report", "file", std::to_string(id), "--config",
                                   (dir_.path() / "vigil.toml").string(), "--data-dir", dir_.path().string()};
  if (GetParam() == Backend::kPostgres) args.insert(args.end(), {"--database-url", postgres_.url()});
  for (const char* point : {"report.after_submit", "report.after_upload", "report.after_fileinfo",
                            "report.before_finish", "report.after_finish"}) {
    setenv("VIGIL_FAILPOINTS", (std::string(point) + "=exit").c_str(), 1);
    const auto run = testing::RunVigil(args);
    EXPECT_EQ(run.status, 86) << point << ": " << run.out << run.err;
    EXPECT_EQ(standin_.Finished("user-7"), std::string(point) == "report.after_finish" ? 1 : 0) << point;
    std::int64_t records = 0;
    EXPECT_TRUE(store_->Cases().VerifyAudit(&records)->empty()) << point;
  }
  unsetenv("VIGIL_FAILPOINTS");
  const auto last = testing::RunVigil(args);
  unsetenv("VIGIL_TEST_CT_PASSWORD");
  unsetenv("VIGIL_TEST_VAULT_KEY");
  EXPECT_EQ(last.status, 0) << last.out << last.err;
  EXPECT_EQ(last.err.find(kMasterKey), std::string::npos);
  EXPECT_EQ(last.out.find(kMasterKey), std::string::npos);
  auto r = store_->Reports().GetReport(id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, ReportState::kFiled) << r->last_error;
  EXPECT_TRUE(r->in_flight.empty());
  EXPECT_EQ(standin_.Finished("user-7"), 1);
  const auto reports = standin_.Reports();
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0].state, "open");       // the lost submit's orphan: never finished, NCMEC deletes it
  EXPECT_EQ(reports[1].state, "retracted");  // the lost upload's submission
  EXPECT_EQ(reports[2].state, "finished");
  EXPECT_EQ(reports[2].id, r->ncmec_report_id);
  EXPECT_EQ(reports[2].file_ids.size(), 2u);
  EXPECT_EQ(reports[2].file_details.size(), 2u);
  EXPECT_EQ(standin_.Requests("/finish"), 2);  // sent before the kill; resent, answered "already finished"
  auto items = store_->Reports().ListEvidence(case_id_);
  ASSERT_TRUE(items);
  EXPECT_EQ(items->size(), 4u);
}

// Filed without a vault: the report says its preservation is pending, and a later resume with
// the vault preserves it. A request another process sent moments ago is left to it; an old one
// (that process is gone) is resolved.
TEST_P(ReportingTest, ResumeFinishesPreservationAndLeavesLiveRequestsAlone) {
  FilerOptions options;
  options.reporter = testing::TestReporter();
  options.media_dir = media_dir_.string();
  options.clock = &clock_;
  ReportFiler no_vault(*store_, *client_, nullptr, options);
  const std::int64_t id = ApprovedReport();
  auto filed = no_vault.File(id, "system");
  ASSERT_TRUE(filed) << filed.error().ToString();
  EXPECT_EQ(filed->state, ReportState::kFiled);
  EXPECT_EQ(filed->in_flight, InFlightStep::Of(InFlightStep::Kind::kPreserve));
  EXPECT_NE(filed->last_error.find("vault"), std::string::npos);
  EXPECT_TRUE(store_->Reports().ListEvidence(case_id_)->empty());
  ReportFiler with_vault(*store_, *client_, vault_.get(), options);
  EXPECT_EQ(*with_vault.ResumeAll("system", std::chrono::seconds(300)), 0);  // nothing newly filed
  auto r = store_->Reports().GetReport(id);
  EXPECT_TRUE(r->in_flight.empty());
  EXPECT_TRUE(r->last_error.empty());
  EXPECT_EQ(store_->Reports().ListEvidence(case_id_)->size(), 4u);  // two uploads, the context, the report
  EXPECT_TRUE(store_->Reports().ListUnsettledReports(10)->empty());

  // Another user's report, with a submit "in flight" in some other process right now.
  const std::int64_t other_case = DecidedCase("user-8", {"photo-3"});
  auto draft = with_vault.Draft(other_case, "system");
  ASSERT_TRUE(draft) << draft.error().ToString();
  auto live = with_vault.Approve(draft->id, "bob");
  ASSERT_TRUE(live);
  live->in_flight = InFlightStep::Of(InFlightStep::Kind::kSubmit);
  live = store_->Reports().UpdateReport(*live, "other-process", "report.send", "submit");
  ASSERT_TRUE(live);
  const int submits = standin_.Requests("/submit");
  EXPECT_EQ(*with_vault.ResumeAll("system", std::chrono::seconds(300)), 0);
  EXPECT_EQ(standin_.Requests("/submit"), submits) << "a live request is the other process's";
  EXPECT_EQ(store_->Reports().GetReport(draft->id)->in_flight, InFlightStep::Of(InFlightStep::Kind::kSubmit));
  clock_.now += 301'000'000;  // that process never came back
  EXPECT_EQ(*with_vault.ResumeAll("system", std::chrono::seconds(300)), 1);
  EXPECT_EQ(store_->Reports().GetReport(draft->id)->state, ReportState::kFiled);
  EXPECT_EQ(standin_.Finished("user-8"), 1);
}

// The operator's tools: `vigil report ping` (reachable, credentials accepted) and `vigil report
// xsd` (NCMEC's schema downloaded, checked, saved for cybertip.xsd_path).
TEST_P(ReportingTest, CliChecksTheConnectionAndDownloadsTheSchema) {
  std::ofstream(dir_.path() / "vigil.toml") << "[cybertip]\nbase_url = \"" << standin_.base_url()
                                            << "\"\nusername = \"esp\"\npassword_env = \"VIGIL_TEST_CT_PASSWORD\"\n"
                                            << "attempts = 1\n";
  std::vector<std::string> common = {"--config", (dir_.path() / "vigil.toml").string(), "--data-dir", dir_.path().string()};
  if (GetParam() == Backend::kPostgres) common.insert(common.end(), {"--database-url", postgres_.url()});
  auto args = [&](std::vector<std::string> head) {
    head.insert(head.end(), common.begin(), common.end());
    return head;
  };
  setenv("VIGIL_TEST_CT_PASSWORD", "pw", 1);
  const auto ping = testing::RunVigil(args({"report", "ping"}));
  EXPECT_EQ(ping.status, 0) << ping.out << ping.err;
  EXPECT_NE(ping.out.find("response code 0"), std::string::npos) << ping.out;
  const auto schema = dir_.path() / "ncmec.xsd";
  const auto xsd = testing::RunVigil(args({"report", "xsd", "--out", schema.string()}));
  EXPECT_EQ(xsd.status, 0) << xsd.out << xsd.err;
  EXPECT_EQ(testing::ReadFile(schema), testing::ReadFile(XsdPath()));
  setenv("VIGIL_TEST_CT_PASSWORD", "not-the-password", 1);
  const auto refused = testing::RunVigil(args({"report", "ping"}));
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("refused the credentials"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("not-the-password"), std::string::npos);
  unsetenv("VIGIL_TEST_CT_PASSWORD");
}

// NCMEC unreachable: a pass tries the oldest report, finds no answer, and leaves the others for
// the next pass instead of waiting out the same retries for each; nothing is lost.
TEST_P(ReportingTest, ResumeStopsAtAnUnreachableCyberTipline) {
  const std::int64_t first = ApprovedReport();
  const std::int64_t other_case = DecidedCase("user-8", {"photo-3"});
  auto second = filer_->Draft(other_case, "system");
  ASSERT_TRUE(second);
  ASSERT_TRUE(filer_->Approve(second->id, "bob"));
  CyberTipConfig down = config_;
  down.base_url = "http://127.0.0.1:1/ispws";  // nothing listens there
  CyberTipClient unreachable(down, MakeHttpTransport(down));
  FilerOptions options;
  options.reporter = testing::TestReporter();
  options.media_dir = media_dir_.string();
  ReportFiler offline(*store_, unreachable, vault_.get(), options);
  EXPECT_EQ(*offline.ResumeAll("system"), 0);
  auto tried = store_->Reports().GetReport(first);
  EXPECT_EQ(tried->state, ReportState::kApproved);
  EXPECT_EQ(tried->last_code, -1);
  EXPECT_TRUE(tried->in_flight.empty()) << "a request that never left is not in flight";
  // The reason is for people: no library source paths (Boost's what() appends them).
  EXPECT_NE(tried->last_error.find("unreachable"), std::string::npos) << tried->last_error;
  EXPECT_EQ(tried->last_error.find("/usr/include"), std::string::npos) << tried->last_error;
  EXPECT_EQ(tried->last_error.find(".hpp"), std::string::npos) << tried->last_error;
  EXPECT_TRUE(store_->Reports().GetReport(second->id)->last_error.empty()) << "the second was left for the next pass";
  // NCMEC is back: one pass files both.
  EXPECT_EQ(*filer_->ResumeAll("system"), 2);
  EXPECT_EQ(store_->Reports().GetReport(first)->state, ReportState::kFiled);
  EXPECT_EQ(store_->Reports().GetReport(second->id)->state, ReportState::kFiled);
}

TEST_P(ReportingTest, RefusedReportFailsAndIsRetractedAtNcmec) {
  using Fault = CyberTipStandIn::Fault;
  const std::int64_t id = ApprovedReport();
  standin_.FailNext("/fileinfo", {Fault::kCode, 4100});
  auto r = filer_->File(id, "system");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->state, ReportState::kFailed);
  EXPECT_EQ(r->last_code, 0);  // the retraction's answer
  ASSERT_EQ(standin_.Reports().size(), 1u);
  EXPECT_EQ(standin_.Reports()[0].state, "retracted");
  EXPECT_EQ(standin_.Finished("user-7"), 0);
}

// The adopter trial: NCMEC answered every upload with another MD5; after three submissions (each
// retracted) the report was `failed` with an empty last_error, no metric, and no way to file it
// again (filing it answered 200 and sent nothing; drafting again was 409). The failure says why,
// the background pass leaves it to a person, and a person filing it again starts it over.
TEST_P(ReportingTest, AReportThatFailedOnAlteredUploadsSaysWhyAndIsFiledAgainByAPerson) {
  using Fault = CyberTipStandIn::Fault;
  const std::int64_t id = ApprovedReport();
  standin_.FailNext("/upload", {Fault::kAlteredUpload, 0}, 3);  // the first upload of each submission
  auto r = filer_->File(id, "system");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->state, ReportState::kFailed);
  EXPECT_NE(r->last_error.find("MD5"), std::string::npos) << r->last_error;
  EXPECT_EQ(standin_.Requests("/submit"), 3);
  for (const auto& at_ncmec : standin_.Reports()) EXPECT_EQ(at_ncmec.state, "retracted");
  // The background pass does not touch it.
  const int submits = standin_.Requests("/submit");
  auto resumed = filer_->ResumeAll("system");
  ASSERT_TRUE(resumed) << resumed.error().ToString();
  EXPECT_EQ(standin_.Requests("/submit"), submits);
  // NCMEC fixed: a person files it again, and it is filed once.
  auto again = filer_->File(id, "lee");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->state, ReportState::kFiled) << again->last_error;
  EXPECT_EQ(standin_.Finished("user-7"), 1);
  EXPECT_EQ(standin_.Requests("/submit"), submits + 1);
}

TEST_P(ReportingTest, RetractBeforeFinishing) {
  using Fault = CyberTipStandIn::Fault;
  const std::int64_t id = ApprovedReport();
  standin_.FailNext("/fileinfo", {Fault::kCode, 1000}, 5);
  auto stalled = filer_->File(id, "system");
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->state, ReportState::kOpen);
  auto retracted = filer_->Retract(id, "bob", "duplicate of an earlier report");
  ASSERT_TRUE(retracted) << retracted.error().ToString();
  EXPECT_EQ(retracted->state, ReportState::kRetracted);
  EXPECT_EQ(standin_.Reports()[0].state, "retracted");
  EXPECT_EQ(filer_->File(id, "system")->state, ReportState::kRetracted);
  // A retracted report frees the case for a new one.
  EXPECT_TRUE(filer_->Draft(case_id_, "system"));
}

// Overturns the fixture case's decision on appeal (store level), as a reviewer other than alice.
void OverturnDecision(Store& store, std::int64_t case_id, const std::string& outcome = "overturned",
                      std::vector<std::int64_t> undo = {}) {
  auto c = store.Cases().GetCase(case_id);
  ASSERT_TRUE(c);
  auto actions = store.Cases().ListActions(c->user_id);
  ASSERT_TRUE(actions);
  std::int64_t appealed = 0;
  for (const auto& a : *actions) {
    if (a.kind == "suspend_account" && a.case_id == case_id) appealed = a.id;
  }
  ASSERT_NE(appealed, 0);
  auto appeal = store.Cases().FileAppeal(appealed, "it is my own photo", "platform");
  ASSERT_TRUE(appeal) << appeal.error().ToString();
  ASSERT_TRUE(store.Cases().ClaimAppeal(appeal->id, "carol"));
  auto decided = store.Cases().DecideAppeal(appeal->id, AppealDecision{outcome, std::move(undo), "benign", ""}, "carol");
  ASSERT_TRUE(decided) << decided.error().ToString();
}

// The go-live trial: a draft stayed live after its case was overturned, approving it gave no
// warning, and filing sent /submit and /upload before failing. The draft is voided with the
// appeal, in the same transaction; approving it is refused; NCMEC is never called.
TEST_P(ReportingTest, AnOverturnedCasesDraftIsVoidedAndNeverReachesNcmec) {
  auto draft = filer_->Draft(case_id_, "system");
  ASSERT_TRUE(draft) << draft.error().ToString();
  OverturnDecision(*store_, case_id_);
  auto r = store_->Reports().GetReport(draft->id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, ReportState::kVoided);
  EXPECT_NE(r->withdraw_reason.find("nothing left to report"), std::string::npos) << r->withdraw_reason;
  auto approved = filer_->Approve(draft->id, "bob");
  ASSERT_FALSE(approved);
  EXPECT_NE(approved.error().message.find("voided"), std::string::npos) << approved.error().message;
  auto filed = filer_->File(draft->id, "system");
  ASSERT_TRUE(filed);
  EXPECT_EQ(filed->state, ReportState::kVoided);
  EXPECT_TRUE(filer_->ResumeAll("system"));
  EXPECT_EQ(standin_.Requests("/submit"), 0);
  EXPECT_EQ(standin_.Requests("/upload"), 0);
}

// An approved report is re-checked against its case before the first request leaves.
TEST_P(ReportingTest, AnApprovedReportWhoseCaseWasOverturnedIsVoidedBeforeTheFirstRequest) {
  const std::int64_t id = ApprovedReport();
  OverturnDecision(*store_, case_id_);
  auto filed = filer_->File(id, "system");
  ASSERT_TRUE(filed) << filed.error().ToString();
  EXPECT_EQ(filed->state, ReportState::kVoided);
  EXPECT_EQ(standin_.Requests("/submit"), 0);
}

// Overturned while open at NCMEC (submitted, a file uploaded, fileinfo stalled): the report is
// marked for withdrawal in the appeal's transaction and the filer retracts it instead of finishing.
TEST_P(ReportingTest, AnOpenReportWhoseCaseIsOverturnedIsRetractedNotFinished) {
  using Fault = CyberTipStandIn::Fault;
  const std::int64_t id = ApprovedReport();
  standin_.FailNext("/fileinfo", {Fault::kCode, 1000}, 5);
  auto stalled = filer_->File(id, "system");
  ASSERT_TRUE(stalled);
  ASSERT_EQ(stalled->state, ReportState::kOpen);
  OverturnDecision(*store_, case_id_);
  auto marked = store_->Reports().GetReport(id);
  ASSERT_TRUE(marked);
  EXPECT_NE(marked->withdraw_reason.find("nothing left to report"), std::string::npos);
  auto resumed = filer_->ResumeAll("system");
  ASSERT_TRUE(resumed) << resumed.error().ToString();
  auto r = store_->Reports().GetReport(id);
  EXPECT_EQ(r->state, ReportState::kRetracted) << r->last_error;
  ASSERT_EQ(standin_.Reports().size(), 1u);
  EXPECT_EQ(standin_.Reports()[0].state, "retracted");
  EXPECT_EQ(standin_.Finished("user-7"), 0);
  EXPECT_EQ(standin_.Requests("/finish"), 0);
}

// A partial outcome that restores one of the report's files (and not the other) withdraws the draft
// and the case is reported again for what is left.
TEST_P(ReportingTest, APartialAppealThatRestoresAFileWithdrawsTheDraftAndLeavesTheRestReportable) {
  auto draft = filer_->Draft(case_id_, "system");
  ASSERT_TRUE(draft);
  auto actions = store_->Cases().ListActions("user-7");
  std::int64_t removal = 0;
  for (const auto& a : *actions) {
    if (a.kind == "remove_content" && a.content_id == "photo-1") removal = a.id;
  }
  ASSERT_NE(removal, 0);
  OverturnDecision(*store_, case_id_, "partial", {removal});
  EXPECT_EQ(store_->Reports().GetReport(draft->id)->state, ReportState::kVoided);
  auto again = filer_->Draft(case_id_, "system");
  ASSERT_TRUE(again) << again.error().ToString();
  ASSERT_EQ(again->files.size(), 1u);
  EXPECT_EQ(again->files[0].content_id, "photo-2");
}

// Only categories reported to NCMEC draft a report: an intimate-image decision is refused, saying why.
TEST_P(ReportingTest, ACaseDecidedInACategoryNotReportedToNcmecIsNotDrafted) {
  FileHasher hasher({});
  const auto bytes = testing::ReadFile(testing::TestDataDir() / "vectors/pdq/bridge-mods/aaa-orig.jpg");
  auto hashed = hasher.HashBytes(bytes);
  ContentRecord c;
  c.content_id = "ncii-1";
  c.user_id = "user-8";
  c.media_type = "image/jpeg";
  c.hashes = {{"md5", hashed->digests.md5}, {"sha256", hashed->digests.sha256}};
  c.matches = {testing::ListedMatch(*store_, "ncii-list", "ncii", hashed->digests.sha256)};
  PolicyOutcome outcome;
  outcome.block = outcome.hold = true;
  outcome.category = testing::BuiltInCategory("ncii");
  auto recorded = testing::RecordWithOutcome(*store_, c, outcome, media_dir_, std::string(bytes.begin(), bytes.end()));
  ASSERT_TRUE(recorded && recorded->opened);
  const auto id = recorded->opened->id;
  ASSERT_TRUE(store_->Cases().ClaimCase(id, "alice"));
  CaseStore::DecisionRequest decision;
  decision.verdict = Verdict::kViolating;
  decision.reason = "listed";
  decision.category = testing::BuiltInCategory("ncii");
  ASSERT_TRUE(store_->Cases().Decide(id, decision, "alice"));
  auto draft = filer_->Draft(id, "system");
  ASSERT_FALSE(draft);
  EXPECT_NE(draft.error().message.find("not reported to NCMEC"), std::string::npos) << draft.error().message;
}

// A case opened by a user's report matched no list: its report says how the content was found,
// and names no list (it said "Detected by hash matching against: ." before).
TEST_P(ReportingTest, AReportOfContentAUserReportedSaysSoAndNamesNoList) {
  FileHasher hasher({});
  const auto bytes = testing::ReadFile(testing::TestDataDir() / "vectors/pdq/bridge-mods/aaa-orig.jpg");
  auto hashed = hasher.HashBytes(bytes);
  ASSERT_TRUE(hashed);
  ContentRecord c;
  c.content_id = "reported-1";
  c.user_id = "user-9";
  c.media_type = "image/jpeg";
  c.byte_size = static_cast<std::int64_t>(bytes.size());
  c.hashes = {{"md5", hashed->digests.md5}, {"sha1", hashed->digests.sha1}, {"sha256", hashed->digests.sha256}};
  c.submitted_at = clock_.now;
  ASSERT_TRUE(testing::RecordWithOutcome(*store_, c, PolicyOutcome{}, media_dir_, ""));
  // The platform supplies the bytes for review (an upload that matched nothing was not kept).
  std::filesystem::create_directories(media_dir_);
  std::ofstream(media_dir_ / hashed->digests.sha256, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                                               static_cast<std::streamsize>(bytes.size()));
  UserReportRequest report;
  report.content_id = "reported-1";
  report.reporter = "user-5";
  report.reason = "saw it in a group";
  report.category = testing::BuiltInCategory("csam");
  report.priority = 1;
  auto opened = store_->Cases().ReportContent(report, "platform");
  ASSERT_TRUE(opened) << opened.error().ToString();
  ASSERT_TRUE(store_->Cases().AttachMedia(opened->case_id, "reported-1", "platform"));
  ASSERT_TRUE(store_->Cases().ClaimCase(opened->case_id, "alice"));
  ASSERT_TRUE(store_->Cases().RecordView(opened->case_id, "reported-1", "alice"));
  CaseStore::DecisionRequest decision;
  decision.verdict = Verdict::kViolating;
  decision.classification = "B1";
  decision.reason = "confirmed";
  decision.category = testing::BuiltInCategory("csam");
  ASSERT_TRUE(store_->Cases().Decide(opened->case_id, decision, "alice"));
  auto draft = filer_->Draft(opened->case_id, "system");
  ASSERT_TRUE(draft) << draft.error().ToString();
  EXPECT_EQ(draft->report_xml.find("hash matching"), std::string::npos) << draft->report_xml;
  EXPECT_NE(draft->report_xml.find("reported by a user of the platform"), std::string::npos) << draft->report_xml;
}

// An upload recorded without a user id is reported with the person unknown, not silently never.
TEST_P(ReportingTest, AnUploadWithoutAUserIdIsReportedWithThePersonUnknown) {
  const auto id = DecidedCase("", {"anonymous-1"});
  auto draft = filer_->Draft(id, "system");
  ASSERT_TRUE(draft) << draft.error().ToString();
  EXPECT_EQ(draft->report_xml.find("<espIdentifier>"), std::string::npos);
  // The screen name recorded with the upload still identifies the account.
  EXPECT_NE(draft->report_xml.find("<screenName>sunset_fan</screenName>"), std::string::npos);
}

// Labels per file, set at review, reach each file's details; a notification is never dated before
// the disablement it tells of (the trial's userNotifiedDate preceded disabledDate).
TEST_P(ReportingTest, PerFileLabelsAndNotificationDatesFollowTheRecords) {
  ASSERT_TRUE(store_->Cases().Reclassify(case_id_, "", {{"photo-2", "A2"}}, "lena"));
  auto actions = store_->Cases().ListActions("user-7");
  for (const auto& a : *actions) {
    if (a.kind == "suspend_account") {
      clock_.now += 3600'000'000;
      ASSERT_TRUE(store_->Cases().MarkNotified(a.id));
    }
  }
  // Labels go to NCMEC under the industry hash-sharing MOU only (reporter.industry_classification).
  FilerOptions options;
  options.reporter = testing::TestReporter();
  options.reporter.industry_classification = true;
  options.media_dir = media_dir_.string();
  options.xsd_path = XsdPath();
  ReportFiler labelling(*store_, *client_, vault_.get(), options);
  auto preview_id = labelling.Draft(case_id_, "system");
  ASSERT_TRUE(preview_id) << preview_id.error().ToString();
  auto preview = labelling.Preview(preview_id->id);
  ASSERT_TRUE(preview) << preview.error().ToString();
  ASSERT_EQ(preview->file_details.size(), 2u);
  EXPECT_EQ(preview->file_details[0].first, "photo-1");
  EXPECT_NE(preview->file_details[0].second.find("B1"), std::string::npos);  // the case's label
  EXPECT_NE(preview->file_details[1].second.find("A2"), std::string::npos);  // its own
  const std::string& xml = preview->report_xml;
  const auto disabled = xml.find("disabledDate=\"");
  const auto notified = xml.find("userNotifiedDate=\"");
  ASSERT_NE(disabled, std::string::npos) << xml;
  ASSERT_NE(notified, std::string::npos) << xml;
  EXPECT_LE(xml.substr(disabled + 14, 24), xml.substr(notified + 18, 24)) << xml;
  EXPECT_TRUE(preview->problem.empty()) << preview->problem;
}

// Whatever of ours stops a filing (here: the kept media vanished) is written on the report where
// people look, instead of leaving "code 0" and an empty error.
TEST_P(ReportingTest, AFailureOfOursDuringFilingIsRecordedOnTheReport) {
  const std::int64_t id = ApprovedReport();
  for (const auto& [content, sha] : sha256_) std::filesystem::remove(media_dir_ / sha);
  auto filed = filer_->File(id, "system");
  ASSERT_FALSE(filed);
  auto r = store_->Reports().GetReport(id);
  ASSERT_TRUE(r);
  EXPECT_NE(r->last_error.find("is gone"), std::string::npos) << r->last_error;
}

std::vector<std::filesystem::path> SealedFiles(const std::filesystem::path& vault) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(vault)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void WriteBytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Rotating the master key: every item reads with the new key and not the old; the file names
// change with it (no old names left); running it again is a no-op; an item a still-running
// service preserved with the old key afterwards is caught by the next run; keys stay out of the
// audit log.
TEST_P(ReportingTest, VaultMasterKeyRotation) {
  const std::string new_key = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
  auto a = PreserveMedia("photo-1", bytes_["photo-1"]);
  auto b = PreserveMedia("photo-2", bytes_["photo-2"]);
  ASSERT_TRUE(a && b);
  const auto before = SealedFiles(dir_.path() / "vault");
  ASSERT_EQ(before.size(), 2u);

  auto rotated = vault_->RotateMasterKey(new_key, "carl");
  ASSERT_TRUE(rotated) << rotated.error().ToString();
  EXPECT_EQ(rotated->rewrapped, 2);
  EXPECT_TRUE(rotated->problems.empty());
  const auto after = SealedFiles(dir_.path() / "vault");
  ASSERT_EQ(after.size(), 2u);
  for (const auto& f : after) EXPECT_EQ(std::count(before.begin(), before.end(), f), 0) << "renamed for the new key";

  VaultOptions options;
  options.directory = (dir_.path() / "vault").string();
  options.master_key_hex = new_key;
  auto fresh = EvidenceVault::Open(*store_, options, clock_);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(*(*fresh)->Read(a->id, "carl", kCustodianRole), bytes_["photo-1"]);
  EXPECT_EQ(*(*fresh)->Read(b->id, "carl", kCustodianRole), bytes_["photo-2"]);
  EXPECT_EQ(vault_->Read(a->id, "carl", kCustodianRole).error().code, ErrorCode::kCorrupt) << "the old key is retired";

  // The service still ran with the old key and preserved one more item: the next run catches it.
  auto late = PreserveMedia("photo-3", bytes_["photo-2"] + "late");
  ASSERT_TRUE(late);
  auto again = vault_->RotateMasterKey(new_key, "carl");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rewrapped, 1);
  EXPECT_EQ(again->already_rotated, 2);
  EXPECT_EQ(SealedFiles(dir_.path() / "vault").size(), 3u);
  EXPECT_EQ(*(*fresh)->Read(late->id, "carl", kCustodianRole), bytes_["photo-2"] + "late");
  auto idle = vault_->RotateMasterKey(new_key, "carl");
  ASSERT_TRUE(idle);
  EXPECT_EQ(idle->rewrapped, 0);
  EXPECT_EQ(idle->already_rotated, 3);

  // A key that opens nothing is reported per item, and nothing changes.
  VaultOptions stranger = options;
  stranger.master_key_hex = std::string(64, '7');
  auto lost = (*EvidenceVault::Open(*store_, stranger, clock_))->RotateMasterKey(std::string(64, '8'), "carl");
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->problems.size(), 3u);
  EXPECT_EQ(*(*fresh)->Read(a->id, "carl", kCustodianRole), bytes_["photo-1"]);
  const auto audit = store_->ListAudit(1000);
  ASSERT_TRUE(audit);
  for (const auto& r : *audit) {
    EXPECT_EQ(r.detail.find(new_key), std::string::npos);
    EXPECT_EQ(r.detail.find(kMasterKey), std::string::npos);
  }
}

TEST_P(ReportingTest, VaultDetectsTamperingAndSwapsAndWrongKeys) {
  auto a = PreserveMedia("photo-1", bytes_["photo-1"]);
  auto b = PreserveMedia("photo-2", bytes_["photo-2"]);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->address, sha256_["photo-1"]);
  const auto files = SealedFiles(dir_.path() / "vault");
  ASSERT_EQ(files.size(), 2u);
  std::vector<std::vector<std::uint8_t>> originals;
  for (const auto& f : files) {
    // The vault's file names say nothing about what they hold, and nothing is in the clear.
    EXPECT_EQ(f.string().find(sha256_["photo-1"]), std::string::npos);
    EXPECT_EQ(f.string().find(sha256_["photo-2"]), std::string::npos);
    originals.push_back(testing::ReadFile(f));
  }
  // One flipped bit in each file: both reads fail authentication, naming the item, not the key.
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto changed = originals[i];
    changed[changed.size() / 2] ^= 0x01;
    WriteBytes(files[i], changed);
  }
  for (std::int64_t id : {a->id, b->id}) {
    auto read = vault_->Read(id, "carl", kCustodianRole);
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, ErrorCode::kCorrupt);
    EXPECT_NE(read.error().message.find("evidence item " + std::to_string(id)), std::string::npos);
    EXPECT_EQ(read.error().message.find(kMasterKey), std::string::npos);
  }
  // Swapped files (each intact): still refused.
  WriteBytes(files[0], originals[1]);
  WriteBytes(files[1], originals[0]);
  EXPECT_EQ(vault_->Read(a->id, "carl", kCustodianRole).error().code, ErrorCode::kCorrupt);
  EXPECT_FALSE(vault_->Verify(b->id, "carl"));
  // Put back: readable again.
  WriteBytes(files[0], originals[0]);
  WriteBytes(files[1], originals[1]);
  auto read = vault_->Read(a->id, "carl", kCustodianRole);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, bytes_["photo-1"]);
  EXPECT_TRUE(vault_->Verify(b->id, "carl"));
  // A wrong master key opens nothing; a malformed one is refused at start.
  VaultOptions other;
  other.directory = (dir_.path() / "vault").string();
  other.master_key_hex = std::string(64, '7');
  auto wrong = EvidenceVault::Open(*store_, other, clock_);
  ASSERT_TRUE(wrong);
  EXPECT_EQ((*wrong)->Read(a->id, "carl", kCustodianRole).error().code, ErrorCode::kCorrupt);
  other.master_key_hex = "short";
  auto refused = EvidenceVault::Open(*store_, other, clock_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message.find("short"), std::string::npos);
  // Nothing the store keeps holds the master key.
  auto audit = store_->ListAudit(1000);
  for (const auto& r : *audit) EXPECT_EQ(r.detail.find(kMasterKey), std::string::npos);
  const auto evidence = store_->Reports().ListEvidence(case_id_);
  ASSERT_TRUE(evidence);
  for (const auto& e : *evidence) {
    EXPECT_EQ(e.wrapped_key.find(kMasterKey), std::string::npos);
  }
}

// Anchors fix the audit chain from outside the database: signed checkpoints that keep holding as
// records are added, and that catch what the chain alone cannot: a rewrite by someone with the
// database who recomputed every hash from the changed record on. Also a cut tail, an altered
// anchor line, another key, and a broken chain (never anchored). Through the CLI as an operator
// would run it (cron), then the library.
TEST_P(ReportingTest, AuditAnchorsCatchARewriteThatKeepsTheChainConsistent) {
  const std::string seed = NewSigningSeed();
  const std::string public_key = *SigningPublicKey(seed);
  std::ofstream(dir_.path() / "vigil.toml") << "[legal]\nsigning_key_env = \"VIGIL_TEST_SIGNING_KEY\"\n";
  std::vector<std::string> common = {"--config", (dir_.path() / "vigil.toml").string(), "--data-dir", dir_.path().string()};
  if (GetParam() == Backend::kPostgres) common.insert(common.end(), {"--database-url", postgres_.url()});
  auto args = [&](std::vector<std::string> head) {
    head.insert(head.end(), common.begin(), common.end());
    return head;
  };
  const std::string anchors_path = (dir_.path() / "anchors.jsonl").string();
  setenv("VIGIL_TEST_SIGNING_KEY", seed.c_str(), 1);
  const auto anchored = testing::RunVigil(args({"legal", "anchor", "--out", anchors_path}));
  ASSERT_EQ(anchored.status, 0) << anchored.out << anchored.err;
  ASSERT_TRUE(store_->Audit("tester", "test.event", "thing-1", "{}"));
  ASSERT_TRUE(store_->Audit("tester", "test.event", "thing-2", "{}"));
  const auto again = testing::RunVigil(args({"legal", "anchor", "--out", anchors_path}));
  ASSERT_EQ(again.status, 0) << again.out << again.err;
  unsetenv("VIGIL_TEST_SIGNING_KEY");
  EXPECT_EQ(anchored.out.find(seed), std::string::npos);
  const std::string anchors = testing::ReadText(anchors_path);
  EXPECT_EQ(anchors, anchored.out + again.out);  // appended, and printed
  auto first = ParseAuditAnchor(anchored.out.substr(0, anchored.out.size() - 1));
  auto second = ParseAuditAnchor(again.out.substr(0, again.out.size() - 1));
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->record_id, first->record_id + 2);
  EXPECT_EQ(first->public_key, public_key);
  const auto checked = testing::RunVigil(args({"legal", "check-anchors", anchors_path, "--public-key", public_key}));
  EXPECT_EQ(checked.status, 0) << checked.out << checked.err;
  EXPECT_NE(checked.out.find("2 anchors checked"), std::string::npos) << checked.out;

  auto problems_of = [&](const std::string& text, const std::string& key) {
    auto check = CheckAuditAnchors(*store_, text, key);
    EXPECT_TRUE(check) << check.error().ToString();
    return check ? check->problems : std::vector<std::string>{"(no check)"};
  };
  auto has = [](const std::vector<std::string>& problems, const std::string& what) {
    return std::any_of(problems.begin(), problems.end(), [&](const std::string& p) { return p.find(what) != std::string::npos; });
  };
  // Another key; an altered line; a line that is no anchor at all.
  auto other = problems_of(anchors, *SigningPublicKey(NewSigningSeed()));
  EXPECT_EQ(other.size(), 2u);
  EXPECT_TRUE(has(other, "signed by another key"));
  AuditAnchor moved = *first;
  moved.record_id = second->record_id;
  moved.hash = second->hash;
  auto altered = problems_of(AuditAnchorJson(moved) + "\n{\"anchor\":\"x\"}\n", public_key);
  ASSERT_EQ(altered.size(), 2u);
  EXPECT_TRUE(has(altered, "anchor line 1 (")) << altered[0];
  EXPECT_TRUE(has(altered, "the signature does not verify"));
  EXPECT_TRUE(has(altered, "anchor line 2: not an audit anchor"));
  EXPECT_EQ(problems_of("\n\n", public_key), std::vector<std::string>{"no anchor in the file"});
  // The operator's key in capitals is the same key; a mistyped one is an error, not a verdict.
  std::string upper = public_key;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  EXPECT_TRUE(problems_of(anchors, upper).empty());
  auto mistyped = CheckAuditAnchors(*store_, anchors, public_key.substr(1));
  ASSERT_FALSE(mistyped);
  EXPECT_EQ(mistyped.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(mistyped.error().message.find("the public key must be 64 hex digits"), std::string::npos);

  // Someone with the database rewrites the record after the first anchor and recomputes the chain
  // from it: the chain verifies, the second anchor does not hold, the first still does.
  auto db = GetParam() == Backend::kPostgres ? store::OpenPostgres(postgres_.url())
                                             : store::OpenSqlite((dir_.path() / "vigil.db").string());
  ASSERT_TRUE(db) << db.error().ToString();
  auto rows = (*db)->Query("SELECT id, at, actor, action, target, detail, prev_hash FROM audit_log WHERE id > $1 ORDER BY id",
                           {first->record_id});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  std::string prev = rows->front().Text(6);
  for (const auto& r : *rows) {
    const std::string detail = r.Int(0) == first->record_id + 1 ? R"({"nothing":"happened"})" : r.Text(5);
    const std::string hash = store::AuditRecordHash(prev, r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), detail);
    ASSERT_TRUE((*db)->Execute("UPDATE audit_log SET detail = $1, prev_hash = $2, hash = $3 WHERE id = $4",
                               {detail, prev, hash, r.Int(0)}));
    prev = hash;
  }
  ASSERT_TRUE((*db)->Execute("UPDATE audit_head SET last_hash = $1 WHERE id = 1", {prev}));
  std::int64_t records = 0;
  auto chain = store_->Cases().VerifyAudit(&records);
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->empty()) << "the rewrite left a consistent chain: " << chain->front();
  auto rewritten = problems_of(anchors, public_key);
  ASSERT_EQ(rewritten.size(), 1u);
  EXPECT_TRUE(has(rewritten, "anchor line 2 (")) << rewritten[0];
  EXPECT_TRUE(has(rewritten, "record " + std::to_string(second->record_id) + "): the record's hash is")) << rewritten[0];
  EXPECT_TRUE(has(rewritten, "the log was rewritten after this anchor")) << rewritten[0];
  const auto cli = testing::RunVigil(args({"legal", "check-anchors", anchors_path, "--public-key", public_key}));
  EXPECT_EQ(cli.status, 1) << cli.out;
  EXPECT_NE(cli.out.find("NOT VALID"), std::string::npos) << cli.out;

  // The tail cut back to the first anchor, head and all: the second anchor's record is gone.
  ASSERT_TRUE((*db)->Execute("DELETE FROM audit_log WHERE id > $1", {first->record_id}));
  ASSERT_TRUE((*db)->Execute("UPDATE audit_head SET records = records - 2, last_id = $1, last_hash = $2 WHERE id = 1",
                             {first->record_id, first->hash}));
  EXPECT_TRUE(store_->Cases().VerifyAudit(&records)->empty());
  auto cut = problems_of(anchors, public_key);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_TRUE(has(cut, "the record is gone")) << cut[0];

  // A chain that does not verify is never anchored.
  ASSERT_TRUE((*db)->Execute("UPDATE audit_log SET detail = 'edited' WHERE id = 2"));
  auto refused = MakeAuditAnchor(*store_, seed, clock_.now);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(refused.error().message.find("does not verify"), std::string::npos) << refused.error().message;
}

TEST_P(ReportingTest, PurgeLeavesHeldItems) {
  EvidenceItem item;
  item.kind = "media";
  item.media_type = "image/jpeg";
  item.case_id = case_id_;
  auto a = vault_->Preserve(bytes_["photo-1"], item, "system");
  clock_.now += 100 * kDay;
  const std::int64_t other_case = DecidedCase("user-8", {"photo-3"});
  item.case_id = other_case;
  auto b = vault_->Preserve(bytes_["photo-3"], item, "system");
  ASSERT_TRUE(a && b);
  // The second case is held for two years.
  ASSERT_TRUE(store_->Reports().ExtendHold(other_case, clock_.now + 730 * kDay, "legal", "court order"));
  clock_.now += 300 * kDay;  // a: 400 days old (expired); b: 300 days, held anyway
  auto purge = vault_->PurgeExpired("system");
  EXPECT_TRUE(purge.problems.empty());
  EXPECT_EQ(purge.purged, 1);
  EXPECT_EQ(vault_->Read(a->id, "carl", kCustodianRole).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(SealedFiles(dir_.path() / "vault").size(), 1u);
  EXPECT_TRUE(store_->Reports().GetEvidence(a->id)->wrapped_key.empty()) << "the key is wiped";
  ASSERT_TRUE(vault_->Read(b->id, "carl", kCustodianRole));
  clock_.now += 200 * kDay;  // b: past its own year, inside the hold
  EXPECT_EQ(vault_->PurgeExpired("system").purged, 0);
  ASSERT_TRUE(vault_->Read(b->id, "carl", kCustodianRole));
  clock_.now += 300 * kDay;  // past the hold
  EXPECT_EQ(vault_->PurgeExpired("system").purged, 1);
  EXPECT_TRUE(SealedFiles(dir_.path() / "vault").empty());
  int purges = 0;
  const auto audit = store_->ListAudit(1000);
  ASSERT_TRUE(audit);
  for (const auto& r : *audit) purges += r.action == "evidence.purge";
  EXPECT_EQ(purges, 2);
}

// The whole path through the running service, on benign stand-ins: a matched upload opens a case;
// a reviewer confirms it; the policy's queued report is drafted; a legal officer approves and
// files it with the stand-in NCMEC; the evidence is preserved and readable by a custodian only;
// legal process is produced as a signed package that verifies; the transparency report counts it.
TEST(ServiceEndToEnd, MatchedUploadToFiledReportToProductionToTransparency) {
  testing::TempDir dir;
  CyberTipStandIn standin("esp", "pw", XsdPath());
  ASSERT_TRUE(standin.Start());
  const std::vector<std::string> store_flags = {"--data-dir", (dir.path() / "data").string()};
  std::map<std::string, std::string> keys;
  for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{
           {"platform", "submitter"}, {"alice", "reviewer"}, {"bob", "reviewer"}, {"lists", "bank-admin"}, {"lena", "legal"},
           {"carl", "custodian"}, {"audit", "auditor"}}) {
    keys[name] = testing::CreateKey(store_flags, role, name);
    ASSERT_FALSE(keys[name].empty()) << name;
  }
  std::ofstream(dir.path() / "rules.toml") << "[[rule]]\nname = \"known-image\"\nbanks = [\"benign-list\"]\n"
                                              "actions = [\"block\", \"hold\", \"queue_report\"]\n";
  const std::string seed = NewSigningSeed();
  std::ofstream(dir.path() / "vigil.toml")
      << "[reporter]\nfirst_name = \"Dana\"\nlast_name = \"Reyes\"\nemail = \"safety@example.org\"\n"
      << "company_name = \"Example Photos Inc.\"\nplatform = \"Example Photos\"\n"
      << "[cybertip]\nbase_url = \"" << standin.base_url() << "\"\nusername = \"esp\"\n"
      << "password_env = \"VIGIL_E2E_CT_PASSWORD\"\nxsd_path = \"" << XsdPath() << "\"\nfile_interval_seconds = 1\n"
      << "[vault]\nmaster_key_env = \"VIGIL_E2E_VAULT_KEY\"\n[legal]\nsigning_key_env = \"VIGIL_E2E_SIGNING_KEY\"\n";
  setenv("VIGIL_E2E_CT_PASSWORD", "pw", 1);
  setenv("VIGIL_E2E_VAULT_KEY", kMasterKey.c_str(), 1);
  setenv("VIGIL_E2E_SIGNING_KEY", seed.c_str(), 1);
  std::vector<std::string> args = store_flags;
  args.insert(args.end(), {"--no-access-log", "--rules", (dir.path() / "rules.toml").string(), "--config",
                           (dir.path() / "vigil.toml").string()});
  testing::ServerProcess server(dir.path() / "server", args);
  ASSERT_TRUE(server.Start()) << server.Log();
  unsetenv("VIGIL_E2E_CT_PASSWORD");
  unsetenv("VIGIL_E2E_VAULT_KEY");
  unsetenv("VIGIL_E2E_SIGNING_KEY");
  const auto port = server.port();
  auto call = [&](const std::string& who, const std::string& method, const std::string& target,
                  const std::string& body = {}) { return testing::HttpJson(port, method, target, keys[who], body); };
  auto parse = [](const testing::HttpReply& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.status << " " << r.body.substr(0, 200);
    return v;
  };

  // A bank with a benign photo's PDQ; an upload of a re-encoded copy.
  ASSERT_EQ(call("lists", "POST", "/v1/banks", R"({"name":"benign-list","category":"csam"})").status, 201u);
  FileHasher hasher({});
  const auto photo = testing::TestDataDir() / "vectors/pdq/bridge-mods/aaa-orig.jpg";
  const std::string pdq = hasher.HashFile(photo)->pdq.hash.ToHex();
  ASSERT_EQ(testing::Http(port, "POST", "/v1/banks/benign-list/import?format=csv", "pdq," + pdq + ",bridge,B1\n",
                          {{"Authorization", "Bearer " + keys["lists"]}, {"Content-Type", "text/csv"}})
                .status,
            200u);
  auto image = DecodeImage(testing::ReadFile(photo), {});
  const auto jpeg = testing::EncodeJpeg(*image, 75);
  const std::string upload(jpeg.begin(), jpeg.end());
  auto posted = testing::Http(port, "POST", "/v1/content?content_id=upload-1&user_id=user-5", upload,
                              {{"Authorization", "Bearer " + keys["platform"]}, {"Content-Type", "image/jpeg"},
                               {"X-Vigil-Metadata", R"({"ip":"203.0.113.9","screen_name":"hills"})"}});
  ASSERT_EQ(posted.status, 201u) << posted.body;
  const auto case_id = parse(posted).at("policy").at("case_id").as_int64();

  // A reviewer reveals it and confirms: the case is preserved and its report drafted.
  ASSERT_EQ(call("alice", "POST", "/v1/cases/" + std::to_string(case_id) + "/claim").status, 200u);
  ASSERT_EQ(call("alice", "POST", "/v1/cases/" + std::to_string(case_id) + "/views", R"({"content_id":"upload-1"})").status,
            204u);
  auto decided = call("alice", "POST", "/v1/cases/" + std::to_string(case_id) + "/decision",
                      R"({"verdict":"violating","classification":"B1","reason":"matches the listed image","account_action":"ban"})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  // A ban needs a second reviewer's decision.
  EXPECT_TRUE(parse(call("lena", "GET", "/v1/reports")).at("reports").as_array().empty());
  ASSERT_EQ(call("bob", "POST", "/v1/cases/" + std::to_string(case_id) + "/claim").status, 200u);
  decided = call("bob", "POST", "/v1/cases/" + std::to_string(case_id) + "/decision",
                 R"({"verdict":"violating","classification":"B1","reason":"agree","account_action":"ban"})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  auto reports = parse(call("lena", "GET", "/v1/reports")).at("reports").as_array();
  ASSERT_EQ(reports.size(), 1u) << decided.body;
  const auto report_id = reports[0].at("id").as_int64();
  EXPECT_EQ(reports[0].at("state").as_string(), "draft");
  EXPECT_EQ(call("alice", "GET", "/v1/reports").status, 403u);
  // Filing waits for a person's approval.
  EXPECT_EQ(call("lena", "POST", "/v1/reports/" + std::to_string(report_id) + "/file").status, 403u);
  EXPECT_EQ(standin.Requests("/submit"), 0) << "the background filer leaves drafts alone";
  ASSERT_EQ(call("lena", "POST", "/v1/reports/" + std::to_string(report_id) + "/approve").status, 200u);
  // Once approved, the service files it in the background (file_interval_seconds = 1).
  std::string state;
  for (int i = 0; i < 300 && state != "filed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state = std::string(parse(call("lena", "GET", "/v1/reports/" + std::to_string(report_id))).at("state").as_string());
  }
  ASSERT_EQ(state, "filed") << server.Log();
  auto filed = call("lena", "POST", "/v1/reports/" + std::to_string(report_id) + "/file");  // nothing left to do
  ASSERT_EQ(filed.status, 200u) << filed.body;
  EXPECT_EQ(parse(filed).at("state").as_string(), "filed");
  EXPECT_TRUE(parse(filed).at("in_flight").as_string().empty());
  ASSERT_EQ(standin.Finished("user-5"), 1);
  EXPECT_EQ(standin.Requests("/submit"), 1);
  const auto metrics = call("audit", "GET", "/metrics").body;
  EXPECT_NE(metrics.find("vigil_background_total{event=\"reports_filed\"} 1"), std::string::npos) << metrics;
  const auto at_ncmec = standin.Reports()[0];
  EXPECT_NE(at_ncmec.xml.find("accountPermanentlyDisabled"), std::string::npos);
  EXPECT_NE(at_ncmec.xml.find("<screenName>hills</screenName>"), std::string::npos);
  ASSERT_EQ(at_ncmec.file_details.size(), 1u);
  EXPECT_NE(at_ncmec.file_details.begin()->second.find("<fileViewedByEsp>true</fileViewedByEsp>"), std::string::npos);

  // Preserved; the custodian reads the upload's bytes, the reviewer is refused (and logged).
  auto items = parse(call("carl", "GET", "/v1/evidence?case_id=" + std::to_string(case_id))).at("evidence").as_array();
  std::int64_t media_id = 0;
  std::set<std::string> kinds;
  for (const auto& e : items) {
    kinds.insert(std::string(e.at("kind").as_string()));
    if (e.at("kind").as_string() == "media") media_id = e.at("id").as_int64();
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"context", "media", "report"}));
  ASSERT_NE(media_id, 0);
  auto bytes = call("carl", "GET", "/v1/evidence/" + std::to_string(media_id) + "/content");
  ASSERT_EQ(bytes.status, 200u);
  EXPECT_EQ(bytes.body, upload);
  EXPECT_EQ(call("alice", "GET", "/v1/evidence/" + std::to_string(media_id) + "/content").status, 403u);
  EXPECT_EQ(call("platform", "GET", "/v1/evidence/" + std::to_string(media_id) + "/content").status, 403u);
  const auto audit = parse(call("audit", "GET", "/v1/audit?limit=500")).at("audit").as_array();
  int refused = 0, read = 0;
  for (const auto& a : audit) {
    refused += a.at("action").as_string() == "evidence.read_refused" && a.at("actor").as_string() == "alice";
    read += a.at("action").as_string() == "evidence.read" && a.at("actor").as_string() == "carl";
  }
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(read, 1);

  // Legal process, produced by the custodian: the answer is the package itself, one tar archive
  // built in memory, which verifies with the public key. Nothing decrypted is left in the data
  // directory, which operators back up.
  auto request = call("lena", "POST", "/v1/legal-requests",
                      R"({"type":"subpoena","agency":"Example PD","case_number":"X-1","received":"2026-11-01",)"
                      R"("scope":"subscriber records","cases":[)" + std::to_string(case_id) + "]}");
  ASSERT_EQ(request.status, 201u) << request.body;
  const auto request_id = parse(request).at("id").as_int64();
  const auto data_dir = dir.path() / "data";
  auto data_files = [&] {
    std::set<std::filesystem::path> files;
    std::error_code ec;  // the database's journal may come and go meanwhile
    for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir, ec)) {
      if (entry.is_regular_file(ec)) files.insert(entry.path());
    }
    return files;
  };
  const auto before_production = data_files();
  EXPECT_EQ(call("lena", "POST", "/v1/legal-requests/" + std::to_string(request_id) + "/production").status, 403u);
  auto produced = call("carl", "POST", "/v1/legal-requests/" + std::to_string(request_id) + "/production");
  const auto members = TarFiles(produced.body);
  // Every decrypted byte string the production handled: the upload, and each member of the package.
  std::set<std::string> decrypted = {upload};
  for (const auto& [path, member] : members) decrypted.insert(member);
  for (const auto& path : data_files()) {
    // media/ keeps each upload for review, by content address, from before preservation: only a
    // file the production left there would be its doing.
    if (path.parent_path() == data_dir / "media" && before_production.count(path)) continue;
    std::string held;  // a journal gone meanwhile reads as nothing
    try {
      held = testing::ReadText(path);
    } catch (const std::exception&) {
    }
    EXPECT_FALSE(decrypted.count(held)) << path << " holds decrypted evidence";
  }
  EXPECT_FALSE(std::filesystem::exists(data_dir / "productions"));
  ASSERT_EQ(produced.status, 200u) << produced.body.substr(0, 500);
  EXPECT_EQ(produced.headers["content-type"], "application/x-tar");
  EXPECT_EQ(produced.headers["content-disposition"].rfind(
                "attachment; filename=\"legal-request-" + std::to_string(request_id) + "-", 0),
            0u)
      << produced.headers["content-disposition"];
  EXPECT_EQ(produced.headers["x-vigil-public-key"], *SigningPublicKey(seed));
  auto check = VerifyLegalArchive(produced.body, *SigningPublicKey(seed));
  ASSERT_TRUE(check) << check.error().ToString();
  EXPECT_TRUE(check->signature_ok);
  EXPECT_TRUE(check->problems.empty()) << check->problems.front();
  EXPECT_EQ(check->files_checked, 4);  // the upload, the context at confirmation and at filing, the report
  // What was downloaded is what was recorded: its manifest hashes to the request's package_sha256.
  const auto recorded = parse(call("lena", "GET", "/v1/legal-requests/" + std::to_string(request_id)));
  EXPECT_EQ(recorded.at("status").as_string(), "produced");
  std::string manifest;
  for (const auto& [path, member] : members) {
    if (path.ends_with("/manifest.json")) manifest = member;
  }
  EXPECT_EQ(Sha256Hex(manifest), recorded.at("package_sha256").as_string());
  EXPECT_EQ(produced.headers["x-vigil-manifest-sha256"], recorded.at("package_sha256").as_string());
  int uploads_in_package = 0;
  for (const auto& [path, member] : members) uploads_in_package += member == upload;
  EXPECT_EQ(uploads_in_package, 1);
  // The recipient saves it anywhere and checks it with the CLI.
  const auto saved = dir.path() / "received.tar";
  std::ofstream(saved, std::ios::binary) << produced.body;
  const auto verified = testing::RunVigil({"legal", "verify", saved.string(), "--public-key", *SigningPublicKey(seed)});
  EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("the package verifies"), std::string::npos) << verified.out;

  // The transparency report counts the suspension, the upload by its bank, the report, the request.
  auto figures = call("audit", "GET", "/v1/transparency?from=2026-01-01&to=2036-01-01");
  ASSERT_EQ(figures.status, 200u) << figures.body;
  const auto total = parse(figures).at("total");
  EXPECT_EQ(total.at("accounts_suspended_permanent").as_int64(), 1);
  EXPECT_EQ(total.at("content_actioned").as_int64(), 1);
  EXPECT_EQ(total.at("content_actioned_by_source").at("hash:benign-list").as_int64(), 1);
  EXPECT_EQ(total.at("cybertipline_reports").as_int64(), 1);
  EXPECT_EQ(total.at("legal_requests_received").as_int64(), 1);
  EXPECT_EQ(total.at("legal_requests_answered").as_int64(), 1);
  EXPECT_EQ(parse(figures).at("platform").as_string(), "Example Photos");  // [reporter] platform
  auto html = testing::Http(port, "GET", "/v1/transparency?from=2026-01-01&to=2036-01-01&format=html", "",
                            {{"Authorization", "Bearer " + keys["audit"]}});
  EXPECT_EQ(html.status, 200u);
  EXPECT_NE(html.body.find("<svg"), std::string::npos);
  EXPECT_NE(html.body.find("<h1>Transparency report: Example Photos</h1>"), std::string::npos);
  // The go-live trial's sequence: a case decided violating drafts its report; the decision is then
  // overturned on appeal. The draft is voided in the same transaction, approving it is refused, and
  // the stand-in NCMEC receives nothing for the overturned case, however long the filer runs.
  auto second_upload = testing::Http(port, "POST", "/v1/content?content_id=upload-2&user_id=user-6", upload,
                                     {{"Authorization", "Bearer " + keys["platform"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(second_upload.status, 201u) << second_upload.body;
  const auto second_case = std::to_string(parse(second_upload).at("policy").at("case_id").as_int64());
  ASSERT_EQ(call("alice", "POST", "/v1/cases/" + second_case + "/claim").status, 200u);
  auto second_decided = call("alice", "POST", "/v1/cases/" + second_case + "/decision",
                             R"({"verdict":"violating","classification":"b1 ","reason":"listed","account_action":"suspend","account_days":30})");
  ASSERT_EQ(second_decided.status, 200u) << second_decided.body;
  // The label typed as "b1 " was normalised when decided, so the draft could be built.
  EXPECT_EQ(parse(second_decided).at("decisions").as_array().back().at("classification").as_string(), "B1");
  std::int64_t second_report = 0;
  const auto drafts = parse(call("lena", "GET", "/v1/reports?state=draft"));
  for (const auto& r : drafts.at("reports").as_array()) {
    if (r.at("case_id").as_int64() == std::stoll(second_case)) second_report = r.at("id").as_int64();
  }
  ASSERT_NE(second_report, 0) << "no draft for the second case";
  // The preview shows exactly what would be sent.
  auto preview = parse(call("lena", "GET", "/v1/reports/" + std::to_string(second_report) + "/preview"));
  EXPECT_NE(preview.at("report_xml").as_string().subview().find("<espIdentifier>user-6</espIdentifier>"), std::string::npos);
  ASSERT_EQ(preview.at("files").as_array().size(), 1u);
  EXPECT_NE(preview.at("files").as_array()[0].at("file_details_xml").as_string().subview().find("(assigned by NCMEC)"),
            std::string::npos);
  EXPECT_TRUE(preview.at("problem").as_string().empty());
  std::int64_t suspension = 0;
  const auto user6 = parse(call("platform", "GET", "/v1/accounts/user-6"));
  for (const auto& a : user6.at("actions").as_array()) {
    if (a.at("kind").as_string() == "suspend_account") suspension = a.at("id").as_int64();
  }
  ASSERT_NE(suspension, 0);
  auto appealed = call("platform", "POST", "/v1/appeals", R"({"action_id":)" + std::to_string(suspension) + R"(,"statement":"mine"})");
  ASSERT_EQ(appealed.status, 201u) << appealed.body;
  const std::string appeal = "/v1/appeals/" + std::to_string(parse(appealed).at("id").as_int64());
  ASSERT_EQ(call("bob", "POST", appeal + "/claim").status, 200u);
  ASSERT_EQ(call("bob", "POST", appeal + "/decision", R"({"outcome":"overturned","reason":"not the listed image"})").status,
            200u);
  auto voided = parse(call("lena", "GET", "/v1/reports/" + std::to_string(second_report)));
  EXPECT_EQ(voided.at("state").as_string(), "voided");
  EXPECT_NE(voided.at("withdraw_reason").as_string().subview().find("nothing left to report"), std::string::npos)
      << boost::json::serialize(voided);
  auto approve = call("lena", "POST", "/v1/reports/" + std::to_string(second_report) + "/approve");
  EXPECT_EQ(approve.status, 400u) << approve.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two passes of the background filer
  EXPECT_EQ(standin.Requests("/submit"), 1) << "only the first case's report reached NCMEC";
  EXPECT_EQ(standin.Requests("/upload"), 1);
  EXPECT_EQ(standin.Finished("user-6"), 0);

  // The server's log never shows the secrets.
  EXPECT_EQ(server.Log().find(kMasterKey), std::string::npos);
  EXPECT_EQ(server.Log().find(seed), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReportingTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& p) { return p.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace vigil
