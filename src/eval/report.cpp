// results.json, report.md and the plots (see report.h).
#include "eval/report.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "charts/svg_chart.h"
#include "eval/transforms.h"

namespace vigil::eval {
namespace {

using charts::BarChart;
using charts::BarChartSpec;
using charts::LineChart;
using charts::LineChartSpec;
using charts::Series;

// Thorn's `perception` benchmark on 3,854 benign images, PDQ at a threshold chosen for >= 99.99%
// precision (the anchor figures).
const std::vector<std::pair<std::string, double>> kAnchor = {
    {"blur", 99.95}, {"jpeg", 99.90}, {"rotate_4", 54.49}, {"crop_5", 9.03}, {"pad_20", 1.35}, {"overall", 77.18}};

std::string Pct(double share) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * share);
  return b;
}

std::string Sci(double v) {
  char b[32];
  if (v == 0) return "0";
  std::snprintf(b, sizeof b, "%.2e", v);
  return b;
}

Status WriteFile(const std::filesystem::path& path, const std::string& text) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) return Fail(ErrorCode::kIoError, tmp + ": cannot write");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Fail(ErrorCode::kIoError, path.string() + ": " + ec.message());
  return {};
}

// Pooled recall of a set of transforms at a threshold.
double PooledRate(const std::vector<TransformResult>& transforms, Measure m, int threshold,
                  const std::set<std::string>& families = {}) {
  Histogram pooled;
  for (const auto& t : transforms) {
    if (!families.empty() && !families.count(t.family)) continue;
    pooled.Merge(t.distances.at(m));
  }
  return pooled.RateAt(threshold);
}

}  // namespace

const std::vector<int>& ReportThresholds() {
  static const std::vector<int> kThresholds = {8, 16, 24, 31, 40, 48, 56, 63, 72, 80, 90, 100, 110, 120};
  return kThresholds;
}

