// Linear scan (see linear_scan.h), on the index's own dispatched scan kernel.
#include "index/linear_scan.h"

#include <algorithm>

#include "index/mih_segment.h"

namespace vigil::index {

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
    const std::vector<int> radii(nq, radius);
    std::vector<std::vector<SegmentHit>> hits(nq);
    ScanCodesMany(codes_.data(), codes_.size(), block.data(), radii.data(), nq, hits, 0);
    for (std::size_t q = 0; q < nq; ++q) {
      auto& res = out[start + q];
      for (const SegmentHit& h : hits[q]) res.push_back({ids_[h.index], h.distance});
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
