// Productions for law-enforcement legal process: a package a custodian hands over, which the
// recipient can check without trusting the sender's systems.
//
//   manifest.json   the request (type, agency, case number, dates, scope), the cases, and every
//                   file with its SHA-256 and size; the producer and the time
//   files/          the preserved items of the request's cases, decrypted from the vault
//   custody.jsonl   the audit records of those cases, reports, items and uploads, each with its
//                   chain hashes (so each record can be checked against the producer's chain)
//   manifest.sig    a detached Ed25519 signature (hex) over manifest.json's bytes
//
// A package is a folder (`vigil legal export --out DIR`) or one tar archive whose entries sit
// under a folder named after the package (legal-request-<id>-<UTC time>/manifest.json, ...): what
// the service answers the custodian, and `vigil legal export --out FILE.tar`. The service never
// writes a package into its data directory, which is backed up: it answers the archive, built in
// memory, or writes it only into a folder the operator named outside the data directory.
//
// Signing keys are 32-byte seeds (hex) from configuration or the environment; the public key is
// given to recipients out of band (and printed by `vigil legal keygen` / `vigil legal pubkey`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/evidence_vault.h"
#include "vigil/store.h"

namespace vigil {

struct LegalPackage {
  std::string path;     // the folder or archive file it was written to; empty when kept in memory
  std::string name;     // legal-request-<id>-<UTC time>: an archive's top folder, and its file name
  std::string archive;  // the tar archive, when kept in memory
  std::string manifest_sha256;
  int files = 0;
  int custody_records = 0;
};

// Reads the items as `actor` (custodian), writes the package into `out_dir` (created; must not
// exist yet), signs it, and records the production on the request. A package that fails half-way
// is removed.
Result<LegalPackage> ProduceLegalPackage(Store& store, EvidenceVault& vault, std::int64_t request_id,
                                         const std::string& out_dir, const std::string& signing_seed_hex,
                                         const std::string& actor, std::string_view role);

// Where ProduceLegalArchive puts the tar archive: a new file (created, must not exist yet; written
// under a temporary name and renamed when whole, removed on failure), a new file named after the
// package in an existing folder, or, with neither, memory (LegalPackage::archive), at most
// `max_bytes`. A package whose evidence alone is over the limit is refused (kTooLarge, naming the
// limit) before any item is decrypted.
struct ArchiveOutput {
  std::string file;
  std::string folder;
  std::uint64_t max_bytes = 0;  // in memory only; 0: no limit
};

// The same package as ProduceLegalPackage, as one tar archive; recorded the same way (the
// manifest's SHA-256) once the archive is whole.
Result<LegalPackage> ProduceLegalArchive(Store& store, EvidenceVault& vault, std::int64_t request_id,
                                         const ArchiveOutput& output, const std::string& signing_seed_hex,
                                         const std::string& actor, std::string_view role);

struct PackageCheck {
  bool signature_ok = false;
  int files_checked = 0;
  int custody_records_checked = 0;
  std::vector<std::string> problems;  // empty: the package verifies
};

// What checking one package may cost, whatever it holds; the defaults fit any genuine package.
struct VerifyLimits {
  // The data of all its entries together, as read (a .tar.gz's, decompressed).
  std::uint64_t max_total_bytes = 64ull << 30;
  // A compressed archive that has expanded to more than `expansion_floor` bytes may be at most
  // `max_expansion` times the compressed bytes read so far (0: no such bound): a decompression bomb
  // is stopped early, not read to its end.
  std::uint64_t max_expansion = 100;
  std::uint64_t expansion_floor = 256ull << 20;
};

// Checks a package, a folder or a tar archive (.tar, or .tar.gz), with `public_key_hex`: the
// signature, every file's hash and size, that no file was added, and every custody record's hash.
// A folder and an archive are judged by the same rules, each entry from its path, type and size
// before its data is read; a folder is walked without following a link, an archive read as it is,
// never unpacked. The package holds manifest.json, manifest.sig and custody.jsonl at its top (in an
// archive, under one top folder or none) and files/ with the listed files directly in it; a link
// (symbolic, or hard: a file with more than one name), a device, pipe or other non-file, a sparse
// file, an absolute path, a path with "..", a path twice, or any other file or folder is a problem,
// and the package does not verify. Past a limit in `limits` the rest is not read (a problem naming
// the limit). At most the manifest (64 MiB), its signature (4 KiB) and the custody log (1 GiB) are
// held in memory. Errors are for a malformed key or a path that is neither a folder nor a file;
// what a package holds is judged, never an error.
Result<PackageCheck> VerifyLegalPackage(const std::string& path, const std::string& public_key_hex,
                                        const VerifyLimits& limits = {});
// The same for an archive in memory.
Result<PackageCheck> VerifyLegalArchive(std::string_view archive, const std::string& public_key_hex,
                                        const VerifyLimits& limits = {});

// The Ed25519 public key (hex) of a signing seed; a new random seed.
Result<std::string> SigningPublicKey(const std::string& signing_seed_hex);
std::string NewSigningSeed();

// Whether the service may write productions to `productions_dir`: not the data directory, nor
// anywhere inside it (its backups would carry decrypted evidence), symbolic links and ".." resolved.
// kInvalidArgument says why not.
Status CheckProductionsDir(const std::string& productions_dir, const std::string& data_dir);

}  // namespace vigil
