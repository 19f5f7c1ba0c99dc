// Stream workers end to end: a real nats-server with JetStream (loopback, a temp dir), a real
// PostgreSQL, `vigil worker` and `vigil serve` processes, `vigil publish`. Uploads are benign
// synthetic images; the planted matches are some of their own PDQ hashes put in a bank.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <thread>

#include "fake_stores.h"
#include "service_harness.h"
#include "store/sql_connection.h"
#include "stream/jetstream.h"
#include "stream/media_roots.h"
#include "stream/stream_worker.h"
#include "stream/upload_event.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/file_hasher.h"
#include "vigil/pdq.h"
#include "workflow/upload_workflow.h"

namespace vigil {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::string FindNatsServer() {
  for (const char* path : {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// A child process with its standard error (and output) in a log file.
class Child {
 public:
  Child(std::vector<std::string> argv, std::filesystem::path log) : argv_(std::move(argv)), log_(std::move(log)) {}
  ~Child() { Kill(); }
  void Start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (auto& a : argv_) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  void Kill() { Signal(SIGKILL); }
  int Terminate() { return Signal(SIGTERM); }
  std::string Log() const { return testing::ReadText(log_); }
  bool running() const { return pid_ > 0; }

 private:
  int Signal(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::vector<std::string> argv_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

class NatsServer {
 public:
  NatsServer(std::string binary, std::filesystem::path dir) : binary_(std::move(binary)), dir_(std::move(dir)), port_(testing::FreePort()) {
    std::filesystem::create_directories(dir_ / "js");
  }
  void Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{binary_, "-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd", (dir_ / "js").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(std::move(argv), dir_ / "nats.log");
    child_->Start();
  }
  // A clean shutdown (SIGTERM): JetStream flushes its files.
  void Stop() { child_->Terminate(); }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return testing::ReadText(dir_ / "nats.log"); }

 private:
  std::string binary_;
  std::filesystem::path dir_;
  std::uint16_t port_;
  std::unique_ptr<Child> child_;
};

constexpr const char* kRules = R"(
[[rule]]
name = "known-image"
description = "a near copy of a listed image"
banks = ["planted"]
signal_types = ["pdq"]
max_distance = 31
actions = ["block", "hold"]
hold_priority = 2
)";

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nats_binary_ = FindNatsServer();
    if (nats_binary_.empty()) {
      if (std::getenv("VIGIL_REQUIRE_NATS") != nullptr) FAIL() << "nats-server is not installed (VIGIL_REQUIRE_NATS is set)";
      GTEST_SKIP() << "nats-server is not installed";
    }
    postgres_.Create();
    if (IsSkipped() || HasFatalFailure()) return;
    nats_ = std::make_unique<NatsServer>(nats_binary_, dir_.path() / "nats");
    nats_->Start();
    for (int i = 0; i < 100 && !client_; ++i) {
      stream::NatsConnectOptions options;
      options.url = nats_->url();
      if (auto c = stream::JetStreamConnection::Connect(options)) client_ = std::move(*c);
      else std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(client_) << nats_->Log();
    store_flags_ = {"--database-url", postgres_.url(), "--data-dir", (dir_.path() / "data").string()};
    std::ofstream(dir_.path() / "rules.toml") << kRules;
    std::ofstream(dir_.path() / "vigil.toml") << "refresh_interval_ms = 5000\n"
                                              << "[sandbox]\nmode = \"off\"\n"
                                              << "[stream]\nurl = \"" << nats_->url() << "\"\n"
                                              << "ack_wait_seconds = 4\nmax_deliveries = 3\nmedia_roots = \""
                                              << (dir_.path() / "media-root").string() << "\"\n";
    std::filesystem::create_directories(dir_.path() / "media-root");
  }

  std::unique_ptr<Child> StartWorker(const std::string& name, int concurrency = 2) {
    auto child = std::make_unique<Child>(
        std::vector<std::string>{VIGIL_TEST_CLI, "worker", "--config", (dir_.path() / "vigil.toml").string(), "--rules",
                                 (dir_.path() / "rules.toml").string(), "-j", std::to_string(concurrency),
                                 "--database-url", postgres_.url(), "--data-dir", (dir_.path() / "data").string()},
        dir_.path() / (name + ".log"));
    child->Start();
    return child;
  }

  std::unique_ptr<testing::ServerProcess> StartServer(const std::string& name) {
    std::vector<std::string> args = store_flags_;
    args.insert(args.end(), {"--no-access-log", "--rules", (dir_.path() / "rules.toml").string(), "--config",
                             (dir_.path() / "vigil.toml").string()});
    auto server = std::make_unique<testing::ServerProcess>(dir_.path() / name, args);
    EXPECT_TRUE(server->Start()) << server->Log();
    return server;
  }

  // Every message now in the results stream, by subject: (content id, JSON object).
  std::multimap<std::string, json::object> ReadResults(std::size_t expected) {
    std::multimap<std::string, json::object> out;
    stream::ConsumerSpec spec{"VIGIL_RESULTS", "checker-" + std::to_string(++checkers_), "", 30s, 100000};
    EXPECT_TRUE(client_->EnsureConsumer(spec));
    auto sub = client_->Subscribe(spec);
    EXPECT_TRUE(sub) << sub.error().ToString();
    if (!sub) return out;
    for (int empty = 0; empty < 3 && out.size() < expected + 100;) {
      auto batch = (*sub)->Fetch(256, 500ms);
      if (!batch || batch->empty()) {
        ++empty;
        continue;
      }
      for (auto& msg : *batch) {
        const auto data = msg.data();
        auto value = json::parse(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
        out.emplace(std::string(msg.subject()), value.as_object());
        (void)msg.Ack();
      }
    }
    return out;
  }

  std::uint64_t Results() {
    auto n = client_->StreamMessages("VIGIL_RESULTS");
    return n ? *n : 0;
  }

  bool WaitForResults(std::uint64_t n, std::chrono::seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      if (Results() >= n) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  std::int64_t Count(store::SqlConnection& db, const std::string& sql) {
    auto rows = db.Query(sql, {});
    EXPECT_TRUE(rows) << sql << ": " << rows.error().ToString();
    return rows && !rows->empty() ? (*rows)[0].Int(0) : -1;
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::string nats_binary_;
  std::unique_ptr<NatsServer> nats_;
  std::unique_ptr<stream::JetStreamConnection> client_;
  std::vector<std::string> store_flags_;
  int checkers_ = 0;
};

// The platform's sequence at scale: thousands of uploads published as events, two workers and two
// servers on one PostgreSQL; a worker SIGKILLed mid-stream and NATS restarted mid-stream. Every
// event gets exactly one result and one record, every planted match is found and nothing else,
// no case or action is made twice; a bank change made through one server reaches the other.
TEST_F(StreamTest, EveryEventGetsOneResultAndOneRecordThroughAWorkerKillAndANatsRestart) {
  const int kEvents = 2000, kUsers = 20, kPlantedEvery = 50;
  const auto images = dir_.path() / "uploads";
  FileHasher hasher({});
  std::map<std::string, std::string> user_of;  // content id -> user
  std::map<std::string, PdqHash> pdq_of;
  std::map<std::string, int> quality_of;
  std::string bank_csv;
  std::vector<PdqHash> planted;
  for (int i = 0; i < kEvents; ++i) {
    const std::string user = "u" + std::to_string(i % kUsers);
    const auto path = images / user / ("img" + std::to_string(i) + ".png");
    std::filesystem::create_directories(path.parent_path());
    const auto seed = static_cast<std::uint32_t>(i * 7919 + 17);
    testing::WriteFile(path, testing::EncodePng(testing::MakePattern(64 + i % 61, 64 + (i * 13) % 59, 3, seed)));
    const std::string content_id = "s:" + path.lexically_normal().string();
    auto hashed = hasher.HashFile(path);
    ASSERT_TRUE(hashed) << hashed.error().ToString();
    user_of[content_id] = user;
    pdq_of[content_id] = hashed->pdq.hash;
    quality_of[content_id] = hashed->pdq.quality;
    // Planted: one upload in kPlantedEvery, of those PDQ rates as good enough to match (the bank's
    // pdq_min_quality, 50 by default).
    if (i % kPlantedEvery == 0 && hashed->pdq.quality >= 50) {
      planted.push_back(hashed->pdq.hash);
      bank_csv += "pdq," + hashed->pdq.hash.ToHex() + ",planted-" + std::to_string(i) + ",B1\n";
    }
  }
  // What must match: every upload of quality >= 50 within the rule's distance of a planted hash
  // (the planted ones, and any other that happens to be as close), computed here without Vigil.
  std::set<std::string> expected;
  for (const auto& [id, pdq] : pdq_of) {
    for (const auto& p : planted) {
      if (pdq.Distance(p) <= 31 && quality_of[id] >= 50) expected.insert(id);
    }
  }
  ASSERT_GE(planted.size(), 10u) << "too few synthetic uploads of matchable quality";
  ASSERT_GE(expected.size(), planted.size());
  ASSERT_LT(expected.size(), planted.size() * 2) << "the synthetic uploads are too alike to test matching";

  auto server_a = StartServer("server-a");
  auto server_b = StartServer("server-b");
  ASSERT_FALSE(HasFailure());
  const std::string lists_key = testing::CreateKey(store_flags_, "bank-admin", "lists");
  const std::string platform_key = testing::CreateKey(store_flags_, "submitter", "platform");
  ASSERT_EQ(testing::HttpJson(server_a->port(), "POST", "/v1/banks", lists_key,
                              R"({"name":"planted","labels":["test"],"category":"csam"})")
                .status,
            201u);
  auto imported = testing::Http(server_a->port(), "POST", "/v1/banks/planted/import?format=csv", bank_csv,
                                {{"Authorization", "Bearer " + lists_key}, {"Content-Type", "text/csv"}});
  ASSERT_EQ(imported.status, 200u) << imported.body;

  auto worker_1 = StartWorker("worker-1");
  auto worker_2 = StartWorker("worker-2");
  // Both workers are consuming (the stream and consumer exist) before anything is published.
  for (int i = 0; i < 100; ++i) {
    if (client_->Consumer("VIGIL_UPLOADS", "vigil-workers")) break;
    std::this_thread::sleep_for(100ms);
  }
  const auto published = testing::RunVigil({"publish", images.string(), "--nats", nats_->url(), "--subject",
                                            "vigil.uploads.test", "--user-from-parent", "--id-prefix", "s:", "-q"});
  ASSERT_EQ(published.status, 0) << published.err << published.out;

  ASSERT_TRUE(WaitForResults(kEvents / 4, 120s)) << worker_1->Log();
  worker_1->Kill();  // mid-stream: whatever it held comes back to the other after ack_wait
  EXPECT_LT(Results(), static_cast<std::uint64_t>(kEvents) * 3 / 4) << "the kill came too late to be mid-stream";
  ASSERT_TRUE(WaitForResults(kEvents / 2, 120s)) << worker_2->Log();
  EXPECT_LT(Results(), static_cast<std::uint64_t>(kEvents)) << "the restart came too late to be mid-stream";
  nats_->Stop();
  std::this_thread::sleep_for(500ms);
  nats_->Start();
  worker_1 = StartWorker("worker-1b");
  ASSERT_TRUE(WaitForResults(kEvents, 240s)) << "results: " << Results() << "\n" << worker_2->Log();
  std::this_thread::sleep_for(2s);  // anything late (a replayed result) would show now

  const auto results = ReadResults(kEvents);
  std::set<std::string> answered, matched;
  std::size_t dead = 0;
  for (const auto& [subject, result] : results) {
    if (subject != "vigil.results") {
      ++dead;
      ADD_FAILURE() << "dead letter: " << json::serialize(result);
      continue;
    }
    const std::string id(result.at("content_id").as_string());
    EXPECT_TRUE(answered.insert(id).second) << "two results for " << id;
    EXPECT_FALSE(result.contains("error")) << json::serialize(result);
    EXPECT_EQ(result.at("user_id").as_string(), user_of[id]);
    if (const auto* m = result.if_contains("matches"); m != nullptr && !m->as_array().empty()) matched.insert(id);
  }
  EXPECT_EQ(dead, 0u);
  EXPECT_EQ(answered.size(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(matched, expected);

  auto db = store::OpenPostgres(postgres_.url());
  ASSERT_TRUE(db) << db.error().ToString();
  // One record per event: what matched in the permanent record, the rest in `uploads`, none twice.
  EXPECT_EQ(Count(**db, "SELECT COUNT(*) FROM content"), static_cast<std::int64_t>(expected.size()));
  EXPECT_EQ(Count(**db, "SELECT COUNT(*) FROM uploads"), kEvents - static_cast<std::int64_t>(expected.size()));
  EXPECT_EQ(Count(**db, "SELECT COUNT(*) FROM (SELECT content_id FROM content UNION SELECT content_id FROM uploads) ids"),
            kEvents);
  EXPECT_EQ(Count(**db, "SELECT COUNT(DISTINCT content_row) FROM matches"), static_cast<std::int64_t>(expected.size()));
  EXPECT_EQ(Count(**db, "SELECT COUNT(*) FROM (SELECT content_row, entry_id FROM matches GROUP BY content_row, entry_id "
                        "HAVING COUNT(*) > 1) twice"),
            0);
  EXPECT_EQ(Count(**db, "SELECT COUNT(*) FROM case_items"), static_cast<std::int64_t>(expected.size()));
  std::set<std::string> users_matched;
  for (const auto& id : expected) users_matched.insert(user_of[id]);
  EXPECT_EQ(Count(**db, "SELECT COUNT(*) FROM cases"), static_cast<std::int64_t>(users_matched.size()));
  EXPECT_EQ(Count(**db, "SELECT COUNT(*) FROM (SELECT content_id, kind FROM actions GROUP BY content_id, kind "
                        "HAVING COUNT(*) > 1) twice"),
            0);
  EXPECT_EQ(Count(**db, "SELECT COUNT(DISTINCT content_id) FROM actions"), static_cast<std::int64_t>(expected.size()));

  // A bank change made through server A is matched by server B within a second: pushed by
  // PostgreSQL (LISTEN/NOTIFY), not found by B's poll, which comes every 5 s here.
  const auto fresh = testing::MakePattern(97, 83, 3, 424242);
  const auto fresh_path = dir_.path() / "fresh.png";
  testing::WriteFile(fresh_path, testing::EncodePng(fresh));
  const std::string fresh_pdq = hasher.HashFile(fresh_path)->pdq.hash.ToHex();
  const std::string lookup = R"({"signals":[{"type":"pdq","value":")" + fresh_pdq + R"("}]})";
  auto before = testing::HttpJson(server_b->port(), "POST", "/v1/lookup", platform_key, lookup);
  ASSERT_EQ(before.status, 200u) << before.body;
  ASSERT_EQ(json::parse(before.body).at("results").at(0).at("matches").as_array().size(), 0u);
  auto added = testing::Http(server_a->port(), "POST", "/v1/banks/planted/import?format=csv",
                             "pdq," + fresh_pdq + ",fresh,B1\n",
                             {{"Authorization", "Bearer " + lists_key}, {"Content-Type", "text/csv"}});
  ASSERT_EQ(added.status, 200u) << added.body;
  const auto changed_at = SteadyClock::now();
  bool seen = false;
  while (!seen && SteadyClock::now() - changed_at < 10s) {
    auto reply = testing::HttpJson(server_b->port(), "POST", "/v1/lookup", platform_key, lookup);
    seen = reply.status == 200 && !json::parse(reply.body).at("results").at(0).at("matches").as_array().empty();
    if (!seen) std::this_thread::sleep_for(20ms);
  }
  const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - changed_at);
  EXPECT_TRUE(seen);
  EXPECT_LE(delay.count(), 1000) << "server B saw server A's bank change after " << delay.count() << " ms";
  std::printf("bank change seen by the other server after %lld ms\n", static_cast<long long>(delay.count()));

  EXPECT_EQ(worker_2->Terminate(), 0) << worker_2->Log();
  EXPECT_EQ(worker_1->Terminate(), 0) << worker_1->Log();
  // What the killed worker held came back to the others: redelivered, and answered from its record
  // when it had been recorded before the kill.
  std::int64_t redeliveries = 0;
  for (const auto* w : {worker_1.get(), worker_2.get()}) {
    const std::string log = w->Log();
    const auto stopped = log.rfind(R"("msg":"stopped")");
    ASSERT_NE(stopped, std::string::npos) << log;
    const auto line = json::parse(log.substr(log.rfind('{', stopped), log.find('\n', stopped) - log.rfind('{', stopped)));
    redeliveries += line.at("redeliveries").as_int64();
    std::printf("worker: %s\n", json::serialize(line).c_str());
  }
  EXPECT_GE(redeliveries, 1) << "nothing the killed worker held was redelivered";
}

// Events that cannot be processed as sent go to the dead letters with the reason, at once;
// media that cannot be hashed get an error result; a path that keeps failing is dead-lettered
// after max_deliveries (3 in this configuration).
TEST_F(StreamTest, HostileAndFailingEventsGetADeadLetterOrAnErrorResultWithTheReason) {
  auto worker = StartWorker("worker", 1);
  for (int i = 0; i < 100; ++i) {
    if (client_->Consumer("VIGIL_UPLOADS", "vigil-workers")) break;
    std::this_thread::sleep_for(100ms);
  }
  const std::string png = [] {
    auto bytes = testing::EncodePng(testing::MakePattern(80, 80, 3, 5));
    return std::string(bytes.begin(), bytes.end());
  }();
  auto send = [&](std::vector<std::pair<std::string, std::string>> headers, const std::string& body, const std::string& id) {
    auto sent = client_->Publish("vigil.uploads.hostile", headers,
                                 {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()}, id);
    ASSERT_TRUE(sent) << sent.error().ToString();
  };
  std::filesystem::create_symlink("/etc/passwd", dir_.path() / "media-root" / "escape");
  send({}, png, "no-id");
  send({{stream::kContentIdHeader, "bad\x01id"}}, png, "bad-id");
  send({{stream::kContentIdHeader, "meta"}, {stream::kMetadataHeader, "[1,2]"}}, png, "meta");
  send({{stream::kContentIdHeader, "outside"}, {stream::kMediaPathHeader, "/etc/passwd"}}, "", "outside");
  send({{stream::kContentIdHeader, "climb"}, {stream::kMediaPathHeader, "../../../etc/passwd"}}, "", "climb");
  send({{stream::kContentIdHeader, "symlink"}, {stream::kMediaPathHeader, "escape"}}, "", "symlink");
  send({{stream::kContentIdHeader, "both"}, {stream::kMediaPathHeader, "x.png"}}, png, "both");
  send({{stream::kContentIdHeader, "garbage"}}, "this is not an image", "garbage");
  send({{stream::kContentIdHeader, "missing"}, {stream::kMediaPathHeader, "not-there-yet.png"}}, "", "missing");
  send({{stream::kContentIdHeader, "fine"}, {stream::kUserIdHeader, "u1"}}, png, "fine");
  // Not an image, then the same id with an image (no Nats-Msg-Id: a platform's corrected resend):
  // the error result must not hide the recorded one.
  send({{stream::kContentIdHeader, "later"}}, "still not an image", "");
  send({{stream::kContentIdHeader, "later"}}, png, "");
  ASSERT_TRUE(WaitForResults(12, 60s)) << worker->Log();
  std::map<std::string, json::object> dead, results;
  int later_results = 0, later_recorded = 0;
  for (const auto& [subject, o] : ReadResults(12)) {
    const std::string id(o.at("content_id").as_string());
    if (id == "later") {
      ++later_results;
      later_recorded += !o.contains("error");
      continue;
    }
    (subject == "vigil.dead" ? dead : results)[id] = o;
  }
  EXPECT_EQ(later_results, 2);
  EXPECT_EQ(later_recorded, 1);
  auto reason = [&](const std::string& id) {
    return dead.count(id) != 0 ? std::string(dead[id].at("reason").as_string()) : "(no dead letter)";
  };
  EXPECT_NE(reason("").find("Vigil-Content-Id header is required"), std::string::npos) << reason("");
  EXPECT_NE(reason("(not printable: 6 bytes)").find("control character"), std::string::npos);
  EXPECT_NE(reason("meta").find("Vigil-Metadata is not a JSON object"), std::string::npos) << reason("meta");
  EXPECT_NE(reason("outside").find("under no media root"), std::string::npos) << reason("outside");
  EXPECT_NE(reason("climb").find("leaves its media root"), std::string::npos) << reason("climb");
  EXPECT_NE(reason("symlink").find("leaves its media root"), std::string::npos) << reason("symlink");
  EXPECT_NE(reason("both").find("send one or the other"), std::string::npos) << reason("both");
  EXPECT_NE(reason("missing").find("failed on each of 3 deliveries"), std::string::npos) << reason("missing");
  ASSERT_EQ(results.count("garbage"), 1u);
  EXPECT_TRUE(results["garbage"].contains("error")) << json::serialize(results["garbage"]);
  ASSERT_EQ(results.count("fine"), 1u);
  EXPECT_EQ(results["fine"].at("user_id").as_string(), "u1");
  EXPECT_EQ(results["fine"].at("matches").as_array().size(), 0u);
  EXPECT_EQ(dead.size() + results.size(), 10u);
  EXPECT_EQ(worker->Terminate(), 0) << worker->Log();
}

// Credentials in a NATS URL never reach a log line.
TEST(StreamLogs, NatsUrlsAreLoggedWithoutTheirCredentials) {
  EXPECT_EQ(stream::RedactNatsUrls("nats://vigil:s3cret@10.0.0.1:4222,tls://n2:4222,nats://t0ken@n3"),
            "nats://***@10.0.0.1:4222,tls://n2:4222,nats://***@n3");
  EXPECT_EQ(stream::RedactNatsUrls("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
}

// Credentials NATS refuses stop the worker with a message that says so (and does not repeat the
// password), instead of being retried forever as "not reachable".
TEST_F(StreamTest, AWorkerWhoseNatsCredentialsAreRefusedSaysSoAndStops) {
  NatsServer secured(nats_binary_, dir_.path() / "secured");
  secured.Start({"--user", "vigil", "--pass", "right-one"});
  std::this_thread::sleep_for(500ms);
  const std::string url = "nats://vigil:wrong-one@" + secured.url().substr(std::string("nats://").size());
  auto run = testing::RunProgram({"/usr/bin/timeout", "60", VIGIL_TEST_CLI, "worker", "--config",
                                  (dir_.path() / "vigil.toml").string(), "--nats", url, "--data-dir",
                                  (dir_.path() / "data-secured").string()});
  EXPECT_EQ(run.status, 1) << run.err;
  EXPECT_NE(run.err.find("refused this worker's credentials"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("wrong-one"), std::string::npos) << run.err;
  secured.Stop();
}

// Health is reported from the start: a worker waiting for NATS answers 503 on /healthz (so an
// orchestrator sees it is not ready), and still stops cleanly on SIGTERM.
TEST_F(StreamTest, AWorkerWaitingForNatsIsUnhealthyAndStopsCleanly) {
  const std::uint16_t metrics = testing::FreePort();
  const std::uint16_t nowhere = testing::FreePort();  // nothing listens there
  Child worker({VIGIL_TEST_CLI, "worker", "--config", (dir_.path() / "vigil.toml").string(), "--nats",
                "nats://127.0.0.1:" + std::to_string(nowhere), "--data-dir", (dir_.path() / "data-waiting").string(),
                "--metrics-listen", "127.0.0.1:" + std::to_string(metrics)},
               dir_.path() / "waiting.log");
  worker.Start();
  testing::HttpReply health;
  for (int i = 0; i < 100 && health.status == 0; ++i) {
    std::this_thread::sleep_for(100ms);
    health = testing::Http(metrics, "GET", "/healthz");
  }
  EXPECT_EQ(health.status, 503u) << worker.Log();
  EXPECT_NE(health.body.find("connecting to nats"), std::string::npos) << health.body;
  EXPECT_EQ(testing::Http(metrics, "GET", "/metrics").status, 200u);
  EXPECT_EQ(worker.Terminate(), 0) << worker.Log();
}

// A store failing over: its first `failures` calls answer kUnavailable.
class FailingOverRecorder final : public UploadRecorder {
 public:
  FailingOverRecorder(testing::FakeEntryFeed& feed, int failures) : inner_(feed), failures_(failures) {}
  Result<RecordedUpload> RecordUpload(const ContentRecord& c, const UploadPolicy& p, const std::string& a) override {
    if (failures_.fetch_sub(1) > 0) return Fail(ErrorCode::kUnavailable, "the store is failing over (injected)");
    std::lock_guard lock(mu_);
    return inner_.RecordUpload(c, p, a);
  }
  std::vector<Result<RecordedUpload>> RecordUnmatchedUploads(std::span<const ContentRecord> contents) override {
    if (failures_.fetch_sub(1) > 0) {
      return std::vector<Result<RecordedUpload>>(contents.size(),
                                                 Fail(ErrorCode::kUnavailable, "the store is failing over (injected)"));
    }
    std::lock_guard lock(mu_);
    return inner_.RecordUnmatchedUploads(contents);
  }
  Result<ContentFacts> PolicyFacts(const ContentRecord& c) override { return inner_.PolicyFacts(c); }
  Result<int> PriorConfirmedCases(const std::string& u) override { return inner_.PriorConfirmedCases(u); }

 private:
  std::mutex mu_;
  testing::FakeUploadRecorder inner_;
  std::atomic<int> failures_;
};

// A store outage (a failover) stalls the worker: the events are held and recorded once the store
// answers again, none dead-lettered and none redelivered, although each would have used up its
// deliveries (max 2 here) had the worker handed it back at every failure.
TEST_F(StreamTest, AStoreOutageHoldsEventsInsteadOfSpendingTheirDeliveries) {
  testing::FakeEntryFeed feed;
  FailingOverRecorder recorder(feed, 6);
  Matcher matcher(feed);
  ASSERT_TRUE(matcher.Load());
  UploadWorkflow workflow(recorder, matcher, HashMedia, nullptr, {});
  stream::ConsumerSpec consumer{"VIGIL_UPLOADS", "vigil-workers", "vigil.uploads.>", 4s, 1000};
  stream::StreamSpec uploads{"VIGIL_UPLOADS", {"vigil.uploads.>"}, 0s, -1, -1, 120s, 1, true};
  stream::StreamSpec results{"VIGIL_RESULTS", {"vigil.results", "vigil.dead"}, 0s, -1, -1, 120s, 1, false};
  ASSERT_TRUE(client_->EnsureStream(uploads));
  ASSERT_TRUE(client_->EnsureStream(results));
  ASSERT_TRUE(client_->EnsureConsumer(consumer));
  auto subscription = client_->Subscribe(consumer);
  ASSERT_TRUE(subscription) << subscription.error().ToString();
  auto roots = stream::MediaRoots::Open({});
  ASSERT_TRUE(roots);
  stream::StreamWorkerOptions options;
  options.consumer = consumer;
  options.concurrency = 2;
  options.max_deliveries = 2;
  stream::StreamWorker worker(*client_, **subscription, workflow, *roots, options);
  std::thread running([&worker] { worker.Run(); });
  for (std::uint32_t i = 0; i < 6; ++i) {
    const auto png = testing::EncodePng(testing::MakePattern(72, 56, 3, 900 + i));
    const std::string id = "outage-" + std::to_string(i);
    ASSERT_TRUE(client_->Publish("vigil.uploads.outage", {{stream::kContentIdHeader, id}}, png, id));
  }
  const bool all = WaitForResults(6, 60s);
  worker.Stop();
  running.join();
  ASSERT_TRUE(all) << "results: " << Results();
  const auto counts = worker.Counts();
  EXPECT_GE(counts.waits, 1);
  EXPECT_EQ(counts.dead_letters, 0);
  EXPECT_EQ(counts.redeliveries, 0);
  EXPECT_EQ(counts.recorded, 6);
  for (const auto& [subject, o] : ReadResults(6)) EXPECT_EQ(subject, "vigil.results") << json::serialize(o);
}

}  // namespace
}  // namespace vigil
