// Hash sharing between platforms, the store's part: partners (another platform, the Ed25519 key
// its bundles must be signed with, the bank they go into and how far they are trusted), the
// bundles received from them (applied, or held for review), and the bundles this platform
// exported. The workflow on top (signing, checking, applying) is workflow/bundle_sharing.h.
//
// Crash recovery of a received bundle: the row is written first with status "applying" (which
// takes its sequence number: a second copy is refused), then the bank import runs, then the row
// becomes "applied" with the import's id. A crash between leaves "applying": the same bundle
// (same SHA-256) offered again re-runs the import (adds and removals are idempotent) and
// completes the row; any other bundle with that number is refused.
//
// Thread safety: as Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"
#include "vigil/store.h"

namespace vigil {

struct Partner {
  std::int64_t id = 0;
  std::string name;        // this platform's name for the partner: 1-64 of [a-z0-9_-]
  std::string public_key;  // Ed25519, hex
  std::string bank;        // the bank its bundles are imported into
  std::string trust = "review";  // "live": entries match at once; "review": a bundle waits for a curator
  std::int64_t created_at = 0;
  std::string created_by;
  std::optional<std::int64_t> removed_at;
};

struct ReceivedBundle {
  std::int64_t id = 0;
  std::int64_t partner_id = 0;
  std::string partner;  // read back only
  std::string sharer, sharer_bank;
  std::int64_t sequence = 0;
  std::string kind;  // "full" or "changes"
  std::int64_t since_import = 0, through_import = 0;
  std::string sha256;  // of the whole document as received
  std::string signer;
  std::string status;  // "applying", "applied", "held", "rejected"
  std::int64_t entries = 0, removals = 0;
  std::string document;  // kept while held (the signed document, to apply on approval)
  std::optional<std::int64_t> import_id;
  std::int64_t received_at = 0;
  std::string received_by;
  std::optional<std::int64_t> decided_at;
  std::string decided_by;
};

struct ExportedBundle {
  std::int64_t id = 0;
  std::string bank;
  std::int64_t sequence = 0;
  std::string kind;
  std::int64_t since_import = 0, through_import = 0;
  std::string sha256;
  std::int64_t entries = 0, removals = 0;
  std::int64_t created_at = 0;
  std::string created_by;
};

struct SharedRemoval {
  std::string signal_type, value;
};

// A bank's entries as a bundle carries them, with this platform's review counts.
struct SharedEntry {
  BankEntry entry;
  std::int64_t confirmed = 0, rejected = 0;
};

class SharingStore {
 public:
  virtual ~SharingStore() = default;

  // kAlreadyExists: a partner with that name, or a live one with that key. Audited (partner.add).
  virtual Result<Partner> AddPartner(const Partner& partner, const std::string& actor) = 0;
  virtual Result<std::vector<Partner>> ListPartners(bool include_removed) = 0;
  // The live partner holding this key (kNotFound: none).
  virtual Result<Partner> PartnerByKey(const std::string& public_key) = 0;
  // Audited (partner.remove); its bundles stay on record.
  virtual Status RemovePartner(const std::string& name, const std::string& actor) = 0;

  // The bundle of that bank with the highest sequence signed by this key, if any (under any
  // partner record holding the key: a partner removed and added again keeps its sequence).
  virtual Result<std::optional<ReceivedBundle>> LastReceived(const std::string& public_key, const std::string& sharer_bank) = 0;
  virtual Result<ReceivedBundle> GetReceived(std::int64_t id) = 0;
  // kAlreadyExists when the partner's bundle with that bank and sequence is on record. Audited.
  virtual Result<ReceivedBundle> RecordReceived(const ReceivedBundle& bundle) = 0;
  // Moves a bundle on ("applied" with its import, "held" -> "rejected", ...). Audited.
  virtual Status SetReceivedStatus(std::int64_t id, const std::string& status, std::optional<std::int64_t> import_id,
                                   const std::string& actor) = 0;
  // Newest first; `partner` "" for every partner's.
  virtual Result<std::vector<ReceivedBundle>> ListReceived(const std::string& partner, int limit) = 0;

  virtual Result<std::optional<ExportedBundle>> LastExport(const std::string& bank) = 0;
  // kAlreadyExists when that bank's bundle with that sequence is on record. Audited (bundle.export).
  virtual Result<ExportedBundle> RecordExport(const ExportedBundle& bundle) = 0;
  // Full: the bank's entries live as of import `through` (added by it or before, not removed by
  // it or before). Changes: entries imports (since, through] added and are still live, and the
  // (signal type, value) pairs they removed that no live entry holds again.
  virtual Result<std::vector<SharedEntry>> EntriesForBundle(const std::string& bank, bool full, std::int64_t since,
                                                            std::int64_t through,
                                                            std::vector<SharedRemoval>* removed) = 0;
};

}  // namespace vigil
