// The matching service end to end: the real `vigil serve` process on loopback, keys made with the
// CLI, banks and imports over HTTP, uploads of benign photos (and transformed copies of them),
// every route's role check, the OpenAPI document against the routes, bad input, HTTP limits,
// kill -9 during an import, and graceful shutdown. SQLite always; PostgreSQL too where the
// suite has a server (see test_postgres.h).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "server/api_service.h"
#include "server/server_config.h"
#include "exchange_standins.h"
#include "service_harness.h"
#include "test_images.h"
#include "vigil/digest.h"
#include "test_postgres.h"
#include "vigil/file_hasher.h"
#include "vigil/image.h"
#include "vigil/store.h"

namespace vigil {
namespace {

using testing::CreateKey;
using testing::Http;
using testing::HttpJson;
using testing::HttpMedia;
using testing::ServerProcess;

namespace json = boost::json;

json::value Parse(const testing::HttpReply& reply) {
  boost::system::error_code ec;
  auto value = json::parse(reply.body, ec);
  EXPECT_FALSE(ec) << "not JSON (status " << reply.status << "): " << reply.body.substr(0, 300);
  return value;
}

std::string ErrorCodeOf(const testing::HttpReply& reply) {
  auto value = Parse(reply);
  if (!value.is_object() || !value.as_object().contains("error")) return "";
  return std::string(value.at("error").at("code").as_string());
}

std::string AsString(const testing::Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

// Benign photos from the reference vectors (PDQ quality 100 each); the last is never listed.
std::vector<std::filesystem::path> Photos() {
  const auto pdq = testing::TestDataDir() / "vectors/pdq";
  return {pdq / "bridge-mods/aaa-orig.jpg",
          pdq / "misc-images/c.png",
          pdq / "reg-test-input/pen-and-coaster.png",
          pdq / "reg-test-input/labelme-subset/q0122.jpg",
          pdq / "reg-test-input/labelme-subset/q0291.jpg",
          pdq / "reg-test-input/labelme-subset/q0746.jpg",
          pdq / "reg-test-input/labelme-subset/q1050.jpg",
          pdq / "reg-test-input/labelme-subset/q2821.jpg"};
}

// Bilinear resize, enough to make a "resized and re-encoded" copy of a photo.
Image Resize(const Image& in, std::uint32_t width, std::uint32_t height) {
  Image out;
  out.width = width;
  out.height = height;
  out.channels = in.channels;
  out.pixels.resize(static_cast<std::size_t>(width) * height * in.channels);
  for (std::uint32_t y = 0; y < height; ++y) {
    const double sy = std::max(0.0, (y + 0.5) * in.height / height - 0.5);
    const auto y0 = std::min(static_cast<std::uint32_t>(sy), in.height - 1), y1 = std::min(y0 + 1, in.height - 1);
    const double fy = sy - y0;
    for (std::uint32_t x = 0; x < width; ++x) {
      const double sx = std::max(0.0, (x + 0.5) * in.width / width - 0.5);
      const auto x0 = std::min(static_cast<std::uint32_t>(sx), in.width - 1), x1 = std::min(x0 + 1, in.width - 1);
      const double fx = sx - x0;
      for (std::uint32_t c = 0; c < in.channels; ++c) {
        auto at = [&](std::uint32_t xx, std::uint32_t yy) { return static_cast<double>(in.Row(yy)[xx * in.channels + c]); };
        const double v = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
        out.pixels[(static_cast<std::size_t>(y) * width + x) * in.channels + c] = static_cast<std::uint8_t>(v + 0.5);
      }
    }
  }
  return out;
}

std::string PdqOf(const std::filesystem::path& path) {
  FileHasher hasher({});
  auto hashed = hasher.HashFile(path);
  EXPECT_TRUE(hashed) << hashed.error().ToString();
  return hashed ? hashed->pdq.hash.ToHex() : "";
}

enum class Backend { kSqlite, kPostgres };

// A server on a fresh store, with one key per role.
class ServiceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      postgres_.Create();
      if (IsSkipped() || HasFatalFailure()) return;
      store_flags_ = {"--database-url", postgres_.url()};
    } else {
      store_flags_ = {"--data-dir", (dir_.path() / "data").string()};
    }
    for (const char* role : kRoles) {
      keys_[role] = CreateKey(store_flags_, role, std::string(role) + "-key");
      ASSERT_FALSE(keys_[role].empty()) << role;
    }
  }

  // Starts a server with the store flags, a config file holding `config_toml`, and `extra` flags.
  void StartServer(const std::string& config_toml = "", std::vector<std::string> extra = {}) {
    std::vector<std::string> args = store_flags_;
    args.push_back("--no-access-log");
    if (!config_toml.empty()) {
      const auto config = dir_.path() / "vigil.toml";
      std::ofstream(config) << config_toml;
      args.insert(args.end(), {"--config", config.string()});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(dir_.path() / "server", args);
    ASSERT_TRUE(server_->Start()) << server_->Log();
    port_ = server_->port();
  }

  testing::HttpReply Call(const std::string& method, const std::string& target, const std::string& role,
                          const std::string& json = {}) {
    return HttpJson(port_, method, target, keys_[role], json);
  }

  void CreateBank(const std::string& name, const std::string& extra_fields = "") {
    auto reply = Call("POST", "/v1/banks", "bank-admin", R"({"name":")" + name + R"(")" + extra_fields + "}");
    ASSERT_EQ(reply.status, 201u) << reply.body;
  }

  testing::HttpReply Import(const std::string& bank, const std::string& format, const std::string& list) {
    return Http(port_, "POST", "/v1/banks/" + bank + "/import?format=" + format + "&source=test-list", list,
                {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "text/plain"}});
  }

  std::int64_t LiveEntries(const std::string& bank) {
    auto reply = Call("GET", "/v1/banks/" + bank, "auditor");
    EXPECT_EQ(reply.status, 200u) << reply.body;
    return reply.status == 200 ? Parse(reply).at("live_entries").as_int64() : -1;
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::vector<std::string> store_flags_;
  std::map<std::string, std::string> keys_;
  std::unique_ptr<ServerProcess> server_;
  std::uint16_t port_ = 0;
};

// The issue's end-to-end scenario: a bank of benign photos' PDQ hashes; a resized, re-encoded copy
// of one of them matches with its provenance; a photo not in the bank matches nothing.
TEST_P(ServiceTest, TransformedCopyMatchesWithProvenanceAndUnrelatedDoesNot) {
  StartServer();
  CreateBank("benign-photos", R"(,"description":"stand-ins for a vetted list","labels":["test"])");
  const auto photos = Photos();
  ASSERT_GE(photos.size(), 4u);
  const auto held_out = photos.back();  // never listed: the unrelated upload
  std::string list = "signal_type,value,external_id,classification\n";
  for (std::size_t i = 0; i + 1 < photos.size(); ++i) {
    list += "pdq," + PdqOf(photos[i]) + ",photo-" + std::to_string(i) + ",B1\n";
  }
  auto imported = Import("benign-photos", "csv", list);
  ASSERT_EQ(imported.status, 200u) << imported.body;
  EXPECT_EQ(Parse(imported).at("added").as_int64(), static_cast<std::int64_t>(photos.size() - 1));

  // A copy of photo 0 at 60% size, re-encoded at JPEG quality 70.
  auto original = DecodeImage(testing::ReadFile(photos[0]), {});
  ASSERT_TRUE(original);
  const Image smaller = Resize(*original, original->width * 3 / 5, original->height * 3 / 5);
  const std::string copy = AsString(testing::EncodeJpeg(smaller, 70));
  ASSERT_NE(copy, AsString(testing::ReadFile(photos[0])));

  auto submitted = Http(port_, "POST", "/v1/content?content_id=upload-1&user_id=user-7", copy,
                        {{"Authorization", "Bearer " + keys_["submitter"]},
                         {"Content-Type", "image/jpeg"},
                         {"X-Vigil-Metadata", R"({"surface":"profile-photo"})"}});
  ASSERT_EQ(submitted.status, 201u) << submitted.body;
  auto record = Parse(submitted).as_object();
  EXPECT_EQ(record.at("content_id").as_string(), "upload-1");
  EXPECT_EQ(record.at("user_id").as_string(), "user-7");
  EXPECT_EQ(record.at("metadata").at("surface").as_string(), "profile-photo");
  const auto& matches = record.at("matches").as_array();
  ASSERT_EQ(matches.size(), 1u) << submitted.body;
  const auto& match = matches[0].as_object();
  EXPECT_EQ(match.at("bank").as_string(), "benign-photos");
  EXPECT_EQ(match.at("signal_type").as_string(), "pdq");
  EXPECT_EQ(match.at("external_id").as_string(), "photo-0");
  EXPECT_EQ(match.at("classification").as_string(), "B1");
  EXPECT_EQ(match.at("source").as_string(), "test-list");
  EXPECT_EQ(match.at("entry_value").as_string(), PdqOf(photos[0]));
  EXPECT_LE(match.at("distance").as_int64(), 31);
  EXPECT_GT(match.at("distance").as_int64(), 0);  // a real transform, not the same bytes

  // Stored: the reviewer reads the same record back.
  auto stored = Call("GET", "/v1/content/upload-1", "reviewer");
  ASSERT_EQ(stored.status, 200u) << stored.body;
  EXPECT_EQ(Parse(stored).at("matches").as_array().size(), 1u);

  auto unrelated = HttpMedia(port_, "/v1/content?content_id=upload-2&user_id=user-8", keys_["submitter"],
                             AsString(testing::ReadFile(held_out)));
  ASSERT_EQ(unrelated.status, 201u) << unrelated.body;
  EXPECT_TRUE(Parse(unrelated).at("matches").as_array().empty()) << unrelated.body;

  // The same signals through /v1/lookup; the exact original's SHA-256 would match only exactly.
  auto hashed = HttpMedia(port_, "/v1/hash", keys_["submitter"], copy);
  ASSERT_EQ(hashed.status, 200u) << hashed.body;
  const std::string pdq(Parse(hashed).at("hashes").at("pdq").as_string());
  auto looked_up = Call("POST", "/v1/lookup", "submitter",
                        R"({"signals":[{"type":"pdq","value":")" + pdq + R"(","quality":90},{"type":"md5","value":"00112233445566778899aabbccddeeff"}]})");
  ASSERT_EQ(looked_up.status, 200u) << looked_up.body;
  const auto looked_up_json = Parse(looked_up);
  const auto& results = looked_up_json.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].at("matches").as_array().size(), 1u);
  EXPECT_EQ(results[0].at("matches").as_array()[0].at("external_id").as_string(), "photo-0");
  EXPECT_TRUE(results[1].at("matches").as_array().empty());

  // A bank's own threshold: at distance 0 only the exact hash matches.
  ASSERT_EQ(Call("PATCH", "/v1/banks/benign-photos", "bank-admin", R"({"pdq_max_distance":0})").status, 200u);
  auto strict = Call("POST", "/v1/lookup", "submitter", R"({"signals":[{"type":"pdq","value":")" + pdq + R"("}]})");
  EXPECT_TRUE(Parse(strict).at("results").as_array()[0].at("matches").as_array().empty()) << strict.body;

  // Metrics count the match by bank, and the index size.
  auto metrics = Call("GET", "/metrics", "auditor");
  EXPECT_NE(metrics.body.find(R"(vigil_matches_total{bank="benign-photos",signal_type="pdq"})"), std::string::npos);
  EXPECT_NE(metrics.body.find(R"(vigil_index_entries{signal_type="pdq"} )" + std::to_string(photos.size() - 1)),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find(R"(vigil_http_request_duration_seconds_bucket{route="/v1/content")"), std::string::npos);
  EXPECT_EQ(server_->Terminate(), 0) << server_->Log();
}

