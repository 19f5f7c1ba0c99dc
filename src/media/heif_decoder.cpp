// The HEIF module (libvigil-heif.so, loaded on first use by media/decoder_modules.cpp): HEIC and
// AVIF through libheif (libde265 / AV1 decoders as Debian builds it): the primary image,
// with its geometry transforms applied as ImageMagick's libheif reader does, converted to
// interleaved 8-bit RGB. The primary image's declared size is checked before decoding. There is
// no compression-ratio check: HEVC and AV1 intra coding can spend next to nothing on a flat image,
// so a large declared size in few bytes is not proof of a bomb; the sandbox's large lane and CPU
// budget bound what one costs.
#include <libheif/heif.h>

#include <cstring>
#include <memory>
#include <string>

#include "media/decoder.h"

namespace vigil::media {
namespace {

struct HeifFree {
  void operator()(heif_context* p) const { heif_context_free(p); }
  void operator()(heif_image_handle* p) const { heif_image_handle_release(p); }
  void operator()(heif_image* p) const { heif_image_release(p); }
};
using ContextPtr = std::unique_ptr<heif_context, HeifFree>;
using HandlePtr = std::unique_ptr<heif_image_handle, HeifFree>;
using ImagePtr = std::unique_ptr<heif_image, HeifFree>;

ErrorCode CodeOf(const heif_error& e) {
  switch (e.code) {
    case heif_error_Unsupported_filetype:
    case heif_error_Unsupported_feature: return ErrorCode::kUnsupported;
    case heif_error_Memory_allocation_error: return ErrorCode::kResourceExhausted;
    case heif_error_Invalid_input:
      return e.subcode == heif_suberror_End_of_data ? ErrorCode::kTruncated : ErrorCode::kCorrupt;
    default: return ErrorCode::kCorrupt;
  }
}

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kHeif; }

  Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                           ImageHeader* header_only) const override {
    auto fail = [](const heif_error& e) {
      std::string message = e.message != nullptr ? e.message : "libheif error";
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
      return Fail(CodeOf(e), message);
    };
    ContextPtr ctx(heif_context_alloc());
    if (!ctx) return Fail(ErrorCode::kResourceExhausted, "cannot create HEIF context");
    heif_error e = heif_context_read_from_memory_without_copy(ctx.get(), bytes.data(), bytes.size(), nullptr);
    if (e.code != heif_error_Ok) return fail(e);
    heif_image_handle* raw_handle = nullptr;
    e = heif_context_get_primary_image_handle(ctx.get(), &raw_handle);
    HandlePtr handle(raw_handle);
    if (e.code != heif_error_Ok) return fail(e);
    const int w = heif_image_handle_get_width(handle.get());
    const int h = heif_image_handle_get_height(handle.get());
    if (w < 0 || h < 0) return Fail(ErrorCode::kCorrupt, "HEIF declares a negative size");
    if (auto ok = CheckDimensions(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h), limits); !ok) {
      return tl::unexpected(ok.error());
    }
    if (header_only) {  // no ratio to check (above)
      return HeaderOnly(header_only, static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h), ImageFormat::kHeif,
                        false);
    }
    heif_image* raw_image = nullptr;
    e = heif_decode_image(handle.get(), &raw_image, heif_colorspace_RGB, heif_chroma_interleaved_RGB, nullptr);
    ImagePtr image(raw_image);
    if (e.code != heif_error_Ok) return fail(e);
    const int ow = heif_image_get_width(image.get(), heif_channel_interleaved);
    const int oh = heif_image_get_height(image.get(), heif_channel_interleaved);
    int stride = 0;
    const std::uint8_t* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
    if (plane == nullptr || ow <= 0 || oh <= 0 || stride < ow * 3) {
      return Fail(ErrorCode::kCorrupt, "HEIF decoder returned no RGB plane");
    }
    if (auto ok = CheckDimensions(static_cast<std::uint64_t>(ow), static_cast<std::uint64_t>(oh), limits); !ok) {
      return tl::unexpected(ok.error());
    }
    auto img = AllocateImage(static_cast<std::uint32_t>(ow), static_cast<std::uint32_t>(oh), 3, ImageFormat::kHeif);
    if (!img) return img;
    const std::size_t row = static_cast<std::size_t>(ow) * 3;
    for (int y = 0; y < oh; ++y) {
      std::memcpy(img->pixels.data() + static_cast<std::size_t>(y) * row,
                  plane + static_cast<std::size_t>(y) * static_cast<std::size_t>(stride), row);
    }
    return img;
  }
};

}  // namespace

}  // namespace vigil::media

namespace {
const vigil::media::Decoder kDecoder;
}  // namespace

// The module's entry point: the HEIF decoder, a process-wide stateless instance.
extern "C" const vigil::media::ImageDecoderModule vigil_heif_module_v1{&kDecoder};
