// Classifiers: the guard (rate limit, retries, circuit breaker) on a scripted classifier and a
// settable clock; the HTTP adapters against stand-ins of the services (slow, failing, throttled,
// down); the classifiers file; rules on scores; and uploads scored on both SQL backends, from the
// upload to the review queue, the decision and the transparency figures. One behaviour per test.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <deque>
#include <fstream>
#include <future>

#include "classify/classifier_set.h"
#include "classify/guarded_classifier.h"
#include "classify/http_classifiers.h"
#include "exchange_standins.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/digest.h"
#include "vigil/policy.h"
#include "vigil/reports.h"
#include "vigil/transparency.h"
#include "workflow/decision_workflow.h"
#include "workflow/upload_workflow.h"
#include "workflow_fixtures.h"

namespace vigil {
namespace {

using classify::ClassifierLimits;
using classify::GuardedClassifier;

class SettableClock final : public Clock {
 public:
  std::int64_t NowMicros() const override { return now_; }
  void Advance(std::chrono::milliseconds d) { now_ += d.count() * 1000; }

 private:
  std::int64_t now_ = 1'700'000'000'000'000;
};

// A classifier whose answers the test scripts: each call takes the next outcome (an error code, or
// a score), then keeps answering the last.
class ScriptedClassifier final : public Classifier {
 public:
  explicit ScriptedClassifier(std::deque<Result<double>> script) : script_(std::move(script)) {}
  const std::string& name() const override { return name_; }
  bool Accepts(std::string_view media_type) const override { return media_type.starts_with("image/"); }
  std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) override {
    ++*calls_;
    Result<double> next = script_.front();
    if (script_.size() > 1) script_.pop_front();
    std::vector<Result<Classification>> out;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!next) {
        out.emplace_back(tl::unexpected(next.error()));
      } else {
        Classification c;
        c.model = "scripted";
        c.labels.push_back({"match", *next});
        out.emplace_back(std::move(c));
      }
    }
    return out;
  }
  std::shared_ptr<int> calls_ = std::make_shared<int>(0);

 private:
  std::string name_ = "scripted";
  std::deque<Result<double>> script_;
};

Result<double> Down() { return Fail(ErrorCode::kUnavailable, "cannot reach 127.0.0.1"); }

ClassifierInput Png(const std::string& id = "u1") {
  static const testing::Bytes bytes = testing::EncodePng(testing::MakePattern(64, 48, 3, 1));
  ClassifierInput input;
  input.content_id = id;
  input.media_type = "image/png";
  input.bytes = bytes;
  return input;
}

struct Guarded {
  std::shared_ptr<int> calls;
  std::unique_ptr<GuardedClassifier> classifier;
};

Guarded MakeGuarded(std::deque<Result<double>> script, ClassifierLimits limits, SettableClock& clock) {
  auto inner = std::make_unique<ScriptedClassifier>(std::move(script));
  auto calls = inner->calls_;
  auto sleep = [&clock](std::chrono::milliseconds d) { clock.Advance(d); };
  return {calls, std::make_unique<GuardedClassifier>(std::move(inner), limits, clock, sleep)};
}

// ---- the guard --------------------------------------------------------------------------------

TEST(GuardedClassifier, AFailureThatMayPassIsRetriedAndTheSecondAnswerStands) {
  SettableClock clock;
  ClassifierLimits limits;
  limits.attempts = 2;
  auto g = MakeGuarded({Down(), 0.8}, limits, clock);
  const Classification c = g.classifier->ClassifyOne(Png());
  EXPECT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(*g.calls, 2);
  EXPECT_EQ(c.Score("match"), 0.8);
  EXPECT_EQ(c.classifier, "scripted");
}

TEST(GuardedClassifier, ARefusedKeyOrAThrottledServiceIsNotRetried) {
  for (ErrorCode code : {ErrorCode::kPermissionDenied, ErrorCode::kResourceExhausted, ErrorCode::kCorrupt}) {
    SettableClock clock;
    ClassifierLimits limits;
    limits.attempts = 3;
    auto g = MakeGuarded({Result<double>(Fail(code, "no")), 0.5}, limits, clock);
    const Classification c = g.classifier->ClassifyOne(Png());
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(*g.calls, 1) << ErrorCodeName(code);
  }
}

TEST(GuardedClassifier, TheCircuitOpensAfterFailuresInARowAndCallsStopUntilItsTimeIsUp) {
  SettableClock clock;
  ClassifierLimits limits;
  limits.attempts = 1;
  limits.circuit_failures = 3;
  limits.circuit_open = std::chrono::seconds(30);
  auto g = MakeGuarded({Down()}, limits, clock);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(g.classifier->ClassifyOne(Png()).ok());
  EXPECT_EQ(*g.calls, 3);
  EXPECT_EQ(g.classifier->Stats().circuit, "open");
  for (int i = 0; i < 50; ++i) {
    const Classification c = g.classifier->ClassifyOne(Png());
    EXPECT_NE(c.error.find("circuit open"), std::string::npos) << c.error;
  }
  EXPECT_EQ(*g.calls, 3) << "no call while the circuit is open";
  EXPECT_EQ(g.classifier->Stats().skipped, 50);
  EXPECT_EQ(g.classifier->Stats().circuit_opened, 1);
}

TEST(GuardedClassifier, AfterItsOpenTimeOneCallTriesTheServiceAndASuccessClosesTheCircuit) {
  SettableClock clock;
  ClassifierLimits limits;
  limits.attempts = 1;
  limits.circuit_failures = 2;
  limits.circuit_open = std::chrono::seconds(10);
  auto g = MakeGuarded({Down(), Down(), 0.3}, limits, clock);
  g.classifier->ClassifyOne(Png());
  g.classifier->ClassifyOne(Png());
  clock.Advance(std::chrono::seconds(11));
  EXPECT_EQ(g.classifier->Stats().circuit, "half_open");
  const Classification c = g.classifier->ClassifyOne(Png());
  EXPECT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(g.classifier->Stats().circuit, "closed");
  EXPECT_TRUE(g.classifier->ClassifyOne(Png()).ok());
  EXPECT_EQ(*g.calls, 4);
}

