// Local models in the decoder sandbox, with tiny ONNX models the test writes (python3-onnx:
// tests/models/make_test_models.py) whose outputs are known functions of the picture, so every
// score is checked against a value computed here: preprocessing, layout, colour order, labels,
// thresholds and the rules on scores. Corrupt, mismatched and hostile model files are refused
// inside the sandbox with the reason, and the test process (the service) carries on.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <numeric>
#include <sstream>

#include <boost/json.hpp>

#include "classify/classifier_set.h"
#include "classify/local_model_classifier.h"
#include "sandbox/sandbox_pool.h"
#include "service_harness.h"
#include "test_images.h"
#include "vigil/clock.h"
#include "vigil/digest.h"
#include "vigil/policy.h"

namespace vigil {
namespace {

const std::filesystem::path& Models() {
  static const testing::TempDir* dir = [] {
    auto* d = new testing::TempDir();
    const std::string command = std::string("/usr/bin/python3 ") + VIGIL_TEST_MODELS_SCRIPT + " " + d->path().string();
    if (std::system(command.c_str()) != 0) ADD_FAILURE() << "could not write the test models (python3-onnx): " << command;
    return d;
  }();
  return dir->path();
}

testing::Bytes Png(const Image& img) { return testing::EncodePng(img); }

// A pool of one worker holding `model` under `input`: Start's result.
Result<std::unique_ptr<sandbox::SandboxPool>> StartWith(const std::string& file, const media::TensorSpec& input) {
  sandbox::PoolOptions options;
  options.executable = VIGIL_TEST_CLI;
  options.workers = 1;
  options.large_workers = 0;
  options.memory_bytes = 1ull << 30;
  options.models.push_back({"m", std::make_shared<const std::vector<std::uint8_t>>(testing::ReadFile(Models() / file)), input});
  return sandbox::SandboxPool::Start(options);
}

media::TensorSpec Input(std::uint32_t side, media::ColourOrder colour = media::ColourOrder::kRgb,
                        media::TensorLayout layout = media::TensorLayout::kNchw) {
  media::TensorSpec s;
  s.width = s.height = side;
  s.colour = colour;
  s.layout = layout;
  return s;
}

#define START_OR_SKIP(pool, file, input)                                                 \
  auto pool = StartWith(file, input);                                                     \
  if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message; \
  ASSERT_TRUE(pool) << pool.error().ToString()

TEST(LocalModel, TheBrightnessModelScoresAPictureByItsMeanBrightness) {
  START_OR_SKIP(pool, "brightness.onnx", Input(8));
  EXPECT_EQ((*pool)->ModelOutputs("m"), 2u);
  for (auto [r, g, b] : std::vector<std::array<std::uint8_t, 3>>{{0, 0, 0}, {255, 255, 255}, {200, 100, 50}, {17, 240, 99}}) {
    auto out = (*pool)->RunModel("m", Png(testing::MakeColour(30, 20, r, g, b)), {});
    ASSERT_TRUE(out) << out.error().ToString();
    const double bright = (r + g + b) / 3.0 / 255.0;
    ASSERT_EQ(out->size(), 2u);
    EXPECT_NEAR((*out)[0], bright, 1e-5);
    EXPECT_NEAR((*out)[1], 1 - bright, 1e-5);
  }
  // A picture of any size and content: the area resize keeps its mean, so the score is the mean
  // of its samples.
  const Image pattern = testing::MakePattern(173, 61, 3, 9);
  const double mean = std::accumulate(pattern.pixels.begin(), pattern.pixels.end(), 0.0) / pattern.pixels.size() / 255.0;
  auto out = (*pool)->RunModel("m", Png(pattern), {});
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_NEAR((*out)[0], mean, 1e-4);
}

TEST(LocalModel, ColourOrderMeanStdAndLayoutReachTheModelAsTheCardSays) {
  media::TensorSpec bgr = Input(4, media::ColourOrder::kBgr);
  bgr.mean = {0.1, 0.2, 0.3};
  bgr.std = {0.5, 0.25, 2.0};
  START_OR_SKIP(pool, "channels.onnx", bgr);
  auto out = (*pool)->RunModel("m", Png(testing::MakeColour(9, 9, 255, 102, 51)), {});
  ASSERT_TRUE(out) << out.error().ToString();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_NEAR((*out)[0], (51 / 255.0 - 0.1) / 0.5, 1e-5) << "blue first";
  EXPECT_NEAR((*out)[1], (102 / 255.0 - 0.2) / 0.25, 1e-5);
  EXPECT_NEAR((*out)[2], (1.0 - 0.3) / 2.0, 1e-5) << "red last";

  auto nhwc = StartWith("channels_nhwc.onnx", Input(4, media::ColourOrder::kRgb, media::TensorLayout::kNhwc));
  ASSERT_TRUE(nhwc) << nhwc.error().ToString();
  auto interleaved = (*nhwc)->RunModel("m", Png(testing::MakeColour(9, 9, 255, 102, 51)), {});
  ASSERT_TRUE(interleaved) << interleaved.error().ToString();
  EXPECT_NEAR((*interleaved)[0], 1.0, 1e-5);
  EXPECT_NEAR((*interleaved)[1], 0.4, 1e-5);
  EXPECT_NEAR((*interleaved)[2], 0.2, 1e-5);

  auto grey = StartWith("grey.onnx", Input(4, media::ColourOrder::kGrey));
  ASSERT_TRUE(grey) << grey.error().ToString();
  auto luma = (*grey)->RunModel("m", Png(testing::MakeColour(9, 9, 200, 100, 50)), {});
  ASSERT_TRUE(luma) << luma.error().ToString();
  EXPECT_NEAR((*luma)[0], (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255.0, 1e-5);
}

TEST(LocalModel, ACorruptModelFileIsRefusedInTheSandboxWithTheReason) {
  auto pool = StartWith("garbage.onnx", Input(8));
  if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message;
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(pool.error().message.find("model 'm' did not load in the sandbox: not an ONNX model OpenCV can run"), std::string::npos)
      << pool.error().message;
}

TEST(LocalModel, AModelThatDoesNotTakeTheCardsInputIsRefusedAtStart) {
  auto pool = StartWith("fixed_192.onnx", Input(16));
  if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message;
  ASSERT_FALSE(pool);
  EXPECT_NE(pool.error().message.find("the model does not take the card's input (16x16, nchw, 3 channels)"), std::string::npos)
      << pool.error().message;
  auto right = StartWith("fixed_192.onnx", Input(8));
  ASSERT_TRUE(right) << "the same model with the input it was made for: " << right.error().ToString();
}

TEST(LocalModel, AModelDeclaringWeightsBeyondTheWorkersMemoryIsContained) {
  auto pool = StartWith("huge_weights.onnx", Input(8));
  if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message;
  ASSERT_FALSE(pool) << "40 GB of declared weights with none present";
  EXPECT_NE(pool.error().message.find("model 'm' did not load in the sandbox"), std::string::npos) << pool.error().message;
  // This process, the service, is untouched: a pool with a good model starts next.
  auto good = StartWith("brightness.onnx", Input(8));
  ASSERT_TRUE(good) << good.error().ToString();
}

TEST(LocalModel, AModelSlowerThanAnUploadMayTakeIsRefusedAtStart) {
  sandbox::PoolOptions options;
  options.executable = VIGIL_TEST_CLI;
  options.workers = 1;
  options.large_workers = 0;
  options.memory_bytes = 1ull << 30;
  options.image_wall_seconds = 0.0005;  // half a millisecond an upload: no convolution network runs that fast
  options.models.push_back({"m", std::make_shared<const std::vector<std::uint8_t>>(testing::ReadFile(Models() / "bench_cnn.onnx")),
                            Input(224)});
  auto pool = sandbox::SandboxPool::Start(options);
  if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message;
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(pool.error().message.find("one run on a tensor of zeros took"), std::string::npos) << pool.error().message;
  EXPECT_NE(pool.error().message.find("more than an upload may take (0 ms)"), std::string::npos) << pool.error().message;
  options.image_wall_seconds = 60;
  auto fine = sandbox::SandboxPool::Start(options);
  ASSERT_TRUE(fine) << fine.error().ToString();
  EXPECT_GT((*fine)->Model("m")->run_ms, 0.0);
}

TEST(LocalModel, APictureOverTheDecodeLimitsOrAVideoGetsAnErrorAndTheWorkerStays) {
  START_OR_SKIP(pool, "brightness.onnx", Input(8));
  MediaHashOptions small;
  small.limits.max_pixels = 100;
  auto big = (*pool)->RunModel("m", Png(testing::MakeColour(20, 20, 1, 2, 3)), small);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge) << big.error().ToString();
  auto junk = (*pool)->RunModel("m", testing::Bytes{'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'}, {});
  ASSERT_FALSE(junk);
  auto unknown = (*pool)->RunModel("other", Png(testing::MakeColour(4, 4, 1, 2, 3)), {});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("no model 'other'"), std::string::npos);
  EXPECT_EQ((*pool)->Stats().workers_killed, 0) << "errors answered, no worker lost";
  auto fine = (*pool)->RunModel("m", Png(testing::MakeColour(4, 4, 255, 255, 255)), {});
  ASSERT_TRUE(fine) << fine.error().ToString();
  EXPECT_NEAR((*fine)[0], 1.0, 1e-5);
}

// The classifiers file's onnx kind, end to end below the service: card, digest, sandbox, scores,
// thresholds, and a rule on the score that holds the picture for a person.
class LocalClassifierTest : public ::testing::Test {
 protected:
  void WriteFiles(const std::string& labels, const std::string& extra = "") {
    const auto model = testing::ReadFile(Models() / "brightness.onnx");
    testing::WriteFile(dir_.path() / "models" / "brightness.onnx", model);
    std::ofstream(dir_.path() / "models" / "brightness.card.toml")
        << "model = \"brightness.onnx\"\nsha256 = \"" << Sha256Hex(std::span<const std::uint8_t>(model))
        << "\"\nname = \"brightness-demo\"\nversion = \"7\"\n[input]\nwidth = 8\nheight = 8\n[output]\nlabels = " << labels
        << "\n" << extra;
    std::ofstream(dir_.path() / "classifiers.toml")
        << "[[classifier]]\nname = \"bright\"\nkind = \"onnx\"\ncard = \"models/brightness.card.toml\"\nworkers = 1\n";
  }

