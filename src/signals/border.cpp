// Border detection (see include/vigil/border.h). Works on a luma plane: for each row and column it
// measures the spread of values (solid lines have almost none) and the detail (mean absolute
// difference between neighbours; blurred fill has little). Walking in from each edge, lines that
// are solid and close to the edge's colour, or whose detail is a small share of the content's, are
// border; the walk stops at the first line of content.
#include "vigil/border.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace vigil {
namespace {

struct LineStats {
  double mean = 0, stddev = 0, detail = 0;
};

std::vector<float> Luma(const Image& image) {
  std::vector<float> luma(static_cast<std::size_t>(image.width) * image.height);
  for (std::uint32_t y = 0; y < image.height; ++y) {
    const std::uint8_t* row = image.Row(y);
    float* out = luma.data() + static_cast<std::size_t>(y) * image.width;
    for (std::uint32_t x = 0; x < image.width; ++x) {
      out[x] = image.channels == 3 ? 0.299f * row[3 * x] + 0.587f * row[3 * x + 1] + 0.114f * row[3 * x + 2]
                                   : static_cast<float>(row[x]);
    }
  }
  return luma;
}

// Stats of n samples at `first`, `step` apart.
LineStats Line(const float* first, std::size_t n, std::size_t step) {
  LineStats s;
  double sum = 0, sum2 = 0, detail = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = first[i * step];
    sum += v;
    sum2 += v * v;
    if (i > 0) detail += std::abs(v - static_cast<double>(first[(i - 1) * step]));
  }
  s.mean = sum / static_cast<double>(n);
  s.stddev = std::sqrt(std::max(0.0, sum2 / static_cast<double>(n) - s.mean * s.mean));
  s.detail = n > 1 ? detail / static_cast<double>(n - 1) : 0;
  return s;
}

// How many lines from the start of `lines` are border.
std::uint32_t Walk(const std::vector<LineStats>& lines, bool reverse, double content_detail, const BorderOptions& o) {
  const std::size_t n = lines.size();
  const auto limit = static_cast<std::size_t>(o.max_fraction * static_cast<double>(n));
  const LineStats& edge = lines[reverse ? n - 1 : 0];
  std::size_t count = 0;
  while (count < limit) {
    const LineStats& line = lines[reverse ? n - 1 - count : count];
    const bool solid = line.stddev < o.solid_stddev && std::abs(line.mean - edge.mean) < o.solid_drift;
    const bool blurred = content_detail > 0 && line.detail < o.blur_ratio * content_detail;
    if (!solid && !blurred) break;
    ++count;
  }
  if (static_cast<double>(count) < o.min_fraction * static_cast<double>(n)) return 0;
  return static_cast<std::uint32_t>(count);
}

double MedianDetail(std::vector<LineStats> lines) {
  // The middle half of the lines stands for the content.
  const std::size_t n = lines.size();
  std::vector<double> detail;
  for (std::size_t i = n / 4; i < n - n / 4; ++i) detail.push_back(lines[i].detail);
  if (detail.empty()) return 0;
  std::nth_element(detail.begin(), detail.begin() + static_cast<std::ptrdiff_t>(detail.size() / 2), detail.end());
  return detail[detail.size() / 2];
}

// Mean absolute difference between consecutive lines: steps[k] compares line k-1 and line k.
std::vector<double> LineSteps(const std::vector<float>& luma, std::size_t w, std::size_t h, bool rows) {
  const std::size_t lines = rows ? h : w, length = rows ? w : h;
  std::vector<double> steps(lines, 0);
  for (std::size_t k = 1; k < lines; ++k) {
    double sum = 0;
    for (std::size_t i = 0; i < length; ++i) {
      const float a = rows ? luma[(k - 1) * w + i] : luma[i * w + k - 1];
      const float b = rows ? luma[k * w + i] : luma[i * w + k];
      sum += std::abs(static_cast<double>(a) - static_cast<double>(b));
    }
    steps[k] = sum / static_cast<double>(length);
  }
  return steps;
}

