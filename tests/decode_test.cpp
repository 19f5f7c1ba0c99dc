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

// 8-bit (a grey palette, for a grey image) and 32-bit BGR0, bottom-up or top-down.
testing::Bytes EncodeBmpVariant(const Image& img, int bits, bool top_down) {
  const std::uint32_t bpp = static_cast<std::uint32_t>(bits) / 8;
  const std::uint32_t row = (img.width * bpp + 3) & ~3u;
  const std::uint32_t palette = bits == 8 ? 1024 : 0;
  testing::Bytes b(54 + palette + row * img.height, 0);
  auto le32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  b[0] = 'B';
  b[1] = 'M';
  le32(2, static_cast<std::uint32_t>(b.size()));
  le32(10, 54 + palette);
  le32(14, 40);
  le32(18, img.width);
  le32(22, top_down ? static_cast<std::uint32_t>(-static_cast<std::int32_t>(img.height)) : img.height);
  b[26] = 1;
  b[28] = static_cast<std::uint8_t>(bits);
  for (std::uint32_t i = 0; i < palette / 4; ++i) b[54 + 4 * i] = b[55 + 4 * i] = b[56 + 4 * i] = static_cast<std::uint8_t>(i);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    std::uint8_t* dst = &b[54 + palette + std::size_t{top_down ? y : img.height - 1 - y} * row];
    for (std::uint32_t x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.Row(y) + x * img.channels;
      if (bits == 8) {
        dst[x] = p[0];
      } else {
        dst[4 * x] = p[2];
        dst[4 * x + 1] = p[1];
        dst[4 * x + 2] = p[0];
        dst[4 * x + 3] = 0xff;
      }
    }
  }
  return b;
}

TEST(Decode, BmpPaletteAnd32BitTopDownAreExact) {
  const Image grey = MakePattern(29, 13, 1);
  const Image rgb = MakePattern(23, 11, 3);
  const Image from_palette = Decode(EncodeBmpVariant(grey, 8, false));
  ASSERT_EQ(from_palette.channels, 3u);
  for (std::uint32_t y = 0; y < grey.height; ++y) {
    for (std::uint32_t x = 0; x < grey.width; ++x) {
      const std::uint8_t* px = from_palette.Row(y) + 3 * x;
      ASSERT_TRUE(px[0] == grey.Row(y)[x] && px[1] == grey.Row(y)[x] && px[2] == grey.Row(y)[x]) << x << "," << y;
    }
  }
  ExpectSamePixels(Decode(EncodeBmpVariant(rgb, 32, true)), rgb);
  ExpectSamePixels(Decode(EncodeBmpVariant(rgb, 32, false)), rgb);
  // Truncated pixel data and unsupported depths are named.
  testing::Bytes cut = testing::EncodeBmp(rgb);
  cut.resize(cut.size() - 10);
  EXPECT_EQ(DecodeImage(cut, {}).error().code, ErrorCode::kTruncated);
  testing::Bytes sixteen = testing::EncodeBmp(rgb);
  sixteen[28] = 16;
  EXPECT_EQ(DecodeImage(sixteen, {}).error().code, ErrorCode::kUnsupported);
}

TEST(Decode, TiffIsExact) {
  const Image rgb = MakePattern(45, 33, 3);
  const Image grey = MakePattern(45, 33, 1);
  ExpectSamePixels(Decode(testing::EncodeTiff(rgb)), rgb);
  ExpectSamePixels(Decode(testing::EncodeTiff(grey)), grey);
}

// ReadImageHeader: the format and the size DecodeImage would return, without decoding a pixel.
TEST(Decode, ReadingTheHeaderGivesEachFormatsDeclaredSize) {
  const Image rgb = MakePattern(37, 23, 3);
  const std::vector<std::pair<ImageFormat, testing::Bytes>> files = {
      {ImageFormat::kJpeg, testing::EncodeJpeg(rgb)},
      {ImageFormat::kJpeg, testing::EncodeJpeg(rgb, 80, true)},
      {ImageFormat::kPng, testing::EncodePng(rgb)},
      {ImageFormat::kPng, testing::EncodePng(rgb, 16, true, false, true)},
      {ImageFormat::kWebp, testing::EncodeWebpLossless(rgb)},
      {ImageFormat::kGif, testing::EncodeGif(FewColours(37, 23, 3))},
      {ImageFormat::kBmp, testing::EncodeBmp(rgb)},
      {ImageFormat::kTiff, testing::EncodeTiff(rgb)},
  };
  for (const auto& [format, bytes] : files) {
    auto header = ReadImageHeader(bytes, {});
    ASSERT_TRUE(header.has_value()) << ImageFormatName(format) << ": " << header.error().ToString();
    EXPECT_EQ(header->format, format);
    EXPECT_EQ(header->width, 37u) << ImageFormatName(format);
    EXPECT_EQ(header->height, 23u) << ImageFormatName(format);
  }
}

TEST(Decode, ReadingTheHeaderAppliesTheLimits) {
  DecodeLimits limits;
  limits.max_dimension = 20;
  auto header = ReadImageHeader(testing::EncodePng(MakePattern(37, 23, 3)), limits);
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace vigil
