// `vigil index bench`: generates PDQ-like data (src/index/synthetic_codes.h), then measures in one
// run, on the same data and queries: this index, the brute-force scan (single and batched), and
// FAISS (HMA's IndexBinaryMultiHash(256,16,16) nflip=1, and IndexBinaryFlat) through the separate
// `faiss_peer` executable when it was built (FAISS is never linked into vigil).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace vigil::cli {

struct IndexBenchArgs {
  std::vector<std::size_t> sizes{1'000'000};
  std::vector<int> radii{31, 63};
  std::size_t queries = 2000;
  std::size_t scan_queries = 128;  // the slow peers run on a prefix of the queries
  unsigned threads = 0;
  std::uint64_t seed = 1;
  std::string faiss_peer;  // path; default: next to this executable, bench/faiss_peer
  bool no_faiss = false;
  std::string json_out;
};

void RegisterIndexBenchOptions(CLI::App& cmd, IndexBenchArgs& args);
int RunIndexBench(const IndexBenchArgs& args);

}  // namespace vigil::cli