TEST(GuardedClassifier, AFailedProbeOpensTheCircuitAgainAtOnce) {
  SettableClock clock;
  ClassifierLimits limits;
  limits.attempts = 1;
  limits.circuit_failures = 2;
  limits.circuit_open = std::chrono::seconds(10);
  auto g = MakeGuarded({Down()}, limits, clock);
  g.classifier->ClassifyOne(Png());
  g.classifier->ClassifyOne(Png());
  clock.Advance(std::chrono::seconds(11));
  EXPECT_FALSE(g.classifier->ClassifyOne(Png()).ok());  // the probe
  EXPECT_EQ(*g.calls, 3);
  EXPECT_EQ(g.classifier->Stats().circuit, "open");
  EXPECT_NE(g.classifier->ClassifyOne(Png()).error.find("circuit open"), std::string::npos);
  EXPECT_EQ(*g.calls, 3);
  EXPECT_EQ(g.classifier->Stats().circuit_opened, 2);
}

TEST(GuardedClassifier, AnUploadWhoseFailureOpensTheCircuitCountsOnceAsFailed) {
  SettableClock clock;
  ClassifierLimits limits;
  limits.attempts = 2;
  limits.circuit_failures = 1;
  auto g = MakeGuarded({Down()}, limits, clock);
  const Classification c = g.classifier->ClassifyOne(Png());
  EXPECT_NE(c.error.find("cannot reach"), std::string::npos) << "the failure, not the circuit it opened: " << c.error;
  EXPECT_EQ(g.classifier->Stats().failed, 1);
  EXPECT_EQ(g.classifier->Stats().skipped, 0);
  EXPECT_NE(g.classifier->ClassifyOne(Png()).error.find("circuit open"), std::string::npos);
  EXPECT_EQ(g.classifier->Stats().skipped, 1);
  EXPECT_EQ(*g.calls, 1);
}

TEST(GuardedClassifier, TheRateLimitLetsABurstThroughThenTheRateAndSkipsTheRest) {
  SettableClock clock;
  ClassifierLimits limits;
  limits.rate_per_second = 10;
  limits.burst = 5;
  auto g = MakeGuarded({0.1}, limits, clock);
  int classified = 0;
  for (int i = 0; i < 8; ++i) classified += g.classifier->ClassifyOne(Png()).ok() ? 1 : 0;
  EXPECT_EQ(classified, 5);
  const Classification refused = g.classifier->ClassifyOne(Png());
  EXPECT_NE(refused.error.find("rate limit"), std::string::npos) << refused.error;
  clock.Advance(std::chrono::milliseconds(300));  // three more tokens
  classified = 0;
  for (int i = 0; i < 5; ++i) classified += g.classifier->ClassifyOne(Png()).ok() ? 1 : 0;
  EXPECT_EQ(classified, 3);
  EXPECT_EQ(*g.calls, 8);
}

TEST(GuardedClassifier, PastMaxInFlightCallsAnUploadIsRecordedUnscoredInsteadOfWaiting) {
  // A classifier that answers only when told: the first call waits in it.
  class Held final : public Classifier {
   public:
    const std::string& name() const override { return name_; }
    bool Accepts(std::string_view) const override { return true; }
    std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) override {
      entered.set_value();
      release.get_future().wait();
      Classification c;
      c.labels.push_back({"match", 0.5});
      return std::vector<Result<Classification>>(inputs.size(), c);
    }
    std::promise<void> entered, release;
    std::string name_ = "held";
  };
  auto held = std::make_unique<Held>();
  Held* inner = held.get();
  ClassifierLimits limits;
  limits.max_in_flight = 1;
  GuardedClassifier g(std::move(held), limits, SystemClock());
  auto first = std::async(std::launch::async, [&] { return g.ClassifyOne(Png("a")); });
  inner->entered.get_future().wait();
  const Classification second = g.ClassifyOne(Png("b"));
  EXPECT_NE(second.error.find("in flight"), std::string::npos) << second.error;
  inner->release.set_value();
  EXPECT_TRUE(first.get().ok());
  EXPECT_EQ(g.Stats().skipped, 1);
  EXPECT_EQ(g.Stats().classified, 1);
}

TEST(GuardedClassifier, AnAnswerWithTheWrongNumberOfResultsIsAnErrorForEveryUpload) {
  class Short final : public Classifier {
   public:
    const std::string& name() const override { return name_; }
    bool Accepts(std::string_view) const override { return true; }
    std::vector<Result<Classification>> Classify(std::span<const ClassifierInput>) override { return {}; }
    std::string name_ = "short";
  };
  SettableClock clock;
  GuardedClassifier g(std::make_unique<Short>(), {}, clock);
  std::vector<ClassifierInput> inputs{Png("a"), Png("b")};
  const auto out = g.Classify(inputs);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& c : out) EXPECT_NE(c.error.find("answered 0 results for 2"), std::string::npos) << c.error;
}

// ---- the HTTP adapters against stand-ins ------------------------------------------------------

class HttpClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(standin_.Start()); }

  std::unique_ptr<Classifier> Make(const std::string& kind, std::string path, const std::string& key = "k-123",
                                   std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    classify::HttpClassifierConfig config;
    config.name = "svc";
    config.kind = kind;
    config.url = standin_.origin() + std::move(path);
    config.key = key;
    config.timeout = timeout;
    if (kind == "http-json") config.request_template = R"({"image": "{{image_base64}}", "id": "{{content_id}}", "sha": "{{sha256}}", "keep": "{{other}}"})";
    auto made = classify::MakeHttpClassifier(config);
    EXPECT_TRUE(made) << made.error().ToString();
    return made ? std::move(*made) : nullptr;
  }

  static std::string Base64Of(const ClassifierInput& input) {
    return net::Base64(std::string(reinterpret_cast<const char*>(input.bytes.data()), input.bytes.size()));
  }

  testing::ClassifierStandIn standin_{"k-123"};
};

TEST_F(HttpClassifierTest, ContentSafetyScoresABatchInOneCallByReviewPriority) {
  const testing::Bytes second = testing::EncodePng(testing::MakePattern(64, 48, 3, 2));
  std::vector<ClassifierInput> inputs{Png("a"), Png("b")};
  inputs[1].bytes = second;
  standin_.SetPriority(Base64Of(inputs[1]), "HIGH");
  auto classifier = Make("google-content-safety", "/v1beta1/images:classify");
  EXPECT_EQ(classifier->max_batch(), 32u);
  const auto out = classifier->Classify(inputs);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(out[0] && out[1]);
  EXPECT_EQ(out[0]->Score("review_priority"), 0.0);
  EXPECT_EQ(out[1]->Score("review_priority"), 0.75);
  EXPECT_EQ(out[1]->version, "standin-7");
  EXPECT_EQ(standin_.Requests("google"), 1);
}

// batch_wait_ms: uploads classified at once from many worker threads go to Google in shared
// requests, through the guard, and each upload gets its own picture's priority.
TEST_F(HttpClassifierTest, ConcurrentUploadsGoToContentSafetyInSharedRequestsWithBatchWait) {
  classify::ClassifierSpec spec;
  spec.http.name = "content-safety";
  spec.http.kind = "google-content-safety";
  spec.http.url = standin_.origin() + "/v1beta1/images:classify";
  spec.http.key = "k-123";
  spec.batch_wait = std::chrono::milliseconds(100);
  spec.limits.max_in_flight = 0;
  std::vector<classify::ClassifierSpec> specs{spec};
  auto set = classify::ClassifierSet::Make(std::move(specs), SystemClock());
  ASSERT_TRUE(set) << set.error().ToString();
  constexpr int kUploads = 12;
  std::vector<testing::Bytes> pictures;
  for (int i = 0; i < kUploads; ++i) pictures.push_back(testing::EncodePng(testing::MakePattern(32, 24, 3, 100 + i)));
  for (int i = 0; i < kUploads; i += 3) {
    standin_.SetPriority(net::Base64(std::string(pictures[i].begin(), pictures[i].end())), "VERY_HIGH");
  }
  std::vector<std::future<std::vector<Classification>>> answers;
  for (int i = 0; i < kUploads; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      return (*set)->ClassifyUpload({"u-" + std::to_string(i), "image/png", pictures[i], {}});
    }));
  }
  for (int i = 0; i < kUploads; ++i) {
    const auto got = answers[i].get();
    ASSERT_EQ(got.size(), 1u);
    ASSERT_TRUE(got[0].ok()) << got[0].error;
    EXPECT_EQ(got[0].Score("review_priority"), i % 3 == 0 ? 1.0 : 0.0) << "upload " << i << " got its own picture's answer";
  }
  EXPECT_LT(standin_.Requests("google"), kUploads / 2) << "uploads shared requests";
  EXPECT_EQ((*set)->Stats()[0].stats.classified, kUploads);
}

