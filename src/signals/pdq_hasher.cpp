// PdqHasher: image -> luma (with the reference CLI's optional 512x512 nearest-neighbour
// pre-resize) -> Jarosz blur -> 64x64 grid -> quality and DCT -> bits.
#include <cstdint>
#include <vector>

#include "signals/jarosz_blur.h"
#include "signals/pdq_dct.h"
#include "vigil/pdq.h"

namespace vigil {

namespace {
constexpr std::uint32_t kPreResize = 512;
constexpr int kMinSide = 5;  // smaller images hash to all zeros with quality 0

inline float Luma(const std::uint8_t* p) {
  // Left to right, no fused multiply-add (the build sets -ffp-contract=off).
  return 0.299f * static_cast<float>(p[0]) + 0.587f * static_cast<float>(p[1]) +
         0.114f * static_cast<float>(p[2]);
}
}  // namespace

struct PdqHasher::Scratch {
  std::vector<float> luma, tmp;
  std::vector<std::uint32_t> xmap;
  internal::BlurScratch blur;
  alignas(64) float grid[64 * 64];
};

PdqHasher::PdqHasher() : scratch_(std::make_unique<Scratch>()) {}
PdqHasher::~PdqHasher() = default;

namespace {

// Fills `luma` with the plane the reference hashes; returns its size.
void FillLuma(const Image& img, bool full_resolution, std::vector<float>& luma,
              std::vector<std::uint32_t>& xmap, int* out_w, int* out_h) {
  const std::uint32_t w = img.width, h = img.height, ch = img.channels;
  const bool resize = !full_resolution && (w > kPreResize || h > kPreResize);
  const std::uint32_t ow = resize ? kPreResize : w, oh = resize ? kPreResize : h;
  luma.resize(static_cast<std::size_t>(ow) * oh);
  xmap.resize(ow);
  for (std::uint32_t x = 0; x < ow; ++x) {
    xmap[x] = (resize ? static_cast<std::uint32_t>(std::uint64_t{x} * w / kPreResize) : x) * ch;
  }
  for (std::uint32_t y = 0; y < oh; ++y) {
    const std::uint32_t sy = resize ? static_cast<std::uint32_t>(std::uint64_t{y} * h / kPreResize) : y;
    const std::uint8_t* row = img.Row(sy);
    float* out = luma.data() + static_cast<std::size_t>(y) * ow;
    if (ch == 1) {
      for (std::uint32_t x = 0; x < ow; ++x) out[x] = static_cast<float>(row[xmap[x]]);
    } else if (!resize) {
      for (std::uint32_t x = 0; x < ow; ++x) out[x] = Luma(row + 3 * x);
    } else {
      for (std::uint32_t x = 0; x < ow; ++x) out[x] = Luma(row + xmap[x]);
    }
  }
  *out_w = static_cast<int>(ow);
  *out_h = static_cast<int>(oh);
}

}  // namespace

// Computes the DCT matrix and quality; returns false for images too small to hash.
static bool ComputeDct(const float* luma, int width, int height, std::vector<float>& work,
                       std::vector<float>& tmp, internal::BlurScratch& blur, float* grid,
                       internal::Dct16& dct, int* quality) {
  if (width < kMinSide || height < kMinSide) return false;
  const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  if (work.data() != luma) work.assign(luma, luma + n);
  tmp.resize(n);
  internal::JaroszBlurAndSample(work.data(), tmp.data(), width, height, blur, grid);
  *quality = internal::PdqQuality(grid);
  internal::PdqDct(grid, dct);
  return true;
}

PdqResult PdqHasher::HashLuma(const float* luma, int width, int height) {
  Scratch& s = *scratch_;
  internal::Dct16 dct;
  PdqResult r;
  if (ComputeDct(luma, width, height, s.luma, s.tmp, s.blur, s.grid, dct, &r.quality)) {
    r.hash = internal::PdqBitsFromDct(dct);
  }
  return r;
}

PdqResult PdqHasher::Hash(const Image& image, const PdqOptions& options) {
  Scratch& s = *scratch_;
  int w = 0, h = 0;
  FillLuma(image, options.full_resolution, s.luma, s.xmap, &w, &h);
  return HashLuma(s.luma.data(), w, h);
}

PdqDihedralResult PdqHasher::HashDihedral(const Image& image, const PdqOptions& options) {
  Scratch& s = *scratch_;
  int w = 0, h = 0;
  FillLuma(image, options.full_resolution, s.luma, s.xmap, &w, &h);
  internal::Dct16 dct;
  PdqDihedralResult r;
  if (ComputeDct(s.luma.data(), w, h, s.luma, s.tmp, s.blur, s.grid, dct, &r.quality)) {
    for (int d = 0; d < kDihedralCount; ++d) {
      r.hashes[static_cast<std::size_t>(d)] =
          internal::PdqBitsFromDct(internal::DihedralDct(dct, static_cast<Dihedral>(d)));
    }
  }
  return r;
}

}  // namespace vigil
