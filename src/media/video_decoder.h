// Decoding of an untrusted video held in memory, by FFmpeg in the FFmpeg module (libvigil-ffmpeg.so,
// loaded on the first Open; media/decoder_modules.h): the first video stream of an allow-listed
// container and codec, converted to RGB24 (swscale, SWS_AREA, the reference's settings) only for
// the frames the caller wants. Every limit in VideoLimits is enforced, before allocation where the
// container declares it and again on every decoded frame; a wall-clock deadline interrupts the
// demuxer and the decode loop. Nested I/O (external references, playlists) is refused.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "vigil/status.h"
#include "vigil/video.h"

namespace vigil::media {

struct VideoStreamInfo {
  std::string container;
  std::string codec;
  std::uint32_t width = 0, height = 0;
  double frame_rate = 0;  // avg_frame_rate, or r_frame_rate when that is 0
  std::int64_t declared_frames = 0;  // the container's frame count, 0 when it gives none
};

// An RGB24 frame, valid during the callback only.
struct RgbFrame {
  std::int64_t number = 0;  // decoder output counter, from 0
  std::uint32_t width = 0, height = 0;
  const std::uint8_t* pixels = nullptr;  // rows of width*3 bytes, `stride` apart
  std::size_t stride = 0;
};

// One video being decoded. Not thread-safe: one thread uses a decoder at a time; decoders of
// different videos may run on different threads at once.
class VideoDecoder {
 public:
  // Opens the container and the stream's decoder; checks format, codec and declared limits. The
  // file size and the container's magic are checked here, before the FFmpeg module is loaded;
  // kUnsupported naming the module when it cannot be loaded.
  static Result<std::unique_ptr<VideoDecoder>> Open(std::span<const std::uint8_t> bytes, const VideoLimits& limits);
  VideoDecoder() = default;
  virtual ~VideoDecoder() = default;
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  virtual const VideoStreamInfo& info() const = 0;
  // After Decode: the container could not be read to its end, or held fewer frames than declared.
  virtual bool truncated() const = 0;

  // Decodes every frame; frames for which want(number) is true are converted and passed to
  // on_frame. Returns the number of frames decoded. A frame callback's error stops the decode.
  // A damaged or cut tail ends the decode early; truncated() then says so.
  virtual Result<std::int64_t> Decode(const std::function<bool(std::int64_t)>& want,
                                      const std::function<Status(const RgbFrame&)>& on_frame) = 0;
};

// What the FFmpeg module exports for video, as the data symbol vigil_video_module_v1: its Open, called with
// bytes that passed VideoDecoder::Open's own checks.
struct VideoModule {
  Result<std::unique_ptr<VideoDecoder>> (*open)(std::span<const std::uint8_t> bytes, const VideoLimits& limits);
};

}  // namespace vigil::media
