// `vigil eval`: detection quality on a folder of benign images. Every original is normalised (its
// longer side at most max_side), stored losslessly and hashed as a listed item; every transform of
// it is hashed as an upload; recall per transform and measure is the share of uploads within a
// threshold of their own original. False positives are every ordered pair of distinct originals
// (one as the upload, the other as the listed item) and every distractor against every original.
// Deterministic for a seed, parallel, with a progress callback.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "vigil/status.h"

namespace vigil::eval {

struct EvalOptions {
  std::filesystem::path corpus;
  std::filesystem::path distractors;  // empty: a seeded share of the corpus is held out instead
  double distractor_share = 1.0 / 3;  // when there is no distractor folder
  std::vector<std::string> transforms;  // empty: the default suite
  std::uint64_t seed = 1;
  unsigned threads = 0;       // 0: every core
  int max_side = 1024;        // originals larger than this are shrunk first (uploads rarely exceed it)
  std::size_t limit = 0;      // at most this many originals (0: all), a seeded sample
  int min_quality = 50;       // Meta's advice: uploads below are not matched
  double target_fpr = 1e-6;   // the operating point reported beside the fixed thresholds
  std::vector<double> crop_shares = {0.05, 0.10};  // the crops measure: central crops per side
  bool full_resolution = false;  // PDQ without the reference CLI's 512x512 nearest-neighbour pre-resize
  // Corpora hold the same picture twice (a 2x rendering beside the 1x one): images whose plain PDQ
  // is within this of an earlier original are the same item, not false positives, and are left
  // out (listed in the report). -1: keep everything.
  int dedupe_distance = 16;
};

struct TransformResult {
  std::string name, family;
  std::map<Measure, Histogram> distances;  // upload vs its own original
};

struct EvalResults {
  EvalOptions options;
  std::size_t originals = 0, distractors = 0, skipped = 0;
  std::vector<std::string> skipped_files;  // unreadable, with the reason
  std::vector<TransformResult> transforms;
  std::map<Measure, Histogram> original_pairs;    // distinct originals, ordered pairs
  std::map<Measure, Histogram> distractor_pairs;  // distractor vs original
  std::size_t trimmed_originals = 0;              // originals in which borders were found
  std::size_t low_quality_originals = 0;          // left out: PDQ quality below the floor
  std::vector<std::tuple<int, std::string, std::string>> duplicates;  // left out: (distance, kept, dropped)
  // The closest pairs of distinct originals (plain PDQ), for a person to check for duplicates.
  std::vector<std::tuple<int, std::string, std::string>> closest_pairs;
  double seconds = 0;
};

using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

Result<EvalResults> RunEvaluation(const EvalOptions& options, const ProgressFn& progress = {});

}  // namespace vigil::eval
