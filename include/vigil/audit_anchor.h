// Signed anchors of the audit log: checkpoints kept outside the database.
//
// The audit log is hash-chained (audit_chain.h), so an edited or deleted record breaks the chain;
// but whoever can rewrite the whole database can also recompute the chain from the first changed
// record on. An anchor fixes the chain from outside: the id and hash of the log's last record at a
// moment, signed with the platform's Ed25519 signing key (the one legal productions use), one
// JSON line each, appended to a file the database's administrators cannot rewrite (another
// system, WORM storage, a ticket, a signed email). Checking later finds any anchored record whose
// hash changed or that is gone: a rewrite after the anchor, even one that left a consistent chain.
//
//   vigil legal anchor --config vigil.toml --out /mnt/worm/vigil-audit-anchors.jsonl   (cron)
//   vigil legal check-anchors /mnt/worm/vigil-audit-anchors.jsonl --public-key HEX
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/store.h"

namespace vigil {

struct AuditAnchor {
  std::int64_t record_id = 0;  // the chain's last record when anchored
  std::string hash;            // its chain hash
  std::int64_t at = 0;         // when (microseconds since the epoch)
  std::string public_key;      // the signer's Ed25519 public key (hex)
  std::string signature;       // Ed25519 over AuditAnchorMessage (hex)
};

// The bytes an anchor's signature covers.
std::string AuditAnchorMessage(const AuditAnchor& anchor);
// One JSON line (no newline) / parsed back; a malformed line is kInvalidArgument saying why.
std::string AuditAnchorJson(const AuditAnchor& anchor);
Result<AuditAnchor> ParseAuditAnchor(std::string_view line);

// Verifies the whole chain first (an anchor never vouches for a broken chain), then signs the
// last record. kCorrupt when the chain does not verify, kNotFound when the log is empty.
Result<AuditAnchor> MakeAuditAnchor(Store& store, const std::string& signing_seed_hex,
                                    std::int64_t now_micros);

struct AnchorCheck {
  int anchors = 0;                    // anchor lines checked
  std::int64_t records = 0;           // records in the chain now
  std::vector<std::string> problems;  // empty: every anchor holds and the chain verifies
};

// Checks every anchor in `text` (JSON lines; blank and '#' lines skipped): signed by
// `public_key_hex`, and the log still holds each anchored record with the anchored hash; and the
// chain verifies. A file without a single anchor is a problem too. A key that is not 64 hex
// digits (either case) is kInvalidArgument.
Result<AnchorCheck> CheckAuditAnchors(Store& store, std::string_view text,
                                      const std::string& public_key_hex);

}  // namespace vigil
