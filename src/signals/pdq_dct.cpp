// PDQ DCT, quality and bit extraction. The DCT is vectorised across output columns while keeping
// each coefficient's own sum in ascending-k order, so it is bit-identical to the reference loops.
#include "signals/pdq_dct.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace vigil::internal {
namespace {

struct DctMatrix {
  float d[16][64];  // D[i][j]
  float dt[64][16];  // D transposed
  DctMatrix() {
    const double pi = 3.14159265358979323846;
    const float scale = static_cast<float>(std::sqrt(2.0 / 64.0));
    for (int i = 0; i < 16; ++i) {
      for (int j = 0; j < 64; ++j) {
        const double v = static_cast<double>(scale) * std::cos((pi / 2.0 / 64.0) * (i + 1) * (2 * j + 1));
        d[i][j] = static_cast<float>(v);
        dt[j][i] = d[i][j];
      }
    }
  }
};

const DctMatrix& Matrix() {
  static const DctMatrix m;
  return m;
}

}  // namespace

int PdqQuality(const float* a) {
  int sum = 0;
  for (int i = 0; i < 63; ++i) {
    for (int j = 0; j < 64; ++j) {
      const float d = ((a[i * 64 + j] - a[(i + 1) * 64 + j]) * 100.0f) / 255.0f;
      sum += std::abs(static_cast<int>(d));
    }
  }
  for (int i = 0; i < 64; ++i) {
    for (int j = 0; j < 63; ++j) {
      const float d = ((a[i * 64 + j] - a[i * 64 + j + 1]) * 100.0f) / 255.0f;
      sum += std::abs(static_cast<int>(d));
    }
  }
  return std::min(100, sum / 90);
}

void PdqDct(const float* a, Dct16& b) {
  const DctMatrix& m = Matrix();
  alignas(64) float t[16][64];
  for (int i = 0; i < 16; ++i) {
    float* ti = t[i];
    std::fill(ti, ti + 64, 0.0f);
    for (int k = 0; k < 64; ++k) {
      const float dik = m.d[i][k];
      const float* ak = a + k * 64;
      for (int j = 0; j < 64; ++j) ti[j] += dik * ak[j];
    }
  }
  for (int i = 0; i < 16; ++i) {
    float row[16] = {};
    for (int k = 0; k < 64; ++k) {
      const float tik = t[i][k];
      const float* dk = m.dt[k];
      for (int j = 0; j < 16; ++j) row[j] += tik * dk[j];
    }
    std::copy(row, row + 16, b[static_cast<std::size_t>(i)].begin());
  }
}

PdqHash PdqBitsFromDct(const Dct16& b) {
  std::array<float, 256> v;
  for (std::size_t i = 0; i < 16; ++i) std::copy(b[i].begin(), b[i].end(), v.begin() + static_cast<std::ptrdiff_t>(i * 16));
  std::nth_element(v.begin(), v.begin() + 127, v.end());
  const float median = v[127];
  std::array<std::uint16_t, 16> words{};
  for (std::size_t i = 0; i < 16; ++i) {
    unsigned w = 0;
    for (std::size_t j = 0; j < 16; ++j) {
      if (b[i][j] > median) w |= 1u << j;
    }
    words[i] = static_cast<std::uint16_t>(w);
  }
  return PdqHash::FromWords(words);
}

Dct16 DihedralDct(const Dct16& b, Dihedral d) {
  Dct16 x{};
  for (std::size_t i = 0; i < 16; ++i) {
    for (std::size_t j = 0; j < 16; ++j) {
      const float v = b[i][j];
      const bool iodd = i & 1, jodd = j & 1, sum_odd = (i + j) & 1;
      switch (d) {
        case Dihedral::kOriginal: x[i][j] = v; break;
        case Dihedral::kRot90: x[j][i] = jodd ? v : -v; break;
        case Dihedral::kRot180: x[i][j] = sum_odd ? -v : v; break;
        case Dihedral::kRot270: x[j][i] = iodd ? v : -v; break;
        case Dihedral::kFlipX: x[i][j] = iodd ? v : -v; break;
        case Dihedral::kFlipY: x[i][j] = jodd ? v : -v; break;
        case Dihedral::kFlipPlus1: x[j][i] = v; break;
        case Dihedral::kFlipMinus1: x[j][i] = sum_odd ? -v : v; break;
      }
    }
  }
  return x;
}

}  // namespace vigil::internal
