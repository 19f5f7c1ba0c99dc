// Scan and verification kernels (see scan_kernels.h). The AVX-512 versions hold two codes per
// 512-bit register: XOR with the query (broadcast to both halves), VPOPCNTQ gives eight 64-bit
// counts, two shuffle-and-add steps sum each code's four, and one compare yields a mask whose bits
// 0 and 4 say whether the two codes are within the radius. Matches are rare, so their distance is
// taken from the vector only when the mask is not empty.
#include "index/scan_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

namespace vigil::index {
namespace {

constexpr std::size_t kVerifyAhead = 96;  // see MihSegment::Probe: 16 -> 3,500 q/s, 96 -> 7,200 at 10M
constexpr std::size_t kTile = 512;        // codes per tile in ScanCodesMany (16 KiB: stays in L1)

// Inlined into each kernel, so std::popcount compiles to that kernel's instruction set.
inline int Distance(const Code& a, const Code& b) {
  return std::popcount(a[0] ^ b[0]) + std::popcount(a[1] ^ b[1]) + std::popcount(a[2] ^ b[2]) +
         std::popcount(a[3] ^ b[3]);
}

// The portable and POPCNT versions are the same source compiled for two targets.
#define VIGIL_SCALAR_KERNELS(SUFFIX, TARGET)                                                                   \
  TARGET void ScanCodes##SUFFIX(const Code* codes, std::size_t n, const Code& q, int radius,                    \
                                std::vector<SegmentHit>& out) {                                                 \
    for (std::size_t i = 0; i < n; ++i) {                                                                       \
      const int d = Distance(q, codes[i]);              \
      if (d <= radius) out.push_back({static_cast<std::uint32_t>(i), d});                                       \
    }                                                                                                           \
  }                                                                                                             \
  TARGET void ScanCodesMany##SUFFIX(const Code* codes, std::size_t n, const Code* queries, const int* radii,    \
                                    std::size_t nq, std::vector<std::vector<SegmentHit>>& out,                  \
                                    std::size_t out_offset) {                                                   \
    for (std::size_t start = 0; start < n; start += kTile) {                                                    \
      const std::size_t end = std::min(n, start + kTile);                                                       \
      for (std::size_t qi = 0; qi < nq; ++qi) {                                                                 \
        const Code q = queries[qi];                                                                             \
        const int r = radii[qi];                                                                                \
        auto& hits = out[out_offset + qi];                                                                      \
        for (std::size_t i = start; i < end; ++i) {                                                             \
          const int d = Distance(q, codes[i]);          \
          if (d <= r) hits.push_back({static_cast<std::uint32_t>(i), d});                                       \
        }                                                                                                       \
      }                                                                                                         \
    }                                                                                                           \
  }                                                                                                             \
  TARGET void VerifyCandidates##SUFFIX(const Code* codes, const std::uint32_t* candidates, std::size_t n,       \
                                       const Code& q, int radius, std::vector<SegmentHit>& out) {               \
    for (std::size_t i = 0; i < n; ++i) {                                                                       \
      if (i + kVerifyAhead < n) __builtin_prefetch(&codes[candidates[i + kVerifyAhead]]);                       \
      const std::uint32_t pos = candidates[i];                                                                  \
      const int d = Distance(q, codes[pos]);            \
      if (d <= radius) out.push_back({pos, d});                                                                 \
    }                                                                                                           \
  }

VIGIL_SCALAR_KERNELS(Portable, )
VIGIL_SCALAR_KERNELS(Popcnt, __attribute__((target("popcnt"))))
#undef VIGIL_SCALAR_KERNELS

#define VIGIL_AVX512 __attribute__((target("avx512f,avx512vpopcntdq,popcnt")))

// Distances of the two codes in `pair` (512 bits) to the query broadcast in `qq`, each in all four
// 64-bit lanes of its half.
VIGIL_AVX512 inline __m512i PairDistances(__m512i pair, __m512i qq) {
  __m512i counts = _mm512_popcnt_epi64(_mm512_xor_si512(pair, qq));
  counts = _mm512_add_epi64(counts, _mm512_shuffle_epi32(counts, _MM_PERM_BADC));         // lane pairs
  counts = _mm512_add_epi64(counts, _mm512_shuffle_i64x2(counts, counts, _MM_SHUFFLE(2, 3, 0, 1)));  // halves
  return counts;
}