TEST_F(HttpClassifierTest, AWrongKeyIsARefusalNamingTheServiceNotTheKey) {
  auto classifier = Make("google-content-safety", "/v1beta1/images:classify", "wrong-key");
  const auto out = classifier->Classify(std::vector<ClassifierInput>{Png()});
  ASSERT_FALSE(out[0]);
  EXPECT_EQ(out[0].error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(out[0].error().message.find("wrong-key"), std::string::npos) << out[0].error().message;
  EXPECT_NE(out[0].error().message.find("HTTP 403"), std::string::npos) << out[0].error().message;
}

TEST_F(HttpClassifierTest, SaferPredictSendsTheFileAsMediaAndReadsEveryClassScore) {
  const ClassifierInput input = Png();
  standin_.SetSaferScore(std::string(reinterpret_cast<const char*>(input.bytes.data()), input.bytes.size()), 0.93);
  auto classifier = Make("safer-predict", "/api/v2/task/sync");
  const auto out = classifier->Classify(std::vector<ClassifierInput>{input});
  ASSERT_TRUE(out[0]) << out[0].error().ToString();
  EXPECT_EQ(out[0]->Score("csam"), 0.93);
  EXPECT_EQ(out[0]->Score("pornography"), 0.0);
  EXPECT_NEAR(*out[0]->Score("other"), 0.07, 1e-9);
  EXPECT_EQ(out[0]->model, "safer-predict");
  EXPECT_EQ(out[0]->version, "csam_classifier");
}

TEST_F(HttpClassifierTest, TheGenericAdapterFillsItsTemplateAndReadsScoresModelAndVersion) {
  classify::HttpClassifierConfig config;
  config.name = "own";
  config.kind = "http-json";
  config.url = standin_.origin() + "/classify";
  config.request_template = R"({"image": "{{image_base64}}", "id": "{{content_id}}", "sha": "{{sha256}}", "note": "{{content_id}} is not replaced inside text"})";
  config.model_pointer = "/model";
  config.version_pointer = "/version";
  auto classifier = classify::MakeHttpClassifier(config);
  ASSERT_TRUE(classifier) << classifier.error().ToString();
  ClassifierInput input = Png("upload-\"quoted\"");
  input.hashes["sha256"] = Sha256Hex(std::vector<std::uint8_t>(input.bytes.begin(), input.bytes.end()));
  standin_.SetScore(input.content_id, 0.42);
  const auto out = (*classifier)->Classify(std::vector<ClassifierInput>{input});
  ASSERT_TRUE(out[0]) << out[0].error().ToString();
  EXPECT_EQ(out[0]->Score("match"), 0.42);
  EXPECT_EQ(out[0]->model, "standin-model");
  EXPECT_EQ(out[0]->version, "1.2");
  const auto sent = boost::json::parse(standin_.LastJsonRequest()).as_object();
  EXPECT_EQ(sent.at("id").as_string(), "upload-\"quoted\"");
  EXPECT_EQ(sent.at("sha").as_string(), input.hashes["sha256"]);
  EXPECT_EQ(sent.at("image").as_string(), Base64Of(input));
  EXPECT_EQ(sent.at("note").as_string(), "{{content_id}} is not replaced inside text");
}

TEST_F(HttpClassifierTest, AClassifierSentHashesAloneTakesUploadsOfAnySize) {
  classify::HttpClassifierConfig config;
  config.name = "hashes-only";
  config.kind = "http-json";
  config.url = standin_.origin() + "/classify";
  config.request_template = R"({"id": "{{content_id}}", "sha256": "{{sha256}}"})";
  config.max_upload_bytes = 10;
  auto hashes_only = classify::MakeHttpClassifier(config);
  ASSERT_TRUE(hashes_only);
  EXPECT_TRUE((*hashes_only)->Classify(std::vector<ClassifierInput>{Png()})[0]);
  config.request_template = R"({"id": "{{content_id}}", "image": "{{image_base64}}"})";
  auto with_media = classify::MakeHttpClassifier(config);
  ASSERT_TRUE(with_media);
  const auto refused = (*with_media)->Classify(std::vector<ClassifierInput>{Png()});
  ASSERT_FALSE(refused[0]);
  EXPECT_EQ(refused[0].error().code, ErrorCode::kTooLarge);
}

TEST_F(HttpClassifierTest, HostileAnswersAreRefusedWithWhatWasWrong) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"scores": {"match": 3}})", "not within 0..1"},
      {R"({"scores": {"match": -0.1}})", "not within 0..1"},
      {R"({"scores": {"match": "high"}})", "not a number"},
      {R"({"scores": {"": 0.5}})", "label of 0 bytes"},
      {R"({"scores": [{"label": "a"}]})", "{\"label\": text, \"score\": number}"},
      {R"({"scores": 7})", "neither an object"},
      {R"({"other": {}})", "nothing at /scores"},
      {R"({"scores": {"a": 1, "a": 0}})", "duplicate key"},
      {R"({"scores": [{"label": "a", "score": 0.1}, {"label": "a", "score": 0.99}]})", "scores 'a' twice"},
      {"<html>oops</html>", "other than JSON"},
  };
  auto classifier = Make("http-json", "/classify");
  for (const auto& [body, why] : cases) {
    standin_.FailAt("json", 0, testing::StandInFault::Body(body));
    const auto out = classifier->Classify(std::vector<ClassifierInput>{Png()});
    ASSERT_FALSE(out[0]) << body;
    EXPECT_EQ(out[0].error().code, ErrorCode::kCorrupt) << body;
    EXPECT_NE(out[0].error().message.find(why), std::string::npos) << body << " -> " << out[0].error().message;
  }
  std::string many = R"({"scores": {)";
  for (int i = 0; i < 65; ++i) many += (i ? "," : "") + std::string("\"l") + std::to_string(i) + "\": 0.1";
  standin_.FailAt("json", 0, testing::StandInFault::Body(many + "}}"));
  const auto out = classifier->Classify(std::vector<ClassifierInput>{Png()});
  ASSERT_FALSE(out[0]);
  EXPECT_NE(out[0].error().message.find("over 64 labels"), std::string::npos) << out[0].error().message;
}

TEST_F(HttpClassifierTest, A429IsThrottledAndNotRetriedWhileA500IsRetried) {
  SettableClock clock;
  ClassifierLimits limits;
  limits.attempts = 3;
  GuardedClassifier g(Make("http-json", "/classify"), limits, clock, [](auto) {});
  standin_.FailAt("json", 0, testing::StandInFault::Http429(1));
  const Classification throttled = g.ClassifyOne(Png());
  EXPECT_NE(throttled.error.find("throttled"), std::string::npos) << throttled.error;
  EXPECT_EQ(standin_.Requests("json"), 1);
  standin_.FailAt("json", 0, testing::StandInFault::Http500(), 2);
  const Classification retried = g.ClassifyOne(Png());
  EXPECT_TRUE(retried.ok()) << retried.error;
  EXPECT_EQ(standin_.Requests("json"), 4);
}

TEST_F(HttpClassifierTest, ASlowAnswerIsGivenUpAtTheTimeout) {
  auto classifier = Make("http-json", "/classify", "", std::chrono::milliseconds(150));
  standin_.FailAt("json", 0, testing::StandInFault::Delay(1500));
  const auto started = std::chrono::steady_clock::now();
  const auto out = classifier->Classify(std::vector<ClassifierInput>{Png()});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(out[0]);
  EXPECT_NE(out[0].error().message.find("within 150 ms"), std::string::npos) << out[0].error().message;
  EXPECT_LT(took, std::chrono::milliseconds(1200));
}

