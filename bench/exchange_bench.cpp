// An exchange's cost: a first sync of N entries from the NCMEC stand-in (time, pages, entries a
// second, the process's peak memory over it), then an incremental sync of 10,000 changes (updates,
// new records, tombstones) while lookups run against the matcher that follows the store, with the
// lookups' latency during that sync beside their latency at rest. The stand-in runs in a child
// process (forked before any thread starts) so its records are not counted in this process's
// memory. SQLite in a temporary directory, or PostgreSQL with --database-url. Prints a table.
//
//   exchange_bench --entries 1000000 --changes 10000 [--database-url postgresql://...]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "exchange/exchange_client.h"
#include "exchange/exchange_sync.h"
#include "exchange_standins.h"
#include "vigil/clock.h"
#include "vigil/exchange.h"
#include "vigil/matcher.h"
#include "vigil/store.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::string Hex(std::uint64_t seed, std::size_t digits) {
  std::string out;
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  while (out.size() < digits) {
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
    out += buf;
  }
  return out.substr(0, digits);
}

// Peak resident memory (VmHWM) of this process, after `ResetPeak`.
long PeakKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}
long CurrentKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}
void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

vigil::testing::NcmecStandIn::Record RecordOf(std::int64_t i, std::int64_t timestamp) {
  vigil::testing::NcmecStandIn::Record r;
  r.member = std::to_string(40 + i % 7);
  r.id = "e" + std::to_string(i);
  r.timestamp = timestamp;
  r.classification = i % 3 == 0 ? "A1" : "B1";
  r.md5 = Hex(static_cast<std::uint64_t>(i), 32);
  r.pdq = Hex(static_cast<std::uint64_t>(i) + (1ull << 40), 64);
  return r;
}

// The child: serves the stand-in, writes its port to `out`, and on "c\n" from `in` adds the
// changes and answers "k\n"; ends when `in` closes.
[[noreturn]] void Serve(int in, int out, std::int64_t entries, std::int64_t changes) {
  vigil::testing::NcmecStandIn ncmec("bench", "bench-pass", 1000);
  const std::int64_t base = vigil::SystemClock().NowMicros() - 86'400'000'000;
  for (std::int64_t i = 0; i < entries; ++i) ncmec.Put(RecordOf(i, base + i));
  if (!ncmec.Start()) _exit(2);
  const std::string url = ncmec.base_url() + "\n";
  if (::write(out, url.data(), url.size()) < 0) _exit(3);
  char c = 0;
  while (::read(in, &c, 1) == 1) {
    if (c != 'c') continue;
    const std::int64_t now = vigil::SystemClock().NowMicros();
    // Half of the changes update a record (a new PDQ), a quarter add records, a quarter delete.
    for (std::int64_t k = 0; k < changes; ++k) {
      const std::int64_t i = (k * 7919) % entries;
      if (k % 4 < 2) {
        auto r = RecordOf(i, now + k);
        r.pdq = Hex(static_cast<std::uint64_t>(i) + (1ull << 41), 64);
        ncmec.Put(r);
      } else if (k % 4 == 2) {
        ncmec.Put(RecordOf(entries + k, now + k));
      } else {
        auto r = RecordOf(i, now + k);
        ncmec.Delete(r.member, r.id, now + k);
      }
    }
    if (::write(out, "k\n", 2) < 0) _exit(3);
  }
  _exit(0);
}

struct Latencies {
  std::vector<double> micros;
  double Percentile(double p) {
    if (micros.empty()) return 0;
    std::sort(micros.begin(), micros.end());
    return micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * static_cast<double>(micros.size())))];
  }
};