Status WriteReport(const EvalResults& r, const std::filesystem::path& out_dir, const std::string& command) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Fail(ErrorCode::kIoError, out_dir.string() + ": " + ec.message());
  const auto& o = r.options;

  // The operating point: per measure, the largest threshold whose rate over distinct originals
  // stays at or below the target.
  std::map<Measure, int> operating;
  for (Measure m : kMeasures) operating[m] = ThresholdForRate(r.original_pairs.at(m), o.target_fpr);

  // ---- results.json
  namespace json = boost::json;
  json::object root;
  root["config"] = json::object{{"corpus", o.corpus.string()},
                                {"distractors", o.distractors.empty() ? "held-out share of the corpus" : o.distractors.string()},
                                {"seed", o.seed},
                                {"max_side", o.max_side},
                                {"min_quality", o.min_quality},
                                {"target_fpr", o.target_fpr},
                                {"command", command}};
  root["originals"] = r.originals;
  root["distractors"] = r.distractors;
  root["skipped"] = r.skipped;
  root["original_pairs"] = r.original_pairs.at(Measure::kPlain).total;
  root["distractor_pairs"] = r.distractor_pairs.empty() ? 0 : r.distractor_pairs.at(Measure::kPlain).total;
  root["seconds"] = r.seconds;
  json::object op;
  for (Measure m : kMeasures) {
    op[MeasureName(m)] = json::object{{"threshold", operating[m]},
                                      {"fpr", operating[m] < 0 ? 0.0 : r.original_pairs.at(m).RateAt(operating[m])}};
  }
  root["operating_point"] = std::move(op);
  json::object transforms;
  for (const auto& t : r.transforms) {
    json::object entry{{"family", t.family}};
    json::object at_target;
    for (Measure m : kMeasures) {
      json::object by_threshold;
      for (int th : ReportThresholds()) by_threshold[std::to_string(th)] = t.distances.at(m).RateAt(th);
      entry[MeasureName(m)] = std::move(by_threshold);
      at_target[MeasureName(m)] = operating[m] < 0 ? 0.0 : t.distances.at(m).RateAt(operating[m]);
    }
    entry["at_target_fpr"] = std::move(at_target);
    transforms[t.name] = std::move(entry);
  }
  root["transforms"] = std::move(transforms);
  auto rates = [&](const std::map<Measure, Histogram>& pairs) {
    json::object out;
    for (const auto& [m, h] : pairs) {
      json::object by_threshold;
      for (int th : ReportThresholds()) by_threshold[std::to_string(th)] = h.RateAt(th);
      out[MeasureName(m)] = std::move(by_threshold);
    }
    return out;
  };
  root["false_positive_rate"] = rates(r.original_pairs);
  root["distractor_false_positive_rate"] = rates(r.distractor_pairs);
  json::object histograms;
  for (Measure m : kMeasures) {
    Histogram matching;
    for (const auto& t : r.transforms) matching.Merge(t.distances.at(m));
    json::array same, different;
    for (auto c : matching.counts) same.push_back(c);
    for (auto c : r.original_pairs.at(m).counts) different.push_back(c);
    histograms[MeasureName(m)] = json::object{{"matching", std::move(same)}, {"non_matching", std::move(different)}};
  }
  root["histograms"] = std::move(histograms);
  json::array closest;
  for (const auto& [d, a, b] : r.closest_pairs) closest.push_back(json::object{{"distance", d}, {"a", a}, {"b", b}});
  root["closest_original_pairs"] = std::move(closest);
  json::array skipped;
  for (const auto& s : r.skipped_files) skipped.emplace_back(s);
  root["skipped_files"] = std::move(skipped);
  json::array duplicates;
  for (const auto& [d, kept, dropped] : r.duplicates) {
    duplicates.push_back(json::object{{"distance", d}, {"kept", kept}, {"dropped", dropped}});
  }
  root["duplicates_left_out"] = std::move(duplicates);
  VIGIL_TRY(WriteFile(out_dir / "results.json", json::serialize(root) + "\n"));

  // ---- plots
  std::set<std::string> families;
  for (const auto& t : r.transforms) families.insert(t.family);
  {
    std::vector<Series> series;
    for (const auto& family : families) {
      Series s{family, {}};
      for (int th = 0; th <= 128; th += 2) s.points.emplace_back(th, PooledRate(r.transforms, Measure::kPlain, th, {family}));
      series.push_back(std::move(s));
    }
    LineChartSpec spec{"Recall of plain PDQ by transform family", "distance threshold", "recall", 0, 128, 0, 1,
                       false, false, {}};
    if (operating[Measure::kPlain] >= 0) spec.x_marks = {static_cast<double>(operating[Measure::kPlain])};
    VIGIL_TRY(WriteFile(out_dir / "recall_by_family.svg", LineChart(spec, series)));
  }
  {
    Histogram matching;
    for (const auto& t : r.transforms) matching.Merge(t.distances.at(Measure::kPlain));
    auto shares = [](const Histogram& h) {
      std::vector<std::pair<double, double>> pts;
      for (int d = 0; d <= 256; d += 2) {
        const double n = static_cast<double>(h.counts[static_cast<std::size_t>(d)] +
                                             (d + 1 <= 256 ? h.counts[static_cast<std::size_t>(d + 1)] : 0));
        pts.emplace_back(d, h.total ? n / static_cast<double>(h.total) : 0);
      }
      return pts;
    };
    LineChartSpec spec{"Plain PDQ distances: an image and its transform vs distinct images", "Hamming distance",
                       "share of pairs", 0, 256, 1e-9, 1, false, true, {}};
    spec.x_marks = {31};
    VIGIL_TRY(WriteFile(out_dir / "distances.svg",
                        LineChart(spec, {{"transformed copy", shares(matching)},
                                         {"distinct originals", shares(r.original_pairs.at(Measure::kPlain))}})));
  }
  {
    std::vector<Series> series;
    for (Measure m : kMeasures) {
      Series s{MeasureName(m), {}};
      for (int th = 0; th <= 128; ++th) {
        const double fpr = r.original_pairs.at(m).RateAt(th);
        if (fpr <= 0) continue;
        s.points.emplace_back(fpr, PooledRate(r.transforms, m, th));
      }
      series.push_back(std::move(s));
    }
    LineChartSpec spec{"Trade-off: recall over all transforms vs false positives per pair", "false-positive rate per pair",
                       "recall", 1e-8, 1, 0, 1, true, false, {}};
    spec.x_marks = {o.target_fpr};
    VIGIL_TRY(WriteFile(out_dir / "tradeoff.svg", LineChart(spec, series)));
  }
  {
    std::vector<std::string> labels;
    std::vector<Series> series;
    for (Measure m : {Measure::kPlain, Measure::kAll}) series.push_back({std::string(MeasureName(m)), {}});
    for (const auto& t : r.transforms) {
      labels.push_back(t.name);
      for (std::size_t k = 0; k < series.size(); ++k) {
        const Measure m = k == 0 ? Measure::kPlain : Measure::kAll;
        series[k].points.emplace_back(0, operating[m] < 0 ? 0 : t.distances.at(m).RateAt(operating[m]));
      }
    }
    VIGIL_TRY(WriteFile(out_dir / "recall_by_transform.svg",
                        BarChart({"Recall per transform at false-positive rate <= " + Sci(o.target_fpr), "recall", 1},
                                 labels, series)));
  }

  // ---- report.md
  std::string md = "# Detection quality of PDQ and Vigil's added measures\n\n";
  md += "Reproduce: `" + command + "`\n\n";
  md += std::to_string(r.originals) + " originals and " + std::to_string(r.distractors) +
        " distractors (" + (o.distractors.empty() ? "a seeded held-out share of the corpus" : o.distractors.string()) +
        "), " + std::to_string(r.transforms.size()) + " transforms, longer side at most " + std::to_string(o.max_side) +
        " px; " + std::to_string(r.original_pairs.at(Measure::kPlain).total) + " ordered pairs of distinct originals and " +
        std::to_string(r.distractor_pairs.empty() ? 0 : r.distractor_pairs.at(Measure::kPlain).total) +
        " distractor pairs; uploads of PDQ quality < " + std::to_string(o.min_quality) +
        " are not matched (Meta's advice). Seed " + std::to_string(o.seed) + ", " + std::to_string(static_cast<int>(r.seconds)) +
        " s. Borders were found in " + std::to_string(r.trimmed_originals) + " originals; " +
        std::to_string(r.low_quality_originals) + " originals hash at quality < " + std::to_string(o.min_quality) +
        " and are left out (lists leave such hashes out: nothing would match them).\n\n";
  if (!r.duplicates.empty()) {
    md += std::to_string(r.duplicates.size()) + " images were the same picture as an earlier original (plain PDQ within " +
          std::to_string(o.dedupe_distance) + ") and are left out, not counted as false positives:\n\n";
    for (const auto& [d, kept, dropped] : r.duplicates) {
      md += "- " + std::to_string(d) + ": `" + dropped + "` (same as `" + kept + "`)\n";
    }
    md += "\n";
  }
  md += "Measures: **pdq** the reference hash alone; **dihedral** also the upload's 8 rotations/flips; **trim** also the "
        "upload's hash inside detected borders; **crops** also the listed item's central crops (";
  for (double s : o.crop_shares) md += Pct(s) + " ";
  md += "per side; needs the listed media); **all** every combination.\n\n";
  md += "## Operating points (false positives per pair of distinct originals <= " + Sci(o.target_fpr) + ")\n\n";
  md += "| measure | threshold | FPR, distinct originals | FPR, distractors | recall, all transforms |\n|---|---|---|---|---|\n";
  for (Measure m : kMeasures) {
    const int th = operating[m];
    md += std::string("| ") + MeasureName(m) + " | " + std::to_string(th) + " | " +
          Sci(th < 0 ? 0 : r.original_pairs.at(m).RateAt(th)) + " | " +
          Sci(th < 0 || r.distractor_pairs.empty() ? 0 : r.distractor_pairs.at(m).RateAt(th)) + " | " +
          Pct(th < 0 ? 0 : PooledRate(r.transforms, m, th)) + " |\n";
  }
  md += "\n![trade-off](tradeoff.svg)\n\n## Recall per transform\n\nAt each measure's operating point above, and for "
        "plain PDQ at Meta's threshold 31:\n\n| transform | family | pdq @31 | pdq | dihedral | trim | crops | all |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const auto& t : r.transforms) {
    md += "| " + t.name + " | " + t.family + " | " + Pct(t.distances.at(Measure::kPlain).RateAt(31));
    for (Measure m : kMeasures) md += " | " + Pct(operating[m] < 0 ? 0 : t.distances.at(m).RateAt(operating[m]));
    md += " |\n";
  }
  md += "\n![recall per transform](recall_by_transform.svg)\n\n![recall by family](recall_by_family.svg)\n\n";
  md += "## Beside Thorn's anchor\n\nThorn's `perception` benchmark (3,854 benign images, PDQ, threshold for >= 99.99% "
        "precision) against ours at the operating point. The precision target and ours (false positives per pair) are "
        "not the same quantity, and the transform parameters differ in detail; the families line up.\n\n"
        "| transform | Thorn PDQ | Vigil pdq | Vigil all |\n|---|---|---|---|\n";
  auto rate_of = [&](const std::string& name, Measure m) -> double {
    if (operating[m] < 0) return 0;
    if (name == "overall") return PooledRate(r.transforms, m, operating[m]);
    if (name == "blur" || name == "jpeg") return PooledRate(r.transforms, m, operating[m], {name});
    for (const auto& t : r.transforms) {
      if (t.name == name) return t.distances.at(m).RateAt(operating[m]);
    }
    return -1;
  };
  for (const auto& [name, thorn] : kAnchor) {
    const double plain = rate_of(name, Measure::kPlain), all = rate_of(name, Measure::kAll);
    if (plain < 0) continue;
    char row[200];
    std::snprintf(row, sizeof row, "| %s | %.2f%% | %s | %s |\n", name.c_str(), thorn, Pct(plain).c_str(), Pct(all).c_str());
    md += row;
  }
  md += "\n## Distances\n\n![distances](distances.svg)\n\nFalse-positive rate per pair at each threshold:\n\n| threshold |";
  for (Measure m : kMeasures) md += std::string(" ") + MeasureName(m) + " |";
  md += " distractors (pdq) |\n|---|";
  for (std::size_t i = 0; i <= std::size(kMeasures); ++i) md += "---|";
  md += "\n";
  for (int th : ReportThresholds()) {
    md += "| " + std::to_string(th) + " |";
    for (Measure m : kMeasures) md += " " + Sci(r.original_pairs.at(m).RateAt(th)) + " |";
    md += " " + Sci(r.distractor_pairs.empty() ? 0 : r.distractor_pairs.at(Measure::kPlain).RateAt(th)) + " |\n";
  }
  md += "\nClosest distinct originals (plain PDQ), to check by eye for duplicates in the corpus:\n\n";
  for (const auto& [d, a, b] : r.closest_pairs) md += "- " + std::to_string(d) + ": `" + a + "` and `" + b + "`\n";
  if (!r.skipped_files.empty()) {
    md += "\nSkipped (unreadable): " + std::to_string(r.skipped_files.size()) + " files (listed in results.json).\n";
  }
  return WriteFile(out_dir / "report.md", md);
}

}  // namespace vigil::eval
