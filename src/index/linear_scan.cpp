// Linear scan (see linear_scan.h). The distance loop is compiled for AVX2 + POPCNT where the CPU
// has them (run-time dispatch).
#include "util/cpu_dispatch.h"
#include "index/linear_scan.h"

#include <algorithm>
#include <bit>

namespace vigil::index {
namespace {

VIGIL_TARGET_CLONES("avx2", "popcnt", "default") void ScanBlock(
    const Code* codes, std::size_t n, const Code* queries, std::size_t nq, int radius,
    std::vector<std::vector<std::pair<std::uint32_t, int>>>& hits) {
  for (std::size_t i = 0; i < n; ++i) {
    const Code& c = codes[i];
    for (std::size_t q = 0; q < nq; ++q) {
      const Code& x = queries[q];
      const int d = std::popcount(c[0] ^ x[0]) + std::popcount(c[1] ^ x[1]) +
                    std::popcount(c[2] ^ x[2]) + std::popcount(c[3] ^ x[3]);
      if (d <= radius) hits[q].emplace_back(static_cast<std::uint32_t>(i), d);
    }
  }
}

}  // namespace

LinearScan::LinearScan(std::span<const std::uint64_t> ids, std::span<const PdqHash> hashes)
    : ids_(ids.begin(), ids.end()) {
  codes_.reserve(hashes.size());
  for (const PdqHash& h : hashes) codes_.push_back(ToCode(h));
}

std::vector<std::vector<IndexMatch>> LinearScan::SearchBatch(std::span<const PdqHash> queries, int radius) const {
  std::vector<std::vector<IndexMatch>> out(queries.size());
  for (std::size_t start = 0; start < queries.size(); start += 64) {
    const std::size_t nq = std::min<std::size_t>(64, queries.size() - start);
    std::vector<Code> block(nq);
    for (std::size_t q = 0; q < nq; ++q) block[q] = ToCode(queries[start + q]);
    std::vector<std::vector<std::pair<std::uint32_t, int>>> hits(nq);
    ScanBlock(codes_.data(), codes_.size(), block.data(), nq, radius, hits);
    for (std::size_t q = 0; q < nq; ++q) {
      auto& res = out[start + q];
      for (auto [i, d] : hits[q]) res.push_back({ids_[i], d});
      std::sort(res.begin(), res.end(), [](const IndexMatch& a, const IndexMatch& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
      });
    }
  }
  return out;
}

std::vector<IndexMatch> LinearScan::Search(const PdqHash& query, int radius) const {
  return std::move(SearchBatch(std::span(&query, 1), radius).front());
}

}  // namespace vigil::index
