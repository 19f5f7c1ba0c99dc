// Reviewer-safe previews: a small, grayscale, heavily blurred JPEG of an image or of a video's
// first frame. The review UI shows these by default; the original bytes leave the server only when
// a reviewer reveals an item, and that reveal is logged (industry practice for reviewer wellness,
// and the fact reports state: whether the reviewer viewed the file).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vigil/image.h"
#include "vigil/status.h"

namespace vigil {

struct PreviewOptions {
  int max_side = 320;       // longer side of the preview
  int blur_radius = 8;      // box radius, applied three times (close to a Gaussian)
  int jpeg_quality = 70;
  DecodeLimits limits;      // for the media being previewed
};

// Images and videos (first frame). Errors as the decoders give them.
Result<std::vector<std::uint8_t>> BlurredPreview(std::span<const std::uint8_t> media, const PreviewOptions& options = {});

}  // namespace vigil
