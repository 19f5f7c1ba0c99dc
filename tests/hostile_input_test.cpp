// Hostile input: empty, random, truncated, mislabelled and decompression-bomb files must each give
// a clear error with the right code, quickly, without allocating for the declared size.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <tuple>

// jpeglib.h needs FILE and size_t first.
#include <jpeglib.h>

#include "test_images.h"
#include "vigil/file_hasher.h"
#include "vigil/image.h"

namespace vigil {
namespace {

using testing::Bytes;
using testing::MakePattern;

Error DecodeError(const Bytes& bytes, const DecodeLimits& limits = {}) {
  auto img = DecodeImage(bytes, limits);
  EXPECT_FALSE(img.has_value()) << "decoded " << img->width << "x" << img->height;
  return img ? Error{ErrorCode::kInternal, "decoded"} : img.error();
}

void PutBe32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

// A small JPEG (progressive or baseline, 4:2:0) whose frame header now declares `width` x `height`,
// padded with a comment segment to about `size` bytes: what a decompression bomb looks like.
Bytes JpegDeclaring(std::uint16_t width, std::uint16_t height, std::size_t size, bool progressive) {
  Bytes jpeg = testing::EncodeJpeg(MakePattern(16, 16, 3), 90, progressive);
  const std::uint8_t sof = progressive ? 0xC2 : 0xC0;
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == sof) {
      jpeg[i + 5] = static_cast<std::uint8_t>(height >> 8);
      jpeg[i + 6] = static_cast<std::uint8_t>(height);
      jpeg[i + 7] = static_cast<std::uint8_t>(width >> 8);
      jpeg[i + 8] = static_cast<std::uint8_t>(width);
      break;
    }
  }
  if (jpeg.size() + 4 < size) {
    const std::size_t pad = std::min<std::size_t>(size - jpeg.size() - 4, 65000);
    Bytes comment = {0xFF, 0xFE, static_cast<std::uint8_t>((pad + 2) >> 8), static_cast<std::uint8_t>(pad + 2)};
    comment.resize(4 + pad, 'x');
    jpeg.insert(jpeg.begin() + 2, comment.begin(), comment.end());  // after SOI
  }
  return jpeg;
}

// An arithmetic-coded JPEG (libjpeg's encoder; TurboJPEG's API has no arithmetic coding here).
Bytes EncodeArithmeticJpeg(const Image& rgb) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);  // an encoder error ends the test binary: fine for benign input
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = rgb.width;
  cinfo.image_height = rgb.height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  cinfo.arith_code = TRUE;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(rgb.Row(cinfo.next_scanline));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  Bytes out(buf, buf + size);
  jpeg_destroy_compress(&cinfo);
  std::free(buf);
  return out;
}

TEST(HostileInput, EmptyFile) {
  const Error e = DecodeError({});
  EXPECT_EQ(e.code, ErrorCode::kTruncated);
  EXPECT_NE(e.message.find("empty"), std::string::npos);
}

TEST(HostileInput, RandomBytes) {
  std::mt19937 rng(1);
  Bytes b(4096);
  for (auto& v : b) v = static_cast<std::uint8_t>(rng());
  EXPECT_EQ(DecodeError(b).code, ErrorCode::kUnsupported);
}

TEST(HostileInput, RandomBytesBehindEachMagic) {
  std::mt19937 rng(2);
  const std::vector<std::string> magics = {"\xFF\xD8\xFF", "\x89PNG\r\n\x1a\n", "GIF89a", "BM", "II*",
                                           std::string("RIFF\0\0\0\0WEBP", 12), std::string("\0\0\0\x18" "ftypheic", 12)};
  for (const std::string& magic : magics) {
    for (int trial = 0; trial < 20; ++trial) {
      Bytes b(magic.begin(), magic.end());
      if (magic == "II*") b.push_back(0);
      for (int i = 0; i < 200 + trial * 50; ++i) b.push_back(static_cast<std::uint8_t>(rng()));
      auto img = DecodeImage(b, {});
      EXPECT_FALSE(img.has_value()) << "random data decoded as " << ImageFormatName(SniffImageFormat(b));
      if (!img) {
        EXPECT_FALSE(img.error().message.empty());
      }
    }
  }
}

