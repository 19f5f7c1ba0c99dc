// A small SVG chart writer for the evaluation and transparency reports: line charts (linear or
// log axes), grouped horizontal bars and stacked columns over categories (months), with axes,
// ticks, a legend and a title. Text only; no dependencies; readable without JavaScript.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vigil::charts {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y)
};

struct LineChartSpec {
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  bool log_x = false, log_y = false;
  std::vector<double> x_marks;  // vertical reference lines (e.g. the operating threshold)
};

std::string LineChart(const LineChartSpec& spec, const std::vector<Series>& series);

// One row per label, one bar per series in each row (values 0..max).
struct BarChartSpec {
  std::string title, value_label;
  double max = 1;
};
std::string BarChart(const BarChartSpec& spec, const std::vector<std::string>& labels,
                     const std::vector<Series>& series);  // series[s].points[row].second is the value

// Stacked columns, one per category (a month), one segment per series; the total above each.
struct ColumnChartSpec {
  std::string title, value_label;
};
std::string ColumnChart(const ColumnChartSpec& spec, const std::vector<std::string>& categories,
                        const std::vector<Series>& series);  // series[s].points[c].second is the value

}  // namespace vigil::charts
