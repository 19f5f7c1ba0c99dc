// Base64url over OpenSSL's EVP base64 codec (base64url.h).
#include "sso/base64url.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <vector>

namespace vigil::sso {

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return Fail(ErrorCode::kInvalidArgument, "not base64url: impossible length");
  std::string standard;
  standard.reserve(text.size() + 3);
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return Fail(ErrorCode::kInvalidArgument, "not base64url: a character outside its alphabet");
    standard += c == '-' ? '+' : c == '_' ? '/' : c;
  }
  const std::size_t pad = (4 - standard.size() % 4) % 4;
  standard.append(pad, '=');
  std::string out(standard.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(standard.data()), static_cast<int>(standard.size()));
  if (n < 0) return Fail(ErrorCode::kInvalidArgument, "not base64url");
  // EVP_DecodeBlock counts the padding's zero bytes.
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

Result<std::string> RandomBase64Url(std::size_t bytes) {
  std::vector<unsigned char> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) return Fail(ErrorCode::kInternal, "no randomness");
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
}

std::string PkceChallenge(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace vigil::sso
