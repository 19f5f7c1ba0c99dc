// libFuzzer target for hash-sharing bundles from partner platforms (`vigil bundle import`): the
// envelope parser, and the payload parser on the envelope's payload (as the workflow does once
// the signature checks) and on the input itself. A parse must return a bundle or an error that
// says why; a parsed bundle must hold what its limits allow, and written out again it must parse
// back to the same entries (the writer and the reader agree).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lists/hash_bundle.h"

namespace {

void CheckPayload(std::string_view text) {
  vigil::BundleLimits limits;
  limits.max_entries = 10'000;
  auto bundle = vigil::ParseBundlePayload(text, limits);
  if (!bundle) {
    if (bundle.error().message.empty()) __builtin_trap();
    return;
  }
  if (bundle->entries.size() > limits.max_entries || bundle->sequence < 1) __builtin_trap();
  if (bundle->full && !bundle->removed.empty()) __builtin_trap();
  auto again = vigil::ParseBundlePayload(vigil::WriteBundlePayload(*bundle), limits);
  if (!again || again->entries.size() != bundle->entries.size() || again->removed.size() != bundle->removed.size()) {
    __builtin_trap();
  }
  for (std::size_t i = 0; i < bundle->entries.size(); ++i) {
    if (again->entries[i].value != bundle->entries[i].value ||
        again->entries[i].provenance.external_id != bundle->entries[i].provenance.external_id) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto envelope = vigil::ParseBundleEnvelope(text);
  if (envelope) {
    CheckPayload(envelope->payload);
  } else if (envelope.error().message.empty()) {
    __builtin_trap();
  }
  CheckPayload(text);
  return 0;
}
