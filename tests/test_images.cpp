// Encoders for test images, each through the library that also decodes the format.
#include "test_images.h"

#include <gif_lib.h>
#include <libheif/heif.h>
#include <png.h>
#include <tiffio.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <webp/encode.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

namespace vigil::testing {

Image MakePattern(std::uint32_t w, std::uint32_t h, std::uint32_t ch, std::uint32_t seed) {
  Image img;
  img.width = img.source_width = w;
  img.height = img.source_height = h;
  img.channels = ch;
  img.pixels.resize(std::size_t{w} * h * ch);
  std::mt19937 rng(seed);
  struct Rect { std::uint32_t x0, y0, x1, y1; std::uint8_t c[3]; };
  std::vector<Rect> rects;
  for (int i = 0; i < 4; ++i) {
    Rect r{};
    r.x0 = rng() % w; r.y0 = rng() % h;
    r.x1 = std::min<std::uint32_t>(w, static_cast<std::uint32_t>(r.x0 + 1 + rng() % (w / 2 + 1)));
    r.y1 = std::min<std::uint32_t>(h, static_cast<std::uint32_t>(r.y0 + 1 + rng() % (h / 2 + 1)));
    for (auto& c : r.c) c = static_cast<std::uint8_t>(rng());
    rects.push_back(r);
  }
  for (std::uint32_t y = 0; y < h; ++y) {
    for (std::uint32_t x = 0; x < w; ++x) {
      std::uint8_t px[3] = {static_cast<std::uint8_t>(x * 255 / std::max(1u, w - 1)),
                            static_cast<std::uint8_t>(y * 255 / std::max(1u, h - 1)),
                            static_cast<std::uint8_t>((x + y + seed * 37) & 0xFF)};
      for (const Rect& r : rects) {
        if (x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1) std::memcpy(px, r.c, 3);
      }
      std::uint8_t* out = img.pixels.data() + (std::size_t{y} * w + x) * ch;
      if (ch == 1) {
        out[0] = static_cast<std::uint8_t>((px[0] + px[1] + px[2]) / 3);
      } else {
        std::memcpy(out, px, 3);
      }
    }
  }
  return img;
}

namespace {
void PngWrite(png_structp png, png_bytep data, png_size_t n) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}
void PngFlush(png_structp) {}
}  // namespace

