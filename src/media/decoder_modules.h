// The decoders that live in modules of their own (util/module_loader.h), so that a process which
// never meets the format never loads the library behind it: HEIC/AVIF (libheif and its codecs,
// libvigil-heif.so), and video and BMP (FFmpeg, libvigil-ffmpeg.so). HeifDecoder(), BmpDecoder()
// and VideoDecoder::Open load them on first use; a process that is about to lose its file system
// (the sandbox worker) loads them ahead with PreloadDecoderModules.
//
// Thread safety: every function may be called from any thread.
#pragma once

#include "media/decoder.h"
#include "media/video_decoder.h"
#include "vigil/status.h"

namespace vigil::media {

inline constexpr const char* kHeifModuleFile = "libvigil-heif.so";
inline constexpr const char* kFfmpegModuleFile = "libvigil-ffmpeg.so";

// The video module's entry point, or kUnsupported naming the module and why it cannot be loaded.
Result<const VideoModule*> LoadVideoModule();

// Loads both modules now. Returns what could not be loaded, and why ("" when all were): a module
// that cannot be loaded is not fatal (the other formats still decode); the failure is remembered
// and each use of its formats reports it.
std::string PreloadDecoderModules();

}  // namespace vigil::media
