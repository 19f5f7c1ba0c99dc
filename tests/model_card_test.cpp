// Local models without running one: a picture made into a model's input (area resize, colour
// order, scale, mean/std, layout) against values computed by hand; model cards, with every
// mistake refused at its line; the model file's digest checked; raw outputs made into scores (the
// card's activation, labels and thresholds). The models themselves run in local_model_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>

#include "classify/local_model_classifier.h"
#include "classify/model_card.h"
#include "media/tensor_input.h"
#include "test_images.h"
#include "vigil/digest.h"

namespace vigil {
namespace {

using media::ColourOrder;
using media::TensorLayout;
using media::TensorSpec;

TensorSpec Spec(std::uint32_t w, std::uint32_t h) {
  TensorSpec s;
  s.width = w;
  s.height = h;
  return s;
}

TEST(TensorInput, ASolidColourBecomesItsValuesScaledLessTheMeanOverTheStd) {
  TensorSpec s = Spec(4, 3);
  s.mean = {0.5, 0.25, 0.0};
  s.std = {0.5, 0.25, 2.0};
  auto t = media::ImageToTensor(testing::MakeColour(10, 7, 255, 51, 102), s);
  ASSERT_TRUE(t) << t.error().ToString();
  ASSERT_EQ(t->size(), 4u * 3 * 3);
  // NCHW: the 12 values of R, then G, then B.
  for (int i = 0; i < 12; ++i) {
    EXPECT_FLOAT_EQ((*t)[i], (1.0 - 0.5) / 0.5);
    EXPECT_FLOAT_EQ((*t)[12 + i], (51 / 255.0 - 0.25) / 0.25);
    EXPECT_FLOAT_EQ((*t)[24 + i], (102 / 255.0) / 2.0);
  }
}

TEST(TensorInput, BgrSwapsTheFirstAndLastChannelsAndNhwcInterleavesThem) {
  TensorSpec s = Spec(2, 2);
  s.colour = ColourOrder::kBgr;
  s.layout = TensorLayout::kNhwc;
  s.scale = 1;
  auto t = media::ImageToTensor(testing::MakeColour(3, 3, 10, 20, 30), s);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 12u);
  for (int p = 0; p < 4; ++p) {
    EXPECT_FLOAT_EQ((*t)[p * 3 + 0], 30);
    EXPECT_FLOAT_EQ((*t)[p * 3 + 1], 20);
    EXPECT_FLOAT_EQ((*t)[p * 3 + 2], 10);
  }
  EXPECT_EQ(s.Shape(), (std::array<int, 4>{1, 2, 2, 3}));
}

TEST(TensorInput, GreyIsTheBt601LumaAndAGreyPictureFillsEveryColourChannel) {
  TensorSpec grey = Spec(2, 2);
  grey.colour = ColourOrder::kGrey;
  grey.scale = 1;
  auto t = media::ImageToTensor(testing::MakeColour(5, 5, 200, 100, 50), grey);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 4u);
  EXPECT_NEAR((*t)[0], 0.299 * 200 + 0.587 * 100 + 0.114 * 50, 1e-4);
  Image one = testing::MakeSolid(6, 6, 1);  // 0x5A everywhere
  TensorSpec rgb = Spec(3, 3);
  rgb.scale = 1;
  auto r = media::ImageToTensor(one, rgb);
  ASSERT_TRUE(r);
  for (float v : *r) EXPECT_FLOAT_EQ(v, 0x5A);
}

