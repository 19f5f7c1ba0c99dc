// What list updates cost the live PDQ index: removals (an NCMEC or StopNCII delta tombstones
// entries) timed one by one, and lookups timed on another thread while those removals run, next
// to lookups on an index at rest, in one run. Both ways to remove side by side on the same index:
// by id alone (a scan of the ids) and by id and hash (an exact search; what the matching service
// does). Synthetic PDQ-like codes only. Prints a table.
//
//   index_update_bench --sizes 1000000,4000000 --removals 2000
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "index/synthetic_codes.h"
#include "vigil/index.h"

namespace {

using Clock = std::chrono::steady_clock;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Latencies {
  std::vector<double> us;
  double Percentile(double p) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    const auto at = static_cast<std::size_t>(p * static_cast<double>(us.size() - 1));
    return us[at];
  }
  double Mean() const {
    return us.empty() ? 0
                      : std::accumulate(us.begin(), us.end(), 0.0) / static_cast<double>(us.size());
  }
};

// Lookups at radius 31 on this thread until `stop`; their latencies.
Latencies LookUp(const vigil::PdqIndex& index, const std::vector<vigil::PdqHash>& queries,
                 const std::atomic<bool>& stop) {
  Latencies out;
  for (std::size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
    const auto t = Clock::now();
    const auto hits = index.Search(queries[i % queries.size()], 31);
    out.us.push_back(Micros(Clock::now() - t));
    if (hits.size() > 1'000'000) std::abort();  // keeps the search from being optimised away
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The PDQ index under list updates: removal latency, and lookup latency while removals run"};
  std::vector<std::size_t> sizes{1'000'000};
  std::size_t removals = 2000;
  double idle_seconds = 2;
  std::uint64_t seed = 7;
  app.add_option("--sizes", sizes, "Index sizes (comma-separated)")->delimiter(',');
  app.add_option("--removals", removals, "Removals timed per size (random live ids)");
  app.add_option("--idle-seconds", idle_seconds, "Seconds of lookups on the index at rest");
  app.add_option("--seed", seed, "Seed for codes and the ids removed");
  CLI11_PARSE(app, argc, argv);

  std::printf(
      "| entries | removal by | removals | remove mean us, alone | remove mean us, with lookups | "
      "remove p99 us, with lookups | "
      "lookup p99 us, at rest | lookup p99 us, during removals | lookup max us, during removals "
      "|\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const std::size_t n : sizes) {
    vigil::index::SyntheticCodes codes(seed);
    const auto data = codes.Dataset(n);
    const auto queries = codes.Queries(data, 4096);
    std::vector<std::uint64_t> ids(n);
    std::iota(ids.begin(), ids.end(), 1);
    auto index = vigil::PdqIndex::Build(ids, data);

    std::atomic<bool> stop = false;
    Latencies idle;
    {
      std::thread reader([&] { idle = LookUp(*index, queries, stop); });
      std::this_thread::sleep_for(std::chrono::duration<double>(idle_seconds));
      stop = true;
      reader.join();
    }

    std::mt19937_64 rng(seed);
    std::shuffle(ids.begin(), ids.end(), rng);
    const std::size_t count = std::min(removals, n / 2);
    std::size_t next = 0;  // ids[next..] not removed yet
    for (const bool by_hash : {false, true}) {
      // Half alone (the removal's own work), half with lookups running (a removal then also waits
      // for the search holding the lock).
      Latencies alone, remove, during;
      auto run = [&](std::size_t from, std::size_t to, Latencies& out) {
        for (std::size_t i = from; i < to; ++i) {
          const auto t = Clock::now();
          const auto removed =
              by_hash ? index->Remove(ids[i], data[ids[i] - 1]) : index->Remove(ids[i]);
          out.us.push_back(Micros(Clock::now() - t));
          if (!removed) {
            std::fprintf(stderr, "remove %llu: %s\n", static_cast<unsigned long long>(ids[i]),
                         removed.error().ToString().c_str());
            return false;
          }
        }
        return true;
      };
      if (!run(next, next + count / 2, alone)) return 1;
      stop = false;
      std::thread reader([&] { during = LookUp(*index, queries, stop); });
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const bool ok = run(next + count / 2, next + count, remove);
      stop = true;
      reader.join();
      if (!ok) return 1;
      next += count;
      if (index->Stats().entries != n - next) {
        std::fprintf(stderr, "expected %zu live entries, found %zu\n", n - next,
                     index->Stats().entries);
        return 1;
      }
      std::printf("| %zu | %s | %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", n,
                  by_hash ? "id + hash (exact search)" : "id only (scan)", count, alone.Mean(),
                  remove.Mean(), remove.Percentile(0.99), idle.Percentile(0.99),
                  during.Percentile(0.99), during.Percentile(1.0));
      std::fflush(stdout);
    }
  }
  return 0;
}
