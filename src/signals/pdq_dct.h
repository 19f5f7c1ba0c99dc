// PDQ's 64x64 -> 16x16 DCT (DC row/column excluded), quality metric and bit extraction, in the
// reference's float operation order. See ../shared/specs/pdq.md sections 6-9.
#pragma once

#include <array>

#include "vigil/pdq.h"

namespace vigil::internal {

using Dct16 = std::array<std::array<float, 16>, 16>;

// Gradient-based quality in 0..100 of the 64x64 grid `a` (row-major).
int PdqQuality(const float* a);

// B = D * A * D^T with the reference's 16x64 cosine matrix D.
void PdqDct(const float* a, Dct16& b);

// One bit per coefficient: 1 iff strictly above the lower median of the 256 values.
PdqHash PdqBitsFromDct(const Dct16& b);

// The coefficient matrix of a dihedral variant of the image, derived from B without re-hashing.
Dct16 DihedralDct(const Dct16& b, Dihedral d);

}  // namespace vigil::internal
