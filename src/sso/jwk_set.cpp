// JWKS documents to PEM public keys with OpenSSL 3's EVP_PKEY_fromdata (jwk_set.h).
#include "sso/jwk_set.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <memory>

#include "sso/base64url.h"

namespace vigil::sso {
namespace {

constexpr std::size_t kMaxKeys = 64;

struct Freer {
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Freer>;

std::string Member(const boost::json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<std::string> Pem(OSSL_PARAM_BLD* build, const char* type, bool check_point) {
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(build));
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Fail(ErrorCode::kInvalidArgument, std::string("not a usable ") + type + " public key");
  }
  Owned<EVP_PKEY> key(raw);
  if (check_point) {
    Owned<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
      return Fail(ErrorCode::kInvalidArgument, "an EC key whose point is not on its curve");
    }
  }
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) return Fail(ErrorCode::kInternal, "cannot write a PEM key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Result<std::string> RsaPem(const boost::json::object& jwk) {
  VIGIL_ASSIGN_OR_RETURN(const std::string n, Base64UrlDecode(Member(jwk, "n")));
  VIGIL_ASSIGN_OR_RETURN(const std::string e, Base64UrlDecode(Member(jwk, "e")));
  if (n.size() < 256 || n.size() > 1024) {
    return Fail(ErrorCode::kInvalidArgument, "an RSA key of " + std::to_string(n.size() * 8) + " bits (2048 to 8192 are used)");
  }
  if (e.empty() || e.size() > 8) return Fail(ErrorCode::kInvalidArgument, "an RSA key with an unusable exponent");
  Owned<BIGNUM> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
  Owned<BIGNUM> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
  Owned<OSSL_PARAM_BLD> build(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !build || OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Fail(ErrorCode::kInternal, "cannot build an RSA key");
  }
  return Pem(build.get(), "RSA", false);
}

Result<std::string> EcPem(const boost::json::object& jwk, const std::string& crv) {
  const std::size_t size = crv == "P-256" ? 32 : 48;
  const char* group = crv == "P-256" ? "prime256v1" : "secp384r1";
  VIGIL_ASSIGN_OR_RETURN(const std::string x, Base64UrlDecode(Member(jwk, "x")));
  VIGIL_ASSIGN_OR_RETURN(const std::string y, Base64UrlDecode(Member(jwk, "y")));
  if (x.size() != size || y.size() != size) {
    return Fail(ErrorCode::kInvalidArgument, "an EC key on " + crv + " whose coordinates are not " + std::to_string(size) + " bytes");
  }
  std::string point = "\x04" + x + y;
  Owned<OSSL_PARAM_BLD> build(OSSL_PARAM_BLD_new());
  if (!build || OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return Fail(ErrorCode::kInternal, "cannot build an EC key");
  }
  return Pem(build.get(), "EC", true);
}

}  // namespace

Result<std::vector<Jwk>> ParseJwks(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) return Fail(ErrorCode::kInvalidArgument, "the provider's JWKS is not a JSON object");
  const auto* keys = doc.as_object().if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return Fail(ErrorCode::kInvalidArgument, "the provider's JWKS has no \"keys\" array");
  if (keys->as_array().size() > kMaxKeys) {
    return Fail(ErrorCode::kInvalidArgument, "the provider's JWKS has more than " + std::to_string(kMaxKeys) + " keys");
  }
  std::vector<Jwk> out;
  for (const auto& value : keys->as_array()) {
    if (!value.is_object()) return Fail(ErrorCode::kInvalidArgument, "the provider's JWKS holds a key that is not an object");
    const auto& o = value.as_object();
    Jwk key{Member(o, "kid"), Member(o, "kty"), Member(o, "crv"), Member(o, "alg"), ""};
    const std::string use = Member(o, "use");
    if (!use.empty() && use != "sig") continue;
    Result<std::string> pem = Fail(ErrorCode::kUnsupported, "");
    if (key.kty == "RSA") pem = RsaPem(o);
    else if (key.kty == "EC" && (key.crv == "P-256" || key.crv == "P-384")) pem = EcPem(o, key.crv);
    else continue;  // a kind Vigil does not verify with
    if (!pem) {
      return Fail(ErrorCode::kInvalidArgument, "the provider's key '" + key.kid.substr(0, 64) + "': " + pem.error().message);
    }
    key.pem = std::move(*pem);
    out.push_back(std::move(key));
  }
  return out;
}

}  // namespace vigil::sso
