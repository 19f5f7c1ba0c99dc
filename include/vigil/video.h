// Video: vPDQ hashing compatible with Meta's reference, over FFmpeg decoding that treats every file
// as hostile, and the vPDQ match rule.
//
// vPDQ hashes one decoded frame every `seconds_per_hash` (0 = every frame) with full-resolution PDQ:
// frameMod = max(1, int(seconds_per_hash * frame_rate)), frame k (the decoder's output counter, from
// 0) is hashed iff k % frameMod == 0, timestamp = k / frame_rate. Two videos match when at least
// query_match_percent of the query's frames have a frame of the other within the distance, and at
// least compared_match_percent of the other's frames have one in the query (frames below the
// quality floor ignored, exact duplicate hashes dropped first, as HMA does).
//
// Decoding: the first video stream of an allow-listed container and codec, read from memory (no
// protocols, no nested files), with limits on bytes, declared and decoded resolution, duration,
// frame count, wall time and threads, each refusal a clear Error.
//
//   vigil::VideoHasher hasher({.seconds_per_hash = 1.0});
//   auto video = hasher.HashBytes(bytes);
//   if (video) std::cout << vigil::FormatVpdq(video->frames);
//
// Thread safety: a VideoHasher may be used by one thread at a time; use one per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/digest.h"
#include "vigil/pdq.h"
#include "vigil/status.h"

namespace vigil {

struct VideoLimits {
  std::uint64_t max_file_bytes = 2ull << 30;  // 2 GiB
  std::uint64_t max_pixels = 8192ull * 4320;  // per frame, declared or decoded
  std::uint32_t max_dimension = 8192;         // each side
  double max_duration_seconds = 4 * 3600;     // declared by the container or reached by timestamps
  std::uint64_t max_frames = 1'000'000;       // decoded frames
  double max_wall_seconds = 600;              // the whole decode
  int threads = 1;                            // decoder threads (0: FFmpeg picks)
};

// One hashed frame, as the reference prints it.
struct VpdqFrame {
  std::int64_t frame = 0;  // decoder output counter
  int quality = 0;
  PdqHash pdq;
  double timestamp = 0;  // seconds: frame / frame_rate
};

struct VideoHashOptions {
  double seconds_per_hash = 1.0;  // 0: every frame (the reference CLI's -r 0)
  VideoLimits limits;
  // A file cut short (fewer frames than its container declares, or an unreadable tail) is an
  // error (kTruncated) by default; allowed, its decodable frames are hashed and `truncated` set.
  bool allow_truncated = false;
};

struct VideoHashResult {
  std::vector<VpdqFrame> frames;
  FileDigests digests;  // of the file's bytes
  std::string container;  // "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", ...
  std::string codec;      // "h264", ...
  std::uint32_t width = 0, height = 0;
  double frame_rate = 0;
  double duration_seconds = 0;   // decoded frames / frame rate
  std::int64_t frames_decoded = 0;
  std::int64_t frames_declared = 0;  // by the container; 0 when it says nothing
  bool truncated = false;
};

// Whether the bytes look like a container this build decodes (by magic, not by name).
bool LooksLikeVideo(std::span<const std::uint8_t> bytes);

class VideoHasher {
 public:
  explicit VideoHasher(VideoHashOptions options = {});
  ~VideoHasher();
  VideoHasher(const VideoHasher&) = delete;
  VideoHasher& operator=(const VideoHasher&) = delete;

  Result<VideoHashResult> HashBytes(std::span<const std::uint8_t> bytes);
  // Errors carry the path.
  Result<VideoHashResult> HashFile(const std::filesystem::path& path);

 private:
  VideoHashOptions options_;
  PdqHasher pdq_;
};

// The reference's line format: "frame,quality,pdq_hex,timestamp" with %.3f, one line per frame.
std::string FormatVpdq(std::span<const VpdqFrame> frames);
// Parses that format (blank lines and a trailing newline allowed). Errors name the line. Timestamps
// are seconds from 0 to kMaxVpdqTimestampSeconds (a year: far beyond any video the limits admit).
inline constexpr double kMaxVpdqTimestampSeconds = 366.0 * 24 * 3600;
Result<std::vector<VpdqFrame>> ParseVpdq(std::string_view text, std::size_t max_frames = 1'000'000);

struct VpdqMatchOptions {
  int max_distance = 31;               // a frame pair matches at distance <= this (HMA's rule)
  int min_quality = 50;                // frames below are ignored on both sides
  double query_match_percent = 80;     // HMA's defaults: a clip of a listed video matches it
  double compared_match_percent = 0;
};

struct VpdqMatch {
  double query_match_percent = 0;     // share of the query's frames with a close frame in the other
  double compared_match_percent = 0;  // share of the other's frames with a close frame in the query
  bool matched = false;
};

// A listed video's identity in a bank: the SHA-256 (hex) of its frames in the reference format.
std::string VpdqIdentity(std::span<const VpdqFrame> frames);

// The distinct frame hashes at or above the quality floor (what the match rule counts).
std::vector<PdqHash> VpdqMatchableHashes(std::span<const VpdqFrame> frames, int min_quality);

// Brute-force comparison of two videos (the definition; banks use the index, see Matcher).
VpdqMatch MatchVpdq(std::span<const VpdqFrame> query, std::span<const VpdqFrame> compared,
                    const VpdqMatchOptions& options = {});

}  // namespace vigil
