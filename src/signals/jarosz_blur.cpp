// Fast, bit-exact PDQ blur. Column passes run over whole rows with one running sum per column.
// Row passes transpose a block of rows into a small scratch so the same lane-parallel kernel
// applies. The last two passes only compute the 64 columns that the 64x64 grid samples: each
// column's blur depends on nothing but that column.
#include "util/cpu_dispatch.h"
#include "signals/jarosz_blur.h"

#include <algorithm>
#include <array>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace vigil::internal {
namespace {

constexpr int kBlockRows = 8;  // rows transposed together for a row pass (scratch stays in L1)

// dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows, c < cols. Pure data movement,
// so SIMD shuffles cannot change any value.
void Transpose(const float* src, std::ptrdiff_t src_stride, float* dst, std::ptrdiff_t dst_stride,
               int rows, int cols) {
  int r = 0;
#if defined(__SSE2__)
  for (; r + 4 <= rows; r += 4) {
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      __m128 a = _mm_loadu_ps(src + r * src_stride + c);
      __m128 b = _mm_loadu_ps(src + (r + 1) * src_stride + c);
      __m128 e = _mm_loadu_ps(src + (r + 2) * src_stride + c);
      __m128 f = _mm_loadu_ps(src + (r + 3) * src_stride + c);
      _MM_TRANSPOSE4_PS(a, b, e, f);
      _mm_storeu_ps(dst + c * dst_stride + r, a);
      _mm_storeu_ps(dst + (c + 1) * dst_stride + r, b);
      _mm_storeu_ps(dst + (c + 2) * dst_stride + r, e);
      _mm_storeu_ps(dst + (c + 3) * dst_stride + r, f);
    }
    for (; c < cols; ++c) {
      for (int k = 0; k < 4; ++k) dst[c * dst_stride + r + k] = src[(r + k) * src_stride + c];
    }
  }
#endif
  for (; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) dst[c * dst_stride + r] = src[r * src_stride + c];
  }
}

// The 64 sample positions along a dimension of n.
std::array<int, 64> SamplePositions(int n) {
  std::array<int, 64> pos{};
  for (int i = 0; i < 64; ++i) {
    pos[static_cast<std::size_t>(i)] = static_cast<int>(((i + 0.5) * n) / 64.0);
  }
  return pos;
}

// Row pass over `rows` rows starting at `src` (row stride `width`): for every row, the blurred
// values at the columns listed in `cols` (all columns when cols == nullptr) are written to
// dst[r * dst_stride + c_index].
void RowPassBlock(const float* src, int rows, int width, int window, const int* cols, int ncols,
                  const std::uint8_t* keep, float* dst, int dst_stride, BlurScratch& s) {
  float* bin = s.block_in.data();
  float* bout = s.block_out.data();
  // Transpose rows x width into width x rows (lane = row), blur, transpose back.
  Transpose(src, width, bin, rows, rows, width);
  BoxBlurLanes(bin, bout, width, rows, rows, window, keep);
  if (cols == nullptr) {
    Transpose(bout, rows, dst, dst_stride, width, rows);
    return;
  }
  for (int r = 0; r < rows; ++r) {
    float* drow = dst + static_cast<std::ptrdiff_t>(r) * dst_stride;
    for (int c = 0; c < ncols; ++c) drow[c] = bout[cols[c] * rows + r];
  }
}

}  // namespace

