// PdqIndex and CryptoIndex: exactness against brute force on random and clustered data at the
// radii operators use, through incremental adds, merges, removals, concurrent readers and writers,
// and snapshot round trips; corrupted snapshots are refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <atomic>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>

#include "test_images.h"
#include "index/bucket_offsets.h"
#include "index/mih_segment.h"
#include "index/scan_kernels.h"
#include "vigil/index.h"

namespace vigil {
namespace {

using Codes = std::vector<PdqHash>;

// A code with exactly 128 ones, as real PDQ hashes have (or uniform random bits).
PdqHash RandomHash(std::mt19937_64& rng, bool balanced) {
  PdqHash h;
  if (!balanced) {
    for (int k = 0; k < 256; ++k) {
      if (rng() & 1) h.SetBit(k);
    }
    return h;
  }
  std::array<int, 256> pos;
  std::iota(pos.begin(), pos.end(), 0);
  std::shuffle(pos.begin(), pos.end(), rng);
  for (int i = 0; i < 128; ++i) h.SetBit(pos[static_cast<std::size_t>(i)]);
  return h;
}

// Flips `d` bits; when balanced, half ones->zeros and half zeros->ones (d even) keep 128 ones.
PdqHash Perturb(const PdqHash& h, int d, std::mt19937_64& rng, bool balanced) {
  std::array<std::uint64_t, 4> lanes = h.Lanes();
  std::vector<int> ones, zeros;
  for (int k = 0; k < 256; ++k) (h.Bit(k) ? ones : zeros).push_back(k);
  std::shuffle(ones.begin(), ones.end(), rng);
  std::shuffle(zeros.begin(), zeros.end(), rng);
  std::vector<int> flips;
  if (balanced) {
    for (int i = 0; i < d / 2; ++i) {
      flips.push_back(ones[static_cast<std::size_t>(i)]);
      flips.push_back(zeros[static_cast<std::size_t>(i)]);
    }
  } else {
    std::vector<int> all(256);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng);
    flips.assign(all.begin(), all.begin() + d);
  }
  for (int k : flips) lanes[static_cast<std::size_t>(k / 64)] ^= std::uint64_t{1} << (k % 64);
  std::array<std::uint16_t, 16> words{};
  for (int w = 0; w < 16; ++w) words[static_cast<std::size_t>(w)] = static_cast<std::uint16_t>(lanes[static_cast<std::size_t>(w / 4)] >> (16 * (w % 4)));
  return PdqHash::FromWords(words);
}

// Uniform codes plus clusters of near-duplicates (distance 4..30 from a centre).
Codes MakeData(std::size_t n, bool clustered, bool balanced, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Codes codes;
  while (codes.size() < n) {
    const PdqHash centre = RandomHash(rng, balanced);
    codes.push_back(centre);
    if (clustered && rng() % 4 == 0) {
      const std::size_t members = 5 + rng() % 200;
      for (std::size_t m = 0; m < members && codes.size() < n; ++m) {
        codes.push_back(Perturb(centre, 4 + 2 * static_cast<int>(rng() % 14), rng, balanced));
      }
    }
  }
  return codes;
}

std::vector<IndexMatch> BruteForce(const Codes& codes, const std::vector<bool>& live, const PdqHash& q, int r) {
  std::vector<IndexMatch> out;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (!live.empty() && !live[i]) continue;
    const int d = codes[i].Distance(q);
    if (d <= r) out.push_back({i, d});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.distance != b.distance ? a.distance < b.distance : a.id < b.id; });
  return out;
}

// Queries: half unrelated, half near existing entries (so every radius sees matches).
Codes MakeQueries(const Codes& data, std::size_t n, bool balanced, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Codes q;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      q.push_back(RandomHash(rng, balanced));
    } else {
      q.push_back(Perturb(data[rng() % data.size()], 2 * static_cast<int>(rng() % 33), rng, balanced));
    }
  }
  return q;
}

std::vector<std::uint64_t> Iota(std::size_t n) {
  std::vector<std::uint64_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

// 16 and 34 probe every chunk one ring further than the pigeonhole needs, so most entries found
// are ruled out by their count of close chunks without being fetched (MihSegment::Probe).
constexpr int kRadii[] = {0, 1, 16, 31, 32, 34, 35, 47, 63, 100, 256};

class IndexExactness : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(IndexExactness, BulkBuildMatchesBruteForce) {
  const auto [clustered, balanced] = GetParam();
  const Codes data = MakeData(30000, clustered, balanced, 11);
  const auto index = PdqIndex::Build(Iota(data.size()), data);
  const Codes queries = MakeQueries(data, 60, balanced, 12);
  std::size_t total = 0;
  for (int r : kRadii) {
    for (const PdqHash& q : queries) {
      const auto want = BruteForce(data, {}, q, r);
      ASSERT_EQ(index->Search(q, r), want) << "radius " << r;
      total += want.size();
    }
  }
  EXPECT_GT(total, 1000u) << "the queries must exercise real matches";
}

INSTANTIATE_TEST_SUITE_P(Data, IndexExactness,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& param_info) {
                           return std::string(std::get<0>(param_info.param) ? "Clustered" : "Uniform") +
                                  (std::get<1>(param_info.param) ? "Balanced" : "AnyWeight");
                         });

