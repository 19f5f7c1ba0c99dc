// The HMA-compatible surface against the real `vigil serve`: a contract test written from HMA 2.x's
// documented API and blueprints and from the calls ROOST Coop's HMA client makes (create a bank,
// add a signal, look up by signal and by URL from a loopback file server on the allow-list, hash a
// multipart upload, update and delete a bank, create an exchange and read its status), with status
// codes and bodies byte for byte as HMA answers; the URL fetch's refusals (a host not allowed, a
// redirect elsewhere, an internal address, an oversize or slow download: nothing fetched beyond
// the limits); and the caller's key, roles, audit and "record" mode.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "exchange_standins.h"
#include "service_harness.h"
#include "test_images.h"
#include "test_postgres.h"

namespace vigil {
namespace {

using testing::CreateKey;
using testing::Http;
using testing::HttpReply;
using testing::ServerProcess;

// The reference image and its PDQ from Meta's C++ reference (tests/data/vectors/pdq/expected.csv).
constexpr const char* kImage = "vectors/pdq/bridge-mods/aaa-orig.jpg";
constexpr const char* kImagePdq = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
// The same hash with two bits flipped (distance 2) and a far one.
constexpr const char* kNearPdq = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b21";
constexpr const char* kOtherPdq = "0000000000000000000000000000000000000000000000000000000000000000";

std::string ImageBytes() {
  const auto bytes = testing::ReadFile(testing::TestDataDir() / kImage);
  return std::string(bytes.begin(), bytes.end());
}

// A multipart/form-data body as curl --form FIELD=@file sends it.
std::string Multipart(const std::string& field, const std::string& bytes, const std::string& boundary = "vigil-boundary-7") {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"upload.jpg\"\r\n" +
         "Content-Type: image/jpeg\r\n\r\n" + bytes + "\r\n--" + boundary + "--\r\n";
}

// A file server on loopback: paths answer with bytes, a redirect, or (via FailAt) a delay.
class MediaServer final : public testing::StandInServer {
 public:
  ~MediaServer() override { Stop(); }  // before this class's part goes: a request may be in flight
  void Serve(const std::string& path, std::string body, std::string content_type) {
    std::lock_guard lock(mutex_);
    files_[path] = {200, std::move(body), std::move(content_type), ""};
  }
  void Redirect(const std::string& path, std::string location) {
    std::lock_guard lock(mutex_);
    files_[path] = {302, "", "text/plain", std::move(location)};
  }

 protected:
  std::string Endpoint(const Call& call) const override { return call.path; }
  Reply Answer(Call& call) override {
    const auto it = files_.find(call.path);
    if (it == files_.end()) return Reply{404, "not found", "text/plain", -1, ""};
    Reply reply;
    reply.status = it->second.status;
    reply.body = it->second.body;
    reply.content_type = it->second.content_type;
    reply.location = it->second.location;
    return reply;
  }

 private:
  struct File {
    unsigned status;
    std::string body, content_type, location;
  };
  std::map<std::string, File> files_;
};

enum class Backend { kSqlite, kPostgres };

class HmaTest : public ::testing::Test {
 protected:
  void UseBackend(Backend backend) {
    if (backend == Backend::kPostgres) {
      postgres_.Create();
      if (IsSkipped() || HasFatalFailure()) return;
      store_flags_ = {"--database-url", postgres_.url()};
    } else {
      store_flags_ = {"--data-dir", (dir_.path() / "data").string()};
    }
  }

  void SetUp() override {
    ASSERT_TRUE(media_.Start());
    media_.Serve("/img.jpg", ImageBytes(), "image/jpeg");
  }

  // Keys: the [hma] key (a submitter), its curator (a bank admin), and an auditor for checks.
  void MakeKeys() {
    if (store_flags_.empty()) UseBackend(Backend::kSqlite);
    keys_["coop"] = CreateKey(store_flags_, "submitter", "coop");
    keys_["coop-curator"] = CreateKey(store_flags_, "bank-admin", "coop-curator");
    keys_["auditor"] = CreateKey(store_flags_, "auditor", "auditor-key");
    for (const auto& [name, key] : keys_) ASSERT_FALSE(key.empty()) << name;
  }

