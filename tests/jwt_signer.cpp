// Test signing keys (jwt_signer.h).
#include "jwt_signer.h"

#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "sso/base64url.h"

namespace vigil::testing {
namespace {

std::string Pem(EVP_PKEY* key, bool private_key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (private_key) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  else PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string BigNum(EVP_PKEY* key, const char* param, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, param, &bn);
  std::string bytes(static_cast<std::size_t>(pad_to > 0 ? pad_to : BN_num_bytes(bn)), '\0');
  if (pad_to > 0) BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), pad_to);
  else BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return sso::Base64UrlEncode(bytes);
}

}  // namespace

struct JwtSigner::Key {
  std::string kid;
  EVP_PKEY* rsa = nullptr;
  EVP_PKEY* ec = nullptr;
  explicit Key(std::string id) : kid(std::move(id)), rsa(EVP_RSA_gen(2048)), ec(EVP_EC_gen("P-256")) {
    if (rsa == nullptr || ec == nullptr) throw std::runtime_error("key generation failed");
  }
  ~Key() {
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
  }
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
};

JwtSigner::JwtSigner() { Rotate(); }
JwtSigner::~JwtSigner() = default;

void JwtSigner::Rotate(bool keep_old) {
  auto key = std::make_unique<Key>("k" + std::to_string(next_kid_++));
  if (!keep_old) keys_.clear();
  keys_.push_back(std::move(key));
  std::rotate(keys_.rbegin(), keys_.rbegin() + 1, keys_.rend());  // the newest first
}

std::string JwtSigner::Sign(const std::string& claims_json) const { return SignWith(*keys_.front(), claims_json, false); }

std::string JwtSigner::SignHmacWithPublicKey(const std::string& claims_json) const {
  return SignWith(*keys_.front(), claims_json, true);
}

std::string JwtSigner::Jwks() const {
  boost::json::array keys;
  for (const auto& key : keys_) {
    keys.push_back(boost::json::object{{"kty", "RSA"}, {"kid", key->kid + "-rs"}, {"use", "sig"}, {"alg", "RS256"},
                                       {"n", BigNum(key->rsa, OSSL_PKEY_PARAM_RSA_N)},
                                       {"e", BigNum(key->rsa, OSSL_PKEY_PARAM_RSA_E)}});
    keys.push_back(boost::json::object{{"kty", "EC"}, {"kid", key->kid + "-ec"}, {"use", "sig"}, {"alg", "ES256"},
                                       {"crv", "P-256"}, {"x", BigNum(key->ec, OSSL_PKEY_PARAM_EC_PUB_X, 32)},
                                       {"y", BigNum(key->ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32)}});
  }
  return boost::json::serialize(boost::json::object{{"keys", std::move(keys)}});
}

std::string JwtSigner::SignWith(const Key& key, const std::string& claims_json, bool hmac) const {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grants_json(jwt, claims_json.c_str());
  EVP_PKEY* pair = es256_ ? key.ec : key.rsa;
  const std::string pem = Pem(pair, !hmac);
  const jwt_alg_t alg = hmac ? JWT_ALG_HS256 : es256_ ? JWT_ALG_ES256 : JWT_ALG_RS256;
  jwt_add_header(jwt, "kid", (key.kid + (es256_ ? "-ec" : "-rs")).c_str());
  jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(pem.data()), static_cast<int>(pem.size()));
  char* encoded = jwt_encode_str(jwt);
  std::string out = encoded != nullptr ? encoded : "";
  free(encoded);
  jwt_free(jwt);
  return out;
}

std::string JwtSigner::SignRs256Raw(const std::string& payload_json) const {
  const Key& key = *keys_.front();
  const std::string input = sso::Base64UrlEncode(R"({"alg":"RS256","typ":"JWT","kid":")" + key.kid + R"(-rs"})") + "." +
                            sso::Base64UrlEncode(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t size = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.rsa);
  EVP_DigestSign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string signature(size, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  signature.resize(size);
  return input + "." + sso::Base64UrlEncode(signature);
}

}  // namespace vigil::testing
