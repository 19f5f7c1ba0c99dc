// The FFmpeg module (libvigil-ffmpeg.so, loaded on first use by media/decoder_modules.cpp): FFmpeg
// decoding of untrusted uploads (see video_decoder.h). The bytes are read through a custom
// AVIOContext over memory; the demuxer and decoder are restricted to allow-lists; nested
// opens (io_open) are refused, so no container can make FFmpeg read another file or URL.
#include "media/video_decoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <chrono>
#include <cstring>

namespace vigil {

namespace media {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kSwscalePadding = 256;

// Demuxers a platform sees uploads in. Raw elementary streams, images, playlists and anything
// that can reference other files are not on the list.
constexpr const char* kFormatWhitelist = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,ogg";

bool AllowedCodec(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_H264:
    case AV_CODEC_ID_HEVC:
    case AV_CODEC_ID_VP8:
    case AV_CODEC_ID_VP9:
    case AV_CODEC_ID_AV1:
    case AV_CODEC_ID_MPEG4:
    case AV_CODEC_ID_MPEG2VIDEO:
    case AV_CODEC_ID_MPEG1VIDEO:
    case AV_CODEC_ID_H263:
    case AV_CODEC_ID_THEORA:
    case AV_CODEC_ID_MJPEG: return true;
    default: return false;
  }
}

std::string AvError(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

struct MemoryReader {
  std::span<const std::uint8_t> bytes;
  std::int64_t position = 0;

  static int Read(void* opaque, std::uint8_t* buffer, int size) {
    auto* self = static_cast<MemoryReader*>(opaque);
    const auto left = static_cast<std::int64_t>(self->bytes.size()) - self->position;
    if (left <= 0) return AVERROR_EOF;
    const auto n = std::min<std::int64_t>(left, size);
    std::memcpy(buffer, self->bytes.data() + self->position, static_cast<std::size_t>(n));
    self->position += n;
    return static_cast<int>(n);
  }

  static std::int64_t Seek(void* opaque, std::int64_t offset, int whence) {
    auto* self = static_cast<MemoryReader*>(opaque);
    const auto size = static_cast<std::int64_t>(self->bytes.size());
    if ((whence & AVSEEK_SIZE) != 0) return size;
    std::int64_t target = 0;
    switch (whence & ~AVSEEK_FORCE) {
      case SEEK_SET: target = offset; break;
      case SEEK_CUR: target = self->position + offset; break;
      case SEEK_END: target = size + offset; break;
      default: return AVERROR(EINVAL);
    }
    if (target < 0 || target > size) return AVERROR(EINVAL);
    self->position = target;
    return target;
  }
};

int RefuseNestedOpen(AVFormatContext*, AVIOContext**, const char* url, int, AVDictionary**) {
  av_log(nullptr, AV_LOG_DEBUG, "vigil: refused nested open of %s\n", url != nullptr ? url : "(null)");
  return AVERROR(EPERM);
}

Status CheckSize(std::uint32_t width, std::uint32_t height, const VideoLimits& limits, const char* what) {
  if (width == 0 || height == 0) return {};
  if (width > limits.max_dimension || height > limits.max_dimension ||
      std::uint64_t{width} * height > limits.max_pixels) {
    return Fail(ErrorCode::kTooLarge, std::string(what) + " " + std::to_string(width) + "x" + std::to_string(height) +
                                          " exceeds the limit of " + std::to_string(limits.max_pixels) + " pixels or " +
                                          std::to_string(limits.max_dimension) + " per side");
  }
  return {};
}

struct State {
  VideoLimits limits;
  VideoStreamInfo info;
  MemoryReader reader;
  Clock::time_point deadline;
  bool timed_out = false;
  AVIOContext* io = nullptr;
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  int stream = -1;
  bool truncated = false;
  std::vector<std::uint8_t> rgb;

  ~State() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    if (format != nullptr) avformat_close_input(&format);
    if (io != nullptr) {
      av_freep(&io->buffer);
      avio_context_free(&io);
    }
  }

  static int Interrupt(void* opaque) {
    auto* self = static_cast<State*>(opaque);
    if (Clock::now() > self->deadline) self->timed_out = true;
    return self->timed_out ? 1 : 0;
  }

  Error TimeLimit() const {
    return {ErrorCode::kDeadlineExceeded,
            "decoding took longer than the limit of " + std::to_string(limits.max_wall_seconds) + " s"};
  }
};

class FfmpegVideoDecoder final : public VideoDecoder {
 public:
  FfmpegVideoDecoder() : state_(std::make_unique<State>()) {}
  const VideoStreamInfo& info() const override { return state_->info; }
  bool truncated() const override { return state_->truncated; }
  Result<std::int64_t> Decode(const std::function<bool(std::int64_t)>& want,
                              const std::function<Status(const RgbFrame&)>& on_frame) override;
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// VideoDecoder::Open's work once the module is loaded (it has checked the size and the container).
Result<std::unique_ptr<VideoDecoder>> OpenWithFfmpeg(std::span<const std::uint8_t> bytes, const VideoLimits& limits) {
  av_log_set_level(AV_LOG_QUIET);
  auto decoder = std::make_unique<FfmpegVideoDecoder>();
  State& s = decoder->state();
  s.limits = limits;
  s.reader.bytes = bytes;
  s.deadline = Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(limits.max_wall_seconds * 1e6));