  // Starts `vigil serve` with an [hma] section: the defaults here, with `overrides` (key -> TOML value).
  void Start(const std::map<std::string, std::string>& overrides = {}) {
    if (keys_.empty()) MakeKeys();
    std::map<std::string, std::string> hma{{"enabled", "true"},
                                           {"listen", "\"127.0.0.1:0\""},
                                           {"key", "\"coop\""},
                                           {"curator_key", "\"coop-curator\""},
                                           {"allowed_hosts", "\"127.0.0.1\""},
                                           {"allow_private_addresses", "true"},
                                           {"fetch_max_mb", "1"},
                                           {"fetch_timeout_seconds", "2"}};
    for (const auto& [key, value] : overrides) hma[key] = value;
    const auto config = dir_.path() / "vigil.toml";
    std::ofstream file(config);
    file << "[hma]\n";
    for (const auto& [key, value] : hma) file << key << " = " << value << "\n";
    file.close();
    const auto port_file = dir_.path() / "hma.port";
    std::vector<std::string> args = store_flags_;
    args.insert(args.end(), {"--config", config.string(), "--hma-port-file", port_file.string()});
    server_ = std::make_unique<ServerProcess>(dir_.path() / "server", args);
    ASSERT_TRUE(server_->Start()) << server_->Log();
    hma_port_ = static_cast<std::uint16_t>(std::stoi(testing::ReadText(port_file)));
  }

