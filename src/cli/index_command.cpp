// `vigil index build|query|bench`: build a PDQ index snapshot from a hash list, query it, and
// measure it against peers on generated PDQ-like data.
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/index_bench.h"
#include "index/pdq_list.h"
#include "vigil/index.h"

namespace vigil::cli {
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

Result<index::PdqList> ReadList(const std::string& path) {
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
  q->add_flag("--no-verify", query->no_verify, "Skip the payload checksum and per-entry structure checks (header and sizes are still checked); only for snapshots you wrote");

  auto bench = std::make_shared<IndexBenchArgs>();
  CLI::App* be = cmd->add_subcommand("bench", "Benchmark the index against brute force and FAISS on PDQ-like data");
  RegisterIndexBenchOptions(*be, *bench);

  return [b, q, be, build, query, bench]() -> int {
    if (b->parsed()) return RunBuild(*build);
    if (q->parsed()) return RunQuery(*query);
    if (be->parsed()) return RunIndexBench(*bench);
    return -1;
  };
}

}  // namespace vigil::cli
