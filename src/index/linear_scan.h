// The brute-force peer: an exact linear scan over packed codes, single queries or blocks of
// queries per pass over memory (so the scan is compute-bound rather than bandwidth-bound). Used as
// the reference in tests and as a baseline in `vigil index bench`.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "index/bit_permutation.h"
#include "vigil/index.h"

namespace vigil::index {

class LinearScan {
 public:
  LinearScan(std::span<const std::uint64_t> ids, std::span<const PdqHash> hashes);
  std::vector<IndexMatch> Search(const PdqHash& query, int radius) const;
  // One pass over the codes per block of up to 64 queries.
  std::vector<std::vector<IndexMatch>> SearchBatch(std::span<const PdqHash> queries, int radius) const;
  std::size_t MemoryBytes() const { return codes_.size() * sizeof(Code) + ids_.size() * 8; }

 private:
  std::vector<Code> codes_;
  std::vector<std::uint64_t> ids_;
};

}  // namespace vigil::index