Bytes EncodePng(const Image& img, int bit_depth, bool add_alpha, bool palette, bool interlace) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) throw std::runtime_error("png encode failed");
  png_set_write_fn(png, &out, PngWrite, PngFlush);
  const bool grey = img.channels == 1;
  int color_type = grey ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
  if (add_alpha) color_type |= PNG_COLOR_MASK_ALPHA;
  std::vector<png_color> colors;
  std::map<std::uint32_t, std::uint8_t> index;
  if (palette) {
    color_type = PNG_COLOR_TYPE_PALETTE;
    bit_depth = 8;
    for (std::size_t i = 0; i < img.pixels.size(); i += img.channels) {
      const std::uint8_t* p = &img.pixels[i];
      const std::uint32_t key = grey ? p[0] * 0x10101u : (p[0] << 16 | p[1] << 8 | p[2]);
      if (!index.count(key)) {
        if (colors.size() == 256) throw std::runtime_error("too many colours for a palette");
        index[key] = static_cast<std::uint8_t>(colors.size());
        colors.push_back({static_cast<png_byte>(key >> 16), static_cast<png_byte>(key >> 8),
                          static_cast<png_byte>(key)});
      }
    }
  }
  png_set_IHDR(png, info, img.width, img.height, bit_depth, color_type,
               interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (palette) png_set_PLTE(png, info, colors.data(), static_cast<int>(colors.size()));
  png_write_info(png, info);
  const int samples = palette ? 1 : static_cast<int>(img.channels) + (add_alpha ? 1 : 0);
  const int bytes_per = bit_depth == 16 ? 2 : 1;
  std::vector<std::vector<png_byte>> rows(img.height, std::vector<png_byte>(img.width * static_cast<std::size_t>(samples * bytes_per)));
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const std::uint8_t* src = img.Row(y);
    auto& row = rows[y];
    std::size_t o = 0;
    for (std::uint32_t x = 0; x < img.width; ++x) {
      const std::uint8_t* p = src + x * img.channels;
      if (palette) {
        const std::uint32_t key = grey ? p[0] * 0x10101u : (p[0] << 16 | p[1] << 8 | p[2]);
        row[o++] = index[key];
        continue;
      }
      for (int s = 0; s < samples; ++s) {
        const std::uint8_t v = s < static_cast<int>(img.channels) ? p[s] : static_cast<std::uint8_t>(x * 7);
        if (bytes_per == 2) {
          row[o++] = v;        // high byte: the 8-bit value
          row[o++] = v;        // v * 257 scales back to exactly v
        } else {
          row[o++] = v;
        }
      }
    }
  }
  std::vector<png_bytep> ptrs;
  for (auto& r : rows) ptrs.push_back(r.data());
  png_write_image(png, ptrs.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

Bytes EncodeJpeg(const Image& img, int quality, bool progressive) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int pf = img.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  const int subsamp = img.channels == 1 ? TJSAMP_GRAY : TJSAMP_420;
  if (tjCompress2(tj, img.pixels.data(), static_cast<int>(img.width), 0, static_cast<int>(img.height), pf, &buf, &size,
                  subsamp, quality, progressive ? TJFLAG_PROGRESSIVE : 0) != 0) {
    throw std::runtime_error(tjGetErrorStr2(tj));
  }
  Bytes out(buf, buf + size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

Image MakeSolid(std::uint32_t width, std::uint32_t height, std::uint32_t channels) {
  Image img;
  img.width = img.source_width = width;
  img.height = img.source_height = height;
  img.channels = channels;
  img.pixels.assign(std::size_t{width} * height * channels, 0x5A);
  return img;
}

Image MakeColour(std::uint32_t width, std::uint32_t height, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  Image img = MakeSolid(width, height, 3);
  for (std::size_t i = 0; i < img.pixels.size(); i += 3) {
    img.pixels[i] = r;
    img.pixels[i + 1] = g;
    img.pixels[i + 2] = b;
  }
  return img;
}

Bytes EncodeWebpLossy(const Image& rgb, float quality) {
  std::uint8_t* out = nullptr;
  const std::size_t n = WebPEncodeRGB(rgb.pixels.data(), static_cast<int>(rgb.width), static_cast<int>(rgb.height),
                                      static_cast<int>(rgb.width * 3), quality, &out);
  Bytes bytes(out, out + n);
  WebPFree(out);
  return bytes;
}

Bytes EncodeWebpLossless(const Image& img) {
  Image rgb = img;
  if (img.channels == 1) {
    rgb.channels = 3;
    rgb.pixels.clear();
    for (std::uint8_t v : img.pixels) rgb.pixels.insert(rgb.pixels.end(), {v, v, v});
  }
  std::uint8_t* out = nullptr;
  const std::size_t n = WebPEncodeLosslessRGB(rgb.pixels.data(), static_cast<int>(rgb.width), static_cast<int>(rgb.height),
                                              static_cast<int>(rgb.width * 3), &out);
  Bytes bytes(out, out + n);
  WebPFree(out);
  return bytes;
}

namespace {
int GifWrite(GifFileType* gif, const GifByteType* data, int n) {
  auto* out = static_cast<Bytes*>(gif->UserData);
  out->insert(out->end(), data, data + n);
  return n;
}
}  // namespace

Bytes EncodeGif(const Image& img) {
  std::map<std::uint32_t, int> index;
  std::vector<GifColorType> colors;
  std::vector<GifPixelType> raster(std::size_t{img.width} * img.height);
  for (std::size_t i = 0; i < raster.size(); ++i) {
    const std::uint8_t* p = &img.pixels[i * img.channels];
    const std::uint32_t key = img.channels == 1 ? p[0] * 0x10101u : (p[0] << 16 | p[1] << 8 | p[2]);
    auto it = index.find(key);
    if (it == index.end()) {
      if (colors.size() == 256) throw std::runtime_error("too many colours for GIF");
      it = index.emplace(key, static_cast<int>(colors.size())).first;
      colors.push_back({static_cast<GifByteType>(key >> 16), static_cast<GifByteType>(key >> 8),
                        static_cast<GifByteType>(key)});
    }
    raster[i] = static_cast<GifPixelType>(it->second);
  }
  while (colors.size() < 256) colors.push_back({0, 0, 0});
  Bytes out;
  int err = 0;
  GifFileType* gif = EGifOpen(&out, GifWrite, &err);
  ColorMapObject* map = GifMakeMapObject(256, colors.data());
  EGifPutScreenDesc(gif, static_cast<int>(img.width), static_cast<int>(img.height), 8, 0, map);
  EGifPutImageDesc(gif, 0, 0, static_cast<int>(img.width), static_cast<int>(img.height), false, nullptr);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    EGifPutLine(gif, raster.data() + std::size_t{y} * img.width, static_cast<int>(img.width));
  }
  EGifCloseFile(gif, &err);
  GifFreeMapObject(map);
  return out;
}

Bytes EncodeBmp(const Image& img) {
  const std::uint32_t row = (img.width * 3 + 3) & ~3u;
  const std::uint32_t data = row * img.height;
  Bytes b(54 + data, 0);
  auto le32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  b[0] = 'B';
  b[1] = 'M';
  le32(2, static_cast<std::uint32_t>(b.size()));
  le32(10, 54);
  le32(14, 40);
  le32(18, img.width);
  le32(22, img.height);
  b[26] = 1;
  b[28] = 24;
  le32(34, data);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    std::uint8_t* dst = &b[54 + std::size_t{img.height - 1 - y} * row];
    for (std::uint32_t x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.Row(y) + x * img.channels;
      const std::uint8_t r = p[0], g = img.channels == 3 ? p[1] : p[0], bl = img.channels == 3 ? p[2] : p[0];
      dst[3 * x] = bl;
      dst[3 * x + 1] = g;
      dst[3 * x + 2] = r;
    }
  }
  return b;
}

