// MD5, SHA-1 and SHA-256 of file bytes through OpenSSL's EVP one-shot digest.
#include "vigil/digest.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "util/hex.h"

namespace vigil {
namespace {

std::string HexDigest(const EVP_MD* md, std::span<const std::uint8_t> bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out, &len, md, nullptr) != 1) return {};
  return util::HexEncode(std::span<const std::uint8_t>(out, len));
}

}  // namespace

FileDigests ComputeDigests(std::span<const std::uint8_t> bytes) {
  return {HexDigest(EVP_md5(), bytes), HexDigest(EVP_sha1(), bytes), HexDigest(EVP_sha256(), bytes)};
}

std::string Sha256Hex(std::span<const std::uint8_t> bytes) { return HexDigest(EVP_sha256(), bytes); }

std::string Sha256Hex(std::string_view text) {
  return HexDigest(EVP_sha256(), {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

Result<std::string> RandomHex(std::size_t bytes) {
  std::vector<unsigned char> random(bytes);
  if (bytes > 0 && RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) {
    return Fail(ErrorCode::kInternal, "no randomness for a secret");
  }
  return util::HexEncode(random);
}

}  // namespace vigil
