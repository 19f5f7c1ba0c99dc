// SVG charts (see svg_chart.h).
#include "charts/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vigil::charts {
namespace {

constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

std::string Num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string Label(double v) {
  char b[32];
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e5)) std::snprintf(b, sizeof b, "1e%d", static_cast<int>(std::lround(std::log10(std::abs(v)))));
  else std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace

std::string LineChart(const LineChartSpec& spec, const std::vector<Series>& series) {
  const double width = 760, height = 440, left = 70, right = 180, top = 40, bottom = 60;
  const double pw = width - left - right, ph = height - top - bottom;
  auto tx = [&](double v) {
    double a = spec.x_min, b = spec.x_max;
    if (spec.log_x) v = std::log10(std::max(v, a)), a = std::log10(a), b = std::log10(b);
    return left + (v - a) / (b - a) * pw;
  };
  auto ty = [&](double v) {
    double a = spec.y_min, b = spec.y_max;
    if (spec.log_y) v = std::log10(std::max(v, a)), a = std::log10(a), b = std::log10(b);
    return top + ph - (v - a) / (b - a) * ph;
  };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Num(width) + "\" height=\"" + Num(height) +
                  "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + Num(width / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + Escape(spec.title) + "</text>\n";
  // Ticks: decades on log axes, fifths on linear ones.
  auto ticks = [](double a, double b, bool log) {
    std::vector<double> t;
    if (log) {
      for (double p = std::floor(std::log10(a)); p <= std::ceil(std::log10(b)); ++p) {
        if (std::pow(10, p) >= a && std::pow(10, p) <= b) t.push_back(std::pow(10, p));
      }
    } else {
      for (int i = 0; i <= 5; ++i) t.push_back(a + (b - a) * i / 5);
    }
    return t;
  };
  for (double v : ticks(spec.x_min, spec.x_max, spec.log_x)) {
    s += "<line x1=\"" + Num(tx(v)) + "\" y1=\"" + Num(top) + "\" x2=\"" + Num(tx(v)) + "\" y2=\"" + Num(top + ph) +
         "\" stroke=\"#eee\"/><text x=\"" + Num(tx(v)) + "\" y=\"" + Num(top + ph + 16) +
         "\" text-anchor=\"middle\">" + Label(v) + "</text>\n";
  }
  for (double v : ticks(spec.y_min, spec.y_max, spec.log_y)) {
    s += "<line x1=\"" + Num(left) + "\" y1=\"" + Num(ty(v)) + "\" x2=\"" + Num(left + pw) + "\" y2=\"" + Num(ty(v)) +
         "\" stroke=\"#eee\"/><text x=\"" + Num(left - 6) + "\" y=\"" + Num(ty(v) + 4) + "\" text-anchor=\"end\">" +
         Label(v) + "</text>\n";
  }
  s += "<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" + Num(pw) + "\" height=\"" + Num(ph) +
       "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double mark : spec.x_marks) {
    s += "<line x1=\"" + Num(tx(mark)) + "\" y1=\"" + Num(top) + "\" x2=\"" + Num(tx(mark)) + "\" y2=\"" + Num(top + ph) +
         "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n";
  }
  s += "<text x=\"" + Num(left + pw / 2) + "\" y=\"" + Num(height - 18) + "\" text-anchor=\"middle\">" +
       Escape(spec.x_label) + "</text>\n";
  s += "<text transform=\"translate(16," + Num(top + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       Escape(spec.y_label) + "</text>\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const char* colour = kColours[i % std::size(kColours)];
    std::string path;
    for (const auto& [x, y] : series[i].points) {
      if (spec.log_y && y <= 0) continue;
      path += (path.empty() ? "M" : " L") + Num(tx(x)) + "," + Num(ty(std::clamp(y, spec.y_min, spec.y_max)));
    }
    s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"/>\n";
    const double ly = top + 10 + static_cast<double>(i) * 18;
    s += "<line x1=\"" + Num(left + pw + 12) + "\" y1=\"" + Num(ly) + "\" x2=\"" + Num(left + pw + 32) + "\" y2=\"" +
         Num(ly) + "\" stroke=\"" + colour + "\" stroke-width=\"3\"/><text x=\"" + Num(left + pw + 38) + "\" y=\"" +
         Num(ly + 4) + "\">" + Escape(series[i].name) + "</text>\n";
  }
  return s + "</svg>\n";
}

// A legend of colour swatches and series names, to the right of a plot ending at `x`.
std::string SwatchLegend(const std::vector<Series>& series, double x, double top) {
  std::string s;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const double ly = top + 10 + static_cast<double>(k) * 18;
    s += "<rect x=\"" + Num(x + 14) + "\" y=\"" + Num(ly - 6) + "\" width=\"14\" height=\"10\" fill=\"" +
         kColours[k % std::size(kColours)] + "\"/><text x=\"" + Num(x + 34) + "\" y=\"" + Num(ly + 3) + "\">" +
         Escape(series[k].name) + "</text>\n";
  }
  return s;
}

