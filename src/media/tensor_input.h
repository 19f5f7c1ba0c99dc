// A decoded image made into a model's input tensor, as a model card describes it (classify/
// model_card.h): resized to the model's width and height by area averaging (each output pixel is
// the mean of the source pixels it covers, fractions weighted, so a picture's mean brightness is
// kept), its channels in the model's colour order, each value v = (pixel * scale - mean[c]) /
// std[c], laid out NCHW or NHWC with a batch of one. Exact and the same on every machine (no
// library resampler whose rounding changes between releases), so a model's expected scores can be
// computed in tests.
//
// Grey from RGB is the luma 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601); a grey picture given to an
// RGB or BGR model has its one channel repeated.
//
// Thread safety: functions only; call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/image.h"
#include "vigil/status.h"

namespace vigil::media {

enum class TensorLayout { kNchw, kNhwc };
enum class ColourOrder { kRgb, kBgr, kGrey };

struct TensorSpec {
  std::uint32_t width = 224;
  std::uint32_t height = 224;
  TensorLayout layout = TensorLayout::kNchw;
  ColourOrder colour = ColourOrder::kRgb;
  double scale = 1.0 / 255.0;  // pixel values 0..255 are multiplied by this first
  std::array<double, 3> mean{0, 0, 0};  // then this is subtracted, per channel in the model's order
  std::array<double, 3> std{1, 1, 1};   // and the result divided by this (never 0)

  std::uint32_t channels() const { return colour == ColourOrder::kGrey ? 1 : 3; }
  // The tensor's shape: {1, C, H, W} or {1, H, W, C}.
  std::array<int, 4> Shape() const;
};

inline constexpr std::uint32_t kMaxTensorSide = 4096;

std::string_view TensorLayoutName(TensorLayout layout);
std::string_view ColourOrderName(ColourOrder colour);
Result<TensorLayout> ParseTensorLayout(std::string_view text);  // "nchw" or "nhwc"
Result<ColourOrder> ParseColourOrder(std::string_view text);    // "rgb", "bgr" or "grey" ("gray")

// kInvalidArgument naming the field when a spec cannot be used (a side of 0 or over 4096, a std of
// 0, a value that is not finite).
Status CheckTensorSpec(const TensorSpec& spec);

// The image as the model's input: width * height * channels floats in the spec's layout.
Result<std::vector<float>> ImageToTensor(const Image& image, const TensorSpec& spec);

}  // namespace vigil::media
