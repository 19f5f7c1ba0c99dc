// Hash-list parsing cost per record, by format and list size: every list parser must be linear in
// the list (an NCMEC XML import was quadratic: a line number counted from the start of the
// document for every record). For each format a valid list of N records is built in memory
// (synthetic PDQ and MD5 hex from a seeded PRNG, never real hashes; deterministic for a seed) and
// read the way an import reads it: OpenHashList, then Next until the end. The time of a size is the
// best of --reps runs (more for small lists, until --min-seconds have passed). Prints a Markdown
// table with each size's us/record as a ratio to the same format's smallest size, and exits 1 when
// a ratio exceeds --max-ratio (2.0), unless --no-check.
//
//   list_parse_bench [--sizes 10000,100000,1000000] [--formats csv,text,hma,ncmec,stopncii,vpdq]
//                    [--reps 3] [--min-seconds 0.5] [--seed 7] [--max-ratio 2] [--no-check]
//
// vpdq's records are one video's frames (the format imports one entry); ParseVpdq reads at most
// 1,000,000 frames, so vpdq sizes above that are skipped.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/hash_list.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxVpdqFrames = 1'000'000;  // ParseVpdq's default limit

// Synthetic hex digits from a seeded PRNG.
class HexSource {
 public:
  explicit HexSource(std::uint64_t seed) : rng_(seed) {}
  void Append(std::string& out, int digits) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::uint64_t bits = 0;
    for (int i = 0; i < digits; ++i) {
      if (i % 16 == 0) bits = rng_();
      out.push_back(kDigits[bits & 15u]);
      bits >>= 4;
    }
  }
  std::uint64_t Below(std::uint64_t bound) { return rng_() % bound; }

 private:
  std::mt19937_64 rng_;
};

struct List {
  std::string data;
  std::size_t ops = 0;  // what reading it must yield
};

void AppendNumber(std::string& out, std::uint64_t n) { out += std::to_string(n); }

// "2026-MM-DDThh:mm:ssZ" for a second of 2026.
void AppendTimestamp(std::string& out, std::uint64_t second) {
  static constexpr int kMonthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  auto day = static_cast<int>(second / 86400 % 365);
  int month = 0;
  while (day >= kMonthDays[month]) day -= kMonthDays[month++];
  const auto in_day = static_cast<int>(second % 86400);
  char text[64];
  std::snprintf(text, sizeof text, "2026-%02d-%02dT%02d:%02d:%02dZ", month + 1, day + 1, in_day / 3600,
                in_day / 60 % 60, in_day % 60);
  out += text;
}

// The second of record i's timestamp: nearly in document order (20 s apart, each up to an hour
// late), as a feed's records are, so the parsers' sorts do work without the bench turning into a
// measure of random memory access.
std::uint64_t Jittered(std::size_t i, HexSource& hex) { return i * 20 + hex.Below(3600); }

List MakeCsv(std::size_t n, std::uint64_t seed) {
  HexSource hex(seed);
  List list;
  list.data = "signal_type,value,external_id,classification\n";
  for (std::size_t i = 0; i < n; ++i) {
    const bool md5 = i % 10 == 9;
    list.data += md5 ? "md5," : "pdq,";
    hex.Append(list.data, md5 ? 32 : 64);
    list.data += ",item-";
    AppendNumber(list.data, i);
    list.data += ",A1\n";
  }
  list.ops = n;
  return list;
}

List MakeText(std::size_t n, std::uint64_t seed) {
  HexSource hex(seed);
  List list;
  list.data = "# synthetic PDQ values\n";
  for (std::size_t i = 0; i < n; ++i) {
    hex.Append(list.data, 64);
    list.data += '\n';
  }
  list.ops = n;
  return list;
}

List MakeHma(std::size_t n, std::uint64_t seed) {
  HexSource hex(seed);
  List list;
  list.data = "bank_member_id,signal_type,signal_value,tags\n";
  for (std::size_t i = 0; i < n; ++i) {
    const bool md5 = i % 10 == 9;
    AppendNumber(list.data, i);
    list.data += md5 ? ",video_md5," : ",pdq,";
    hex.Append(list.data, md5 ? 32 : 64);
    list.data += ",bench\n";
  }
  list.ops = n;
  return list;
}

