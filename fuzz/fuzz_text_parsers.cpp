// libFuzzer target for the text parsers that take untrusted lists: PDQ hex, CSV records and PDQ
// list lines.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "index/pdq_list.h"
#include "util/csv.h"
#include "vigil/pdq.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto h = vigil::PdqHash::FromHex(text); h) {
    if (vigil::PdqHash::FromHex(h->ToHex()).value() != *h) __builtin_trap();  // round trip
  }
  if (auto fields = vigil::util::ParseCsvLine(text); fields) {
    for (const auto& f : *fields) (void)vigil::PdqHash::FromHex(f);
  }
  bool blank = false;
  if (auto e = vigil::index::ParsePdqListLine(text, 0, &blank); e && !blank) {
    if (vigil::PdqHash::FromHex(e->hash.ToHex()).value() != e->hash) __builtin_trap();
  }
  return 0;
}
