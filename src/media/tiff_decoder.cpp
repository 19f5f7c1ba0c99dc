// TIFF through libtiff's RGBA interface (every photometric interpretation it supports), read from
// memory with per-open error handlers (no global state) and a cap on single allocations. Grey
// images stay one channel; alpha is dropped. The declared size is checked against what the
// compression can expand the file's bytes to (none, PackBits, LZW, Deflate, JPEG) before decoding.
#include <tiffio.h>

#include <cstdarg>
#include <cstdint>
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

// What one byte of the file can decode to under the first image's compression; an empty ceiling
// for the schemes with none worth checking (CCITT fax, LZMA, Zstandard, WebP...).
Density TiffDensity(TIFF* tif, std::uint64_t width, std::uint64_t height) {
  std::uint16_t compression = COMPRESSION_NONE, bits = 1, spp = 1, photometric = PHOTOMETRIC_RGB;
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
  Density d;
  if (compression == COMPRESSION_JPEG || compression == COMPRESSION_OJPEG) {
    // Baseline JPEG: at least 2 bits for every 8x8 luma block, 256 pixels a byte; 4x slack.
    d.declared = width * height;
    d.max_per_byte = 1024;
    d.why = "JPEG-compressed TIFF strips spend at least 2 bits on every 8x8 block, 4x slack";
    return d;
  }
  // The samples' bytes, as the strips or tiles hold them after decompression (YCbCr may store two
  // chroma samples per h x v luma block).
  std::uint64_t bits_per_block = std::uint64_t{spp} * bits, pixels_per_block = 1;
  if (photometric == PHOTOMETRIC_YCBCR && spp == 3) {
    std::uint16_t h = 2, v = 2;
    TIFFGetFieldDefaulted(tif, TIFFTAG_YCBCRSUBSAMPLING, &h, &v);
    if (h >= 1 && v >= 1) {
      pixels_per_block = std::uint64_t{h} * v;
      bits_per_block = (pixels_per_block + 2) * bits;
    }
  }
  d.declared = width * height / pixels_per_block * bits_per_block / 8;
  d.unit = "bytes of samples";
  switch (compression) {
    case COMPRESSION_NONE:
      d.max_per_byte = 1;
      d.why = "uncompressed samples take their own size";
      break;
    case COMPRESSION_PACKBITS:
      d.max_per_byte = 64;
      d.why = "PackBits codes a run of at most 128 bytes in 2";
      break;
    case COMPRESSION_LZW:
      d.max_per_byte = 4096;
      d.why = "LZW's 9- to 12-bit codes cannot expand a byte much beyond 2560";
      break;
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE:
      d.max_per_byte = 1032;
      d.why = "deflate expands one byte to at most 1032";
      break;
    default: break;
  }
  return d;
}

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kTiff; }

  Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                           ImageHeader* header_only) const override {
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
    auto ok = CheckDimensions(w, h, limits);
    bool ratio_checked = false;  // a compression with no ceiling (TiffDensity) is not checked
    if (ok) {
      const Density density = TiffDensity(tif, w, h);
      ratio_checked = density.max_per_byte != 0;
      ok = CheckCompressionRatio(w, h, bytes.size(), density);
    }
    if (!ok || header_only) {
      TIFFClose(tif);
      if (!ok) return tl::unexpected(ok.error());
      return HeaderOnly(header_only, w, h, ImageFormat::kTiff, ratio_checked);
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