namespace {

// The four phases of the running box sum over L lanes held in registers. Output k is written only
// when keep == nullptr or keep[k] != 0 (the running sum itself always advances).
template <std::size_t L>
__attribute__((always_inline)) inline void BlurChunk(const float* __restrict in, float* __restrict out, int n, std::ptrdiff_t step,
               int window, const std::uint8_t* __restrict keep) {
  const int half = (window + 2) / 2;
  const int phase1 = half - 1;
  const int phase2 = window - half + 1;
  const int phase3 = n - window;
  const int phase4 = half - 1;
  float acc[L] = {};
  std::ptrdiff_t ri = 0, li = 0, oi = 0;
  int count = 0;
  for (int i = 0; i < phase1; ++i, ++ri, ++count) {
    const float* a = in + ri * step;
    for (std::size_t l = 0; l < L; ++l) acc[l] += a[l];
  }
  for (int i = 0; i < phase2; ++i, ++ri, ++oi) {
    const float* a = in + ri * step;
    for (std::size_t l = 0; l < L; ++l) acc[l] += a[l];
    ++count;
    if (keep == nullptr || keep[oi]) {
      const float c = static_cast<float>(count);
      float* o = out + oi * step;
      for (std::size_t l = 0; l < L; ++l) o[l] = acc[l] / c;
    }
  }
  const float full = static_cast<float>(count);
  for (int i = 0; i < phase3; ++i, ++ri, ++li, ++oi) {
    const float* a = in + ri * step;
    const float* b = in + li * step;
    for (std::size_t l = 0; l < L; ++l) {
      acc[l] += a[l];
      acc[l] -= b[l];
    }
    if (keep == nullptr || keep[oi]) {
      float* o = out + oi * step;
      for (std::size_t l = 0; l < L; ++l) o[l] = acc[l] / full;
    }
  }
  for (int i = 0; i < phase4; ++i, ++li, ++oi) {
    const float* b = in + li * step;
    for (std::size_t l = 0; l < L; ++l) acc[l] -= b[l];
    --count;
    if (keep == nullptr || keep[oi]) {
      const float c = static_cast<float>(count);
      float* o = out + oi * step;
      for (std::size_t l = 0; l < L; ++l) o[l] = acc[l] / c;
    }
  }
}


inline void DivideInto(const float* __restrict sums, float* __restrict out, int lanes, float c) {
  for (int l = 0; l < lanes; ++l) out[l] = sums[l] / c;
}

// Wide lines (a column pass over whole rows): the running sums live in `sums`, and each step
// sweeps a whole row of lanes, which streams through memory in order.
VIGIL_TARGET_CLONES("avx2", "default") void BlurWide(const float* __restrict in, float* __restrict out, int n, int lanes,
              std::ptrdiff_t step, int window, const std::uint8_t* __restrict keep,
              float* __restrict sums) {
  const int half = (window + 2) / 2;
  const int phase1 = half - 1;
  const int phase2 = window - half + 1;
  const int phase3 = n - window;
  const int phase4 = half - 1;
  std::fill(sums, sums + lanes, 0.0f);
  std::ptrdiff_t ri = 0, li = 0, oi = 0;
  int count = 0;
  for (int i = 0; i < phase1; ++i, ++ri, ++count) {
    const float* __restrict a = in + ri * step;
    for (int l = 0; l < lanes; ++l) sums[l] += a[l];
  }
  for (int i = 0; i < phase2; ++i, ++ri, ++oi) {
    const float* __restrict a = in + ri * step;
    for (int l = 0; l < lanes; ++l) sums[l] += a[l];
    ++count;
    if (keep == nullptr || keep[oi]) DivideInto(sums, out + oi * step, lanes, static_cast<float>(count));
  }
  const float full = static_cast<float>(count);
  for (int i = 0; i < phase3; ++i, ++ri, ++li, ++oi) {
    const float* __restrict a = in + ri * step;
    const float* __restrict b = in + li * step;
    if (keep == nullptr || keep[oi]) {
      float* __restrict o = out + oi * step;
      for (int l = 0; l < lanes; ++l) {
        float v = sums[l] + a[l];
        v -= b[l];
        sums[l] = v;
        o[l] = v / full;
      }
    } else {
      for (int l = 0; l < lanes; ++l) {
        float v = sums[l] + a[l];
        v -= b[l];
        sums[l] = v;
      }
    }
  }
  for (int i = 0; i < phase4; ++i, ++li, ++oi) {
    const float* __restrict b = in + li * step;
    for (int l = 0; l < lanes; ++l) sums[l] -= b[l];
    --count;
    if (keep == nullptr || keep[oi]) DivideInto(sums, out + oi * step, lanes, static_cast<float>(count));
  }
}



// Narrow lines (a row pass over a transposed block): lanes in chunks of registers. The template
// kernels are inlined here, so each clone compiles them for its instruction set.
VIGIL_TARGET_CLONES("avx2", "default") void BlurNarrow(
    const float* in, float* out, int n, int lanes, std::ptrdiff_t step, int window,
    const std::uint8_t* keep) {
  int l = 0;
  for (; l + 16 <= lanes; l += 16) BlurChunk<16>(in + l, out + l, n, step, window, keep);
  for (; l + 8 <= lanes; l += 8) BlurChunk<8>(in + l, out + l, n, step, window, keep);
  for (; l + 4 <= lanes; l += 4) BlurChunk<4>(in + l, out + l, n, step, window, keep);
  for (; l < lanes; ++l) BlurChunk<1>(in + l, out + l, n, step, window, keep);
}

}  // namespace

