// Where each value of an MIH chunk has its bucket (a range of postings, or of codes for chunk 0),
// in about 1.1 bytes per value instead of a 4-byte offset each: the start of every block of 32
// values (u32), then each value's start within its block in one byte. A block whose values start
// more than 255 entries apart (a list with many near-identical codes) is "wide": its 32 starts are
// kept whole in a side table, and its block start says where, so no data is ever too skewed to
// encode, only a little larger. Wide chunks (23-24 bits at 10M entries) check far fewer candidates
// per query than narrow ones; this is what makes their tables affordable.
//
// A value's bucket is [Start(v), Start(v + 1)); both reads usually share a cache line. Immutable
// once made; any thread may read it. Segments hold fewer than 2^31 entries (the top bit of a
// block start marks a wide block).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "index/huge_page_allocator.h"

namespace vigil::index {

struct BucketOffsets {
  static constexpr int kBlockShift = 5;  // 32 values per block
  static constexpr std::uint32_t kBlock = std::uint32_t{1} << kBlockShift;
  static constexpr std::uint32_t kWide = 0x8000'0000u;
  std::span<const std::uint32_t> block_starts;  // (2^width / 32) + 1; the last is the entry count
  std::span<const std::uint8_t> deltas;         // 2^width + 1: each value's start within its block
  std::span<const std::uint32_t> wide;          // 32 whole starts per wide block

  std::uint32_t Start(std::uint32_t v) const {
    const std::uint32_t base = block_starts[v >> kBlockShift];
    if (base & kWide) [[unlikely]] {
      return wide[(base & ~kWide) * kBlock + (v & (kBlock - 1))];
    }
    return base + deltas[v];
  }
  void Prefetch(std::uint32_t v) const {
    __builtin_prefetch(deltas.data() + v);
    __builtin_prefetch(block_starts.data() + (v >> kBlockShift));
  }
  std::size_t Bytes() const { return block_starts.size() * 4 + deltas.size() + wide.size() * 4; }
};

// Encodes prefix sums (offsets[v] = start of value v's bucket, 2^width + 1 of them with width >= 5,
// the last the entry count, below 2^31).
void EncodeBucketOffsets(std::span<const std::uint32_t> offsets, HugeVector<std::uint32_t>& block_starts,
                         HugeVector<std::uint8_t>& deltas, HugeVector<std::uint32_t>& wide);

// Checks what a snapshot claims (every start within the entries and in order, from 0 to `count`,
// wide blocks within the side table), so that a forged file cannot make a search read out of
// bounds. Empty: sound.
std::string CheckBucketOffsets(const BucketOffsets& b, std::uint32_t count);

}  // namespace vigil::index
