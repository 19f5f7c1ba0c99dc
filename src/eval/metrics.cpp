// Measure distances, histograms and rates (see metrics.h).
#include "eval/metrics.h"

#include <algorithm>

namespace vigil::eval {

const char* MeasureName(Measure m) {
  switch (m) {
    case Measure::kPlain: return "pdq";
    case Measure::kDihedral: return "dihedral";
    case Measure::kTrim: return "trim";
    case Measure::kCrops: return "crops";
    case Measure::kAll: return "all";
  }
  return "?";
}

int MeasureDistance(Measure m, const QueryHashes& query, const ListedHashes& listed, int min_quality) {
  if (query.quality < min_quality) return kMiss;
  const bool dihedral = m == Measure::kDihedral || m == Measure::kAll;
  const bool trim = m == Measure::kTrim || m == Measure::kAll;
  const bool crops = m == Measure::kCrops || m == Measure::kAll;
  auto against_listed = [&](const PdqHash& q) {
    int best = q.Distance(listed.plain);
    if (crops) {
      for (const PdqHash& c : listed.crops) best = std::min(best, q.Distance(c));
    }
    return best;
  };
  int best = against_listed(query.plain);
  if (dihedral) {
    for (std::size_t k = 1; k < query.dihedral.size(); ++k) best = std::min(best, against_listed(query.dihedral[k]));
  }
  if (trim) {
    for (const PdqHash& t : query.trimmed) best = std::min(best, against_listed(t));
  }
  return best;
}

double Histogram::RateAt(int threshold) const {
  if (total == 0) return 0;
  std::uint64_t within = 0;
  for (int d = 0; d <= std::min(threshold, 256); ++d) within += counts[static_cast<std::size_t>(d)];
  return static_cast<double>(within) / static_cast<double>(total);
}

int ThresholdForRate(const Histogram& non_matching, double target) {
  int best = -1;
  for (int t = 0; t <= 256; ++t) {
    if (non_matching.RateAt(t) <= target) best = t;
    else break;
  }
  return best;
}

}  // namespace vigil::eval