TEST_F(HttpClassifierTest, AServiceThatIsDownOpensTheCircuitAndLaterUploadsAreNotKeptWaiting) {
  SettableClock clock;
  ClassifierLimits limits;
  limits.attempts = 1;
  limits.circuit_failures = 2;
  GuardedClassifier g(Make("http-json", "/classify"), limits, clock);
  standin_.Stop();
  EXPECT_NE(g.ClassifyOne(Png()).error.find("cannot reach"), std::string::npos);
  EXPECT_FALSE(g.ClassifyOne(Png()).ok());
  const Classification skipped = g.ClassifyOne(Png());
  EXPECT_NE(skipped.error.find("circuit open"), std::string::npos) << skipped.error;
  EXPECT_EQ(g.Stats().calls, 2);
}

TEST(HttpClassifierConfig, AdaptersRefuseWhatCannotWork) {
  classify::HttpClassifierConfig config;
  config.name = "x";
  config.kind = "magic";
  EXPECT_NE(classify::MakeHttpClassifier(config).error().message.find("unknown kind 'magic'"), std::string::npos);
  config.kind = "http-json";
  config.url = "http://example.com/classify";
  EXPECT_NE(classify::MakeHttpClassifier(config).error().message.find("https"), std::string::npos);
  config.url = "https://models.example/classify";
  config.request_template = "{not json";
  EXPECT_NE(classify::MakeHttpClassifier(config).error().message.find("'request' is not JSON"), std::string::npos);
  config.kind = "google-content-safety";
  config.url.clear();
  EXPECT_NE(classify::MakeHttpClassifier(config).error().message.find("needs a key"), std::string::npos);
}

// ---- the classifiers file ---------------------------------------------------------------------

TEST(ClassifiersFile, AFileWithEveryKindParsesWithItsLimits) {
  auto specs = classify::ParseClassifiers(R"(
[[classifier]]
name = "content-safety"
kind = "google-content-safety"
key = "env:VIGIL_TEST_CS_KEY"
rate_per_second = 200
circuit_failures = 4
circuit_open_seconds = 20
batch_wait_ms = 15

[[classifier]]
name = "own-model"
kind = "http-json"
url = "https://models.example/v1/score"
request = '{"image": "{{image_base64}}"}'
scores = "/result/labels"
timeout_ms = 500
attempts = 3
media_types = ["image/jpeg", "image/png"]

[[classifier]]
name = "local"
kind = "onnx"
card = "models/local.card.toml"
workers = 3
)",
                                         "classifiers.toml");
  ASSERT_TRUE(specs) << specs.error().ToString();
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[0].batch_wait, std::chrono::milliseconds(15));
  EXPECT_EQ((*specs)[2].card, "models/local.card.toml");
  EXPECT_EQ((*specs)[2].workers, 3);
  EXPECT_EQ((*specs)[0].limits.rate_per_second, 200);
  EXPECT_EQ((*specs)[0].limits.circuit_failures, 4);
  EXPECT_EQ((*specs)[0].http.key, "env:VIGIL_TEST_CS_KEY");
  EXPECT_EQ((*specs)[1].http.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ((*specs)[1].limits.attempts, 3);
  EXPECT_EQ((*specs)[1].http.scores_pointer, "/result/labels");
}

TEST(ClassifiersFile, MistakesAreRefusedWithTheLineAndClassifierNamed) {
  const std::pair<std::string, std::string> cases[] = {
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"https://x.example/\"\ncolour = 1\n", "unknown classifier key 'colour'"},
      {"[[classifier]]\nname = \"a\"\nkind = \"google-content-safety\"\nkey = \"AIzaSyLiteralKey\"\n", "never the secret itself"},
      {"[[classifier]]\nname = \"a\"\nkind = \"google-content-safety\"\n", "needs a key"},
      {"[[classifier]]\nname = \"A B\"\nkind = \"http-json\"\n", "'name' must be"},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"https://x.example/\"\n[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"https://x.example/\"\n", "comes earlier"},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"https://x.example/\"\ntimeout_ms = 0\n", "'timeout_ms' must be an integer within 1..120000"},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\n", "needs a 'url'"},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"ftp://x.example/\"\n", "classifier 'a'"},
      {"rules = 1\n", "unknown key 'rules'"},
      {"[[classifier]]\nname = \"a\"\nkind = \"google-content-safety\"\nkey = \"env:K\"\nrequest = '{}'\n", "c.toml:5 (classifier 'a'): 'request' is read by http-json classifiers only"},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"https://x.example/\"\nmedia_types = [\"text/*\"]\n", "c.toml:5 (classifier 'a'): media type 'text/*' is not an image or video type"},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\n\nurl = \"http://x.example/\"\n", "c.toml:5 (classifier 'a'): "},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"https://x.example/\"\n\ntimeout_ms = -4\n", "c.toml:6 (classifier 'a'): 'timeout_ms'"},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"https://x.example/\"\nbatch_wait_ms = 10\n", "c.toml:5 (classifier 'a'): 'batch_wait_ms' is read by classifiers that take batches"},
      {"[[classifier]]\nname = \"a\"\nkind = \"onnx\"\n", "an onnx classifier needs 'card'"},
      {"[[classifier]]\nname = \"a\"\nkind = \"onnx\"\ncard = \"c.toml\"\nurl = \"https://x.example/\"\n", "c.toml:5 (classifier 'a'): 'url' is not read by onnx classifiers"},
      {"[[classifier]]\nname = \"a\"\nkind = \"onnx\"\ncard = \"c.toml\"\nmedia_types = [\"video/*\"]\n", "takes images only"},
      {"[[classifier]]\nname = \"a\"\nkind = \"http-json\"\nurl = \"https://x.example/\"\ncard = \"c.toml\"\n", "'card' is read by onnx classifiers only"},
  };
  for (const auto& [text, why] : cases) {
    auto specs = classify::ParseClassifiers(text, "c.toml");
    ASSERT_FALSE(specs) << text;
    EXPECT_NE(specs.error().message.find(why), std::string::npos) << text << " -> " << specs.error().message;
    EXPECT_EQ(specs.error().message.rfind("c.toml", 0), 0u) << specs.error().message;
  }
}