TEST(TensorInput, AreaAveragingKeepsThePicturesMeanAtAnySizeInOrOut) {
  Image img = testing::MakePattern(13, 7, 3, 5);
  double sum[3] = {0, 0, 0};
  for (std::size_t i = 0; i < img.pixels.size(); ++i) sum[i % 3] += img.pixels[i];
  for (auto [w, h] : std::vector<std::pair<std::uint32_t, std::uint32_t>>{{5, 3}, {13, 7}, {32, 32}, {1, 1}, {8, 2}}) {
    TensorSpec s = Spec(w, h);
    s.scale = 1;
    auto t = media::ImageToTensor(img, s);
    ASSERT_TRUE(t);
    for (std::uint32_t c = 0; c < 3; ++c) {
      const double mean = std::accumulate(t->begin() + c * w * h, t->begin() + (c + 1) * w * h, 0.0) / (w * h);
      EXPECT_NEAR(mean, sum[c] / (13 * 7), 1e-3) << w << "x" << h << " channel " << c;
    }
  }
}

TEST(TensorInput, HalvingAveragesEachBlockOfFourExactly) {
  Image img;
  img.width = 4;
  img.height = 2;
  img.channels = 1;
  img.pixels = {0, 100, 7, 9, 200, 40, 1, 3};
  TensorSpec s = Spec(2, 1);
  s.colour = ColourOrder::kGrey;
  s.scale = 1;
  auto t = media::ImageToTensor(img, s);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 2u);
  EXPECT_FLOAT_EQ((*t)[0], (0 + 100 + 200 + 40) / 4.0f);
  EXPECT_FLOAT_EQ((*t)[1], (7 + 9 + 1 + 3) / 4.0f);
  // Three pixels into two: the middle one is split half and half.
  img.width = 3;
  img.height = 1;
  img.pixels = {30, 60, 90};
  auto u = media::ImageToTensor(img, s);
  ASSERT_TRUE(u);
  EXPECT_FLOAT_EQ((*u)[0], (30 + 0.5f * 60) / 1.5f);
  EXPECT_FLOAT_EQ((*u)[1], (0.5f * 60 + 90) / 1.5f);
}

TEST(TensorInput, UnusableSpecsAreRefusedNamingTheField) {
  TensorSpec s = Spec(0, 4);
  EXPECT_NE(media::ImageToTensor(testing::MakeColour(2, 2, 1, 2, 3), s).error().message.find("width and height"), std::string::npos);
  s = Spec(4, 4);
  s.std[1] = 0;
  EXPECT_NE(media::ImageToTensor(testing::MakeColour(2, 2, 1, 2, 3), s).error().message.find("std"), std::string::npos);
  s = Spec(4, 4);
  s.scale = std::nan("");
  EXPECT_NE(media::ImageToTensor(testing::MakeColour(2, 2, 1, 2, 3), s).error().message.find("scale"), std::string::npos);
}

constexpr char kCard[] = R"(model = "m.onnx"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
name = "brightness-demo"
version = "3"

[input]
width = 8
height = 8
layout = "nchw"
colour = "bgr"
scale = 0.00392156862745098
mean = [0.1, 0.2, 0.3]
std = [0.5, 0.5, 0.25]

[output]
labels = ["bright", "", "dark"]
activation = "softmax"

[thresholds]
bright = 0.25
)";

TEST(ModelCard, ACardParsesWithEveryField) {
  auto card = classify::ParseModelCard(kCard, "card.toml");
  ASSERT_TRUE(card) << card.error().ToString();
  EXPECT_EQ(card->model_file, "m.onnx");
  EXPECT_EQ(card->name, "brightness-demo");
  EXPECT_EQ(card->version, "3");
  EXPECT_EQ(card->input.width, 8u);
  EXPECT_EQ(card->input.colour, ColourOrder::kBgr);
  EXPECT_EQ(card->input.mean[2], 0.3);
  EXPECT_EQ(card->input.std[2], 0.25);
  EXPECT_EQ(card->labels, (std::vector<std::string>{"bright", "", "dark"}));
  EXPECT_EQ(card->activation, classify::Activation::kSoftmax);
  EXPECT_EQ(card->thresholds.at("bright"), 0.25);
}

