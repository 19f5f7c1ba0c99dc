// MIH segment build and search. For a radius r over m chunks, r = s*m + a (0 <= a < m): if two
// codes are within r, then one of a+1 chosen chunks differs by <= s bits, or one of the others by
// <= s-1 (Norouzi et al., generalised pigeonhole). Each chunk's probes are every value within its
// radius; candidates are verified with a full 256-bit popcount. A cost model picks a linear scan
// instead when probing would touch more memory than scanning.
#include "index/mih_segment.h"

#include "index/scan_kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>

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

// Calls f(value) for every value within `radius` bits of v over `width` bits, v itself first.
template <typename F>
void ForEachNeighbour(std::uint64_t v, int width, int radius, F&& f) {
  f(v);
  if (radius <= 0) return;
  // Iterative combinations of 1..radius bit positions.
  int pos[16];
  for (int k = 1; k <= radius && k <= width; ++k) {
    for (int i = 0; i < k; ++i) pos[i] = i;
    for (;;) {
      std::uint64_t mask = 0;
      for (int i = 0; i < k; ++i) mask |= std::uint64_t{1} << pos[i];
      f(v ^ mask);
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

}  // namespace

std::shared_ptr<const MihSegment> MihSegment::Build(std::span<const std::uint64_t> ids,
                                                    std::span<const Code> codes,
                                                    std::vector<std::uint32_t>* placed) {
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
  for (std::size_t i = 0; i < n; i += step) sample.push_back(codes[i]);
  BitPermutation perm = layout.count > 0 ? BitPermutation::Choose(sample, layout) : BitPermutation::Identity();
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
  return seg;
}

Code MihSegment::RawCode(std::uint32_t i) const { return inverse_->Apply(codes_[i]); }

std::size_t MihSegment::MemoryBytes() const {
  if (mapping_) return mapped_bytes_;
  std::size_t bytes = own_codes_.size() * sizeof(Code);
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
// pipeline: list every (chunk, value) probe, then walk each list while prefetching a fixed distance
// ahead, so dozens of misses are in flight at once instead of one. The verification pass, which
// dominates (~24k candidates per query at 10M PDQ-like codes, r=31), prefetches furthest: at 10M
// on a Zen 4 core, 16 ahead gave 3,500 q/s, 48 gave 5,600 and 96 gave 7,200 (32 B codes, so 96
// in flight is 3 KiB of L1; see VerifyCandidates).
void MihSegment::Probe(const Code& q, int radius, std::vector<SegmentHit>& out) const {
  constexpr std::size_t kAhead = 16;
  struct Probe {
    std::uint32_t chunk, value, ring;  // ring: bits flipped from the query's chunk value
  };
  struct Range {
    std::uint32_t chunk, begin, end, ring;
  };
  thread_local std::vector<Probe> probes;
  thread_local std::vector<Range> ranges;
  thread_local std::vector<std::uint32_t> candidates;
  probes.clear();
  ranges.clear();
  candidates.clear();
  // Which chunks get the smaller radius is chosen per query (any choice is exact: the radii only
  // need (r_c + 1) to sum to radius + 1). Every chunk is probed to the larger radius s, then the
  // chunks whose outer ring holds the most candidates give it up, as many as the sum allows. At
  // 10M PDQ-like codes, r=31 (11 chunks, 2 of them at the smaller radius): 11,000 -> 9,000
  // candidates a query for 20% more bucket lookups, +7% queries/s. Where more chunks sit at the
  // smaller radius (1M: 8 of 13) probing all of them further costs more than it saves, and at
  // r=63 (s = 5) the outer rings cost what they save: only when the extra lookups are few.
  const int s = ChunkRadius(layout_.count - 1, layout_.count, radius);
  int slack = 0;
  double base_probes = 0, extra_probes = 0;
  for (int c = 0; c < layout_.count; ++c) {
    const int t = ChunkRadius(c, layout_.count, radius), w = layout_.width[static_cast<std::size_t>(c)];
    slack += s - t;
    for (int k = 0; k <= s; ++k) (k <= t ? base_probes : extra_probes) += Binomial(w, k);
  }
  const bool adaptive = s >= 0 && s <= 2 && slack > 0 && extra_probes <= 0.25 * base_probes;
  std::array<int, 32> level{};
  for (int c = 0; c < layout_.count; ++c) {
    const int t = adaptive ? s : ChunkRadius(c, layout_.count, radius);
    level[static_cast<std::size_t>(c)] = t;
    if (t < 0) continue;
    const auto cs = static_cast<std::size_t>(c);
    const int w = layout_.width[cs];
    const std::uint64_t own = ExtractChunk(q, layout_.start[cs], w);
    ForEachNeighbour(own, w, t, [&](std::uint64_t v) {
      probes.push_back({static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(v),
                        static_cast<std::uint32_t>(std::popcount(v ^ own))});
    });
  }
  std::array<std::array<std::uint32_t, 3>, 32> ring_counts{};
  for (std::size_t i = 0; i < probes.size(); ++i) {
    if (i + kAhead < probes.size()) buckets_[probes[i + kAhead].chunk].Prefetch(probes[i + kAhead].value);
    const Probe& p = probes[i];
    const BucketOffsets& b = buckets_[p.chunk];
    const std::uint32_t begin = b.Start(p.value), end = b.Start(p.value + 1);
    if (begin == end) continue;
    ranges.push_back({p.chunk, begin, end, p.ring});
    if (adaptive) ring_counts[p.chunk][p.ring] += end - begin;
  }
  if (adaptive) {
    for (int u = 0; u < slack; ++u) {
      std::size_t best = 0;
      std::uint32_t most = 0;
      bool any = false;
      for (std::size_t c = 0; c < static_cast<std::size_t>(layout_.count); ++c) {
        if (level[c] < 0) continue;
        const std::uint32_t n = ring_counts[c][static_cast<std::size_t>(level[c])];
        if (!any || n > most) best = c, most = n, any = true;
      }
      --level[best];
    }
    std::erase_if(ranges, [&](const Range& r) { return static_cast<int>(r.ring) > level[r.chunk]; });
  }
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (i + kAhead < ranges.size() && ranges[i + kAhead].chunk != 0) {
      __builtin_prefetch(postings_[ranges[i + kAhead].chunk].AddressOf(ranges[i + kAhead].begin));
    }
    const Range& r = ranges[i];
    if (r.chunk == 0) {
      for (std::uint32_t p = r.begin; p < r.end; ++p) candidates.push_back(p);
    } else {
      postings_[r.chunk].AppendPositions(r.begin, r.end, candidates);
    }
  }
  const std::size_t first = out.size();
  VerifyCandidates(codes_.data(), candidates.data(), candidates.size(), q, radius, out);
  // A code can be found through several chunks; sorting the (few) matches is far cheaper than
  // de-duplicating every candidate.
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
    Probe(q, radius, out);
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