TEST(ClassifiersFile, LoadReadsTheKeyFromWhereItSaysAndAMissingKeyStopsTheLoad) {
  testing::TempDir dir;
  const auto path = dir.path() / "classifiers.toml";
  std::ofstream(path) << "[[classifier]]\nname = \"cs\"\nkind = \"google-content-safety\"\nkey = \"env:VIGIL_TEST_NO_SUCH_KEY\"\n";
  ::unsetenv("VIGIL_TEST_NO_SUCH_KEY");
  auto missing = classify::ClassifierSet::Load(path.string(), SystemClock());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("classifier 'cs'"), std::string::npos) << missing.error().message;
  ::setenv("VIGIL_TEST_NO_SUCH_KEY", "k", 1);
  auto loaded = classify::ClassifierSet::Load(path.string(), SystemClock());
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  EXPECT_EQ((*loaded)->Stats().size(), 1u);
  ::unsetenv("VIGIL_TEST_NO_SUCH_KEY");
}

// ---- rules on scores --------------------------------------------------------------------------

ContentFacts Scored(const std::string& classifier, const std::string& label, double score) {
  ContentFacts facts;
  facts.media_type = "image/png";
  Classification c;
  c.classifier = classifier;
  c.labels.push_back({label, score});
  facts.classifications.push_back(c);
  return facts;
}

constexpr const char* kScoreRules = R"(
[[rule]]
name = "likely"
classifiers = ["own"]
labels = ["match"]
min_score = 0.9
actions = ["block", "hold"]
hold_priority = 1
category = "csam"

[[rule]]
name = "listed"
banks = ["stand-ins"]
actions = ["block", "hold", "queue_report"]
category = "csam"

[[queue]]
name = "classifier-review"
sources = ["classifier"]
)";

TEST(ClassifierRules, AScoreAtTheThresholdHoldsWithThePriorityAndBelowItNothingFires) {
  auto rules = PolicyRules::Parse(kScoreRules, "rules.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  const PolicyOutcome at = rules->Evaluate(Scored("own", "match", 0.9));
  EXPECT_TRUE(at.hold && at.block);
  EXPECT_EQ(at.hold_priority, 1);
  EXPECT_TRUE(at.classifier_only);
  EXPECT_FALSE(at.queue_report);
  EXPECT_EQ(at.queue, "classifier-review");
  EXPECT_EQ(at.category.id, "csam");
  EXPECT_FALSE(rules->Evaluate(Scored("own", "match", 0.8999)).Acts());
  EXPECT_FALSE(rules->Evaluate(Scored("own", "other", 0.99)).Acts()) << "another label";
  EXPECT_FALSE(rules->Evaluate(Scored("someone-else", "match", 0.99)).Acts()) << "another classifier";
  ContentFacts failed = Scored("own", "match", 0.99);
  failed.classifications[0].error = "timed out";
  EXPECT_FALSE(rules->Evaluate(failed).Acts()) << "an answer with an error is never acted on";
  ContentFacts later = Scored("own", "match", 0.99);
  later.found_later = true;
  EXPECT_FALSE(rules->Evaluate(later).Acts());
}

TEST(ClassifierRules, AHashMatchBesideAScoreIsAHashMatch) {
  auto rules = PolicyRules::Parse(kScoreRules, "rules.toml");
  ASSERT_TRUE(rules);
  ContentFacts facts = Scored("own", "match", 0.95);
  facts.matches.push_back({"stand-ins", {}, "csam", "", "pdq", 4, 90});
  const PolicyOutcome out = rules->Evaluate(facts);
  EXPECT_FALSE(out.classifier_only);
  EXPECT_TRUE(out.queue_report);
  EXPECT_NE(out.queue, "classifier-review");
}

TEST(ClassifierRules, AListsCategoryWinsOverAScoresForTheSameUpload) {
  auto rules = PolicyRules::Parse(R"(
[[rule]]
name = "scored"
min_score = 0.5
actions = ["block", "hold"]
category = "other"

[[rule]]
name = "intimate"
banks = ["ncii-list"]
actions = ["block", "hold"]
category = "ncii"
)",
                                  "rules.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  ContentFacts facts = Scored("own", "match", 0.9);
  facts.matches.push_back({"ncii-list", {}, "ncii", "", "sha256", 0, std::nullopt});
  const PolicyOutcome out = rules->Evaluate(facts);
  EXPECT_EQ(out.category.id, "ncii");
  EXPECT_FALSE(out.classifier_only);
  EXPECT_EQ(rules->Evaluate(Scored("own", "match", 0.9)).category.id, "other");
}

TEST(ClassifierRules, ASecondReviewMayBeAskedOfAScoreRule) {
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"r\"\nmin_score = 0.5\nactions = [\"hold\"]\nsecond_review = true\n", "rules.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  EXPECT_TRUE(rules->Evaluate(Scored("own", "match", 0.9)).second_review);
}

TEST(ClassifierRules, RulesNamingAClassifierThatIsNotRunningAreRefused) {
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"typo\"\nclassifiers = [\"content-safty\"]\nmin_score = 0.5\nactions = [\"hold\"]\n", "rules.toml");
  ASSERT_TRUE(rules);
  auto none = classify::CheckRulesNameClassifiers(*rules, nullptr, "rules.toml");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("rules.toml:1 (rule 'typo'): fires on classifier scores, and no classifiers"), std::string::npos)
      << none.error().message;
  classify::ClassifierSpec spec;
  spec.http.name = "content-safety";
  spec.http.kind = "http-json";
  spec.http.url = "https://models.example/score";
  std::vector<classify::ClassifierSpec> specs{spec};
  auto set = classify::ClassifierSet::Make(std::move(specs), SystemClock());
  ASSERT_TRUE(set);
  auto typo = classify::CheckRulesNameClassifiers(*rules, set->get(), "rules.toml");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("no classifier 'content-safty' is configured (content-safety)"), std::string::npos)
      << typo.error().message;
  auto plain = PolicyRules::Parse("[[rule]]\nname = \"listed\"\nbanks = [\"b\"]\nactions = [\"hold\"]\n", "rules.toml");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(classify::CheckRulesNameClassifiers(*plain, nullptr, "rules.toml"));
}

