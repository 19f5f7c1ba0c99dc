// Writes an evaluation's results: OUT/results.json (recall per transform and measure at each
// threshold, keys "31", "63", ...; false-positive rates per pair; histograms; the operating point
// at the target false-positive rate) and OUT/report.md with SVG plots beside it.
#pragma once

#include <filesystem>
#include <string>

#include "eval/evaluation.h"
#include "vigil/status.h"

namespace vigil::eval {

// The thresholds reported as keys.
const std::vector<int>& ReportThresholds();

// `command` is the command line, printed in the report so it can be reproduced.
Status WriteReport(const EvalResults& results, const std::filesystem::path& out_dir, const std::string& command);

}  // namespace vigil::eval