void BoxBlurLanes(const float* in, float* out, int n, int lanes, std::ptrdiff_t step, int window,
                  const std::uint8_t* keep) {
  if (lanes > 32) {
    thread_local std::vector<float> sums;  // reused: this runs twice per hash
    sums.resize(static_cast<std::size_t>(lanes));
    BlurWide(in, out, n, lanes, step, window, keep, sums.data());
  } else {
    BlurNarrow(in, out, n, lanes, step, window, keep);
  }
}

void BoxBlurReference(const float* in, float* out, int n, std::ptrdiff_t stride, int window) {
  const int half = (window + 2) / 2;
  std::ptrdiff_t li = 0, ri = 0, oi = 0;
  float sum = 0.0f;
  int count = 0;
  for (int i = 0; i < half - 1; ++i) {
    sum += in[ri];
    ++count;
    ri += stride;
  }
  for (int i = 0; i < window - half + 1; ++i) {
    sum += in[ri];
    ++count;
    out[oi] = sum / static_cast<float>(count);
    ri += stride;
    oi += stride;
  }
  for (int i = 0; i < n - window; ++i) {
    sum += in[ri];
    sum -= in[li];
    out[oi] = sum / static_cast<float>(count);
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (int i = 0; i < half - 1; ++i) {
    sum -= in[li];
    --count;
    out[oi] = sum / static_cast<float>(count);
    li += stride;
    oi += stride;
  }
}

void JaroszBlurAndSample(float* luma, float* tmp, int width, int height, BlurScratch& s,
                         float* out64) {
  const int wrow = JaroszWindow(width);   // window along rows
  const int wcol = JaroszWindow(height);  // window along columns
  const std::size_t block = static_cast<std::size_t>(width) * kBlockRows;
  s.block_in.resize(block);
  s.block_out.resize(block);
  s.keep_cols.assign(static_cast<std::size_t>(width), 0);
  s.keep_rows.assign(static_cast<std::size_t>(height), 0);
  s.compact_a.resize(static_cast<std::size_t>(height) * 64);
  s.compact_b.resize(static_cast<std::size_t>(height) * 64);
  const std::array<int, 64> cols = SamplePositions(width);
  const std::array<int, 64> rows = SamplePositions(height);
  for (int c : cols) s.keep_cols[static_cast<std::size_t>(c)] = 1;
  for (int r : rows) s.keep_rows[static_cast<std::size_t>(r)] = 1;

  // Pass 1: rows, luma -> tmp.
  for (int y = 0; y < height; y += kBlockRows) {
    const int n = std::min(kBlockRows, height - y);
    const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(y) * width;
    RowPassBlock(luma + off, n, width, wrow, nullptr, 0, nullptr, tmp + off, width, s);
  }
  // Pass 2: columns, tmp -> luma.
  BoxBlurLanes(tmp, luma, height, width, width, wcol, nullptr);
  // Pass 3: rows, luma -> compact_a (only the 64 sampled columns are kept).
  for (int y = 0; y < height; y += kBlockRows) {
    const int n = std::min(kBlockRows, height - y);
    RowPassBlock(luma + static_cast<std::ptrdiff_t>(y) * width, n, width, wrow, cols.data(), 64,
                 s.keep_cols.data(), s.compact_a.data() + static_cast<std::ptrdiff_t>(y) * 64, 64, s);
  }
  // Pass 4: columns over the 64 kept columns, compact_a -> compact_b, only at the sampled rows.
  BoxBlurLanes(s.compact_a.data(), s.compact_b.data(), height, 64, 64, wcol, s.keep_rows.data());
  for (int i = 0; i < 64; ++i) {
    const float* src = s.compact_b.data() + static_cast<std::ptrdiff_t>(rows[static_cast<std::size_t>(i)]) * 64;
    std::copy(src, src + 64, out64 + i * 64);
  }
}

}  // namespace vigil::internal
