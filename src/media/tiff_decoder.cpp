// TIFF through libtiff's RGBA interface (every photometric interpretation it supports), read from
// memory with per-open error handlers (no global state) and a cap on single allocations. Grey
// images stay one channel; alpha is dropped.
#include <tiffio.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "media/decoder.h"

namespace vigil::media {
namespace {

struct MemFile {
  std::span<const std::uint8_t> bytes;
  toff_t pos = 0;
  std::string error;
};

tsize_t OnRead(thandle_t h, tdata_t buf, tsize_t size) {
  auto* f = static_cast<MemFile*>(h);
  if (size < 0 || f->pos >= f->bytes.size()) return 0;
  const auto n = std::min<std::uint64_t>(static_cast<std::uint64_t>(size), f->bytes.size() - f->pos);
  std::memcpy(buf, f->bytes.data() + f->pos, n);
  f->pos += n;
  return static_cast<tsize_t>(n);
}
tsize_t OnWrite(thandle_t, tdata_t, tsize_t) { return -1; }
toff_t OnSeek(thandle_t h, toff_t off, int whence) {
  auto* f = static_cast<MemFile*>(h);
  toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : f->bytes.size();
  if (off > UINT64_MAX - base) return static_cast<toff_t>(-1);
  f->pos = base + off;
  return f->pos;
}
int OnClose(thandle_t) { return 0; }
toff_t OnSize(thandle_t h) { return static_cast<MemFile*>(h)->bytes.size(); }
int OnMap(thandle_t, tdata_t*, toff_t*) { return 0; }
void OnUnmap(thandle_t, tdata_t, toff_t) {}

__attribute__((format(printf, 4, 0))) int OnError(TIFF*, void* user, const char* module,
                                                 const char* fmt, va_list ap) {
  auto* f = static_cast<MemFile*>(user);
  if (f->error.empty()) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    f->error = std::string(module ? module : "libtiff") + ": " + buf;
  }
  return 1;
}
int OnWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kTiff; }

  Result<Image> Decode(std::span<const std::uint8_t> bytes,
                       const DecodeLimits& limits) const override {
    MemFile file;
    file.bytes = bytes;
    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(opts, OnError, &file);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, OnWarning, &file);
    TIFFOpenOptionsSetMaxSingleMemAlloc(
        opts, static_cast<tmsize_t>(std::min<std::uint64_t>(limits.max_pixels * 4 + (1u << 20),
                                                            std::uint64_t{1} << 40)));
    TIFF* tif = TIFFClientOpenExt("upload", "rm", &file, OnRead, OnWrite, OnSeek, OnClose, OnSize,
                                  OnMap, OnUnmap, opts);
    TIFFOpenOptionsFree(opts);
    auto fail = [&](const char* what) {
      const bool short_data = file.pos >= bytes.size();
      return Fail(short_data ? ErrorCode::kTruncated : ErrorCode::kCorrupt,
                  std::string(what) + (file.error.empty() ? "" : ": " + file.error));
    };
    if (tif == nullptr) return fail("cannot read TIFF header");
    std::uint32_t w = 0, h = 0;
    std::uint16_t spp = 1, photometric = PHOTOMETRIC_RGB;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    if (auto ok = CheckDimensions(w, h, limits); !ok) {
      TIFFClose(tif);
      return tl::unexpected(ok.error());
    }
    char why[1024] = {};
    if (!TIFFRGBAImageOK(tif, why)) {
      TIFFClose(tif);
      return Fail(ErrorCode::kUnsupported, std::string("unsupported TIFF: ") + why);
    }
    const bool grey = spp <= 2 && (photometric == PHOTOMETRIC_MINISBLACK ||
                                   photometric == PHOTOMETRIC_MINISWHITE);
    std::vector<std::uint32_t> raster;
    auto img = AllocateImage(w, h, grey ? 1 : 3, ImageFormat::kTiff);
    if (!img) {
      TIFFClose(tif);
      return img;
    }
    raster.resize(std::size_t{w} * h);
    if (!TIFFReadRGBAImageOriented(tif, w, h, raster.data(), ORIENTATION_TOPLEFT, 1)) {
      TIFFClose(tif);
      return fail("corrupt TIFF image data");
    }
    TIFFClose(tif);
    const std::uint32_t ch = img->channels;
    for (std::size_t i = 0; i < raster.size(); ++i) {
      const std::uint32_t p = raster[i];
      img->pixels[i * ch] = static_cast<std::uint8_t>(TIFFGetR(p));
      if (ch == 3) {
        img->pixels[i * 3 + 1] = static_cast<std::uint8_t>(TIFFGetG(p));
        img->pixels[i * 3 + 2] = static_cast<std::uint8_t>(TIFFGetB(p));
      }
    }
    return img;
  }
};

}  // namespace

const ImageDecoder& TiffDecoder() {
  static const Decoder decoder;
  return decoder;
}

}  // namespace vigil::media
