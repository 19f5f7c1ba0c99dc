// BMP through libjpeg-turbo's BMP reader (the one cjpeg uses, fuzzed upstream), reached through
// TurboJPEG's tjLoadImage. tjLoadImage reads from a path, so the bytes go into an anonymous
// in-memory file (memfd) first. The header's dimensions are checked by us before the library
// allocates anything.
#include <sys/mman.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
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

// Width and height from the BITMAPFILEHEADER + DIB header.
Result<std::pair<std::uint64_t, std::uint64_t>> ReadBmpSize(std::span<const std::uint8_t> b) {
  if (b.size() < 26) return Fail(ErrorCode::kTruncated, "truncated: BMP header is incomplete");
  const std::int32_t dib = ReadLe32(b.data() + 14);
  if (dib == 12) {  // OS/2 BITMAPCOREHEADER
    return std::pair<std::uint64_t, std::uint64_t>{ReadLe16(b.data() + 18), ReadLe16(b.data() + 20)};
  }
  if (dib < 40) return Fail(ErrorCode::kCorrupt, "BMP has an unknown header size " + std::to_string(dib));
  const std::int64_t w = ReadLe32(b.data() + 18);
  const std::int64_t h = ReadLe32(b.data() + 22);
  if (w <= 0 || h == 0 || h == INT32_MIN) {
    return Fail(ErrorCode::kCorrupt, "BMP header declares an invalid size");
  }
  return std::pair<std::uint64_t, std::uint64_t>{static_cast<std::uint64_t>(w),
                                                   static_cast<std::uint64_t>(h < 0 ? -h : h)};
}

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kBmp; }

  Result<Image> Decode(std::span<const std::uint8_t> bytes,
                       const DecodeLimits& limits) const override {
    auto size = ReadBmpSize(bytes);
    if (!size) return tl::unexpected(size.error());
    if (auto ok = CheckDimensions(size->first, size->second, limits); !ok) {
      return tl::unexpected(ok.error());
    }
    const int fd = memfd_create("vigil-bmp", MFD_CLOEXEC);
    if (fd < 0) return Fail(ErrorCode::kIoError, std::string("memfd_create: ") + std::strerror(errno));
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
      if (n <= 0) {
        close(fd);
        return Fail(ErrorCode::kIoError, "cannot stage BMP bytes in memory");
      }
      written += static_cast<std::size_t>(n);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    int width = 0, height = 0, pixel_format = TJPF_RGB;
    unsigned char* pixels = tjLoadImage(path.c_str(), &width, 1, &height, &pixel_format, 0);
    close(fd);
    if (pixels == nullptr) {
      std::string why = tjGetErrorStr2(nullptr);
      const ErrorCode code = why.find("Premature end") != std::string::npos ||
                                     why.find("end of file") != std::string::npos
                                 ? ErrorCode::kTruncated
                                 : why.find("Unsupported") != std::string::npos ||
                                           why.find("Sorry") != std::string::npos
                                       ? ErrorCode::kUnsupported
                                       : ErrorCode::kCorrupt;
      return Fail(code, why);
    }
    auto img = AllocateImage(static_cast<std::uint32_t>(width), static_cast<std::uint32_t>(height),
                             3, ImageFormat::kBmp);
    if (img) std::memcpy(img->pixels.data(), pixels, img->pixels.size());
    tjFree(pixels);
    return img;
  }
};

}  // namespace

const ImageDecoder& BmpDecoder() {
  static const Decoder decoder;
  return decoder;
}

}  // namespace vigil::media
