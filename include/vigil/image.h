// Decoded images and the decoder front door. Decoding treats every byte as hostile: the format is
// sniffed from the content (never the file name), the header is checked against DecodeLimits and
// against what the file's bytes can hold (a compression-ratio sanity check per format) before any
// pixel buffer is allocated, and every failure is an Error naming the reason.
//
// Pixels come out the way Meta's PDQ reference sees them: 8 bits per sample, grey (1 channel) or
// RGB (3 channels), alpha dropped without compositing, CMYK converted to RGB, 16-bit reduced to 8,
// EXIF orientation NOT applied.
//
// Thread safety: DecodeImage is reentrant; call it from any number of threads.
//
//   vigil::DecodeLimits limits;                       // safe defaults
//   auto image = vigil::DecodeImage(bytes, limits);
//   if (!image) std::cerr << image.error().ToString();
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kGif, kBmp, kTiff, kHeif };

std::string_view ImageFormatName(ImageFormat format);

// Recognises a format from its leading bytes; kUnknown if none matches.
ImageFormat SniffImageFormat(std::span<const std::uint8_t> bytes);

struct DecodeLimits {
  std::size_t max_file_bytes = 64u << 20;        // 64 MiB
  std::uint64_t max_pixels = 100'000'000;         // width * height, checked from the header
  std::uint32_t max_dimension = 32'768;           // each side
  int max_jpeg_scans = 500;                       // progressive JPEG scan bomb guard
  // libjpeg-turbo DCT-domain downscaling for large JPEGs (fast, NOT reference-exact). When > 0,
  // JPEGs are decoded at the smallest 1/8..1 scale whose both sides stay >= this many pixels.
  std::uint32_t jpeg_fast_min_side = 0;
};

struct Image {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t channels = 0;        // 1 (grey) or 3 (RGB), interleaved, 8 bits each
  std::vector<std::uint8_t> pixels;  // height rows of width * channels bytes, no padding
  // Size of the stored image as declared by its header; differs from width/height only when a
  // fast (scaled) decode was requested.
  std::uint32_t source_width = 0;
  std::uint32_t source_height = 0;
  ImageFormat format = ImageFormat::kUnknown;

  const std::uint8_t* Row(std::uint32_t y) const {
    return pixels.data() + static_cast<std::size_t>(y) * width * channels;
  }
};

// Decodes the first image (first frame) of an encoded file held in memory.
Result<Image> DecodeImage(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);

// What an image's header declares, read without decoding a pixel.
struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  std::uint32_t width = 0;   // of the image DecodeImage would return (the first frame; HEIF: before rotation)
  std::uint32_t height = 0;
  // Whether the compression-ratio check bounded the declared size by the file's bytes. False for
  // the codings that have no such ceiling (arithmetic-coded JPEG, lossless WebP, HEIF/AVIF, TIFF
  // compressions other than none, PackBits, LZW, Deflate and JPEG): a few hundred bytes can declare
  // millions of pixels honestly, so the file's size says nothing of what decoding it costs.
  bool ratio_checked = false;
};

// The format and declared size after the checks DecodeImage makes before it allocates anything
// (file size, dimensions, pixels, and the compression-ratio check: a header declaring more than
// its file's bytes can hold is refused as a decompression bomb, kTooLarge). Cheap: the decoder
// sandbox uses it to send large images to their own lane. Errors are DecodeImage's for the same
// bytes, except failures found only while decoding pixels.
Result<ImageHeader> ReadImageHeader(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);

}  // namespace vigil
