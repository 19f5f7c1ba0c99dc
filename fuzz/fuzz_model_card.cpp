// libFuzzer target for local models' inputs that Vigil parses or computes itself: the model card
// (classify/model_card.h; TOML an operator supplies) and the picture-to-tensor step
// (media/tensor_input.h) on pictures and specs of any small size. The first 8 bytes choose a
// tensor spec and a picture size, the next bytes are the picture's samples, the rest is a card.
// Whatever the bytes: a card parses into one that keeps its promises or is refused; a tensor has
// exactly its shape's size of finite values, and each channel's mean is the picture's (area
// averaging keeps it).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "classify/model_card.h"
#include "media/tensor_input.h"

namespace {

void CheckCard(std::string_view text) {
  auto card = vigil::classify::ParseModelCard(text, "card.toml");
  if (!card) return;
  if (!vigil::media::CheckTensorSpec(card->input)) __builtin_trap();
  if (card->labels.empty() || card->labels.size() > vigil::classify::kMaxModelOutputs) __builtin_trap();
  std::set<std::string> named;
  for (const auto& l : card->labels) {
    if (l.empty()) continue;
    if (l.size() > 64 || !named.insert(l).second) __builtin_trap();
  }
  if (named.empty() || named.size() > 64) __builtin_trap();
  for (const auto& [label, threshold] : card->thresholds) {
    if (!named.contains(label) || !(threshold >= 0 && threshold <= 1)) __builtin_trap();
  }
}

void CheckTensor(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return;
  vigil::media::TensorSpec spec;
  spec.width = 1 + data[0] % 48;
  spec.height = 1 + data[1] % 48;
  spec.layout = data[2] & 1 ? vigil::media::TensorLayout::kNhwc : vigil::media::TensorLayout::kNchw;
  spec.colour = static_cast<vigil::media::ColourOrder>(data[2] / 2 % 3);
  spec.scale = 1;
  vigil::Image image;
  image.width = 1 + data[3] % 64;
  image.height = 1 + data[4] % 64;
  image.channels = data[5] & 1 ? 3 : 1;
  const std::size_t samples = std::size_t{image.width} * image.height * image.channels;
  image.pixels.resize(samples);
  for (std::size_t i = 0; i < samples; ++i) image.pixels[i] = size > 8 ? data[8 + i % (size - 8)] : data[i % 8];
  auto tensor = vigil::media::ImageToTensor(image, spec);
  if (!tensor) __builtin_trap();  // every spec made here is valid
  const std::size_t plane = std::size_t{spec.width} * spec.height;
  if (tensor->size() != plane * spec.channels()) __builtin_trap();
  for (float v : *tensor) {
    if (!std::isfinite(v) || v < -1e-3f || v > 255.001f) __builtin_trap();
  }
  // Grey from grey, or the first colour channel kept as it is: the mean survives the resize.
  if (spec.colour == vigil::media::ColourOrder::kGrey && image.channels == 3) return;
  double in = 0, out = 0;
  const std::size_t in_channel = spec.colour == vigil::media::ColourOrder::kBgr && image.channels == 3 ? 2 : 0;
  for (std::size_t i = in_channel; i < samples; i += image.channels) in += image.pixels[i];
  in /= static_cast<double>(samples / image.channels);
  for (std::size_t p = 0; p < plane; ++p) {
    out += spec.layout == vigil::media::TensorLayout::kNchw ? (*tensor)[p] : (*tensor)[p * spec.channels()];
  }
  out /= static_cast<double>(plane);
  if (std::abs(in - out) > 1e-2) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  CheckTensor(data, size);
  const std::size_t card_at = std::min<std::size_t>(size, 8 + 64);
  CheckCard(std::string_view(reinterpret_cast<const char*>(data) + card_at, size - card_at));
  return 0;
}
