// The checks and helpers every decoder shares (media/decoder.h): dimensions against the limits,
// the compression-ratio bomb check, the header-only result and the pixel buffer. Their own file so
// the decoder modules (libvigil-heif.so) link them without the rest of the decoders.
#include <cstdint>
#include <new>
#include <string>

#include "media/decoder.h"

namespace vigil::media {

Status CheckDimensions(std::uint64_t width, std::uint64_t height, const DecodeLimits& limits) {
  if (width == 0 || height == 0) {
    return Fail(ErrorCode::kCorrupt, "header declares an empty image (" + std::to_string(width) +
                                         "x" + std::to_string(height) + ")");
  }
  if (width > limits.max_dimension || height > limits.max_dimension) {
    return Fail(ErrorCode::kTooLarge, "image is " + std::to_string(width) + "x" +
                                          std::to_string(height) + ", over the limit of " +
                                          std::to_string(limits.max_dimension) + " pixels a side");
  }
  if (width * height > limits.max_pixels) {
    return Fail(ErrorCode::kTooLarge, "image is " + std::to_string(width) + "x" +
                                          std::to_string(height) + " = " +
                                          std::to_string(width * height) +
                                          " pixels, over the limit of " +
                                          std::to_string(limits.max_pixels));
  }
  return {};
}

Status CheckCompressionRatio(std::uint64_t width, std::uint64_t height, std::size_t file_bytes,
                             const Density& density) {
  // A little room for tiny files, whose headers weigh more than their data.
  constexpr std::uint64_t kSlack = 1u << 16;
  const std::uint64_t bytes = file_bytes;
  const std::uint64_t ceiling = density.max_per_byte != 0 && bytes > (UINT64_MAX - kSlack) / density.max_per_byte
                                    ? UINT64_MAX
                                    : bytes * density.max_per_byte + kSlack;
  if (density.max_per_byte == 0 || density.declared <= ceiling) return {};
  return Fail(ErrorCode::kTooLarge,
              "image declares " + std::to_string(width) + "x" + std::to_string(height) + " (" +
                  std::to_string(density.declared) + " " + density.unit + ") in a file of " +
                  std::to_string(file_bytes) + " bytes, more than the " + std::to_string(ceiling) + " " +
                  density.unit + " a file that size can hold (" + density.why + ": at most " +
                  std::to_string(density.max_per_byte) + " a byte); refused as a decompression bomb");
}

Image HeaderOnly(ImageHeader* header, std::uint32_t width, std::uint32_t height, ImageFormat format,
                 bool ratio_checked) {
  if (header != nullptr) {
    header->format = format;
    header->width = width;
    header->height = height;
    header->ratio_checked = ratio_checked;
  }
  Image img;
  img.width = img.source_width = width;
  img.height = img.source_height = height;
  img.channels = 0;
  img.format = format;
  return img;
}

Result<Image> AllocateImage(std::uint32_t width, std::uint32_t height, std::uint32_t channels,
                            ImageFormat format) {
  Image img;
  img.width = img.source_width = width;
  img.height = img.source_height = height;
  img.channels = channels;
  img.format = format;
  try {
    img.pixels.resize(std::size_t{width} * height * channels);
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kResourceExhausted, "out of memory allocating " +
                                                   std::to_string(width) + "x" +
                                                   std::to_string(height) + " pixels");
  }
  return img;
}

}  // namespace vigil::media
