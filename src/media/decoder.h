// The pluggable decoder interface behind DecodeImage: one implementation per container format,
// each wrapping a well-kept Debian library. A decoder must check the header's dimensions against
// the limits before allocating pixels, and must turn every library failure into an Error.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vigil/image.h"
#include "vigil/status.h"

namespace vigil::media {

class ImageDecoder {
 public:
  virtual ~ImageDecoder() = default;
  virtual ImageFormat format() const = 0;
  // Decodes the first image. `bytes` has already been sniffed as this decoder's format.
  virtual Result<Image> Decode(std::span<const std::uint8_t> bytes,
                               const DecodeLimits& limits) const = 0;
};

// The decoder for a format, or nullptr when none is built in.
const ImageDecoder* DecoderFor(ImageFormat format);

// kTooLarge (naming the sizes and the limit) when a header's dimensions break the limits;
// kCorrupt for a zero side.
Status CheckDimensions(std::uint64_t width, std::uint64_t height, const DecodeLimits& limits);

// Allocates the pixel buffer for an image whose dimensions passed CheckDimensions.
Result<Image> AllocateImage(std::uint32_t width, std::uint32_t height, std::uint32_t channels,
                            ImageFormat format);

// The decoders, one per file (each returns a process-wide stateless instance).
const ImageDecoder& JpegDecoder();
const ImageDecoder& PngDecoder();
const ImageDecoder& WebpDecoder();
const ImageDecoder& GifDecoder();
const ImageDecoder& BmpDecoder();
const ImageDecoder& TiffDecoder();
const ImageDecoder& HeifDecoder();

}  // namespace vigil::media
