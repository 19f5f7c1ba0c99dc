// libFuzzer target for NCMEC's answers as the CyberTipline client parses them: whatever a server
// (or anything between) sends, the parser returns a response with a code in range or an error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "vigil/cybertip_client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string xml(reinterpret_cast<const char*>(data), size);
  auto parsed = vigil::ParseCyberTipResponse(xml);
  if (parsed && (parsed->code < 0 || parsed->code > 99'999)) __builtin_trap();
  if (!parsed && parsed.error().message.empty()) __builtin_trap();
  return 0;
}
