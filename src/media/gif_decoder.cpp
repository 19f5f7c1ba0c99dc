// GIF through giflib: the first frame's own raster (as ImageMagick hands a frame to the
// reference), colours from the frame's or the global colour map, transparency ignored. Both the
// logical screen and the frame are checked against the limits, and the frame against what LZW can
// expand the file's bytes to, before anything is allocated; later frames are never read.
#include <gif_lib.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "media/decoder.h"

namespace vigil::media {
namespace {

struct Reader {
  std::span<const std::uint8_t> bytes;
  std::size_t offset = 0;
  bool short_read = false;
};

int OnRead(GifFileType* gif, GifByteType* buf, int len) {
  auto* r = static_cast<Reader*>(gif->UserData);
  const std::size_t want = static_cast<std::size_t>(len);
  const std::size_t n = std::min(want, r->bytes.size() - r->offset);
  if (n < want) r->short_read = true;
  std::memcpy(buf, r->bytes.data() + r->offset, n);
  r->offset += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* g) const {
    int err = 0;
    DGifCloseFile(g, &err);
  }
};

// GIF's LZW emits one pixel index per decoded symbol, and a code (at most 12 bits, 12 once the
// table is large) stands for a string at most as long as the table has entries since its last
// clear (under 4096): asymptotically under 2560 pixels a byte, and a table's first fill yields at
// most 7.4 million pixels from about 5 KB. 4096 a byte leaves room for both.
constexpr std::uint64_t kMaxLzwPixelsPerByte = 4096;

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kGif; }

  Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                           ImageHeader* header_only) const override {
    Reader reader;
    reader.bytes = bytes;
    int err = 0;
    std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, OnRead, &err));
    auto fail = [&](const char* what) {
      if (reader.short_read) {
        return Fail(ErrorCode::kTruncated, std::string("truncated: data ends in the ") + what);
      }
      const char* why = GifErrorString(gif ? gif->Error : err);
      return Fail(ErrorCode::kCorrupt, std::string("corrupt ") + what + ": " + (why ? why : "?"));
    };
    if (!gif) return fail("header");
    if (auto ok = CheckDimensions(static_cast<std::uint64_t>(gif->SWidth),
                                  static_cast<std::uint64_t>(gif->SHeight), limits);
        !ok) {
      return tl::unexpected(WithContext(ok.error(), "logical screen"));
    }
    for (;;) {
      GifRecordType type;
      if (DGifGetRecordType(gif.get(), &type) == GIF_ERROR) return fail("record list");
      if (type == TERMINATE_RECORD_TYPE) return Fail(ErrorCode::kCorrupt, "GIF holds no image");
      if (type == EXTENSION_RECORD_TYPE) {
        int code = 0;
        GifByteType* ext = nullptr;
        if (DGifGetExtension(gif.get(), &code, &ext) == GIF_ERROR) return fail("extension");
        while (ext != nullptr) {
          if (DGifGetExtensionNext(gif.get(), &ext) == GIF_ERROR) return fail("extension");
        }
        continue;
      }
      if (type != IMAGE_DESC_RECORD_TYPE) continue;
      if (DGifGetImageDesc(gif.get()) == GIF_ERROR) return fail("image descriptor");
      const GifImageDesc& desc = gif->Image;
      if (auto ok = CheckDimensions(static_cast<std::uint64_t>(desc.Width),
                                    static_cast<std::uint64_t>(desc.Height), limits);
          !ok) {
        return tl::unexpected(WithContext(ok.error(), "first frame"));
      }
      Density density;
      density.declared = static_cast<std::uint64_t>(desc.Width) * static_cast<std::uint64_t>(desc.Height);
      density.max_per_byte = kMaxLzwPixelsPerByte;
      density.why = "GIF's LZW codes cannot expand a byte much beyond 2560 pixels";
      if (auto ok = CheckCompressionRatio(static_cast<std::uint64_t>(desc.Width), static_cast<std::uint64_t>(desc.Height),
                                          bytes.size(), density);
          !ok) {
        return tl::unexpected(WithContext(ok.error(), "first frame"));
      }
      if (header_only) {
        return HeaderOnly(header_only, static_cast<std::uint32_t>(desc.Width),
                          static_cast<std::uint32_t>(desc.Height), ImageFormat::kGif, true);
      }
      const ColorMapObject* map = desc.ColorMap ? desc.ColorMap : gif->SColorMap;
      if (map == nullptr || map->Colors == nullptr) {
        return Fail(ErrorCode::kCorrupt, "GIF frame has no colour map");
      }
      const auto w = static_cast<std::uint32_t>(desc.Width);
      const auto h = static_cast<std::uint32_t>(desc.Height);
      auto img = AllocateImage(w, h, 3, ImageFormat::kGif);
      if (!img) return img;
      std::vector<GifPixelType> line(w);
      auto put_row = [&](std::uint32_t y) {
        std::uint8_t* out = img->pixels.data() + std::size_t{y} * w * 3;
        for (std::uint32_t x = 0; x < w; ++x) {
          const int index = line[x] < map->ColorCount ? line[x] : 0;
          const GifColorType& c = map->Colors[index];
          out[3 * x] = c.Red;
          out[3 * x + 1] = c.Green;
          out[3 * x + 2] = c.Blue;
        }
      };
      if (desc.Interlace) {
        static constexpr std::uint32_t kStart[] = {0, 4, 2, 1}, kStep[] = {8, 8, 4, 2};
        for (int pass = 0; pass < 4; ++pass) {
          for (std::uint32_t y = kStart[pass]; y < h; y += kStep[pass]) {
            if (DGifGetLine(gif.get(), line.data(), desc.Width) == GIF_ERROR) return fail("image data");
            put_row(y);
          }
        }
      } else {
        for (std::uint32_t y = 0; y < h; ++y) {
          if (DGifGetLine(gif.get(), line.data(), desc.Width) == GIF_ERROR) return fail("image data");
          put_row(y);
        }
      }
      return img;
    }
  }
};

}  // namespace

const ImageDecoder& GifDecoder() {
  static const Decoder decoder;
  return decoder;
}

}  // namespace vigil::media