  // A call to the HMA listener as an HMA client makes it: no credentials.
  HttpReply Hma(const std::string& method, const std::string& target, const std::string& json = {}) {
    std::map<std::string, std::string> headers;
    if (!json.empty()) headers["Content-Type"] = "application/json";
    return Http(hma_port_, method, target, json, headers);
  }
  HttpReply HmaForm(const std::string& target, const std::string& field, const std::string& bytes) {
    return Http(hma_port_, "POST", target, Multipart(field, bytes),
                {{"Content-Type", "multipart/form-data; boundary=vigil-boundary-7"}});
  }
  std::string MediaUrl(const std::string& path) { return media_.origin() + path; }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::vector<std::string> store_flags_;
  std::map<std::string, std::string> keys_;
  std::unique_ptr<ServerProcess> server_;
  std::uint16_t hma_port_ = 0;
  MediaServer media_;
};

// ---- the contract: Coop's calls and HMA's documented answers ----

void ContractFlow(HmaTest& t, std::function<HttpReply(const std::string&, const std::string&, const std::string&)> hma) {
  // Coop creates a bank, sending enabled_ratio as a string.
  auto created = hma("POST", "/c/banks", R"({"name": "COOP_ORG_BANK", "enabled_ratio": "1"})");
  EXPECT_EQ(created.status, 201u);
  EXPECT_EQ(created.body, "{\"matching_enabled_ratio\":1.0,\"name\":\"COOP_ORG_BANK\"}\n");
  EXPECT_EQ(created.headers["content-type"], "application/json");
  auto exists = hma("GET", "/c/bank/COOP_ORG_BANK", "");
  EXPECT_EQ(exists.status, 200u);
  EXPECT_EQ(exists.body, "{\"matching_enabled_ratio\":1.0,\"name\":\"COOP_ORG_BANK\"}\n");
  // Adds a signal, then looks it up: the bank's name to [{bank_content_id, distance as a string}].
  auto added = hma("POST", "/c/bank/COOP_ORG_BANK/signal", std::string(R"({"pdq": ")") + kImagePdq + "\"}");
  ASSERT_EQ(added.status, 200u) << added.body;
  const auto id = boost::json::parse(added.body).at("id").as_int64();
  EXPECT_EQ(added.body, "{\"id\":" + std::to_string(id) + ",\"signals\":{\"pdq\":\"" + kImagePdq + "\"}}\n");
  auto exact = hma("GET", std::string("/m/lookup?signal_type=pdq&signal=") + kImagePdq, "");
  EXPECT_EQ(exact.status, 200u);
  EXPECT_EQ(exact.body, "{\"COOP_ORG_BANK\":[{\"bank_content_id\":" + std::to_string(id) + ",\"distance\":\"0\"}]}\n");
  auto near = hma("GET", std::string("/m/lookup?signal_type=pdq&signal=") + kNearPdq, "");
  EXPECT_EQ(near.body, "{\"COOP_ORG_BANK\":[{\"bank_content_id\":" + std::to_string(id) + ",\"distance\":\"2\"}]}\n");
  auto none = hma("GET", std::string("/m/lookup?signal_type=pdq&signal=") + kOtherPdq, "");
  EXPECT_EQ(none.status, 200u);
  EXPECT_EQ(none.body, "{}\n");
  // Updates and deletes it.
  auto updated = hma("PUT", "/c/bank/COOP_ORG_BANK", R"({"enabled_ratio": 0.5})");
  EXPECT_EQ(updated.status, 200u);
  EXPECT_EQ(updated.body, "{\"matching_enabled_ratio\":0.5,\"name\":\"COOP_ORG_BANK\"}\n");
  auto deleted = hma("DELETE", "/c/bank/COOP_ORG_BANK", "");
  EXPECT_EQ(deleted.status, 200u);
  EXPECT_EQ(deleted.body, "{\"message\":\"Done\"}\n");
  EXPECT_EQ(hma("GET", "/c/bank/COOP_ORG_BANK", "").status, 404u);
  (void)t;
}

TEST_F(HmaTest, CoopsBankSignalAndLookupCallsGetHmasAnswersOnSqlite) {
  Start();
  ContractFlow(*this, [this](const std::string& m, const std::string& t, const std::string& j) { return Hma(m, t, j); });
}

TEST_F(HmaTest, CoopsBankSignalAndLookupCallsGetHmasAnswersOnPostgres) {
  UseBackend(Backend::kPostgres);
  if (IsSkipped() || HasFatalFailure()) return;
  Start();
  ContractFlow(*this, [this](const std::string& m, const std::string& t, const std::string& j) { return Hma(m, t, j); });
}

TEST_F(HmaTest, PathsWithADoubledSlashAsCoopsDefaultBaseUrlSendsThemAreServed) {
  Start();
  auto created = Hma("POST", "//c/banks", R"({"name": "SLASHED"})");
  EXPECT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(Hma("GET", "//c/bank/SLASHED").status, 200u);
}

TEST_F(HmaTest, StatusIsPlainTextIAmAliveOnceTheIndexIsLoaded) {
  Start();
  auto status = Hma("GET", "/status");
  EXPECT_EQ(status.status, 200u);
  EXPECT_EQ(status.body, "I-AM-ALIVE");
  EXPECT_EQ(status.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(Hma("GET", "/status/live").body, "I-AM-ALIVE");
  EXPECT_EQ(Hma("GET", "/readyz").body, "READY");
  EXPECT_EQ(Hma("GET", "/livez").body, "OK");
}

TEST_F(HmaTest, SiteMapListsEveryRuleSortedWithFlasksConverters) {
  Start();
  auto map = Hma("GET", "/site-map");
  ASSERT_EQ(map.status, 200u);
  const auto rules = boost::json::parse(map.body).as_array();
  std::vector<std::string> listed;
  for (const auto& r : rules) listed.emplace_back(r.as_string());
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  const std::set<std::string> have(listed.begin(), listed.end());
  for (const char* rule : {"/", "/c/bank/<bank_name>/content/<int:content_id>", "/c/exchange/<string:exchange_name>/status",
                           "/c/exchanges/api/<string:api_name>/schema", "/c/signal_type/index", "/h/hash", "/m/compare",
                           "/m/index/status", "/m/lookup", "/m/raw_lookup", "/site-map", "/status"}) {
    EXPECT_TRUE(have.contains(rule)) << rule;
  }
}

TEST_F(HmaTest, ADuplicateBankIs403BankAlreadyExistsAndABadNameIsHmasMessage) {
  Start();
  EXPECT_EQ(Hma("POST", "/c/banks", R"({"name": "DUP"})").status, 201u);
  auto again = Hma("POST", "/c/banks", R"({"name": "DUP"})");
  EXPECT_EQ(again.status, 403u);
  EXPECT_EQ(again.body, "{\"message\":\"Bank already exists\"}\n");
  for (const char* name : {"my_bank", "01_BANK", "BANK-1"}) {
    auto bad = Hma("POST", "/c/banks", std::string(R"({"name": ")") + name + "\"}");
    EXPECT_EQ(bad.status, 400u) << name;
    EXPECT_EQ(bad.body, "{\"message\":\"Bank names must be UPPER_WITH_UNDERSCORE\"}\n") << name;
  }
  EXPECT_EQ(Hma("PUT", "/c/bank/NOPE", R"({"enabled": true})").body, "{\"message\":\"Bank not found\"}\n");
  EXPECT_EQ(Hma("GET", "/c/bank/NOPE").body, "{\"message\":\"bank 'NOPE' not found\"}\n");
  EXPECT_EQ(Hma("DELETE", "/c/bank/NOPE").body, "{\"message\":\"Done\"}\n");
}

TEST_F(HmaTest, UnknownSignalTypesAndBadHashesAnswerHmasMessages) {
  Start();
  auto unknown = Hma("GET", "/m/lookup?signal_type=tmk&signal=abc");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.body, "{\"message\":\"No such SignalType 'tmk'\"}\n");
  EXPECT_EQ(Hma("GET", "/m/lookup?signal_type=pdq&signal=ABC").body, "{\"message\":\"invalid signal: invalid PDQ hash\"}\n");
  EXPECT_EQ(Hma("GET", "/m/lookup?signal_type=video_md5&signal=xyz").body,
            "{\"message\":\"invalid signal: 'xyz' is not a valid MD5 hash\"}\n");
  EXPECT_EQ(Hma("GET", "/m/lookup").body, "{\"message\":\"Either url or both signal and signal_type are required\"}\n");
  EXPECT_EQ(Hma("GET", "/m/index/status?signal_type=tmk").body, "{\"message\":\"No such signal type 'tmk'\"}\n");
  EXPECT_EQ(Hma("POST", "/c/banks", R"({"name": "B"})").status, 201u);
  EXPECT_EQ(Hma("POST", "/c/bank/B/signal", R"({"tmk": "00"})").body, "{\"message\":\"No such signal type tmk\"}\n");
  EXPECT_EQ(Hma("POST", "/c/bank/B/signal", "{}").body, "{\"message\":\"No signals given\"}\n");
}

TEST_F(HmaTest, RawLookupAndCompareAnswerHmasShapes) {
  Start();
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "RAW"})").status, 201u);
  auto added = Hma("POST", "/c/bank/RAW/signal", std::string(R"({"pdq": ")") + kImagePdq + "\"}");
  const auto id = std::to_string(boost::json::parse(added.body).at("id").as_int64());
  EXPECT_EQ(Hma("GET", std::string("/m/raw_lookup?signal_type=pdq&signal=") + kImagePdq).body, "{\"matches\":[" + id + "]}\n");
  EXPECT_EQ(Hma("GET", std::string("/m/raw_lookup?signal_type=pdq&include_distance=true&signal=") + kNearPdq).body,
            "{\"matches\":[{\"bank_content_id\":" + id + ",\"distance\":\"2\"}]}\n");
  EXPECT_EQ(Hma("GET", std::string("/m/raw_lookup?signal_type=pdq&banks=OTHER&signal=") + kImagePdq).body, "{\"matches\":[]}\n");
  auto compared = Hma("POST", "/m/compare", std::string(R"({"pdq": [")") + kImagePdq + "\", \"" + kNearPdq + "\"]}");
  EXPECT_EQ(compared.body, "{\"pdq\":[true,{\"distance\":2}]}\n");
  EXPECT_EQ(Hma("POST", "/m/compare", R"({"pdq": []})").body,
            "{\"message\":\"Comparison hash list length must be exactly 2\"}\n");
  EXPECT_EQ(Hma("POST", "/m/compare", "[\"banana\"]").body, "{\"message\":\"Request input was not a dict\"}\n");
  auto status = boost::json::parse(Hma("GET", "/m/index/status").body).as_object();
  EXPECT_EQ(status.at("pdq").at("size").as_int64(), 1);
  EXPECT_TRUE(status.at("pdq").at("present").as_bool());
  EXPECT_GT(status.at("pdq").at("built_to").as_int64(), 0);
}