// Videos end to end: a listed video's vPDQ (every frame, as the reference CLI makes it) imported
// into a video bank; a 4 s clip cut from it and re-encoded, uploaded as an MP4, matches with its
// provenance and frame percentages; an unrelated video matches nothing; the frames export back.
// Retroactive matching through the API: an upload that matched nothing is found when an import
// lists its hash later; the import's answer says so, the record shows the late match, and the
// rules for late matches hold it for review.
TEST_P(ServiceTest, AnImportFindsAnEarlierUploadOfItsHashAndSaysSo) {
  const auto rules = dir_.path() / "rules.toml";
  std::ofstream(rules) << "[[rule]]\nname = \"late\"\nbanks = [\"late-list\"]\nfound = \"later\"\nactions = [\"hold\"]\n";
  StartServer("[retroactive]\nwindow_days = 30\n", {"--rules", rules.string()});
  CreateBank("late-list");
  const auto photos = Photos();
  ASSERT_GE(photos.size(), 2u);
  const std::string bytes = AsString(testing::ReadFile(photos[0]));
  auto submitted = Http(port_, "POST", "/v1/content?content_id=early-1&user_id=user-9", bytes,
                        {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(submitted.status, 201u) << submitted.body;
  EXPECT_TRUE(Parse(submitted).at("matches").as_array().empty());

  auto imported = Import("late-list", "csv", "pdq," + PdqOf(photos[0]) + ",listed-later,A1\npdq," + PdqOf(photos[1]) + "\n");
  ASSERT_EQ(imported.status, 200u) << imported.body;
  const auto import_answer = Parse(imported);
  const auto& retro = import_answer.at("retroactive").as_object();
  EXPECT_EQ(retro.at("entries_searched").as_int64(), 2);
  EXPECT_EQ(retro.at("uploads_matched").as_int64(), 1) << imported.body;
  EXPECT_EQ(retro.at("uploads_held").as_int64(), 1);

  auto record = Call("GET", "/v1/content/early-1", "reviewer");
  ASSERT_EQ(record.status, 200u) << record.body;
  const auto record_answer = Parse(record);
  const auto& matches = record_answer.at("matches").as_array();
  ASSERT_EQ(matches.size(), 1u) << record.body;
  EXPECT_TRUE(matches[0].at("retroactive").as_bool()) << record.body;
  auto cases = Call("GET", "/v1/cases", "reviewer");
  ASSERT_EQ(cases.status, 200u) << cases.body;
  EXPECT_NE(cases.body.find("user-9"), std::string::npos) << cases.body;
}

// Media added to a bank by its bytes (hashed in the sandbox, nothing kept): the next upload of the
// same picture matches it, with the provenance given; bytes that are no picture are refused.
TEST_P(ServiceTest, MediaAddedToABankMatchesTheNextUploadOfIt) {
  StartServer();
  CreateBank("by-media");
  const auto photos = Photos();
  const std::string bytes = AsString(testing::ReadFile(photos[0]));
  auto added = Http(port_, "POST", "/v1/banks/by-media/media?external_id=ref-7&classification=A1", bytes,
                    {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(added.status, 201u) << added.body;
  const auto answer = Parse(added);
  EXPECT_EQ(answer.at("added").as_int64(), 3) << added.body;  // PDQ, SHA-256, MD5
  EXPECT_EQ(answer.at("listed_already").as_int64(), 0);
  EXPECT_EQ(answer.at("entries").as_array().size(), 3u);
  auto submitted = Http(port_, "POST", "/v1/content?content_id=after-1&user_id=user-3", bytes,
                        {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(submitted.status, 201u) << submitted.body;
  const auto record = Parse(submitted);
  const auto& matches = record.at("matches").as_array();
  ASSERT_FALSE(matches.empty()) << submitted.body;
  EXPECT_EQ(matches[0].at("bank").as_string(), "by-media");
  EXPECT_EQ(matches[0].at("external_id").as_string(), "ref-7");
  // Adding it again changes nothing; garbage is refused; the role is a bank admin's.
  auto again = Http(port_, "POST", "/v1/banks/by-media/media?external_id=someone-elses", bytes,
                    {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "image/jpeg"}});
  EXPECT_EQ(Parse(again).at("added").as_int64(), 0) << again.body;
  EXPECT_EQ(Parse(again).at("listed_already").as_int64(), 3) << again.body;
  auto resubmitted = Http(port_, "POST", "/v1/content?content_id=after-2&user_id=user-4", bytes,
                          {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(resubmitted.status, 201u) << resubmitted.body;
  EXPECT_EQ(Parse(resubmitted).at("matches").at(0).at("external_id").as_string(), "ref-7")
      << "adding a listed file again must not relabel its entries";
  EXPECT_EQ(Http(port_, "POST", "/v1/banks/by-media/media?source=a%0Ab", bytes,
                 {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "image/jpeg"}})
                .status,
            400u);
  auto garbage = Http(port_, "POST", "/v1/banks/by-media/media", "not a picture at all",
                      {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "image/jpeg"}});
  EXPECT_GE(garbage.status, 400u);
  EXPECT_LT(garbage.status, 500u) << garbage.body;
  EXPECT_EQ(Http(port_, "POST", "/v1/banks/by-media/media", bytes,
                 {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}})
                .status,
            403u);
  EXPECT_EQ(Http(port_, "POST", "/v1/banks/no-such/media", bytes,
                 {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "image/jpeg"}})
                .status,
            404u);
}

// Intake besides hash matches: a user's report about an upload that matched nothing puts it in
// front of a reviewer (a case held with rule "user_report", joined by the next report on the same
// account), and the upload removed on review is counted as found by a user report.
TEST_P(ServiceTest, AUserReportOpensACaseAndIsCountedAsItsDetectionSource) {
  StartServer();
  const auto photos = Photos();
  for (int i = 0; i < 2; ++i) {
    auto submitted = Http(port_, "POST", "/v1/content?content_id=reported-" + std::to_string(i) + "&user_id=user-77",
                          AsString(testing::ReadFile(photos[static_cast<std::size_t>(i)])),
                          {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
    ASSERT_EQ(submitted.status, 201u) << submitted.body;
  }
  auto reported = Call("POST", "/v1/user-reports", "submitter",
                       R"({"content_id": "reported-0", "reporter": "user-5", "reason": "this is my photo, posted without consent", "category": "ncii", "priority": 1})");
  ASSERT_EQ(reported.status, 201u) << reported.body;
  const auto first = Parse(reported);
  EXPECT_FALSE(first.at("joined").as_bool());
  const auto case_id = first.at("case_id").as_int64();
  auto again = Call("POST", "/v1/user-reports", "reviewer", R"({"content_id": "reported-1", "source": "escalation"})");
  ASSERT_EQ(again.status, 201u) << again.body;
  EXPECT_TRUE(Parse(again).at("joined").as_bool());
  EXPECT_EQ(Parse(again).at("case_id").as_int64(), case_id);
  auto opened = Call("GET", "/v1/cases/" + std::to_string(case_id), "reviewer");
  ASSERT_EQ(opened.status, 200u) << opened.body;
  EXPECT_NE(opened.body.find("reported-0"), std::string::npos);
  EXPECT_NE(opened.body.find("reported-1"), std::string::npos);
  EXPECT_NE(opened.body.find("user_report"), std::string::npos) << opened.body;
  const auto opened_case = Parse(opened);
  const auto& reports = opened_case.at("user_reports").as_array();
  ASSERT_EQ(reports.size(), 2u) << opened.body;
  EXPECT_EQ(reports[0].at("reporter").as_string(), "user-5");
  EXPECT_EQ(reports[0].at("reason").as_string(), "this is my photo, posted without consent");
  EXPECT_EQ(reports[1].at("source").as_string(), "escalation");
  // Refusals: an upload never recorded, a bad priority or category, a role that may not report.
  EXPECT_EQ(Call("POST", "/v1/user-reports", "submitter", R"({"content_id": "never-seen"})").status, 404u);
  EXPECT_EQ(Call("POST", "/v1/user-reports", "submitter", R"({"content_id": "reported-0", "priority": 9})").status, 400u);
  EXPECT_EQ(Call("POST", "/v1/user-reports", "submitter", R"({"content_id": "reported-0", "category": "nope"})").status, 400u);
  EXPECT_EQ(Call("POST", "/v1/user-reports", "submitter", R"({"content_id": "reported-0", "source": "rumour"})").status, 400u);
  EXPECT_EQ(Call("POST", "/v1/user-reports", "auditor", R"({"content_id": "reported-0"})").status, 403u);
  EXPECT_EQ(Call("POST", "/v1/user-reports", "submitter", R"({"content_id": "reported-0", "category": 5})").status, 400u);
  EXPECT_EQ(Call("POST", "/v1/user-reports", "submitter", R"({"content_id": "reported-0", "reason": "a\u001bb"})").status, 400u);
  // Decided violating: the upload is removed, and counted as found by a user report.
  const std::string base = "/v1/cases/" + std::to_string(case_id);
  ASSERT_EQ(Call("POST", base + "/claim", "reviewer").status, 200u);
  auto decided = Call("POST", base + "/decision", "reviewer", R"({"verdict": "violating", "category": "ncii", "reason": "reported, confirmed"})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  auto figures = Call("GET", "/v1/transparency?from=2026-01-01&to=2036-01-01", "auditor");
  ASSERT_EQ(figures.status, 200u) << figures.body;
  const auto total = Parse(figures).at("total");
  EXPECT_EQ(total.at("content_actioned_by_source").at("user_report").as_int64(), 1) << figures.body;
  EXPECT_EQ(total.at("content_actioned_by_source").at("escalation").as_int64(), 1) << figures.body;
  // Decided: a report about it now is refused (no second case, no second strike or report).
  auto late = Call("POST", "/v1/user-reports", "submitter", R"({"content_id": "reported-0"})");
  EXPECT_EQ(late.status, 409u) << late.body;
  EXPECT_NE(late.body.find("decided by a person"), std::string::npos) << late.body;
}

// A classifier through the service, as a platform runs one: a classifiers file and a rule on
// scores; the upload the model scores high is held in the classifier queue with its scores (the
// answer, the case, the metrics), nothing is reported or done to the account, and a person's
// violating decision counts it under the detection source "classifier".
TEST_P(ServiceTest, AHighClassifierScoreHoldsTheUploadForAPersonAndIsCountedAsAClassifierDetection) {
  testing::ClassifierStandIn model("model-key");
  ASSERT_TRUE(model.Start());
  const auto classifiers = dir_.path() / "classifiers.toml";
  std::ofstream(classifiers) << "[[classifier]]\nname = \"own\"\nkind = \"http-json\"\nurl = \"" << model.origin()
                             << "/classify\"\nkey = \"env:VIGIL_TEST_MODEL_KEY\"\n"
                                "request = '{\"image\": \"{{image_base64}}\", \"id\": \"{{content_id}}\"}'\n"
                                "model_pointer = \"/model\"\nversion = \"/version\"\n";
  ::setenv("VIGIL_TEST_MODEL_KEY", "model-key", 1);
  const auto rules = dir_.path() / "rules.toml";
  std::ofstream(rules) << "[[rule]]\nname = \"likely\"\nclassifiers = [\"own\"]\nlabels = [\"match\"]\nmin_score = 0.9\n"
                          "actions = [\"block\", \"hold\"]\nhold_priority = 1\ncategory = \"csam\"\n"
                          "[[queue]]\nname = \"classifier-review\"\nsources = [\"classifier\"]\nopen_to_all = true\n";
  keys_["reviewer-2"] = CreateKey(store_flags_, "reviewer", "reviewer-2");  // takes the appeal
  StartServer("rules_file = \"" + rules.string() + "\"\n[classifiers]\nfile = \"" + classifiers.string() + "\"\n");
  model.SetScore("scored-high", 0.96);
  const auto photos = Photos();
  auto submit = [&](const std::string& id, std::size_t photo) {
    return Http(port_, "POST", "/v1/content?content_id=" + id + "&user_id=user-42", AsString(testing::ReadFile(photos[photo])),
                {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  };
  auto high = submit("scored-high", 0);
  ASSERT_EQ(high.status, 201u) << high.body;
  const auto answer = Parse(high);
  const auto& scored = answer.at("classifications").as_array();
  ASSERT_EQ(scored.size(), 1u) << high.body;
  EXPECT_EQ(scored[0].at("model").as_string(), "standin-model");
  EXPECT_TRUE(scored[0].at("error").is_null());
  EXPECT_EQ(answer.at("policy").at("queue").as_string(), "classifier-review") << high.body;
  EXPECT_FALSE(answer.at("policy").at("queue_report").as_bool());
  EXPECT_EQ(answer.at("policy").at("account_action").as_string(), "none");
  const auto case_id = answer.at("policy").at("case_id").as_int64();
  auto low = submit("scored-low", 1);
  ASSERT_EQ(low.status, 201u) << low.body;
  EXPECT_FALSE(Parse(low).as_object().contains("policy")) << "nothing fired: " << low.body;
  EXPECT_EQ(Parse(low).at("classifications").at(0).at("labels").as_array().size(), 2u) << low.body;
  EXPECT_EQ(model.Requests("json"), 2);

  const std::string base = "/v1/cases/" + std::to_string(case_id);
  auto opened = Call("GET", base, "reviewer");
  ASSERT_EQ(opened.status, 200u) << opened.body;
  EXPECT_EQ(Parse(opened).at("items").at(0).at("classifications").at(0).at("labels").as_array().size(), 2u) << opened.body;
  auto metrics = Call("GET", "/metrics", "auditor");
  EXPECT_NE(metrics.body.find("vigil_classifier_uploads_total{classifier=\"own\",outcome=\"classified\"} 2"), std::string::npos)
      << metrics.body.substr(0, 200);
  EXPECT_NE(metrics.body.find("vigil_classifier_circuit_open{classifier=\"own\"} 0"), std::string::npos);

  ASSERT_EQ(Call("POST", base + "/claim", "reviewer").status, 200u);
  const std::string verdict = R"({"verdict": "violating", "category": "csam", "classification": "A1", "reason": "confirmed by a person"})";
  // Confirming what only a classifier flagged needs a look first.
  auto unseen = Call("POST", base + "/decision", "reviewer", verdict);
  EXPECT_EQ(unseen.status, 400u) << unseen.body;
  EXPECT_NE(unseen.body.find("reveal it"), std::string::npos) << unseen.body;
  EXPECT_EQ(Http(port_, "GET", base + "/media/scored-high?variant=original", "", {{"Authorization", "Bearer " + keys_["reviewer"]}}).status, 200u);
  auto decided = Call("POST", base + "/decision", "reviewer", verdict);
  ASSERT_EQ(decided.status, 200u) << decided.body;
  EXPECT_EQ(Parse(decided).at("decisions").at(0).at("viewed").at(0).as_string(), "scored-high") << decided.body;
  auto figures = Call("GET", "/v1/transparency?from=2026-01-01&to=2036-01-01", "auditor");
  ASSERT_EQ(figures.status, 200u) << figures.body;
  EXPECT_EQ(Parse(figures).at("total").at("content_actioned_by_source").at("classifier").as_int64(), 1) << figures.body;

  // What the user was told: the block said it was held for review, never that a list matched; the
  // removal after a person's confirmation says so. The user appeals the removal; another reviewer
  // overturns it and the upload is restored.
  auto account = Call("GET", "/v1/accounts/user-42", "submitter");
  ASSERT_EQ(account.status, 200u) << account.body;
  std::int64_t removal = 0;
  const auto account_json = Parse(account);
  for (const auto& a : account_json.at("actions").as_array()) {
    const auto& told = a.at("statement_of_reasons");
    if (a.at("kind").as_string() == "block_content") {
      EXPECT_NE(told.at("facts").as_string().find("flagged this upload for review"), std::string::npos) << account.body;
      EXPECT_EQ(told.at("facts").as_string().find("matched a list"), std::string::npos) << account.body;
    }
    if (a.at("kind").as_string() == "remove_content") removal = a.at("id").as_int64();
  }
  ASSERT_NE(removal, 0) << account.body;
  auto appeal = Call("POST", "/v1/appeals", "submitter", R"({"action_id": )" + std::to_string(removal) + R"(, "statement": "a photo of a bridge"})");
  ASSERT_EQ(appeal.status, 201u) << appeal.body;
  const std::string appeal_base = "/v1/appeals/" + std::to_string(Parse(appeal).at("id").as_int64());
  ASSERT_EQ(Call("POST", appeal_base + "/claim", "reviewer-2").status, 200u);
  auto overturned = Call("POST", appeal_base + "/decision", "reviewer-2", R"({"outcome": "overturned", "reason": "benign on a second look"})");
  ASSERT_EQ(overturned.status, 200u) << overturned.body;
  auto restored = Call("GET", "/v1/content/scored-high", "submitter");
  ASSERT_EQ(restored.status, 200u) << restored.body;
  EXPECT_EQ(Parse(restored).at("state").as_string(), "restored") << restored.body;
  ::unsetenv("VIGIL_TEST_MODEL_KEY");
}

// Strikes: a case decided violating gives the account points by its category; staff see them, and
// what the threshold they reach proposes, on the account and on its next case. Strikes act on
// nothing themselves; the platform's own key does not see them.
TEST_P(ServiceTest, ACaseDecidedViolatingGivesTheAccountStrikesThatProposeAnAction) {
  const auto rules = dir_.path() / "rules.toml";
  std::ofstream(rules) << "[strikes]\npoints = { other = 30 }\nhalf_life_days = 365\n"
                          "[[strikes.threshold]]\npoints = 20\npropose = \"suspend\"\n"
                          "[[rule]]\nname = \"hold\"\nbanks = [\"struck\"]\nactions = [\"hold\"]\n";
  StartServer("", {"--rules", rules.string()});
  CreateBank("struck");
  const auto photos = Photos();
  auto imported = Import("struck", "csv", "pdq," + PdqOf(photos[0]) + "\n");
  ASSERT_EQ(imported.status, 200u) << imported.body;
  auto submitted = Http(port_, "POST", "/v1/content?content_id=s-1&user_id=user-s", AsString(testing::ReadFile(photos[0])),
                        {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(submitted.status, 201u) << submitted.body;
  const auto case_id = std::to_string(Parse(submitted).at("policy").at("case_id").as_int64());
  auto before = Parse(Call("GET", "/v1/accounts/user-s", "reviewer"));
  EXPECT_EQ(before.at("strikes").at("points").as_double(), 0.0);
  EXPECT_TRUE(before.at("strikes").at("proposed").is_null());
  ASSERT_EQ(Call("POST", "/v1/cases/" + case_id + "/claim", "reviewer").status, 200u);
  auto decided = Call("POST", "/v1/cases/" + case_id + "/decision", "reviewer", R"({"verdict": "violating", "reason": "listed"})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  auto after = Parse(Call("GET", "/v1/accounts/user-s", "reviewer"));
  const auto& strikes = after.at("strikes").as_object();
  EXPECT_NEAR(strikes.at("points").as_double(), 30.0, 0.01);
  EXPECT_EQ(strikes.at("cases").as_int64(), 1);
  EXPECT_EQ(strikes.at("proposed").as_string(), "suspend");
  EXPECT_EQ(after.at("state").as_string(), "active") << "strikes propose; they never act";
  EXPECT_FALSE(Parse(Call("GET", "/v1/accounts/user-s", "submitter")).as_object().contains("strikes"));
}

// The index of past uploads follows new uploads at every index refresh (not only when an import
// searches it), so an import never waits on a backlog; /metrics shows what it holds.
TEST_P(ServiceTest, ThePastUploadIndexTakesInNewUploadsAtEveryRefresh) {
  StartServer("refresh_interval_ms = 100\n[retroactive]\nwindow_days = 30\n");
  const auto photos = Photos();
  ASSERT_GE(photos.size(), 1u);
  auto submitted = Http(port_, "POST", "/v1/content?content_id=followed-1&user_id=user-1",
                        AsString(testing::ReadFile(photos[0])),
                        {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  ASSERT_EQ(submitted.status, 201u) << submitted.body;
  std::string metrics;
  for (int i = 0; i < 300; ++i) {  // refreshes every 100 ms; up to 30 s on a loaded machine
    metrics = Call("GET", "/metrics", "auditor").body;
    if (metrics.find("vigil_past_uploads{kind=\"pdq\"} 1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("vigil_past_uploads{kind=\"pdq\"} 1"), std::string::npos)
      << server_->Log().substr(server_->Log().size() > 3000 ? server_->Log().size() - 3000 : 0);
  EXPECT_NE(metrics.find("vigil_past_upload_index_bytes"), std::string::npos);
}

// Flood quarantine through the API: an entry matching uploads of many accounts is listed in
// GET /v1/quarantine, and a bank administrator releases it.
TEST_P(ServiceTest, AnEntryMatchingManyAccountsIsQuarantinedListedAndReleased) {
  StartServer("[workflow]\nquarantine_distinct_users = 2\n");
  CreateBank("noisy-list");
  const auto photos = Photos();
  ASSERT_GE(photos.size(), 1u);
  ASSERT_EQ(Import("noisy-list", "csv", "pdq," + PdqOf(photos[0]) + ",junk-1\n").status, 200u);
  const std::string bytes = AsString(testing::ReadFile(photos[0]));
  for (const char* user : {"a", "b"}) {
    auto submitted = Http(port_, "POST", std::string("/v1/content?content_id=noisy-") + user + "&user_id=" + user, bytes,
                          {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
    ASSERT_EQ(submitted.status, 201u) << submitted.body;
  }
  auto listed = Call("GET", "/v1/quarantine", "reviewer");
  ASSERT_EQ(listed.status, 200u) << listed.body;
  const auto answer = Parse(listed);
  const auto& quarantined = answer.at("quarantine").as_array();
  ASSERT_EQ(quarantined.size(), 1u) << listed.body;
  const auto entry_id = quarantined[0].at("entry_id").as_int64();
  auto metrics = Call("GET", "/metrics", "auditor");
  EXPECT_NE(metrics.body.find("vigil_quarantined_entries 1"), std::string::npos) << metrics.body.substr(0, 400);
  EXPECT_EQ(Call("POST", "/v1/entries/" + std::to_string(entry_id) + "/release", "reviewer").status, 403u);
  EXPECT_EQ(Call("POST", "/v1/entries/" + std::to_string(entry_id) + "/release", "bank-admin").status, 204u);
  EXPECT_EQ(Call("POST", "/v1/entries/" + std::to_string(entry_id) + "/release", "bank-admin").status, 404u);
  EXPECT_TRUE(Parse(Call("GET", "/v1/quarantine", "auditor")).at("quarantine").as_array().empty());
}

// The own bank through the API: a file a reviewer confirms matches the very next upload of it on
// this server (a trial saw it match only after the next background refresh).
TEST_P(ServiceTest, AFileConfirmedViolatingMatchesItsNextUploadAtOnceThroughTheOwnBank) {
  const auto rules = dir_.path() / "rules.toml";
  std::ofstream(rules) << "[[rule]]\nname = \"hold\"\nactions = [\"block\", \"hold\"]\n";
  StartServer("refresh_interval_ms = 3600000\n[workflow]\nown_bank = \"platform\"\n", {"--rules", rules.string()});
  CreateBank("some-list");
  const auto photos = Photos();
  ASSERT_GE(photos.size(), 1u);
  ASSERT_EQ(Import("some-list", "csv", "pdq," + PdqOf(photos[0]) + "\n").status, 200u);
  const std::string bytes = AsString(testing::ReadFile(photos[0]));
  auto submit = [&](const std::string& id) {
    return Http(port_, "POST", "/v1/content?content_id=" + id + "&user_id=u-" + id, bytes,
                {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  };
  auto first = submit("first");
  ASSERT_EQ(first.status, 201u) << first.body;
  const auto case_id = Parse(first).at("policy").at("case_id").as_int64();
  ASSERT_EQ(Call("POST", "/v1/cases/" + std::to_string(case_id) + "/claim", "reviewer").status, 200u);
  auto decided = Call("POST", "/v1/cases/" + std::to_string(case_id) + "/decision", "reviewer",
                      R"({"verdict":"violating","reason":"confirmed"})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  auto next = submit("next");
  ASSERT_EQ(next.status, 201u) << next.body;
  EXPECT_NE(next.body.find("\"platform-other\""), std::string::npos) << next.body;
}

// Sweeps with the service's defaults (own banks on, a 90-day window): another account's copy,
// uploaded before the list had the photo, is found when the original is confirmed, put in a case
// of its own linked to the deciding one and blocked; its bytes were never kept, so the platform
// supplies them, checked against the upload's SHA-256.
TEST_P(ServiceTest, AConfirmedPhotoSweepsAnEarlierCopyIntoALinkedCaseWhoseBytesThePlatformSupplies) {
  const auto rules = dir_.path() / "rules.toml";
  std::ofstream(rules) << "[[rule]]\nname = \"hold\"\nbanks = [\"some-list\"]\nactions = [\"block\", \"hold\"]\n";
  StartServer("", {"--rules", rules.string()});
  const auto photos = Photos();
  ASSERT_GE(photos.size(), 1u);
  const std::string bytes = AsString(testing::ReadFile(photos[0]));
  auto photo = DecodeImage(testing::ReadFile(photos[0]), {});
  ASSERT_TRUE(photo);
  const std::string copy = AsString(testing::EncodeJpeg(Resize(*photo, photo->width * 3 / 5, photo->height * 3 / 5), 70));
  auto submit = [&](const std::string& id, const std::string& user, const std::string& body) {
    return Http(port_, "POST", "/v1/content?content_id=" + id + "&user_id=" + user, body,
                {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "image/jpeg"}});
  };
  // The copy comes first and matches nothing; the list holds the original's SHA-256 only.
  ASSERT_EQ(submit("early-copy", "someone-else", copy).status, 201u);
  CreateBank("some-list");
  ASSERT_EQ(Import("some-list", "csv", "sha256," + Sha256Hex(bytes) + "\n").status, 200u);
  auto original = submit("original", "uploader", bytes);
  ASSERT_EQ(original.status, 201u) << original.body;
  const auto case_id = Parse(original).at("policy").at("case_id").as_int64();
  const std::string base = "/v1/cases/" + std::to_string(case_id);
  ASSERT_EQ(Call("POST", base + "/claim", "reviewer").status, 200u);
  auto decided = Call("POST", base + "/decision", "reviewer", R"({"verdict":"violating","reason":"confirmed"})");
  ASSERT_EQ(decided.status, 200u) << decided.body;
  const auto sweep = Parse(decided).at("sweep").as_object();
  EXPECT_EQ(sweep.at("copies").as_int64(), 1);
  EXPECT_EQ(sweep.at("accounts").as_int64(), 1);
  const auto swept_id = sweep.at("cases").as_array().at(0).at("case_id").as_int64();
  const std::string swept = "/v1/cases/" + std::to_string(swept_id);
  auto linked = Parse(Call("GET", swept, "reviewer"));
  EXPECT_EQ(linked.at("swept_from").as_array().at(0).as_int64(), case_id);
  EXPECT_EQ(linked.at("user_id").as_string(), "someone-else");
  EXPECT_EQ(linked.at("items").as_array().at(0).at("state").as_string(), "blocked");
  EXPECT_FALSE(linked.at("items").as_array().at(0).at("has_media").as_bool());
  EXPECT_EQ(Parse(Call("GET", "/v1/accounts/someone-else", "reviewer")).at("state").as_string(), "active");
  // The same sweep by hand (`vigil bank sweep`) records nothing twice.
  std::vector<std::string> again = {"bank", "sweep", std::to_string(case_id), "--retroactive-days", "90"};
  again.insert(again.end(), store_flags_.begin(), store_flags_.end());
  auto by_hand = testing::RunVigil(again);
  ASSERT_EQ(by_hand.status, 0) << by_hand.err;
  EXPECT_NE(by_hand.out.find("\"copies\":0"), std::string::npos) << by_hand.out;
  EXPECT_NE(by_hand.out.find("\"already_matched\":1"), std::string::npos) << by_hand.out;

  // The platform supplies the copy's bytes: only exactly the upload's are taken, by its submitter key.
  auto put = [&](const std::string& body, const std::string& role) {
    return Http(port_, "PUT", swept + "/media/early-copy", body,
                {{"Authorization", "Bearer " + keys_[role]}, {"Content-Type", "application/octet-stream"}});
  };
  EXPECT_EQ(put(copy, "reviewer").status, 403u);
  auto as_text = Http(port_, "PUT", swept + "/media/early-copy", copy,
                      {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(as_text.status, 415u) << as_text.body;
  // A case list does not claim "no sweep": sweeps are read with the whole case.
  const auto listed = Parse(Call("GET", "/v1/cases?status=decided", "reviewer")).at("cases").as_array();
  ASSERT_FALSE(listed.empty());
  EXPECT_FALSE(listed.at(0).as_object().contains("sweep"));
  auto wrong = put(bytes, "submitter");
  EXPECT_EQ(wrong.status, 400u) << wrong.body;
  EXPECT_NE(wrong.body.find("SHA-256"), std::string::npos) << wrong.body;
  auto supplied = put(copy, "submitter");
  ASSERT_EQ(supplied.status, 200u) << supplied.body;
  EXPECT_TRUE(Parse(supplied).at("has_media").as_bool());
  EXPECT_FALSE(Parse(supplied).as_object().contains("items")) << "the submitter is not shown the case";
  EXPECT_EQ(put(bytes, "submitter").status, 400u) << "wrong bytes are refused even once the media is kept";
  // Media past the JSON limit (8 MiB) are read up to the server's body limit, as uploads are.
  auto large = put(std::string(9u << 20, 'x'), "submitter");
  EXPECT_EQ(large.status, 400u) << large.body.substr(0, 200);
  EXPECT_EQ(put(copy, "submitter").status, 200u);
  ASSERT_EQ(Call("POST", swept + "/claim", "reviewer").status, 200u);
  EXPECT_EQ(Http(port_, "GET", swept + "/media/early-copy", "", {{"Authorization", "Bearer " + keys_["reviewer"]}}).status,
            200u);
}

TEST_P(ServiceTest, VideoClipMatchesTheListedVideo) {
  StartServer("max_body_bytes = 67108864\n");
  CreateBank("benign-videos", R"(,"description":"stand-ins for a video list")");
  const auto videos = testing::TestDataDir() / "vectors/vpdq";
  const std::string listed = testing::ReadText(videos / "debian-ffmpeg/chair-19-sd-bar.txt");
  auto imported = Http(port_, "POST", "/v1/banks/benign-videos/import?format=vpdq&external_id=video-19&classification=B2",
                       listed, {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "text/plain"}});
  ASSERT_EQ(imported.status, 200u) << imported.body;
  EXPECT_EQ(Parse(imported).at("added").as_int64(), 1);
  // Importing the same video again adds nothing.
  auto again = Http(port_, "POST", "/v1/banks/benign-videos/import?format=vpdq&external_id=video-19&classification=B2",
                    listed, {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(Parse(again).at("added").as_int64(), 0);

  const auto clip = dir_.path() / "clip.mp4";
  auto cut = testing::RunProgram({"ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", "5.3", "-i",
                                  (videos / "videos/chair-19-sd-bar.mp4").string(), "-t", "4", "-c:v", "libx264",
                                  "-crf", "28", "-an", clip.string()});
  ASSERT_EQ(cut.status, 0) << cut.err;
  auto submitted = Http(port_, "POST", "/v1/content?content_id=video-upload-1&user_id=user-3",
                        AsString(testing::ReadFile(clip)),
                        {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "video/mp4"}});
  ASSERT_EQ(submitted.status, 201u) << submitted.body;
  auto record = Parse(submitted).as_object();
  EXPECT_EQ(record.at("media_type").as_string(), "video/mp4");
  EXPECT_EQ(record.at("hashes").at("sha256").as_string().size(), 64u);
  EXPECT_FALSE(record.at("vpdq").as_string().empty());
  const auto& matches = record.at("matches").as_array();
  ASSERT_EQ(matches.size(), 1u) << submitted.body;
  EXPECT_EQ(matches[0].at("signal_type").as_string(), "vpdq");
  EXPECT_EQ(matches[0].at("bank").as_string(), "benign-videos");
  EXPECT_EQ(matches[0].at("external_id").as_string(), "video-19");
  EXPECT_EQ(matches[0].at("classification").as_string(), "B2");
  EXPECT_GE(matches[0].at("query_match_percent").to_number<double>(), 80.0);
  EXPECT_LT(matches[0].at("compared_match_percent").to_number<double>(), 10.0);  // a clip of a long list
  // Read back, the match keeps its percentages.
  auto stored = Call("GET", "/v1/content/video-upload-1", "reviewer");
  EXPECT_GE(Parse(stored).at("matches").as_array()[0].at("query_match_percent").to_number<double>(), 80.0);

  auto unrelated = Http(port_, "POST", "/v1/content?content_id=video-upload-2&user_id=user-3",
                        AsString(testing::ReadFile(videos / "videos/doorknob-hd-no-bar.mp4")),
                        {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "video/mp4"}});
  ASSERT_EQ(unrelated.status, 201u) << unrelated.body;
  EXPECT_TRUE(Parse(unrelated).at("matches").as_array().empty()) << unrelated.body;

  // The same through /v1/lookup with the clip's frames, and the listed frames exported back.
  const std::string clip_frames(Parse(submitted).at("vpdq").as_string());
  json::object signal{{"type", "vpdq"}, {"value", clip_frames}};
  auto looked_up = Call("POST", "/v1/lookup", "submitter",
                        json::serialize(json::object{{"signals", json::array{signal}}}));
  ASSERT_EQ(looked_up.status, 200u) << looked_up.body;
  const auto looked_up_json = Parse(looked_up);
  const auto& found = looked_up_json.at("results").as_array()[0].at("matches").as_array();
  ASSERT_EQ(found.size(), 1u);
  const auto entry_id = found[0].at("entry_id").as_int64();
  auto exported = Call("GET", "/v1/banks/benign-videos/entries/" + std::to_string(entry_id) + "/vpdq", "auditor");
  ASSERT_EQ(exported.status, 200u);
  EXPECT_EQ(exported.body, listed);
  EXPECT_EQ(Call("GET", "/v1/banks/benign-videos/entries/999/vpdq", "auditor").status, 404u);
  // A vpdq row in a CSV list has no frames: refused, naming the line.
  auto csv = Import("benign-videos", "csv", "vpdq," + std::string(64, 'a') + ",x,\n");
  EXPECT_EQ(csv.status, 400u);
  EXPECT_NE(csv.body.find("line 1"), std::string::npos) << csv.body;
  // Video decoding limits surface as clear errors.
  auto truncated = Http(port_, "POST", "/v1/hash", AsString(testing::ReadFile(clip)).substr(0, 5000),
                        {{"Authorization", "Bearer " + keys_["submitter"]}, {"Content-Type", "video/mp4"}});
  EXPECT_EQ(truncated.status, 400u) << truncated.body;
}

// Mirrors an image left-right.
Image Mirror(const Image& in) {
  Image out = in;
  for (std::uint32_t y = 0; y < in.height; ++y) {
    for (std::uint32_t x = 0; x < in.width; ++x) {
      for (std::uint32_t c = 0; c < in.channels; ++c) {
        out.pixels[(static_cast<std::size_t>(y) * in.width + x) * in.channels + c] =
            in.Row(y)[(in.width - 1 - x) * in.channels + c];
      }
    }
  }
  return out;
}

// Puts an image on a black canvas `share` larger on each side.
Image Pad(const Image& in, double share) {
  const auto dx = static_cast<std::uint32_t>(in.width * share), dy = static_cast<std::uint32_t>(in.height * share);
  Image out;
  out.width = in.width + 2 * dx;
  out.height = in.height + 2 * dy;
  out.channels = in.channels;
  out.pixels.assign(static_cast<std::size_t>(out.width) * out.height * out.channels, 0);
  for (std::uint32_t y = 0; y < in.height; ++y) {
    std::copy_n(in.Row(y), static_cast<std::size_t>(in.width) * in.channels,
                out.pixels.data() + ((static_cast<std::size_t>(y) + dy) * out.width + dx) * out.channels);
  }
  return out;
}

// Per-bank measures: a bank that enables them matches a mirrored copy (through the upload's
// dihedral variants) and a padded copy (through its border-trimmed hash), and says which measure
// matched; a bank that does not, does not.
TEST_P(ServiceTest, BankMeasuresMatchMirroredAndPaddedCopies) {
  StartServer();
  CreateBank("plain-bank");
  CreateBank("measured-bank", R"(,"match_dihedral":true,"match_trimmed":true)");
  auto shown = Call("GET", "/v1/banks/measured-bank", "auditor");
  EXPECT_TRUE(Parse(shown).at("match_dihedral").as_bool());
  const auto photo = Photos()[0];
  const std::string list = "pdq," + PdqOf(photo) + ",photo-0,B1\n";
  ASSERT_EQ(Import("plain-bank", "csv", list).status, 200u);
  ASSERT_EQ(Import("measured-bank", "csv", list).status, 200u);
  auto original = DecodeImage(testing::ReadFile(photo), {});
  ASSERT_TRUE(original);
  const auto upload = [&](const std::string& id, const Image& image) {
    auto reply = HttpMedia(port_, "/v1/content?content_id=" + id + "&user_id=u", keys_["submitter"],
                           AsString(testing::EncodePng(image)), "image/png");
    EXPECT_EQ(reply.status, 201u) << reply.body;
    return Parse(reply).at("matches").as_array();
  };
  const auto mirrored = upload("mirrored", Mirror(*original));
  ASSERT_EQ(mirrored.size(), 1u) << json::serialize(mirrored);
  EXPECT_EQ(mirrored[0].at("bank").as_string(), "measured-bank");
  EXPECT_EQ(mirrored[0].at("measure").as_string().subview().substr(0, 9), "dihedral:");
  const auto padded = upload("padded", Pad(*original, 0.2));
  ASSERT_EQ(padded.size(), 1u) << json::serialize(padded);
  EXPECT_EQ(padded[0].at("bank").as_string(), "measured-bank");
  EXPECT_EQ(padded[0].at("measure").as_string(), "trimmed");
  // The plain copy matches both banks through its own hash (no measure named).
  const auto plain = upload("plain", *original);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_FALSE(plain[0].as_object().contains("measure"));
  // Read back, the measure is kept; switched off, the bank stops matching the mirror.
  EXPECT_EQ(Parse(Call("GET", "/v1/content/padded", "reviewer")).at("matches").as_array()[0].at("measure").as_string(),
            "trimmed");
  ASSERT_EQ(Call("PATCH", "/v1/banks/measured-bank", "bank-admin", R"({"match_dihedral":false})").status, 200u);
  EXPECT_TRUE(upload("mirrored-2", Mirror(*original)).empty());
}

// A bank imported by the CLI while the server runs is picked up by the server's refresh.
TEST_P(ServiceTest, ServerFollowsCliImports) {
  StartServer("refresh_interval_ms = 100\n");
  ASSERT_EQ(testing::RunVigil([&] {
              std::vector<std::string> a{"bank", "create", "cli-bank"};
              a.insert(a.end(), store_flags_.begin(), store_flags_.end());
              return a;
            }()).status,
            0);
  const auto list = dir_.path() / "list.txt";
  const std::string sha = std::string(64, 'a');
  std::ofstream(list) << "sha256," << sha << ",x1,\n";
  std::vector<std::string> args{"import", "cli-bank", list.string(), "--format", "csv"};
  args.insert(args.end(), store_flags_.begin(), store_flags_.end());
  auto run = testing::RunVigil(args);
  ASSERT_EQ(run.status, 0) << run.err;
  const std::string lookup = R"({"signals":[{"type":"sha256","value":")" + sha + R"("}]})";
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    auto reply = Call("POST", "/v1/lookup", "submitter", lookup);
    seen = !Parse(reply).at("results").as_array()[0].at("matches").as_array().empty();
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(seen);
}

INSTANTIATE_TEST_SUITE_P(Backends, ServiceTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

class ServiceSqliteTest : public ServiceTest {};
INSTANTIATE_TEST_SUITE_P(Sqlite, ServiceSqliteTest, ::testing::Values(Backend::kSqlite),
                         [](const auto&) { return "Sqlite"; });

// Fills a route pattern's parameters.
std::string Concrete(const std::string& pattern) {
  std::string path = pattern;
  for (const auto& [param, value] : std::map<std::string, std::string>{{"{name}", "roles-bank"}, {"{content_id}", "c-1"}, {"{entry_id}", "1"}}) {
    if (auto at = path.find(param); at != std::string::npos) path.replace(at, param.size(), value);
  }
  return path;
}

// Every route refuses every role it does not list (403), and every keyed route refuses a missing,
// malformed, unknown or revoked key (401); a listed role gets past the check.
TEST_P(ServiceSqliteTest, EveryRouteChecksItsRoles) {
  StartServer("failed_auth_burst = 100000\n");  // the sweep presents two unknown keys per route
  CreateBank("roles-bank");
  const std::string revoked = CreateKey(store_flags_, "admin", "soon-revoked");
  ASSERT_EQ(Call("DELETE", "/v1/keys/soon-revoked", "admin").status, 204u);
  int checked = 0;
  for (const auto& route : server::ApiService::Routes()) {
    const std::string method(server::http::to_string(route.method));
    const std::string target = Concrete(route.pattern);
    if (route.roles.empty()) {
      // Reached without a key (the sign-in routes answer 404 here: no [sso] is configured).
      const auto status = Http(port_, method, target).status;
      EXPECT_TRUE(status == 200u || (target.starts_with("/v1/sso/") && status == 404u)) << target << ": " << status;
      continue;
    }
    for (const std::string role : kRoles) {
      const bool allowed = std::find(route.roles.begin(), route.roles.end(), role) != route.roles.end();
      // Role checks come before the body is looked at: an empty body is enough.
      auto reply = Call(method, target, role);
      if (allowed) {
        EXPECT_NE(reply.status, 401u) << method << " " << target << " as " << role << ": " << reply.body;
        EXPECT_NE(reply.status, 403u) << method << " " << target << " as " << role << ": " << reply.body;
      } else {
        EXPECT_EQ(reply.status, 403u) << method << " " << target << " as " << role << ": " << reply.body;
        EXPECT_EQ(ErrorCodeOf(reply), "permission_denied");
      }
      ++checked;
    }
    for (const std::string& header : {std::string(), std::string("Basic abc"), std::string("Bearer vgl_nope"),
                                      "Bearer " + revoked}) {
      std::map<std::string, std::string> headers;
      if (!header.empty()) headers["Authorization"] = header;
      auto reply = Http(port_, method, target, "", headers);
      EXPECT_EQ(reply.status, 401u) << method << " " << target << " with '" << header << "'";
      EXPECT_EQ(reply.headers["www-authenticate"], "Bearer");
    }
  }
  EXPECT_GE(checked, 5 * 17);
  // The bank survived every refused DELETE; the allowed one ran last for that route.
  EXPECT_EQ(Call("GET", "/v1/banks/roles-bank", "auditor").status, 404u);
}

// The checked-in OpenAPI document describes exactly the routes the server has, with their roles.
TEST_P(ServiceSqliteTest, OpenApiDocumentMatchesTheRoutes) {
  StartServer();
  auto reply = Http(port_, "GET", "/openapi.json");
  ASSERT_EQ(reply.status, 200u);
  auto doc = Parse(reply).as_object();
  EXPECT_EQ(doc.at("openapi").as_string().subview().substr(0, 2), "3.");
  const auto& paths = doc.at("paths").as_object();
  std::set<std::string> documented;
  for (const auto& [path, item] : paths) {
    for (const auto& [method, operation] : item.as_object()) {
      documented.insert(std::string(method) + " " + std::string(path));
      EXPECT_TRUE(operation.as_object().contains("responses")) << path;
      EXPECT_TRUE(operation.as_object().contains("operationId")) << path;
    }
  }
  std::set<std::string> routed;
  for (const auto& route : server::ApiService::Routes()) {
    std::string method(server::http::to_string(route.method));
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
    routed.insert(method + " " + route.pattern);
    const auto* item = paths.if_contains(route.pattern);
    ASSERT_NE(item, nullptr) << route.pattern << " is not in docs/openapi.json";
    const auto* operation = item->as_object().if_contains(method);
    ASSERT_NE(operation, nullptr) << method << " " << route.pattern << " is not in docs/openapi.json";
    std::vector<std::string> roles;
    for (const auto& role : operation->at("x-vigil-roles").as_array()) roles.emplace_back(role.as_string());
    EXPECT_EQ(roles, route.roles) << method << " " << route.pattern;
    // Keyed routes document 401 and 403.
    if (!route.roles.empty()) {
      EXPECT_TRUE(operation->at("responses").as_object().contains("401")) << route.pattern;
      EXPECT_TRUE(operation->at("responses").as_object().contains("403")) << route.pattern;
    }
  }
  EXPECT_EQ(documented, routed);
}

// Bad input gets a clear 4xx, changes nothing, and the server keeps serving.
TEST_P(ServiceSqliteTest, BadInputIsRefusedCleanly) {
  StartServer("max_body_bytes = 1048576\n");
  CreateBank("bank-a");
  ASSERT_EQ(Import("bank-a", "csv", "pdq," + std::string(64, '0') + ",first,\n").status, 200u);

  auto expect = [&](const testing::HttpReply& reply, unsigned status, const std::string& code, const std::string& says) {
    EXPECT_EQ(reply.status, status) << reply.body;
    EXPECT_EQ(ErrorCodeOf(reply), code) << reply.body;
    EXPECT_NE(reply.body.find(says), std::string::npos) << "expected '" << says << "' in " << reply.body;
  };
  expect(Call("POST", "/v1/banks", "bank-admin", R"({"name": "x",)"), 400, "invalid_argument", "malformed JSON");
  expect(Call("POST", "/v1/banks", "bank-admin", R"(["not an object"])"), 400, "invalid_argument", "object");
  expect(Http(port_, "POST", "/v1/banks", R"({"name":"y"})",
              {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "text/plain"}}),
         415, "unsupported", "application/json");
  expect(HttpMedia(port_, "/v1/hash", keys_["submitter"], "{}", "application/json"), 415, "unsupported", "image/");
  expect(Call("POST", "/v1/banks", "bank-admin", R"({"name":"bank-a"})"), 409, "already_exists", "bank-a");
  expect(Call("POST", "/v1/banks", "bank-admin", R"({"name":"Bad Name!"})"), 400, "invalid_argument", "name");
  expect(Call("POST", "/v1/banks", "bank-admin", R"({"name":"z","colour":"red"})"), 400, "invalid_argument", "colour");

  // Media: truncated, random bytes, oversize.
  const auto photo = AsString(testing::ReadFile(Photos()[0]));
  expect(HttpMedia(port_, "/v1/content?content_id=t1", keys_["submitter"], photo.substr(0, photo.size() / 2)), 400,
         "truncated", "");
  expect(HttpMedia(port_, "/v1/hash", keys_["submitter"], std::string(5000, 'x')), 415, "unsupported", "");
  expect(HttpMedia(port_, "/v1/hash", keys_["submitter"], std::string(2 << 20, 'x')), 413, "too_large", "limit");
  expect(HttpMedia(port_, "/v1/content", keys_["submitter"], photo), 400, "invalid_argument", "content_id");
  EXPECT_EQ(Call("GET", "/v1/content/t1", "reviewer").status, 404u);  // the truncated upload stored nothing

  // Lookups: unknown type, bad hex, wrong length, too many signals.
  expect(Call("POST", "/v1/lookup", "submitter", R"({"signals":[{"type":"tmk","value":"00"}]})"), 400,
         "invalid_argument", "signals[0]");
  expect(Call("POST", "/v1/lookup", "submitter", R"({"signals":[{"type":"pdq","value":")" + std::string(64, 'g') + R"("}]})"),
         400, "invalid_argument", "hex");
  expect(Call("POST", "/v1/lookup", "submitter", R"({"signals":[{"type":"md5","value":"abc"}]})"), 400,
         "invalid_argument", "32");
  std::string many = R"({"signals":[)";
  for (int i = 0; i < 1001; ++i) many += std::string(i ? "," : "") + R"({"type":"md5","value":")" + std::string(32, 'a') + R"("})";
  expect(Call("POST", "/v1/lookup", "submitter", many + "]}"), 413, "too_large", "1000");

  // A list with a broken line in the middle: nothing imported, the line named, the attempt logged.
  std::string list;
  for (int i = 0; i < 100; ++i) {
    char value[65];
    std::snprintf(value, sizeof value, "%064x", i + 1);
    list += "pdq," + std::string(value) + ",e" + std::to_string(i) + ",\n";
    if (i == 49) list += "pdq,not-hex-at-all,broken,\n";
  }
  expect(Import("bank-a", "csv", list), 400, "invalid_argument", "line 51");
  EXPECT_EQ(LiveEntries("bank-a"), 1);
  auto imports = Call("GET", "/v1/banks/bank-a/imports", "auditor");
  ASSERT_EQ(imports.status, 200u);
  EXPECT_NE(imports.body.find("rejected"), std::string::npos) << imports.body;
  expect(Import("bank-a", "xml", "x"), 400, "invalid_argument", "format");
  expect(Import("no-such-bank", "csv", "pdq," + std::string(64, '1') + "\n"), 404, "not_found", "no-such-bank");

  // Routing.
  expect(Http(port_, "GET", "/v2/nothing"), 404, "not_found", "");
  expect(Http(port_, "PUT", "/v1/banks"), 405, "method_not_allowed", "GET");

  EXPECT_EQ(Http(port_, "GET", "/healthz").status, 200u);
  EXPECT_EQ(Import("bank-a", "csv", list.substr(0, list.find("pdq,not-hex"))).status, 200u);
  EXPECT_EQ(LiveEntries("bank-a"), 51);
  // Nothing above was a server error.
  EXPECT_EQ(Call("GET", "/metrics", "auditor").body.find(R"(status="500")"), std::string::npos);
}

// HTTP-level limits: a declared oversize body is refused before it is sent, huge headers, slow
// clients, garbage, and pipelined requests all get the right answer.
TEST_P(ServiceSqliteTest, HttpLimitsAndPipelining) {
  StartServer("max_body_bytes = 1048576\nrequest_timeout_ms = 1000\n");
  using namespace std::chrono_literals;
  // 10 GB declared, nothing sent: answered 413 at once (with a key), 401 (without).
  const auto huge = testing::RawExchange(port_,
                                         "POST /v1/hash HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                         "Authorization: Bearer " + keys_["submitter"] +
                                             "\r\nContent-Length: 10000000000\r\n\r\n",
                                         5s);
  EXPECT_EQ(huge.rfind("HTTP/1.1 413", 0), 0u) << huge;
  const auto keyless = testing::RawExchange(port_,
                                            "POST /v1/hash HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                            "Content-Length: 10000000000\r\n\r\n",
                                            5s);
  EXPECT_EQ(keyless.rfind("HTTP/1.1 401", 0), 0u) << keyless;
  const auto big_header = testing::RawExchange(
      port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100'000, 'a') + "\r\n\r\n", 5s);
  EXPECT_EQ(big_header.rfind("HTTP/1.1 431", 0), 0u) << big_header.substr(0, 100);
  const auto garbage = testing::RawExchange(port_, "NOT HTTP AT ALL\r\n\r\n", 5s);
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  // Slowloris: half a header, then silence; the connection is cut at the request deadline.
  const auto started = std::chrono::steady_clock::now();
  const auto slow = testing::RawExchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 10s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(slow.find("200"), std::string::npos) << slow;
  // Two pipelined requests on one connection, both answered in order.
  const auto pipelined = testing::RawExchange(
      port_, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5s);
  const auto first = pipelined.find("HTTP/1.1 200"), second = pipelined.find("HTTP/1.1 404");
  EXPECT_NE(first, std::string::npos) << pipelined;
  EXPECT_NE(second, std::string::npos) << pipelined;
  EXPECT_LT(first, second);
  EXPECT_EQ(Http(port_, "GET", "/healthz").status, 200u);
}

std::string BigPdqList(int entries, int seed) {
  std::string list;
  list.reserve(static_cast<std::size_t>(entries) * 80);
  std::uint64_t state = 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(seed + 1);
  char line[96];
  for (int i = 0; i < entries; ++i) {
    std::uint64_t words[4];
    for (auto& word : words) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      word = state;
    }
    std::snprintf(line, sizeof line, "pdq,%016llx%016llx%016llx%016llx,id%d,\n", static_cast<unsigned long long>(words[0]),
                  static_cast<unsigned long long>(words[1]), static_cast<unsigned long long>(words[2]),
                  static_cast<unsigned long long>(words[3]), i);
    list += line;
  }
  return list;
}

// kill -9 during a large import: after a restart the bank holds all of it or none, and the
// store's integrity check passes. Several kill points, so at least one lands mid-transaction.
TEST_P(ServiceTest, KillDuringImportLeavesAllOrNothing) {
  constexpr int kEntries = 400'000;
  const std::string list = BigPdqList(kEntries, 1);
  const std::string config = "max_body_bytes = 268435456\n";
  StartServer(config);
  CreateBank("big");
  int interrupted = 0;
  for (const int delay_ms : {150, 400, 900, 1600}) {
    std::thread client([&] { (void)Import("big", "csv", list); });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    const auto before = LiveEntries("big");  // 0 or all, even while the import runs
    server_->Kill();
    client.join();
    EXPECT_TRUE(before == 0 || before == kEntries) << before;
    StartServer(config);
    const auto after = LiveEntries("big");
    EXPECT_TRUE(after == 0 || after == kEntries) << "after a kill at " << delay_ms << " ms: " << after;
    if (after == 0) ++interrupted;
    std::vector<std::string> check{"store", "check"};
    check.insert(check.end(), store_flags_.begin(), store_flags_.end());
    auto run = testing::RunVigil(check);
    EXPECT_EQ(run.status, 0) << run.out << run.err;
    if (after == kEntries) break;
  }
  EXPECT_GE(interrupted, 1) << "no kill landed before the import committed; make the list larger";
  // And the import still applies whole afterwards.
  auto reply = Import("big", "csv", list);
  EXPECT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(LiveEntries("big"), kEntries);
}

// SIGTERM while an upload is in flight: the request finishes, the process exits 0.
TEST_P(ServiceSqliteTest, GracefulShutdownFinishesInFlightRequests) {
  StartServer("max_body_bytes = 268435456\n");
  CreateBank("drain");
  const std::string list = BigPdqList(150'000, 2);
  testing::HttpReply reply;
  std::thread client([&] { reply = Import("drain", "csv", list); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(server_->Terminate(), 0) << server_->Log();
  client.join();
  EXPECT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(reply.headers["connection"], "close");
  StartServer();
  EXPECT_EQ(LiveEntries("drain"), 150'000);
}

// Per-key token buckets: a burst of 3 at 1/s lets three through, then 429 with Retry-After; the
// other keys keep their own buckets.
TEST_P(ServiceSqliteTest, RateLimitsArePerKey) {
  StartServer("rate_limit_per_second = 1\nrate_limit_burst = 3\n");
  const std::string lookup = R"({"signals":[{"type":"md5","value":")" + std::string(32, 'a') + R"("}]})";
  std::vector<unsigned> statuses;
  for (int i = 0; i < 5; ++i) statuses.push_back(Call("POST", "/v1/lookup", "submitter", lookup).status);
  EXPECT_EQ(statuses[0], 200u);
  EXPECT_EQ(statuses[2], 200u);
  EXPECT_EQ(statuses[4], 429u);
  auto limited = Call("POST", "/v1/lookup", "submitter", lookup);
  EXPECT_EQ(limited.status, 429u);
  EXPECT_EQ(ErrorCodeOf(limited), "rate_limited");
  EXPECT_EQ(limited.headers["retry-after"], "1");
  EXPECT_EQ(Call("GET", "/v1/banks", "auditor").status, 200u);  // another key, its own bucket
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(Call("POST", "/v1/lookup", "submitter", lookup).status, 200u);  // refilled
}

// Uploads are decoded in confined worker processes: the server's children run `sandbox-worker` in
// seccomp filter mode; killing one does not fail the next upload; hostile bytes get a 4xx.
std::vector<pid_t> SandboxWorkersOf(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string status = testing::ReadText(entry.path() / "status");
    const auto ppid = status.find("PPid:");
    if (ppid == std::string::npos || std::stoi(status.substr(ppid + 5)) != parent) continue;
    if (testing::ReadText(entry.path() / "cmdline").find("sandbox-worker") == std::string::npos) continue;
    const auto seccomp = status.find("Seccomp:");
    EXPECT_TRUE(seccomp != std::string::npos && std::stoi(status.substr(seccomp + 8)) == 2) << "not in filter mode";
    out.push_back(std::stoi(name));
  }
  return out;
}

TEST_P(ServiceSqliteTest, UploadsAreDecodedInConfinedWorkers) {
  const auto check = testing::RunVigil({"sandbox", "check", "--json"});
  if (check.status != 0 && check.err.find("unsupported") != std::string::npos) {
    GTEST_SKIP() << "this kernel refuses seccomp filters: " << check.err;
  }
  ASSERT_EQ(check.status, 0) << check.out << check.err;
  StartServer("[sandbox]\nmode = \"required\"\nworkers = 2\n");
  if (HasFatalFailure()) return;
  const std::string png = AsString(testing::EncodePng(testing::MakePattern(120, 90, 3, 4)));
  auto first = HttpMedia(port_, "/v1/content?content_id=s1&user_id=u", keys_["submitter"], png, "image/png");
  ASSERT_EQ(first.status, 201u) << first.body;
  const auto workers = SandboxWorkersOf(server_->pid());
  ASSERT_FALSE(workers.empty()) << server_->Log();
  for (pid_t pid : workers) kill(pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto second = HttpMedia(port_, "/v1/content?content_id=s2&user_id=u", keys_["submitter"], png, "image/png");
  ASSERT_EQ(second.status, 201u) << second.body;
  EXPECT_EQ(Parse(second).at("hashes").at("pdq"), Parse(first).at("hashes").at("pdq"));
  auto hostile = HttpMedia(port_, "/v1/hash", keys_["submitter"], "BM" + std::string(60, '\xff'), "image/bmp");
  EXPECT_GE(hostile.status, 400u);
  EXPECT_LT(hostile.status, 500u) << hostile.body;
  EXPECT_NE(server_->Log().find("decoder sandbox on"), std::string::npos);
  const auto metrics = Call("GET", "/metrics", "auditor").body;
  EXPECT_NE(metrics.find("vigil_decoder_workers_total{event=\"requests\"} 3"), std::string::npos) << metrics;
}

// An upload that needs more memory to decode than a worker may use broke a configured limit: 413
// too_large with the decoder's words, never 500 (it was 500 "internal error").
TEST_P(ServiceSqliteTest, AnUploadNeedingMoreMemoryThanADecoderMayUseIsRefusedNot500) {
  const auto check = testing::RunVigil({"sandbox", "check", "--json"});
  if (check.status != 0 && check.err.find("unsupported") != std::string::npos) {
    GTEST_SKIP() << "this kernel refuses seccomp filters: " << check.err;
  }
  StartServer("[sandbox]\nmode = \"required\"\nworkers = 1\nmemory_mb = 256\n");
  if (HasFatalFailure()) return;
  const std::string big = AsString(testing::EncodePng(testing::MakePattern(9000, 9000, 3, 4)));
  auto refused = HttpMedia(port_, "/v1/hash", keys_["submitter"], big, "image/png");
  EXPECT_EQ(refused.status, 413u) << refused.body;
  EXPECT_EQ(Parse(refused).at("error").at("code").as_string(), "too_large") << refused.body;
  EXPECT_NE(Parse(refused).at("error").at("message").as_string().find("memory"), std::string::npos) << refused.body;
  const std::string small = AsString(testing::EncodePng(testing::MakePattern(120, 90, 3, 4)));
  EXPECT_EQ(HttpMedia(port_, "/v1/hash", keys_["submitter"], small, "image/png").status, 200u);
}

// The server's resident and virtual memory (kB) from /proc.
std::pair<long, long> MemoryKb(pid_t pid) {
  const std::string status = testing::ReadText("/proc/" + std::to_string(pid) + "/status");
  auto field = [&](const char* name) {
    const auto at = status.find(name);
    return at == std::string::npos ? -1L : std::stol(status.substr(at + std::strlen(name)));
  };
  return {field("VmRSS:"), field("VmSize:")};
}

// Sends `header`, then up to `body_bytes` of body as the server accepts them, while reading what it
// answers; returns the answer (a refusal may come before the body is sent, and the server closes).
std::string SendBodyWhileReading(std::uint16_t port, const std::string& header, std::size_t body_bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      send(fd, header.data(), header.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(header.size())) {
    close(fd);
    return reply;
  }
  static const std::string chunk(256 << 10, 'x');
  std::size_t sent = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, static_cast<short>(POLLIN | (sent < body_bytes ? POLLOUT : 0)), 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    if (p.revents & POLLIN) {
      char buffer[4096];
      const auto n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      reply.append(buffer, static_cast<std::size_t>(n));
    } else if (p.revents & POLLOUT) {
      const auto n = send(fd, chunk.data(), std::min(chunk.size(), body_bytes - sent), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
    } else {
      break;
    }
  }
  close(fd);
  return reply;
}

// Opens `count` connections that each send `header` and keep the socket open; returns them.
std::vector<int> OpenHeaderOnly(std::uint16_t port, int count, const std::string& header) {
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      continue;
    }
    (void)!send(fd, header.data(), header.size(), MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  return fds;
}

// The attack pass: 8 keyless connections each sending a 64 MiB body added 512 MB resident, and
// 1,000 header-only connections declaring 64 MiB reserved 64 GB of address space. Now the key is
// checked from the header before a body byte is read, and a body grows only as bytes arrive.
// Bound asserted: resident growth under 48 MB, address-space growth under 1 GB in all.
TEST_P(ServiceSqliteTest, KeylessBodiesAndDeclaredSizesCommitNoMemory) {
  StartServer();
  if (HasFatalFailure()) return;
  const auto [rss_before, vsz_before] = MemoryKb(server_->pid());
  // Keyless 64 MiB uploads, the client sending the body as fast as the server takes it: each is
  // refused from its header.
  std::vector<std::thread> senders;
  std::atomic<int> refused{0};
  for (int i = 0; i < 8; ++i) {
    senders.emplace_back([&, i] {
      const auto reply = SendBodyWhileReading(
          port_, "POST /v1/content?content_id=k" + std::to_string(i) +
                     " HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 67108864\r\n\r\n",
          64u << 20);
      if (reply.rfind("HTTP/1.1 401", 0) == 0) refused.fetch_add(1);
    });
  }
  for (auto& t : senders) t.join();
  EXPECT_EQ(refused.load(), 8);
  // 400 keyless and 400 keyed header-only connections declaring 64 MiB each, held open.
  auto keyless = OpenHeaderOnly(port_, 400, "POST /v1/content?content_id=h HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                            "Content-Length: 67108864\r\n\r\n");
  auto keyed = OpenHeaderOnly(port_, 400, "POST /v1/content?content_id=h HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                          "Authorization: Bearer " + keys_["submitter"] + "\r\nContent-Length: 67108864\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto [rss_after, vsz_after] = MemoryKb(server_->pid());
  EXPECT_LT(rss_after - rss_before, 48 * 1024) << "resident kB before " << rss_before << ", after " << rss_after;
  EXPECT_LT(vsz_after - vsz_before, 1024 * 1024) << "virtual kB before " << vsz_before << ", after " << vsz_after;
  for (int fd : keyless) close(fd);
  for (int fd : keyed) close(fd);
  EXPECT_EQ(Http(port_, "GET", "/healthz").status, 200u);
}

// Ids are path segments: percent-encoded ids with spaces, '/', '<' and non-ASCII round-trip.
TEST_P(ServiceSqliteTest, IdsWithReservedCharactersRoundTrip) {
  StartServer();
  if (HasFatalFailure()) return;
  const std::string png = AsString(testing::EncodePng(testing::MakePattern(64, 48, 3, 9)));
  const std::string id = "a b/c<d>\xc3\xa9%";
  const std::string encoded = "a%20b%2Fc%3Cd%3E%C3%A9%25";
  auto created = HttpMedia(port_, "/v1/content?content_id=" + encoded + "&user_id=" + encoded, keys_["submitter"], png, "image/png");
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(Parse(created).at("content_id").as_string(), id);
  auto fetched = Call("GET", "/v1/content/" + encoded, "reviewer");
  ASSERT_EQ(fetched.status, 200u) << fetched.body;
  EXPECT_EQ(Parse(fetched).at("content_id").as_string(), id);
  auto account = Call("GET", "/v1/accounts/" + encoded, "reviewer");
  EXPECT_EQ(account.status, 200u) << account.body;
  EXPECT_EQ(Call("GET", "/v1/content/bad%2", "reviewer").status, 404u);
  // Ids that decode to bytes which are not UTF-8 (the attack pass: stored, then echoed raw inside
  // JSON answers that strict clients could not read) are refused; so are such path parameters.
  for (const std::string bad : {"%FF%FE", "%ED%A0%80", "%F4%90%80%80", "%C0%AF"}) {
    auto refused = HttpMedia(port_, "/v1/content?content_id=" + bad + "&user_id=u", keys_["submitter"], png, "image/png");
    EXPECT_EQ(refused.status, 400u) << bad << ": " << refused.body;
    EXPECT_NE(refused.body.find("UTF-8"), std::string::npos) << refused.body;
  }
  EXPECT_EQ(Call("GET", "/v1/accounts/%FF%FE", "reviewer").status, 404u);
}

// The Low items of the attack pass, each refused with a clear answer.
TEST_P(ServiceSqliteTest, AmbiguousRequestsAreRefused) {
  StartServer();
  if (HasFatalFailure()) return;
  // Duplicate JSON keys: two readers could disagree on which one counts.
  auto dup = Call("POST", "/v1/banks", "bank-admin", R"({"name":"a","name":"b"})");
  EXPECT_EQ(dup.status, 400u) << dup.body;
  EXPECT_NE(dup.body.find("duplicate key 'name'"), std::string::npos) << dup.body;
  // A NUL in a string (a trial stored one in a decision's reason on SQLite; PostgreSQL's driver
  // would have cut the text there).
  auto nul = Call("POST", "/v1/banks", "bank-admin", R"({"name":"d","description":"a\u0000b"})");
  EXPECT_EQ(nul.status, 400u) << nul.body;
  EXPECT_NE(nul.body.find("NUL"), std::string::npos) << nul.body;
  EXPECT_EQ(Call("POST", "/v1/banks", "bank-admin", R"({"name":"e\u0000"})").status, 400u);
  // A body in another charset.
  auto utf16 = Http(port_, "POST", "/v1/banks", R"({"name":"c"})",
                    {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "application/json; charset=utf-16"}});
  EXPECT_EQ(utf16.status, 415u) << utf16.body;
  // A query parameter given twice.
  EXPECT_EQ(Call("GET", "/v1/cases?status=open&status=decided", "reviewer").status, 400u);
  // A field the route does not know is refused, not ignored (the attack pass: POST /v1/keys took
  // "approved_by" and "status" silently).
  auto unknown = Call("POST", "/v1/keys", "admin", R"({"name":"extra","role":"auditor","approved_by":"adm2"})");
  EXPECT_EQ(unknown.status, 400u) << unknown.body;
  EXPECT_NE(unknown.body.find("unknown field 'approved_by'"), std::string::npos) << unknown.body;
  // The authentication scheme's name is case-insensitive.
  EXPECT_EQ(Http(port_, "GET", "/v1/banks", "", {{"Authorization", "bearer " + keys_["auditor"]}}).status, 200u);
  // A PDQ threshold that would match unrelated images.
  CreateBank("thresholds");
  EXPECT_EQ(Call("PATCH", "/v1/banks/thresholds", "bank-admin", R"({"pdq_max_distance":256})").status, 400u);
  EXPECT_EQ(Call("PATCH", "/v1/banks/thresholds", "bank-admin", R"({"pdq_max_distance":128})").status, 400u);
  // /metrics names banks: it needs a key.
  EXPECT_EQ(Http(port_, "GET", "/metrics").status, 401u);
  EXPECT_EQ(Call("GET", "/metrics", "auditor").status, 200u);
  // API answers tell browsers not to sniff; the console's policy closes base-uri and form-action.
  EXPECT_EQ(Call("GET", "/v1/banks", "auditor").headers["x-content-type-options"], "nosniff");
  const auto csp = Http(port_, "GET", "/ui/").headers["content-security-policy"];
  EXPECT_NE(csp.find("base-uri 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("form-action 'none'"), std::string::npos) << csp;
  // The way to the console.
  auto root = Http(port_, "GET", "/");
  EXPECT_EQ(root.status, 302u);
  EXPECT_EQ(root.headers["location"], "/ui/");
}

// Each unknown key costs a store lookup: one address guessing keys is slowed to 10 a second after
// a burst of 100, refused before the store is asked, while a key in use there keeps working.
TEST_P(ServiceSqliteTest, GuessingKeysFromOneAddressIsSlowedDown) {
  StartServer();
  if (HasFatalFailure()) return;
  ASSERT_EQ(Call("GET", "/v1/banks", "auditor").status, 200u);  // a key in use from the same address
  int unauthorised = 0, limited = 0;
  for (int i = 0; i < 140; ++i) {
    const auto status = HttpJson(port_, "GET", "/v1/banks", "vgl_" + std::string(64, 'a' + static_cast<char>(i % 6))).status;
    unauthorised += status == 401;
    limited += status == 429;
  }
  EXPECT_GE(unauthorised, 100);
  EXPECT_GT(limited, 0);
  auto refused = HttpJson(port_, "GET", "/v1/banks", "vgl_" + std::string(64, 'f'));
  EXPECT_EQ(refused.status, 429u);
  EXPECT_NE(refused.body.find("too many failed authentications"), std::string::npos) << refused.body;
  // The key already in use keeps working: only store lookups for keys not in use are refused.
  EXPECT_EQ(Call("GET", "/v1/banks", "auditor").status, 200u);
}

// Keyless pipelined probes do not flood the access log.
TEST_P(ServiceSqliteTest, KeylessFloodsDoNotFillTheLog) {
  std::vector<std::string> args = store_flags_;
  server_ = std::make_unique<ServerProcess>(dir_.path() / "server", args);  // access log on
  ASSERT_TRUE(server_->Start()) << server_->Log();
  port_ = server_->port();
  // 4,000 pipelined probes: all answered, none logged one by one.
  std::string pipelined;
  for (int i = 0; i < 4000; ++i) pipelined += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  pipelined += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const auto replies = testing::RawExchange(port_, pipelined, std::chrono::seconds(20));
  std::size_t answered = 0;
  for (auto at = replies.find("HTTP/1.1 200"); at != std::string::npos; at = replies.find("HTTP/1.1 200", at + 1)) ++answered;
  EXPECT_EQ(answered, 4001u);
  // Public documents fetched without a key (the attack pass: 3,000 pipelined /openapi.json wrote
  // 3,001 log lines) are counted, not logged.
  std::string documents;
  for (int i = 0; i < 400; ++i) documents += "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n";
  documents += "GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  testing::RawExchange(port_, documents, std::chrono::seconds(20));
  // 600 keyless requests (each refused, and its connection closed): logged at a bounded rate.
  for (int i = 0; i < 600; ++i) EXPECT_EQ(Http(port_, "GET", "/v1/banks").status, 401u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(Http(port_, "GET", "/v1/banks").status, 401u);  // logged, with the count held back
  const auto log = server_->Log();
  std::size_t refusal_lines = 0;
  for (auto at = log.find("\"route\":\"/v1/banks\""); at != std::string::npos; at = log.find("\"route\":\"/v1/banks\"", at + 1)) {
    ++refusal_lines;
  }
  EXPECT_LT(refusal_lines, 300u) << "one line per keyless request";
  std::size_t document_lines = 0;
  for (auto at = log.find("\"route\":\"/openapi.json\""); at != std::string::npos;
       at = log.find("\"route\":\"/openapi.json\"", at + 1)) {
    ++document_lines;
  }
  EXPECT_LT(document_lines, 20u) << "one line per keyless /openapi.json";
  EXPECT_LT(log.size(), 200u * 1024) << "the log grew by " << log.size() << " bytes";
  EXPECT_NE(log.find("unlogged_refusals"), std::string::npos);
}

// Key names the audit log could not show plainly, or that could pass for another's, are refused
// with a message that says which character is wrong.
TEST_P(ServiceSqliteTest, KeyNamesWithNulNewlineSpacesOrNonAsciiAreRefused) {
  StartServer();
  if (HasFatalFailure()) return;
  for (const auto& [name, says] : std::vector<std::pair<std::string, std::string>>{
           {std::string("dana\0admin", 10), "NUL"},  // refused as JSON already (a NUL in any string)
           {"dana\nkey.create", "is a line break"},
           {"dana smith", "is a space"},
           {"d\xd0\xb0na", "not ASCII"}}) {  // a Cyrillic a
    auto reply = Call("POST", "/v1/keys", "admin", json::serialize(json::object{{"name", name}, {"role", "submitter"}}));
    EXPECT_EQ(reply.status, 400u) << reply.body;
    EXPECT_EQ(ErrorCodeOf(reply), "invalid_argument");
    EXPECT_NE(reply.body.find(says), std::string::npos) << reply.body;
  }
}

// The audit log and decisions name people by key name: a revoked key's name names no one else.
TEST_P(ServiceSqliteTest, ARevokedKeyNameCannotBeReused) {
  StartServer();
  if (HasFatalFailure()) return;
  ASSERT_EQ(Call("POST", "/v1/keys", "admin", R"({"name":"pipeline","role":"submitter"})").status, 201u);
  ASSERT_EQ(Call("DELETE", "/v1/keys/pipeline", "admin").status, 204u);
  auto again = Call("POST", "/v1/keys", "admin", R"({"name":"Pipeline","role":"submitter"})");
  EXPECT_EQ(again.status, 409u) << again.body;
  EXPECT_NE(again.body.find("never reused"), std::string::npos) << again.body;
}

// A service rotates its own key without a gap: the new secret is shown once, the previous one works
// during the overlap (and at once stops with overlap 0); keys made with an expiry say when.
TEST_P(ServiceSqliteTest, AKeyRotatesItselfAndBothSecretsWorkDuringTheOverlap) {
  StartServer();
  if (HasFatalFailure()) return;
  auto made = Call("POST", "/v1/keys", "admin", R"({"name":"pipeline","role":"submitter","expires_days":90})");
  ASSERT_EQ(made.status, 201u) << made.body;
  EXPECT_FALSE(Parse(made).at("expires_at").is_null());
  const std::string first(Parse(made).at("key").as_string());
  auto rotated = HttpJson(port_, "POST", "/v1/me/key/rotate", first, R"({"overlap_hours": 1})");
  ASSERT_EQ(rotated.status, 200u) << rotated.body;
  const std::string second(Parse(rotated).at("key").as_string());
  EXPECT_NE(second, first);
  EXPECT_FALSE(Parse(rotated).at("previous_until").is_null());
  EXPECT_EQ(HttpJson(port_, "GET", "/v1/events", first).status, 200u) << "the previous secret, during the overlap";
  EXPECT_EQ(HttpJson(port_, "GET", "/v1/events", second).status, 200u);
  // The previous secret may not rotate the key: it would take it from its new holder.
  EXPECT_EQ(HttpJson(port_, "POST", "/v1/me/key/rotate", first, R"({"overlap_hours": 0})").status, 403u);
  EXPECT_EQ(HttpJson(port_, "GET", "/v1/events", second).status, 200u);
  auto again = HttpJson(port_, "POST", "/v1/me/key/rotate", second, R"({"overlap_hours": 0})");
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(HttpJson(port_, "GET", "/v1/events", second).status, 401u) << "no overlap: it stops at once";
  EXPECT_EQ(HttpJson(port_, "GET", "/v1/events", first).status, 401u);
  EXPECT_EQ(Call("POST", "/v1/keys", "admin", R"({"name":"x","role":"submitter","expires_days":0})").status, 400u);
  EXPECT_EQ(HttpJson(port_, "POST", "/v1/me/key/rotate", std::string(Parse(again).at("key").as_string()),
                     R"({"overlap_hours": 9999})").status, 400u);
}

// An admin alone cannot mint a key that reads evidence: it is a request, with no secret, until a
// second, different admin approves it and receives the secret, once.
TEST_P(ServiceSqliteTest, AnAdminsCustodianKeyIsPendingUntilADifferentAdminApprovesIt) {
  keys_["second-admin"] = CreateKey(store_flags_, "admin", "second-admin");
  ASSERT_FALSE(keys_["second-admin"].empty());
  StartServer();
  if (HasFatalFailure()) return;
  auto requested = Call("POST", "/v1/keys", "admin", R"({"name":"carl","role":"custodian"})");
  ASSERT_EQ(requested.status, 202u) << requested.body;
  const auto request = Parse(requested).as_object();
  EXPECT_EQ(request.at("status").as_string(), "pending");
  EXPECT_EQ(request.at("created_by").as_string(), "admin-key");
  EXPECT_FALSE(request.contains("key")) << requested.body;  // nothing that could authenticate
  bool listed = false;
  const auto key_list = Parse(Call("GET", "/v1/keys", "admin"));
  for (const auto& key : key_list.at("keys").as_array()) {
    if (key.at("name").as_string() != "carl") continue;
    listed = true;
    EXPECT_EQ(key.at("status").as_string(), "pending");
    EXPECT_EQ(key.at("prefix").as_string(), "");
    EXPECT_TRUE(key.as_object().contains("expires_at"));
  }
  EXPECT_TRUE(listed);
  auto approved = Call("POST", "/v1/keys/carl/approve", "second-admin");
  ASSERT_EQ(approved.status, 200u) << approved.body;
  const auto approval = Parse(approved).as_object();
  EXPECT_EQ(approval.at("approved_by").as_string(), "second-admin");
  const std::string secret(approval.at("key").as_string());
  // Now it authenticates as a custodian: past the checks on its routes, refused on others.
  auto evidence = HttpJson(port_, "GET", "/v1/evidence", secret);
  EXPECT_NE(evidence.status, 401u) << evidence.body;
  EXPECT_NE(evidence.status, 403u) << evidence.body;
  EXPECT_EQ(HttpJson(port_, "GET", "/v1/banks", secret).status, 403u);
  EXPECT_EQ(Call("POST", "/v1/keys/carl/approve", "second-admin").status, 409u);  // the secret is given once
}

TEST_P(ServiceSqliteTest, TheAdminWhoRequestedAKeyCannotApproveIt) {
  StartServer();
  if (HasFatalFailure()) return;
  ASSERT_EQ(Call("POST", "/v1/keys", "admin", R"({"name":"lena","role":"legal"})").status, 202u);
  auto self = Call("POST", "/v1/keys/lena/approve", "admin");
  EXPECT_EQ(self.status, 403u) << self.body;
  EXPECT_EQ(ErrorCodeOf(self), "permission_denied");
  EXPECT_NE(self.body.find("second, different admin"), std::string::npos) << self.body;
  EXPECT_EQ(self.body.find("vgl_"), std::string::npos) << self.body;
}

// On the host, with direct access to the database, the CLI mints a custodian key at once: host
// access is the second factor, and the audit log names the CLI and the OS user.
TEST_P(ServiceSqliteTest, TheCliMintsACustodianKeyDirectlyAndTheAuditLogSaysSo) {
  std::vector<std::string> args{"keys", "create", "--role", "custodian", "--name", "carl"};
  args.insert(args.end(), store_flags_.begin(), store_flags_.end());
  auto run = testing::RunVigil(args);
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.err.find("without a second admin"), std::string::npos) << run.err;
  std::string secret = run.out;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  StartServer();
  if (HasFatalFailure()) return;
  auto evidence = HttpJson(port_, "GET", "/v1/evidence", secret);
  EXPECT_NE(evidence.status, 401u) << evidence.body;
  EXPECT_NE(evidence.status, 403u) << evidence.body;
  bool audited = false;
  const auto audit_list = Parse(Call("GET", "/v1/audit?limit=1000", "auditor"));
  for (const auto& record : audit_list.at("audit").as_array()) {
    if (record.at("action").as_string() != "key.create" || record.at("target").as_string() != "carl") continue;
    audited = true;
    EXPECT_EQ(record.at("actor").as_string(), "cli");
    const std::string detail(record.at("detail").as_string());
    EXPECT_NE(detail.find("role=custodian"), std::string::npos) << detail;
    EXPECT_NE(detail.find("os_user="), std::string::npos) << detail;
  }
  EXPECT_TRUE(audited);
}

// The start-up log says what is on: the rules file and its rules, the categories, the vault, the
// background filer and purge, the decoder sandbox.
TEST_P(ServiceSqliteTest, StartUpLogSaysWhatIsOn) {
  const auto rules = dir_.path() / "rules.toml";
  std::ofstream(rules) << "[[category]]\nid = \"spam\"\ntitle = \"Spam\"\nground = \"Spam.\"\n"
                          "[[rule]]\nname = \"hold\"\nactions = [\"hold\"]\n"
                          "[[rule]]\nname = \"block-exact\"\nsignal_types = [\"sha256\"]\nactions = [\"block\"]\n";
  StartServer("[sandbox]\nmode = \"off\"\n", {"--rules", rules.string()});
  if (HasFatalFailure()) return;
  const auto log = server_->Log();
  const auto line_start = log.find(R"("msg":"components")");
  ASSERT_NE(line_start, std::string::npos) << log;
  const auto line = log.substr(line_start, log.find('\n', line_start) - line_start);
  EXPECT_NE(line.find(R"("rules_file":")" + rules.string() + "\""), std::string::npos) << line;
  EXPECT_NE(line.find(R"("rules":2,"categories":["spam"])"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("background_filer":false)"), std::string::npos) << line;  // no CyberTipline username
  EXPECT_NE(line.find(R"("decoder_sandbox":false)"), std::string::npos) << line;
  if (std::getenv("VIGIL_VAULT_KEY") == nullptr) {
    EXPECT_NE(line.find(R"("vault":false)"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("evidence_purge":false)"), std::string::npos) << line;
  }
}

// Every key of the reference loads with its documented default (docs/operations.md is generated
// from the same table, and the loader refuses any key not in it).
TEST(ServiceConfig, EveryDocumentedKeyLoadsWithItsDefault) {
  testing::TempDir dir;
  const auto path = dir.path() / "all.toml";
  std::string text;
  // Appended piece by piece (gcc 12's false -Wrestrict on chained std::string +).
  auto line = [&text](std::string_view key, const std::string& value) {
    text.append(key);
    text.append(" = ");
    text.append(value);
    text.push_back('\n');
  };
  for (const auto& k : server::ConfigReference()) {
    if (k.table.empty()) line(k.key, k.default_value);
  }
  for (const auto table : server::ConfigTables()) {
    text.push_back('[');
    text.append(table);
    text.append("]\n");
    for (const auto& k : server::ConfigReference()) {
      if (k.table == table) line(k.key, k.default_value);
    }
  }
  std::ofstream(path) << text;
  server::ServerConfig config;
  auto loaded = server::LoadServerConfig(path.string(), config);
  ASSERT_TRUE(loaded) << loaded.error().ToString() << "\n" << text;
  const server::ServerConfig defaults;
  EXPECT_EQ(config.http.max_body_bytes, defaults.http.max_body_bytes);
  EXPECT_EQ(config.workflow.review_sla_seconds[0], defaults.workflow.review_sla_seconds[0]);
  EXPECT_EQ(config.sandbox.large_pixels, defaults.sandbox.large_pixels);
  EXPECT_EQ(config.api.video.seconds_per_hash, defaults.api.video.seconds_per_hash);
}

// `vigil scan --config`: the offline backfill scores files with the service's classifiers and
// applies the same rules on scores; a rules file naming a classifier the config does not run stops
// it before a file is read.
TEST(ServiceConfig, AScanWithTheServiceConfigScoresFilesAsUploadsWouldBe) {
  testing::ClassifierStandIn model("unused");
  ASSERT_TRUE(model.Start());
  testing::TempDir dir;
  const auto storage = dir.path() / "storage" / "user-5";
  std::filesystem::create_directories(storage);
  const auto photos = Photos();
  std::filesystem::copy_file(photos[0], storage / "a.jpg");
  model.SetScore("backfill/" + (storage / "a.jpg").lexically_normal().string(), 0.95);  // --id-prefix + the path
  std::ofstream(dir.path() / "classifiers.toml")
      << "[[classifier]]\nname = \"own\"\nkind = \"http-json\"\nurl = \"" << model.origin() << "/classify\"\n"
      << "request = '{\"image\": \"{{image_base64}}\", \"id\": \"{{content_id}}\"}'\n";
  std::ofstream(dir.path() / "rules.toml") << "[[rule]]\nname = \"likely\"\nclassifiers = [\"own\"]\nmin_score = 0.9\n"
                                              "actions = [\"hold\"]\n";
  std::ofstream(dir.path() / "vigil.toml") << "data_dir = \"" << (dir.path() / "data").string() << "\"\nrules_file = \""
                                           << (dir.path() / "rules.toml").string() << "\"\n[classifiers]\nfile = \""
                                           << (dir.path() / "classifiers.toml").string() << "\"\n";
  auto run = testing::RunVigil({"scan", storage.string(), "--user-from-parent", "--id-prefix", "backfill/", "--config",
                                (dir.path() / "vigil.toml").string()});
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  const auto line = boost::json::parse(run.out.substr(0, run.out.find('\n'))).as_object();
  ASSERT_TRUE(line.contains("classifications")) << run.out;
  EXPECT_TRUE(line.at("classifications").at(0).at("error").is_null()) << run.out;
  EXPECT_TRUE(line.contains("case_id")) << "held on its score: " << run.out;
  EXPECT_EQ(model.Requests("json"), 1);
  std::ofstream(dir.path() / "rules.toml") << "[[rule]]\nname = \"typo\"\nclassifiers = [\"owm\"]\nmin_score = 0.9\n"
                                              "actions = [\"hold\"]\n";
  run = testing::RunVigil({"scan", storage.string(), "--user-from-parent", "--config", (dir.path() / "vigil.toml").string()});
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.err.find("no classifier 'owm' is configured (own)"), std::string::npos) << run.err;
}

TEST(ServiceConfig, BadConfigFilesAreRefused) {
  testing::TempDir dir;
  const auto config = dir.path() / "bad.toml";
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"listen = \"127.0.0.1:0\"\nmax_body_byte = 5\n", "unknown key 'max_body_byte'"},
           {"threads = \"four\"\n", "'threads' must be an integer"},
           {"listen = 8750\n", "'listen' must be a string"},
           {"[limits]\nmax_pixel = 1\n", "unknown key 'limits.max_pixel'"},
           {"limits = 5\n", "'limits' must be a table"},
           {"[workflow]\nsla_seconds_p4 = 60\n", "unknown key 'workflow.sla_seconds_p4'"},
           {"[sandbox]\nmode = \"maybe\"\n", "sandbox.mode must be"},
           {"threads = \n", "bad.toml:1"},
           // Out of range, named with the file's line and the key's table (a trial saw neither).
           {"listen = \"127.0.0.1:0\"\n[sweep]\npdq_max_distance = 300\n", "bad.toml:3: 'sweep.pdq_max_distance' must be"},
           {"[workflow]\nown_bank = \"Platform Bank\"\n", "bad.toml:2: 'workflow.own_bank' must be"},
           // A classifiers file that cannot load stops the start (scores silently missing would not be seen).
           {"[classifiers]\nfile = \"/nonexistent/classifiers.toml\"\n", "cannot read the classifiers file: cannot open"},
           {"[classifiers]\nfile = \"/dev/zero\"\n", "cannot read the classifiers file: not a regular file"}}) {
    std::ofstream(config) << text;
    auto run = testing::RunVigil({"serve", "--data-dir", (dir.path() / "d").string(), "--config", config.string()});
    EXPECT_EQ(run.status, 1) << text;
    EXPECT_NE(run.err.find(says), std::string::npos) << text << " -> " << run.err;
  }
}


// An exchange, as a bank admin runs one through the API against an NCMEC stand-in: credentials by
// location only, hosts limited to the allowed ones, a scheduled sync with no one asking, a sync by
// hand, status and metrics, then switched off and removed.
TEST_P(ServiceTest, AnExchangeSyncsOnItsOwnAndIsManagedThroughTheApi) {
  testing::NcmecStandIn ncmec("esp-user", "s3cret-pass", 3);
  ASSERT_TRUE(ncmec.Start());
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  for (int i = 0; i < 5; ++i) {
    testing::NcmecStandIn::Record r;
    r.id = "entry-" + std::to_string(i);
    r.timestamp = now - 3'600'000'000 + i;
    char md5[33];
    std::snprintf(md5, sizeof md5, "%032x", 0xabc000 + i);
    r.md5 = md5;
    ncmec.Put(r);
  }
  ::setenv("VIGIL_EXCHANGE_NCMEC_TEST", "esp-user:s3cret-pass", 1);
  StartServer("[exchanges]\npoll_seconds = 1\nallowed_hosts = \"127.0.0.1\"\n");
  if (HasFatalFailure()) return;
  CreateBank("ncmec-list");
  const std::string base = R"("kind": "ncmec", "bank": "ncmec-list", "settings": {"base_url": ")" + ncmec.base_url() +
                           R"(", "start": "2020-01-01T00:00:00Z"})";
  EXPECT_EQ(Call("POST", "/v1/exchanges", "auditor", R"({"name": "ncmec", )" + base + "}").status, 403u);
  auto literal = Call("POST", "/v1/exchanges", "bank-admin", R"({"name": "ncmec", "credentials": "esp-user:s3cret-pass", )" + base + "}");
  EXPECT_EQ(literal.status, 400u) << literal.body;
  EXPECT_EQ(literal.body.find("s3cret"), std::string::npos) << literal.body;
  auto elsewhere = Call("POST", "/v1/exchanges", "bank-admin",
                        R"({"name": "ncmec", "kind": "ncmec", "bank": "ncmec-list", "credentials": "env:VIGIL_EXCHANGE_NCMEC_TEST", )"
                        R"("settings": {"base_url": "https://collector.example/hashsharing"}})");
  EXPECT_EQ(elsewhere.status, 403u) << elsewhere.body;
  EXPECT_NE(elsewhere.body.find("allowed_hosts"), std::string::npos) << elsewhere.body;
  // Another secret of the process cannot be named as an exchange's credentials.
  for (const char* where : {"env:VIGIL_DATABASE_URL", "env:HOME", "file:/etc/passwd", "file:/proc/self/environ"}) {
    auto other = Call("POST", "/v1/exchanges", "bank-admin",
                      std::string(R"({"name": "ncmec", "credentials": ")") + where + R"(", )" + base + "}");
    EXPECT_EQ(other.status, 403u) << where << ": " << other.body;
  }
  auto created = Call("POST", "/v1/exchanges", "bank-admin",
                      R"({"name": "ncmec", "credentials": "env:VIGIL_EXCHANGE_NCMEC_TEST", "interval_seconds": 3600, )" + base + "}");
  ASSERT_EQ(created.status, 201u) << created.body;
  // The service syncs it on its own.
  boost::json::object status;
  for (int i = 0; i < 100; ++i) {
    auto got = Call("GET", "/v1/exchanges/ncmec", "auditor");
    ASSERT_EQ(got.status, 200u) << got.body;
    status = Parse(got).at("status").as_object();
    if (status.at("ok").is_bool()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(status.at("ok").is_bool() && status.at("ok").as_bool()) << boost::json::serialize(status) << server_->Log();
  EXPECT_EQ(status.at("last_fetched").as_int64(), 5);
  EXPECT_EQ(status.at("last_added").as_int64(), 5);
  EXPECT_EQ(ncmec.Requests("entries"), 2);  // two pages of three
  auto bank = Call("GET", "/v1/banks/ncmec-list", "auditor");
  EXPECT_EQ(Parse(bank).at("live_entries").as_int64(), 5) << bank.body;
  // Not due again for an hour: a sync by hand fetches what came since.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(ncmec.Requests("entries"), 2);
  auto synced = Call("POST", "/v1/exchanges/ncmec/sync", "bank-admin");
  ASSERT_EQ(synced.status, 200u) << synced.body;
  EXPECT_TRUE(Parse(synced).at("resumed").as_bool());
  // Two syncs asked for at once in one service: one runs, the other is told who holds it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ncmec.FailAt("entries", 0, testing::StandInFault::Delay(1500));
  testing::HttpReply first, second;
  std::thread a([&] { first = Call("POST", "/v1/exchanges/ncmec/sync", "bank-admin"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  second = Call("POST", "/v1/exchanges/ncmec/sync", "bank-admin");
  a.join();
  EXPECT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(second.status, 409u) << second.body;
  EXPECT_NE(second.body.find("being synced by serve@"), std::string::npos) << second.body;
  // A misspelt setting is refused when it is made; a setup that cannot start says so in the status.
  auto typo = Call("PATCH", "/v1/exchanges/ncmec", "bank-admin", R"({"settings": {"base_ulr": "x"}})");
  EXPECT_EQ(typo.status, 400u) << typo.body;
  EXPECT_NE(typo.body.find("base_ulr"), std::string::npos) << typo.body;
  ASSERT_EQ(Call("PATCH", "/v1/exchanges/ncmec", "bank-admin", R"({"credentials": "env:VIGIL_EXCHANGE_NOT_SET"})").status, 200u);
  auto cannot = Call("POST", "/v1/exchanges/ncmec/sync", "bank-admin");
  EXPECT_EQ(cannot.status, 400u) << cannot.body;
  auto failed = Parse(Call("GET", "/v1/exchanges/ncmec", "auditor")).at("status").as_object();
  EXPECT_FALSE(failed.at("ok").as_bool());
  EXPECT_NE(std::string(failed.at("last_error").as_string()).find("cannot start"), std::string::npos);
  ASSERT_EQ(Call("PATCH", "/v1/exchanges/ncmec", "bank-admin", R"({"credentials": "env:VIGIL_EXCHANGE_NCMEC_TEST"})").status, 200u);
  // The bank cannot be deleted from under its exchange.
  EXPECT_EQ(Call("DELETE", "/v1/banks/ncmec-list", "bank-admin").status, 400u);
  auto metrics = Http(port_, "GET", "/metrics", "", {{"Authorization", "Bearer " + keys_["auditor"]}});
  EXPECT_NE(metrics.body.find(R"(vigil_exchange_runs_total{exchange="ncmec",outcome="ok"} 3)"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find(R"(vigil_exchange_runs_total{exchange="ncmec",outcome="failed"} 1)"), std::string::npos);
  EXPECT_NE(metrics.body.find(R"(vigil_exchange_lag_seconds{exchange="ncmec"})"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/exchanges/ncmec/feedback", "auditor").status, 200u);
  EXPECT_EQ(Call("PATCH", "/v1/exchanges/ncmec", "bank-admin", R"({"credentials": "file:/etc/shadow"})").status, 403u);
  auto off = Call("PATCH", "/v1/exchanges/ncmec", "bank-admin", R"({"enabled": false})");
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_FALSE(Parse(off).at("enabled").as_bool());
  EXPECT_EQ(Call("PATCH", "/v1/exchanges/ncmec", "bank-admin", R"({"colour": "red"})").status, 400u);
  EXPECT_EQ(Call("DELETE", "/v1/exchanges/ncmec", "bank-admin").status, 204u);
  EXPECT_EQ(Call("GET", "/v1/exchanges/ncmec", "auditor").status, 404u);
  EXPECT_EQ(server_->Log().find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace vigil
