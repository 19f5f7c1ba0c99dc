// What the vault keeps for a case: each item's media bytes as uploaded, the case's context (the
// case, its uploads with hashes, metadata and matches with their provenance, the decisions, the
// enforcement actions) as JSON, and the report as filed. Called when a case is confirmed and when
// its report is filed; items already preserved are not preserved twice.
#pragma once

#include <cstdint>
#include <string>

#include "vigil/evidence_vault.h"
#include "vigil/store.h"

namespace vigil {

struct PreservedCase {
  int added = 0;       // items preserved by this call
  int present = 0;     // already there
  std::vector<std::string> missing;  // media that was not kept, named by content id
};

// `report_id` 0 and `report_xml` empty for a confirmed case without a report yet.
Result<PreservedCase> PreserveCaseEvidence(Store& store, EvidenceVault& vault, const std::string& media_dir,
                                           std::int64_t case_id, std::int64_t report_id,
                                           const std::string& report_xml, const std::string& actor);

// The case's context document (what PreserveCaseEvidence seals as kind "context").
Result<std::string> CaseContextJson(Store& store, std::int64_t case_id, std::int64_t report_id);

}  // namespace vigil
