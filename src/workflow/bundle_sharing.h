// Signed hash sharing between platforms (the Tech Coalition's Lantern, GIFCT-style): a bank
// exported as a bundle signed with this platform's Ed25519 key, and a partner's bundle received
// into the bank configured for that partner, its signature checked against the partner's trusted
// key (src/lists/hash_bundle.h has the format; include/vigil/sharing.h the records).
//
// Receiving refuses, with a message naming the bundle and what was wrong:
//   - a document that is not a bundle, or malformed (kInvalidArgument);
//   - a bundle signed by a key no partner holds (kPermissionDenied);
//   - a signature that does not match the contents: tampered, or re-signed by another key
//     (kPermissionDenied);
//   - a sequence number already received (a replay: kAlreadyExists), or a "changes" bundle that
//     does not follow the last one received from that partner and bank (out of order, or after a
//     rejected one: kInvalidArgument; a "full" bundle is accepted after any gap, it reconciles).
// A partner trusted "live" has its bundle applied at once as one import into its bank; "review"
// holds it (with its document) until a curator approves (applied then, in sequence order) or
// rejects it. Entries keep their provenance: source "partner:NAME/BANK", the sharer's member,
// external id and classification; the import names the bundle (sharer, bank, sequence, SHA-256)
// and the received-bundle record its signer. A full bundle removes the entries this partner's
// earlier bundles of that bank put in and it no longer lists; nothing a partner sends removes
// entries that came from anywhere else.
//
// Thread safety: the functions may run concurrently; the store's unique sequence numbers decide
// between two copies of one bundle received at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vigil/sharing.h"
#include "vigil/status.h"
#include "vigil/store.h"

namespace vigil {

struct BundleExportOptions {
  std::string sharer;       // this platform's name, as partners know it
  std::string signing_seed; // Ed25519 seed, hex (never logged)
  bool changes = false;     // only what changed since this bank's last exported bundle
  std::string actor;
};

struct BundleExport {
  std::string document;  // the signed bundle, to hand to partners
  ExportedBundle record;
};

Result<BundleExport> ExportBundle(Store& store, const std::string& bank, const BundleExportOptions& options);

struct BundleReceipt {
  ReceivedBundle record;
  std::optional<ImportResult> import;  // when applied now
  std::int64_t skipped_removals = 0;    // removals of entries that came from elsewhere: left alone
  std::int64_t skipped_adds = 0;        // values the bank holds live from elsewhere: left as they are
};

Result<BundleReceipt> ReceiveBundle(Store& store, std::string_view document, const std::string& actor);
// A held bundle: applied (kInvalidArgument while an earlier one of that partner and bank is held)
// or rejected.
Result<BundleReceipt> ApproveBundle(Store& store, std::int64_t id, const std::string& actor);
Status RejectBundle(Store& store, std::int64_t id, const std::string& actor);

}  // namespace vigil
