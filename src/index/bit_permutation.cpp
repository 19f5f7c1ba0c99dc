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
  // Greedy, collision-driven: each chunk keeps the partition of the sample induced by its bits so
  // far, and takes the unused bit that splits its groups most evenly (minimising the number of
  // sample pairs that would share a bucket). Chunks take turns, so every chunk gets good bits.
  const std::size_t n = std::min<std::size_t>(sample.size(), 4096);
  if (n < 256 || layout.count == 0) return Identity();
  std::vector<std::uint8_t> column(256 * n);  // column[b * n + s] = bit b of sample s
  for (std::size_t s = 0; s < n; ++s) {
    for (std::size_t b = 0; b < 256; ++b) column[b * n + s] = static_cast<std::uint8_t>((sample[s][b / 64] >> (b % 64)) & 1);
  }
  const auto chunks = static_cast<std::size_t>(layout.count);
  std::vector<std::vector<std::uint32_t>> group(chunks, std::vector<std::uint32_t>(n, 0));
  std::vector<std::uint32_t> groups(chunks, 1), filled(chunks, 0);
  std::array<bool, 256> used{};
  std::array<std::uint8_t, 256> map{};
  std::vector<std::uint32_t> ones, sizes, remap;
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t c = 0; c < chunks; ++c) {
      if (filled[c] >= static_cast<std::uint32_t>(layout.width[c])) continue;
      const std::uint32_t ng = groups[c];
      const std::vector<std::uint32_t>& g = group[c];
      sizes.assign(ng, 0);
      for (std::size_t s = 0; s < n; ++s) ++sizes[g[s]];
      int best = -1;
      double best_cost = 0;
      for (int b = 0; b < 256; ++b) {
        if (used[static_cast<std::size_t>(b)]) continue;
        ones.assign(ng, 0);
        const std::uint8_t* col = &column[static_cast<std::size_t>(b) * n];
        for (std::size_t s = 0; s < n; ++s) ones[g[s]] += col[s];
        double cost = 0;
        for (std::uint32_t k = 0; k < ng; ++k) {
          const double one = ones[k], zero = sizes[k] - ones[k];
          cost += one * one + zero * zero;
        }
        if (best < 0 || cost < best_cost) {
          best = b;
          best_cost = cost;
        }
      }
      const auto bb = static_cast<std::size_t>(best);
      used[bb] = true;
      map[bb] = static_cast<std::uint8_t>(layout.start[c] + static_cast<int>(filled[c]++));
      // Split every group by the new bit and renumber densely.
      remap.assign(2 * std::size_t{ng}, ~0u);
      std::uint32_t next = 0;
      for (std::size_t s = 0; s < n; ++s) {
        std::uint32_t& slot = remap[2 * group[c][s] + column[bb * n + s]];
        if (slot == ~0u) slot = next++;
        group[c][s] = slot;
      }
      groups[c] = next;
      progress = true;
    }
  }
  return BitPermutation(map);
}

}  // namespace vigil::index
