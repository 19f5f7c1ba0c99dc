// Fast, bit-exact PDQ blur. Column passes run over whole rows with one running sum per column.
// Row passes transpose a block of rows into a small scratch so the same lane-parallel kernel
// applies. The last two passes only compute the 64 columns that the 64x64 grid samples: each
// column's blur depends on nothing but that column.
#include "signals/jarosz_blur.h"

#include <algorithm>
#include <array>

namespace vigil::internal {
namespace {

constexpr int kBlockRows = 16;  // rows transposed together for a row pass

// out[l] = sum[l] / count over `lanes` lanes.
inline void WriteMeans(const float* sums, float* out, int lanes, int count) {
  const float c = static_cast<float>(count);
  for (int l = 0; l < lanes; ++l) out[l] = sums[l] / c;
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
                  float* dst, int dst_stride, BlurScratch& s) {
  float* bin = s.block_in.data();
  float* bout = s.block_out.data();
  // Transpose rows x width into width x rows (lane = row).
  for (int r = 0; r < rows; ++r) {
    const float* row = src + static_cast<std::ptrdiff_t>(r) * width;
    for (int x = 0; x < width; ++x) bin[x * rows + r] = row[x];
  }
  BoxBlurLanes(bin, bout, width, rows, rows, window, s.sums.data());
  for (int r = 0; r < rows; ++r) {
    float* drow = dst + static_cast<std::ptrdiff_t>(r) * dst_stride;
    if (cols == nullptr) {
      for (int x = 0; x < width; ++x) drow[x] = bout[x * rows + r];
    } else {
      for (int c = 0; c < ncols; ++c) drow[c] = bout[cols[c] * rows + r];
    }
  }
}

}  // namespace

void BoxBlurLanes(const float* in, float* out, int n, int lanes, std::ptrdiff_t step, int window,
                  float* sums) {
  const int half = (window + 2) / 2;
  const int phase1 = half - 1;
  const int phase2 = window - half + 1;
  const int phase3 = n - window;
  const int phase4 = half - 1;
  std::fill(sums, sums + lanes, 0.0f);
  std::ptrdiff_t ri = 0, li = 0, oi = 0;
  int count = 0;
  for (int i = 0; i < phase1; ++i, ++ri, ++count) {
    const float* a = in + ri * step;
    for (int l = 0; l < lanes; ++l) sums[l] += a[l];
  }
  for (int i = 0; i < phase2; ++i, ++ri, ++oi) {
    const float* a = in + ri * step;
    for (int l = 0; l < lanes; ++l) sums[l] += a[l];
    ++count;
    WriteMeans(sums, out + oi * step, lanes, count);
  }
  const float full = static_cast<float>(count);
  for (int i = 0; i < phase3; ++i, ++ri, ++li, ++oi) {
    const float* a = in + ri * step;
    const float* b = in + li * step;
    float* o = out + oi * step;
    for (int l = 0; l < lanes; ++l) {
      float v = sums[l] + a[l];
      v -= b[l];
      sums[l] = v;
      o[l] = v / full;
    }
  }
  for (int i = 0; i < phase4; ++i, ++li, ++oi) {
    const float* b = in + li * step;
    for (int l = 0; l < lanes; ++l) sums[l] -= b[l];
    --count;
    WriteMeans(sums, out + oi * step, lanes, count);
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
  s.sums.resize(static_cast<std::size_t>(std::max(width, 64)));
  s.compact_a.resize(static_cast<std::size_t>(height) * 64);
  s.compact_b.resize(static_cast<std::size_t>(height) * 64);
  const std::array<int, 64> cols = SamplePositions(width);
  const std::array<int, 64> rows = SamplePositions(height);

  // Pass 1: rows, luma -> tmp.
  for (int y = 0; y < height; y += kBlockRows) {
    const int n = std::min(kBlockRows, height - y);
    const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(y) * width;
    RowPassBlock(luma + off, n, width, wrow, nullptr, 0, tmp + off, width, s);
  }
  // Pass 2: columns, tmp -> luma.
  BoxBlurLanes(tmp, luma, height, width, width, wcol, s.sums.data());
  // Pass 3: rows, luma -> compact_a (only the 64 sampled columns are kept).
  for (int y = 0; y < height; y += kBlockRows) {
    const int n = std::min(kBlockRows, height - y);
    RowPassBlock(luma + static_cast<std::ptrdiff_t>(y) * width, n, width, wrow, cols.data(), 64,
                 s.compact_a.data() + static_cast<std::ptrdiff_t>(y) * 64, 64, s);
  }
  // Pass 4: columns over the 64 kept columns, compact_a -> compact_b.
  BoxBlurLanes(s.compact_a.data(), s.compact_b.data(), height, 64, 64, wcol, s.sums.data());
  for (int i = 0; i < 64; ++i) {
    const float* src = s.compact_b.data() + static_cast<std::ptrdiff_t>(rows[static_cast<std::size_t>(i)]) * 64;
    std::copy(src, src + 64, out64 + i * 64);
  }
}

}  // namespace vigil::internal