// NCMEC hash-sharing v2: <image> records (md5 + pdq: two adds and a prune), every 50th a
// <deletedImage> of the record before it.
List MakeNcmec(std::size_t n, std::uint64_t seed) {
  HexSource hex(seed);
  List list;
  std::string& d = list.data;
  d = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\">\n"
      "  <images count=\"";
  AppendNumber(d, n);
  d += "\" maxTimestamp=\"2026-12-31T23:59:59Z\">\n";
  for (std::size_t i = 0; i < n; ++i) {
    const bool deleted = i % 50 == 49;
    d += deleted ? "    <deletedImage>\n" : "    <image>\n";
    d += "      <member id=\"42\">Bench Member</member>\n      <timestamp>";
    AppendTimestamp(d, Jittered(i, hex));
    d += "</timestamp>\n      <id>img-";
    AppendNumber(d, deleted ? i - 1 : i);
    d += "</id>\n";
    if (deleted) {
      d += "    </deletedImage>\n";
      list.ops += 1;
      continue;
    }
    d += "      <classification>A1</classification>\n      <fingerprints>\n        <md5>";
    hex.Append(d, 32);
    d += "</md5>\n        <pdq>";
    hex.Append(d, 64);
    d += "</pdq>\n      </fingerprints>\n    </image>\n";
    list.ops += 3;
  }
  d += "  </images>\n</queryResult>\n";
  return list;
}

// StopNCII FetchHashes: ImagePDQ records, every 20th withdrawn (a removal), every 100th a VideoTMK
// (skipped: no op).
List MakeStopNcii(std::size_t n, std::uint64_t seed) {
  HexSource hex(seed);
  List list;
  std::string& d = list.data;
  d = "{\"count\":";
  AppendNumber(d, n);
  d += ",\"nextSetTimestamp\":1798761600,\"hasMoreRecords\":false,\"hashRecords\":[\n";
  for (std::size_t i = 0; i < n; ++i) {
    const bool tmk = i % 100 == 99;
    d += i == 0 ? "{" : ",\n{";
    d += "\"lastModtimestamp\":";
    AppendNumber(d, 1767225600 + Jittered(i, hex));
    d += tmk ? ",\"signalType\":\"VideoTMK\",\"hashValue\":\"" : ",\"signalType\":\"ImagePDQ\",\"hashValue\":\"";
    hex.Append(d, 64);
    d += i % 20 == 19 ? "\",\"hashStatus\":\"Withdrawn\",\"caseNumbers\":{\"case-"
                      : "\",\"hashStatus\":\"Active\",\"caseNumbers\":{\"case-";
    AppendNumber(d, i);
    d += "\":\"Active\"}}";
    if (!tmk) list.ops += 1;
  }
  d += "\n]}\n";
  return list;
}

// One video's vPDQ frames, one a second: frame,quality,pdq_hex,timestamp.
List MakeVpdq(std::size_t n, std::uint64_t seed) {
  HexSource hex(seed);
  List list;
  for (std::size_t i = 0; i < n; ++i) {
    AppendNumber(list.data, i);
    list.data += ',';
    AppendNumber(list.data, 50 + hex.Below(51));
    list.data += ',';
    hex.Append(list.data, 64);
    list.data += ',';
    AppendNumber(list.data, i);
    list.data += ".000\n";
  }
  list.ops = 1;
  return list;
}

List Make(std::string_view format, std::size_t n, std::uint64_t seed) {
  if (format == "csv") return MakeCsv(n, seed);
  if (format == "text") return MakeText(n, seed);
  if (format == "hma") return MakeHma(n, seed);
  if (format == "ncmec") return MakeNcmec(n, seed);
  if (format == "stopncii") return MakeStopNcii(n, seed);
  return MakeVpdq(n, seed);
}

