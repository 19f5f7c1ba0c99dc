// WebP through libwebp (and libwebpdemux for the first frame of an animation). Alpha is dropped
// without compositing: the RGB values stored under it are used as they are. A lossy (VP8) frame's
// declared size is checked against what its bytes can code; lossless (VP8L) has no such floor (a
// one-colour image costs no bits per pixel), so it is left to the limits and the sandbox's lanes.
#include <webp/decode.h>
#include <webp/demux.h>

#include <cstdint>
#include <string>

#include "media/decoder.h"

namespace vigil::media {
namespace {

std::string StatusText(VP8StatusCode code) {
  switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated: data ends before the image does";
    default: return "decoding failed";
  }
}

ErrorCode StatusCode(VP8StatusCode code) {
  switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY: return ErrorCode::kResourceExhausted;
    case VP8_STATUS_UNSUPPORTED_FEATURE: return ErrorCode::kUnsupported;
    case VP8_STATUS_NOT_ENOUGH_DATA: return ErrorCode::kTruncated;
    default: return ErrorCode::kCorrupt;
  }
}

// A VP8 key frame codes every 16x16 macroblock's luma and chroma prediction modes with fixed
// probabilities: at least 0.8 + 0.85 bits a macroblock, so at most about 1230 pixels a byte.
// 4096 a byte leaves ample room.
constexpr std::uint64_t kMaxVp8PixelsPerByte = 4096;

// Decodes one still WebP bitstream (a whole file or one animation frame) to RGB.
Result<Image> DecodeStill(const std::uint8_t* data, std::size_t size, const DecodeLimits& limits,
                          ImageHeader* header_only) {
  WebPBitstreamFeatures features;
  const VP8StatusCode st = WebPGetFeatures(data, size, &features);
  if (st != VP8_STATUS_OK) return Fail(StatusCode(st), StatusText(st));
  const auto w = static_cast<std::uint32_t>(features.width);
  const auto h = static_cast<std::uint32_t>(features.height);
  VIGIL_TRY(CheckDimensions(w, h, limits));
  const bool lossy = features.format == 1;
  if (lossy) {
    Density density;
    density.declared = std::uint64_t{w} * h;
    density.max_per_byte = kMaxVp8PixelsPerByte;
    density.why = "a lossy WebP codes at least about 1.6 bits per 16x16 macroblock";
    VIGIL_TRY(CheckCompressionRatio(w, h, size, density));
  }
  if (header_only) return HeaderOnly(header_only, w, h, ImageFormat::kWebp, lossy);  // lossless: no ratio to check
  auto img = AllocateImage(w, h, 3, ImageFormat::kWebp);
  if (!img) return img;
  if (WebPDecodeRGBInto(data, size, img->pixels.data(), img->pixels.size(),
                        static_cast<int>(w * 3)) == nullptr) {
    // Find out why: a second, incremental look tells truncation from corruption.
    WebPDecoderConfig config;
    WebPInitDecoderConfig(&config);
    const VP8StatusCode why = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    const VP8StatusCode code = why == VP8_STATUS_OK ? VP8_STATUS_BITSTREAM_ERROR : why;
    return Fail(StatusCode(code), StatusText(code));
  }
  return img;
}

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kWebp; }

  Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                           ImageHeader* header_only) const override {
    WebPBitstreamFeatures features;
    const VP8StatusCode st = WebPGetFeatures(bytes.data(), bytes.size(), &features);
    if (st != VP8_STATUS_OK) return Fail(StatusCode(st), StatusText(st));
    if (!features.has_animation) return DecodeStill(bytes.data(), bytes.size(), limits, header_only);

    const WebPData data{bytes.data(), bytes.size()};
    WebPDemuxer* demux = WebPDemux(&data);
    if (demux == nullptr) return Fail(ErrorCode::kCorrupt, "corrupt animated WebP container");
    const auto canvas_w = WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH);
    const auto canvas_h = WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT);
    if (auto ok = CheckDimensions(canvas_w, canvas_h, limits); !ok) {
      WebPDemuxDelete(demux);
      return tl::unexpected(ok.error());
    }
    WebPIterator it;
    if (!WebPDemuxGetFrame(demux, 1, &it)) {
      WebPDemuxDelete(demux);
      return Fail(ErrorCode::kCorrupt, "animated WebP has no frames");
    }
    auto img = DecodeStill(it.fragment.bytes, it.fragment.size, limits, header_only);
    WebPDemuxReleaseIterator(&it);
    WebPDemuxDelete(demux);
    return img;
  }
};

}  // namespace

const ImageDecoder& WebpDecoder() {
  static const Decoder decoder;
  return decoder;
}

}  // namespace vigil::media