TEST_F(HmaTest, AMultipartPhotoIsHashedToTheReferencePdqAndLookedUp) {
  Start();
  auto hashed = HmaForm("/h/hash", "photo", ImageBytes());
  ASSERT_EQ(hashed.status, 200u) << hashed.body;
  EXPECT_EQ(hashed.body, std::string("{\"pdq\":\"") + kImagePdq + "\"}\n");
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "FORM"})").status, 201u);
  auto banked = HmaForm("/c/bank/FORM/content", "photo", ImageBytes());
  ASSERT_EQ(banked.status, 200u) << banked.body;
  const auto id = std::to_string(boost::json::parse(banked.body).at("id").as_int64());
  auto looked = HmaForm("/m/lookup", "photo", ImageBytes());
  EXPECT_EQ(looked.body, "{\"pdq\":{\"FORM\":[{\"bank_content_id\":" + id + ",\"distance\":\"0\"}]}}\n");
  // The field names the content type; anything else is HMA's error.
  EXPECT_EQ(HmaForm("/h/hash", "file", ImageBytes()).body, "{\"message\":\"no such content_type: 'file'\"}\n");
  EXPECT_EQ(Http(hma_port_, "POST", "/h/hash", "x", {{"Content-Type", "text/plain"}}).body,
            "{\"message\":\"Missing multipart/form-data file upload\"}\n");
}