TEST(ModelCard, MistakesAreRefusedWithTheLineAndWhatIsWrong) {
  const std::string card = kCard;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = card;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {replace("version = \"3\"", "verison = \"3\""), "card.toml:4: unknown key 'verison'"},
           {replace("layout = \"nchw\"", "layout = \"chw\""), "card.toml:9: [input] layout must be nchw or nhwc"},
           {replace("colour = \"bgr\"", "colour = \"cmyk\""), "card.toml:10: [input] colour must be rgb, bgr or grey"},
           {replace("width = 8", "width = 0"), "card.toml:7: [input] 'width' must be an integer within 1..4096"},
           {replace("mean = [0.1, 0.2, 0.3]", "mean = [0.1, 0.2]"), "card.toml:12: [input] 'mean' must be 3 numbers"},
           {replace("std = [0.5, 0.5, 0.25]", "std = [0.5, 0.0, 0.25]"), "card.toml:13: [input] 'std' must hold finite numbers other than 0"},
           {replace("labels = [\"bright\", \"\", \"dark\"]", "labels = [\"bright\", \"bright\"]"), "card.toml:16: [output] label 'bright' comes twice"},
           {replace("labels = [\"bright\", \"\", \"dark\"]", "labels = [\"\"]"), "names no output"},
           {replace("activation = \"softmax\"", "activation = \"relu\""), "'activation' must be none, sigmoid or softmax"},
           {replace("bright = 0.25", "brite = 0.25"), "card.toml:20: [thresholds] 'brite' is not one of the labels"},
           {replace("bright = 0.25", "bright = 1.5"), "[thresholds] 'bright' must be a score within 0..1"},
           {replace("sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"", "sha256 = \"abc\""),
            "card.toml:2: 'sha256' must be 64 lower-case hex digits"},
           {replace("[input]", "[inputs]"), "unknown key 'inputs'"},
           {replace("scale = 0.00392156862745098", "scale = 0.0"), "'scale' must be a finite number other than 0"},
           {"name = \"x\"\n", "'model' is required"}}) {
    auto parsed = classify::ParseModelCard(text, "card.toml");
    ASSERT_FALSE(parsed) << says;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(says), std::string::npos) << says << " -> " << parsed.error().message;
  }
  // A grey model has one mean and one std.
  auto grey = classify::ParseModelCard(replace("colour = \"bgr\"", "colour = \"grey\""), "card.toml");
  ASSERT_FALSE(grey);
  EXPECT_NE(grey.error().message.find("'mean' must be 1 number (one per channel"), std::string::npos) << grey.error().message;
}

TEST(ModelCard, AModelFileIsLoadedOnlyWhenItsDigestIsTheCards) {
  testing::TempDir dir;
  const testing::Bytes model = {1, 2, 3, 4, 5};
  testing::WriteFile(dir.path() / "m.onnx", model);
  const std::string actual = Sha256Hex(std::span<const std::uint8_t>(model));
  std::string card = kCard;
  const std::string zeros(64, '0');
  std::ofstream(dir.path() / "card.toml") << card;
  auto wrong = classify::LoadLocalModel("own", (dir.path() / "card.toml").string());
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("has sha256 " + actual + ", not the card's " + zeros), std::string::npos) << wrong.error().message;
  std::string missing = card;
  missing.erase(missing.find("sha256"), missing.find('\n', missing.find("sha256")) - missing.find("sha256") + 1);
  std::ofstream(dir.path() / "card.toml") << missing;
  auto unsaid = classify::LoadLocalModel("own", (dir.path() / "card.toml").string());
  ASSERT_FALSE(unsaid);
  EXPECT_NE(unsaid.error().message.find("the card must give the model file's sha256"), std::string::npos);
  EXPECT_NE(unsaid.error().message.find(actual), std::string::npos) << "names the digest to check and paste";
  std::string right = card;
  right.replace(right.find(zeros), 64, actual);
  std::ofstream(dir.path() / "card.toml") << right;
  auto loaded = classify::LoadLocalModel("own", (dir.path() / "card.toml").string());
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  EXPECT_EQ(*loaded->onnx, model) << "the model is found beside its card";
  EXPECT_EQ(loaded->classifier, "own");
}

