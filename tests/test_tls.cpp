// Self-signed certificates for TLS tests (see test_tls.h).
#include "test_tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <fstream>

namespace vigil::testing {
namespace {

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

PemPair SelfSignedCertificate(const std::string& cn) {
  static std::atomic<long> serial{1};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  BIO* c = BIO_new(BIO_s_mem());
  BIO* k = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(c, cert);
  PEM_write_bio_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  PemPair out{BioText(c), BioText(k)};
  BIO_free(c);
  BIO_free(k);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string WriteTlsTable(const std::filesystem::path& dir, const std::string& cn) {
  const auto pem = SelfSignedCertificate(cn);
  std::ofstream(dir / "cert.pem") << pem.cert;
  std::ofstream(dir / "key.pem") << pem.key;
  return "[tls]\ncert_file = \"" + (dir / "cert.pem").string() + "\"\nkey_file = \"" + (dir / "key.pem").string() + "\"\n";
}

}  // namespace vigil::testing
