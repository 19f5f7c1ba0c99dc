// The transform suite on libvips (see transforms.h). Every step takes and returns an 8-bit image
// (sRGB, or one band after grayscale); re-encoding steps round-trip through the codec so later
// steps of a chain see the codec's artefacts.
#include "eval/transforms.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <random>

namespace vigil::eval {
namespace {

using vips::VImage;

const std::vector<TransformSpec> kTransforms = {
    {"resize_0.25", "resize", "downscale to 25%"},
    {"resize_0.5", "resize", "downscale to 50%"},
    {"resize_0.75", "resize", "downscale to 75%"},
    {"resize_1.5", "resize", "upscale to 150%"},
    {"resize_2", "resize", "upscale to 200%"},
    {"jpeg_q30", "jpeg", "JPEG re-encode, quality 30"},
    {"jpeg_q50", "jpeg", "JPEG re-encode, quality 50"},
    {"jpeg_q70", "jpeg", "JPEG re-encode, quality 70"},
    {"jpeg_q90", "jpeg", "JPEG re-encode, quality 90"},
    {"webp_q50", "webp", "WebP re-encode, quality 50"},
    {"webp_q80", "webp", "WebP re-encode, quality 80"},
    {"crop_2", "crop", "central crop, 2% off each side"},
    {"crop_5", "crop", "central crop, 5% off each side"},
    {"crop_10", "crop", "central crop, 10% off each side"},
    {"crop_20", "crop", "central crop, 20% off each side"},
    {"crop_offcentre_10", "crop", "crop of 20% of each axis, split unevenly between the sides"},
    {"pad_5", "pad", "solid border, 5% of each side"},
    {"pad_10", "pad", "solid border, 10% of each side"},
    {"pad_20", "pad", "solid border, 20% of each side"},
    {"pad_30", "pad", "solid border, 30% of each side"},
    {"pad_blur_20", "pad", "blurred enlarged copy behind, 20% each side"},
    {"letterbox", "letterbox", "placed in a 9:16 portrait frame, black bars above and below"},
    {"pillarbox", "letterbox", "placed in a 16:9 landscape frame, black bars left and right"},
    {"rot90", "rotate90", "rotated 90 degrees"},
    {"rot180", "rotate90", "rotated 180 degrees"},
    {"rot270", "rotate90", "rotated 270 degrees"},
    {"flip_h", "flip", "mirrored left-right"},
    {"flip_v", "flip", "mirrored top-bottom"},
    {"rotate_1", "rotate", "rotated 1 degree, canvas grown, black corners"},
    {"rotate_2", "rotate", "rotated 2 degrees"},
    {"rotate_4", "rotate", "rotated 4 degrees"},
    {"rotate_10", "rotate", "rotated 10 degrees"},
    {"blur_1", "blur", "Gaussian blur, sigma 1"},
    {"blur_2", "blur", "Gaussian blur, sigma 2"},
    {"blur_4", "blur", "Gaussian blur, sigma 4"},
    {"noise_10", "noise", "Gaussian noise, sigma 10"},
    {"noise_25", "noise", "Gaussian noise, sigma 25"},
    {"brightness_+40", "tone", "brightness +40"},
    {"brightness_-40", "tone", "brightness -40"},
    {"contrast_1.4", "tone", "contrast x1.4"},
    {"contrast_0.6", "tone", "contrast x0.6"},
    {"gamma_0.6", "tone", "gamma 0.6"},
    {"gamma_1.6", "tone", "gamma 1.6"},
    {"grayscale", "grayscale", "one band of luminance"},
    {"hue_40", "colour", "hue rotated 40 degrees"},
    {"text_small", "overlay", "watermark text, 4% of the height"},
    {"text_large", "overlay", "caption text, 10% of the height"},
    {"sticker_5", "overlay", "sticker covering 5% of the area"},
    {"sticker_10", "overlay", "sticker covering 10% of the area"},
    {"sticker_20", "overlay", "sticker covering 20% of the area"},
    {"screenshot", "screenshot", "scaled to 80% inside phone-like bars, JPEG 80"},
    {"crop_5+jpeg_q70", "chain", "central crop 5%, then JPEG 70"},
    {"resize_0.5+text_small", "chain", "half size, then watermark"},
    {"pad_20+rotate_2", "chain", "border 20%, then rotated 2 degrees"},
    {"flip_h+crop_5+jpeg_q50", "chain", "mirrored, cropped 5%, JPEG 50"},
};

// Number after the last '_' of a step ("crop_5" -> 5; "brightness_+40" -> 40 with sign).
double Param(const std::string& step) {
  const auto at = step.rfind('_');
  double value = 0;
  const char* begin = step.data() + at + 1;
  const char* end = step.data() + step.size();
  while (begin < end && !(std::isdigit(static_cast<unsigned char>(*begin)) || *begin == '-' || *begin == '.')) ++begin;
  std::from_chars(begin, end, value);
  return value;
}

std::string Base(const std::string& step) {
  if (step.rfind("crop_offcentre", 0) == 0) return "crop_offcentre";
  if (step.rfind("pad_blur", 0) == 0) return "pad_blur";
  const auto at = step.rfind('_');
  return at == std::string::npos ? step : step.substr(0, at);
}

VImage Uchar(const VImage& image) {
  VImage out = image;
  if (out.format() != VIPS_FORMAT_UCHAR) out = out.cast(VIPS_FORMAT_UCHAR);
  return out;
}

int Round(double v) { return static_cast<int>(std::lround(v)); }

VImage Solid(int width, int height, int bands, std::vector<double> colour) {
  colour.resize(static_cast<std::size_t>(bands), colour.empty() ? 0 : colour[0]);
  VImage solid =
      VImage::black(width, height, VImage::option()->set("bands", bands)).new_from_image(colour).cast(VIPS_FORMAT_UCHAR);
  // black() makes a "multiband" image; say what it is, or colour conversions refuse it.
  return solid.copy(VImage::option()->set("interpretation", bands >= 3 ? VIPS_INTERPRETATION_sRGB
                                                                       : VIPS_INTERPRETATION_B_W));
}

// A round sticker of `area` pixels: a coloured disc with a dark ring and a light centre, as RGBA.
VImage Sticker(double area, std::mt19937_64& rng) {
  const int r = std::max(4, Round(std::sqrt(area / M_PI)));
  const int size = 2 * r + 1;
  VImage xy = VImage::xyz(size, size);
  VImage dx = xy.extract_band(0).linear(1, -r), dy = xy.extract_band(1).linear(1, -r);
  VImage d = (dx * dx + dy * dy).pow(0.5);
  std::uniform_int_distribution<int> channel(40, 230);
  const std::vector<double> colour = {static_cast<double>(channel(rng)), static_cast<double>(channel(rng)),
                                      static_cast<double>(channel(rng))};
  VImage rgb = Solid(size, size, 3, colour);
  rgb = (d < r * 0.85).ifthenelse(rgb, Solid(size, size, 3, {20, 20, 20}));
  rgb = (d < r * 0.35).ifthenelse(Solid(size, size, 3, {250, 250, 250}), rgb);
  VImage alpha = (d < r).ifthenelse(255, 0).cast(VIPS_FORMAT_UCHAR);
  return rgb.bandjoin(alpha);
}

VImage Overlay(const VImage& base, const VImage& rgba, int x, int y) {
  VImage rgb = base.bands() == 1 ? base.colourspace(VIPS_INTERPRETATION_sRGB) : base;
  VImage out = rgb.composite2(rgba, VIPS_BLEND_MODE_OVER, VImage::option()->set("x", x)->set("y", y));
  out = out.extract_band(0, VImage::option()->set("n", 3));
  return Uchar(out);
}

VImage Text(const VImage& in, double height_share, std::mt19937_64& rng) {
  const int px = std::max(8, Round(in.height() * height_share));
  VImage mask = VImage::text("sample watermark",
                             VImage::option()->set("font", ("DejaVu Sans Bold " + std::to_string(px)).c_str())
                                 ->set("dpi", 72));
  if (mask.width() >= in.width()) mask = mask.resize(0.9 * in.width() / mask.width());
  VImage white = Solid(mask.width(), mask.height(), 3, {255, 255, 255});
  VImage rgba = white.bandjoin(mask.linear(0.85, 0).cast(VIPS_FORMAT_UCHAR));
  std::uniform_int_distribution<int> x(0, std::max(0, in.width() - mask.width()));
  std::uniform_int_distribution<int> y(0, std::max(0, in.height() - mask.height()));
  return Overlay(in, rgba, x(rng), y(rng));
}

VImage Embed(const VImage& in, int left, int top, int width, int height, std::vector<double> colour) {
  colour.resize(static_cast<std::size_t>(in.bands()), colour.empty() ? 0 : colour[0]);
  return in.embed(left, top, width, height,
                  VImage::option()->set("extend", VIPS_EXTEND_BACKGROUND)->set("background", colour));
}

struct StepResult {
  VImage image;
  std::vector<std::uint8_t> encoded;  // set by re-encoding steps
};

std::vector<std::uint8_t> Buffer(const VImage& image, const char* suffix) {
  void* data = nullptr;
  std::size_t size = 0;
  image.write_to_buffer(suffix, &data, &size);
  std::vector<std::uint8_t> out(static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  g_free(data);
  return out;
}

StepResult Reencode(const VImage& in, const std::string& suffix) {
  StepResult r;
  r.encoded = Buffer(in, suffix.c_str());
  r.image = Uchar(VImage::new_from_buffer(r.encoded.data(), r.encoded.size(), ""));
  return r;
}

StepResult Step(const VImage& in, const std::string& step, std::mt19937_64& rng) {
  const std::string base = Base(step);
  const double p = Param(step);
  const int w = in.width(), h = in.height();
  StepResult r;
  if (base == "resize") {
    r.image = Uchar(in.resize(p, VImage::option()->set("kernel", VIPS_KERNEL_LANCZOS3)));
  } else if (base == "jpeg") {
    return Reencode(in, ".jpg[Q=" + std::to_string(Round(p)) + "]");
  } else if (base == "webp") {
    return Reencode(in, ".webp[Q=" + std::to_string(Round(p)) + "]");
  } else if (base == "crop") {
    const int dx = Round(w * p / 100), dy = Round(h * p / 100);
    r.image = in.extract_area(dx, dy, w - 2 * dx, h - 2 * dy);
  } else if (base == "crop_offcentre") {
    const int tx = Round(w * 2 * p / 100), ty = Round(h * 2 * p / 100);
    std::uniform_real_distribution<double> share(0.0, 1.0);
    const int left = Round(tx * share(rng)), top = Round(ty * share(rng));
    r.image = in.extract_area(left, top, w - tx, h - ty);
  } else if (base == "pad") {
    const int dx = Round(w * p / 100), dy = Round(h * p / 100);
    static const std::vector<std::vector<double>> kColours = {{0, 0, 0}, {255, 255, 255}, {128, 128, 128}};
    r.image = Embed(in, dx, dy, w + 2 * dx, h + 2 * dy, kColours[rng() % kColours.size()]);
  } else if (base == "pad_blur") {
    const int dx = Round(w * p / 100), dy = Round(h * p / 100);
    const int cw = w + 2 * dx, ch = h + 2 * dy;
    VImage bg = in.resize(static_cast<double>(cw) / w, VImage::option()->set("vscale", static_cast<double>(ch) / h));
    bg = Uchar(bg.gaussblur(0.04 * std::max(cw, ch)).extract_area(0, 0, cw, ch));
    r.image = bg.insert(in, dx, dy);
  } else if (base == "letterbox") {
    const int ch = std::max(Round(w * 16.0 / 9.0), Round(h * 1.25));
    r.image = Embed(in, 0, (ch - h) / 2, w, ch, {0, 0, 0});
  } else if (base == "pillarbox") {
    const int cw = std::max(Round(h * 16.0 / 9.0), Round(w * 1.25));
    r.image = Embed(in, (cw - w) / 2, 0, cw, h, {0, 0, 0});
  } else if (step == "rot90") {
    r.image = in.rot90();
  } else if (step == "rot180") {
    r.image = in.rot180();
  } else if (step == "rot270") {
    r.image = in.rot270();
  } else if (step == "flip_h") {
    r.image = in.fliphor();
  } else if (step == "flip_v") {
    r.image = in.flipver();
  } else if (base == "rotate") {
    std::vector<double> black(static_cast<std::size_t>(in.bands()), 0.0);
    r.image = Uchar(in.rotate(p, VImage::option()->set("background", black)));
  } else if (base == "blur") {
    r.image = Uchar(in.gaussblur(p));
  } else if (base == "noise") {
    VImage noise = VImage::gaussnoise(w, h, VImage::option()->set("sigma", p)->set("mean", 0.0)->set(
                                                   "seed", static_cast<int>(rng() & 0x7fffffff)));
    r.image = Uchar((in.cast(VIPS_FORMAT_FLOAT) + noise).linear(1, 0));
  } else if (base == "brightness") {
    r.image = Uchar(in.linear(1, step.find('-') != std::string::npos ? -p : p));
  } else if (base == "contrast") {
    r.image = Uchar(in.linear(p, 128 * (1 - p)));
  } else if (base == "gamma") {
    r.image = Uchar(in.linear(1.0 / 255, 0).pow(p).linear(255, 0));
  } else if (step == "grayscale") {
    r.image = Uchar(in.colourspace(VIPS_INTERPRETATION_B_W));
  } else if (base == "hue") {
    VImage lch = in.colourspace(VIPS_INTERPRETATION_LCH);
    lch = lch.linear({1, 1, 1}, {0, 0, p});
    r.image = Uchar(lch.colourspace(VIPS_INTERPRETATION_sRGB));
  } else if (step == "text_small") {
    r.image = Text(in, 0.04, rng);
  } else if (step == "text_large") {
    r.image = Text(in, 0.10, rng);
  } else if (base == "sticker") {
    VImage sticker = Sticker(p / 100 * w * h, rng);
    std::uniform_int_distribution<int> x(0, std::max(0, w - sticker.width()));
    std::uniform_int_distribution<int> y(0, std::max(0, h - sticker.height()));
    r.image = Overlay(in, sticker, x(rng), y(rng));
  } else if (step == "screenshot") {
    VImage scaled = Uchar(in.resize(0.8, VImage::option()->set("kernel", VIPS_KERNEL_LANCZOS3)));
    const int side = Round(w * 0.04), status = Round(h * 0.06), nav = Round(h * 0.09);
    VImage canvas = Embed(scaled, side, status, scaled.width() + 2 * side, scaled.height() + status + nav, {24, 24, 24});
    return Reencode(canvas, ".jpg[Q=80]");
  } else {
    throw vips::VError("unknown transform step '" + step + "'");
  }
  return r;
}

std::vector<std::string> Steps(const std::string& name) {
  std::vector<std::string> steps;
  std::size_t start = 0;
  for (;;) {
    const auto plus = name.find('+', start);
    // "brightness_+40": a '+' right after '_' belongs to the number.
    if (plus != std::string::npos && plus > 0 && name[plus - 1] == '_') {
      const auto next = name.find('+', plus + 1);
      steps.push_back(name.substr(start, next == std::string::npos ? std::string::npos : next - start));
      if (next == std::string::npos) break;
      start = next + 1;
      continue;
    }
    steps.push_back(name.substr(start, plus == std::string::npos ? std::string::npos : plus - start));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return steps;
}

}  // namespace

const std::vector<TransformSpec>& DefaultTransforms() { return kTransforms; }

bool IsKnownTransform(const std::string& name) {
  for (const auto& step : Steps(name)) {
    const bool known = std::any_of(kTransforms.begin(), kTransforms.end(),
                                   [&](const TransformSpec& t) { return t.name == step && t.family != "chain"; });
    if (!known) return false;
  }
  return true;
}

std::string TransformFamily(const std::string& name) {
  if (Steps(name).size() > 1) return "chain";
  for (const auto& t : kTransforms) {
    if (t.name == name) return t.family;
  }
  return "";
}

bool InitVips(const char* argv0) {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [&] {
    ok = VIPS_INIT(argv0) == 0;
    if (ok) {
      vips_concurrency_set(1);  // parallelism comes from the evaluation's own workers
      vips_cache_set_max(0);    // every image is used once
    }
  });
  return ok;
}

Result<VImage> LoadOriginal(const std::filesystem::path& path, int max_side) {
  try {
    VImage image = VImage::new_from_file(path.c_str(), VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
    if (image.has_alpha()) image = image.flatten(VImage::option()->set("background", std::vector<double>{255, 255, 255}));
    if (image.interpretation() != VIPS_INTERPRETATION_sRGB || image.bands() != 3) {
      image = image.colourspace(VIPS_INTERPRETATION_sRGB);
    }
    if (image.bands() > 3) image = image.extract_band(0, VImage::option()->set("n", 3));
    image = Uchar(image);
    const int longest = std::max(image.width(), image.height());
    if (max_side > 0 && longest > max_side) {
      image = Uchar(image.resize(static_cast<double>(max_side) / longest,
                                 VImage::option()->set("kernel", VIPS_KERNEL_LANCZOS3)));
    }
    return image.copy_memory();
  } catch (const vips::VError& e) {
    return Fail(ErrorCode::kCorrupt, path.string() + ": " + e.what());
  }
}

Result<std::vector<std::uint8_t>> EncodePng(const VImage& image) {
  try {
    return Buffer(image, ".png[compression=1]");
  } catch (const vips::VError& e) {
    return Fail(ErrorCode::kInternal, std::string("png: ") + e.what());
  }
}

Result<std::vector<std::uint8_t>> ApplyTransform(const VImage& original, const std::string& name, std::uint64_t seed) {
  if (!IsKnownTransform(name)) return Fail(ErrorCode::kInvalidArgument, "unknown transform '" + name + "'");
  std::mt19937_64 rng(seed);
  try {
    StepResult current{original, {}};
    for (const auto& step : Steps(name)) current = Step(current.image, step, rng);
    if (!current.encoded.empty()) return std::move(current.encoded);
    return Buffer(current.image, ".png[compression=1]");
  } catch (const vips::VError& e) {
    return Fail(ErrorCode::kInternal, name + ": " + e.what());
  }
}

}  // namespace vigil::eval