// Where a pasted picture meets what surrounds it, consecutive lines differ far more than anywhere
// inside a picture: the strongest such step within the border zone of each side, if it stands out.
std::uint32_t StrongestStep(const std::vector<double>& steps, bool reverse, const BorderOptions& o) {
  const std::size_t n = steps.size();
  std::vector<double> inner(steps.begin() + static_cast<std::ptrdiff_t>(n / 4),
                            steps.end() - static_cast<std::ptrdiff_t>(n / 4));
  if (inner.empty()) return 0;
  std::nth_element(inner.begin(), inner.begin() + static_cast<std::ptrdiff_t>(inner.size() / 2), inner.end());
  const double typical = std::max(1.0, inner[inner.size() / 2]);
  const auto first = static_cast<std::size_t>(std::ceil(o.min_fraction * static_cast<double>(n)));
  const auto last = static_cast<std::size_t>(o.max_fraction * static_cast<double>(n));
  std::size_t best = 0;
  double best_step = 0;
  for (std::size_t k = first; k <= last && k < n; ++k) {
    // A border of k lines: the step between lines k-1 and k (from the start) or n-k-1 and n-k.
    const double step = reverse ? steps[n - k] : steps[k];
    if (step > best_step) best_step = step, best = k;
  }
  return best_step > 4 * typical ? static_cast<std::uint32_t>(best) : 0;
}

}  // namespace

BorderBox FindBorders(const Image& image, const BorderOptions& options) {
  BorderBox box;
  if (image.width < 16 || image.height < 16) return box;
  const std::vector<float> luma = Luma(image);
  const std::size_t w = image.width, h = image.height;
  std::vector<LineStats> rows(h), cols(w);
  for (std::size_t y = 0; y < h; ++y) rows[y] = Line(luma.data() + y * w, w, 1);
  for (std::size_t x = 0; x < w; ++x) cols[x] = Line(luma.data() + x, h, w);
  const double row_detail = MedianDetail(rows), col_detail = MedianDetail(cols);
  box.top = Walk(rows, false, row_detail, options);
  box.bottom = Walk(rows, true, row_detail, options);
  box.left = Walk(cols, false, col_detail, options);
  box.right = Walk(cols, true, col_detail, options);
  // Keep at least a quarter of each side (two facing borders of 45% would leave a sliver).
  if (box.top + box.bottom > h * 3 / 4 || box.left + box.right > w * 3 / 4) return BorderBox{};
  return box;
}

std::vector<BorderBox> TrimCandidates(const Image& image) {
  std::vector<BorderBox> boxes;
  BorderOptions strict;
  strict.solid_stddev = 1.5;
  strict.solid_drift = 3;
  strict.blur_ratio = 0;  // solid only
  BorderBox step;
  if (image.width >= 16 && image.height >= 16) {
    const std::vector<float> luma = Luma(image);
    const auto rows = LineSteps(luma, image.width, image.height, true);
    const auto cols = LineSteps(luma, image.width, image.height, false);
    const BorderOptions o;
    step = {StrongestStep(cols, false, o), StrongestStep(rows, false, o), StrongestStep(cols, true, o),
            StrongestStep(rows, true, o)};
    if (step.top + step.bottom > image.height * 3 / 4 || step.left + step.right > image.width * 3 / 4) step = {};
  }
  for (const BorderBox& box : {FindBorders(image, strict), FindBorders(image), step}) {
    if (!box.Trimmed()) continue;
    const bool seen = std::any_of(boxes.begin(), boxes.end(), [&](const BorderBox& b) {
      return b.left == box.left && b.top == box.top && b.right == box.right && b.bottom == box.bottom;
    });
    if (!seen) boxes.push_back(box);
  }
  return boxes;
}

Image CropToContent(const Image& image, const BorderBox& box) {
  Image out;
  out.width = image.width - box.left - box.right;
  out.height = image.height - box.top - box.bottom;
  out.channels = image.channels;
  out.format = image.format;
  out.source_width = out.width;
  out.source_height = out.height;
  out.pixels.resize(static_cast<std::size_t>(out.width) * out.height * image.channels);
  const std::size_t row_bytes = static_cast<std::size_t>(out.width) * image.channels;
  for (std::uint32_t y = 0; y < out.height; ++y) {
    const std::uint8_t* from = image.Row(y + box.top) + static_cast<std::size_t>(box.left) * image.channels;
    std::copy_n(from, row_bytes, out.pixels.data() + y * row_bytes);
  }
  return out;
}

}  // namespace vigil
