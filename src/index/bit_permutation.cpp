// Bit permutation: construction, data-driven choice, and fast application via byte tables.
#include "index/bit_permutation.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

namespace vigil::index {

ChunkLayout ChunkLayout::Even(int count) {
  ChunkLayout l;
  l.count = count;
  const int base = 256 / count, extra = 256 % count;
  int pos = 0;
  for (int c = 0; c < count; ++c) {
    l.start[static_cast<std::size_t>(c)] = pos;
    l.width[static_cast<std::size_t>(c)] = base + (c < extra ? 1 : 0);
    pos += l.width[static_cast<std::size_t>(c)];
  }
  return l;
}

BitPermutation::BitPermutation(const std::array<std::uint8_t, 256>& map) : map_(map), table_(32 * 256) {
  for (int byte = 0; byte < 32; ++byte) {
    for (int value = 0; value < 256; ++value) {
      Code out{};
      for (int b = 0; b < 8; ++b) {
        if (value & (1 << b)) {
          const int dst = map_[static_cast<std::size_t>(byte * 8 + b)];
          out[static_cast<std::size_t>(dst >> 6)] |= std::uint64_t{1} << (dst & 63);
        }
      }
      table_[static_cast<std::size_t>(byte * 256 + value)] = out;
    }
  }
}

BitPermutation BitPermutation::Identity() {
  std::array<std::uint8_t, 256> m{};
  for (int i = 0; i < 256; ++i) m[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  return BitPermutation(m);
}

BitPermutation BitPermutation::Inverse() const {
  std::array<std::uint8_t, 256> inv{};
  for (int b = 0; b < 256; ++b) inv[map_[static_cast<std::size_t>(b)]] = static_cast<std::uint8_t>(b);
  return BitPermutation(inv);
}

bool BitPermutation::valid() const {
  std::array<bool, 256> seen{};
  for (std::uint8_t d : map_) {
    if (seen[d]) return false;
    seen[d] = true;
  }
  return true;
}

Code BitPermutation::Apply(const Code& code) const {
  Code out{};
  for (std::size_t lane = 0; lane < 4; ++lane) {
    std::uint64_t v = code[lane];
    for (std::size_t b = 0; b < 8; ++b, v >>= 8) {
      const Code& t = table_[(lane * 8 + b) * 256 + (v & 0xFF)];
      out[0] |= t[0];
      out[1] |= t[1];
      out[2] |= t[2];
      out[3] |= t[3];
    }
  }
  return out;
}

BitPermutation BitPermutation::Choose(std::span<const Code> sample, const ChunkLayout& layout) {
  const std::size_t n = std::min<std::size_t>(sample.size(), 16384);
  if (n < 256) return Identity();
  // Column bitsets: bits[i] holds bit i of every sampled code.
  const std::size_t words = (n + 63) / 64;
  std::vector<std::uint64_t> bits(256 * words, 0);
  std::array<double, 256> ones{};
  for (std::size_t s = 0; s < n; ++s) {
    for (int i = 0; i < 256; ++i) {
      if ((sample[s][static_cast<std::size_t>(i >> 6)] >> (i & 63)) & 1) {
        bits[static_cast<std::size_t>(i) * words + s / 64] |= std::uint64_t{1} << (s % 64);
        ones[static_cast<std::size_t>(i)] += 1;
      }
    }
  }
  const double dn = static_cast<double>(n);
  // |phi| correlation of every pair of bits.
  std::vector<float> corr(256 * 256, 0.0f);
  for (int i = 0; i < 256; ++i) {
    for (int j = i + 1; j < 256; ++j) {
      std::uint64_t both = 0;
      const std::uint64_t* a = &bits[static_cast<std::size_t>(i) * words];
      const std::uint64_t* b = &bits[static_cast<std::size_t>(j) * words];
      for (std::size_t w = 0; w < words; ++w) both += static_cast<std::uint64_t>(std::popcount(a[w] & b[w]));
      const double pi = ones[static_cast<std::size_t>(i)], pj = ones[static_cast<std::size_t>(j)];
      const double den = std::sqrt(pi * (dn - pi) * pj * (dn - pj));
      const double phi = den > 0 ? (static_cast<double>(both) * dn - pi * pj) / den : 1.0;
      corr[static_cast<std::size_t>(i * 256 + j)] = corr[static_cast<std::size_t>(j * 256 + i)] =
          static_cast<float>(std::abs(phi));
    }
  }
  std::array<int, 256> order{};
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return std::abs(ones[static_cast<std::size_t>(a)] / dn - 0.5) > std::abs(ones[static_cast<std::size_t>(b)] / dn - 0.5);
  });
  std::vector<std::vector<int>> members(static_cast<std::size_t>(layout.count));
  std::array<std::uint8_t, 256> map{};
  for (int bit : order) {
    int best = -1;
    double best_cost = 0;
    for (int c = 0; c < layout.count; ++c) {
      const auto& m = members[static_cast<std::size_t>(c)];
      if (static_cast<int>(m.size()) >= layout.width[static_cast<std::size_t>(c)]) continue;
      double cost = 0;
      for (int other : m) cost += static_cast<double>(corr[static_cast<std::size_t>(bit * 256 + other)]);
      // Prefer emptier chunks on ties so skewed bits spread out.
      cost -= 1e-6 * static_cast<double>(layout.width[static_cast<std::size_t>(c)] - static_cast<int>(m.size()));
      if (best < 0 || cost < best_cost) {
        best = c;
        best_cost = cost;
      }
    }
    auto& m = members[static_cast<std::size_t>(best)];
    map[static_cast<std::size_t>(bit)] =
        static_cast<std::uint8_t>(layout.start[static_cast<std::size_t>(best)] + static_cast<int>(m.size()));
    m.push_back(bit);
  }
  return BitPermutation(map);
}

}  // namespace vigil::index
