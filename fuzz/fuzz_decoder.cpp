// libFuzzer target for one image decoder entry point. Built once per format with
// VIGIL_FUZZ_FORMAT naming it (see fuzz/CMakeLists.txt); "any" goes through DecodeImage's sniffing.
// Any decoded image is also hashed, so the PDQ pipeline sees odd sizes too.
#include <cstddef>
#include <cstdint>

#include "media/decoder.h"
#include "vigil/pdq.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vigil::DecodeLimits limits;
  limits.max_pixels = 4'000'000;
  limits.max_dimension = 8192;
  limits.max_jpeg_scans = 100;
  const std::span<const std::uint8_t> bytes(data, size);
#ifdef VIGIL_FUZZ_ANY
  auto image = vigil::DecodeImage(bytes, limits);
#else
  auto image = vigil::media::DecoderFor(vigil::ImageFormat::VIGIL_FUZZ_FORMAT)->Decode(bytes, limits);
#endif
  if (image) {
    static vigil::PdqHasher hasher;
    (void)hasher.Hash(*image, {});
  }
  return 0;
}
