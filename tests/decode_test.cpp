// Decoders: every format round-trips synthetic benign images to the expected pixels, in the
// channel layout the PDQ reference sees (grey stays grey, alpha dropped, 16-bit scaled to 8).
#include <gtest/gtest.h>

#include "test_images.h"
#include "vigil/image.h"

namespace vigil {
namespace {

using testing::MakePattern;

Image Decode(const testing::Bytes& bytes) {
  auto img = DecodeImage(bytes, {});
  EXPECT_TRUE(img.has_value()) << img.error().ToString();
  return img ? *img : Image{};
}

// An image with few distinct colours (for palette formats).
Image FewColours(std::uint32_t w, std::uint32_t h, std::uint32_t ch) {
  Image img = MakePattern(w, h, ch, 3);
  for (auto& v : img.pixels) v &= 0xC0;
  return img;
}

void ExpectSamePixels(const Image& got, const Image& want) {
  ASSERT_EQ(got.width, want.width);
  ASSERT_EQ(got.height, want.height);
  ASSERT_EQ(got.channels, want.channels);
  EXPECT_TRUE(got.pixels == want.pixels);
}

TEST(Decode, SniffsFormatFromContentNotName) {
  const Image img = MakePattern(20, 10, 3);
  EXPECT_EQ(SniffImageFormat(testing::EncodePng(img)), ImageFormat::kPng);
  EXPECT_EQ(SniffImageFormat(testing::EncodeJpeg(img)), ImageFormat::kJpeg);
  EXPECT_EQ(SniffImageFormat(testing::EncodeWebpLossless(img)), ImageFormat::kWebp);
  EXPECT_EQ(SniffImageFormat(testing::EncodeGif(FewColours(20, 10, 3))), ImageFormat::kGif);
  EXPECT_EQ(SniffImageFormat(testing::EncodeBmp(img)), ImageFormat::kBmp);
  EXPECT_EQ(SniffImageFormat(testing::EncodeTiff(img)), ImageFormat::kTiff);
  const std::uint8_t heic[] = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'};
  EXPECT_EQ(SniffImageFormat(heic), ImageFormat::kHeif);
  const std::uint8_t text[] = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(SniffImageFormat(text), ImageFormat::kUnknown);
}

TEST(Decode, PngVariantsAreExact) {
  const Image rgb = MakePattern(37, 23, 3);
  const Image grey = MakePattern(37, 23, 1);
  ExpectSamePixels(Decode(testing::EncodePng(rgb)), rgb);
  ExpectSamePixels(Decode(testing::EncodePng(grey)), grey);
  ExpectSamePixels(Decode(testing::EncodePng(rgb, 16)), rgb);          // 16-bit scaled back
  ExpectSamePixels(Decode(testing::EncodePng(grey, 16)), grey);
  ExpectSamePixels(Decode(testing::EncodePng(rgb, 8, true)), rgb);     // RGBA: alpha dropped
  ExpectSamePixels(Decode(testing::EncodePng(grey, 8, true)), grey);   // grey+alpha stays grey
  ExpectSamePixels(Decode(testing::EncodePng(rgb, 8, false, false, true)), rgb);  // Adam7
  const Image few = FewColours(40, 30, 3);
  const Image decoded = Decode(testing::EncodePng(few, 8, false, true));  // palette -> RGB
  ExpectSamePixels(decoded, few);
}

TEST(Decode, JpegGreyStaysGreyAndColourIsClose) {
  const Image grey = MakePattern(64, 48, 1);
  const Image g = Decode(testing::EncodeJpeg(grey, 95));
  EXPECT_EQ(g.channels, 1u);
  const Image rgb = MakePattern(64, 48, 3);
  for (bool progressive : {false, true}) {
    const Image c = Decode(testing::EncodeJpeg(rgb, 95, progressive));
    ASSERT_EQ(c.channels, 3u);
    ASSERT_EQ(c.pixels.size(), rgb.pixels.size());
    double err = 0;
    for (std::size_t i = 0; i < c.pixels.size(); ++i) err += std::abs(c.pixels[i] - rgb.pixels[i]);
    EXPECT_LT(err / static_cast<double>(c.pixels.size()), 6.0);
  }
}

TEST(Decode, JpegFastScaleShrinksButKeepsSourceSize) {
  DecodeLimits limits;
  limits.jpeg_fast_min_side = 100;
  auto img = DecodeImage(testing::EncodeJpeg(MakePattern(1600, 1000, 3)), limits);
  ASSERT_TRUE(img.has_value());
  EXPECT_EQ(img->source_width, 1600u);
  EXPECT_EQ(img->source_height, 1000u);
  EXPECT_EQ(img->width, 200u);  // 1/8 keeps 125 >= 100 on the short side
  EXPECT_EQ(img->height, 125u);
}

TEST(Decode, WebpLosslessIsExact) {
  const Image rgb = MakePattern(41, 17, 3);
  ExpectSamePixels(Decode(testing::EncodeWebpLossless(rgb)), rgb);
}

TEST(Decode, GifFirstFrameIsExact) {
  const Image few = FewColours(33, 21, 3);
  ExpectSamePixels(Decode(testing::EncodeGif(few)), few);
}

TEST(Decode, BmpIsExact) {
  const Image rgb = MakePattern(31, 19, 3);  // odd width exercises row padding
  ExpectSamePixels(Decode(testing::EncodeBmp(rgb)), rgb);
}

TEST(Decode, TiffIsExact) {
  const Image rgb = MakePattern(45, 33, 3);
  const Image grey = MakePattern(45, 33, 1);
  ExpectSamePixels(Decode(testing::EncodeTiff(rgb)), rgb);
  ExpectSamePixels(Decode(testing::EncodeTiff(grey)), grey);
}

}  // namespace
}  // namespace vigil
