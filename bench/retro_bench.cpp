// Retroactive matching's search, and a sweep's: the index of past uploads (PDQ + SHA-256 + MD5 of N
// uploads, from a generated feed) loaded, then 10,000 new list entries (1% of them near a past
// upload) searched against it on one thread, and one confirmed item searched alone; with the
// index's memory per past upload (resident-set growth while it loads, and the structures' own bytes). Random PDQ hashes only.
// Prints a table. (Reading the hits back and recording them is the store's work: a few per import.)
//
//   retro_bench --uploads 1000000,10000000 --entries 10000
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "match/past_upload_index.h"
#include "vigil/clock.h"
#include "vigil/pdq.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::uint64_t Mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string HexOf(std::uint64_t seed, int words) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (int w = 0; w < words; ++w) {
    const std::uint64_t bits = Mix(seed * 8 + static_cast<std::uint64_t>(w));
    for (int k = 0; k < 16; ++k) hex += kHex[(bits >> (k * 4)) & 15];
  }
  return hex;
}

// Upload i: generated on demand, submitted now.
class GeneratedUploads final : public vigil::PastUploadFeed {
 public:
  std::int64_t count = 0;
  std::int64_t now = 0;
  vigil::Result<std::vector<vigil::PastUpload>> PastUploadsAfter(vigil::PastUploadTable table, std::int64_t after,
                                                                  std::int64_t, int limit) override {
    std::vector<vigil::PastUpload> page;
    if (table != vigil::PastUploadTable::kUploads) return page;
    for (std::int64_t row = after + 1; row <= count && static_cast<int>(page.size()) < limit; ++row) page.push_back(Of(row));
    return page;
  }
  vigil::Result<std::vector<vigil::PastUpload>> PastUploadsByRow(vigil::PastUploadTable, const std::vector<std::int64_t>& rows) override {
    std::vector<vigil::PastUpload> out;
    for (auto r : rows) out.push_back(Of(r));
    return out;
  }
  vigil::PastUpload Of(std::int64_t row) const {
    vigil::PastUpload u;
    u.row = row;
    u.content_id = "u" + std::to_string(row);
    u.pdq = HexOf(static_cast<std::uint64_t>(row), 4);
    u.sha256 = HexOf(static_cast<std::uint64_t>(row) + (1ull << 40), 4);
    u.md5 = HexOf(static_cast<std::uint64_t>(row) + (1ull << 41), 2);
    u.submitted_at = now;
    return u;
  }
};

long RssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Retroactive matching and sweeps against the index of past uploads"};
  std::string sizes_text = "1000000,10000000";
  int entries = 10'000;
  app.add_option("--uploads", sizes_text, "Past uploads, comma-separated")->capture_default_str();
  app.add_option("--entries", entries, "New list entries searched")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::printf("| past uploads | load s | B per upload (RSS) | B per upload (index) | %d new entries, 1 thread, r=31 s | found | sweep of one item ms |\n", entries);
  std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  std::stringstream sizes(sizes_text);
  for (std::string item; std::getline(sizes, item, ',');) {
    GeneratedUploads feed;
    feed.count = std::stoll(item);
    feed.now = vigil::SystemClock().NowMicros();
    const long rss0 = RssKb();
    vigil::PastUploadIndex index(feed, vigil::SystemClock(), {});
    auto t = Clock::now();
    if (auto loaded = index.Load(); !loaded) return std::fprintf(stderr, "%s\n", loaded.error().ToString().c_str()), 1;
    const double load_s = Seconds(t);
    const double bytes_per = (static_cast<double>(RssKb() - rss0) * 1024.0) / static_cast<double>(feed.count);
    const double index_bytes_per = static_cast<double>(index.Stats().memory_bytes) / static_cast<double>(feed.count);
    // New entries: 1% near a past upload (distance 4-20), the rest unrelated.
    std::mt19937_64 rng(7);
    std::vector<vigil::PdqHash> queries;
    for (int i = 0; i < entries; ++i) {
      std::string hex = HexOf((std::uint64_t{1} << 50) + static_cast<std::uint64_t>(i), 4);
      if (i % 100 == 0) {
        hex = HexOf(static_cast<std::uint64_t>(1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(feed.count))), 4);
        const int flips = 4 + static_cast<int>(rng() % 17);
        for (int f = 0; f < flips; ++f) hex[static_cast<std::size_t>(f)] = hex[static_cast<std::size_t>(f)] == '0' ? '1' : '0';
      }
      queries.push_back(*vigil::PdqHash::FromHex(hex));
    }
    t = Clock::now();
    const auto hits = index.SearchPdqBatch(queries, 31, 1);
    const double search_s = Seconds(t);
    std::size_t found = 0;
    for (const auto& h : hits) found += h.empty() ? 0u : 1u;
    // A sweep: one confirmed item's PDQ and digests.
    const auto item_upload = feed.Of(feed.count / 2);
    t = Clock::now();
    const int reps = 200;
    std::size_t swept = 0;
    for (int r = 0; r < reps; ++r) {
      swept += index.SearchPdq(*vigil::PdqHash::FromHex(item_upload.pdq), 31).size();
      swept += index.SearchDigest("sha256", item_upload.sha256).size();
      swept += index.SearchDigest("md5", item_upload.md5).size();
    }
    const double sweep_ms = Seconds(t) * 1000.0 / reps;
    if (swept < static_cast<std::size_t>(reps)) return std::fprintf(stderr, "the swept item was not found\n"), 1;
    std::printf("| %lld | %.2f | %.0f | %.0f | %.3f | %zu | %.3f |\n", static_cast<long long>(feed.count), load_s, bytes_per,
                index_bytes_per, search_s, found, sweep_ms);
    std::fflush(stdout);
  }
  return 0;
}
