// A permutation of PDQ's 256 bit positions, chosen from the data so that each multi-index chunk
// gathers weakly correlated, balanced bits (real PDQ bits are correlated, so contiguous chunks
// see several times more bucket collisions than uniform codes). Hamming distance is invariant under
// a permutation, so the index stores and compares permuted codes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "vigil/pdq.h"

namespace vigil::index {

using Code = std::array<std::uint64_t, 4>;

// Chunk c covers permuted bits [start[c], start[c] + width[c]).
struct ChunkLayout {
  int count = 0;
  std::array<int, 32> start{};
  std::array<int, 32> width{};
  // `count` chunks of near-equal width covering all 256 bits.
  static ChunkLayout Even(int count);
};

class BitPermutation {
 public:
  // map[source_bit] = destination bit.
  explicit BitPermutation(const std::array<std::uint8_t, 256>& map);
  static BitPermutation Identity();
  // Greedy choice on a sample: bits ordered by imbalance, each placed in the chunk (with room
  // left) whose members it is least correlated with. Deterministic.
  static BitPermutation Choose(std::span<const Code> sample, const ChunkLayout& layout);

  Code Apply(const Code& code) const;
  BitPermutation Inverse() const;
  const std::array<std::uint8_t, 256>& map() const { return map_; }
  bool valid() const;  // a true permutation

 private:
  std::array<std::uint8_t, 256> map_;
  std::vector<Code> table_;  // [byte position * 256 + byte value] -> permuted bits
};

inline Code ToCode(const PdqHash& h) { return h.Lanes(); }

inline std::uint64_t ExtractChunk(const Code& c, int start, int width) {
  const int lane = start >> 6, offset = start & 63;
  std::uint64_t v = c[static_cast<std::size_t>(lane)] >> offset;
  if (offset + width > 64 && lane < 3) v |= c[static_cast<std::size_t>(lane + 1)] << (64 - offset);
  return v & ((std::uint64_t{1} << width) - 1);
}

}  // namespace vigil::index
