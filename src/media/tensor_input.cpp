// An image made into a model's input tensor (see tensor_input.h).
#include "media/tensor_input.h"

#include <cmath>
#include <cstddef>

namespace vigil::media {
namespace {

// Which source pixels one output pixel covers along one axis, and by how much. In units of
// 1/out of a source pixel, source pixel s spans [s*out, (s+1)*out) and output pixel o spans
// [o*in, (o+1)*in): every overlap is a whole number, so the weights are exact.
struct Cover {
  std::uint32_t first = 0;  // the first source pixel
  std::vector<std::uint64_t> overlap;  // with source pixels first, first+1, ...
};

std::vector<Cover> Covers(std::uint32_t in, std::uint32_t out) {
  std::vector<Cover> covers(out);
  for (std::uint32_t o = 0; o < out; ++o) {
    const std::uint64_t lo = std::uint64_t{o} * in, hi = std::uint64_t{o + 1} * in;
    Cover& c = covers[o];
    c.first = static_cast<std::uint32_t>(lo / out);
    for (std::uint64_t s = c.first; s * out < hi && s < in; ++s) {
      const std::uint64_t a = std::max(lo, s * out), b = std::min(hi, (s + 1) * out);
      c.overlap.push_back(b - a);
    }
  }
  return covers;
}

}  // namespace

std::array<int, 4> TensorSpec::Shape() const {
  const int c = static_cast<int>(channels()), h = static_cast<int>(height), w = static_cast<int>(width);
  return layout == TensorLayout::kNchw ? std::array<int, 4>{1, c, h, w} : std::array<int, 4>{1, h, w, c};
}

std::string_view TensorLayoutName(TensorLayout layout) { return layout == TensorLayout::kNchw ? "nchw" : "nhwc"; }

std::string_view ColourOrderName(ColourOrder colour) {
  switch (colour) {
    case ColourOrder::kRgb: return "rgb";
    case ColourOrder::kBgr: return "bgr";
    case ColourOrder::kGrey: return "grey";
  }
  return "rgb";
}

Result<TensorLayout> ParseTensorLayout(std::string_view text) {
  if (text == "nchw") return TensorLayout::kNchw;
  if (text == "nhwc") return TensorLayout::kNhwc;
  return Fail(ErrorCode::kInvalidArgument, "layout must be nchw or nhwc, not '" + std::string(text.substr(0, 32)) + "'");
}

Result<ColourOrder> ParseColourOrder(std::string_view text) {
  if (text == "rgb") return ColourOrder::kRgb;
  if (text == "bgr") return ColourOrder::kBgr;
  if (text == "grey" || text == "gray") return ColourOrder::kGrey;
  return Fail(ErrorCode::kInvalidArgument, "colour must be rgb, bgr or grey, not '" + std::string(text.substr(0, 32)) + "'");
}

Status CheckTensorSpec(const TensorSpec& spec) {
  if (spec.width == 0 || spec.height == 0 || spec.width > kMaxTensorSide || spec.height > kMaxTensorSide) {
    return Fail(ErrorCode::kInvalidArgument, "width and height must be within 1.." + std::to_string(kMaxTensorSide));
  }
  if (!std::isfinite(spec.scale) || spec.scale == 0) return Fail(ErrorCode::kInvalidArgument, "scale must be a finite number other than 0");
  for (std::size_t c = 0; c < 3; ++c) {
    if (!std::isfinite(spec.mean[c])) return Fail(ErrorCode::kInvalidArgument, "mean must be finite numbers");
    if (!std::isfinite(spec.std[c]) || spec.std[c] == 0) return Fail(ErrorCode::kInvalidArgument, "std must be finite numbers other than 0");
  }
  return {};
}

Result<std::vector<float>> ImageToTensor(const Image& image, const TensorSpec& spec) {
  VIGIL_TRY(CheckTensorSpec(spec));
  const std::uint32_t in_c = image.channels;
  if ((in_c != 1 && in_c != 3) || image.width == 0 || image.height == 0 ||
      image.pixels.size() != std::size_t{image.width} * image.height * in_c) {
    return Fail(ErrorCode::kInvalidArgument, "the decoded image is not 8-bit grey or RGB pixels of its size");
  }
  const std::uint32_t W = spec.width, H = spec.height;
  const auto xs = Covers(image.width, W);
  const auto ys = Covers(image.height, H);
  // Sums of pixel * x-overlap * y-overlap per output pixel and source channel, row by row of the
  // source so that only one output image is held, whatever the source's size.
  std::vector<double> sums(std::size_t{W} * H * in_c, 0.0);
  std::vector<double> row(std::size_t{W} * in_c);
  std::uint32_t first_out_row = 0;  // the first output row a source row can reach, non-decreasing
  for (std::uint32_t sy = 0; sy < image.height; ++sy) {
    const std::uint8_t* src = image.Row(sy);
    for (std::uint32_t ox = 0; ox < W; ++ox) {
      for (std::uint32_t c = 0; c < in_c; ++c) {
        double s = 0;
        for (std::size_t k = 0; k < xs[ox].overlap.size(); ++k) {
          s += static_cast<double>(src[(std::size_t{xs[ox].first} + k) * in_c + c]) * static_cast<double>(xs[ox].overlap[k]);
        }
        row[std::size_t{ox} * in_c + c] = s;
      }
    }
    while (first_out_row < H && ys[first_out_row].first + ys[first_out_row].overlap.size() <= sy) ++first_out_row;
    for (std::uint32_t oy = first_out_row; oy < H && ys[oy].first <= sy; ++oy) {
      const std::size_t k = sy - ys[oy].first;
      if (k >= ys[oy].overlap.size()) continue;
      const double wy = static_cast<double>(ys[oy].overlap[k]);
      double* out = &sums[std::size_t{oy} * W * in_c];
      for (std::size_t i = 0; i < row.size(); ++i) out[i] += row[i] * wy;
    }
  }
  const double area = static_cast<double>(image.width) * static_cast<double>(image.height);
  const std::uint32_t C = spec.channels();
  std::vector<float> tensor(std::size_t{W} * H * C);
  for (std::uint32_t oy = 0; oy < H; ++oy) {
    for (std::uint32_t ox = 0; ox < W; ++ox) {
      const double* p = &sums[(std::size_t{oy} * W + ox) * in_c];
      double rgb[3];
      for (std::uint32_t c = 0; c < 3; ++c) rgb[c] = p[in_c == 3 ? c : 0] / area;
      double model[3];
      switch (spec.colour) {
        case ColourOrder::kRgb: model[0] = rgb[0], model[1] = rgb[1], model[2] = rgb[2]; break;
        case ColourOrder::kBgr: model[0] = rgb[2], model[1] = rgb[1], model[2] = rgb[0]; break;
        case ColourOrder::kGrey: model[0] = in_c == 1 ? rgb[0] : 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]; break;
      }
      for (std::uint32_t c = 0; c < C; ++c) {
        const double v = (model[c] * spec.scale - spec.mean[c]) / spec.std[c];
        const std::size_t at = spec.layout == TensorLayout::kNchw ? (std::size_t{c} * H + oy) * W + ox
                                                                  : (std::size_t{oy} * W + ox) * C + c;
        tensor[at] = static_cast<float>(v);
      }
    }
  }
  return tensor;
}

}  // namespace vigil::media
