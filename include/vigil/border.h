// Border detection: solid padding, letterbox/pillarbox bars and blurred fill (a blurred, enlarged
// copy of the picture behind it) around an image's content. Evaders and ordinary re-posting add
// such borders; PDQ of the padded image drifts far from the original's, while PDQ of the content
// inside the borders stays close. Vigil uses the trimmed image for an extra hash, never instead of
// the reference one (see docs/evaluation.md for what it gains and costs).
//
//   vigil::BorderBox box = vigil::FindBorders(image);
//   if (box.Trimmed()) use(vigil::CropToContent(image, box));
#pragma once

#include <cstdint>
#include <vector>

#include "vigil/image.h"

namespace vigil {

// Pixels to drop on each side.
struct BorderBox {
  std::uint32_t left = 0, top = 0, right = 0, bottom = 0;
  bool Trimmed() const { return left + top + right + bottom > 0; }
};

struct BorderOptions {
  double max_fraction = 0.45;  // never trim more than this of a side's length from one side
  double min_fraction = 0.02;  // ignore borders thinner than this
  double solid_stddev = 4.0;   // a line is solid when its luma varies less than this
  double solid_drift = 8.0;    // and its mean stays this close to the outermost line's
  double blur_ratio = 0.12;    // a line is blurred fill when its detail is below this share of the
                               // content's median detail
};

// The borders found on each side (zero where none). Deterministic; O(pixels).
BorderBox FindBorders(const Image& image, const BorderOptions& options = {});

// The boxes worth an extra hash, most certain first: borders of one nearly exact colour (added
// padding, letterbox bars) that stop where the picture starts, then the looser detection that
// also takes blurred fill and noisy bars (and can eat into a picture's own sky or night). Empty
// boxes and duplicates are dropped. A third candidate comes from the strongest step between
// consecutive lines near each edge (where a pasted picture meets a blurred copy of itself).
// At most three.
std::vector<BorderBox> TrimCandidates(const Image& image);

// The image inside the box (a copy).
Image CropToContent(const Image& image, const BorderBox& box);

}  // namespace vigil
