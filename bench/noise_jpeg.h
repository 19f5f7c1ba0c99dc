// A benchmark's test picture: a JPEG of gradients with a little noise (some of a photo's entropy),
// encoded with libjpeg-turbo; `seed` makes pictures that differ (and so hash differently).
// Header-only, for the bench executables. Thread safety: a pure function.
#pragma once

#include <turbojpeg.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace vigil::bench {

inline std::vector<std::uint8_t> NoiseJpeg(int width, int height, int quality, bool progressive, std::uint32_t seed = 0) {
  std::vector<unsigned char> rgb(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
  std::uint32_t state = 2463534242u ^ (seed * 2654435761u);  // xorshift32
  const int shift = static_cast<int>(seed & 0xFFu);
  std::size_t at = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      const int noise = static_cast<int>(state & 15u);
      rgb[at++] = static_cast<unsigned char>((std::min(255, x * 255 / std::max(1, width - 1) + noise) + shift) & 0xFF);
      rgb[at++] = static_cast<unsigned char>(std::min(255, y * 255 / std::max(1, height - 1) + noise));
      rgb[at++] = static_cast<unsigned char>(((x + y) / 4 + noise + shift * 7) & 0xFF);
    }
  }
  tjhandle tj = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  std::vector<std::uint8_t> jpeg;
  if (tj != nullptr && tjCompress2(tj, rgb.data(), width, 0, height, TJPF_RGB, &out, &size, TJSAMP_420, quality,
                                   progressive ? TJFLAG_PROGRESSIVE : 0) == 0) {
    jpeg.assign(out, out + size);
  } else {
    std::fprintf(stderr, "cannot encode a %dx%d JPEG: %s\n", width, height, tjGetErrorStr2(tj));
  }
  tjFree(out);
  if (tj != nullptr) tjDestroy(tj);
  return jpeg;
}

}  // namespace vigil::bench
