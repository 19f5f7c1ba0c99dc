// MIH segment build and search. For a radius r over m chunks, r = s*m + a (0 <= a < m): if two
// codes are within r, then one of a+1 chosen chunks differs by <= s bits, or one of the others by
// <= s-1 (Norouzi et al., generalised pigeonhole). Each chunk's probes are every value within its
// radius; candidates are verified with a full 256-bit popcount. A cost model picks a linear scan
// instead when probing would touch more memory than scanning.
#include "index/mih_segment.h"

#include "index/scan_kernels.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>

namespace vigil::index {
namespace {

bool Balanced(const Code& c) {
  return std::popcount(c[0]) + std::popcount(c[1]) + std::popcount(c[2]) + std::popcount(c[3]) == 128;
}

double Binomial(int n, int k) {
  double r = 1;
  for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return r;
}

// Calls f(value, ring) for every value within `radius` bits of v over `width` bits, ring by ring
// (ring: how many bits differ), v itself first.
template <typename F>
void ForEachNeighbour(std::uint64_t v, int width, int radius, F&& f) {
  f(v, 0);
  if (radius <= 0) return;
  // Iterative combinations of 1..radius bit positions.
  int pos[16];
  for (int k = 1; k <= radius && k <= width; ++k) {
    for (int i = 0; i < k; ++i) pos[i] = i;
    for (;;) {
      std::uint64_t mask = 0;
      for (int i = 0; i < k; ++i) mask |= std::uint64_t{1} << pos[i];
      f(v ^ mask, k);
      int i = k - 1;
      while (i >= 0 && pos[i] == width - k + i) --i;
      if (i < 0) break;
      ++pos[i];
      for (int j = i + 1; j < k; ++j) pos[j] = pos[j - 1] + 1;
    }
  }
}

int ChunkRadius(int chunk, int count, int radius) {
  const int s = radius / count, a = radius % count;
  // The last a+1 chunks (the narrowest: fewest probes) get radius s, the others s-1.
  return chunk >= count - (a + 1) ? s : s - 1;
}

// Every value within `t` bits of 0 over `width` bits (so a chunk's probes are its own value XOR
// each), ring by ring: index 0 is ring 0, the next `width` ring 1, and so on. Built once per
// (width, t) for t <= 2 (the radii that large indexes probe at r = 31), thread-safely.
const std::vector<std::uint32_t>& NeighbourMasks(int width, int t) {
  static const auto tables = [] {
    std::array<std::array<std::vector<std::uint32_t>, 3>, 33> all;
    for (int w = 1; w <= 32; ++w) {
      for (int k = 0; k <= 2; ++k) {
        ForEachNeighbour(0, w, k, [&](std::uint64_t v, int) { all[static_cast<std::size_t>(w)][static_cast<std::size_t>(k)].push_back(static_cast<std::uint32_t>(v)); });
      }
    }
    return all;
  }();
  return tables[static_cast<std::size_t>(width)][static_cast<std::size_t>(t)];
}

}  // namespace

std::shared_ptr<const MihSegment> MihSegment::Build(std::span<const std::uint64_t> ids,
                                                    std::span<const Code> codes,
                                                    std::vector<std::uint32_t>* placed,
                                                    const BitPermutation* permutation) {
  const std::size_t n = codes.size();
  ChunkLayout layout;
  if (n >= kScanBelow) {
    // Chunks of about log2(n) bits, rounded up: at 10M, 11 chunks of 23-24 bits check ~2.7x fewer
    // candidates per query than 12 of 21-22 (1.7x the queries/s), and compact bucket offsets keep
    // their tables at ~1.1 B per value.
    const int w = std::clamp(static_cast<int>(std::ceil(std::log2(static_cast<double>(n)))), 11, 24);
    layout = ChunkLayout::Even((256 + w - 1) / w);
  }
  // Choose the permutation from an evenly strided sample.
  std::vector<Code> sample;
  const std::size_t step = std::max<std::size_t>(1, n / 16384);
  for (std::size_t i = 0; i < n && permutation == nullptr; i += step) sample.push_back(codes[i]);
  BitPermutation perm = permutation != nullptr ? *permutation
                        : layout.count > 0    ? BitPermutation::Choose(sample, layout)
                                              : BitPermutation::Identity();
  std::shared_ptr<MihSegment> seg(new MihSegment(std::move(perm), layout));
  seg->inverse_ = std::make_unique<BitPermutation>(seg->perm_.Inverse());
  seg->n_ = n;

  std::vector<Code> permuted(n);
  bool balanced = true;
  for (std::size_t i = 0; i < n; ++i) {
    permuted[i] = seg->perm_.Apply(codes[i]);
    balanced = balanced && Balanced(codes[i]);
  }
  seg->balanced_ = balanced;

  // Order by chunk 0 (counting sort), so chunk 0's postings are the code positions themselves.
  std::vector<std::uint32_t> order(n);
  std::vector<std::uint32_t> chunk0_offsets;
  if (layout.count > 0) {
    const int w0 = layout.width[0];
    std::vector<std::uint32_t>& off = chunk0_offsets;
    off.assign((std::size_t{1} << w0) + 1, 0);
    for (const Code& c : permuted) ++off[ExtractChunk(c, layout.start[0], w0) + 1];
    for (std::size_t v = 1; v < off.size(); ++v) off[v] += off[v - 1];
    std::vector<std::uint32_t> cursor(off.begin(), off.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {
      order[cursor[ExtractChunk(permuted[i], layout.start[0], w0)]++] = static_cast<std::uint32_t>(i);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  }
  seg->own_codes_.resize(n);
  const int id_width = std::all_of(ids.begin(), ids.end(), [](std::uint64_t id) { return id <= 0xFFFF'FFFFu; }) ? 4 : 8;
  HugeVector<std::uint8_t> id_bytes(PackedBytes(n, id_width));
  if (placed) placed->assign(n, 0);
  for (std::size_t pos = 0; pos < n; ++pos) {
    seg->own_codes_[pos] = permuted[order[pos]];
    PackValue(id_bytes.data(), id_width, pos, ids[order[pos]]);
    if (placed) (*placed)[order[pos]] = static_cast<std::uint32_t>(pos);
  }
  seg->ids_ = {id_bytes.data(), n, id_width};
  seg->own_bytes_.push_back(std::move(id_bytes));
  permuted.clear();
  permuted.shrink_to_fit();
  // Every chunk: bucket offsets by chunk value; the other chunks, postings of positions.
  auto encode = [&](int c, const std::vector<std::uint32_t>& off) {
    HugeVector<std::uint32_t> starts, wide;
    HugeVector<std::uint8_t> deltas;
    EncodeBucketOffsets(off, starts, deltas, wide);
    seg->own_tables_.push_back(std::move(starts));
    seg->own_tables_.push_back(std::move(wide));
    seg->own_bytes_.push_back(std::move(deltas));
    // Vectors move their heap buffers: the spans stay valid as own_tables_ grows.
    const auto cs = static_cast<std::size_t>(c);
    seg->buckets_[cs] = {seg->own_tables_[seg->own_tables_.size() - 2], seg->own_bytes_.back(), seg->own_tables_.back()};
  };
  if (layout.count > 0) encode(0, chunk0_offsets);
  chunk0_offsets = {};
  const int posting_width = PostingWidth(n);
  for (int c = 1; c < layout.count; ++c) {
    const int w = layout.width[static_cast<std::size_t>(c)], start = layout.start[static_cast<std::size_t>(c)];
    std::vector<std::uint32_t> off((std::size_t{1} << w) + 1, 0);
    for (const Code& code : seg->own_codes_) ++off[ExtractChunk(code, start, w) + 1];
    for (std::size_t v = 1; v < off.size(); ++v) off[v] += off[v - 1];
    HugeVector<std::uint8_t> post(PackedBytes(n, posting_width));
    std::vector<std::uint32_t> cursor(off.begin(), off.end() - 1);
    for (std::size_t pos = 0; pos < n; ++pos) {
      PackValue(post.data(), posting_width, cursor[ExtractChunk(seg->own_codes_[pos], start, w)]++, pos);
    }
    encode(c, off);
    seg->postings_[static_cast<std::size_t>(c)] = {post.data(), n, posting_width};
    seg->own_bytes_.push_back(std::move(post));
  }
  seg->codes_ = seg->own_codes_;
  if (!balanced && layout.count > 0) seg->MarkUnbalanced();
  return seg;
}

void MihSegment::MarkUnbalanced() {
  unbalanced_.clear();
  for (std::size_t i = 0; i < n_ && unbalanced_.size() <= kMaxUnbalanced; ++i) {
    if (!Balanced(codes_[i])) unbalanced_.push_back(static_cast<std::uint32_t>(i));
  }
  if (unbalanced_.size() > kMaxUnbalanced) unbalanced_ = {};
}

Code MihSegment::RawCode(std::uint32_t i) const { return inverse_->Apply(codes_[i]); }

std::size_t MihSegment::MemoryBytes() const {
  if (mapping_) return mapped_bytes_ + unbalanced_.size() * 4;
  std::size_t bytes = own_codes_.size() * sizeof(Code) + unbalanced_.size() * 4;
  for (const auto& t : own_tables_) bytes += t.size() * 4;
  for (const auto& d : own_bytes_) bytes += d.size();
  return bytes;
}

double MihSegment::ProbeCost(int radius) const {
  // Nanoseconds, from measured latencies: ~25 per bucket lookup, ~15 per candidate verified.
  double probes = 0, candidates = 0;
  for (int c = 0; c < layout_.count; ++c) {
    const int t = ChunkRadius(c, layout_.count, radius);
    const int w = layout_.width[static_cast<std::size_t>(c)];
    double p = 0;
    for (int k = 0; k <= t; ++k) p += Binomial(w, k);
    probes += p;
    candidates += p * static_cast<double>(n_) / std::ldexp(1.0, w);
  }
  return 25 * probes + 15 * candidates;
}

void MihSegment::Scan(const Code& q, int radius, std::vector<SegmentHit>& out) const {
  ScanCodes(codes_.data(), n_, q, radius, out);
}

// Probing is a chain of dependent cache misses (offsets -> postings -> code), so it runs as a
// pipeline of passes over flat arrays: list every (chunk, value) probe, look up each one's bucket
// while prefetching well ahead, copy every bucket's positions while prefetching well ahead, then
// count, so dozens of misses are in flight at once instead of one, and no pass branches on the
// data in its inner loop (an empty bucket, a bucket's length: those branches are unpredictable and
// cost more than the memory).
//
// Which entries are worth fetching is decided by counting, not by fetching. Say chunk c is probed
// to t_c bits (t_c = -1: not probed) and S = sum of (t_c + 1). An entry found in chunk c at d_c
// bits is "credited" t_c + 1 - d_c; in a chunk where it is not found, d_c >= t_c + 1. So its
// distance is at least S - (its total credit), and it can be within r only if its credit is at
// least need = S - r. The pigeonhole choice of radii makes S = r + 1 (need 1: every entry found
// is a candidate, as in plain MIH). When every chunk is probed to the larger radius s instead (at
// 10M PDQ-like codes, r = 31: 11 chunks of 23-24 bits, S = 33, need 3), an entry found once at the
// outer ring (credit 1) cannot match, and most entries found are exactly that (at 10M, r=31:
// ~11,800 found, ~775 verified). The credits are summed in a 64 KiB table of saturating byte
// counters indexed by a hash of the position: entries that share a counter can only be fetched
// needlessly, never skipped, so the search stays exact. An entry becomes a candidate at any of its
// increments that leaves its counter at `need` or more: its last increment always does when its
// own credit reaches `need`, so no entry is missed, and no pass is needed to look for them.
void MihSegment::Probe(const Code& q, int radius, bool odd_only_for_unbalanced, std::vector<SegmentHit>& out) const {
  constexpr std::size_t kOffsetsAhead = 32, kPostingsAhead = 32, kCountBlock = 256;
  constexpr int kCounterBits = 16;
  struct Range {
    std::uint32_t begin, end;
  };
  struct Scratch {
    std::vector<std::uint32_t> values;          // probes: chunk values
    std::vector<std::uint8_t> chunks, credits;  // probes: chunk, credit
    std::vector<Range> ranges;                  // non-empty buckets
    std::vector<std::uint8_t> range_chunks, range_credits;
    std::vector<std::uint32_t> found;           // positions, with their credits
    std::vector<std::uint8_t> found_credits;
    std::vector<std::uint32_t> candidates;
    std::vector<std::uint8_t> counters = std::vector<std::uint8_t>(std::size_t{1} << kCounterBits, 0);
  };
  thread_local Scratch sc;
  // Every chunk to the larger radius s when that costs few extra lookups (at most a quarter more,
  // s <= 2: at 10M, r=31); otherwise the pigeonhole radii (at 1M, 8 of 13 chunks sit at the smaller
  // radius, and at r=63 s = 5: probing them further costs more than counting saves).
  const int s = ChunkRadius(layout_.count - 1, layout_.count, radius);
  double base_probes = 0, extra_probes = 0;
  for (int c = 0; c < layout_.count; ++c) {
    const int t = ChunkRadius(c, layout_.count, radius), w = layout_.width[static_cast<std::size_t>(c)];
    for (int k = 0; k <= s; ++k) (k <= t ? base_probes : extra_probes) += Binomial(w, k);
  }
  const bool widen = s >= 0 && s <= 2 && extra_probes > 0 && extra_probes <= 0.25 * base_probes;

  // 1. The probes.
  int credit_sum = 0;  // S
  std::size_t np = 0;
  auto reserve = [](auto& v, std::size_t n) {
    if (v.size() < n) v.resize(n + n / 2);
  };
  for (int c = 0; c < layout_.count; ++c) {
    const int t = widen ? s : ChunkRadius(c, layout_.count, radius);
    if (t < 0) continue;
    credit_sum += t + 1;
    const auto cs = static_cast<std::size_t>(c);
    const int w = layout_.width[cs];
    const std::uint64_t own = ExtractChunk(q, layout_.start[cs], w);
    std::size_t n = 0;
    for (int k = 0; k <= t; ++k) n += static_cast<std::size_t>(Binomial(w, k) + 0.5);
    reserve(sc.values, np + n);
    reserve(sc.chunks, np + n);
    reserve(sc.credits, np + n);
    if (t <= 2) {
      const std::vector<std::uint32_t>& masks = NeighbourMasks(w, t);
      const auto own32 = static_cast<std::uint32_t>(own);
      for (std::size_t j = 0; j < masks.size(); ++j) {
        sc.values[np + j] = own32 ^ masks[j];
        // Ring 0 is the first mask, ring 1 the next w.
        sc.credits[np + j] = static_cast<std::uint8_t>(t + 1 - (j == 0 ? 0 : j <= static_cast<std::size_t>(w) ? 1 : 2));
      }
    } else {
      std::size_t j = np;
      ForEachNeighbour(own, w, t, [&](std::uint64_t v, int ring) {
        sc.values[j] = static_cast<std::uint32_t>(v);
        sc.credits[j++] = static_cast<std::uint8_t>(t + 1 - ring);
      });
    }
    std::fill(sc.chunks.begin() + static_cast<std::ptrdiff_t>(np), sc.chunks.begin() + static_cast<std::ptrdiff_t>(np + n),
              static_cast<std::uint8_t>(c));
    np += n;
  }
  const int need = credit_sum - radius;  // >= 1: the radii always cover the pigeonhole bound

  // 2. Each probe's bucket; empty ones are dropped by not advancing (no branch).
  reserve(sc.ranges, np);
  reserve(sc.range_chunks, np);
  reserve(sc.range_credits, np);
  const std::uint32_t* values = sc.values.data();
  const std::uint8_t* chunks = sc.chunks.data();
  const std::uint8_t* credits = sc.credits.data();
  for (std::size_t j = 0; j < std::min(np, kOffsetsAhead); ++j) buckets_[chunks[j]].Prefetch(values[j]);
  std::size_t nr = 0, total = 0;
  for (std::size_t j = 0; j < np; ++j) {
    if (j + kOffsetsAhead < np) buckets_[chunks[j + kOffsetsAhead]].Prefetch(values[j + kOffsetsAhead]);
    const BucketOffsets& b = buckets_[chunks[j]];
    const std::uint32_t begin = b.Start(values[j]), end = b.Start(values[j] + 1);
    sc.ranges[nr] = {begin, end};
    sc.range_chunks[nr] = chunks[j];
    sc.range_credits[nr] = credits[j];
    total += end - begin;
    nr += begin != end;
  }

  // 3. Every position found, with its bucket's credit. A bucket of up to 4 postings (most of them)
  // is copied as 4 whatever its length, and the cursor advanced by the length.
  constexpr std::size_t kSlack = 4;  // a short bucket writes up to 4 values
  reserve(sc.found, total + kSlack);
  reserve(sc.found_credits, total + kSlack);
  std::uint32_t* found = sc.found.data();
  std::uint8_t* found_credits = sc.found_credits.data();
  const Range* ranges = sc.ranges.data();
  const std::uint8_t* range_chunks = sc.range_chunks.data();
  const std::uint8_t* range_credits = sc.range_credits.data();
  std::size_t k = 0;
  // Range i's postings are prefetched while range i - kPostingsAhead is copied. (Written out here:
  // GCC 12 deletes a lambda made only of prefetches as a call without effects, and with it the
  // prefetches.)
  for (std::size_t ahead = 0; ahead < nr + kPostingsAhead; ++ahead) {
    if (ahead < nr && range_chunks[ahead] != 0) {
      const PackedColumn& col = postings_[range_chunks[ahead]];
      __builtin_prefetch(col.AddressOf(ranges[ahead].begin));
      // The range's last byte: usually on the first's line (a second prefetch of a line already
      // on its way is nearly free, a needless line is not).
      __builtin_prefetch(static_cast<const std::uint8_t*>(col.AddressOf(ranges[ahead].end)) - 1);
    }
    if (ahead < kPostingsAhead) continue;
    const std::size_t i = ahead - kPostingsAhead;
    const std::uint32_t begin = ranges[i].begin, len = ranges[i].end - begin;
    const std::uint8_t chunk = range_chunks[i], credit = range_credits[i];
    if (chunk == 0) {
      for (std::uint32_t e = 0; e < len; ++e) found[k + e] = begin + e;  // chunk 0: the positions themselves
    } else if (!postings_[chunk].CopyFour(begin, len, found + k)) {
      postings_[chunk].CopyPositions(begin, begin + len, found + k);
    }
    if (len <= kSlack) {
      std::memset(found_credits + k, credit, kSlack);  // one 4-byte store
    } else {
      for (std::uint32_t e = 0; e < len; ++e) found_credits[k + e] = credit;
    }
    k += len;
  }
  const std::size_t n_found = k;

  // 4. Count; an entry's position is kept when its counter reaches the credit it needs, and its
  // code prefetched for the verification.
  // A code with 128 ones is at an even distance from this query: one more credit is needed.
  const int need_balanced = odd_only_for_unbalanced ? need + 1 : need;
  reserve(sc.candidates, n_found + unbalanced_.size());
  std::uint32_t* candidates = sc.candidates.data();
  std::size_t nc = 0;
  if (need_balanced <= 1) {
    std::memcpy(candidates, found, n_found * sizeof(std::uint32_t));
    nc = n_found;
  } else {
    constexpr int kShift = 32 - kCounterBits;
    auto slot = [](std::uint32_t position) { return (position * 2654435761u) >> kShift; };
    std::uint8_t* counter = sc.counters.data();
    const auto threshold = static_cast<unsigned>(need_balanced);
    for (std::size_t j0 = 0; j0 < n_found; j0 += kCountBlock) {
      const std::size_t j1 = std::min(n_found, j0 + kCountBlock), nc0 = nc;
      for (std::size_t j = j0; j < j1; ++j) {
        std::uint8_t& c = counter[slot(found[j])];
        const unsigned sum = std::min(255u, unsigned{c} + found_credits[j]);
        c = static_cast<std::uint8_t>(sum);
        candidates[nc] = found[j];
        nc += sum >= threshold;
      }
      for (std::size_t j = nc0; j < nc; ++j) __builtin_prefetch(&codes_[candidates[j]]);
    }
    // The few codes without 128 ones may be at the odd distance: each whose counter reaches `need`
    // is checked (its counter may have reached `need_balanced` only after its own last credit, so
    // the counting pass may not have kept it; one kept twice or not found at all only costs a
    // needless check).
    if (need_balanced > need) {
      for (const std::uint32_t u : unbalanced_) {
        candidates[nc] = u;
        nc += counter[slot(u)] >= need;
      }
    }
    // Clearing the whole table is cheaper than clearing each counter once a few thousand were used.
    if (n_found > (std::size_t{1} << kCounterBits) / 16) {
      std::memset(counter, 0, sc.counters.size());
    } else {
      for (std::size_t j = 0; j < n_found; ++j) counter[slot(found[j])] = 0;
    }
  }

  // 5. Verify. A code can be found through several chunks; sorting the (few) matches is far
  // cheaper than de-duplicating every candidate.
  const std::size_t first = out.size();  // `out` may hold other segments' hits
  VerifyCandidates(codes_.data(), candidates, nc, q, radius, out);
  const auto begin = out.begin() + static_cast<std::ptrdiff_t>(first);
  std::sort(begin, out.end(), [](const SegmentHit& a, const SegmentHit& b) { return a.index < b.index; });
  out.erase(std::unique(begin, out.end(), [](const SegmentHit& a, const SegmentHit& b) { return a.index == b.index; }),
            out.end());
}

int MihSegment::EffectiveRadius(const Code& raw_query, int radius) const {
  // Every stored code has 128 ones and so does the query: distances are even.
  if (balanced_ && Balanced(raw_query) && radius < 256) radius &= ~1;
  return radius;
}

bool MihSegment::PrefersScan(int radius, std::size_t queries) const {
  if (layout_.count == 0 || radius >= 256) return true;
  // Nanoseconds per query: a scan streams 32 bytes per entry (~3 ns alone, ~0.6 ns per query when
  // a block of queries shares the pass).
  const double per_entry = queries >= 16 ? 0.6 : 3.0;
  return ProbeCost(radius) >= per_entry * static_cast<double>(n_);
}

void MihSegment::Search(const Code& raw_query, int radius, std::vector<SegmentHit>& out) const {
  if (n_ == 0 || radius < 0) return;
  radius = EffectiveRadius(raw_query, radius);
  const Code q = perm_.Apply(raw_query);
  if (PrefersScan(radius, 1)) {
    Scan(q, radius, out);
  } else {
    const bool odd_only_for_unbalanced = !unbalanced_.empty() && (radius & 1) != 0 && radius < 256 && Balanced(raw_query);
    Probe(q, radius, odd_only_for_unbalanced, out);
  }
}

void MihSegment::SearchMany(std::span<const Code> queries, int radius,
                            std::vector<std::vector<SegmentHit>>& out) const {
  out.resize(queries.size());
  if (n_ == 0 || radius < 0) return;
  if (!PrefersScan(radius, queries.size())) {
    for (std::size_t i = 0; i < queries.size(); ++i) Search(queries[i], radius, out[i]);
    return;
  }
  constexpr std::size_t kBlock = 64;
  std::vector<Code> block;
  std::vector<int> radii;
  for (std::size_t start = 0; start < queries.size(); start += kBlock) {
    const std::size_t nq = std::min(kBlock, queries.size() - start);
    block.clear();
    radii.clear();
    for (std::size_t i = 0; i < nq; ++i) {
      block.push_back(perm_.Apply(queries[start + i]));
      radii.push_back(EffectiveRadius(queries[start + i], radius));
    }
    ScanCodesMany(codes_.data(), n_, block.data(), radii.data(), nq, out, start);
  }
}

}  // namespace vigil::index