TEST(PdqIndex, IncrementalAddsAndMergesStayExact) {
  for (bool background : {false, true}) {
    PdqIndex index({.delta_limit = 700, .background_merge = background});
    const Codes data = MakeData(12000, true, true, 21);
    for (std::size_t i = 0; i < data.size(); ++i) index.Add(i, data[i]);
    const Codes queries = MakeQueries(data, 40, true, 22);
    for (int r : {0, 16, 31, 63}) {
      for (const PdqHash& q : queries) ASSERT_EQ(index.Search(q, r), BruteForce(data, {}, q, r)) << r;
    }
    EXPECT_EQ(index.Stats().entries, data.size());
    if (!background) {
      EXPECT_GE(index.Stats().segments, 2u) << "inline merges built segments";
    }
    index.Compact();
    EXPECT_EQ(index.Stats().segments, 1u);
    EXPECT_EQ(index.Stats().delta_entries, 0u);
    for (const PdqHash& q : queries) ASSERT_EQ(index.Search(q, 31), BruteForce(data, {}, q, 31));
  }
}

TEST(PdqIndex, RemoveReAddAndNotFound) {
  const Codes data = MakeData(5000, true, true, 31);
  auto index = PdqIndex::Build(Iota(data.size()), data, {.delta_limit = 100, .background_merge = false});
  std::vector<bool> live(data.size(), true);
  std::mt19937_64 rng(32);
  for (int i = 0; i < 300; ++i) {
    const std::size_t id = rng() % data.size();
    const auto st = index->Remove(id);
    EXPECT_EQ(st.has_value(), static_cast<bool>(live[id]));
    if (!st) {
      EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
    }
    live[id] = false;
  }
  const Codes queries = MakeQueries(data, 40, true, 33);
  for (const PdqHash& q : queries) ASSERT_EQ(index->Search(q, 31), BruteForce(data, live, q, 31));
  // A removed id added again is found again (tombstones are per entry, not per id).
  index->Add(7, data[7]);
  live[7] = true;
  EXPECT_EQ(index->Search(data[7], 0).front().id, 7u);
  index->Compact();
  for (const PdqHash& q : queries) ASSERT_EQ(index->Search(q, 47), BruteForce(data, live, q, 47));
  EXPECT_EQ(index->Stats().tombstones, 0u) << "compaction drops removed entries";
}

// Removal by id and hash (what the matcher does: an exact search instead of a scan of the ids)
// removes exactly that entry, wherever it is: a segment built from shuffled ids, the delta, a
// merged segment, an opened snapshot. A wrong hash removes nothing.
TEST(PdqIndex, RemoveByIdAndHashTakesExactlyThatEntry) {
  const Codes data = MakeData(6000, true, true, 35);
  std::vector<std::uint64_t> ids(data.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 10 + i / 2;  // each id on two entries
  std::mt19937_64 rng(36);
  std::shuffle(ids.begin(), ids.end(), rng);
  auto check = [&](PdqIndex& index, const char* what) {
    std::vector<bool> live(data.size(), true);
    for (const std::uint64_t victim : {10ull, 11ull, 1500ull, 3009ull}) {
      std::vector<std::size_t> at;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == victim) at.push_back(i);
      }
      ASSERT_EQ(at.size(), 2u);
      const PdqHash& other = data[(at[0] + 1) % data.size()];
      EXPECT_EQ(index.Remove(victim, other).error().code, ErrorCode::kNotFound) << what;
      ASSERT_TRUE(index.Remove(victim, data[at[0]]).has_value()) << what << " " << victim;
      live[at[0]] = false;
      EXPECT_EQ(index.Remove(victim, data[at[0]]).error().code, ErrorCode::kNotFound) << what;
      ASSERT_TRUE(index.RemoveText(victim, data[at[1]].ToHex()).has_value()) << what << " " << victim;
      live[at[1]] = false;
      EXPECT_EQ(index.Remove(victim).error().code, ErrorCode::kNotFound) << what;
    }
    EXPECT_EQ(index.Stats().entries, data.size() - 8) << what;
    for (const PdqHash& q : MakeQueries(data, 30, true, 37)) {
      auto want = BruteForce(data, live, q, 31);
      for (IndexMatch& m : want) m.id = ids[m.id];
      std::sort(want.begin(), want.end(), [](const IndexMatch& a, const IndexMatch& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
      });
      ASSERT_EQ(index.Search(q, 31), want) << what;
    }
  };
  auto shuffled = PdqIndex::Build(ids, data, {.background_merge = false});
  check(*shuffled, "segment built from shuffled ids");

  PdqIndex delta({.delta_limit = 1 << 20, .background_merge = false});
  for (std::size_t i = 0; i < data.size(); ++i) delta.Add(ids[i], data[i]);
  ASSERT_EQ(delta.Stats().segments, 0u);
  check(delta, "delta");

  PdqIndex merged({.delta_limit = 700, .background_merge = false});
  for (std::size_t i = 0; i < data.size(); ++i) merged.Add(ids[i], data[i]);
  merged.Compact();
  check(merged, "merged");

  testing::TempDir dir;
  ASSERT_TRUE(PdqIndex::Build(ids, data)->Save(dir.path() / "s.vidx").has_value());
  auto loaded = PdqIndex::Load(dir.path() / "s.vidx", {.background_merge = false});
  ASSERT_TRUE(loaded.has_value());
  check(**loaded, "opened snapshot");
}