TEST(HostileInput, TruncatedJpegAndPng) {
  const Image img = MakePattern(200, 150, 3);
  const Bytes jpeg = testing::EncodeJpeg(img);
  const Bytes png = testing::EncodePng(img);
  Error e = DecodeError(Bytes(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 2)));
  EXPECT_EQ(e.code, ErrorCode::kTruncated) << e.ToString();
  e = DecodeError(Bytes(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2)));
  EXPECT_EQ(e.code, ErrorCode::kTruncated) << e.ToString();
  e = DecodeError(Bytes(png.begin(), png.begin() + 20));  // inside IHDR
  EXPECT_EQ(e.code, ErrorCode::kTruncated) << e.ToString();
}

// Every prefix of a valid file of each format: an error or an image, never a crash or a hang.
TEST(HostileInput, EveryTruncationPointOfEveryFormat) {
  Image few = MakePattern(24, 16, 3);
  for (auto& v : few.pixels) v &= 0xC0;
  const std::vector<Bytes> files = {testing::EncodeJpeg(few), testing::EncodeJpeg(few, 80, true),
                                    testing::EncodePng(few), testing::EncodeWebpLossless(few),
                                    testing::EncodeGif(few), testing::EncodeBmp(few),
                                    testing::EncodeTiff(few)};
  for (const Bytes& file : files) {
    for (std::size_t n = 0; n < file.size(); n += 3) {
      auto r = DecodeImage(std::span(file.data(), n), {});
      if (!r) {
        EXPECT_FALSE(r.error().message.empty());
      }
    }
  }
}

TEST(HostileInput, PngDeclaring100000x100000IsRefusedFromTheHeader) {
  Bytes png = testing::EncodePng(MakePattern(16, 16, 3));
  // IHDR data starts at byte 16: width, height; then the CRC over "IHDR" + 13 bytes at 29.
  PutBe32(png, 16, 100000);
  PutBe32(png, 20, 100000);
  PutBe32(png, 29, static_cast<std::uint32_t>(crc32(0, png.data() + 12, 17)));
  const auto start = std::chrono::steady_clock::now();
  const Error e = DecodeError(png);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.ToString();
  EXPECT_NE(e.message.find("100000x100000"), std::string::npos) << e.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(HostileInput, PngWithinDimensionsButOverPixelLimit) {
  Bytes png = testing::EncodePng(MakePattern(16, 16, 3));
  PutBe32(png, 16, 20000);
  PutBe32(png, 20, 20000);
  PutBe32(png, 29, static_cast<std::uint32_t>(crc32(0, png.data() + 12, 17)));
  const Error e = DecodeError(png);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_NE(e.message.find("400000000 pixels"), std::string::npos) << e.message;
}

TEST(HostileInput, GifWithHugeLogicalScreen) {
  Image few = MakePattern(16, 16, 3);
  for (auto& v : few.pixels) v &= 0xC0;
  Bytes gif = testing::EncodeGif(few);
  gif[6] = gif[7] = gif[8] = gif[9] = 0xFF;  // 65535 x 65535
  const Error e = DecodeError(gif);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.ToString();
  EXPECT_NE(e.message.find("logical screen"), std::string::npos) << e.message;
}

TEST(HostileInput, JpegWithHugeDeclaredSize) {
  Bytes jpeg = testing::EncodeJpeg(MakePattern(16, 16, 3));
  // Find the SOF0 marker and patch height and width (each 16-bit big-endian) to 65000.
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = jpeg[i + 7] = 0xFD;
      jpeg[i + 6] = jpeg[i + 8] = 0xE8;
      break;
    }
  }
  const Error e = DecodeError(jpeg);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.ToString();
}

