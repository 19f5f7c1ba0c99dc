// LooksLikeVideo (the container sniff) and VideoDecoder::Open: the checks made before the FFmpeg
// module is loaded, then the module's Open (media/decoder_modules.h).
#include <cstring>
#include <string>

#include "media/decoder_modules.h"
#include "media/video_decoder.h"
#include "vigil/video.h"

namespace vigil {

bool LooksLikeVideo(std::span<const std::uint8_t> b) {
  auto starts = [&](std::size_t offset, const char* magic, std::size_t n) {
    return b.size() >= offset + n && std::memcmp(b.data() + offset, magic, n) == 0;
  };
  if (starts(4, "ftyp", 4)) {
    // ISO BMFF; still images in HEIF/AVIF brands are images, not videos.
    static const char* kImageBrands[] = {"heic", "heix", "mif1", "msf1", "avif", "avis", "heim", "heis"};
    for (const char* brand : kImageBrands) {
      if (starts(8, brand, 4)) return false;
    }
    return true;
  }
  if (starts(4, "moov", 4) || starts(4, "mdat", 4) || starts(4, "free", 4) || starts(4, "wide", 4)) return true;
  if (starts(0, "\x1a\x45\xdf\xa3", 4)) return true;                   // Matroska / WebM
  if (starts(0, "RIFF", 4) && starts(8, "AVI ", 4)) return true;       // AVI
  if (starts(0, "FLV\x01", 4)) return true;                            // FLV
  if (starts(0, "\x00\x00\x01\xba", 4)) return true;                   // MPEG program stream
  if (b.size() >= 376 && b[0] == 0x47 && b[188] == 0x47) return true;  // MPEG transport stream
  if (starts(0, "OggS", 4)) return true;                               // Ogg (Theora)
  return false;
}

namespace media {

Result<std::unique_ptr<VideoDecoder>> VideoDecoder::Open(std::span<const std::uint8_t> bytes,
                                                         const VideoLimits& limits) {
  if (bytes.size() > limits.max_file_bytes) {
    return Fail(ErrorCode::kTooLarge, "video of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                                          std::to_string(limits.max_file_bytes));
  }
  if (bytes.empty()) return Fail(ErrorCode::kTruncated, "empty file");
  if (!LooksLikeVideo(bytes)) return Fail(ErrorCode::kUnsupported, "not a video container this build decodes");
  VIGIL_ASSIGN_OR_RETURN(auto module, LoadVideoModule());
  return module->open(bytes, limits);
}

}  // namespace media
}  // namespace vigil