TEST(PdqIndex, ConcurrentReadersAndWriters) {
  const Codes data = MakeData(20000, true, true, 41);
  const std::size_t initial = 10000;
  auto index = PdqIndex::Build(Iota(initial), std::span(data).first(initial), {.delta_limit = 512, .background_merge = true});
  std::atomic<bool> done{false};
  std::atomic<std::size_t> searches{0};
  std::atomic<bool> bad{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      while (!done) {
        const PdqHash& q = data[rng() % initial];
        for (const IndexMatch& m : index->Search(q, 31)) {
          if (m.id >= data.size() || data[m.id].Distance(q) != m.distance || m.distance > 31) bad = true;
        }
        ++searches;
      }
    });
  }
  std::vector<bool> live(data.size(), false);
  for (std::size_t i = 0; i < initial; ++i) live[i] = true;
  std::mt19937_64 rng(42);
  for (std::size_t i = initial; i < data.size(); ++i) {
    index->Add(i, data[i]);
    live[i] = true;
    if (i % 7 == 0) {
      const std::size_t victim = rng() % i;
      if (live[victim]) {
        ASSERT_TRUE(index->Remove(victim).has_value());
        live[victim] = false;
      }
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_FALSE(bad) << "a concurrent search returned a wrong distance";
  EXPECT_GT(searches.load(), 0u);
  const Codes queries = MakeQueries(data, 40, true, 43);
  for (const PdqHash& q : queries) ASSERT_EQ(index->Search(q, 31), BruteForce(data, live, q, 31));
}

// Entries whose distance is exactly the radius are where counting close chunks could go wrong:
// many are found through one chunk only, at its outer ring. Each query gets hundreds of entries at
// the radius and just beyond it, at every radius whose probing counts (at 30,000 entries: 16, 34).
TEST(PdqIndex, EntriesAtExactlyTheRadiusAreFoundWhereCloseChunksAreCounted) {
  std::mt19937_64 rng(81);
  Codes data = MakeData(20000, false, true, 82);
  const Codes queries = MakeQueries(data, 12, true, 83);
  for (const PdqHash& q : queries) {
    for (int d : {14, 16, 18, 32, 34, 36}) {
      for (int k = 0; k < 60; ++k) data.push_back(Perturb(q, d, rng, true));
    }
  }
  const auto index = PdqIndex::Build(Iota(data.size()), data);
  for (int r : {16, 17, 34, 35}) {
    for (const PdqHash& q : queries) {
      const auto want = BruteForce(data, {}, q, r);
      ASSERT_GE(want.size(), 120u);
      ASSERT_EQ(index->Search(q, r), want) << "radius " << r;
    }
  }
}

// Real and synthetic PDQ lists hold a few hashes without 128 ones (a flat picture, ties at the
// median). They may be at an odd distance from a query; the rest of the list still is not, and
// keeps the even-radius search. Both kinds are found, built and from a snapshot.
TEST(PdqIndex, AFewHashesWithoutHalfTheirBitsSetAreFoundAtOddDistancesBuiltAndFromASnapshot) {
  std::mt19937_64 rng(91);
  Codes data = MakeData(20000, true, true, 92);
  const Codes queries = MakeQueries(data, 12, true, 93);
  for (const PdqHash& q : queries) {
    for (int d : {30, 31, 33, 34, 35}) {
      for (int k = 0; k < 3; ++k) data.push_back(Perturb(q, d, rng, false));  // odd or even, any weight
    }
    for (int k = 0; k < 20; ++k) data.push_back(Perturb(q, 30 + 2 * (k % 3), rng, true));
  }
  std::size_t unbalanced = 0;
  for (const PdqHash& h : data) {
    const auto lanes = h.Lanes();
    unbalanced += std::popcount(lanes[0]) + std::popcount(lanes[1]) + std::popcount(lanes[2]) + std::popcount(lanes[3]) != 128;
  }
  ASSERT_GT(unbalanced, 100u);
  testing::TempDir dir;
  const auto built = PdqIndex::Build(Iota(data.size()), data);
  ASSERT_TRUE(built->Save(dir.path() / "mixed.vidx").has_value());
  const auto loaded = PdqIndex::Load(dir.path() / "mixed.vidx");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  std::size_t odd = 0;
  for (int r : {31, 33, 35}) {
    for (const PdqHash& q : queries) {
      const auto want = BruteForce(data, {}, q, r);
      for (const auto& m : want) odd += m.distance % 2;
      ASSERT_EQ(built->Search(q, r), want) << "radius " << r;
      ASSERT_EQ((*loaded)->Search(q, r), want) << "radius " << r;
    }
  }
  EXPECT_GT(odd, 50u) << "the data must put hashes at odd distances";
}

// A code `d` bits from q whose differing bits are spread over the chunks of `layout` (raw bits,
// the identity permutation) as evenly as they go, each chunk getting d/m or d/m + 1 of them in
// random chunks: such codes are found with the least count of close chunks that still allows a
// match, which is exactly what the count must not rule out. `balanced`: as many ones turned to
// zeros as zeros to ones (d even), so the weight stays 128.
index::Code SpreadFlips(const index::Code& q, int d, const index::ChunkLayout& layout, std::mt19937_64& rng, bool balanced) {
  for (;;) {
    std::vector<int> per_chunk(static_cast<std::size_t>(layout.count), d / layout.count);
    std::vector<int> order(per_chunk.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (int i = 0; i < d % layout.count; ++i) ++per_chunk[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])];
    index::Code x = q;
    int ones_to_zeros = 0;
    for (int c = 0; c < layout.count; ++c) {
      std::vector<int> bits(static_cast<std::size_t>(layout.width[static_cast<std::size_t>(c)]));
      std::iota(bits.begin(), bits.end(), layout.start[static_cast<std::size_t>(c)]);
      std::shuffle(bits.begin(), bits.end(), rng);
      for (int k = 0; k < per_chunk[static_cast<std::size_t>(c)]; ++k) {
        const int bit = bits[static_cast<std::size_t>(k)];
        const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
        ones_to_zeros += (x[static_cast<std::size_t>(bit / 64)] & mask) != 0;
        x[static_cast<std::size_t>(bit / 64)] ^= mask;
      }
    }
    if (!balanced || 2 * ones_to_zeros == d) return x;
  }
}

