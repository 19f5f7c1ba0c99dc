// The decoder modules' loaders and the stand-in decoders for HEIF and BMP (media/decoder_modules.h).
#include "media/decoder_modules.h"

#include "util/module_loader.h"

namespace vigil::media {
namespace {

template <typename Module>
Result<const Module*> LoadEntry(const char* file, const char* symbol) {
  VIGIL_ASSIGN_OR_RETURN(auto address, LoadModuleSymbol(file, symbol));
  return static_cast<const Module*>(address);
}

// Hands each call to a module's decoder, loading the module on the first.
class StandIn final : public ImageDecoder {
 public:
  StandIn(ImageFormat format, const char* file, const char* symbol) : format_(format), file_(file), symbol_(symbol) {}
  ImageFormat format() const override { return format_; }
  Result<const ImageDecoderModule*> Load() const { return LoadEntry<ImageDecoderModule>(file_, symbol_); }

 protected:
  Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                           ImageHeader* header_only) const override {
    VIGIL_ASSIGN_OR_RETURN(auto module, Load());
    const ImageDecoder& real = *module->decoder;
    if (header_only == nullptr) return real.Decode(bytes, limits);
    VIGIL_ASSIGN_OR_RETURN(auto header, real.ReadHeader(bytes, limits));
    return HeaderOnly(header_only, header.width, header.height, header.format, header.ratio_checked);
  }

 private:
  ImageFormat format_;
  const char* file_;
  const char* symbol_;
};

const StandIn kHeif(ImageFormat::kHeif, kHeifModuleFile, "vigil_heif_module_v1");
const StandIn kBmp(ImageFormat::kBmp, kFfmpegModuleFile, "vigil_bmp_module_v1");

}  // namespace

const ImageDecoder& HeifDecoder() { return kHeif; }
const ImageDecoder& BmpDecoder() { return kBmp; }

Result<const VideoModule*> LoadVideoModule() {
  return LoadEntry<VideoModule>(kFfmpegModuleFile, "vigil_video_module_v1");
}

std::string PreloadDecoderModules() {
  std::string missing;
  auto note = [&missing](const Error& e) {
    if (missing.find(e.message) == std::string::npos) missing += (missing.empty() ? "" : "; ") + e.message;
  };
  if (auto heif = kHeif.Load(); !heif) note(heif.error());
  if (auto bmp = kBmp.Load(); !bmp) note(bmp.error());
  if (auto video = LoadVideoModule(); !video) note(video.error());
  return missing;
}

}  // namespace vigil::media
