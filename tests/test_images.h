// Test helpers: synthetic benign images (gradients and shapes) encoded with the real libraries,
// and small file utilities. Used to check decoders round-trip and to build hostile inputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <libheif/heif.h>

#include "vigil/image.h"

namespace vigil::testing {

using Bytes = std::vector<std::uint8_t>;

// A deterministic pattern: smooth gradients plus a few rectangles, grey or RGB.
Image MakePattern(std::uint32_t width, std::uint32_t height, std::uint32_t channels,
                  std::uint32_t seed = 1);

Bytes EncodePng(const Image& img, int bit_depth = 8, bool add_alpha = false, bool palette = false,
                bool interlace = false);
Bytes EncodeJpeg(const Image& img, int quality = 90, bool progressive = false);
// A solid-colour image (0x5A in every sample): the best case for every codec, so the closest a real
// file comes to its format's compression ceiling.
Image MakeSolid(std::uint32_t width, std::uint32_t height, std::uint32_t channels = 3);
// An RGB image of one colour.
Image MakeColour(std::uint32_t width, std::uint32_t height, std::uint8_t r, std::uint8_t g, std::uint8_t b);

Bytes EncodeWebpLossless(const Image& img);
Bytes EncodeWebpLossy(const Image& rgb, float quality = 75);  // RGB only
Bytes EncodeGif(const Image& img);  // RGB image with <= 256 colours, or grey
Bytes EncodeBmp(const Image& img);  // 24-bit BI_RGB, bottom-up
Bytes EncodeTiff(const Image& img);
// A HEIF still: HEIC (HEVC, libheif's x265 encoder) or AVIF (AV1); empty when this libheif cannot encode it.
Bytes EncodeHeif(const Image& rgb, heif_compression_format compression = heif_compression_HEVC);

Bytes ReadFile(const std::filesystem::path& path);
std::string ReadText(const std::filesystem::path& path);
void WriteFile(const std::filesystem::path& path, const Bytes& bytes);

// tests/data: the reference vectors (vectors/pdq, vectors/vpdq; see vectors/README.md) and other
// committed test data (compile-time default, the VIGIL_TEST_DATA_DIR environment variable wins).
std::filesystem::path TestDataDir();

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace vigil::testing
