// The evaluation harness: every transform produces an image of the expected size and is
// deterministic for a seed; border detection finds solid and blurred borders and none where there
// are none; the metrics on a tiny hand-made case give the recall and false-positive rates worked
// out by hand; a run on a small synthetic corpus writes results.json and report.md with the keys
// the issue names.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "eval/evaluation.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "eval/transforms.h"
#include "test_images.h"
#include "vigil/border.h"
#include "vigil/pdq.h"

namespace vigil {
namespace {

using eval::ApplyTransform;

class EvalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(eval::InitVips("eval_test")); }

  // A 400x300 benign test pattern as the original (loaded through a PNG, as the harness does).
  vips::VImage Original() {
    if (!original_dir_) {
      original_dir_ = std::make_unique<testing::TempDir>();
      testing::WriteFile(original_dir_->path() / "original.png", testing::EncodePng(testing::MakePattern(400, 300, 3, 5)));
    }
    auto image = eval::LoadOriginal(original_dir_->path() / "original.png", 1024);
    EXPECT_TRUE(image) << image.error().ToString();
    return *image;
  }
  std::unique_ptr<testing::TempDir> original_dir_;

  Image Decode(const std::vector<std::uint8_t>& bytes) {
    auto image = DecodeImage(bytes, {});
    EXPECT_TRUE(image) << image.error().ToString();
    return image ? *image : Image{};
  }
};

TEST_F(EvalTest, EveryTransformHasTheExpectedSizeAndIsDeterministic) {
  const auto original = Original();
  const std::map<std::string, std::pair<std::uint32_t, std::uint32_t>> sizes = {
      {"resize_0.5", {200, 150}},   {"resize_2", {800, 600}},       {"jpeg_q50", {400, 300}},  {"webp_q80", {400, 300}},
      {"crop_5", {360, 270}},       {"crop_20", {240, 180}},        {"crop_offcentre_10", {320, 240}},
      {"pad_10", {480, 360}},       {"pad_blur_20", {560, 420}},    {"letterbox", {400, 711}}, {"pillarbox", {533, 300}},
      {"rot90", {300, 400}},        {"rot180", {400, 300}},         {"flip_h", {400, 300}},    {"grayscale", {400, 300}},
      {"text_large", {400, 300}},   {"sticker_10", {400, 300}},     {"blur_2", {400, 300}},    {"noise_25", {400, 300}},
      {"hue_40", {400, 300}},       {"gamma_1.6", {400, 300}},      {"brightness_-40", {400, 300}},
      {"screenshot", {352, 285}},   {"crop_5+jpeg_q70", {360, 270}}, {"flip_h+crop_5+jpeg_q50", {360, 270}}};
  for (const auto& spec : eval::DefaultTransforms()) {
    SCOPED_TRACE(spec.name);
    auto first = ApplyTransform(original, spec.name, 42);
    ASSERT_TRUE(first) << first.error().ToString();
    auto again = ApplyTransform(original, spec.name, 42);
    ASSERT_TRUE(again);
    EXPECT_EQ(*first, *again);  // same seed, same bytes
    const Image image = Decode(*first);
    EXPECT_GT(image.width, 50u);
    if (auto it = sizes.find(spec.name); it != sizes.end()) {
      EXPECT_EQ(image.width, it->second.first);
      EXPECT_EQ(image.height, it->second.second);
    }
    if (spec.name.rfind("rotate_", 0) == 0) {
      EXPECT_GT(image.width, 400u);  // the canvas grows
    }
  }
  EXPECT_EQ(Decode(*ApplyTransform(original, "grayscale", 1)).channels, 1u);
  EXPECT_EQ(SniffImageFormat(*ApplyTransform(original, "jpeg_q70", 1)), ImageFormat::kJpeg);
  EXPECT_EQ(SniffImageFormat(*ApplyTransform(original, "webp_q50", 1)), ImageFormat::kWebp);
  EXPECT_EQ(SniffImageFormat(*ApplyTransform(original, "crop_5", 1)), ImageFormat::kPng);
  // The seed moves what is random (an off-centre crop's split), not what is fixed.
  EXPECT_NE(*ApplyTransform(original, "crop_offcentre_10", 1), *ApplyTransform(original, "crop_offcentre_10", 2));
  EXPECT_EQ(*ApplyTransform(original, "crop_5", 1), *ApplyTransform(original, "crop_5", 2));
  // Flips and rotations are exact: the dihedral hash of the result equals the original's variant.
  PdqHasher pdq;
  const Image plain = Decode(*eval::EncodePng(original));
  const auto variants = pdq.HashDihedral(plain, {});
  // (Close, not equal: PDQ's box blur and the 512x512 nearest-neighbour pre-resize are not exactly
  // symmetric under flips.)
  for (const char* exact : {"flip_h", "flip_v", "rot90", "rot180", "rot270"}) {
    const PdqHash h = pdq.Hash(Decode(*ApplyTransform(original, exact, 1)), {}).hash;
    int nearest = 256;
    for (std::size_t k = 1; k < variants.hashes.size(); ++k) nearest = std::min(nearest, h.Distance(variants.hashes[k]));
    EXPECT_LE(nearest, 16) << exact;
    EXPECT_GT(h.Distance(variants.hashes[0]), 40) << exact;
  }
  EXPECT_FALSE(ApplyTransform(original, "nonsense", 1));
  EXPECT_FALSE(eval::IsKnownTransform("crop_5+nonsense"));
  EXPECT_TRUE(eval::IsKnownTransform("brightness_+40+jpeg_q30"));
  EXPECT_EQ(eval::TransformFamily("crop_5+jpeg_q70"), "chain");
}