TEST(ModelCard, TheModelMustLieInTheCardsFolder) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "cards" / "v2");
  const testing::Bytes model = {9, 8, 7};
  testing::WriteFile(dir.path() / "outside.onnx", model);
  testing::WriteFile(dir.path() / "cards" / "v2" / "m.onnx", model);
  const std::string sha = Sha256Hex(std::span<const std::uint8_t>(model));
  std::filesystem::create_symlink(dir.path() / "outside.onnx", dir.path() / "cards" / "escape.onnx");
  std::filesystem::create_symlink("v2", dir.path() / "cards" / "current");
  auto load = [&](const std::string& file) {
    std::string card = kCard;
    card.replace(card.find("m.onnx"), 6, file);
    card.replace(card.find(std::string(64, '0')), 64, sha);
    std::ofstream(dir.path() / "cards" / "card.toml") << card;
    return classify::LoadLocalModel("own", (dir.path() / "cards" / "card.toml").string());
  };
  for (const std::string file : {"/etc/hostname", "../outside.onnx", "v2/../../outside.onnx"}) {
    auto refused = load(file);
    ASSERT_FALSE(refused) << file;
    EXPECT_NE(refused.error().message.find("'model' must name a file in the card's folder"), std::string::npos) << refused.error().message;
    EXPECT_EQ(refused.error().message.find("sha256"), std::string::npos) << "no digest of a file outside";
  }
  auto escaped = load("escape.onnx");
  ASSERT_FALSE(escaped);
  EXPECT_NE(escaped.error().message.find("resolves outside the card's folder"), std::string::npos) << escaped.error().message;
  auto below = load("current/m.onnx");
  ASSERT_TRUE(below) << "a link within the folder (a deployment's current version): " << below.error().ToString();
  EXPECT_EQ(*below->onnx, model);
}

TEST(ModelCard, LabelsAndNamesWithHiddenCharactersAreRefusedAndShownEscaped) {
  const std::string card = kCard;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = card;
    return text.replace(text.find(from), from.size(), to);
  };
  auto esc = classify::ParseModelCard(with("\"dark\"]", "\"da\\u001b[2Jrk\"]"), "card.toml");
  ASSERT_FALSE(esc);
  EXPECT_EQ(esc.error().message.find('\x1b'), std::string::npos) << "no raw escape reaches a terminal";
  EXPECT_NE(esc.error().message.find("da\\x1b[2Jrk"), std::string::npos) << esc.error().message;
  auto nul = classify::ParseModelCard(with("\"dark\"]", "\"da\\u0000rk\"]"), "card.toml");
  ASSERT_FALSE(nul);
  EXPECT_NE(nul.error().message.find("must be 1-64 bytes without control characters"), std::string::npos) << "not cut short at the NUL";
  auto bidi = classify::ParseModelCard(with("\"dark\"]", "\"da\\u202Erk\"]"), "card.toml");
  ASSERT_FALSE(bidi) << "a right-to-left override hides what a reviewer reads";
  EXPECT_NE(bidi.error().message.find("da\\xe2\\x80\\xaerk"), std::string::npos) << "shown escaped, not applied: " << bidi.error().message;
  for (const char* hidden : {"\\u009B", "\\u0085", "\\u061C", "\\u00AD", "\\u2028", "\\u200B", "\\uFEFF", "\\u2067"}) {
    EXPECT_FALSE(classify::ParseModelCard(with("\"dark\"]", std::string("\"da") + hidden + "rk\"]"), "card.toml")) << hidden;
  }
  EXPECT_TRUE(classify::ParseModelCard(with("\"dark\"]", "\"d\\u00e9j\\u00e0-vu\"]"), "card.toml")) << "accented letters are fine";
  auto name = classify::ParseModelCard(with("name = \"brightness-demo\"", "name = \"evil\\u001b[2J\""), "card.toml");
  ASSERT_FALSE(name);
  EXPECT_NE(name.error().message.find("'name' must be 1-128 bytes without control characters"), std::string::npos);
}

