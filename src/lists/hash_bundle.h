// Hash-sharing bundles between platforms: a bank's entries (or its changes since the previous
// bundle), with their provenance and the sharer's review counts, in a signed envelope.
//
// The envelope is a JSON object:
//   {"vigil_bundle": 1, "signer": "<Ed25519 public key, hex>", "signature": "<hex>",
//    "payload": "<the payload document as a JSON string>"}
// and the signature covers the payload string's bytes exactly as they decode, so no
// canonicalisation is needed: what was signed is what is parsed. The payload:
//   {"format": "vigil-hash-bundle", "version": 1, "sharer": NAME, "bank": NAME, "category": TEXT,
//    "sequence": N (1, 2, ... per sharer and bank), "kind": "full" | "changes",
//    "since_import": N, "through_import": N (the sharer's import ids: a "changes" bundle holds what
//    imports (since, through] did; a "full" one every live entry as of `through`),
//    "created_at": MICROS,
//    "entries": [{"signal_type", "value", "payload" (vpdq frames), "source", "member",
//                 "external_id", "classification", "confirmed", "rejected"}],
//    "removed": [{"signal_type", "value"}]}
// This file parses and writes them; signing and checking the signature against a partner's
// trusted key is the sharing workflow's (workflow/bundle_sharing.h). Bundles are untrusted input:
// sizes are bounded, every field is type-checked, unknown fields are refused, and each error names
// the field (and the entry's index).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"
#include "vigil/store.h"

namespace vigil {

struct BundleEntry {
  std::string signal_type, value, payload;
  Provenance provenance;
  std::int64_t confirmed = 0, rejected = 0;  // the sharer's review decisions on the entry's matches
};

struct BundleRemoval {
  std::string signal_type, value;
};

struct HashBundle {
  std::string sharer, bank, category;
  std::int64_t sequence = 0;
  bool full = true;
  std::int64_t since_import = 0, through_import = 0;
  std::int64_t created_at = 0;
  std::vector<BundleEntry> entries;
  std::vector<BundleRemoval> removed;
};

// The envelope as read, before its signature is checked.
struct BundleEnvelope {
  std::string signer;     // hex public key, as the bundle claims
  std::string signature;  // hex
  std::string payload;    // the signed bytes
};

struct BundleLimits {
  std::size_t max_bytes = 1ull << 30;
  std::size_t max_entries = 20'000'000;
};

Result<BundleEnvelope> ParseBundleEnvelope(std::string_view document, const BundleLimits& limits = {});
// The payload's contents (call only on a payload whose signature was checked).
Result<HashBundle> ParseBundlePayload(std::string_view payload, const BundleLimits& limits = {});

std::string WriteBundlePayload(const HashBundle& bundle);
std::string WriteBundleEnvelope(const BundleEnvelope& envelope);

}  // namespace vigil
