// `vigil index build|query|bench`: build a PDQ index snapshot from a hash list, query it, and
// measure it against peers on generated PDQ-like data.
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/index_bench.h"
#include "cli/store_options.h"
#include "index/pdq_list.h"
#include "vigil/index.h"
#include "vigil/matcher.h"

namespace vigil::cli {
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

Result<index::PdqList> ReadList(const std::string& path) {
  // A device or FIFO given for the list (/dev/zero) would be read without end.
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    return Fail(ErrorCode::kInvalidArgument, path + ": not a regular file (a list of PDQ hashes is one text file)");
  }
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, path + ": cannot open");
  auto list = index::ReadPdqList(in);
  if (!list) return tl::unexpected(WithContext(list.error(), path));
  return list;
}

struct BuildArgs {
  std::string input, output;
};

int RunBuild(const BuildArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  auto list = ReadList(a.input);
  if (!list) {
    std::fprintf(stderr, "vigil index build: %s\n", list.error().message.c_str());
    return 1;
  }
  const double read_s = Since(start);
  const auto t = std::chrono::steady_clock::now();
  auto idx = PdqIndex::Build(list->ids, list->hashes, {.background_merge = false});
  const double build_s = Since(t);
  if (auto st = idx->Save(a.output); !st) {
    std::fprintf(stderr, "vigil index build: %s\n", st.error().message.c_str());
    return 1;
  }
  boost::json::object o;
  o["output"] = a.output;
  o["entries"] = list->ids.size();
  o["read_seconds"] = read_s;
  o["build_seconds"] = build_s;
  o["file_bytes"] = std::filesystem::file_size(a.output);
  std::cout << boost::json::serialize(o) << "\n";
  return 0;
}

struct QueryArgs {
  std::string index, queries;
  int radius = 31;
  unsigned jobs = 1;
  bool no_verify = false;
};

int RunQuery(const QueryArgs& a) {
  auto idx = PdqIndex::Load(a.index, {.background_merge = false}, !a.no_verify);
  if (!idx) {
    std::fprintf(stderr, "vigil index query: %s\n", idx.error().message.c_str());
    return 1;
  }
  auto list = ReadList(a.queries);
  if (!list) {
    std::fprintf(stderr, "vigil index query: %s\n", list.error().message.c_str());
    return 1;
  }
  const unsigned jobs = a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency());
  // Blocks of queries keep memory bounded and output in order.
  constexpr std::size_t kBlock = 4096;
  std::string out;
  for (std::size_t start = 0; start < list->hashes.size(); start += kBlock) {
    const std::size_t n = std::min(kBlock, list->hashes.size() - start);
    const auto results = (*idx)->SearchBatch(std::span(list->hashes).subspan(start, n), a.radius, jobs);
    out.clear();
    for (std::size_t i = 0; i < n; ++i) {
      for (const IndexMatch& m : results[i]) {
        out += std::to_string(list->lines[start + i]) + "," + std::to_string(m.id) + "," + std::to_string(m.distance) + "\n";
      }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return 0;
}

struct SnapshotArgs {
  StoreFlags store;
  std::string output;
};

// The store's index as a matcher snapshot (what `index_snapshot` in the service's configuration
// names): from the snapshot already there when it is of this database, plus the changes since.
int RunSnapshot(const SnapshotArgs& a) {
  auto store = OpenStoreOrReport(a.store, "index snapshot");
  if (!store) return 1;
  Matcher matcher(*store);
  const auto start = std::chrono::steady_clock::now();
  std::string from = "store";
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(a.output) / "matcher.bin", ec)) {
    if (auto loaded = matcher.LoadSnapshot(a.output); loaded) {
      from = "snapshot";
    } else {
      std::fprintf(stderr, "vigil index snapshot: the snapshot there is not used: %s\n", loaded.error().message.c_str());
      if (loaded.error().code == ErrorCode::kUnavailable) return 1;
    }
  }
  if (from == "store") {
    if (auto loaded = matcher.Load(); !loaded) return ReportError("index snapshot", loaded.error());
  }
  const double load_s = Since(start);
  const auto t = std::chrono::steady_clock::now();
  if (auto saved = matcher.SaveSnapshot(a.output); !saved) return ReportError("index snapshot", saved.error());
  const auto stats = matcher.Stats();
  boost::json::object o{{"output", a.output},
                        {"from", from},
                        {"pdq", stats.entries_by_type[0]},
                        {"md5", stats.entries_by_type[1]},
                        {"sha1", stats.entries_by_type[2]},
                        {"sha256", stats.entries_by_type[3]},
                        {"videos", stats.entries_by_type[4]},
                        {"last_entry_id", stats.last_entry_id},
                        {"load_seconds", load_s},
                        {"save_seconds", Since(t)}};
  std::cout << boost::json::serialize(o) << "\n";
  return 0;
}

}  // namespace

Action RegisterIndexCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("index", "Build, query and benchmark exact PDQ Hamming indexes");
  cmd->require_subcommand(1);

  auto build = std::make_shared<BuildArgs>();
  CLI::App* b = cmd->add_subcommand("build", "Build an index snapshot (.vidx) from a PDQ list");
  b->footer("Input: one PDQ hex per line, optionally HEX,ID (decimal). Without an ID the entry id is\n"
            "the 0-based line number. Prints a JSON summary.");
  b->add_option("hashes", build->input, "The PDQ list")->required();
  b->add_option("-o,--output", build->output, "The snapshot to write")->required();

  auto query = std::make_shared<QueryArgs>();
  CLI::App* q = cmd->add_subcommand("query", "Find every entry within a radius of each query");
  q->footer("Prints query_line,entry_id,distance per match (query_line 0-based), by query, then\n"
            "distance, then id. The search is exact.");
  q->add_option("index", query->index, "The snapshot (.vidx)")->required();
  q->add_option("queries", query->queries, "PDQ list of queries (HEX or HEX,ID per line)")->required();
  q->add_option("-r,--radius", query->radius, "Largest distance reported (0..256)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  q->add_option("-j,--jobs", query->jobs, "Threads (0 = all cores)")->capture_default_str();
  q->add_flag("--no-verify", query->no_verify, "Skip the payload checksum (the header, sizes and structure are still checked, so a damaged file is refused or searched safely)");

  auto bench = std::make_shared<IndexBenchArgs>();
  CLI::App* be = cmd->add_subcommand("bench", "Benchmark the index against brute force and FAISS on PDQ-like data");
  RegisterIndexBenchOptions(*be, *bench);

  auto snapshot = std::make_shared<SnapshotArgs>();
  CLI::App* sn = cmd->add_subcommand("snapshot", "Write the store's index as a snapshot that servers and workers start from");
  sn->footer("Reads the snapshot already in --output when it is of this database and adds the changes\n"
             "since, else every entry; writes the folder whole, then renames it into place. Point the\n"
             "service's `index_snapshot` at it. Prints a JSON summary.");
  AddStoreFlags(*sn, snapshot->store);
  sn->add_option("-o,--output", snapshot->output, "The snapshot folder")->required();

  return [b, q, be, sn, build, query, bench, snapshot]() -> int {
    if (sn->parsed()) return RunSnapshot(*snapshot);
    if (b->parsed()) return RunBuild(*build);
    if (q->parsed()) return RunQuery(*query);
    if (be->parsed()) return RunIndexBench(*bench);
    return -1;
  };
}

}  // namespace vigil::cli
