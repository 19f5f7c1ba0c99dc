// PNG through libpng's classic API, so the pixels are what ImageMagick gives the reference: palette
// expanded to RGB, low-bit grey expanded, 16-bit scaled (rounded) to 8, alpha and tRNS dropped
// without compositing, no gamma correction. Grey stays one channel. The header's dimensions are
// checked against the limits and against what deflate can expand the file's bytes to.
#include <png.h>

#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "media/decoder.h"

namespace vigil::media {
namespace {

struct PngContext {
  std::span<const std::uint8_t> bytes;
  std::size_t offset = 0;
  ErrorCode code = ErrorCode::kCorrupt;
  std::string message;
};

void OnError(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
  if (ctx->message.empty()) ctx->message = msg;
  png_longjmp(png, 1);
}

void OnWarning(png_structp, png_const_charp) {}

void OnRead(png_structp png, png_bytep data, png_size_t length) {
  auto* ctx = static_cast<PngContext*>(png_get_io_ptr(png));
  if (ctx->bytes.size() - ctx->offset < length) {
    ctx->code = ErrorCode::kTruncated;
    ctx->message = "truncated: data ends before the image does";
    png_error(png, "truncated");
  }
  std::memcpy(data, ctx->bytes.data() + ctx->offset, length);
  ctx->offset += length;
}

// Deflate cannot expand a byte beyond 1032 (a 258-byte match costs at least a 1-bit length code
// and a 1-bit distance code), and every byte of the image's filtered rows comes out of the zlib
// stream in its IDAT chunks, which lie within the file: a PNG whose header declares more filtered
// bytes than 1032 times its size is a bomb. A solid-colour image reaches about 1030:1, so there is
// no slack to add (CheckCompressionRatio's fixed allowance covers the rest).
constexpr std::uint64_t kMaxDeflateRatio = 1032;

Status CheckDeflateRatio(std::uint64_t width, std::uint64_t height, int channels, int bit_depth,
                         std::size_t file_bytes) {
  const std::uint64_t bits = std::uint64_t(static_cast<unsigned>(channels)) * static_cast<unsigned>(bit_depth);
  // Each row: a filter-type byte and its samples, whole bytes (the non-interlaced size; Adam7's
  // passes add filter bytes, so this is a lower bound).
  const std::uint64_t row = 1 + (width * bits + 7) / 8;
  Density density;
  density.declared = row * height;
  density.unit = "bytes of filtered rows";
  density.max_per_byte = kMaxDeflateRatio;
  density.why = "deflate expands one byte to at most 1032";
  return CheckCompressionRatio(width, height, file_bytes, density);
}

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kPng; }

  Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                           ImageHeader* header_only) const override {
    PngContext ctx;
    ctx.bytes = bytes;
    Result<Image> out = Fail(ErrorCode::kInternal, "not decoded");
    std::vector<png_bytep> rows;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, OnError, OnWarning);
    if (png == nullptr) return Fail(ErrorCode::kResourceExhausted, "cannot create PNG reader");
    png_infop info = png_create_info_struct(png);
    if (info == nullptr) {
      png_destroy_read_struct(&png, nullptr, nullptr);
      return Fail(ErrorCode::kResourceExhausted, "cannot create PNG reader");
    }
    if (setjmp(png_jmpbuf(png))) {
      png_destroy_read_struct(&png, &info, nullptr);
      return Fail(ctx.code, ctx.message.empty() ? "corrupt PNG data" : ctx.message);
    }
    png_set_read_fn(png, &ctx, OnRead);
    // libpng's own limits as a second line of defence; ours are checked below with clear errors.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(png, 16u << 20);
    png_read_info(png, info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, nullptr,
                 nullptr);
    {  // scoped: nothing with a destructor may be live across a libpng call that can longjmp
      auto ok = CheckDimensions(width, height, limits);
      if (ok) ok = CheckDeflateRatio(width, height, png_get_channels(png, info), bit_depth, bytes.size());
      if (!ok || header_only) {
        png_destroy_read_struct(&png, &info, nullptr);
        if (!ok) return tl::unexpected(ok.error());
        return HeaderOnly(header_only, width, height, ImageFormat::kPng, true);
      }
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_scale_16(png);
    if (color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const std::uint32_t channels = png_get_channels(png, info);
    if (channels != 1 && channels != 3) {
      png_destroy_read_struct(&png, &info, nullptr);
      return Fail(ErrorCode::kUnsupported, "unexpected PNG channel count " + std::to_string(channels));
    }
    out = AllocateImage(width, height, channels, ImageFormat::kPng);
    if (!out) {
      png_destroy_read_struct(&png, &info, nullptr);
      return out;
    }
    rows.resize(height);
    for (std::uint32_t y = 0; y < height; ++y) {
      rows[y] = out->pixels.data() + std::size_t{y} * width * channels;
    }
    png_read_image(png, rows.data());
    png_destroy_read_struct(&png, &info, nullptr);
    return out;
  }
};

}  // namespace

const ImageDecoder& PngDecoder() {
  static const Decoder decoder;
  return decoder;
}

}  // namespace vigil::media