TEST_F(HmaTest, AUrlOnTheAllowListIsFetchedHashedAndLookedUp) {
  Start();
  auto hashed = Hma("GET", "/h/hash?url=" + MediaUrl("/img.jpg"));
  ASSERT_EQ(hashed.status, 200u) << hashed.body;
  EXPECT_EQ(hashed.body, std::string("{\"pdq\":\"") + kImagePdq + "\"}\n");
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "BY_URL"})").status, 201u);
  auto banked = Hma("POST", "/c/bank/BY_URL/content?url=" + MediaUrl("/img.jpg"));
  ASSERT_EQ(banked.status, 200u) << banked.body;
  const auto id = std::to_string(boost::json::parse(banked.body).at("id").as_int64());
  EXPECT_EQ(Hma("GET", "/m/lookup?url=" + MediaUrl("/img.jpg")).body,
            "{\"pdq\":{\"BY_URL\":[{\"bank_content_id\":" + id + ",\"distance\":\"0\"}]}}\n");
  EXPECT_EQ(Hma("GET", "/m/lookup?signal_type=pdq&url=" + MediaUrl("/img.jpg")).body,
            "{\"BY_URL\":[{\"bank_content_id\":" + id + ",\"distance\":\"0\"}]}\n");
  // A redirect on the same host is followed.
  media_.Redirect("/moved.jpg", "/img.jpg");
  EXPECT_EQ(Hma("GET", "/h/hash?url=" + MediaUrl("/moved.jpg")).status, 200u);
}

// ---- the fetch's refusals ----

TEST_F(HmaTest, AUrlOnAHostNotAllowedIsRefusedAndNothingIsFetched) {
  Start();
  const std::string url = "http://localhost:" + media_.origin().substr(media_.origin().rfind(':') + 1) + "/img.jpg";
  auto refused = Hma("GET", "/h/hash?url=" + url);
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("Invalid or unsafe URL provided"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("localhost"), std::string::npos) << refused.body;
  EXPECT_EQ(media_.Requests("/img.jpg"), 0);
}

TEST_F(HmaTest, ARedirectToAnotherHostIsRefusedWithoutFollowingIt) {
  Start();
  media_.Redirect("/bounce.jpg", "https://10.0.0.7/metadata");
  auto refused = Hma("GET", "/m/lookup?url=" + MediaUrl("/bounce.jpg"));
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("redirected to another host (https://10.0.0.7:443)"), std::string::npos) << refused.body;
  EXPECT_EQ(media_.Requests("/bounce.jpg"), 1);
}

TEST_F(HmaTest, AnInternalAddressIsRefusedUnlessPrivateAddressesAreAllowed) {
  Start({{"allow_private_addresses", "false"}});
  auto refused = Hma("GET", "/h/hash?url=" + MediaUrl("/img.jpg"));
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("Invalid or unsafe URL provided"), std::string::npos) << refused.body;
  EXPECT_EQ(media_.Requests("/img.jpg"), 0);
}

TEST_F(HmaTest, AnOversizeDownloadIsRefusedWith413) {
  Start();
  media_.Serve("/huge.jpg", std::string(3 << 20, 'x'), "image/jpeg");  // the limit here is 1 MB
  auto refused = Hma("GET", "/h/hash?url=" + MediaUrl("/huge.jpg"));
  EXPECT_EQ(refused.status, 413u);
  EXPECT_NE(refused.body.find("Content too large"), std::string::npos) << refused.body;
}

TEST_F(HmaTest, ASlowDownloadIsGivenUpAtTheDeadline) {
  Start();
  media_.FailAt("/img.jpg", 0, testing::StandInFault::Delay(5000));  // the deadline here is 2 s
  auto refused = Hma("GET", "/h/hash?url=" + MediaUrl("/img.jpg"));
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("Failed to fetch URL"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("within 2 s"), std::string::npos) << refused.body;
}

TEST_F(HmaTest, UrlFetchingIsOffWithoutAllowedHosts) {
  Start({{"allowed_hosts", "\"\""}});
  auto refused = Hma("GET", "/h/hash?url=" + MediaUrl("/img.jpg"));
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("no [hma] allowed_hosts"), std::string::npos) << refused.body;
  EXPECT_EQ(media_.Requests("/img.jpg"), 0);
}

// ---- banks' ratio, content, exchanges ----

