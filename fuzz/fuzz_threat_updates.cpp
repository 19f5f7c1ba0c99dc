// libFuzzer target for ThreatExchange threat_updates answers (an exchange's sync): the page parser
// alone. A parse must return ops or an error that says why; parsed ops must be within the record
// limit, each a normalised pdq or md5 value, adds and removes only, oldest first never checked
// here (the order is the sort's), and the next link whatever the answer said.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exchange/client_kinds.h"
#include "vigil/signal_type.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vigil::exchange::SyncPage page;
  auto next = vigil::exchange::ParseThreatUpdates(text, "fuzz", 1000, 1 << 20, page);
  if (!next) {
    if (next.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (page.ops.size() > 1000 || page.fetched > 1000 || page.skipped > page.fetched) __builtin_trap();
  for (const auto& op : page.ops) {
    if (op.signal_type != "pdq" && op.signal_type != "md5") __builtin_trap();
    if (op.kind != vigil::ImportOp::Kind::kAdd && op.kind != vigil::ImportOp::Kind::kRemove) __builtin_trap();
    auto normalized = vigil::NormalizeSignal(op.signal_type, op.value);
    if (!normalized || *normalized != op.value) __builtin_trap();
    if (op.provenance.external_id.size() > 256 || op.provenance.source != "fuzz") __builtin_trap();
  }
  return 0;
}