  static classify::ModelHost Host() {
    return [](const classify::LocalModel& model) -> Result<classify::StartedModel> {
      sandbox::PoolOptions options;
      options.executable = VIGIL_TEST_CLI;
      options.workers = model.workers;
      options.large_workers = 0;
      options.memory_bytes = 1ull << 30;
      options.models.push_back({model.classifier, model.onnx, model.card.input});
      VIGIL_ASSIGN_OR_RETURN(auto pool, sandbox::SandboxPool::Start(options));
      std::shared_ptr<sandbox::SandboxPool> shared(std::move(pool));
      classify::StartedModel started;
      started.outputs = shared->ModelOutputs(model.classifier).value_or(0);
      started.run = [shared, name = model.classifier](std::span<const std::uint8_t> bytes) { return shared->RunModel(name, bytes, {}); };
      return started;
    };
  }

  void SetUp() override { std::filesystem::create_directories(dir_.path() / "models"); }
  testing::TempDir dir_;
};

TEST_F(LocalClassifierTest, AnUploadIsScoredWithTheCardsLabelsModelAndThresholds) {
  WriteFiles(R"(["bright", "dark"])", "[thresholds]\ndark = 0.5\n");
  auto set = classify::ClassifierSet::Load((dir_.path() / "classifiers.toml").string(), SystemClock(), Host());
  if (!set && set.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << set.error().message;
  ASSERT_TRUE(set) << set.error().ToString();
  const auto bytes = Png(testing::MakeColour(16, 16, 230, 230, 230));
  ClassifierInput input{"c-1", "image/png", bytes, {}};
  auto answers = (*set)->ClassifyUpload(input);
  ASSERT_EQ(answers.size(), 1u);
  const Classification& c = answers[0];
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.classifier, "bright");
  EXPECT_EQ(c.model, "brightness-demo");
  EXPECT_EQ(c.version, "7");
  ASSERT_EQ(c.labels.size(), 1u) << "dark scored under its threshold of 0.5 and is left out";
  EXPECT_NEAR(*c.Score("bright"), 230 / 255.0, 1e-5);
  const auto dark = Png(testing::MakeColour(16, 16, 20, 20, 20));
  auto low = (*set)->ClassifyUpload({"c-2", "image/png", dark, {}});
  ASSERT_EQ(low.size(), 1u);
  EXPECT_NEAR(*low[0].Score("dark"), 1 - 20 / 255.0, 1e-5);
  EXPECT_TRUE((*set)->ClassifyUpload({"c-3", "video/mp4", dark, {}}).empty()) << "images only";

  // A rule on the score holds the bright picture for a person, and nothing more.
  auto rules = PolicyRules::Parse("[[rule]]\nname = \"too-bright\"\nclassifiers = [\"bright\"]\nlabels = [\"bright\"]\n"
                                  "min_score = 0.8\nactions = [\"hold\"]\nhold_priority = 2\n",
                                  "rules.toml");
  ASSERT_TRUE(rules) << rules.error().ToString();
  ASSERT_TRUE(classify::CheckRulesNameClassifiers(*rules, set->get(), "rules.toml"));
  ContentFacts facts;
  facts.classifications = answers;
  const PolicyOutcome held = rules->Evaluate(facts);
  EXPECT_TRUE(held.hold);
  EXPECT_EQ(held.hold_priority, 2);
  EXPECT_TRUE(held.classifier_only);
  EXPECT_FALSE(held.queue_report);
  facts.classifications = low;
  EXPECT_FALSE(rules->Evaluate(facts).Acts());
}

TEST_F(LocalClassifierTest, AnInfiniteOutputIsAnErrorNamingTheOutputAndTheUploadGoesOn) {
  const auto model = testing::ReadFile(Models() / "log.onnx");
  testing::WriteFile(dir_.path() / "models" / "log.onnx", model);
  std::ofstream(dir_.path() / "models" / "log.card.toml")
      << "model = \"log.onnx\"\nsha256 = \"" << Sha256Hex(std::span<const std::uint8_t>(model))
      << "\"\nname = \"log\"\n[input]\nwidth = 4\nheight = 4\ncolour = \"grey\"\nmean = [0.0]\nstd = [1.0]\n[output]\nlabels = [\"l\"]\n"
         "activation = \"sigmoid\"\n";
  std::ofstream(dir_.path() / "classifiers.toml") << "[[classifier]]\nname = \"log\"\nkind = \"onnx\"\ncard = \"models/log.card.toml\"\n";
  auto set = classify::ClassifierSet::Load((dir_.path() / "classifiers.toml").string(), SystemClock(), Host());
  if (!set && set.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << set.error().message;
  ASSERT_TRUE(set) << set.error().ToString();
  const auto black = Png(testing::MakeColour(8, 8, 0, 0, 0));
  auto answers = (*set)->ClassifyUpload({"c-9", "image/png", black, {}});
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_NE(answers[0].error.find("model 'log': output 0 ('l') is not a finite number"), std::string::npos) << answers[0].error;
  EXPECT_EQ(answers[0].error.find("internal"), std::string::npos) << answers[0].error;
  EXPECT_EQ(answers[0].model, "log") << "an answer with an error still names the card's model";
  const auto white = Png(testing::MakeColour(8, 8, 255, 255, 255));
  auto fine = (*set)->ClassifyUpload({"c-10", "image/png", white, {}});
  ASSERT_TRUE(fine[0].ok()) << fine[0].error;
  EXPECT_NEAR(*fine[0].Score("l"), 0.5, 1e-6) << "sigmoid(log 1)";
}

TEST_F(LocalClassifierTest, ARuleOnALabelTheModelDoesNotAnswerIsRefused) {
  WriteFiles(R"(["bright", "dark"])");
  auto set = classify::ClassifierSet::Load((dir_.path() / "classifiers.toml").string(), SystemClock(), Host());
  if (!set && set.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << set.error().message;
  ASSERT_TRUE(set) << set.error().ToString();
  auto typo = PolicyRules::Parse("[[rule]]\nname = \"typo\"\nclassifiers = [\"bright\"]\nlabels = [\"brite\"]\nmin_score = 0.8\n"
                                 "actions = [\"hold\"]\n",
                                 "rules.toml");
  ASSERT_TRUE(typo) << typo.error().ToString();
  auto checked = classify::CheckRulesNameClassifiers(*typo, set->get(), "rules.toml");
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("rules.toml:1 (rule 'typo'): no label 'brite' is answered by the classifiers it reads (bright, dark)"),
            std::string::npos)
      << checked.error().message;
  auto any = PolicyRules::Parse("[[rule]]\nname = \"any\"\nlabels = [\"dark\"]\nmin_score = 0.8\nactions = [\"hold\"]\n", "rules.toml");
  ASSERT_TRUE(any);
  EXPECT_TRUE(classify::CheckRulesNameClassifiers(*any, set->get(), "rules.toml")) << "a label the model answers";
}

TEST_F(LocalClassifierTest, ACardNamingMoreLabelsThanTheModelAnswersStopsTheStart) {
  WriteFiles(R"(["bright", "dark", "grey"])");
  auto set = classify::ClassifierSet::Load((dir_.path() / "classifiers.toml").string(), SystemClock(), Host());
  if (!set && set.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << set.error().message;
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("classifier 'bright': the model answers 2 numbers and its card's [output] labels name 3"),
            std::string::npos)
      << set.error().message;
}

TEST_F(LocalClassifierTest, WithoutASandboxToRunItALocalModelIsRefusedNotRunInProcess) {
  WriteFiles(R"(["bright", "dark"])");
  auto set = classify::ClassifierSet::Load((dir_.path() / "classifiers.toml").string(), SystemClock());
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(set.error().message.find("local models run in the decoder sandbox"), std::string::npos) << set.error().message;
}

TEST_F(LocalClassifierTest, AModelFileChangedAfterItsCardWasWrittenIsRefused) {
  WriteFiles(R"(["bright", "dark"])");
  testing::WriteFile(dir_.path() / "models" / "brightness.onnx", testing::ReadFile(Models() / "channels.onnx"));
  auto set = classify::ClassifierSet::Load((dir_.path() / "classifiers.toml").string(), SystemClock(), Host());
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("classifier 'bright': "), std::string::npos) << set.error().message;
  EXPECT_NE(set.error().message.find("(a different model file)"), std::string::npos) << set.error().message;
}

// `vigil scan --config` with an onnx classifier: the binary's own host starts the model in its
// sandbox, scores each file, and a rule on the score holds the bright one.
TEST_F(LocalClassifierTest, AScanWithTheServiceConfigRunsTheLocalModelInTheSandbox) {
  WriteFiles(R"(["bright", "dark"])");
  const auto storage = dir_.path() / "storage" / "user-3";
  std::filesystem::create_directories(storage);
  testing::WriteFile(storage / "light.png", Png(testing::MakeColour(40, 30, 250, 250, 250)));
  testing::WriteFile(storage / "night.png", Png(testing::MakeColour(40, 30, 5, 5, 5)));
  std::ofstream(dir_.path() / "rules.toml") << "[[rule]]\nname = \"too-bright\"\nclassifiers = [\"bright\"]\nlabels = [\"bright\"]\n"
                                               "min_score = 0.9\nactions = [\"hold\"]\n";
  std::ofstream(dir_.path() / "vigil.toml") << "data_dir = \"" << (dir_.path() / "data").string() << "\"\nrules_file = \""
                                            << (dir_.path() / "rules.toml").string() << "\"\n[classifiers]\nfile = \""
                                            << (dir_.path() / "classifiers.toml").string() << "\"\n";
  auto run = testing::RunVigil({"scan", storage.string(), "--user-from-parent", "--config", (dir_.path() / "vigil.toml").string()});
  if (run.status != 0 && run.err.find("unsupported") != std::string::npos) GTEST_SKIP() << run.err;
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  int held = 0, scored = 0;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const auto o = boost::json::parse(line).as_object();
    if (!o.contains("classifications")) continue;
    const auto& c = o.at("classifications").at(0).as_object();
    ASSERT_TRUE(c.at("error").is_null()) << line;
    EXPECT_EQ(c.at("model").as_string(), "brightness-demo");
    ++scored;
    const bool light = o.at("path").as_string().ends_with("light.png");
    EXPECT_EQ(o.contains("case_id"), light) << line;
    held += o.contains("case_id") ? 1 : 0;
  }
  EXPECT_EQ(scored, 2) << run.out;
  EXPECT_EQ(held, 1);
}