// A segment's hits for `q` within `r` (position, distance) and brute force's over the codes it was
// built from (`placed`: each code's position), both sorted.
std::pair<std::vector<std::pair<std::uint32_t, int>>, std::vector<std::pair<std::uint32_t, int>>> SegmentAgainstBruteForce(
    const index::MihSegment& segment, const std::vector<index::Code>& codes, const std::vector<std::uint32_t>& placed,
    const index::Code& q, int r) {
  std::vector<std::pair<std::uint32_t, int>> got, want;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const int d = std::popcount(codes[i][0] ^ q[0]) + std::popcount(codes[i][1] ^ q[1]) +
                  std::popcount(codes[i][2] ^ q[2]) + std::popcount(codes[i][3] ^ q[3]);
    if (d <= r) want.emplace_back(placed[i], d);
  }
  std::vector<index::SegmentHit> hits;
  segment.Search(q, r, hits);
  for (const auto& h : hits) got.emplace_back(h.index, h.distance);
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  return {got, want};
}

// The search by counts of close chunks (MihSegment::Probe), on codes placed at the edge of what
// the count allows: at exactly the radius (odd radii: codes without 128 ones, the rest of the
// list balanced) and one bit inside it, for radii where every chunk is probed further than the
// pigeonhole needs and where it is not. Checked against brute force, position by position.
TEST(MihSegment, CodesWithTheLeastCountOfCloseChunksThatAllowsAMatchAreFound) {
  std::mt19937_64 rng(101);
  const std::size_t n_random = 40000;
  std::vector<index::Code> codes;
  for (std::size_t i = 0; i < n_random; ++i) codes.push_back(RandomHash(rng, true).Lanes());
  std::vector<index::Code> queries;
  for (int i = 0; i < 6; ++i) queries.push_back(RandomHash(rng, true).Lanes());
  // The layout Build will choose for this many codes (it depends on the count only).
  const std::size_t n_total = n_random + queries.size() * 4 * 2 * 60;
  const int w = static_cast<int>(std::ceil(std::log2(static_cast<double>(n_total))));
  const index::ChunkLayout layout = index::ChunkLayout::Even((256 + w - 1) / w);
  for (const auto& q : queries) {
    for (int r : {16, 31, 33, 34}) {
      for (int k = 0; k < 60; ++k) {
        codes.push_back(SpreadFlips(q, r, layout, rng, r % 2 == 0));
        codes.push_back(SpreadFlips(q, r - 1, layout, rng, (r - 1) % 2 == 0));
      }
    }
  }
  ASSERT_EQ(codes.size(), n_total);
  std::vector<std::uint32_t> placed;
  const auto identity = index::BitPermutation::Identity();
  const auto segment = index::MihSegment::Build(std::vector<std::uint64_t>(codes.size(), 0), codes, &placed, &identity);
  ASSERT_EQ(segment->layout().count, layout.count);
  for (int r : {16, 17, 30, 31, 32, 33, 34, 35}) {
    for (const auto& q : queries) {
      const auto [got, want] = SegmentAgainstBruteForce(*segment, codes, placed, q, r);
      ASSERT_GE(want.size(), 60u) << "radius " << r;
      ASSERT_EQ(got, want) << "radius " << r;
    }
  }
}

