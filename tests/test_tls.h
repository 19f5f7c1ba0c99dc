// Certificates for tests of TLS: self-signed, made with OpenSSL for a common name, as PEM text.
// Thread safety: a pure function (OpenSSL's key generation is thread-safe).
#pragma once

#include <string>

namespace vigil::testing {

struct PemPair {
  std::string cert, key;
};

// An ECDSA P-256 key and a certificate for `cn`, valid for an hour.
PemPair SelfSignedCertificate(const std::string& cn);

}  // namespace vigil::testing
