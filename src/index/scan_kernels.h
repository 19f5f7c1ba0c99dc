// The Hamming kernels every index path shares: a linear scan for one query, a tiled scan for a
// block of queries, and the verification of MIH candidates. Each has a portable version, a POPCNT
// version and, where the CPU has AVX-512 VPOPCNTDQ, one that XORs and counts two 256-bit codes per
// instruction; the best the CPU supports is chosen once at run time (ScanKernelName says which).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "index/bit_permutation.h"

namespace vigil::index {

struct SegmentHit {
  std::uint32_t index;  // position in the scanned array
  int distance;
};

// Appends every i with distance(query, codes[i]) <= radius, in order.
void ScanCodes(const Code* codes, std::size_t n, const Code& query, int radius, std::vector<SegmentHit>& out);
// One pass for nq queries (tiled so a slice of codes stays in L1) into out[out_offset + q].
void ScanCodesMany(const Code* codes, std::size_t n, const Code* queries, const int* radii, std::size_t nq,
                   std::vector<std::vector<SegmentHit>>& out, std::size_t out_offset);
// Appends every candidate position p (in candidate order) with distance(query, codes[p]) <= radius,
// prefetching far ahead: the candidates are random positions, so this loop is a stream of
// independent cache misses and the more are in flight the better.
void VerifyCandidates(const Code* codes, const std::uint32_t* candidates, std::size_t n, const Code& query,
                      int radius, std::vector<SegmentHit>& out);

// "avx512-vpopcntdq", "popcnt" or "portable". VIGIL_SCAN_KERNEL=popcnt|portable forces a lesser
// one (for benchmarks).
const char* ScanKernelName();

// Every kernel set this CPU can run, best first (tests check each against the portable one).
struct ScanKernelSet {
  const char* name;
  void (*scan)(const Code*, std::size_t, const Code&, int, std::vector<SegmentHit>&);
  void (*scan_many)(const Code*, std::size_t, const Code*, const int*, std::size_t,
                    std::vector<std::vector<SegmentHit>>&, std::size_t);
  void (*verify)(const Code*, const std::uint32_t*, std::size_t, const Code&, int, std::vector<SegmentHit>&);
};
std::vector<ScanKernelSet> SupportedScanKernels();

}  // namespace vigil::index
