// libFuzzer target for legal production archives (what `vigil legal verify` reads: a tar that
// came from outside, hostile until checked). Whatever the bytes, the check answers with problems
// or none, never an error nor a crash; and it never passes a package whose signature did not
// verify. The key is the public half of the fixed seed 00 01 .. 1f that signs the seed corpus
// (fuzz/legal_archive_seeds.py writes fuzz/corpus/legal_archive).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/legal_package.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string kPublicKey = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
  const std::string_view archive(reinterpret_cast<const char*>(data), size);
  auto check = vigil::VerifyLegalArchive(archive, kPublicKey);
  if (!check) __builtin_trap();
  if (check->problems.empty() && !check->signature_ok) __builtin_trap();
  return 0;
}
