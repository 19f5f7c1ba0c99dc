// In the FFmpeg module (libvigil-ffmpeg.so, loaded on first use by media/decoder_modules.cpp):
// BMP through FFmpeg's BMP decoder (libavcodec, fuzzed upstream by OSS-Fuzz), decoding from
// memory: no file, no path, so it runs inside the decoder sandbox, which allows neither. We accept
// what the libjpeg-turbo reader Vigil used before accepted (uncompressed 8-, 24- and 32-bit, and
// OS/2 8- and 24-bit), check the header's dimensions against the limits and that every row is
// present before FFmpeg allocates anything, and convert its output (BGR, BGRA/BGR0 or a palette)
// to RGB ourselves.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
}

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "media/decoder.h"

namespace vigil::media {
namespace {

std::int32_t ReadLe32(const std::uint8_t* p) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(p[0]) |
                                   static_cast<std::uint32_t>(p[1]) << 8 |
                                   static_cast<std::uint32_t>(p[2]) << 16 |
                                   static_cast<std::uint32_t>(p[3]) << 24);
}

std::uint16_t ReadLe16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}

struct BmpHeader {
  std::uint64_t width = 0, height = 0;
  std::uint32_t bits = 0, compression = 0;
  std::uint64_t pixel_offset = 0;
};

// The BITMAPFILEHEADER and the DIB header's size, depth and compression.
Result<BmpHeader> ReadBmpHeader(std::span<const std::uint8_t> b) {
  if (b.size() < 26) return Fail(ErrorCode::kTruncated, "truncated: BMP header is incomplete");
  BmpHeader h;
  h.pixel_offset = static_cast<std::uint32_t>(ReadLe32(b.data() + 10));
  const std::int32_t dib = ReadLe32(b.data() + 14);
  if (dib == 12) {  // OS/2 BITMAPCOREHEADER
    h.width = ReadLe16(b.data() + 18);
    h.height = ReadLe16(b.data() + 20);
    h.bits = ReadLe16(b.data() + 24);
    if (h.width == 0 || h.height == 0) return Fail(ErrorCode::kCorrupt, "BMP header declares an invalid size");
    return h;
  }
  if (dib < 40) return Fail(ErrorCode::kCorrupt, "BMP has an unknown header size " + std::to_string(dib));
  const std::int64_t w = ReadLe32(b.data() + 18);
  const std::int64_t height = ReadLe32(b.data() + 22);
  if (w <= 0 || height == 0 || height == INT32_MIN) {
    return Fail(ErrorCode::kCorrupt, "BMP header declares an invalid size");
  }
  h.width = static_cast<std::uint64_t>(w);
  h.height = static_cast<std::uint64_t>(height < 0 ? -height : height);
  if (b.size() < 34) return Fail(ErrorCode::kTruncated, "truncated: BMP header is incomplete");
  h.bits = ReadLe16(b.data() + 28);
  h.compression = static_cast<std::uint32_t>(ReadLe32(b.data() + 30));
  return h;
}

struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kBmp; }

  Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                           ImageHeader* header_only) const override {
    auto header = ReadBmpHeader(bytes);
    if (!header) return tl::unexpected(header.error());
    const BmpHeader& h = *header;
    VIGIL_TRY(CheckDimensions(h.width, h.height, limits));
    if (h.compression != 0) {
      return Fail(ErrorCode::kUnsupported, "compressed BMPs are not supported (compression " +
                                               std::to_string(h.compression) + ")");
    }
    if (h.bits != 8 && h.bits != 24 && h.bits != 32) {
      return Fail(ErrorCode::kUnsupported,
                  "only 8-, 24- and 32-bit BMPs are supported, not " + std::to_string(h.bits) + "-bit");
    }
    const std::uint64_t row = ((h.width * h.bits + 31) / 32) * 4;
    if (h.pixel_offset > bytes.size() || (bytes.size() - h.pixel_offset) / row < h.height) {
      return Fail(ErrorCode::kTruncated, "truncated: BMP pixel data ends before its last row");
    }
    // Every row present (uncompressed): the file holds its own pixels, the exact compression ratio.
    if (header_only) {
      return HeaderOnly(header_only, static_cast<std::uint32_t>(h.width), static_cast<std::uint32_t>(h.height),
                        ImageFormat::kBmp, true);
    }

    av_log_set_level(AV_LOG_QUIET);
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_BMP);
    if (codec == nullptr) return Fail(ErrorCode::kUnsupported, "this FFmpeg has no BMP decoder");
    std::unique_ptr<AVCodecContext, CodecContextFree> ctx(avcodec_alloc_context3(codec));
    std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
    std::unique_ptr<AVFrame, FrameFree> frame(av_frame_alloc());
    if (!ctx || !packet || !frame) return Fail(ErrorCode::kResourceExhausted, "out of memory for the BMP decoder");
    ctx->thread_count = 1;
    if (avcodec_open2(ctx.get(), codec, nullptr) < 0) return Fail(ErrorCode::kInternal, "cannot open the BMP decoder");
    // FFmpeg reads up to AV_INPUT_BUFFER_PADDING_SIZE bytes past a packet: copy into a padded one.
    if (bytes.size() > static_cast<std::size_t>(INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE) ||
        av_new_packet(packet.get(), static_cast<int>(bytes.size())) < 0) {
      return Fail(ErrorCode::kTooLarge, "BMP of " + std::to_string(bytes.size()) + " bytes is too large");
    }
    std::memcpy(packet->data, bytes.data(), bytes.size());
    if (avcodec_send_packet(ctx.get(), packet.get()) < 0 || avcodec_receive_frame(ctx.get(), frame.get()) < 0) {
      return Fail(ErrorCode::kCorrupt, "BMP data is invalid");
    }
    if (static_cast<std::uint64_t>(frame->width) != h.width || static_cast<std::uint64_t>(frame->height) != h.height) {
      return Fail(ErrorCode::kCorrupt, "BMP decoded to a size other than its header's");
    }
    auto img = AllocateImage(static_cast<std::uint32_t>(h.width), static_cast<std::uint32_t>(h.height), 3,
                             ImageFormat::kBmp);
    if (!img) return img;
    const auto fmt = static_cast<AVPixelFormat>(frame->format);
    for (std::uint32_t y = 0; y < img->height; ++y) {
      const std::uint8_t* in = frame->data[0] + static_cast<std::ptrdiff_t>(y) * frame->linesize[0];
      std::uint8_t* out = img->pixels.data() + static_cast<std::size_t>(y) * img->width * 3;
      for (std::uint32_t x = 0; x < img->width; ++x, out += 3) {
        if (fmt == AV_PIX_FMT_BGR24 || fmt == AV_PIX_FMT_BGRA || fmt == AV_PIX_FMT_BGR0) {
          const std::uint8_t* p = in + static_cast<std::size_t>(x) * (fmt == AV_PIX_FMT_BGR24 ? 3 : 4);
          out[0] = p[2];
          out[1] = p[1];
          out[2] = p[0];
        } else if (fmt == AV_PIX_FMT_PAL8) {
          std::uint32_t argb = 0;
          std::memcpy(&argb, frame->data[1] + 4 * in[x], 4);
          out[0] = static_cast<std::uint8_t>(argb >> 16);
          out[1] = static_cast<std::uint8_t>(argb >> 8);
          out[2] = static_cast<std::uint8_t>(argb);
        } else {
          return Fail(ErrorCode::kUnsupported, std::string("BMP pixel layout ") +
                                                   (av_get_pix_fmt_name(fmt) ? av_get_pix_fmt_name(fmt) : "?") +
                                                   " is not supported");
        }
      }
    }
    return img;
  }
};

}  // namespace

}  // namespace vigil::media

namespace {
const vigil::media::Decoder kDecoder;
}  // namespace

// The module's entry point for BMP: the decoder, a process-wide stateless instance.
extern "C" const vigil::media::ImageDecoderModule vigil_bmp_module_v1{&kDecoder};