TEST(ClassifierRules, RulesThatWouldLetAScoreReportBanOrNotifyAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {"actions = [\"block\", \"hold\", \"queue_report\"]", "never reports"},
      {"actions = [\"hold\", \"suspend\"]", "never reports, acts on an account"},
      {"actions = [\"block\", \"hold\", \"notify\"]", "notifies the user"},
      {"actions = [\"block\"]", "must 'hold'"},
      {"actions = [\"hold\"]\nbanks = [\"x\"]", "no hash-match conditions"},
      {"actions = [\"hold\"]\nfound = \"later\"", "'found' must be"},
      {"actions = [\"hold\"]\nstop = true", "cannot 'stop'"},
  };
  for (const auto& [extra, why] : cases) {
    const std::string text = "[[rule]]\nname = \"r\"\nmin_score = 0.5\n" + extra + "\n";
    auto rules = PolicyRules::Parse(text, "rules.toml");
    ASSERT_FALSE(rules) << text;
    EXPECT_NE(rules.error().message.find(why), std::string::npos) << text << " -> " << rules.error().message;
  }
  auto no_score = PolicyRules::Parse("[[rule]]\nname = \"r\"\nlabels = [\"x\"]\nactions = [\"hold\"]\n", "rules.toml");
  ASSERT_FALSE(no_score);
  EXPECT_NE(no_score.error().message.find("need 'min_score'"), std::string::npos);
  auto bad = PolicyRules::Parse("[[rule]]\nname = \"r\"\nmin_score = 1.5\nactions = [\"hold\"]\n", "rules.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("within 0..1"), std::string::npos);
}

// ---- uploads scored, on both backends ---------------------------------------------------------

using Backend = testing::StoreBackend;

class ClassifiedUploadTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(GetParam(), dir_.path(), postgres_);
    if (store_ == nullptr) return;
    ASSERT_TRUE(standin_.Start());
    listed_ = testing::EncodePng(testing::MakePattern(96, 64, 3, 7));
    testing::ListedMatch(*store_, "stand-ins", "csam", Sha256Hex(listed_));
    matcher_ = std::make_unique<Matcher>(*store_);
    ASSERT_TRUE(matcher_->Load());
    auto rules = PolicyRules::Parse(kScoreRules, "rules.toml");
    ASSERT_TRUE(rules) << rules.error().ToString();
    rules_ = std::make_shared<const PolicyRules>(std::move(*rules));
    classify::ClassifierSpec spec;
    spec.http.name = "own";
    spec.http.kind = "http-json";
    spec.http.url = standin_.origin() + "/classify";
    spec.http.request_template = R"({"image": "{{image_base64}}", "id": "{{content_id}}"})";
    spec.http.model_pointer = "/model";
    spec.http.version_pointer = "/version";
    spec.limits.attempts = 1;
    spec.limits.circuit_failures = 2;
    std::vector<classify::ClassifierSpec> specs{spec};
    auto set = classify::ClassifierSet::Make(std::move(specs), SystemClock());
    ASSERT_TRUE(set) << set.error().ToString();
    classifiers_ = *set;
    UploadWorkflowOptions options;
    options.classify = [set = classifiers_](const ClassifierInput& input) { return set->ClassifyUpload(input); };
    workflow_ = std::make_unique<UploadWorkflow>(store_->Cases(), *matcher_, MediaHasher{}, nullptr, options);
    workflow_->SetRules(rules_);
  }

  Result<RecordedUpload> Submit(const std::string& id, const testing::Bytes& bytes, const std::string& user) {
    return workflow_->Submit({id, user, "", bytes});
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Matcher> matcher_;
  std::shared_ptr<const PolicyRules> rules_;
  std::shared_ptr<classify::ClassifierSet> classifiers_;
  std::unique_ptr<UploadWorkflow> workflow_;
  testing::ClassifierStandIn standin_{"unused"};
  testing::Bytes listed_;
};