// Reads the list as an import does; the ops it yields.
vigil::Result<std::size_t> Read(std::string_view format, std::string_view data) {
  vigil::ListParseOptions options;
  options.source = "bench";
  options.max_bytes = std::max(options.max_bytes, data.size());  // sizes past 1 GiB when asked for
  options.external_id = "video-1";
  auto reader = vigil::OpenHashList(format, data, options);
  if (!reader) return tl::unexpected(reader.error());
  std::size_t ops = 0;
  vigil::ImportOp op;
  for (;;) {
    auto more = (*reader)->Next(op);
    if (!more) return tl::unexpected(more.error());
    if (!*more) break;
    ++ops;
  }
  return ops;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Hash-list parsing: time per record by format and list size (every parser linear)"};
  std::vector<std::size_t> sizes{10'000, 100'000, 1'000'000};
  std::vector<std::string> known;
  for (const auto format : vigil::HashListFormats()) known.emplace_back(format);
  std::vector<std::string> formats = known;
  int reps = 3;
  double min_seconds = 0.5;
  std::uint64_t seed = 7;
  double max_ratio = 2.0;
  bool no_check = false;
  app.add_option("--sizes", sizes, "Records per list (comma-separated)")->delimiter(',')->capture_default_str();
  app.add_option("--formats", formats, "Formats (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember(known))
      ->capture_default_str();
  app.add_option("--reps", reps, "Runs per size at least (the best is kept)")->check(CLI::Range(1, 1000));
  app.add_option("--min-seconds", min_seconds, "Runs per size continue until this much time has passed");
  app.add_option("--seed", seed, "Seed for the synthetic values and timestamps");
  app.add_option("--max-ratio", max_ratio, "Largest us/record allowed, as a multiple of the smallest size's");
  app.add_flag("--no-check", no_check, "Print the table only; exit 0 whatever the ratios");
  CLI11_PARSE(app, argc, argv);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  sizes.erase(std::remove(sizes.begin(), sizes.end(), std::size_t{0}), sizes.end());
  if (sizes.empty()) {
    std::fprintf(stderr, "no sizes\n");
    return 1;
  }

  std::printf("| format | records | bytes | ops | runs | seconds | us/record | ratio to smallest |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  std::vector<std::string> over;
  for (const std::string& format : formats) {
    double base = 0;  // us/record at the format's smallest size
    for (const std::size_t n : sizes) {
      if (format == "vpdq" && n > kMaxVpdqFrames) {
        std::printf("| %s | %zu | - | - | - | - | - | skipped: over the %zu frames ParseVpdq reads |\n",
                    format.c_str(), n, kMaxVpdqFrames);
        continue;
      }
      const List list = Make(format, n, seed);
      double best = 0;
      int runs = 0;
      const auto started = Clock::now();
      while (runs < reps || (std::chrono::duration<double>(Clock::now() - started).count() < min_seconds &&
                             runs < 1000)) {
        const auto t = Clock::now();
        const auto ops = Read(format, list.data);
        const double seconds = std::chrono::duration<double>(Clock::now() - t).count();
        if (!ops) {
          std::fprintf(stderr, "%s, %zu records: %s\n", format.c_str(), n, ops.error().ToString().c_str());
          return 1;
        }
        if (*ops != list.ops) {
          std::fprintf(stderr, "%s, %zu records: read %zu ops, expected %zu\n", format.c_str(), n, *ops, list.ops);
          return 1;
        }
        best = runs == 0 ? seconds : std::min(best, seconds);
        ++runs;
      }
      const double us = 1e6 * best / static_cast<double>(n);
      if (base == 0) base = us;
      const double ratio = base > 0 ? us / base : 1.0;
      std::printf("| %s | %zu | %zu | %zu | %d | %.4f | %.3f | %.2f |\n", format.c_str(), n, list.data.size(),
                  list.ops, runs, best, us, ratio);
      std::fflush(stdout);
      if (ratio > max_ratio) over.push_back(format + " at " + std::to_string(n) + " records");
    }
  }
  if (over.empty()) {
    std::printf("\nEvery format within %.1fx of its smallest size's us/record.\n", max_ratio);
    return 0;
  }
  std::printf("\nOver %.1fx of the smallest size's us/record:", max_ratio);
  for (const auto& what : over) std::printf(" %s;", what.c_str());
  std::printf("\n");
  return no_check ? 0 : 1;
}