// `vigil classifiers check`: an operator's dry run of a new classifiers file and card, without a
// database: what loads, the labels a local model answers, the rules checked, pictures scored.
TEST_F(LocalClassifierTest, ClassifiersCheckLoadsTheFileChecksTheRulesAndScoresPictures) {
  WriteFiles(R"(["bright", "dark"])");
  testing::WriteFile(dir_.path() / "white.png", Png(testing::MakeColour(20, 20, 255, 255, 255)));
  std::ofstream(dir_.path() / "rules.toml") << "[[rule]]\nname = \"too-bright\"\nclassifiers = [\"bright\"]\nlabels = [\"bright\"]\n"
                                               "min_score = 0.9\nactions = [\"hold\"]\n";
  std::ofstream(dir_.path() / "vigil.toml") << "rules_file = \"" << (dir_.path() / "rules.toml").string() << "\"\n[classifiers]\nfile = \""
                                            << (dir_.path() / "classifiers.toml").string() << "\"\n";
  auto run = testing::RunVigil({"classifiers", "check", "--config", (dir_.path() / "vigil.toml").string(), (dir_.path() / "white.png").string()});
  if (run.status != 0 && run.err.find("unsupported") != std::string::npos) GTEST_SKIP() << run.err;
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  std::istringstream lines(run.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  const auto loaded = boost::json::parse(first).as_object();
  EXPECT_EQ(loaded.at("classifier").as_string(), "bright");
  EXPECT_EQ(loaded.at("labels").as_array().size(), 2u);
  const auto scored = boost::json::parse(second).as_object();
  EXPECT_NEAR(scored.at("classifications").at(0).at("labels").at(0).at("score").to_number<double>(), 1.0, 1e-5) << second;
  // A rule on a label the model does not answer: refused, naming it, exit 1.
  std::ofstream(dir_.path() / "rules.toml") << "[[rule]]\nname = \"typo\"\nclassifiers = [\"bright\"]\nlabels = [\"brite\"]\n"
                                               "min_score = 0.9\nactions = [\"hold\"]\n";
  run = testing::RunVigil({"classifiers", "check", "--config", (dir_.path() / "vigil.toml").string()});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("no label 'brite'"), std::string::npos) << run.err;
}