TEST_P(ClassifiedUploadTest, AHighScoreReachesTheReviewQueueWithItsScoresAndNothingIsReported) {
  if (store_ == nullptr) GTEST_SKIP() << "no PostgreSQL";
  standin_.SetScore("novel-1", 0.97);
  const auto bytes = testing::EncodePng(testing::MakePattern(80, 60, 3, 11));
  auto recorded = Submit("novel-1", bytes, "user-7");
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  ASSERT_TRUE(recorded->opened.has_value());
  EXPECT_TRUE(recorded->content.matches.empty());
  ASSERT_EQ(recorded->content.classifications.size(), 1u);
  EXPECT_EQ(recorded->content.classifications[0].Score("match"), 0.97);
  EXPECT_EQ(recorded->content.classifications[0].model, "standin-model");
  EXPECT_EQ(recorded->content.state, "blocked");
  const auto policy = boost::json::parse(recorded->content.policy_outcome).as_object();
  EXPECT_EQ(policy.at("queue").as_string(), "classifier-review");
  EXPECT_FALSE(policy.at("queue_report").as_bool());
  EXPECT_EQ(policy.at("account_action").as_string(), "none");
  auto c = store_->Cases().GetCase(recorded->opened->id);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_FALSE(c->report_queued);
  EXPECT_EQ(c->queue, "classifier-review");
  EXPECT_EQ(c->priority, 1);
  ASSERT_EQ(c->items.size(), 1u);
  ASSERT_EQ(c->items[0].classifications.size(), 1u);
  EXPECT_EQ(c->items[0].classifications[0].Score("match"), 0.97);
  auto reports = store_->Reports().ListReports(std::nullopt, 10);
  ASSERT_TRUE(reports);
  EXPECT_TRUE(reports->empty()) << "no report drafted before a person confirms";
  auto account = store_->Cases().GetAccount("user-7");
  ASSERT_TRUE(account);
  EXPECT_EQ(account->state, "active");
  // What the user is owed for the block says it is held for review, not that a list matched it.
  auto actions = store_->Cases().ListActions("user-7");
  ASSERT_TRUE(actions);
  ASSERT_EQ(actions->size(), 1u);
  const StatementOfReasons& told = actions->front().statement;
  EXPECT_NE(told.facts.find("flagged this upload for review"), std::string::npos) << told.facts;
  EXPECT_EQ(told.facts.find("matched a list"), std::string::npos) << told.facts;
  EXPECT_EQ(told.ground.find("abuse"), std::string::npos) << told.ground;
}

TEST_P(ClassifiedUploadTest, ConfirmingAClassifiedUploadCountsItUnderTheClassifierSource) {
  if (store_ == nullptr) GTEST_SKIP() << "no PostgreSQL";
  standin_.SetScore("novel-2", 0.95);
  auto recorded = Submit("novel-2", testing::EncodePng(testing::MakePattern(80, 60, 3, 12)), "user-8");
  ASSERT_TRUE(recorded && recorded->opened) << (recorded ? "no case" : recorded.error().ToString());
  ASSERT_TRUE(store_->Cases().ClaimCase(recorded->opened->id, "alice"));
  DecisionWorkflow decisions(*store_, {});
  CaseStore::DecisionRequest violating;
  violating.verdict = Verdict::kViolating;
  violating.category = testing::BuiltInCategory("csam");
  violating.reason = "confirmed by a person";
  violating.classification = "B1";
  // A score is a reason to look: confirming without looking is refused.
  auto unseen = decisions.Decide(recorded->opened->id, violating, "alice");
  ASSERT_FALSE(unseen);
  EXPECT_NE(unseen.error().message.find("flagged by a classifier and matched no list: reveal it"), std::string::npos)
      << unseen.error().message;
  ASSERT_TRUE(store_->Cases().RecordView(recorded->opened->id, "novel-2", "alice"));
  auto decided = decisions.Decide(recorded->opened->id, violating, "alice");
  ASSERT_TRUE(decided) << decided.error().ToString();
  const std::int64_t now = SystemClock().NowMicros();
  auto report = BuildTransparencyReport(store_->Reports(), now - 86'400'000'000, now + 86'400'000'000);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->total.content_actioned_by_source["classifier"], 1);
  EXPECT_EQ(report->total.content_actioned_by_source.count("other"), 0u);
}

TEST_P(ClassifiedUploadTest, ALowScoreIsRecordedWithTheUploadAndNothingActs) {
  if (store_ == nullptr) GTEST_SKIP() << "no PostgreSQL";
  standin_.SetScore("plain-1", 0.2);
  auto recorded = Submit("plain-1", testing::EncodePng(testing::MakePattern(80, 60, 3, 13)), "user-9");
  ASSERT_TRUE(recorded) << recorded.error().ToString();
  EXPECT_FALSE(recorded->opened.has_value());
  EXPECT_EQ(recorded->content.id, 0) << "kept in `uploads` like any upload that matched nothing";
  auto stored = store_->GetContent("plain-1");
  ASSERT_TRUE(stored) << stored.error().ToString();
  ASSERT_EQ(stored->classifications.size(), 1u);
  EXPECT_EQ(stored->classifications[0].Score("match"), 0.2);
  EXPECT_EQ(stored->classifications[0].version, "1.2");
}

TEST_P(ClassifiedUploadTest, WithTheServiceDownUploadsAreStillHashedMatchedAndActedOnByTheirHashes) {
  if (store_ == nullptr) GTEST_SKIP() << "no PostgreSQL";
  standin_.Stop();
  for (int i = 0; i < 3; ++i) {
    auto plain = Submit("down-" + std::to_string(i), testing::EncodePng(testing::MakePattern(80, 60, 3, 20 + i)), "user-10");
    ASSERT_TRUE(plain) << plain.error().ToString();
    ASSERT_EQ(plain->content.classifications.size(), 1u);
    EXPECT_FALSE(plain->content.classifications[0].ok());
    EXPECT_EQ(plain->content.hashes.count("pdq"), 1u);
  }
  auto listed = Submit("listed-1", listed_, "user-11");
  ASSERT_TRUE(listed) << listed.error().ToString();
  ASSERT_EQ(listed->content.matches.size(), 1u);
  EXPECT_TRUE(listed->opened.has_value());
  ASSERT_EQ(listed->content.classifications.size(), 1u);
  EXPECT_NE(listed->content.classifications[0].error.find("circuit open"), std::string::npos)
      << listed->content.classifications[0].error;
  EXPECT_EQ(classifiers_->Stats()[0].stats.circuit, "open");
}

INSTANTIATE_TEST_SUITE_P(Backends, ClassifiedUploadTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& param_info) { return param_info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace vigil
