// Hex text for the reporting library's binary secrets and digests (keys, nonces, signatures),
// through libsodium's constant-time codecs.
#pragma once

#include <cstddef>
#include <string>

#include "vigil/status.h"

namespace vigil::reporting {

std::string Hex(const unsigned char* data, std::size_t size);

// Decodes `hex`; with `expected` > 0 it must be exactly that many bytes. kInvalidArgument names
// `what` ("the signing key must be 64 hex digits").
Result<std::string> Unhex(const std::string& hex, std::size_t expected, const char* what);

}  // namespace vigil::reporting
