// libFuzzer target for audit anchor lines (the file `vigil legal check-anchors` reads, kept on
// storage outside Vigil: hostile until checked). A line parses to an anchor or a refusal saying
// why; a parsed anchor writes back to a line that parses to the same anchor; its signature check
// answers yes or no without failing (the key is well-formed by then).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "reporting/ed25519.h"
#include "vigil/audit_anchor.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto anchor = vigil::ParseAuditAnchor(line);
  if (!anchor) {
    if (anchor.error().message.empty()) __builtin_trap();
    return 0;
  }
  auto again = vigil::ParseAuditAnchor(vigil::AuditAnchorJson(*anchor));
  if (!again || again->record_id != anchor->record_id || again->hash != anchor->hash || again->at != anchor->at ||
      again->public_key != anchor->public_key || again->signature != anchor->signature) {
    __builtin_trap();
  }
  auto valid = vigil::reporting::Ed25519Verify(anchor->public_key, vigil::AuditAnchorMessage(*anchor), anchor->signature);
  if (!valid) __builtin_trap();
  return 0;
}
