// How fast a new replica's index is ready: reading every entry (Matcher::Load, from an in-memory
// feed, so this is the floor of a load from PostgreSQL, which adds the rows' transfer) against a
// matcher snapshot plus the changes after it (Matcher::LoadSnapshot, which refreshes), side by side
// in one run, with the snapshot's size and save time. Random PDQ hashes only. Prints a table.
//
//   replica_start_bench --sizes 1000000,10000000 --changes 10000 --dir /tmp/snapshots
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "vigil/matcher.h"
#include "vigil/pdq.h"
#include "vigil/store.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::uint64_t Mix(std::uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Entry i's hash, the same on every call, so the feed holds nothing but a count.
std::string HashHex(std::int64_t id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(64, '0');
  for (int w = 0; w < 4; ++w) {
    const std::uint64_t bits = Mix(static_cast<std::uint64_t>(id) * 4 + static_cast<std::uint64_t>(w));
    for (int k = 0; k < 16; ++k) hex[static_cast<std::size_t>(w * 16 + k)] = kHex[(bits >> (k * 4)) & 15];
  }
  return hex;
}

// Entries 1..count of one PDQ bank, generated on demand.
class GeneratedFeed final : public vigil::EntryFeed {
 public:
  std::int64_t count = 0;
  vigil::Result<std::vector<vigil::Bank>> ListBanks() override {
    vigil::Bank bank;
    bank.id = 1;
    bank.name = "generated";
    return std::vector<vigil::Bank>{bank};
  }
  vigil::Result<std::vector<vigil::IndexedEntry>> LiveEntriesAfter(std::int64_t after_id, int limit) override {
    std::vector<vigil::IndexedEntry> page;
    for (std::int64_t id = after_id + 1; id <= count && static_cast<int>(page.size()) < limit; ++id) {
      page.push_back({id, 1, "pdq", HashHex(id), ""});
    }
    return page;
  }
  vigil::Result<std::vector<vigil::EntryRemoval>> RemovalsAfter(std::int64_t) override {
    return std::vector<vigil::EntryRemoval>{};
  }
  vigil::Result<std::int64_t> LatestImportId() override { return std::int64_t{1}; }
  vigil::Result<std::string> Identity() override { return std::string("replica-start-bench"); }
};

std::uintmax_t FolderBytes(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) total += f.file_size();
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A new replica's index: every entry read vs a snapshot plus the changes after it"};
  std::string sizes_text = "1000000,10000000";
  std::int64_t changes = 10'000;
  std::string dir = std::filesystem::temp_directory_path() / "vigil-replica-start-bench";
  app.add_option("--sizes", sizes_text, "Listed PDQ hashes, comma-separated")->capture_default_str();
  app.add_option("--changes", changes, "Entries added after the snapshot")->capture_default_str();
  app.add_option("--dir", dir, "Where the snapshots are written")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::printf("| hashes | full load s | snapshot save s | snapshot MB | snapshot + %lld changes s | speed-up |\n",
              static_cast<long long>(changes));
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  std::stringstream sizes(sizes_text);
  for (std::string item; std::getline(sizes, item, ',');) {
    const std::int64_t n = std::stoll(item);
    GeneratedFeed feed;
    feed.count = n;
    double load_s = 0, save_s = 0, snap_s = 0;
    std::uintmax_t bytes = 0;
    {
      vigil::Matcher full(feed);
      auto t = Clock::now();
      if (auto loaded = full.Load(); !loaded) return std::fprintf(stderr, "%s\n", loaded.error().ToString().c_str()), 1;
      load_s = Seconds(t);
      t = Clock::now();
      if (auto saved = full.SaveSnapshot(dir); !saved) return std::fprintf(stderr, "%s\n", saved.error().ToString().c_str()), 1;
      save_s = Seconds(t);
      bytes = FolderBytes(dir);
    }
    feed.count = n + changes;
    vigil::Matcher replica(feed);
    const auto t = Clock::now();
    if (auto loaded = replica.LoadSnapshot(dir); !loaded) return std::fprintf(stderr, "%s\n", loaded.error().ToString().c_str()), 1;
    snap_s = Seconds(t);
    // The replica has the entries from before and after the snapshot.
    for (const std::int64_t probe : {std::int64_t{1}, n, n + changes}) {
      auto hits = replica.Lookup({"pdq", HashHex(probe), std::nullopt, ""});
      if (!hits || hits->empty() || hits->front().entry_id != probe) {
        std::fprintf(stderr, "entry %lld not found after the snapshot load\n", static_cast<long long>(probe));
        return 1;
      }
    }
    std::printf("| %lld | %.2f | %.2f | %.0f | %.2f | %.1fx |\n", static_cast<long long>(n), load_s, save_s,
                static_cast<double>(bytes) / 1e6, snap_s, load_s / snap_s);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