  constexpr int kIoBuffer = 64 << 10;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBuffer));
  if (buffer == nullptr) return Fail(ErrorCode::kResourceExhausted, "out of memory");
  s.io = avio_alloc_context(buffer, kIoBuffer, 0, &s.reader, &MemoryReader::Read, nullptr, &MemoryReader::Seek);
  if (s.io == nullptr) {
    av_free(buffer);
    return Fail(ErrorCode::kResourceExhausted, "out of memory");
  }
  s.format = avformat_alloc_context();
  if (s.format == nullptr) return Fail(ErrorCode::kResourceExhausted, "out of memory");
  s.format->pb = s.io;
  s.format->flags |= AVFMT_FLAG_CUSTOM_IO;
  s.format->interrupt_callback = {&State::Interrupt, &s};
  s.format->io_open = &RefuseNestedOpen;
  s.format->format_whitelist = av_strdup(kFormatWhitelist);
  s.format->protocol_whitelist = av_strdup("none");
  s.format->probesize = 8 << 20;
  s.format->max_analyze_duration = 10 * AV_TIME_BASE;
  if (const int rc = avformat_open_input(&s.format, nullptr, nullptr, nullptr); rc < 0) {
    s.format = nullptr;  // freed by avformat_open_input on failure
    if (s.timed_out) return tl::unexpected(s.TimeLimit());
    if (rc == AVERROR_EOF) return Fail(ErrorCode::kTruncated, "the container ends before its header does");
    return Fail(ErrorCode::kCorrupt, "not a readable video container: " + AvError(rc));
  }
  s.info.container = s.format->iformat != nullptr ? s.format->iformat->name : "";
  // Declared sizes, before the decoder (or stream probing) allocates anything for them.
  for (unsigned i = 0; i < s.format->nb_streams; ++i) {
    const AVCodecParameters* par = s.format->streams[i]->codecpar;
    if (par->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    VIGIL_TRY(CheckSize(static_cast<std::uint32_t>(std::max(par->width, 0)),
                        static_cast<std::uint32_t>(std::max(par->height, 0)), limits, "declared frame size"));
  }
  if (const int rc = avformat_find_stream_info(s.format, nullptr); rc < 0) {
    if (s.timed_out) return tl::unexpected(s.TimeLimit());
    return Fail(ErrorCode::kCorrupt, "cannot read the streams: " + AvError(rc));
  }
  s.stream = av_find_best_stream(s.format, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (s.stream < 0) return Fail(ErrorCode::kUnsupported, "no video stream");
  AVStream* stream = s.format->streams[s.stream];
  const AVCodecParameters* par = stream->codecpar;
  if (!AllowedCodec(par->codec_id)) {
    return Fail(ErrorCode::kUnsupported, std::string("video codec '") + avcodec_get_name(par->codec_id) +
                                             "' is not on the allow-list");
  }
  VIGIL_TRY(CheckSize(static_cast<std::uint32_t>(std::max(par->width, 0)),
                      static_cast<std::uint32_t>(std::max(par->height, 0)), limits, "frame size"));
  if (stream->duration != AV_NOPTS_VALUE && stream->time_base.den > 0) {
    const double declared = static_cast<double>(stream->duration) * av_q2d(stream->time_base);
    if (declared > limits.max_duration_seconds) {
      return Fail(ErrorCode::kTooLarge, "declared duration of " + std::to_string(static_cast<long long>(declared)) +
                                            " s exceeds the limit of " +
                                            std::to_string(static_cast<long long>(limits.max_duration_seconds)) + " s");
    }
  }
  AVRational rate = stream->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = stream->r_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) return Fail(ErrorCode::kCorrupt, "the video stream has no frame rate");
  s.info.frame_rate = av_q2d(rate);
  if (!(s.info.frame_rate > 0.01 && s.info.frame_rate < 10000)) {
    return Fail(ErrorCode::kCorrupt, "implausible frame rate " + std::to_string(s.info.frame_rate));
  }
  s.info.codec = avcodec_get_name(par->codec_id);
  s.info.declared_frames = std::max<std::int64_t>(0, stream->nb_frames);
  s.info.width = static_cast<std::uint32_t>(std::max(par->width, 0));
  s.info.height = static_cast<std::uint32_t>(std::max(par->height, 0));

  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (codec == nullptr) return Fail(ErrorCode::kUnsupported, "no decoder for " + s.info.codec);
  s.codec = avcodec_alloc_context3(codec);
  if (s.codec == nullptr) return Fail(ErrorCode::kResourceExhausted, "out of memory");
  if (const int rc = avcodec_parameters_to_context(s.codec, par); rc < 0) {
    return Fail(ErrorCode::kCorrupt, "bad codec parameters: " + AvError(rc));
  }
  s.codec->thread_count = std::max(0, limits.threads);
  s.codec->max_pixels = static_cast<std::int64_t>(limits.max_pixels);
  if (const int rc = avcodec_open2(s.codec, codec, nullptr); rc < 0) {
    return Fail(ErrorCode::kCorrupt, "cannot open the " + s.info.codec + " decoder: " + AvError(rc));
  }
  s.frame = av_frame_alloc();
  s.packet = av_packet_alloc();
  if (s.frame == nullptr || s.packet == nullptr) return Fail(ErrorCode::kResourceExhausted, "out of memory");
  return std::unique_ptr<VideoDecoder>(std::move(decoder));
}