TEST_F(EvalTest, BordersAreFoundWhereTheyAreAndNowhereElse) {
  const auto original = Original();
  const Image plain = Decode(*eval::EncodePng(original));
  EXPECT_FALSE(FindBorders(plain).Trimmed());
  // Solid padding of 20% each side: 80 px left/right, 60 px top/bottom.
  const Image padded = Decode(*ApplyTransform(original, "pad_20", 3));
  const BorderBox box = FindBorders(padded);
  EXPECT_NEAR(box.left, 80, 2);
  EXPECT_NEAR(box.right, 80, 2);
  EXPECT_NEAR(box.top, 60, 2);
  EXPECT_NEAR(box.bottom, 60, 2);
  const Image content = CropToContent(padded, box);
  EXPECT_NEAR(content.width, 400, 4);
  PdqHasher pdq;
  EXPECT_LE(pdq.Hash(content, {}).hash.Distance(pdq.Hash(plain, {}).hash), 20);
  EXPECT_GT(pdq.Hash(padded, {}).hash.Distance(pdq.Hash(plain, {}).hash), 40);
  // Letterbox bars, and a blurred enlarged copy behind the picture.
  const BorderBox bars = FindBorders(Decode(*ApplyTransform(original, "letterbox", 3)));
  EXPECT_NEAR(bars.top, (711 - 300) / 2, 3);
  EXPECT_EQ(bars.left, 0u);
  // (Noise first: blurred fill is told from content by its lack of detail, and the bare test
  // pattern is all smooth gradients.)
  const BorderBox blurred = FindBorders(Decode(*ApplyTransform(original, "noise_10+pad_blur_20", 3)));
  EXPECT_NEAR(blurred.left, 80, 8);
  EXPECT_NEAR(blurred.top, 60, 8);
  // Too small to say anything.
  EXPECT_FALSE(FindBorders(testing::MakePattern(10, 10, 3)).Trimmed());
}

// Three originals and their uploads, with hashes picked so every number can be worked out by hand.
TEST(EvalMetrics, TinyHandMadeCase) {
  auto hash_with_ones = [](int ones) {  // the first `ones` bits set
    PdqHash h;
    for (int i = 0; i < ones; ++i) h.SetBit(i);
    return h;
  };
  eval::ListedHashes a{hash_with_ones(0), {}}, b{hash_with_ones(100), {}}, c{hash_with_ones(200), {}};
  auto query = [&](const PdqHash& h, int quality) {
    eval::QueryHashes q;
    q.plain = h;
    q.quality = quality;
    q.dihedral.fill(h);
    return q;
  };
  // Uploads at distances 10, 40 and (quality 20) 5 from their originals.
  const std::vector<std::pair<eval::QueryHashes, const eval::ListedHashes*>> uploads = {
      {query(hash_with_ones(10), 90), &a}, {query(hash_with_ones(140), 90), &b}, {query(hash_with_ones(205), 20), &c}};
  eval::Histogram recall;
  for (const auto& [q, listed] : uploads) recall.Add(eval::MeasureDistance(eval::Measure::kPlain, q, *listed, 50));
  EXPECT_DOUBLE_EQ(recall.RateAt(9), 0.0);
  EXPECT_DOUBLE_EQ(recall.RateAt(10), 1.0 / 3);
  EXPECT_DOUBLE_EQ(recall.RateAt(40), 2.0 / 3);
  EXPECT_DOUBLE_EQ(recall.RateAt(256), 2.0 / 3);  // the low-quality upload is never matched
  // Distinct originals as ordered pairs: a-b 100, a-c 200, b-c 100 (each twice).
  eval::Histogram pairs;
  const std::vector<const eval::ListedHashes*> all = {&a, &b, &c};
  for (auto* x : all) {
    for (auto* y : all) {
      if (x != y) pairs.Add(eval::MeasureDistance(eval::Measure::kPlain, query(x->plain, 90), *y, 50));
    }
  }
  EXPECT_EQ(pairs.total, 6u);
  EXPECT_DOUBLE_EQ(pairs.RateAt(99), 0.0);
  EXPECT_DOUBLE_EQ(pairs.RateAt(100), 4.0 / 6);
  EXPECT_DOUBLE_EQ(pairs.RateAt(200), 1.0);
  EXPECT_EQ(eval::ThresholdForRate(pairs, 0.0), 99);
  EXPECT_EQ(eval::ThresholdForRate(pairs, 0.7), 199);
  // Measures: a dihedral variant, a trimmed hash and a listed crop each count only when enabled.
  eval::QueryHashes turned = query(hash_with_ones(120), 90);
  turned.dihedral[3] = hash_with_ones(2);
  turned.trimmed = {hash_with_ones(6)};
  eval::ListedHashes with_crop{hash_with_ones(0), {hash_with_ones(119)}};
  EXPECT_EQ(eval::MeasureDistance(eval::Measure::kPlain, turned, with_crop, 50), 120);
  EXPECT_EQ(eval::MeasureDistance(eval::Measure::kDihedral, turned, with_crop, 50), 2);
  EXPECT_EQ(eval::MeasureDistance(eval::Measure::kTrim, turned, with_crop, 50), 6);
  EXPECT_EQ(eval::MeasureDistance(eval::Measure::kCrops, turned, with_crop, 50), 1);
  EXPECT_EQ(eval::MeasureDistance(eval::Measure::kAll, turned, with_crop, 50), 1);
}

