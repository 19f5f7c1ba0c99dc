// Certificates for tests of TLS: self-signed, made with OpenSSL for a common name, as PEM text.
// Thread safety: a pure function (OpenSSL's key generation is thread-safe).
#pragma once

#include <filesystem>
#include <string>

namespace vigil::testing {

struct PemPair {
  std::string cert, key;
};

// An ECDSA P-256 key and a certificate for `cn`, valid for an hour.
PemPair SelfSignedCertificate(const std::string& cn);
// A certificate for `cn` written to DIR/cert.pem and DIR/key.pem, and the [tls] table naming them.
std::string WriteTlsTable(const std::filesystem::path& dir, const std::string& cn);

}  // namespace vigil::testing
