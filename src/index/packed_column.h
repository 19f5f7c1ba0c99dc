// A column of unsigned integers stored in the fewest whole bytes its values need: a segment's ids
// in 4 bytes when every id fits (list entry ids and past-upload keys do) instead of 8, and its
// postings in 3 bytes when the segment holds at most 2^24 entries instead of 4. At 10M entries that
// is 14 bytes an entry less (93.7 -> 79.7 B a hash); the 3-byte postings cost ~5% of queries/s
// at 10M, r=31 (measured side by side, docs/index.md).
//
// A 3-byte value is read as an unaligned 4-byte load and masked, so the storage keeps one byte of
// padding past the last value (PackedBytes). Immutable views; any thread may read them.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace vigil::index {

// Bytes a column of `count` values of `width` bytes occupies, padding included.
constexpr std::size_t PackedBytes(std::size_t count, int width) {
  return count * static_cast<std::size_t>(width) + (width == 3 ? 1 : 0);
}

// Postings (positions below `count`) take 3 bytes up to 2^24 entries.
constexpr int PostingWidth(std::size_t count) { return count <= (std::size_t{1} << 24) ? 3 : 4; }

struct PackedColumn {
  const std::uint8_t* data = nullptr;
  std::size_t count = 0;
  int width = 4;  // 3, 4 or 8

  std::uint64_t operator[](std::size_t i) const {
    const std::uint8_t* p = data + i * static_cast<std::size_t>(width);
    if (width == 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return width == 3 ? (v & 0xFF'FFFFu) : v;
  }
  // Writes values [begin, end) as 32-bit positions to `dst` (widths 3 and 4); returns the end.
  std::uint32_t* CopyPositions(std::size_t begin, std::size_t end, std::uint32_t* dst) const {
    if (width == 4) {
      std::memcpy(dst, data + begin * 4, (end - begin) * 4);
      return dst + (end - begin);
    }
    const std::uint8_t* src = data + begin * 3;
    for (std::size_t i = 0; i < end - begin; ++i) {
      std::uint32_t v;
      std::memcpy(&v, src + i * 3, 4);
      dst[i] = v & 0xFF'FFFFu;
    }
    return dst + (end - begin);
  }
  // Writes values [begin, begin + len) as 32-bit positions to dst[0..len) when len <= 4, always
  // storing 4 (dst must have room for 4), without a loop; false (nothing written) when len > 4 or
  // the 4 values would read past the column (widths 3 and 4).
  bool CopyFour(std::size_t begin, std::size_t len, std::uint32_t* dst) const {
    if (len > 4 || begin + 4 > count) return false;
    if (width == 4) {
      std::memcpy(dst, data + begin * 4, 16);
      return true;
    }
    const std::uint8_t* src = data + begin * 3;
    for (std::size_t i = 0; i < 4; ++i) {  // unrolled: four unaligned loads, each masked
      std::uint32_t v;
      std::memcpy(&v, src + i * 3, 4);
      dst[i] = v & 0xFF'FFFFu;
    }
    return true;
  }
  const void* AddressOf(std::size_t i) const { return data + i * static_cast<std::size_t>(width); }
  std::size_t size() const { return count; }
  std::size_t Bytes() const { return PackedBytes(count, width); }
};

// Writes `v` as value i of a column of `width` bytes (little-endian; the machine is).
inline void PackValue(std::uint8_t* data, int width, std::size_t i, std::uint64_t v) {
  std::uint8_t* p = data + i * static_cast<std::size_t>(width);
  switch (width) {  // constant sizes: each a plain store
    case 3: std::memcpy(p, &v, 3); break;
    case 4: std::memcpy(p, &v, 4); break;
    default: std::memcpy(p, &v, 8); break;
  }
}

}  // namespace vigil::index