// Two files of the same picture pass the "two images" count but leave one original after
// de-duplication; the report then looked up pairs that do not exist and aborted (std::out_of_range).
TEST(EvalRun, ACorpusWithOneDistinctPictureIsRefusedWithTheCounts) {
  testing::TempDir corpus;
  const Image picture = testing::MakePattern(320, 240, 3, 9);
  testing::WriteFile(corpus.path() / "a.png", testing::EncodePng(picture));
  testing::WriteFile(corpus.path() / "b.jpg", testing::EncodeJpeg(picture));
  testing::WriteFile(corpus.path() / "junk.png", testing::Bytes{'n', 'o', 'p', 'e'});
  eval::EvalOptions options;
  options.corpus = corpus.path();
  options.transforms = {"jpeg_q70"};
  options.distractor_share = 0;
  options.threads = 1;
  auto run = eval::RunEvaluation(options);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(run.error().message.find("1 left"), std::string::npos) << run.error().message;
  EXPECT_NE(run.error().message.find("1 duplicates"), std::string::npos) << run.error().message;
}

TEST_F(EvalTest, RunWritesResultsAndReport) {
  testing::TempDir corpus, out;
  for (std::uint32_t i = 0; i < 6; ++i) {
    testing::WriteFile(corpus.path() / ("p" + std::to_string(i) + ".png"),
                       testing::EncodePng(testing::MakePattern(320, 240, 3, 100 + i)));
  }
  eval::EvalOptions options;
  options.corpus = corpus.path();
  options.transforms = {"jpeg_q70", "flip_h", "pad_20", "crop_5+jpeg_q70"};
  options.distractor_share = 1.0 / 3;
  options.threads = 2;
  auto one = eval::RunEvaluation(options);
  ASSERT_TRUE(one) << one.error().ToString();
  EXPECT_EQ(one->originals + one->low_quality_originals, 4u);
  EXPECT_EQ(one->distractors, 2u);
  // Threads do not change the result.
  options.threads = 1;
  auto two = eval::RunEvaluation(options);
  ASSERT_TRUE(two);
  for (std::size_t t = 0; t < one->transforms.size(); ++t) {
    EXPECT_EQ(one->transforms[t].distances.at(eval::Measure::kAll).counts,
              two->transforms[t].distances.at(eval::Measure::kAll).counts);
  }
  ASSERT_TRUE(eval::WriteReport(*one, out.path(), "vigil eval (test)"));
  std::ifstream in(out.path() / "results.json");
  std::stringstream text;
  text << in.rdbuf();
  auto root = boost::json::parse(text.str()).as_object();
  const auto& jpeg = root.at("transforms").at("jpeg_q70").as_object();
  for (const char* measure : {"pdq", "dihedral", "trim", "crops", "all"}) {
    EXPECT_TRUE(jpeg.at(measure).as_object().contains("31")) << measure;
    EXPECT_TRUE(jpeg.at(measure).as_object().contains("63")) << measure;
  }
  EXPECT_TRUE(root.at("false_positive_rate").at("pdq").as_object().contains("31"));
  // A flip is recovered by the dihedral measure, whatever plain PDQ makes of it.
  EXPECT_DOUBLE_EQ(root.at("transforms").at("flip_h").at("dihedral").at("8").to_number<double>(), 1.0);
  for (const char* file : {"report.md", "tradeoff.svg", "distances.svg", "recall_by_family.svg", "recall_by_transform.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(out.path() / file)) << file;
  }
  // Bad options are refused clearly.
  options.transforms = {"blur_99x"};
  EXPECT_EQ(eval::RunEvaluation(options).error().code, ErrorCode::kInvalidArgument);
  options.transforms = {};
  options.corpus = corpus.path() / "missing";
  EXPECT_EQ(eval::RunEvaluation(options).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vigil
