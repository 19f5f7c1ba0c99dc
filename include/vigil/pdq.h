// PDQ perceptual hashing, bit-exact with Meta's C++ reference (facebook/ThreatExchange pdq/cpp).
// A PdqHash is 256 bits; two images are "the same" when the Hamming distance of their hashes is
// small (<= 31 is the customary match threshold). Quality (0..100) says how much gradient the image
// has; hashes with quality < 50 are unreliable and are usually not matched.
//
//   vigil::PdqHasher hasher;                          // reusable scratch; one per thread
//   vigil::PdqResult r = hasher.Hash(image, {});      // reference CLI behaviour (512x512 pre-resize)
//   std::string hex = r.hash.ToHex();
//
// Thread safety: PdqHash is a value type. A PdqHasher is not thread-safe; use one per thread.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vigil/image.h"
#include "vigil/status.h"

namespace vigil {

class PdqHash {
 public:
  static constexpr int kBits = 256;
  static constexpr int kHexLength = 64;

  PdqHash() = default;

  // Word i holds the bits of DCT row i; bit j of word i is hash bit i*16+j.
  static PdqHash FromWords(const std::array<std::uint16_t, 16>& words);
  std::uint16_t Word(int i) const {
    return static_cast<std::uint16_t>(lanes_[static_cast<std::size_t>(i / 4)] >> (16 * (i % 4)));
  }
  bool Bit(int k) const { return (lanes_[static_cast<std::size_t>(k / 64)] >> (k % 64)) & 1u; }
  void SetBit(int k) { lanes_[static_cast<std::size_t>(k / 64)] |= std::uint64_t{1} << (k % 64); }

  // 64 lowercase hex digits, the big-endian form of the 256-bit number (the reference's format).
  std::string ToHex() const;
  // Accepts exactly 64 hex digits (either case); anything else is kInvalidArgument.
  static Result<PdqHash> FromHex(std::string_view hex);

  int Distance(const PdqHash& other) const {
    int d = 0;
    for (std::size_t i = 0; i < 4; ++i) d += std::popcount(lanes_[i] ^ other.lanes_[i]);
    return d;
  }
  // Four 64-bit lanes, lane 0 = bits 0..63 (words 0..3).
  const std::array<std::uint64_t, 4>& Lanes() const { return lanes_; }

  friend bool operator==(const PdqHash&, const PdqHash&) = default;

 private:
  std::array<std::uint64_t, 4> lanes_{};
};

// The eight dihedral variants, in the reference's --pdqdih-across order.
enum class Dihedral { kOriginal, kRot90, kRot180, kRot270, kFlipX, kFlipY, kFlipPlus1, kFlipMinus1 };
inline constexpr int kDihedralCount = 8;
std::string_view DihedralName(Dihedral d);

struct PdqResult {
  PdqHash hash;
  int quality = 0;
};

struct PdqDihedralResult {
  std::array<PdqHash, kDihedralCount> hashes;  // indexed by Dihedral
  int quality = 0;
};

struct PdqOptions {
  // The reference CLI resizes images larger than 512 on either side to exactly 512x512 (nearest
  // neighbour) before hashing. HMA's Python binding, vPDQ and TMK hash full resolution instead.
  bool full_resolution = false;
};

class PdqHasher {
 public:
  PdqHasher();
  ~PdqHasher();
  PdqHasher(const PdqHasher&) = delete;
  PdqHasher& operator=(const PdqHasher&) = delete;

  PdqResult Hash(const Image& image, const PdqOptions& options);
  PdqDihedralResult HashDihedral(const Image& image, const PdqOptions& options);

  // Hashes a luma plane directly (row-major, width*height floats); used by video and tests.
  PdqResult HashLuma(const float* luma, int width, int height);

 private:
  struct Scratch;
  std::unique_ptr<Scratch> scratch_;
};

}  // namespace vigil
