// Test fixtures for the workflow: uploads recorded the way the service records them (a bank of
// benign stand-ins that lists them, a match, a policy outcome, the media kept), and categories from
// the built-in taxonomy.
#pragma once

#include <filesystem>
#include <string>

#include "vigil/cases.h"
#include "vigil/cybertip.h"
#include "vigil/store.h"
#include "vigil/taxonomy.h"

namespace vigil::testing {

// The reporting company the tests file CyberTipline reports as (benign, made up).
ReporterProfile TestReporter();

// A built-in category ("csam", "ncii", ...).
Category BuiltInCategory(const std::string& id);

// Makes sure bank `bank` (in `category`) lists `sha256`, and returns a match of it.
MatchRecord ListedMatch(Store& store, const std::string& bank, const std::string& category, const std::string& sha256);

// Records `content` (its matches set) with `outcome` as the policy's answer, keeping `bytes`
// under `media_dir` when the outcome opens or grows a case.
Result<RecordedUpload> RecordWithOutcome(Store& store, const ContentRecord& content, const PolicyOutcome& outcome,
                                         const std::filesystem::path& media_dir, const std::string& bytes);

}  // namespace vigil::testing
