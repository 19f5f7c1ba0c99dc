// Productions for law-enforcement legal process: a directory a custodian hands over, which the
// recipient can check without trusting the sender's systems.
//
//   manifest.json   the request (type, agency, case number, dates, scope), the cases, and every
//                   file with its SHA-256 and size; the producer and the time
//   files/          the preserved items of the request's cases, decrypted from the vault
//   custody.jsonl   the audit records of those cases, reports, items and uploads, each with its
//                   chain hashes (so each record can be checked against the producer's chain)
//   manifest.sig    a detached Ed25519 signature (hex) over manifest.json's bytes
//
// Signing keys are 32-byte seeds (hex) from configuration or the environment; the public key is
// given to recipients out of band (and printed by `vigil legal keygen` / `vigil legal pubkey`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vigil/evidence_vault.h"
#include "vigil/store.h"

namespace vigil {

struct LegalPackage {
  std::string directory;
  std::string manifest_sha256;
  int files = 0;
  int custody_records = 0;
};

// Reads the items as `actor` (custodian), writes the package into `out_dir` (created; must not
// exist yet), signs it, and records the production on the request.
Result<LegalPackage> ProduceLegalPackage(Store& store, EvidenceVault& vault, std::int64_t request_id,
                                         const std::string& out_dir, const std::string& signing_seed_hex,
                                         const std::string& actor, std::string_view role);

struct PackageCheck {
  bool signature_ok = false;
  int files_checked = 0;
  int custody_records_checked = 0;
  std::vector<std::string> problems;  // empty: the package verifies
};

// Checks the signature with `public_key_hex`, every file's hash and size, that no file was added,
// and every custody record's hash.
Result<PackageCheck> VerifyLegalPackage(const std::string& directory, const std::string& public_key_hex);

// The Ed25519 public key (hex) of a signing seed; a new random seed.
Result<std::string> SigningPublicKey(const std::string& signing_seed_hex);
std::string NewSigningSeed();

}  // namespace vigil