// The credits are summed in a table of counters shared by hashes of positions. Here every code is
// near the query (found through most chunks, ~73,000 positions for 64K counters), so matches share
// their counters with codes that reach the credit first; each must still be found, the codes
// without 128 ones at odd radii too.
TEST(MihSegment, MatchesSharingTheirCounterWithOtherCodesAreFound) {
  std::mt19937_64 rng(202);
  const PdqHash query = RandomHash(rng, true);
  std::vector<index::Code> codes;
  std::uniform_int_distribution<int> half_distance(10, 22);  // distances 20..44, all even
  for (int i = 0; i < 70000; ++i) codes.push_back(Perturb(query, 2 * half_distance(rng), rng, true).Lanes());
  // And codes without 128 ones at odd distances, found through the check of the segment's few
  // unbalanced codes at odd radii (at most MihSegment::kMaxUnbalanced of them).
  std::uniform_int_distribution<int> odd_distance(12, 15);  // 25..31
  for (int i = 0; i < 3000; ++i) codes.push_back(Perturb(query, 2 * odd_distance(rng) + 1, rng, false).Lanes());
  std::vector<std::uint32_t> placed;
  const auto segment = index::MihSegment::Build(std::vector<std::uint64_t>(codes.size(), 0), codes, &placed);
  const index::Code q = query.Lanes();
  for (int r : {24, 29, 30, 31}) {
    const auto [got, want] = SegmentAgainstBruteForce(*segment, codes, placed, q, r);
    ASSERT_GE(want.size(), 1000u) << "radius " << r;
    ASSERT_EQ(got.size(), want.size()) << "radius " << r;
    ASSERT_EQ(got, want) << "radius " << r;
  }
}

TEST(PdqIndex, NearestIsExact) {
  const Codes data = MakeData(8000, true, true, 51);
  const auto index = PdqIndex::Build(Iota(data.size()), data);
  for (const PdqHash& q : MakeQueries(data, 20, true, 52)) {
    auto want = BruteForce(data, {}, q, 256);
    want.resize(10);
    EXPECT_EQ(index->Nearest(q, 10), want);
  }
}

TEST(PdqIndex, BatchEqualsSingle) {
  const Codes data = MakeData(6000, true, true, 61);
  const auto index = PdqIndex::Build(Iota(data.size()), data);
  const Codes queries = MakeQueries(data, 50, true, 62);
  for (int r : {0, 31, 63, 100, 256}) {  // probing and block-scan paths
    const auto batch = index->SearchBatch(queries, r, 2);
    for (std::size_t i = 0; i < queries.size(); ++i) {
      EXPECT_EQ(batch[i], BruteForce(data, {}, queries[i], r)) << "radius " << r;
    }
  }
  // Batches also see the delta and respect removals.
  index->Add(99999, queries[0]);
  ASSERT_TRUE(index->Remove(3).has_value());
  std::vector<bool> live(data.size(), true);
  live[3] = false;
  const auto batch = index->SearchBatch(queries, 63, 2);
  const auto rest = BruteForce(data, live, queries[0], 63);
  std::vector<IndexMatch> want{IndexMatch{99999, 0}};
  want.insert(want.end(), rest.begin(), rest.end());
  EXPECT_EQ(batch[0], want);
}

