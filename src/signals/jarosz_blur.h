// The two-pass Jarosz box filter of PDQ, computed with exactly the reference's float operations
// (same running sum, same add-then-subtract order, same float/int division) but laid out so the
// inner loop runs across independent lines and vectorises. See ../shared/specs/pdq.md section 4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil::internal {

// Window length the reference uses for a dimension being reduced to 64: ceil(n / 128).
inline int JaroszWindow(int n) { return (n + 127) / 128; }

// Blurs `lanes` independent lines of `n` samples each with a box of `window`. Sample k of lane l
// is in[k * step + l] (and likewise for out); in and out must not overlap. When `keep` is given,
// only outputs k with keep[k] != 0 are written (the others are not needed by the caller).
void BoxBlurLanes(const float* in, float* out, int n, int lanes, std::ptrdiff_t step, int window,
                  const std::uint8_t* keep = nullptr);

// The reference's box1DFloat on one line with a stride, kept as the plain specification that the
// fast path is tested against.
void BoxBlurReference(const float* in, float* out, int n, std::ptrdiff_t stride, int window);

// Scratch buffers reused between hashes.
struct BlurScratch {
  std::vector<float> block_in, block_out, compact_a, compact_b;
  std::vector<std::uint8_t> keep_cols, keep_rows;
};

// Runs rows, columns, rows, columns on `luma` (height x width, row-major; overwritten) and writes
// the 64x64 PDQ sample grid A[i][j] = blurred[(i+0.5)*H/64][(j+0.5)*W/64] into `out64`.
// `tmp` must hold width*height floats.
void JaroszBlurAndSample(float* luma, float* tmp, int width, int height, BlurScratch& scratch,
                         float* out64);

}  // namespace vigil::internal