TEST(ModelScores, SoftmaxSigmoidAndNoneGiveTheScoresComputedByHand) {
  auto card = classify::ParseModelCard(kCard, "card.toml");
  ASSERT_TRUE(card);
  card->thresholds.clear();
  const std::vector<float> logits = {2.0f, 0.0f, 1.0f};
  auto soft = classify::ScoresFromOutputs(*card, logits);
  ASSERT_TRUE(soft) << soft.error().ToString();
  const double z = std::exp(2.0) + std::exp(0.0) + std::exp(1.0);
  ASSERT_EQ(soft->size(), 2u) << "the unnamed output is left out";
  EXPECT_EQ((*soft)[0].label, "bright");
  EXPECT_NEAR((*soft)[0].score, std::exp(2.0) / z, 1e-12);
  EXPECT_EQ((*soft)[1].label, "dark");
  EXPECT_NEAR((*soft)[1].score, std::exp(1.0) / z, 1e-12);
  card->activation = classify::Activation::kSigmoid;
  auto sig = classify::ScoresFromOutputs(*card, logits);
  ASSERT_TRUE(sig);
  EXPECT_NEAR((*sig)[0].score, 1 / (1 + std::exp(-2.0)), 1e-12);
  card->activation = classify::Activation::kNone;
  auto none = classify::ScoresFromOutputs(*card, std::vector<float>{0.25f, 7.0f, 1.0f});
  ASSERT_TRUE(none) << "an unnamed output may be anything";
  EXPECT_EQ((*none)[0].score, 0.25);
  EXPECT_EQ((*none)[1].score, 1.0);
}

TEST(ModelScores, ScoresOutsideZeroToOneAndTheWrongCountAreErrorsNamingTheOutput) {
  auto card = classify::ParseModelCard(kCard, "card.toml");
  ASSERT_TRUE(card);
  card->activation = classify::Activation::kNone;
  auto over = classify::ScoresFromOutputs(*card, std::vector<float>{1.5f, 0, 0});
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("output 0 ('bright') scored 1.5"), std::string::npos) << over.error().message;
  EXPECT_NE(over.error().message.find("activation"), std::string::npos);
  auto nan = classify::ScoresFromOutputs(*card, std::vector<float>{0, std::nanf(""), 0});
  ASSERT_FALSE(nan) << "even an unnamed output must be a number";
  EXPECT_NE(nan.error().message.find("output 1 is not a finite number"), std::string::npos);
  auto count = classify::ScoresFromOutputs(*card, std::vector<float>{0.5f, 0.5f});
  ASSERT_FALSE(count);
  EXPECT_NE(count.error().message.find("answered 2 outputs; its card names 3"), std::string::npos);
}

TEST(ModelScores, ALabelBelowItsThresholdIsLeftOutOfTheAnswer) {
  auto card = classify::ParseModelCard(kCard, "card.toml");
  ASSERT_TRUE(card);
  card->activation = classify::Activation::kNone;
  auto below = classify::ScoresFromOutputs(*card, std::vector<float>{0.2f, 0, 0.1f});
  ASSERT_TRUE(below);
  ASSERT_EQ(below->size(), 1u);
  EXPECT_EQ((*below)[0].label, "dark") << "no threshold: kept at any score";
  auto at = classify::ScoresFromOutputs(*card, std::vector<float>{0.25f, 0, 0.1f});
  ASSERT_TRUE(at);
  ASSERT_EQ(at->size(), 2u);
  EXPECT_EQ((*at)[0].label, "bright");
}

}  // namespace
}  // namespace vigil