TEST(PdqIndex, SnapshotRoundTripAndCorruption) {
  testing::TempDir dir;
  const auto path = dir.path() / "bank.vidx";
  const Codes data = MakeData(9000, true, true, 71);
  PdqIndex index({.background_merge = false});
  for (std::size_t i = 0; i < data.size(); ++i) index.Add(1000 + i, data[i]);
  ASSERT_TRUE(index.Save(path).has_value());
  auto loaded = PdqIndex::Load(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  for (const PdqHash& q : MakeQueries(data, 30, true, 72)) {
    ASSERT_EQ((*loaded)->Search(q, 31), index.Search(q, 31));
  }
  // A loaded snapshot keeps taking adds and removes.
  (*loaded)->Add(5, data[0]);
  EXPECT_EQ((*loaded)->Search(data[0], 0).size(), 2u);
  EXPECT_TRUE((*loaded)->Remove(1000).has_value());
  EXPECT_EQ((*loaded)->Search(data[0], 0).size(), 1u);

  auto bytes = testing::ReadFile(path);
  auto corrupt_copy = [&](auto mutate) {
    auto copy = bytes;
    mutate(copy);
    const auto p = dir.path() / "bad.vidx";
    testing::WriteFile(p, copy);
    auto r = PdqIndex::Load(p);
    EXPECT_FALSE(r.has_value());
    return r ? Error{ErrorCode::kInternal, "loaded"} : r.error();
  };
  Error e = corrupt_copy([](auto& b) { b[b.size() / 2] ^= 0x40; });
  EXPECT_EQ(e.code, ErrorCode::kCorrupt);
  EXPECT_NE(e.message.find("checksum"), std::string::npos) << e.message;
  e = corrupt_copy([](auto& b) { b.resize(b.size() - 100); });
  EXPECT_EQ(e.code, ErrorCode::kCorrupt);
  e = corrupt_copy([](auto& b) { b[0] = 'X'; });
  EXPECT_NE(e.message.find("magic"), std::string::npos) << e.message;
  e = corrupt_copy([](auto& b) { b[20] ^= 1; });  // entry count: header checksum
  EXPECT_NE(e.message.find("header"), std::string::npos) << e.message;
  e = corrupt_copy([](auto& b) { b.resize(100); });
  EXPECT_EQ(e.code, ErrorCode::kCorrupt);
  // A folder given for the file (a trial: "mmap failed: No such device").
  auto folder = PdqIndex::Load(dir.path());
  ASSERT_FALSE(folder.has_value());
  EXPECT_NE(folder.error().message.find("not a regular file"), std::string::npos) << folder.error().message;
  // A FIFO is refused at once, not waited on.
  const auto fifo = dir.path() / "fifo.vidx";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto piped = PdqIndex::Load(fifo);
  ASSERT_FALSE(piped.has_value());
  EXPECT_NE(piped.error().message.find("not a regular file"), std::string::npos) << piped.error().message;
  EXPECT_EQ(PdqIndex::Load(dir.path() / "missing.vidx").error().code, ErrorCode::kNotFound);
  // Without the checksum check (`index query --no-verify`) a damaged file is still refused by its
  // structure, not searched out of bounds (a trial crashed it with blocks of 0xff in the postings).
  {
    const auto p = dir.path() / "damaged.vidx";
    corrupt_copy([](auto& b) {
      for (std::size_t i = b.size() - 4096; i < b.size() - 64; ++i) b[i] = 0xff;
    });
    std::filesystem::copy_file(dir.path() / "bad.vidx", p);
    auto unverified = PdqIndex::Load(p, {}, false);
    ASSERT_FALSE(unverified.has_value());
    EXPECT_EQ(unverified.error().code, ErrorCode::kCorrupt) << unverified.error().message;
  }
  // Saving over a FIFO (or a device: `-o /dev/full` in a trial) is refused; the FIFO stays one.
  auto saved = index.Save(fifo);
  ASSERT_FALSE(saved.has_value());
  EXPECT_NE(saved.error().message.find("not a regular file"), std::string::npos) << saved.error().message;
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

// A list with thousands of copies of one hash puts thousands of entries in one bucket of every
// chunk: the compact offsets keep such a block whole (a "wide" block) and every search and
// snapshot still finds exactly what is there.
TEST(PdqIndex, ThousandsOfCopiesOfOneHashAreFoundExactlyBuiltAndFromASnapshot) {
  std::mt19937_64 rng(91);
  Codes data;
  const PdqHash popular = RandomHash(rng, true);
  for (int i = 0; i < 3000; ++i) data.push_back(popular);
  for (int i = 0; i < 7000; ++i) data.push_back(RandomHash(rng, true));
  const auto index = PdqIndex::Build(Iota(data.size()), data, {.background_merge = false});
  EXPECT_EQ(index->Search(popular, 0).size(), 3000u);
  const auto near = Perturb(popular, 10, rng, true);
  EXPECT_EQ(index->Search(near, 31).size(), 3000u);
  for (int i = 3000; i < 3100; ++i) EXPECT_EQ(index->Search(data[static_cast<std::size_t>(i)], 0).size(), 1u);
  testing::TempDir dir;
  ASSERT_TRUE(index->Save(dir.path() / "popular.vidx").has_value());
  auto loaded = PdqIndex::Load(dir.path() / "popular.vidx");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ((*loaded)->Search(near, 31).size(), 3000u);
}

// Ids are kept in 4 bytes when they all fit and postings in 3 up to 2^24 entries; ids that do not
// fit are kept whole, and both layouts search the same, built and from a snapshot.
TEST(PdqIndex, IdsTooLargeForFourBytesAreKeptWholeAndFoundTheSameBuiltAndFromASnapshot) {
  const Codes data = MakeData(20000, true, true, 93);
  std::vector<std::uint64_t> small_ids, large_ids;
  for (std::size_t i = 0; i < data.size(); ++i) {
    small_ids.push_back(i);
    large_ids.push_back((std::uint64_t{1} << 40) + i * 7);
  }
  const auto small = PdqIndex::Build(small_ids, data, {.background_merge = false});
  const auto large = PdqIndex::Build(large_ids, data, {.background_merge = false});
  // 4 bytes an entry for the ids, no more.
  EXPECT_EQ(large->Stats().memory_bytes - small->Stats().memory_bytes, data.size() * 4);
  testing::TempDir dir;
  ASSERT_TRUE(large->Save(dir.path() / "large.vidx").has_value());
  auto loaded = PdqIndex::Load(dir.path() / "large.vidx");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  for (const PdqHash& q : MakeQueries(data, 40, true, 94)) {
    const auto want = small->Search(q, 31);
    std::vector<IndexMatch> mapped;
    for (const auto& m : want) mapped.push_back({large_ids[m.id], m.distance});
    std::sort(mapped.begin(), mapped.end(), [](const IndexMatch& a, const IndexMatch& b) {
      return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
    });
    ASSERT_EQ(large->Search(q, 31), mapped);
    ASSERT_EQ((*loaded)->Search(q, 31), mapped);
  }
}

TEST(BucketOffsets, ABlockTooFullForOneByteDeltasIsKeptWholeAndAForgedOneIsRefused) {
  // 128 values; value 40 holds 1,000 entries, the others one each.
  std::vector<std::uint32_t> offsets(129, 0);
  for (std::size_t v = 0; v < 128; ++v) offsets[v + 1] = offsets[v] + (v == 40 ? 1000 : 1);
  index::HugeVector<std::uint32_t> starts, wide;
  index::HugeVector<std::uint8_t> deltas;
  index::EncodeBucketOffsets(offsets, starts, deltas, wide);
  index::BucketOffsets b{starts, deltas, wide};
  EXPECT_EQ(wide.size(), 32u) << "one wide block";
  for (std::uint32_t v = 0; v <= 128; ++v) ASSERT_EQ(b.Start(v), offsets[v]) << v;
  const std::uint32_t count = offsets.back();
  EXPECT_EQ(index::CheckBucketOffsets(b, count), "");
  wide[20] = wide[19] - 1;  // out of order
  EXPECT_NE(index::CheckBucketOffsets(b, count), "");
  wide[20] = count + 5;  // past the entries
  EXPECT_NE(index::CheckBucketOffsets(b, count), "");
  wide[20] = offsets[52];
  starts[1] = index::BucketOffsets::kWide | 7;  // a wide block that is not there
  EXPECT_NE(index::CheckBucketOffsets(b, count), "");
}

TEST(PdqIndex, TextInterfaceValidates) {
  PdqIndex index({.background_merge = false});
  SignalIndex& si = index;
  EXPECT_TRUE(si.AddText(1, "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22").has_value());
  EXPECT_EQ(si.AddText(2, "xyz").error().code, ErrorCode::kInvalidArgument);
  auto r = si.SearchText("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b23", 31);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().distance, 1);
  EXPECT_EQ(si.size(), 1u);
}

// Every scan kernel this CPU runs (AVX-512 VPOPCNTDQ, POPCNT, portable) gives the portable
// kernel's answers: odd lengths and tails, radii at and around each distance, many queries.
TEST(ScanKernels, EveryKernelAgreesWithThePortableOne) {
  const auto kernels = index::SupportedScanKernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_STREQ(kernels.back().name, "portable");
  std::mt19937_64 rng(7);
  std::vector<index::Code> codes(1037);
  for (auto& c : codes) c = RandomHash(rng, false).Lanes();
  std::vector<PdqHash> query_hashes;
  for (int i = 0; i < 9; ++i) query_hashes.push_back(RandomHash(rng, false));
  // Neighbours of the first query at distances 0..117, so radii cut through real matches.
  for (int i = 0; i < 40; ++i) {
    codes[static_cast<std::size_t>(i * 25 + 3)] = Perturb(query_hashes[0], i * 3, rng, false).Lanes();
  }
  std::vector<index::Code> queries;
  for (const auto& h : query_hashes) queries.push_back(h.Lanes());
  std::vector<std::uint32_t> candidates(500);
  for (auto& c : candidates) c = static_cast<std::uint32_t>(rng() % codes.size());
  const index::ScanKernelSet& reference = kernels.back();
  auto key = [](const std::vector<index::SegmentHit>& hits) {
    std::vector<std::pair<std::uint32_t, int>> out;
    for (const auto& h : hits) out.emplace_back(h.index, h.distance);
    return out;
  };
  for (const auto& kernel : kernels) {
    SCOPED_TRACE(kernel.name);
    for (int radius : {0, 1, 30, 31, 60, 96, 110, 128, 256}) {
      for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{513}, codes.size()}) {
        for (const auto& q : queries) {
          std::vector<index::SegmentHit> want, got;
          reference.scan(codes.data(), n, q, radius, want);
          kernel.scan(codes.data(), n, q, radius, got);
          ASSERT_EQ(key(got), key(want)) << "scan n=" << n << " r=" << radius;
        }
        std::vector<int> radii(queries.size(), radius);
        std::vector<std::vector<index::SegmentHit>> want_many(queries.size() + 2), got_many(queries.size() + 2);
        reference.scan_many(codes.data(), n, queries.data(), radii.data(), queries.size(), want_many, 2);
        kernel.scan_many(codes.data(), n, queries.data(), radii.data(), queries.size(), got_many, 2);
        for (std::size_t q = 0; q < want_many.size(); ++q) ASSERT_EQ(key(got_many[q]), key(want_many[q])) << "many";
      }
      std::vector<index::SegmentHit> want, got;
      reference.verify(codes.data(), candidates.data(), candidates.size(), queries[0], radius, want);
      kernel.verify(codes.data(), candidates.data(), candidates.size(), queries[0], radius, got);
      ASSERT_EQ(key(got), key(want)) << "verify r=" << radius;
    }
  }
  // And the matches are real: the planted neighbours of query 0 show up at their distances.
  std::vector<index::SegmentHit> hits;
  kernels.front().scan(codes.data(), codes.size(), queries[0], 60, hits);
  EXPECT_GE(hits.size(), 20u);
}

