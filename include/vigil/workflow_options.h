// The workflow's clock settings: review SLAs by priority, the appeal SLA, how long a claim on a case
// holds, and what users are told about appealing. Given to the store (StoreOptions::workflow),
// which stamps cases and appeals with them. Thread safety: a plain struct.
#pragma once

#include <cstdint>
#include <string>

namespace vigil {

// Review SLAs, claim leases and the appeal instructions of the workflow (cases.h).
struct WorkflowOptions {
  std::int64_t review_sla_seconds[4] = {4 * 3600, 86400, 3 * 86400, 7 * 86400};  // by priority P0 (most urgent)..P3
  std::int64_t appeal_sla_seconds = 7 * 86400;
  std::int64_t lease_seconds = 15 * 60;
  std::string appeal_instructions = "Appeal within 6 months through the platform's appeal form.";
  // Flood quarantine: a list entry that matches uploads of this many distinct accounts within
  // the window is quarantined (a junk entry: a logo, a blank frame, a meme): its matches are held
  // for review instead of acted on automatically, until a person releases it. 0: off.
  int quarantine_distinct_users = 50;
  std::int64_t quarantine_window_seconds = 3600;
};

}  // namespace vigil