Bytes EncodeTiff(const Image& img) {
  TempDir dir;
  const auto path = dir.path() / "t.tif";
  TIFF* tif = TIFFOpen(path.c_str(), "w");
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, img.width);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, img.height);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, img.channels);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, img.channels == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 16);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    TIFFWriteScanline(tif, const_cast<std::uint8_t*>(img.Row(y)), y, 0);
  }
  TIFFClose(tif);
  return ReadFile(path);
}

std::string ReadText(const std::filesystem::path& path) {
  const Bytes bytes = ReadFile(path);
  return std::string(bytes.begin(), bytes.end());
}

Bytes ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::filesystem::path TestDataDir() {
  if (const char* env = std::getenv("VIGIL_TEST_DATA_DIR")) return env;
  return VIGIL_TEST_DATA_DIR;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// A HEIF still: HEIC (HEVC, libheif's x265 encoder) or AVIF (AV1, libheif's AV1 encoder, aom in
// Debian's build).
Bytes EncodeHeif(const Image& rgb, heif_compression_format compression) {
  heif_context* ctx = heif_context_alloc();
  heif_encoder* encoder = nullptr;
  heif_image* image = nullptr;
  Bytes out;
  if (heif_context_get_encoder_for_format(ctx, compression, &encoder).code == heif_error_Ok &&
      heif_image_create(static_cast<int>(rgb.width), static_cast<int>(rgb.height), heif_colorspace_RGB,
                        heif_chroma_interleaved_RGB, &image)
              .code == heif_error_Ok &&
      heif_image_add_plane(image, heif_channel_interleaved, static_cast<int>(rgb.width), static_cast<int>(rgb.height), 8)
              .code == heif_error_Ok) {
    int stride = 0;
    std::uint8_t* plane = heif_image_get_plane(image, heif_channel_interleaved, &stride);
    for (std::uint32_t y = 0; y < rgb.height; ++y) std::memcpy(plane + y * stride, rgb.Row(y), rgb.width * 3);
    heif_encoder_set_lossy_quality(encoder, 90);
    if (heif_context_encode_image(ctx, image, encoder, nullptr, nullptr).code == heif_error_Ok) {
      heif_writer writer{};
      writer.writer_api_version = 1;
      writer.write = [](heif_context*, const void* data, size_t size, void* userdata) {
        auto* bytes = static_cast<Bytes*>(userdata);
        bytes->insert(bytes->end(), static_cast<const std::uint8_t*>(data), static_cast<const std::uint8_t*>(data) + size);
        return heif_error{heif_error_Ok, heif_suberror_Unspecified, ""};
      };
      heif_context_write(ctx, &writer, &out);
    }
  }
  if (image != nullptr) heif_image_release(image);
  if (encoder != nullptr) heif_encoder_release(encoder);
  heif_context_free(ctx);
  return out;
}

}  // namespace vigil::testing
