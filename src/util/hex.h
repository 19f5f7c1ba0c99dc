// Lower-case hex, both ways: the one encoder and decoder for byte strings Vigil writes or reads as
// hex (digests, plug-in hash values, secrets).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::util {

std::string HexEncode(std::span<const std::uint8_t> bytes);
// kInvalidArgument for an odd length or a character that is not a hex digit (either case).
Result<std::vector<std::uint8_t>> HexDecode(std::string_view hex);

}  // namespace vigil::util