Result<std::int64_t> FfmpegVideoDecoder::Decode(const std::function<bool(std::int64_t)>& want,
                                          const std::function<Status(const RgbFrame&)>& on_frame) {
  State& s = *state_;
  std::int64_t decoded = 0;
  const double max_frames_by_duration = s.limits.max_duration_seconds * s.info.frame_rate;

  // Takes every frame the decoder has ready.
  auto drain = [&]() -> Status {
    for (;;) {
      const int rc = avcodec_receive_frame(s.codec, s.frame);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return {};
      if (rc < 0) return Fail(ErrorCode::kCorrupt, "cannot decode frame " + std::to_string(decoded) + ": " + AvError(rc));
      const std::int64_t number = decoded++;
      if (static_cast<std::uint64_t>(decoded) > s.limits.max_frames) {
        return Fail(ErrorCode::kTooLarge, "more than " + std::to_string(s.limits.max_frames) + " frames");
      }
      if (static_cast<double>(decoded) > max_frames_by_duration + 1) {
        return Fail(ErrorCode::kTooLarge, "longer than the limit of " +
                                              std::to_string(static_cast<long long>(s.limits.max_duration_seconds)) +
                                              " s at " + std::to_string(s.info.frame_rate) + " frames/s");
      }
      if (Clock::now() > s.deadline) return tl::unexpected(s.TimeLimit());
      const auto width = static_cast<std::uint32_t>(s.frame->width), height = static_cast<std::uint32_t>(s.frame->height);
      VIGIL_TRY(CheckSize(width, height, s.limits, "decoded frame"));
      if (want(number)) {
        const auto format = static_cast<AVPixelFormat>(s.frame->format);
        s.sws = sws_getCachedContext(s.sws, s.frame->width, s.frame->height, format, s.frame->width, s.frame->height,
                                     AV_PIX_FMT_RGB24, SWS_AREA, nullptr, nullptr, nullptr);
        if (s.sws == nullptr) return Fail(ErrorCode::kUnsupported, "cannot convert frames of this pixel format");
        const std::size_t stride = std::size_t{width} * 3;
        // swscale's SIMD paths may store a little past the last row; give them room.
        s.rgb.resize(stride * height + kSwscalePadding);
        std::uint8_t* planes[4] = {s.rgb.data(), nullptr, nullptr, nullptr};
        int strides[4] = {static_cast<int>(stride), 0, 0, 0};
        sws_scale(s.sws, s.frame->data, s.frame->linesize, 0, s.frame->height, planes, strides);
        VIGIL_TRY(on_frame(RgbFrame{number, width, height, s.rgb.data(), stride}));
      }
      av_frame_unref(s.frame);
    }
  };

  for (;;) {
    const int rc = av_read_frame(s.format, s.packet);
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      if (s.timed_out) return tl::unexpected(s.TimeLimit());
      // A damaged or cut tail: the caller decides whether what decoded is enough.
      s.truncated = true;
      break;
    }
    if (s.packet->stream_index == s.stream) {
      const int sent = avcodec_send_packet(s.codec, s.packet);
      av_packet_unref(s.packet);
      // Invalid data in one packet is skipped, like players do; limits still apply per frame.
      if (sent < 0 && sent != AVERROR_INVALIDDATA && sent != AVERROR(EAGAIN)) {
        return Fail(ErrorCode::kCorrupt, "decoder refused a packet: " + AvError(sent));
      }
      VIGIL_TRY(drain());
    } else {
      av_packet_unref(s.packet);
    }
    if (Clock::now() > s.deadline) return tl::unexpected(s.TimeLimit());
  }
  avcodec_send_packet(s.codec, nullptr);  // flush
  VIGIL_TRY(drain());
  if (decoded == 0) return Fail(ErrorCode::kCorrupt, "no decodable video frames");
  if (s.info.declared_frames > 0 && decoded < s.info.declared_frames) s.truncated = true;
  return decoded;
}

}  // namespace
}  // namespace media
}  // namespace vigil

// The module's entry point (kVideoModuleSymbol).
extern "C" const vigil::media::VideoModule vigil_video_module_v1{&vigil::media::OpenWithFfmpeg};
