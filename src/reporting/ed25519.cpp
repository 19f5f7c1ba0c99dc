// Ed25519 signing and verification (see ed25519.h).
#include "reporting/ed25519.h"

#include <sodium.h>

#include <array>

#include "reporting/sodium_hex.h"

namespace vigil::reporting {
namespace {

using SecretKey = std::array<unsigned char, crypto_sign_SECRETKEYBYTES>;
using PublicKey = std::array<unsigned char, crypto_sign_PUBLICKEYBYTES>;

// Expands a seed; the caller wipes the secret key.
Status Expand(const std::string& seed_hex, PublicKey& pk, SecretKey& sk) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium failed to initialise");
  VIGIL_ASSIGN_OR_RETURN(auto seed, Unhex(seed_hex, crypto_sign_SEEDBYTES, "the signing key"));
  crypto_sign_seed_keypair(pk.data(), sk.data(),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  sodium_memzero(seed.data(), seed.size());
  return {};
}

}  // namespace

Result<std::string> Ed25519PublicKey(const std::string& seed_hex) {
  PublicKey pk{};
  SecretKey sk{};
  auto expanded = Expand(seed_hex, pk, sk);
  sodium_memzero(sk.data(), sk.size());
  if (!expanded) return tl::unexpected(expanded.error());
  return Hex(pk.data(), pk.size());
}

Result<std::string> Ed25519Sign(const std::string& seed_hex, std::string_view message) {
  PublicKey pk{};
  SecretKey sk{};
  if (auto expanded = Expand(seed_hex, pk, sk); !expanded) {
    sodium_memzero(sk.data(), sk.size());
    return tl::unexpected(expanded.error());
  }
  std::array<unsigned char, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       sk.data());
  sodium_memzero(sk.data(), sk.size());
  return Hex(signature.data(), signature.size());
}

Result<bool> Ed25519Verify(const std::string& public_key_hex, std::string_view message,
                           const std::string& signature_hex) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium failed to initialise");
  VIGIL_ASSIGN_OR_RETURN(auto pk, Unhex(public_key_hex, crypto_sign_PUBLICKEYBYTES, "the public key"));
  auto signature = Unhex(signature_hex, crypto_sign_BYTES, "the signature");
  if (!signature) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(),
                                     reinterpret_cast<const unsigned char*>(pk.data())) == 0;
}

}  // namespace vigil::reporting