// Issue 14: a 13 KB JPEG declaring 10000x10000 (exactly max_pixels) cost 7.7 s of CPU. It cannot
// be honest: every block of a Huffman-coded JPEG costs at least a bit, and it declares 2.3 million.
TEST(HostileInput, JpegDeclaring10000x10000In13KbIsRefusedAsABombFromItsHeader) {
  const Bytes bomb = JpegDeclaring(10000, 10000, 13'000, true);
  ASSERT_LT(bomb.size(), 14'000u);
  const auto start = std::chrono::steady_clock::now();
  const Error e = DecodeError(bomb);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.ToString();
  EXPECT_NE(e.message.find("10000x10000"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(std::to_string(bomb.size()) + " bytes"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("decompression bomb"), std::string::npos) << e.message;
}

TEST(HostileInput, BaselineJpegDeclaringMoreBlocksThanItsBytesCanCodeIsRefused) {
  const Error e = DecodeError(JpegDeclaring(4000, 3000, 0, false));
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.ToString();
  EXPECT_NE(e.message.find("4000x3000"), std::string::npos) << e.message;
}

TEST(HostileInput, ReadingTheHeaderRefusesTheSameBomb) {
  const Bytes bomb = JpegDeclaring(10000, 10000, 13'000, true);
  auto header = ReadImageHeader(bomb, {});
  ASSERT_FALSE(header);
  EXPECT_EQ(header.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(header.error().message, DecodeError(bomb).message);
}

TEST(HostileInput, PngDeclaringMoreThanDeflateCanExpandIsRefused) {
  Bytes png = testing::EncodePng(MakePattern(16, 16, 3));
  PutBe32(png, 16, 8000);  // 8000x8000 RGB: 192 MB of rows from about a kilobyte
  PutBe32(png, 20, 8000);
  PutBe32(png, 29, static_cast<std::uint32_t>(crc32(0, png.data() + 12, 17)));
  const Error e = DecodeError(png);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.ToString();
  EXPECT_NE(e.message.find("8000x8000"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("deflate"), std::string::npos) << e.message;
}

TEST(HostileInput, GifDeclaringMoreThanLzwCanExpandIsRefused) {
  Image few = MakePattern(16, 16, 3);
  for (auto& v : few.pixels) v &= 0xC0;
  Bytes gif = testing::EncodeGif(few);
  // 6000x6000 for the logical screen and the first frame's descriptor (after the 768-byte map).
  gif[6] = gif[8] = 0x70;
  gif[7] = gif[9] = 0x17;
  ASSERT_EQ(gif[13 + 768], 0x2C);
  gif[13 + 768 + 5] = gif[13 + 768 + 7] = 0x70;
  gif[13 + 768 + 6] = gif[13 + 768 + 8] = 0x17;
  const Error e = DecodeError(gif);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.ToString();
  EXPECT_NE(e.message.find("6000x6000"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("first frame"), std::string::npos) << e.message;
}

TEST(HostileInput, LossyWebpDeclaringMoreThanVp8CanCodeIsRefused) {
  Bytes webp = testing::EncodeWebpLossy(MakePattern(16, 16, 3));
  ASSERT_GT(webp.size(), 30u);
  ASSERT_EQ(std::string(webp.begin() + 12, webp.begin() + 16), "VP8 ");
  // The key frame's 14-bit width and height (little-endian, after the start code): 10000x9000.
  webp[26] = 0x10;
  webp[27] = 0x27;
  webp[28] = 0x28;
  webp[29] = 0x23;
  const Error e = DecodeError(webp);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge) << e.ToString();
  EXPECT_NE(e.message.find("10000x9000"), std::string::npos) << e.message;
}

// The ceilings leave every honest file through: a solid colour, the best case for every codec,
// at 4000x3000 (12 megapixels), encoded by the formats' own libraries.
TEST(HostileInput, SolidColourImagesOfEveryFormatAreNotMistakenForBombs) {
  const Image rgb = testing::MakeSolid(4000, 3000, 3);
  const Image grey = testing::MakeSolid(4000, 3000, 1);
  const std::vector<std::pair<std::string, Bytes>> files = {
      {"jpeg baseline", testing::EncodeJpeg(rgb, 90)},
      {"jpeg progressive", testing::EncodeJpeg(rgb, 90, true)},
      {"jpeg grey progressive", testing::EncodeJpeg(grey, 50, true)},
      {"png", testing::EncodePng(rgb)},
      {"png grey", testing::EncodePng(grey)},
      {"gif", testing::EncodeGif(grey)},
      {"webp lossy", testing::EncodeWebpLossy(rgb)},
      {"webp lossless", testing::EncodeWebpLossless(rgb)},
      {"tiff lzw", testing::EncodeTiff(rgb)},
      {"bmp", testing::EncodeBmp(rgb)},
  };
  for (const auto& [name, bytes] : files) {
    ASSERT_FALSE(bytes.empty()) << name;
    auto img = DecodeImage(bytes, {});
    ASSERT_TRUE(img.has_value()) << name << " (" << bytes.size() << " bytes): " << img.error().ToString();
    EXPECT_EQ(img->width, 4000u) << name;
    EXPECT_EQ(img->height, 3000u) << name;
  }
}

// ReadImageHeader says whether the compression-ratio check bounded the declared size by the
// file's bytes: the decoder sandbox sends the files it could not bound to the large lane from a
// much lower size (a one-colour arithmetic JPEG or lossless WebP of 2000x2000 takes a few hundred
// bytes, honestly).
TEST(HostileInput, ReadImageHeaderSaysWhetherTheRatioWasChecked) {
  const Image rgb = testing::MakeSolid(2000, 2000, 3);
  const Image grey = testing::MakeSolid(2000, 2000, 1);
  const std::vector<std::tuple<std::string, Bytes, bool>> files = {
      {"jpeg baseline", testing::EncodeJpeg(rgb, 90), true},
      {"jpeg progressive", testing::EncodeJpeg(rgb, 90, true), true},
      {"jpeg arithmetic", EncodeArithmeticJpeg(rgb), false},
      {"png", testing::EncodePng(rgb), true},
      {"gif", testing::EncodeGif(grey), true},
      {"webp lossy", testing::EncodeWebpLossy(rgb), true},
      {"webp lossless", testing::EncodeWebpLossless(rgb), false},
      {"tiff lzw", testing::EncodeTiff(rgb), true},
      {"bmp", testing::EncodeBmp(rgb), true},
  };
  for (const auto& [name, bytes, checked] : files) {
    ASSERT_FALSE(bytes.empty()) << name;
    auto header = ReadImageHeader(bytes, {});
    ASSERT_TRUE(header.has_value()) << name << ": " << header.error().ToString();
    EXPECT_EQ(header->width, 2000u) << name;
    EXPECT_EQ(header->height, 2000u) << name;
    EXPECT_EQ(header->ratio_checked, checked) << name << " (" << bytes.size() << " bytes)";
  }
  const Bytes arithmetic = EncodeArithmeticJpeg(rgb);
  EXPECT_LT(arithmetic.size(), 4096u);
  auto img = DecodeImage(arithmetic, {});
  ASSERT_TRUE(img.has_value()) << img.error().ToString();
  EXPECT_EQ(img->width, 2000u);
}

TEST(HostileInput, BmpWithHugeDeclaredSize) {
  Bytes bmp = testing::EncodeBmp(MakePattern(16, 16, 3));
  bmp[21] = 0x7F;  // width ~ 2^31
  EXPECT_EQ(DecodeError(bmp).code, ErrorCode::kTooLarge);
}

TEST(HostileInput, ProgressiveScanLimit) {
  DecodeLimits limits;
  limits.max_jpeg_scans = 2;
  const Error e = DecodeError(testing::EncodeJpeg(MakePattern(64, 64, 3), 90, true), limits);
  EXPECT_EQ(e.code, ErrorCode::kTooLarge);
  EXPECT_NE(e.message.find("scans"), std::string::npos);
}

TEST(HostileInput, FileSizeLimitIsCheckedBeforeReading) {
  testing::TempDir dir;
  const auto path = dir.path() / "big.png";
  testing::WriteFile(path, testing::EncodePng(MakePattern(64, 64, 3)));
  FileHashOptions options;
  options.limits.max_file_bytes = 100;
  auto r = FileHasher(options).HashFile(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(r.error().message.find(path.string()), std::string::npos) << "error names the file";
}

TEST(HostileInput, WrongExtensionIsDecodedByContent) {
  testing::TempDir dir;
  const auto path = dir.path() / "photo.jpg";  // really a PNG
  testing::WriteFile(path, testing::EncodePng(MakePattern(64, 64, 3)));
  auto r = FileHasher({}).HashFile(path);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->format, ImageFormat::kPng);
  const auto text = dir.path() / "notes.png";
  testing::WriteFile(text, Bytes{'h', 'i', '\n'});
  auto t = FileHasher({}).HashFile(text);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(t.error().message.find("notes.png"), std::string::npos);
}

TEST(HostileInput, MissingFileAndDirectory) {
  auto r = FileHasher({}).HashFile("/nonexistent/x.jpg");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  testing::TempDir dir;
  EXPECT_FALSE(FileHasher({}).HashFile(dir.path()).has_value());
}

}  // namespace
}  // namespace vigil
