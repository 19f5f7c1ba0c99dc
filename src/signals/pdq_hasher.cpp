// PdqHasher: image -> luma (with the reference CLI's optional 512x512 nearest-neighbour
// pre-resize) -> Jarosz blur -> 64x64 grid -> quality and DCT -> bits.
#include <cstdint>
#include <vector>

#if defined(__x86_64__)
#include <tmmintrin.h>
#endif

#include "signals/jarosz_blur.h"
#include "signals/pdq_dct.h"
#include "vigil/pdq.h"

namespace vigil {

namespace {
constexpr std::uint32_t kPreResize = 512;
constexpr int kMinSide = 5;  // smaller images hash to all zeros with quality 0

// Y = 0.299f*R + 0.587f*G + 0.114f*B, evaluated left to right without fused multiply-add. Each
// product depends only on one byte, so it is tabulated: the table holds the very same rounded
// float products, and the two additions are done in the same order.
struct LumaTables {
  float r[256], g[256], b[256];
  LumaTables() {
    for (int v = 0; v < 256; ++v) {
      r[v] = 0.299f * static_cast<float>(v);
      g[v] = 0.587f * static_cast<float>(v);
      b[v] = 0.114f * static_cast<float>(v);
    }
  }
};
const LumaTables& Tables() {
  static const LumaTables t;
  return t;
}
inline float Luma(const LumaTables& t, const std::uint8_t* p) { return t.r[p[0]] + t.g[p[1]] + t.b[p[2]]; }

#if defined(__x86_64__)
// Shuffle masks that gather channel ch of 16 interleaved RGB pixels (48 bytes in three 16-byte
// registers) into 16 consecutive bytes: mask[ch][reg][i] is the byte of register reg that holds
// pixel i's channel, or 0x80 (zero) when another register holds it.
struct DeinterleaveMasks {
  alignas(16) std::uint8_t m[3][3][16];
  DeinterleaveMasks() {
    for (int ch = 0; ch < 3; ++ch) {
      for (int reg = 0; reg < 3; ++reg) {
        for (int i = 0; i < 16; ++i) {
          const int pos = 3 * i + ch;
          m[ch][reg][i] = static_cast<std::uint8_t>(pos / 16 == reg ? pos % 16 : 0x80);
        }
      }
    }
  }
};

// Luma of a contiguous RGB row with SSSE3: deinterleave with pshufb, widen to int32, convert to
// float, then 0.299f*R + 0.587f*G + 0.114f*B in that order. Each SIMD lane performs exactly the
// scalar operations, so results are bit-identical to the table path.
__attribute__((target("ssse3"))) void LumaRowSsse3(const std::uint8_t* __restrict rgb,
                                                   float* __restrict out, std::uint32_t n,
                                                   const LumaTables& t) {
  static const DeinterleaveMasks masks;
  const __m128i zero = _mm_setzero_si128();
  const __m128 kr = _mm_set1_ps(0.299f), kg = _mm_set1_ps(0.587f), kb = _mm_set1_ps(0.114f);
  __m128i mk[3][3];
  for (int ch = 0; ch < 3; ++ch)
    for (int reg = 0; reg < 3; ++reg)
      mk[ch][reg] = _mm_load_si128(reinterpret_cast<const __m128i*>(masks.m[ch][reg]));
  std::uint32_t x = 0;
  for (; x + 16 <= n; x += 16) {
    const std::uint8_t* p = rgb + 3 * std::size_t{x};
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
    __m128i chan[3];
    for (int ch = 0; ch < 3; ++ch) {
      chan[ch] = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(a, mk[ch][0]), _mm_shuffle_epi8(b, mk[ch][1])),
                              _mm_shuffle_epi8(c, mk[ch][2]));
    }
    for (int half = 0; half < 2; ++half) {
      __m128i w[3];
      for (int ch = 0; ch < 3; ++ch) {
        w[ch] = half == 0 ? _mm_unpacklo_epi8(chan[ch], zero) : _mm_unpackhi_epi8(chan[ch], zero);
      }
      for (int quarter = 0; quarter < 2; ++quarter) {
        __m128 f[3];
        for (int ch = 0; ch < 3; ++ch) {
          f[ch] = _mm_cvtepi32_ps(quarter == 0 ? _mm_unpacklo_epi16(w[ch], zero) : _mm_unpackhi_epi16(w[ch], zero));
        }
        const __m128 y = _mm_add_ps(_mm_add_ps(_mm_mul_ps(kr, f[0]), _mm_mul_ps(kg, f[1])), _mm_mul_ps(kb, f[2]));
        _mm_storeu_ps(out + x + 8 * half + 4 * quarter, y);
      }
    }
  }
  for (; x < n; ++x) out[x] = Luma(t, rgb + 3 * std::size_t{x});
}
#endif

void LumaRow(const std::uint8_t* __restrict rgb, float* __restrict out, std::uint32_t n,
             const LumaTables& t) {
#if defined(__x86_64__)
  static const bool ssse3 = __builtin_cpu_supports("ssse3");
  if (ssse3) {
    LumaRowSsse3(rgb, out, n, t);
    return;
  }
#endif
  for (std::uint32_t x = 0; x < n; ++x) out[x] = Luma(t, rgb + 3 * std::size_t{x});
}
void GreyRow(const std::uint8_t* __restrict g, float* __restrict out, std::uint32_t n) {
  for (std::uint32_t x = 0; x < n; ++x) out[x] = static_cast<float>(g[x]);
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
  const LumaTables& t = Tables();
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
    if (!resize) {
      if (ch == 1) GreyRow(row, out, ow);
      else LumaRow(row, out, ow, t);
    } else if (ch == 1) {
      for (std::uint32_t x = 0; x < ow; ++x) out[x] = static_cast<float>(row[xmap[x]]);
    } else {
      for (std::uint32_t x = 0; x < ow; ++x) out[x] = Luma(t, row + xmap[x]);
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