std::string BarChart(const BarChartSpec& spec, const std::vector<std::string>& labels, const std::vector<Series>& series) {
  const double left = 190, right = 150, top = 40, row = 8.0 * static_cast<double>(std::max<std::size_t>(1, series.size())) + 8;
  const double pw = 420, height = top + row * static_cast<double>(labels.size()) + 50, width = left + pw + right;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Num(width) + "\" height=\"" + Num(height) +
                  "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + Num(width / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + Escape(spec.title) + "</text>\n";
  for (int i = 0; i <= 5; ++i) {
    const double x = left + pw * i / 5;
    s += "<line x1=\"" + Num(x) + "\" y1=\"" + Num(top) + "\" x2=\"" + Num(x) + "\" y2=\"" +
         Num(top + row * static_cast<double>(labels.size())) + "\" stroke=\"#eee\"/><text x=\"" + Num(x) + "\" y=\"" +
         Num(top + row * static_cast<double>(labels.size()) + 14) + "\" text-anchor=\"middle\">" +
         Label(spec.max * i / 5) + "</text>\n";
  }
  s += "<text x=\"" + Num(left + pw / 2) + "\" y=\"" + Num(height - 12) + "\" text-anchor=\"middle\">" +
       Escape(spec.value_label) + "</text>\n";
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const double y0 = top + row * static_cast<double>(r);
    s += "<text x=\"" + Num(left - 6) + "\" y=\"" + Num(y0 + row / 2 + 3) + "\" text-anchor=\"end\">" + Escape(labels[r]) +
         "</text>\n";
    for (std::size_t k = 0; k < series.size(); ++k) {
      if (r >= series[k].points.size()) continue;
      const double v = std::clamp(series[k].points[r].second, 0.0, spec.max);
      s += "<rect x=\"" + Num(left) + "\" y=\"" + Num(y0 + 4 + 8.0 * static_cast<double>(k)) + "\" width=\"" +
           Num(pw * v / spec.max) + "\" height=\"7\" fill=\"" + kColours[k % std::size(kColours)] + "\"/>\n";
    }
  }
  s += SwatchLegend(series, left + pw, top);
  return s + "</svg>\n";
}

std::string ColumnChart(const ColumnChartSpec& spec, const std::vector<std::string>& categories,
                        const std::vector<Series>& series) {
  const double left = 70, right = 170, top = 44, ph = 220, bottom = 56;
  const double column = std::max(18.0, std::min(56.0, 640.0 / static_cast<double>(std::max<std::size_t>(1, categories.size()))));
  const double pw = column * static_cast<double>(categories.size());
  const double width = left + pw + right, height = top + ph + bottom;
  std::vector<double> totals(categories.size(), 0);
  for (const auto& s : series) {
    for (std::size_t c = 0; c < categories.size() && c < s.points.size(); ++c) totals[c] += std::max(0.0, s.points[c].second);
  }
  double max = 1;
  for (double t : totals) max = std::max(max, t);
  // A round tick step (1, 2, 2.5 or 5 times a power of ten) giving at most five steps to the top.
  const double magnitude = std::pow(10, std::floor(std::log10(max)) - 1);
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0}) {
    step = m * magnitude;
    if (std::ceil(max / step) <= 5) break;
  }
  // Counts get whole-number ticks.
  const bool counts = std::all_of(totals.begin(), totals.end(), [](double t) { return t == std::floor(t); });
  if (counts && step < 1) step = 1;
  const int ticks = std::max(1, static_cast<int>(std::ceil(max / step - 1e-9)));
  const double top_value = step * ticks;
  auto ty = [&](double v) { return top + ph - ph * v / top_value; };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Num(width) + "\" height=\"" + Num(height) +
                  "\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\">\n<title>" + Escape(spec.title) +
                  "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + Num(left + pw / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + Escape(spec.title) +
       "</text>\n";
  for (int i = 0; i <= ticks; ++i) {
    const double v = step * i;
    s += "<line x1=\"" + Num(left) + "\" y1=\"" + Num(ty(v)) + "\" x2=\"" + Num(left + pw) + "\" y2=\"" + Num(ty(v)) +
         "\" stroke=\"#eee\"/><text x=\"" + Num(left - 6) + "\" y=\"" + Num(ty(v) + 4) + "\" text-anchor=\"end\">" +
         Label(v) + "</text>\n";
  }
  s += "<text transform=\"translate(16," + Num(top + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       Escape(spec.value_label) + "</text>\n";
  for (std::size_t c = 0; c < categories.size(); ++c) {
    const double x = left + column * static_cast<double>(c);
    double base = 0;
    for (std::size_t k = 0; k < series.size(); ++k) {
      if (c >= series[k].points.size()) continue;
      const double v = std::max(0.0, series[k].points[c].second);
      if (v <= 0) continue;
      s += "<rect x=\"" + Num(x + column * 0.15) + "\" y=\"" + Num(ty(base + v)) + "\" width=\"" + Num(column * 0.7) +
           "\" height=\"" + Num(ty(base) - ty(base + v)) + "\" fill=\"" + kColours[k % std::size(kColours)] + "\"><title>" +
           Escape(categories[c] + " " + series[k].name + ": " + Label(v)) + "</title></rect>\n";
      base += v;
    }
    s += "<text x=\"" + Num(x + column / 2) + "\" y=\"" + Num(ty(totals[c]) - 4) + "\" text-anchor=\"middle\" font-size=\"9\">" +
         Label(totals[c]) + "</text>\n";
    s += "<text transform=\"translate(" + Num(x + column / 2 + 3) + "," + Num(top + ph + 10) +
         ") rotate(45)\" font-size=\"10\">" + Escape(categories[c]) + "</text>\n";
  }
  s += "<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" + Num(pw) + "\" height=\"" + Num(ph) +
       "\" fill=\"none\" stroke=\"#444\"/>\n";
  s += SwatchLegend(series, left + pw, top);
  return s + "</svg>\n";
}

}  // namespace vigil::charts