TEST_F(HmaTest, ABanksEnabledRatioGatesItsMatchesByASeededCoinflip) {
  Start();
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "HALF", "enabled_ratio": 0.5})").status, 201u);
  ASSERT_EQ(Hma("POST", "/c/bank/HALF/signal", std::string(R"({"pdq": ")") + kImagePdq + "\"}").status, 200u);
  int in = 0, out = 0;
  std::string excluded;  // a lookup whose flip left the bank out
  for (int seed = 0; seed < 40; ++seed) {
    const std::string target = std::string("/m/lookup?signal_type=pdq&signal=") + kImagePdq + "&seed=" + std::to_string(seed);
    const auto first = Hma("GET", target).body;
    EXPECT_EQ(Hma("GET", target).body, first) << "seed " << seed;  // the same seed, the same flip
    (first == "{}\n" ? out : in) += 1;
    if (first == "{}\n") excluded = target;
  }
  EXPECT_GT(in, 5);
  EXPECT_GT(out, 5);
  // bypass_coinflip includes it whatever the flip; a ratio of 0 disables it.
  ASSERT_FALSE(excluded.empty());
  EXPECT_NE(Hma("GET", excluded + "&bypass_coinflip=true").body, "{}\n");
  ASSERT_EQ(Hma("PUT", "/c/bank/HALF", R"({"enabled": false})").body, "{\"matching_enabled_ratio\":0.0,\"name\":\"HALF\"}\n");
  EXPECT_EQ(Hma("GET", std::string("/m/lookup?signal_type=pdq&signal=") + kImagePdq + "&bypass_coinflip=true").body, "{}\n");
}

TEST_F(HmaTest, ContentIsReadDisabledAndDeletedAsHmaDoes) {
  Start();
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "CONTENT"})").status, 201u);
  auto added = Hma("POST", "/c/bank/CONTENT/signal", std::string(R"({"pdq": ")") + kImagePdq + "\"}");
  const auto id = std::to_string(boost::json::parse(added.body).at("id").as_int64());
  EXPECT_EQ(Hma("GET", "/c/bank/CONTENT/content/" + id + "?include_signals=true").body,
            "{\"bank\":{\"matching_enabled_ratio\":1.0,\"name\":\"CONTENT\"},\"disable_until_ts\":1,\"id\":" + id +
                ",\"original_media_uri\":null,\"signals\":{\"pdq\":\"" + kImagePdq + "\"}}\n");
  EXPECT_EQ(Hma("GET", "/c/bank/CONTENT/content/999999").body, "{\"message\":\"content '999999' not found\"}\n");
  auto far = Hma("PUT", "/c/bank/CONTENT/content/" + id, R"({"disable_until_ts": 99999999999})");
  EXPECT_EQ(far.body, "{\"message\":\"disable_until_ts must be less than 5 years in the future\"}\n");
  EXPECT_EQ(Hma("DELETE", "/c/bank/CONTENT/content/" + id).body, "{\"deleted\":1}\n");
  EXPECT_EQ(Hma("DELETE", "/c/bank/CONTENT/content/" + id).body, "{\"deleted\":0}\n");
  EXPECT_EQ(Hma("GET", std::string("/m/lookup?signal_type=pdq&signal=") + kImagePdq).body, "{}\n");
}

TEST_F(HmaTest, AnExchangeIsCreatedWithItsBankAndItsStatusReadsAsHmas) {
  Start();
  auto created = Hma("POST", "/c/exchanges", R"({"bank": "TX_GROUP", "api": "fb_threatexchange", "api_json": {"privacy_group": 1234}})");
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(created.body, "{\"message\":\"Created successfully\"}\n");
  EXPECT_EQ(Hma("GET", "/c/exchanges").body, "[\"TX_GROUP\"]\n");
  EXPECT_EQ(Hma("GET", "/c/bank/TX_GROUP").status, 200u);
  auto exchange = boost::json::parse(Hma("GET", "/c/exchange/TX_GROUP").body).as_object();
  EXPECT_EQ(exchange.at("api").as_string(), "fb_threatexchange");
  EXPECT_EQ(exchange.at("privacy_group").as_int64(), 1234);
  EXPECT_TRUE(exchange.at("enabled").as_bool());
  EXPECT_TRUE(exchange.at("credential_status").at("supports_auth").as_bool());
  EXPECT_EQ(Hma("GET", "/c/exchange/TX_GROUP/status").body,
            "{\"checkpoint_ts\":null,\"fetched_items\":0,\"last_fetch_complete_ts\":null,\"last_fetch_succeeded\":null,"
            "\"running_fetch_start_ts\":null,\"up_to_date\":false}\n");
  // A plain bank is not an exchange (Coop tells them apart by this 404).
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "PLAIN"})").status, 201u);
  EXPECT_EQ(Hma("GET", "/c/exchange/PLAIN").body, "{\"message\":\"Exchange 'PLAIN' not found\"}\n");
  EXPECT_EQ(Hma("GET", "/c/exchanges/apis").body, "[\"fb_threatexchange\",\"ncmec\",\"stop_ncii\"]\n");
  EXPECT_EQ(Hma("POST", "/c/exchanges", R"({"bank": "X", "api": "sample"})").body,
            "{\"message\":\"No such exchange type 'sample'\"}\n");
  EXPECT_EQ(Hma("DELETE", "/c/exchange/TX_GROUP").body, "{\"message\":\"Exchange deleted\"}\n");
  EXPECT_EQ(Hma("GET", "/c/bank/TX_GROUP").status, 404u);
  EXPECT_EQ(Hma("DELETE", "/c/exchange/TX_GROUP").body, "{\"message\":\"Exchange deleted\"}\n");
}

