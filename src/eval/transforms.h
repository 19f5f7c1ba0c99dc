// The evaluation's transform suite: the edits evaders and ordinary re-posting make (resize,
// re-encode, crop, pad, letterbox, rotations and flips, blur, noise, tone, grayscale, colour shift,
// text and sticker overlays, screenshot-like captures, and chains), implemented with libvips.
// Each transform has a fixed name ("crop_5", "jpeg_q70", "crop_5+jpeg_q70" for chains) and is
// deterministic given the seed (which only moves things like an off-centre crop or a sticker).
//
//   auto original = LoadOriginal("photo.jpg", 1024);
//   auto bytes = ApplyTransform(*original, "pad_blur_20", seed);  // encoded image bytes
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <vips/vips8>

#include "vigil/status.h"

namespace vigil::eval {

struct TransformSpec {
  std::string name;         // "crop_5"
  std::string family;       // "crop"
  std::string description;  // "central crop, 5% off each side"
};

// The default suite, in report order.
const std::vector<TransformSpec>& DefaultTransforms();
// Whether `name` (a transform or a '+' chain of them) is known.
bool IsKnownTransform(const std::string& name);
// The family of a transform or chain ("chain" for chains).
std::string TransformFamily(const std::string& name);

// Calls vips_init once per process (thread-safe); false if libvips cannot start.
bool InitVips(const char* argv0);

// Reads an image file as 8-bit sRGB (alpha flattened onto white, CMYK and 16-bit converted), shrunk
// so its longer side is at most max_side (0: as is). Errors name the file.
Result<vips::VImage> LoadOriginal(const std::filesystem::path& path, int max_side);

// Encodes losslessly (PNG), as originals are stored for hashing.
Result<std::vector<std::uint8_t>> EncodePng(const vips::VImage& image);

// Applies the named transform (or chain) and returns the encoded result: PNG, unless the last step
// is itself a re-encode (JPEG/WebP) or ends with one.
Result<std::vector<std::uint8_t>> ApplyTransform(const vips::VImage& original, const std::string& name,
                                                 std::uint64_t seed);

}  // namespace vigil::eval
