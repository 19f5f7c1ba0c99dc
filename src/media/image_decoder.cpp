// DecodeImage: the front door. Enforces the file-size limit, sniffs the format from the bytes,
// dispatches to the format's decoder, and checks what comes back. ReadImageHeader: the same up to
// the end of the header's checks.
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "media/decoder.h"
#include "vigil/image.h"

namespace vigil {

std::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return "jpeg";
    case ImageFormat::kPng: return "png";
    case ImageFormat::kWebp: return "webp";
    case ImageFormat::kGif: return "gif";
    case ImageFormat::kBmp: return "bmp";
    case ImageFormat::kTiff: return "tiff";
    case ImageFormat::kHeif: return "heif";
    case ImageFormat::kUnknown: break;
  }
  return "unknown";
}

ImageFormat SniffImageFormat(std::span<const std::uint8_t> b) {
  auto starts = [&](std::size_t offset, const char* magic) {
    const std::size_t n = std::strlen(magic);
    return b.size() >= offset + n && std::memcmp(b.data() + offset, magic, n) == 0;
  };
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFormat::kJpeg;
  if (starts(0, "\x89PNG\r\n\x1a\n")) return ImageFormat::kPng;
  if (starts(0, "RIFF") && starts(8, "WEBP")) return ImageFormat::kWebp;
  if (starts(0, "GIF87a") || starts(0, "GIF89a")) return ImageFormat::kGif;
  if (starts(0, "BM")) return ImageFormat::kBmp;
  if (starts(0, "II*") && b.size() >= 4 && b[3] == 0) return ImageFormat::kTiff;
  if (starts(0, "MM") && b.size() >= 4 && b[2] == 0 && b[3] == 0x2A) return ImageFormat::kTiff;
  if (starts(4, "ftyp")) {
    static const char* kBrands[] = {"heic", "heix", "hevc", "hevx", "heim", "heis",
                                    "hevm", "hevs", "mif1", "msf1", "avif", "avis"};
    for (const char* brand : kBrands) {
      if (starts(8, brand)) return ImageFormat::kHeif;
    }
  }
  return ImageFormat::kUnknown;
}

namespace media {

const ImageDecoder* DecoderFor(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return &JpegDecoder();
    case ImageFormat::kPng: return &PngDecoder();
    case ImageFormat::kWebp: return &WebpDecoder();
    case ImageFormat::kGif: return &GifDecoder();
    case ImageFormat::kBmp: return &BmpDecoder();
    case ImageFormat::kTiff: return &TiffDecoder();
    case ImageFormat::kHeif: return &HeifDecoder();
    case ImageFormat::kUnknown: break;
  }
  return nullptr;
}

}  // namespace media

namespace {

// The file-size limit and the format: what DecodeImage and ReadImageHeader check first.
Result<const media::ImageDecoder*> FindDecoder(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return Fail(ErrorCode::kTruncated, "file is empty (0 bytes)");
  if (bytes.size() > limits.max_file_bytes) {
    return Fail(ErrorCode::kTooLarge, "file is " + std::to_string(bytes.size()) +
                                          " bytes, over the limit of " +
                                          std::to_string(limits.max_file_bytes));
  }
  const media::ImageDecoder* decoder = media::DecoderFor(SniffImageFormat(bytes));
  if (decoder == nullptr) {
    return Fail(ErrorCode::kUnsupported,
                "unsupported format (not JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC or AVIF)");
  }
  return decoder;
}

}  // namespace

Result<ImageHeader> ReadImageHeader(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  VIGIL_ASSIGN_OR_RETURN(auto decoder, FindDecoder(bytes, limits));
  const ImageFormat format = decoder->format();
  auto header = decoder->ReadHeader(bytes, limits);
  if (!header) return tl::unexpected(WithContext(header.error(), ImageFormatName(format)));
  return *header;
}

Result<Image> DecodeImage(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  VIGIL_ASSIGN_OR_RETURN(auto found, FindDecoder(bytes, limits));
  const media::ImageDecoder* decoder = found;
  const ImageFormat format = decoder->format();
  auto image = decoder->Decode(bytes, limits);
  if (!image) {
    return tl::unexpected(WithContext(image.error(), ImageFormatName(format)));
  }
  if (image->channels != 1 && image->channels != 3) {
    return Fail(ErrorCode::kInternal, "decoder returned " + std::to_string(image->channels) +
                                          " channels");
  }
  return image;
}

}  // namespace vigil