// `vigil sandbox check` says whether the module local models run in loads here.
TEST(LocalModelInstallation, SandboxCheckSaysTheModelRuntimeLoads) {
  const auto check = testing::RunVigil({"sandbox", "check", "--json"});
  if (check.status != 0 && check.err.find("unsupported") != std::string::npos) GTEST_SKIP() << check.err;
  ASSERT_EQ(check.status, 0) << check.out << check.err;
  bool found = false;
  const auto parsed = boost::json::parse(check.out);  // kept alive for the loop below
  for (const auto& c : parsed.at("checks").as_array()) {
    if (c.at("probe").as_string() != "model_runtime") continue;
    found = true;
    EXPECT_TRUE(c.at("passed").as_bool()) << c;
    EXPECT_EQ(c.at("outcome").as_string(), "loaded");
  }
  EXPECT_TRUE(found) << check.out;
}

// The model reaches each worker as a request's body: a model larger than the largest upload the
// service takes (max_body_bytes) must still load.
TEST_F(LocalClassifierTest, AModelLargerThanTheUploadLimitStillLoads) {
  const auto model = testing::ReadFile(Models() / "bench_cnn.onnx");
  ASSERT_GT(model.size(), 64u << 10);
  testing::WriteFile(dir_.path() / "models" / "cnn.onnx", model);
  std::ofstream(dir_.path() / "models" / "cnn.card.toml")
      << "model = \"cnn.onnx\"\nsha256 = \"" << Sha256Hex(std::span<const std::uint8_t>(model))
      << "\"\nname = \"cnn\"\n[input]\nwidth = 224\nheight = 224\n[output]\nlabels = [\"a\", \"b\"]\nactivation = \"softmax\"\n";
  std::ofstream(dir_.path() / "classifiers.toml") << "[[classifier]]\nname = \"cnn\"\nkind = \"onnx\"\ncard = \"models/cnn.card.toml\"\n";
  const auto storage = dir_.path() / "storage" / "user-4";
  std::filesystem::create_directories(storage);
  testing::WriteFile(storage / "a.png", Png(testing::MakePattern(48, 32, 3, 4)));
  std::ofstream(dir_.path() / "vigil.toml") << "data_dir = \"" << (dir_.path() / "data").string()
                                            << "\"\nmax_body_bytes = 65536\n[classifiers]\nfile = \""
                                            << (dir_.path() / "classifiers.toml").string() << "\"\n";
  auto run = testing::RunVigil({"scan", storage.string(), "--user-from-parent", "--config", (dir_.path() / "vigil.toml").string()});
  if (run.status != 0 && run.err.find("unsupported") != std::string::npos) GTEST_SKIP() << run.err;
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  const auto at = run.out.find("{\"path\"");
  ASSERT_NE(at, std::string::npos) << run.out;
  const auto line = boost::json::parse(run.out.substr(at, run.out.find('\n', at) - at)).as_object();
  ASSERT_TRUE(line.contains("classifications")) << run.out;
  EXPECT_TRUE(line.at("classifications").at(0).at("error").is_null()) << run.out;
}

}  // namespace
}  // namespace vigil