TEST_F(HmaTest, ExchangeSecretsAreNeverTakenOverTheApi) {
  Start();
  auto refused = Hma("POST", "/c/exchanges/api/ncmec", R"({"credential_json": {"user": "u", "password": "p"}})");
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.body.find("VIGIL_EXCHANGE_NCMEC"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find("\"p\""), std::string::npos);
  auto made = Hma("POST", "/c/exchanges",
                  R"({"bank": "NC", "api": "ncmec", "api_json": {"environment": "https://exttest.cybertip.org/hashsharing"},
                      "credential_json": {"user": "u", "password": "p"}})");
  EXPECT_EQ(made.status, 400u) << made.body;
  EXPECT_EQ(Hma("GET", "/c/bank/NC").status, 404u);  // nothing half-made
}

// ---- who the caller is ----

TEST_F(HmaTest, EverythingIsAuditedAsTheKeyTheCallerActsAs) {
  Start();
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "AUDITED"})").status, 201u);
  auto audit = testing::HttpJson(server_->port(), "GET", "/v1/audit?limit=50", keys_["auditor"]);
  ASSERT_EQ(audit.status, 200u) << audit.body;
  bool found = false;
  const auto parsed = boost::json::parse(audit.body);
  for (const auto& record : parsed.at("audit").as_array()) {
    if (record.at("action").as_string() == "bank.create" && record.at("target").as_string() == "audited") {
      EXPECT_EQ(record.at("actor").as_string(), "coop-curator");
      found = true;
    }
  }
  EXPECT_TRUE(found) << audit.body;
}

TEST_F(HmaTest, ARouteTheActingKeysRoleMayNotCallIs403) {
  Start({{"curator_key", "\"\""}});  // /c then acts as the submitter key
  auto refused = Hma("POST", "/c/banks", R"({"name": "NOPE"})");
  EXPECT_EQ(refused.status, 403u);
  EXPECT_NE(refused.body.find("(role 'submitter') may not call this route"), std::string::npos) << refused.body;
}

TEST_F(HmaTest, WithRequireBearerACallerWithoutAKeyIs401AndOneWithAKeyActsAsIt) {
  Start({{"require_bearer", "true"}});
  EXPECT_EQ(Hma("POST", "/c/banks", R"({"name": "BEARER"})").status, 401u);
  auto made = Http(hma_port_, "POST", "/c/banks", R"({"name": "BEARER"})",
                   {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + keys_["coop-curator"]}});
  EXPECT_EQ(made.status, 201u) << made.body;
  EXPECT_EQ(Hma("GET", "/status").status, 200u);  // the probes stay open
}

TEST_F(HmaTest, LookupOnlyModeRecordsNothingAndRecordModeRecordsTheUpload) {
  Start();
  ASSERT_EQ(HmaForm("/m/lookup?content_id=c-1&user_id=u-1", "photo", ImageBytes()).status, 200u);
  EXPECT_EQ(testing::HttpJson(server_->port(), "GET", "/v1/content/c-1", keys_["auditor"]).status, 404u);
  server_.reset();
  Start({{"mode", "\"record\""}});
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "RECORDED"})").status, 201u);
  ASSERT_EQ(Hma("POST", "/c/bank/RECORDED/signal", std::string(R"({"pdq": ")") + kImagePdq + "\"}").status, 200u);
  auto looked = HmaForm("/m/lookup?content_id=c-2&user_id=u-2", "photo", ImageBytes());
  ASSERT_EQ(looked.status, 200u) << looked.body;
  auto content = testing::HttpJson(server_->port(), "GET", "/v1/content/c-2", keys_["auditor"]);
  ASSERT_EQ(content.status, 200u) << content.body;
  const auto record = boost::json::parse(content.body).as_object();
  EXPECT_EQ(record.at("user_id").as_string(), "u-2");
  EXPECT_EQ(record.at("matches").as_array().size(), 1u) << content.body;
}

