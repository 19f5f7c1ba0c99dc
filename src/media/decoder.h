// The pluggable decoder interface behind DecodeImage: one implementation per container format,
// each wrapping a well-kept Debian library. A decoder must check the header's dimensions against
// the limits, and the declared size against what the file's bytes can hold (CheckCompressionRatio),
// before allocating pixels, and must turn every library failure into an Error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vigil/image.h"
#include "vigil/status.h"

namespace vigil::media {

class ImageDecoder {
 public:
  virtual ~ImageDecoder() = default;
  virtual ImageFormat format() const = 0;
  // Decodes the first image. `bytes` has already been sniffed as this decoder's format.
  Result<Image> Decode(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) const {
    return DecodeUpTo(bytes, limits, nullptr);
  }
  // Only the header: the checks Decode makes before allocating (dimensions, compression ratio),
  // then the declared size and whether the compression-ratio check bounded it.
  Result<ImageHeader> ReadHeader(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) const {
    ImageHeader header;
    header.format = format();
    VIGIL_TRY(DecodeUpTo(bytes, limits, &header));
    return header;
  }

 protected:
  // Decode (`header_only` null), or stop once the header passed the checks and fill
  // *header_only (HeaderOnly).
  virtual Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                                   ImageHeader* header_only) const = 0;
};

// The decoder for a format, or nullptr when none is built in.
const ImageDecoder* DecoderFor(ImageFormat format);

// kTooLarge (naming the sizes and the limit) when a header's dimensions break the limits;
// kCorrupt for a zero side.
Status CheckDimensions(std::uint64_t width, std::uint64_t height, const DecodeLimits& limits);

// How much one byte of a format can honestly decode to. `declared` is what the header says the
// image holds, in `unit`s (pixels, 8x8 blocks, bytes of samples); a file of B bytes can hold at
// most B * max_per_byte of them (plus a little, for tiny files), a ceiling set by the format's
// coding (deflate cannot beat 1032:1, every Huffman-coded JPEG block costs at least a bit...).
struct Density {
  std::uint64_t declared = 0;
  const char* unit = "pixels";
  std::uint64_t max_per_byte = 0;
  const char* why = "";  // the property of the format behind the ceiling, for the error
};

// kTooLarge (the dimensions, the byte size and the ceiling) when a header declares more than the
// file's bytes can hold: a decompression bomb, or dimensions that lie. Checked from the header,
// before any pixel buffer, after CheckDimensions.
Status CheckCompressionRatio(std::uint64_t width, std::uint64_t height, std::size_t file_bytes,
                             const Density& density);

// Where a decoder stops for ReadHeader: fills *header (when not null) with the declared size and
// whether CheckCompressionRatio bounded it by the file's bytes (`ratio_checked`: false for the
// codings with no ceiling, whose decode cost the file's size does not predict: arithmetic-coded
// JPEG, lossless WebP, HEIF/AVIF, TIFF's other compressions). Returns an Image of that size with
// no pixels (channels 0).
Image HeaderOnly(ImageHeader* header, std::uint32_t width, std::uint32_t height, ImageFormat format,
                 bool ratio_checked);

// Allocates the pixel buffer for an image whose dimensions passed CheckDimensions.
Result<Image> AllocateImage(std::uint32_t width, std::uint32_t height, std::uint32_t channels,
                            ImageFormat format);

// The decoders, one per file (each returns a process-wide stateless instance). HeifDecoder and
// BmpDecoder are stand-ins that load their module (libvigil-heif.so, libvigil-ffmpeg.so) on first
// use and hand each call to the module's decoder; when the module cannot be loaded, their calls
// fail with kUnsupported naming it (media/decoder_modules.h).
const ImageDecoder& JpegDecoder();
const ImageDecoder& PngDecoder();
const ImageDecoder& WebpDecoder();
const ImageDecoder& GifDecoder();
const ImageDecoder& BmpDecoder();
const ImageDecoder& TiffDecoder();
const ImageDecoder& HeifDecoder();

// What a decoder module exports for a format, as a data symbol (vigil_heif_module_v1,
// vigil_bmp_module_v1).
struct ImageDecoderModule {
  const ImageDecoder* decoder;
};

}  // namespace vigil::media
