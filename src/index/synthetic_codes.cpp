// Synthetic PDQ-like codes (see synthetic_codes.h).
#include "index/synthetic_codes.h"

#include <algorithm>
#include <numeric>

namespace vigil::index {
namespace {
constexpr int kPatterns = 6;
constexpr float kNoise = 0.9f;
}  // namespace

SyntheticCodes::SyntheticCodes(std::uint64_t seed) : rng_(seed) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int p = 0; p < kPatterns; ++p) {
    std::vector<float> pat(256);
    for (int i = 0; i < 256; ++i) {
      // Low frequencies carry more of the shared structure, as in natural images.
      const int row = i / 16, col = i % 16;
      pat[static_cast<std::size_t>(i)] = g(rng_) / (1.0f + 0.15f * static_cast<float>(row + col));
    }
    patterns_.push_back(std::move(pat));
  }
}

PdqHash SyntheticCodes::Unrelated() {
  std::normal_distribution<float> g(0.0f, 1.0f);
  float weights[kPatterns];
  for (float& w : weights) w = g(rng_);
  std::array<float, 256> v;
  for (int i = 0; i < 256; i += 4) {
    // Four noise samples from one 64-bit draw: a sum of two uniform bytes (triangular, unit-ish
    // variance) is noise enough and far cheaper than four normal draws.
    const std::uint64_t r = rng_();
    for (int k = 0; k < 4; ++k) {
      const float tri = (static_cast<float>((r >> (16 * k)) & 0xFF) + static_cast<float>((r >> (16 * k + 8)) & 0xFF) - 255.0f) / 104.0f;
      v[static_cast<std::size_t>(i + k)] = kNoise * tri;
    }
  }
  for (int i = 0; i < 256; ++i) {
    float x = v[static_cast<std::size_t>(i)];
    for (int p = 0; p < kPatterns; ++p) x += weights[p] * patterns_[static_cast<std::size_t>(p)][static_cast<std::size_t>(i)];
    v[static_cast<std::size_t>(i)] = x;
  }
  std::array<float, 256> sorted = v;
  std::nth_element(sorted.begin(), sorted.begin() + 127, sorted.end());
  const float median = sorted[127];
  PdqHash h;
  for (int i = 0; i < 256; ++i) {
    if (v[static_cast<std::size_t>(i)] > median) h.SetBit(i);
  }
  return h;
}

PdqHash SyntheticCodes::NearDuplicate(const PdqHash& code, int distance) {
  std::vector<int> ones, zeros;
  for (int k = 0; k < 256; ++k) (code.Bit(k) ? ones : zeros).push_back(k);
  std::array<std::uint64_t, 4> lanes = code.Lanes();
  auto flip = [&](std::vector<int>& from, int count) {
    for (int i = 0; i < count && !from.empty(); ++i) {
      const std::size_t j = rng_() % from.size();
      const int k = from[j];
      from[j] = from.back();
      from.pop_back();
      lanes[static_cast<std::size_t>(k / 64)] ^= std::uint64_t{1} << (k % 64);
    }
  };
  flip(ones, distance / 2);
  flip(zeros, distance - distance / 2);
  std::array<std::uint16_t, 16> words{};
  for (std::size_t w = 0; w < 16; ++w) words[w] = static_cast<std::uint16_t>(lanes[w / 4] >> (16 * (w % 4)));
  return PdqHash::FromWords(words);
}

std::vector<PdqHash> SyntheticCodes::Dataset(std::size_t n, double cluster_share) {
  std::vector<PdqHash> out;
  out.reserve(n);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  while (out.size() < n) {
    const PdqHash centre = Unrelated();
    out.push_back(centre);
    if (u(rng_) < cluster_share / (1.0 - cluster_share) / 20.0) {
      const std::size_t members = 1 + rng_() % 40;  // mean ~20 near-duplicates per cluster
      for (std::size_t m = 0; m < members && out.size() < n; ++m) {
        out.push_back(NearDuplicate(centre, 6 + 2 * static_cast<int>(rng_() % 13)));
      }
    }
  }
  return out;
}

std::vector<PdqHash> SyntheticCodes::Queries(const std::vector<PdqHash>& data, std::size_t n, double planted) {
  std::vector<PdqHash> q;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!data.empty() && u(rng_) < planted) {
      q.push_back(NearDuplicate(data[rng_() % data.size()], 2 + 2 * static_cast<int>(rng_() % 15)));
    } else {
      q.push_back(Unrelated());
    }
  }
  return q;
}

}  // namespace vigil::index
