// The FAISS peer for `vigil index bench`, built only when Debian's libfaiss-dev is installed and
// never linked into vigil. Reads codes and queries, builds HMA's configuration
// (IndexBinaryMultiHash(256, 16, 16), nflip = 1) and IndexBinaryFlat, runs range searches at the
// given radius (FAISS's binary radius is strict, so it is passed radius + 1), and prints one JSON
// line per method; each method's (query, id) results go to a binary file in OUTDIR.
//
//   faiss_peer INPUT RADIUS THREADS OUTDIR
// INPUT: u64 n, u64 nq, n codes of 32 bytes, nq codes of 32 bytes.
#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHash.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Resident memory in bytes (from /proc/self/statm).
double Rss() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

template <typename Index>
void Run(const char* method, Index& index, const std::vector<std::uint8_t>& codes,
         const std::vector<std::uint8_t>& queries, std::size_t n, std::size_t nq, int radius, int threads,
         const std::string& outdir) {
  const double before = Rss();
  auto t = std::chrono::steady_clock::now();
  index.add(static_cast<faiss::IndexBinary::idx_t>(n), codes.data());
  const double build = Since(t);
  // Resident growth, but never less than the codes themselves (freed pages get reused).
  const double bytes = std::max((Rss() - before) / static_cast<double>(n), 32.0);
  omp_set_num_threads(1);
  faiss::RangeSearchResult r1(static_cast<faiss::IndexBinary::idx_t>(nq));
  t = std::chrono::steady_clock::now();
  index.range_search(static_cast<faiss::IndexBinary::idx_t>(nq), queries.data(), radius + 1, &r1);
  const double s1 = Since(t);
  omp_set_num_threads(threads);
  faiss::RangeSearchResult rn(static_cast<faiss::IndexBinary::idx_t>(nq));
  t = std::chrono::steady_clock::now();
  index.range_search(static_cast<faiss::IndexBinary::idx_t>(nq), queries.data(), radius + 1, &rn);
  const double sn = Since(t);
  const std::string results = outdir + "/faiss-" + method + ".bin";
  std::ofstream out(results, std::ios::binary);
  for (std::size_t q = 0; q < nq; ++q) {
    for (std::size_t j = r1.lims[q]; j < r1.lims[q + 1]; ++j) {
      const std::uint64_t pair[2] = {q, static_cast<std::uint64_t>(r1.labels[j])};
      out.write(reinterpret_cast<const char*>(pair), 16);
    }
  }
  std::printf("{\"method\":\"FAISS %s\",\"build_s\":%.3f,\"qps1\":%.3f,\"qpsn\":%.3f,\"bytes_per_hash\":%.1f,\"results\":\"%s\"}\n",
              method, build, static_cast<double>(nq) / s1, static_cast<double>(nq) / sn, bytes, results.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: faiss_peer INPUT RADIUS THREADS OUTDIR\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::uint64_t n = 0, nq = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  in.read(reinterpret_cast<char*>(&nq), 8);
  std::vector<std::uint8_t> codes(n * 32), queries(nq * 32);
  in.read(reinterpret_cast<char*>(codes.data()), static_cast<std::streamsize>(codes.size()));
  in.read(reinterpret_cast<char*>(queries.data()), static_cast<std::streamsize>(queries.size()));
  if (!in) {
    std::fprintf(stderr, "faiss_peer: short input\n");
    return 1;
  }
  const int radius = std::atoi(argv[2]), threads = std::atoi(argv[3]);
  {
    faiss::IndexBinaryMultiHash hma(256, 16, 16);
    hma.nflip = 1;
    Run("IndexBinaryMultiHash(256,16,16) nflip=1 (HMA)", hma, codes, queries, n, nq, radius, threads, argv[4]);
  }
  {
    faiss::IndexBinaryFlat flat(256);
    Run("IndexBinaryFlat", flat, codes, queries, n, nq, radius, threads, argv[4]);
  }
  return 0;
}
