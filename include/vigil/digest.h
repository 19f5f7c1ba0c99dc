// Cryptographic digests of file bytes (MD5, SHA-1, SHA-256 via OpenSSL EVP), as hash lists carry
// them next to PDQ, and random secrets (OpenSSL's RAND_bytes). Reentrant.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil {

struct FileDigests {
  std::string md5;     // 32 lowercase hex digits
  std::string sha1;    // 40
  std::string sha256;  // 64
};

FileDigests ComputeDigests(std::span<const std::uint8_t> bytes);

// SHA-256 alone (64 lowercase hex digits), where nothing needs the other two.
std::string Sha256Hex(std::span<const std::uint8_t> bytes);
std::string Sha256Hex(std::string_view text);
// `bytes` random bytes from OpenSSL's generator as lowercase hex; kInternal when it has none.
Result<std::string> RandomHex(std::size_t bytes);

}  // namespace vigil