// Looks up known MD5s and PDQs on `threads` threads until `stop`.
Latencies LookUp(const vigil::Matcher& matcher, std::int64_t entries, const std::atomic<bool>& stop, int threads) {
  std::vector<Latencies> each(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::uint64_t i = static_cast<std::uint64_t>(t) * 104729;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::int64_t n = static_cast<std::int64_t>(i % static_cast<std::uint64_t>(entries));
        vigil::LookupSignal signal;
        if (i % 2 == 0) {
          signal.signal_type = "md5";
          signal.value = Hex(static_cast<std::uint64_t>(n), 32);
        } else {
          signal.signal_type = "pdq";
          signal.value = Hex(static_cast<std::uint64_t>(n) + (1ull << 40), 64);
          signal.quality = 100;
        }
        const auto start = Clock::now();
        auto hits = matcher.Lookup(signal);
        each[static_cast<std::size_t>(t)].micros.push_back(Seconds(start) * 1e6);
        if (!hits) std::fprintf(stderr, "lookup failed: %s\n", hits.error().ToString().c_str());
        ++i;
      }
    });
  }
  for (auto& w : workers) w.join();
  Latencies all;
  for (auto& l : each) all.micros.insert(all.micros.end(), l.micros.begin(), l.micros.end());
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"An exchange's first sync of N entries and an incremental sync under lookups"};
  std::int64_t entries = 1'000'000, changes = 10'000;
  std::string database_url;
  int threads = 2;
  double rest_seconds = 5;
  app.add_option("--entries", entries, "Records the stand-in holds (each an MD5 and a PDQ)")->capture_default_str();
  app.add_option("--changes", changes, "Changes before the incremental sync")->capture_default_str();
  app.add_option("--database-url", database_url, "PostgreSQL instead of SQLite");
  app.add_option("--lookup-threads", threads, "Threads looking up")->capture_default_str();
  app.add_option("--rest-seconds", rest_seconds, "How long lookups run at rest")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  int to_child[2], from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) return 1;
  const auto setup = Clock::now();
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    Serve(to_child[0], from_child[1], entries, changes);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  auto read_line = [&]() {
    std::string line;
    char c = 0;
    while (::read(from_child[0], &c, 1) == 1 && c != '\n') line += c;
    return line;
  };
  const std::string base_url = read_line();
  if (base_url.empty()) {
    std::fprintf(stderr, "the stand-in did not start\n");
    return 1;
  }
  std::fprintf(stderr, "stand-in with %lld records ready in %.1f s\n", static_cast<long long>(entries), Seconds(setup));

  const auto dir = std::filesystem::temp_directory_path() / ("exchange_bench." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  vigil::StoreOptions options;
  if (database_url.empty()) options.sqlite_path = (dir / "vigil.db").string();
  else options.postgres_url = database_url;
  auto store = vigil::Store::Open(options);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().ToString().c_str());
    return 1;
  }
  vigil::Bank bank;
  bank.name = "ncmec-bench";
  if (auto made = (*store)->CreateBank(bank, "bench"); !made) {
    std::fprintf(stderr, "%s\n", made.error().ToString().c_str());
    return 1;
  }
  ::setenv("VIGIL_BENCH_NCMEC", "bench:bench-pass", 1);
  vigil::Exchange x;
  x.name = "ncmec-bench";
  x.kind = "ncmec";
  x.bank = "ncmec-bench";
  x.credentials = "env:VIGIL_BENCH_NCMEC";
  x.settings = R"({"base_url": ")" + base_url + R"(", "start": "2000-01-01T00:00:00Z"})";
  if (auto made = (*store)->Exchanges().CreateExchange(x, "bench"); !made) {
    std::fprintf(stderr, "%s\n", made.error().ToString().c_str());
    return 1;
  }
  auto sync = [&](const char* what) {
    auto got = (*store)->Exchanges().GetExchange(x.name);
    auto client = vigil::exchange::MakeExchangeClient(*got, {});
    if (!client) {
      std::fprintf(stderr, "%s\n", client.error().ToString().c_str());
      std::exit(1);
    }
    vigil::exchange::SyncOptions sync_options;
    sync_options.holder = "bench";
    std::int64_t pages = 0;
    sync_options.on_import = [&](const std::string&, const vigil::ImportResult&) {
      if (++pages % 100 == 0) std::fprintf(stderr, "\r%s: %lld pages", what, static_cast<long long>(pages));
    };
    auto outcome = vigil::exchange::SyncExchange(**store, x.name, **client, sync_options);
    std::fprintf(stderr, "\n");
    if (!outcome) {
      std::fprintf(stderr, "%s\n", outcome.error().ToString().c_str());
      std::exit(1);
    }
    return *outcome;
  };

  // 1. The first sync.
  const long rss_before = CurrentKiB();
  ResetPeak();
  auto start = Clock::now();
  const auto first = sync("first sync");
  const double first_seconds = Seconds(start);
  const long peak = PeakKiB();

  // 2. The matcher, and lookups at rest.
  vigil::Matcher matcher(**store);
  start = Clock::now();
  if (auto loaded = matcher.Load(); !loaded) {
    std::fprintf(stderr, "%s\n", loaded.error().ToString().c_str());
    return 1;
  }
  const double load_seconds = Seconds(start);
  std::atomic<bool> stop{false};
  Latencies rest;
  {
    std::thread looker([&] { rest = LookUp(matcher, entries, stop, threads); });
    std::this_thread::sleep_for(std::chrono::duration<double>(rest_seconds));
    stop = true;
    looker.join();
  }

  // 3. The changes, then the incremental sync while lookups run and the matcher follows.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the next window starts after the first
  if (::write(to_child[1], "c", 1) != 1 || read_line() != "k") return 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  stop = false;
  Latencies busy;
  std::thread looker([&] { busy = LookUp(matcher, entries, stop, threads); });
  std::atomic<bool> syncing{true};
  double refresh_max = 0;
  std::thread follower([&] {
    while (syncing) {
      const auto r = Clock::now();
      (void)matcher.Refresh();
      refresh_max = std::max(refresh_max, Seconds(r));
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  start = Clock::now();
  const auto incremental = sync("incremental sync");
  const double incremental_seconds = Seconds(start);
  syncing = false;
  follower.join();
  const auto r = Clock::now();
  (void)matcher.Refresh();
  const double last_refresh = Seconds(r);
  stop = true;
  looker.join();
  ::close(to_child[1]);
  ::kill(child, SIGTERM);
  ::waitpid(child, nullptr, 0);
  std::filesystem::remove_all(dir);

  std::printf("exchange_bench: NCMEC stand-in, %s, %lld records (MD5 + PDQ each), pages of 1000\n\n",
              database_url.empty() ? "SQLite" : "PostgreSQL", static_cast<long long>(entries));
  std::printf("| step | records | pages | entries added | removed | seconds | records/s | peak RSS growth |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  std::printf("| first sync | %lld | %d | %lld | %lld | %.1f | %.0f | %.0f MiB |\n", static_cast<long long>(first.fetched),
              first.pages, static_cast<long long>(first.added), static_cast<long long>(first.removed), first_seconds,
              static_cast<double>(first.fetched) / first_seconds, static_cast<double>(peak - rss_before) / 1024.0);
  std::printf("| incremental sync (%lld changes) | %lld | %d | %lld | %lld | %.2f | %.0f | |\n",
              static_cast<long long>(changes), static_cast<long long>(incremental.fetched), incremental.pages,
              static_cast<long long>(incremental.added), static_cast<long long>(incremental.removed), incremental_seconds,
              static_cast<double>(incremental.fetched) / incremental_seconds);
  std::printf("\nmatcher load: %.1f s; refresh during the sync: at most %.3f s; after it: %.3f s\n\n", load_seconds, refresh_max,
              last_refresh);
  std::printf("| lookups (%d threads, MD5 and PDQ) | count | p50 us | p99 us | p99.9 us |\n", threads);
  std::printf("|---|---:|---:|---:|---:|\n");
  for (auto* l : {&rest, &busy}) {
    const auto count = l->micros.size();
    const double p50 = l->Percentile(0.5), p99 = l->Percentile(0.99), p999 = l->Percentile(0.999);
    std::printf("| %s | %zu | %.1f | %.1f | %.1f |\n", l == &rest ? "at rest" : "during the incremental sync", count, p50,
                p99, p999);
  }
  return 0;
}
