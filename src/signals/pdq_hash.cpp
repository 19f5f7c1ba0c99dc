// PdqHash value type: hex formatting/parsing in the reference's big-endian order.
#include <string>

#include "vigil/pdq.h"

namespace vigil {

PdqHash PdqHash::FromWords(const std::array<std::uint16_t, 16>& words) {
  PdqHash h;
  for (std::size_t i = 0; i < 16; ++i) {
    h.lanes_[i / 4] |= std::uint64_t{words[i]} << (16 * (i % 4));
  }
  return h;
}

std::string PdqHash::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(kHexLength, '0');
  // Word 15 first, each word as 4 hex digits, most significant nibble first.
  std::size_t pos = 0;
  for (int w = 15; w >= 0; --w) {
    const std::uint16_t v = Word(w);
    for (int shift = 12; shift >= 0; shift -= 4) out[pos++] = kDigits[(v >> shift) & 0xF];
  }
  return out;
}

Result<PdqHash> PdqHash::FromHex(std::string_view hex) {
  if (hex.size() != kHexLength) {
    return Fail(ErrorCode::kInvalidArgument, "PDQ hash must be 64 hex digits, got " +
                                                 std::to_string(hex.size()) + " characters");
  }
  std::array<std::uint16_t, 16> words{};
  for (std::size_t pos = 0; pos < hex.size(); ++pos) {
    const char c = hex[pos];
    unsigned v;
    if (c >= '0' && c <= '9') {
      v = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return Fail(ErrorCode::kInvalidArgument,
                  "PDQ hash has a non-hex character at position " + std::to_string(pos + 1));
    }
    const std::size_t word = 15 - pos / 4;
    words[word] = static_cast<std::uint16_t>(words[word] | (v << (12 - 4 * (pos % 4))));
  }
  return FromWords(words);
}

std::string_view DihedralName(Dihedral d) {
  switch (d) {
    case Dihedral::kOriginal: return "orig";
    case Dihedral::kRot90: return "rot90";
    case Dihedral::kRot180: return "rot180";
    case Dihedral::kRot270: return "rot270";
    case Dihedral::kFlipX: return "flipx";
    case Dihedral::kFlipY: return "flipy";
    case Dihedral::kFlipPlus1: return "flipplus1";
    case Dihedral::kFlipMinus1: return "flipminus1";
  }
  return "unknown";
}

}  // namespace vigil
