// Compact bucket offsets for MIH chunks (see bucket_offsets.h).
#include "index/bucket_offsets.h"

namespace vigil::index {

void EncodeBucketOffsets(std::span<const std::uint32_t> offsets, HugeVector<std::uint32_t>& block_starts,
                         HugeVector<std::uint8_t>& deltas, HugeVector<std::uint32_t>& wide) {
  constexpr std::size_t kBlock = BucketOffsets::kBlock;
  const std::size_t values = offsets.size() - 1;  // 2^width
  const std::size_t blocks = values / kBlock;
  block_starts.assign(blocks + 1, 0);
  deltas.assign(values + 1, 0);
  wide.clear();
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::uint32_t base = offsets[b * kBlock];
    if (offsets[b * kBlock + kBlock - 1] - base > 0xFF) {
      block_starts[b] = BucketOffsets::kWide | static_cast<std::uint32_t>(wide.size() / kBlock);
      wide.insert(wide.end(), offsets.begin() + static_cast<std::ptrdiff_t>(b * kBlock),
                  offsets.begin() + static_cast<std::ptrdiff_t>(b * kBlock + kBlock));
      continue;
    }
    block_starts[b] = base;
    for (std::size_t v = b * kBlock; v < (b + 1) * kBlock; ++v) deltas[v] = static_cast<std::uint8_t>(offsets[v] - base);
  }
  block_starts[blocks] = offsets[values];  // the entry count; the last value's delta is 0
}

std::string CheckBucketOffsets(const BucketOffsets& b, std::uint32_t count) {
  constexpr std::uint32_t kBlock = BucketOffsets::kBlock;
  if (count >= BucketOffsets::kWide) return "has too many entries";
  if (b.block_starts.empty() || b.deltas.size() != (b.block_starts.size() - 1) * kBlock + 1 ||
      b.wide.size() % kBlock != 0) {
    return "bucket tables have impossible sizes";
  }
  std::uint32_t last = 0;
  for (std::uint32_t v = 0; v < b.deltas.size(); ++v) {
    const std::uint32_t base = b.block_starts[v >> BucketOffsets::kBlockShift];
    std::uint64_t start = 0;
    if (base & BucketOffsets::kWide) {
      const std::uint64_t at = std::uint64_t{base & ~BucketOffsets::kWide} * kBlock + (v & (kBlock - 1));
      if (at >= b.wide.size()) return "names a wide block out of range";
      start = b.wide[at];
    } else {
      start = std::uint64_t{base} + b.deltas[v];
    }
    if ((v == 0 && start != 0) || start < last || start > count) return "offsets are not sorted within the entries";
    last = static_cast<std::uint32_t>(start);
  }
  if (last != count) return "offsets do not span the entries";
  return "";
}

}  // namespace vigil::index
