// The evaluation's arithmetic: which hashes a measure compares, distance histograms, recall and
// false-positive rates at each threshold, and the threshold that keeps the false-positive rate
// under a target. Pure functions over hashes, so a tiny hand-made case can test them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/pdq.h"

namespace vigil::eval {

// The hashes one image contributes: as a query (the upload side) and as a listed item (the bank
// side). Measures pick from them.
struct QueryHashes {
  PdqHash plain;
  int quality = 0;
  std::array<PdqHash, kDihedralCount> dihedral;  // [0] == plain
  std::vector<PdqHash> trimmed;                  // PDQ inside each candidate border box
};
struct ListedHashes {
  PdqHash plain;
  std::vector<PdqHash> crops;  // central crops, when the bank holds the media to make them
};

// The measures, each switchable: plain PDQ (the reference signal), all eight dihedral variants of
// the query, the query's border-trimmed hash, the listed items' central-crop hashes, and all.
enum class Measure { kPlain, kDihedral, kTrim, kCrops, kAll };
inline constexpr Measure kMeasures[] = {Measure::kPlain, Measure::kDihedral, Measure::kTrim, Measure::kCrops,
                                        Measure::kAll};
const char* MeasureName(Measure m);

// The distance a measure sees between a query and a listed item (the minimum over the hash pairs it
// compares); kMiss when the query's quality is below the floor (such hashes are not matched).
inline constexpr int kMiss = 257;
int MeasureDistance(Measure m, const QueryHashes& query, const ListedHashes& listed, int min_quality);

// Counts of distances 0..256 and misses.
struct Histogram {
  std::array<std::uint64_t, 258> counts{};
  std::uint64_t total = 0;
  void Add(int distance) {
    ++counts[static_cast<std::size_t>(distance)];
    ++total;
  }
  void Merge(const Histogram& other) {
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
    total += other.total;
  }
  // Share of entries with distance <= threshold.
  double RateAt(int threshold) const;
};

// The largest threshold (0..256) whose false-positive rate is <= target; -1 when even 0 is above.
int ThresholdForRate(const Histogram& non_matching, double target);

}  // namespace vigil::eval