// Scans codes [begin, end) against one query; `i` indexes the hit.
VIGIL_AVX512 inline void ScanRangeAvx512(const Code* codes, std::size_t begin, std::size_t end, const Code& q,
                                         int radius, std::vector<SegmentHit>& out) {
  const __m512i qq = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.data())));
  const __m512i rr = _mm512_set1_epi64(radius);
  std::size_t i = begin;
  for (; i + 2 <= end; i += 2) {
    const __m512i d = PairDistances(_mm512_loadu_si512(codes + i), qq);
    const __mmask8 within = _mm512_cmple_epi64_mask(d, rr);
    if (within != 0) [[unlikely]] {
      alignas(64) std::int64_t lanes[8];
      _mm512_store_si512(lanes, d);
      if (within & 0x01) out.push_back({static_cast<std::uint32_t>(i), static_cast<int>(lanes[0])});
      if (within & 0x10) out.push_back({static_cast<std::uint32_t>(i + 1), static_cast<int>(lanes[4])});
    }
  }
  for (; i < end; ++i) {
    const int d = Distance(q, codes[i]);
    if (d <= radius) out.push_back({static_cast<std::uint32_t>(i), d});
  }
}

VIGIL_AVX512 void ScanCodesAvx512(const Code* codes, std::size_t n, const Code& q, int radius,
                                  std::vector<SegmentHit>& out) {
  ScanRangeAvx512(codes, 0, n, q, radius, out);
}

VIGIL_AVX512 void ScanCodesManyAvx512(const Code* codes, std::size_t n, const Code* queries, const int* radii,
                                      std::size_t nq, std::vector<std::vector<SegmentHit>>& out,
                                      std::size_t out_offset) {
  for (std::size_t start = 0; start < n; start += kTile) {
    const std::size_t end = std::min(n, start + kTile);
    for (std::size_t qi = 0; qi < nq; ++qi) ScanRangeAvx512(codes, start, end, queries[qi], radii[qi], out[out_offset + qi]);
  }
}

// Verification gathers random codes; the vector unit only shortens the count after each miss.
VIGIL_AVX512 void VerifyCandidatesAvx512(const Code* codes, const std::uint32_t* candidates, std::size_t n,
                                         const Code& q, int radius, std::vector<SegmentHit>& out) {
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kVerifyAhead < n) __builtin_prefetch(&codes[candidates[i + kVerifyAhead]]);
    const std::uint32_t pos = candidates[i];
    const int d = Distance(q, codes[pos]);
    if (d <= radius) out.push_back({pos, d});
  }
}
#undef VIGIL_AVX512

bool HasAvx512Popcount() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
         __builtin_cpu_supports("popcnt");
}

ScanKernelSet Choose() {
  const char* forced = std::getenv("VIGIL_SCAN_KERNEL");
  for (const ScanKernelSet& set : SupportedScanKernels()) {
    if (forced == nullptr || std::strcmp(forced, set.name) == 0) return set;
  }
  return SupportedScanKernels().back();
}

const ScanKernelSet& Active() {
  static const ScanKernelSet kernels = Choose();
  return kernels;
}

}  // namespace

void ScanCodes(const Code* codes, std::size_t n, const Code& query, int radius, std::vector<SegmentHit>& out) {
  Active().scan(codes, n, query, radius, out);
}

void ScanCodesMany(const Code* codes, std::size_t n, const Code* queries, const int* radii, std::size_t nq,
                   std::vector<std::vector<SegmentHit>>& out, std::size_t out_offset) {
  Active().scan_many(codes, n, queries, radii, nq, out, out_offset);
}

void VerifyCandidates(const Code* codes, const std::uint32_t* candidates, std::size_t n, const Code& query,
                      int radius, std::vector<SegmentHit>& out) {
  // The kernels prefetch kVerifyAhead candidates ahead of the one they check; the first ones are
  // prefetched here, or each of them would be a miss of its own in turn.
  for (std::size_t i = 0; i < std::min(n, kVerifyAhead); ++i) __builtin_prefetch(&codes[candidates[i]]);
  Active().verify(codes, candidates, n, query, radius, out);
}

const char* ScanKernelName() { return Active().name; }

std::vector<ScanKernelSet> SupportedScanKernels() {
  std::vector<ScanKernelSet> sets;
  if (HasAvx512Popcount()) {
    sets.push_back({"avx512-vpopcntdq", &ScanCodesAvx512, &ScanCodesManyAvx512, &VerifyCandidatesAvx512});
  }
  if (__builtin_cpu_supports("popcnt")) {
    sets.push_back({"popcnt", &ScanCodesPopcnt, &ScanCodesManyPopcnt, &VerifyCandidatesPopcnt});
  }
  sets.push_back({"portable", &ScanCodesPortable, &ScanCodesManyPortable, &VerifyCandidatesPortable});
  return sets;
}

}  // namespace vigil::index
