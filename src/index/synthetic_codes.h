// Synthetic PDQ-like codes for benchmarks and tests, never real list data. Each code thresholds a
// 16x16 "DCT" at its median, like PDQ: the matrix mixes a few shared latent patterns (so bits are
// correlated and unrelated codes spread wider than uniform bits, as real PDQ hashes do) with
// independent noise. Clusters of near-duplicates sit at chosen distances from their centre.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "vigil/pdq.h"

namespace vigil::index {

class SyntheticCodes {
 public:
  explicit SyntheticCodes(std::uint64_t seed);
  // An unrelated PDQ-like code (128 ones).
  PdqHash Unrelated();
  // `code` with `distance` bits flipped (even: half ones->zeros, half zeros->ones).
  PdqHash NearDuplicate(const PdqHash& code, int distance);
  // n codes: unrelated ones plus clusters of near-duplicates at distances 6..30 (cluster_share of
  // all codes are cluster members).
  std::vector<PdqHash> Dataset(std::size_t n, double cluster_share = 0.3);
  // n queries: `planted` of them near a random dataset entry (distance 2..30), the rest unrelated.
  std::vector<PdqHash> Queries(const std::vector<PdqHash>& data, std::size_t n, double planted = 0.01);

 private:
  std::mt19937_64 rng_;
  std::vector<std::vector<float>> patterns_;
};

}  // namespace vigil::index
