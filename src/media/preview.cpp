// Blurred grayscale previews (see include/vigil/preview.h): decode, shrink by area averaging,
// take luma, blur with three box passes each way, encode with TurboJPEG.
#include "vigil/preview.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cmath>

#include "media/video_decoder.h"
#include "vigil/video.h"

namespace vigil {
namespace {

// Area-average shrink of an RGB or grey image to fit max_side, as luma.
std::vector<float> ShrunkLuma(const Image& image, int max_side, std::size_t& width, std::size_t& height) {
  const double scale = std::min(1.0, static_cast<double>(max_side) / std::max(image.width, image.height));
  width = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(image.width * scale)));
  height = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(image.height * scale)));
  std::vector<double> sum(width * height, 0.0), count(sum.size(), 0.0);
  for (std::uint32_t y = 0; y < image.height; ++y) {
    const auto ty = std::min(static_cast<std::size_t>(y * scale), height - 1);
    const std::uint8_t* row = image.Row(y);
    for (std::uint32_t x = 0; x < image.width; ++x) {
      const auto tx = std::min(static_cast<std::size_t>(x * scale), width - 1);
      const double v = image.channels == 3 ? 0.299 * row[3 * x] + 0.587 * row[3 * x + 1] + 0.114 * row[3 * x + 2] : row[x];
      sum[ty * width + tx] += v;
      count[ty * width + tx] += 1;
    }
  }
  std::vector<float> out(sum.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(count[i] > 0 ? sum[i] / count[i] : 0);
  return out;
}

void BoxBlur(std::vector<float>& plane, std::size_t width, std::size_t height, std::size_t radius, bool horizontal) {
  std::vector<float> line;
  const std::size_t n = horizontal ? width : height, lines = horizontal ? height : width;
  line.resize(n);
  for (std::size_t l = 0; l < lines; ++l) {
    auto at = [&](std::size_t i) -> float& { return horizontal ? plane[l * width + i] : plane[i * width + l]; };
    for (std::size_t i = 0; i < n; ++i) line[i] = at(i);
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0;
      const std::size_t first = i >= radius ? i - radius : 0, last = std::min(n - 1, i + radius);
      for (std::size_t k = first; k <= last; ++k) s += static_cast<double>(line[k]);
      at(i) = static_cast<float>(s / static_cast<double>(last - first + 1));
    }
  }
}

Result<Image> FirstFrame(std::span<const std::uint8_t> bytes) {
  VideoLimits limits;
  limits.max_wall_seconds = 10;
  VIGIL_ASSIGN_OR_RETURN(auto decoder, media::VideoDecoder::Open(bytes, limits));
  Image image;
  auto decoded = decoder->Decode([](std::int64_t n) { return n == 0; },
                                    [&](const media::RgbFrame& frame) -> Status {
                                      image.width = frame.width;
                                      image.height = frame.height;
                                      image.channels = 3;
                                      image.pixels.assign(frame.pixels, frame.pixels + std::size_t{frame.width} * 3 * frame.height);
                                      // One frame is all a preview needs.
                                      return Fail(ErrorCode::kInternal, "enough");
                                    });
  if (image.pixels.empty()) return tl::unexpected(decoded ? Error{ErrorCode::kCorrupt, "no frame"} : decoded.error());
  return image;
}

}  // namespace

Result<std::vector<std::uint8_t>> BlurredPreview(std::span<const std::uint8_t> media, const PreviewOptions& options) {
  VIGIL_ASSIGN_OR_RETURN(auto image, LooksLikeVideo(media) ? FirstFrame(media) : DecodeImage(media, options.limits));
  std::size_t width = 0, height = 0;
  std::vector<float> luma = ShrunkLuma(image, options.max_side, width, height);
  const auto radius = static_cast<std::size_t>(std::max(0, options.blur_radius));
  for (int pass = 0; pass < 3; ++pass) {
    BoxBlur(luma, width, height, radius, true);
    BoxBlur(luma, width, height, radius, false);
  }
  std::vector<std::uint8_t> grey(luma.size());
  for (std::size_t i = 0; i < luma.size(); ++i) grey[i] = static_cast<std::uint8_t>(std::clamp(luma[i], 0.0f, 255.0f));
  tjhandle handle = tjInitCompress();
  if (handle == nullptr) return Fail(ErrorCode::kResourceExhausted, "cannot start the JPEG encoder");
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, grey.data(), static_cast<int>(width), 0, static_cast<int>(height), TJPF_GRAY, &jpeg,
                             &size, TJSAMP_GRAY,
                             options.jpeg_quality, TJFLAG_ACCURATEDCT);
  std::vector<std::uint8_t> out;
  if (rc == 0) out.assign(jpeg, jpeg + size);
  tjFree(jpeg);
  tjDestroy(handle);
  if (rc != 0) return Fail(ErrorCode::kInternal, "JPEG encoding of a preview failed");
  return out;
}

}  // namespace vigil
