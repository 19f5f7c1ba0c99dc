// The evidence vault: what a report or a confirmed case must preserve (the media bytes, the case's
// context, the report as filed), encrypted at rest and readable only by a custodian.
//
// Each item is sealed with its own random key (XChaCha20-Poly1305, libsodium), with the item's
// SHA-256 as associated data; the item key is sealed with the master key (from configuration or
// the environment, never stored next to the vault) and kept in the database. Ciphertext files are
// named by a keyed hash, so the vault directory does not say which files it holds. A tampered or
// swapped file fails authentication. Every read, and every refused read, goes to the audit log.
// Retention: each item is held until `hold_until` (a year from preservation by default, longer
// per case); PurgeExpired then wipes the item key (crypto-shredding) and deletes the file, with
// an audit record; it never touches an item still held. The master key can be rotated.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/clock.h"
#include "vigil/reports.h"
#include "vigil/status.h"
#include "vigil/store.h"

namespace vigil {

struct VaultOptions {
  std::string directory;               // where ciphertext files live (data_dir/vault)
  std::string master_key_hex;          // 64 hex digits (32 bytes)
  std::int64_t retention_days = 365;   // default hold from preservation
};

inline constexpr const char* kCustodianRole = "custodian";

struct PurgeResult {
  int purged = 0;
  int kept_on_hold = 0;  // expired when listed, extended before the purge reached them
  std::vector<std::string> problems;  // files that could not be deleted (the keys are gone anyway)
};

class EvidenceVault {
 public:
  // kInvalidArgument when the master key is missing or not 32 bytes of hex.
  static Result<std::unique_ptr<EvidenceVault>> Open(Store& store, VaultOptions options, const Clock& clock);
  ~EvidenceVault();

  // Seals and stores `bytes`; `item` gives kind, media type, case, report and content. The file is
  // written (and synced) before the database row, so a crash leaves at worst an unreferenced file.
  Result<EvidenceItem> Preserve(std::string_view bytes, EvidenceItem item, const std::string& actor);

  // The plaintext, verified against its SHA-256. Only `role` custodian; kPermissionDenied
  // otherwise. kCorrupt when the ciphertext fails authentication; kNotFound once purged.
  Result<std::string> Read(std::int64_t id, const std::string& actor, std::string_view role);

  // Checks an item's ciphertext and hash without handing out the plaintext (audited as a check).
  Status Verify(std::int64_t id, const std::string& actor);

  PurgeResult PurgeExpired(const std::string& actor);

  // Rewraps every live item's key with `new_master_key_hex` and renames its file for the new key:
  // new names are linked first, the keys are rewrapped in one transaction, then old names go, so
  // a crash leaves every item readable with one of the two keys, and running it again finishes
  // the job (items already under the new key are skipped). Items preserved with the old key by a
  // service still running with it are caught by running it again after that service restarts.
  // This vault keeps using the old key; open a new one with the new key afterwards.
  struct Rotation {
    int rewrapped = 0;
    int already_rotated = 0;
    std::vector<std::string> problems;  // items neither key opens, files that could not be linked
  };
  Result<Rotation> RotateMasterKey(const std::string& new_master_key_hex, const std::string& actor);

  std::int64_t retention_days() const { return options_.retention_days; }

 private:
  EvidenceVault(Store& store, VaultOptions options, const Clock& clock, std::string key);
  std::string PathOf(const EvidenceItem& item) const { return PathWith(item, master_key_); }
  std::string PathWith(const EvidenceItem& item, const std::string& master_key) const;
  Result<std::string> Unseal(const EvidenceItem& item) const;

  Store& store_;
  VaultOptions options_;
  const Clock& clock_;
  std::string master_key_;  // 32 bytes, wiped on destruction
};

}  // namespace vigil
