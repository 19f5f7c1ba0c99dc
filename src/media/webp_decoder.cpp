// WebP through libwebp (and libwebpdemux for the first frame of an animation). Alpha is dropped
// without compositing: the RGB values stored under it are used as they are.
#include <webp/decode.h>
#include <webp/demux.h>

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

// Decodes one still WebP bitstream (a whole file or one animation frame) to RGB.
Result<Image> DecodeStill(const std::uint8_t* data, std::size_t size, const DecodeLimits& limits) {
  WebPBitstreamFeatures features;
  const VP8StatusCode st = WebPGetFeatures(data, size, &features);
  if (st != VP8_STATUS_OK) return Fail(StatusCode(st), StatusText(st));
  const auto w = static_cast<std::uint32_t>(features.width);
  const auto h = static_cast<std::uint32_t>(features.height);
  if (auto ok = CheckDimensions(w, h, limits); !ok) return tl::unexpected(ok.error());
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

  Result<Image> Decode(std::span<const std::uint8_t> bytes,
                       const DecodeLimits& limits) const override {
    WebPBitstreamFeatures features;
    const VP8StatusCode st = WebPGetFeatures(bytes.data(), bytes.size(), &features);
    if (st != VP8_STATUS_OK) return Fail(StatusCode(st), StatusText(st));
    if (!features.has_animation) return DecodeStill(bytes.data(), bytes.size(), limits);

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
    auto img = DecodeStill(it.fragment.bytes, it.fragment.size, limits);
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
