// JPEG through libjpeg-turbo's libjpeg API (ISLOW IDCT and fancy upsampling, as ImageMagick uses
// it, so repo JPEGs decode to the reference's pixels). Grey stays one channel; CMYK/YCCK are
// converted to RGB the way ImageMagick does for Adobe (inverted) CMYK. Hostile-input guards: the
// header is checked before allocation (dimensions, and the 8x8 blocks it declares against the
// bytes that could code them), progressive scans are capped, and a premature end of data is an
// error rather than a grey-filled image.
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <string>

// jpeglib.h needs FILE and size_t first.
#include <jerror.h>
#include <jpeglib.h>

#include "media/decoder.h"

namespace vigil::media {
namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  ErrorCode code = ErrorCode::kCorrupt;
  char message[JMSG_LENGTH_MAX] = {};
  int max_scans = 0;
};

[[noreturn]] void OnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void OnMessage(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  // Level -1 is a warning. A premature end of data would otherwise yield a grey-filled image.
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    err->code = ErrorCode::kTruncated;
    std::snprintf(err->message, sizeof err->message, "truncated: data ends before the image does");
    std::longjmp(err->jump, 1);
  }
}

void OnProgress(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (cinfo->is_decompressor && dinfo->progressive_mode && dinfo->input_scan_number > err->max_scans) {
    err->code = ErrorCode::kTooLarge;
    std::snprintf(err->message, sizeof err->message,
                  "progressive JPEG has more than %d scans", err->max_scans);
    std::longjmp(err->jump, 1);
  }
}

// The most 8x8 blocks one byte of a Huffman-coded JPEG can hold, with 2x slack. Every block of
// every component costs at least one bit in a progressive file (its DC coefficient, in the DC
// scan that every real encoder writes for each component; the AC scans can skip whole runs of
// blocks with one end-of-band run) and at least two in a sequential one (a DC code and an
// end-of-block code, each a Huffman code of at least one bit). A 13 KB file declaring
// 10000x10000 (2.3 million blocks in 4:2:0) is therefore a bomb. Arithmetic coding has no such
// floor (a flat image can cost well under a bit per block): those files are bounded by the
// sandbox's large lane and CPU budget instead.
constexpr std::uint64_t kMaxBlocksPerByteProgressive = 16;
constexpr std::uint64_t kMaxBlocksPerByteSequential = 8;

Status CheckBlocks(const jpeg_decompress_struct& cinfo, std::size_t file_bytes) {
  if (cinfo.arith_code) return {};
  std::uint64_t blocks = 0;
  for (int c = 0; c < cinfo.num_components; ++c) {
    const jpeg_component_info& comp = cinfo.comp_info[c];
    blocks += std::uint64_t{comp.width_in_blocks} * comp.height_in_blocks;
  }
  const bool progressive = cinfo.progressive_mode != FALSE;
  Density density;
  density.declared = blocks;
  density.unit = "8x8 blocks";
  density.max_per_byte = progressive ? kMaxBlocksPerByteProgressive : kMaxBlocksPerByteSequential;
  density.why = progressive ? "a progressive Huffman-coded JPEG spends at least 1 bit on every block, 2x slack"
                            : "a sequential Huffman-coded JPEG spends at least 2 bits on every block, 2x slack";
  return CheckCompressionRatio(cinfo.image_width, cinfo.image_height, file_bytes, density);
}

// ImageMagick reads CMYK JPEG samples inverted (Adobe convention) and converts to RGB as
// R = (1 - C) * (1 - K) in its 16-bit quantum, then scales back to 8 bits.
inline std::uint8_t CmykChannel(unsigned stored_c, unsigned stored_k) {
  return static_cast<std::uint8_t>((stored_c * stored_k + 127) / 255);
}

// The smallest power-of-two libjpeg scale 1/8, 1/4 or 1/2 (the ones with SIMD IDCTs; the other
// M/8 scales are slower than a full decode) keeping both sides >= min_side; 8 (= 8/8) otherwise.
unsigned FastScale(unsigned width, unsigned height, unsigned min_side) {
  for (unsigned m : {1u, 2u, 4u}) {
    if ((width * m + 7) / 8 >= min_side && (height * m + 7) / 8 >= min_side) return m;
  }
  return 8;
}

class Decoder final : public ImageDecoder {
 public:
  ImageFormat format() const override { return ImageFormat::kJpeg; }

  Result<Image> DecodeUpTo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                           ImageHeader* header_only) const override {
    jpeg_decompress_struct cinfo{};
    JpegError err;
    jpeg_progress_mgr progress{};
    Result<Image> out = Fail(ErrorCode::kInternal, "not decoded");
    std::vector<std::uint8_t> cmyk_row;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = OnError;
    err.mgr.emit_message = OnMessage;
    err.max_scans = limits.max_jpeg_scans;
    progress.progress_monitor = OnProgress;

    if (setjmp(err.jump)) {
      jpeg_destroy_decompress(&cinfo);
      return Fail(err.code, err.message);
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo, TRUE);
    {  // scoped: nothing with a destructor may be live across a libjpeg call that can longjmp
      // comp_info's block counts are set once jpeg_read_header has reached the first scan.
      auto ok = CheckDimensions(cinfo.image_width, cinfo.image_height, limits);
      if (ok) ok = CheckBlocks(cinfo, bytes.size());
      if (!ok || header_only) {
        Image header = HeaderOnly(header_only, cinfo.image_width, cinfo.image_height, ImageFormat::kJpeg,
                                  cinfo.arith_code == FALSE);  // arithmetic coding: no ratio to check
        jpeg_destroy_decompress(&cinfo);
        if (!ok) return tl::unexpected(ok.error());
        return header;
      }
    }
    const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
      cinfo.out_color_space = JCS_GRAYSCALE;
    } else if (cmyk) {
      cinfo.out_color_space = JCS_CMYK;
    } else {
      cinfo.out_color_space = JCS_RGB;
    }
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    if (limits.jpeg_fast_min_side > 0) {
      cinfo.scale_num = FastScale(cinfo.image_width, cinfo.image_height, limits.jpeg_fast_min_side);
      cinfo.scale_denom = 8;
    }
    jpeg_start_decompress(&cinfo);
    const std::uint32_t channels = cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3;
    out = AllocateImage(cinfo.output_width, cinfo.output_height, channels, ImageFormat::kJpeg);
    if (!out) {
      jpeg_destroy_decompress(&cinfo);
      return out;
    }
    out->source_width = cinfo.image_width;
    out->source_height = cinfo.image_height;
    if (cmyk) cmyk_row.resize(std::size_t{cinfo.output_width} * 4);
    const std::size_t stride = std::size_t{cinfo.output_width} * channels;
    while (cinfo.output_scanline < cinfo.output_height) {
      std::uint8_t* row = out->pixels.data() + cinfo.output_scanline * stride;
      JSAMPROW rows[1] = {cmyk ? cmyk_row.data() : row};
      jpeg_read_scanlines(&cinfo, rows, 1);
      if (cmyk) {
        for (std::size_t x = 0; x < cinfo.output_width; ++x) {
          const std::uint8_t* p = &cmyk_row[4 * x];
          row[3 * x + 0] = CmykChannel(p[0], p[3]);
          row[3 * x + 1] = CmykChannel(p[1], p[3]);
          row[3 * x + 2] = CmykChannel(p[2], p[3]);
        }
      }
    }
    // Trailing data after the last scanline (or a missing EOI) does not change the pixels.
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return out;
  }
};

}  // namespace

const ImageDecoder& JpegDecoder() {
  static const Decoder decoder;
  return decoder;
}

}  // namespace vigil::media