TEST(CryptoIndex, ExactLookupRemoveAndErrors) {
  CryptoIndex md5(DigestType::kMd5);
  SignalIndex& si = md5;
  ASSERT_TRUE(si.AddText(1, "900150983cd24fb0d6963f7d28e17f72").has_value());
  ASSERT_TRUE(si.AddText(2, "900150983CD24FB0D6963F7D28E17F72").has_value());  // same digest, upper case
  ASSERT_TRUE(si.AddText(3, "d41d8cd98f00b204e9800998ecf8427e").has_value());
  auto r = si.SearchText("900150983cd24fb0d6963f7d28e17f72", 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (std::vector<IndexMatch>{{1, 0}, {2, 0}}));
  EXPECT_TRUE(si.Remove(1).has_value());
  EXPECT_EQ(si.SearchText("900150983cd24fb0d6963f7d28e17f72", 0)->size(), 1u);
  EXPECT_EQ(si.Remove(1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(si.SearchText("900150983cd24fb0d6963f7d28e17f72", 3).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(si.AddText(4, "abc").error().code, ErrorCode::kInvalidArgument);
  CryptoIndex sha256(DigestType::kSha256);
  EXPECT_FALSE(sha256.AddText(1, "900150983cd24fb0d6963f7d28e17f72").has_value());
  EXPECT_TRUE(sha256.AddText(1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").has_value());
  EXPECT_EQ(si.size(), 2u);
}

}  // namespace
}  // namespace vigil
