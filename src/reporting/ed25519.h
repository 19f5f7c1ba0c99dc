// Ed25519 detached signatures over text, keys and signatures as hex (libsodium): the signer of
// legal productions and of audit-log anchors. A signing key is a 32-byte seed; the seed and the
// expanded secret key are wiped after each use.
#pragma once

#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::reporting {

// The public key (hex) of a seed (hex); kInvalidArgument when the seed is not 64 hex digits.
Result<std::string> Ed25519PublicKey(const std::string& seed_hex);

// The detached signature (hex) of `message`.
Result<std::string> Ed25519Sign(const std::string& seed_hex, std::string_view message);

// Whether `signature_hex` is a valid signature of `message` by `public_key_hex`. A malformed
// public key is an error (the caller's input); a malformed signature is just not valid.
Result<bool> Ed25519Verify(const std::string& public_key_hex, std::string_view message,
                           const std::string& signature_hex);

}  // namespace vigil::reporting
