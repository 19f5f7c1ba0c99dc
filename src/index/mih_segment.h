// An immutable multi-index-hashing segment: permuted codes sorted by their first chunk, ids (4 bytes
// each when they all fit, else 8), and for every other chunk a CSR table (compact bucket offsets by
// chunk value, bucket_offsets.h; postings of code positions, 3 bytes each up to 2^24 entries, else
// 4: packed_column.h). Small
// segments are scanned instead. Memory is owned by vectors (after Build) or by a mapped snapshot
// (after Open); either way the segment never changes once made, so searches need no locks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "index/bit_permutation.h"
#include "index/bucket_offsets.h"
#include "index/huge_page_allocator.h"
#include "index/packed_column.h"
#include "index/scan_kernels.h"
#include "vigil/status.h"

namespace vigil::index {

class MihSegment {
 public:
  // Segments smaller than this are searched by a linear scan (no tables).
  static constexpr std::size_t kScanBelow = 2048;

  // Builds from raw (unpermuted) codes. placed[i] receives input i's position in the segment.
  // `permutation`: which bits form the chunks; by default chosen from the data (tests pass the
  // identity to place differing bits chunk by chunk).
  static std::shared_ptr<const MihSegment> Build(std::span<const std::uint64_t> ids,
                                                 std::span<const Code> codes,
                                                 std::vector<std::uint32_t>* placed = nullptr,
                                                 const BitPermutation* permutation = nullptr);

  // Appends every position with distance <= radius (radius already clamped to 0..256). No
  // duplicates. Raw query.
  void Search(const Code& query, int radius, std::vector<SegmentHit>& out) const;
  // Many queries at once: when the cost model prefers a scan for this radius, one pass over the
  // codes serves a whole block of queries; otherwise each query probes. out[i] gets query i's
  // hits.
  void SearchMany(std::span<const Code> queries, int radius, std::vector<std::vector<SegmentHit>>& out) const;

  std::size_t size() const { return n_; }
  std::uint64_t id(std::uint32_t i) const { return ids_[i]; }
  const PackedColumn& ids() const { return ids_; }
  Code RawCode(std::uint32_t i) const;  // the unpermuted code
  std::size_t MemoryBytes() const;
  const ChunkLayout& layout() const { return layout_; }

  // Snapshot file I/O (format in snapshot.cpp).
  Status Write(const std::filesystem::path& path) const;
  static Result<std::shared_ptr<const MihSegment>> Open(const std::filesystem::path& path,
                                                        bool verify_checksum);

 private:
  friend struct SegmentFile;
  MihSegment(BitPermutation perm, ChunkLayout layout) : perm_(std::move(perm)), layout_(layout) {}
  void Scan(const Code& permuted, int radius, std::vector<SegmentHit>& out) const;
  bool PrefersScan(int radius, std::size_t queries) const;
  int EffectiveRadius(const Code& raw_query, int radius) const;
  // `odd_only_for_unbalanced`: the query has 128 ones and the radius is odd, in a segment where
  // some codes do not: only those codes can be at the odd distance (see Probe).
  void Probe(const Code& permuted, int radius, bool odd_only_for_unbalanced, std::vector<SegmentHit>& out) const;
  void MarkUnbalanced();  // fills unbalanced_ from codes_ (segments not all balanced)
  double ProbeCost(int radius) const;

  BitPermutation perm_;
  std::unique_ptr<BitPermutation> inverse_;
  ChunkLayout layout_;  // count == 0: scan-only segment
  std::size_t n_ = 0;
  bool balanced_ = false;  // every code has exactly 128 ones: distances are even
  // Otherwise, when they are few (at most kMaxUnbalanced), the positions of the codes that do not
  // have 128 ones (a real or synthetic PDQ list has a handful: flat pictures, ties at the median),
  // so that the others keep their even distances (see Probe); empty when there are more.
  static constexpr std::size_t kMaxUnbalanced = 4096;
  std::vector<std::uint32_t> unbalanced_;
  std::span<const Code> codes_;  // permuted, sorted by chunk 0
  PackedColumn ids_;
  std::array<BucketOffsets, 32> buckets_{};                    // by chunk value
  std::array<PackedColumn, 32> postings_{};  // chunk 0: implicit (empty)
  // Owners of the memory the spans point into.
  HugeVector<Code> own_codes_;
  std::vector<HugeVector<std::uint32_t>> own_tables_;  // block starts, wide blocks
  std::vector<HugeVector<std::uint8_t>> own_bytes_;    // deltas, ids, postings
  std::shared_ptr<const void> mapping_;
  std::size_t mapped_bytes_ = 0;
};

}  // namespace vigil::index
