// `vigil eval`: detection quality on a folder of benign images (recall per transform, false
// positives per pair, plots), written to OUT/results.json and OUT/report.md.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "eval/evaluation.h"
#include "eval/report.h"
#include "eval/transforms.h"

namespace vigil::cli {
namespace {

struct EvalArgs {
  eval::EvalOptions options;
  std::string out;
  std::string transforms;
  bool list = false;
  bool quiet = false;
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int RunEval(EvalArgs& a, const std::string& command) {
  if (a.list) {
    for (const auto& t : eval::DefaultTransforms()) std::printf("%-26s %-11s %s\n", t.name.c_str(), t.family.c_str(), t.description.c_str());
    return 0;
  }
  if (a.options.corpus.empty() || a.out.empty()) {
    std::fprintf(stderr, "vigil eval: --corpus and --out are required (--list-transforms shows the suite)\n");
    return 2;
  }
  // A family name stands for its transforms: --transforms crop,jpeg_q70.
  for (const auto& item : SplitList(a.transforms)) {
    bool family = false;
    for (const auto& t : eval::DefaultTransforms()) {
      if (t.family == item) {
        a.options.transforms.push_back(t.name);
        family = true;
      }
    }
    if (!family) a.options.transforms.push_back(item);
  }
  std::unique_ptr<ProgressBar> bar;
  auto results = eval::RunEvaluation(a.options, [&](std::size_t done, std::size_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>(total, "evaluating", !a.quiet && isatty(STDERR_FILENO));
    bar->Update(done, 0);
  });
  if (bar) bar->Finish();
  if (!results) {
    std::fprintf(stderr, "vigil eval: %s\n", results.error().ToString().c_str());
    return 1;
  }
  if (auto written = eval::WriteReport(*results, a.out, command); !written) {
    std::fprintf(stderr, "vigil eval: %s\n", written.error().ToString().c_str());
    return 1;
  }
  std::printf("%s/report.md, %s/results.json: %zu originals, %zu distractors, %zu transforms, %.0f s\n", a.out.c_str(),
              a.out.c_str(), results->originals, results->distractors, results->transforms.size(), results->seconds);
  return 0;
}

}  // namespace

Action RegisterEvalCommand(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", kEvalSummary);
  cmd->footer(
      "Writes OUT/results.json (per transform: recall at thresholds \"8\"..\"120\" for each measure: pdq, dihedral,\n"
      "trim, crops, all; false-positive rates per pair) and OUT/report.md with SVG plots. Build a corpus with\n"
      "../shared/corpus/build-corpus.sh DIR and pass DIR/images. See docs/evaluation.md.");
  cmd->add_option("--corpus", a->options.corpus, "Folder of benign images (walked recursively)");
  cmd->add_option("--out", a->out, "Output folder");
  cmd->add_option("--distractors", a->options.distractors,
                  "Second, disjoint folder of non-matching images (default: a seeded third of the corpus)");
  cmd->add_option("--transforms", a->transforms, "Comma-separated transforms or families (default: the whole suite)");
  cmd->add_option("--seed", a->options.seed, "Seed for sampling and transform parameters")->capture_default_str();
  cmd->add_option("--limit", a->options.limit, "At most this many originals (and distractors); 0 = all")
      ->capture_default_str();
  cmd->add_option("--max-side", a->options.max_side, "Shrink originals whose longer side exceeds this")->capture_default_str();
  cmd->add_option("--min-quality", a->options.min_quality, "Uploads below this PDQ quality are not matched")
      ->capture_default_str();
  cmd->add_option("--dedupe-distance", a->options.dedupe_distance,
                  "Images within this plain-PDQ distance of an earlier original are the same picture: left out (-1: keep)")
      ->capture_default_str();
  cmd->add_option("--target-fpr", a->options.target_fpr, "False-positive rate per pair of the reported operating point")
      ->capture_default_str();
  cmd->add_flag("--full-resolution", a->options.full_resolution,
                "Hash at full resolution (HMA's Python binding) instead of the reference CLI's 512x512 pre-resize");
  cmd->add_option("-j,--jobs", a->options.threads, "Worker threads (default: all cores)");
  cmd->add_flag("--list-transforms", a->list, "Print the transform suite and exit");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress bar");
  return [cmd, a]() -> int {
    if (!cmd->parsed()) return -1;
    std::string command = "vigil eval";
    if (!a->options.corpus.empty()) command += " --corpus " + a->options.corpus.string();
    if (!a->options.distractors.empty()) command += " --distractors " + a->options.distractors.string();
    if (!a->transforms.empty()) command += " --transforms " + a->transforms;
    command += " --seed " + std::to_string(a->options.seed);
    if (a->options.limit) command += " --limit " + std::to_string(a->options.limit);
    if (a->options.full_resolution) command += " --full-resolution";
    command += " --out " + a->out;
    return RunEval(*a, command);
  };
}

}  // namespace vigil::cli
