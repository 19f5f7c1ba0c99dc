// Console sign-in's parsers on hostile bytes (src/sso/): the first byte picks one. 0: a JWKS
// document (ParseJwks); 1: an ID token verified against fixed keys (header, algorithm and key
// choice, libjwt's decoding; signatures cannot be forged, so the claim checks are the unit tests');
// 2: a group_roles mapping and a Cookie header. Nothing may crash, leak or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sso/group_roles.h"
#include "sso/id_token.h"
#include "sso/jwk_set.h"
#include "sso/session_cookie.h"

namespace {

// Public halves of keys made once for this fuzzer (their private halves were thrown away).
constexpr const char* kJwks =
    R"({"keys":[{"kty":"RSA","kid":"r1","alg":"RS256","use":"sig","e":"AQAB","n":"xbihGFJT2iO2Ja05Bw-FDspWKpU0LBT3YLZergOjrUhcB-1sf0o80v_L0D9qyjNS0fGr09D8YIqwetMpcyJ3TmBmmTUTa8kNqgecxLaOzo6w1Px9VCi7nxUD3u2XnmfMt9-h2IMHBDtMg1IfmkjZbDPGmm0-AUGvFm4DdIeM-AbAOA5We2_6VBFd-cPl2S3FGSZs1uyme3jw5bNZTTB3zWarOqz99a083Y_vkmOYtaz88KrBUaaOnRlNJvbm8m_6DXbh86DpEGFIbqV1c7pN-mHnls-EOEt-qXv7LAzmo5YApmp1LOUp3F8ta_Yr_xnRAhfsEMbiFK3A8VKYRh7paQ"},)"
    R"({"kty":"EC","kid":"e1","crv":"P-256","alg":"ES256","x":"mm3q3jFq-vh9wAydw7cwHCpbY2_t2Fjwp9Rmemulpp0","y":"BbGLR8RjmZITxH-XKlrhsq3l_iQEpvALciTPdWj0Zxc"}]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      (void)vigil::sso::ParseJwks(text);
      break;
    case 1: {
      static const auto keys = vigil::sso::ParseJwks(kJwks);
      if (!keys || keys->size() != 2) __builtin_trap();
      vigil::sso::IdTokenExpectations expect;
      expect.issuer = "https://idp.example.org";
      expect.client_id = "vigil";
      expect.nonce = "n";
      expect.now = 1'800'000'000;
      (void)vigil::sso::VerifyIdToken(text, *keys, expect);
      break;
    }
    default: {
      if (auto mapping = vigil::sso::ParseGroupRoles(text)) (void)vigil::sso::RolesForGroups(*mapping, {"a", "b"});
      (void)vigil::sso::CookieValue(text, "vigil-session");
      (void)vigil::sso::CsrfTokenMatches(text, text);
      break;
    }
  }
  return 0;
}