TEST_F(HmaTest, EnabledSentAsAStringIsReadAsHmaReadsIt) {
  Start();
  EXPECT_EQ(Hma("POST", "/c/banks", R"({"name": "OFF_1", "enabled": "false"})").body,
            "{\"matching_enabled_ratio\":0.0,\"name\":\"OFF_1\"}\n");
  EXPECT_EQ(Hma("POST", "/c/banks", R"({"name": "OFF_2", "enabled": 0})").body,
            "{\"matching_enabled_ratio\":0.0,\"name\":\"OFF_2\"}\n");
  EXPECT_EQ(Hma("PUT", "/c/bank/OFF_1", R"({"enabled": "true"})").body, "{\"matching_enabled_ratio\":1.0,\"name\":\"OFF_1\"}\n");
  EXPECT_EQ(Hma("PUT", "/c/bank/OFF_1", R"({"enabled": "maybe"})").status, 400u);
}

TEST_F(HmaTest, ALowerCaseBankNameNamesNoBank) {
  Start();
  ASSERT_EQ(Hma("POST", "/c/banks", R"({"name": "UPPER"})").status, 201u);
  EXPECT_EQ(Hma("GET", "/c/bank/UPPER").status, 200u);
  EXPECT_EQ(Hma("GET", "/c/bank/upper").status, 404u);
  EXPECT_EQ(Hma("DELETE", "/c/bank/upper").body, "{\"message\":\"Done\"}\n");
  EXPECT_EQ(Hma("GET", "/c/bank/UPPER").status, 200u);  // still there
}

TEST_F(HmaTest, SlowDownloadsPastTheLimitAreAnswered503AtOnce) {
  Start({{"max_url_fetches", "1"}, {"fetch_timeout_seconds", "4"}});
  media_.FailAt("/img.jpg", 0, testing::StandInFault::Delay(3000));
  std::thread slow([&] { (void)Hma("GET", "/h/hash?url=" + MediaUrl("/img.jpg")); });
  for (int i = 0; i < 100 && media_.Requests("/img.jpg") == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto busy = Hma("GET", "/h/hash?url=" + MediaUrl("/img.jpg"));
  slow.join();
  EXPECT_EQ(busy.status, 503u) << busy.body;
  EXPECT_NE(busy.body.find("max_url_fetches"), std::string::npos) << busy.body;
  EXPECT_EQ(busy.headers["retry-after"], "1");
  EXPECT_EQ(media_.Requests("/img.jpg"), 1);  // the second was never fetched
  // Uploads by file are not held up by it.
  EXPECT_EQ(HmaForm("/h/hash", "photo", ImageBytes()).status, 200u);
}

TEST_F(HmaTest, ARelativeRedirectOnTheSameHostIsFollowed) {
  Start();
  media_.Serve("/a/img.jpg", ImageBytes(), "image/jpeg");
  media_.Redirect("/a/moved", "img.jpg");
  EXPECT_EQ(Hma("GET", "/h/hash?url=" + MediaUrl("/a/moved")).body, std::string("{\"pdq\":\"") + kImagePdq + "\"}\n");
}

TEST_F(HmaTest, WithoutRequireBearerAnAuthorizationHeaderIsNotRead) {
  Start();
  auto made = Http(hma_port_, "POST", "/c/banks", R"({"name": "IGNORED_KEY"})",
                   {{"Content-Type", "application/json"}, {"Authorization", "Bearer vgl_not_a_key"}});
  EXPECT_EQ(made.status, 201u) << made.body;
}

TEST_F(HmaTest, TheRootRedirectsToStatus) {
  Start();
  auto root = Hma("GET", "/");
  EXPECT_EQ(root.status, 302u);
  EXPECT_EQ(root.headers["location"], "/status");
}

TEST_F(HmaTest, TheServiceRefusesToStartWithoutAKeyToActAs) {
  MakeKeys();
  const auto config = dir_.path() / "bad.toml";
  std::ofstream(config) << "[hma]\nenabled = true\n";
  std::vector<std::string> args{"serve", "--config", config.string(), "--listen", "127.0.0.1:0"};
  args.insert(args.end(), store_flags_.begin(), store_flags_.end());
  auto run = testing::RunVigil(args);
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.err.find("[hma] needs `key`"), std::string::npos) << run.err;
  std::ofstream(config) << "[hma]\nenabled = true\nkey = \"nobody\"\nlisten = \"127.0.0.1:0\"\n";
  auto missing = testing::RunVigil(args);
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find("[hma] key 'nobody' is not an active key"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace vigil
