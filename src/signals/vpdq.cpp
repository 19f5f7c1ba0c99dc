// vPDQ: frame sampling and per-frame full-resolution PDQ as Meta's reference does it, its text
// format, and the match rule (see include/vigil/video.h).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "media/video_decoder.h"
#include "vigil/file_hasher.h"
#include "vigil/image.h"
#include "vigil/video.h"

namespace vigil {

VideoHasher::VideoHasher(VideoHashOptions options) : options_(std::move(options)) {}
VideoHasher::~VideoHasher() = default;

Result<VideoHashResult> VideoHasher::HashBytes(std::span<const std::uint8_t> bytes) {
  if (!(options_.seconds_per_hash >= 0 && options_.seconds_per_hash <= 3600)) {
    return Fail(ErrorCode::kInvalidArgument, "seconds per hash must be within 0..3600");
  }
  auto decoder = media::VideoDecoder::Open(bytes, options_.limits);
  if (!decoder) return tl::unexpected(decoder.error());
  const auto& info = (*decoder)->info();
  VideoHashResult result;
  result.container = info.container;
  result.codec = info.codec;
  result.width = info.width;
  result.height = info.height;
  result.frame_rate = info.frame_rate;
  const std::int64_t frame_mod =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(options_.seconds_per_hash * info.frame_rate));
  Image image;
  PdqOptions pdq_options;
  pdq_options.full_resolution = true;  // vPDQ hashes full-resolution frames
  auto decoded = (*decoder)->Decode([frame_mod](std::int64_t number) { return number % frame_mod == 0; },
                                    [&](const media::RgbFrame& frame) -> Status {
                                      image.width = frame.width;
                                      image.height = frame.height;
                                      image.channels = 3;
                                      // The decoder packs rows (stride == width * 3).
                                      image.pixels.assign(frame.pixels,
                                                          frame.pixels + std::size_t{frame.width} * 3 * frame.height);
                                      const PdqResult hashed = pdq_.Hash(image, pdq_options);
                                      result.frames.push_back({frame.number, hashed.quality, hashed.hash,
                                                               static_cast<double>(frame.number) / info.frame_rate});
                                      return {};
                                    });
  if (!decoded) return tl::unexpected(decoded.error());
  result.frames_decoded = *decoded;
  result.frames_declared = info.declared_frames;
  result.truncated = (*decoder)->truncated();
  if (result.truncated && !options_.allow_truncated) {
    std::string message = "the video is cut short: " + std::to_string(*decoded) + " frames decoded";
    if (info.declared_frames > 0) message += " of " + std::to_string(info.declared_frames) + " declared";
    return Fail(ErrorCode::kTruncated, message);
  }
  result.duration_seconds = static_cast<double>(*decoded) / info.frame_rate;
  result.digests = ComputeDigests(bytes);
  return result;
}

Result<VideoHashResult> VideoHasher::HashFile(const std::filesystem::path& path) {
  VIGIL_ASSIGN_OR_RETURN(auto bytes, ReadFileLimited(path, options_.limits.max_file_bytes));
  auto result = HashBytes(bytes);
  if (!result) return tl::unexpected(WithContext(result.error(), path.string()));
  return result;
}

std::string FormatVpdq(std::span<const VpdqFrame> frames) {
  std::string out;
  out.reserve(frames.size() * 90);
  char line[160];
  for (const VpdqFrame& f : frames) {
    const std::string hex = f.pdq.ToHex();
    const auto print = [&](char* to, std::size_t size) {
      return std::snprintf(to, size, "%lld,%d,%s,%.3f\n", static_cast<long long>(f.frame), f.quality, hex.c_str(),
                           f.timestamp);
    };
    const int n = print(line, sizeof line);
    if (n < 0) continue;
    if (static_cast<std::size_t>(n) < sizeof line) {
      out.append(line, static_cast<std::size_t>(n));
      continue;
    }
    // A timestamp of hundreds of digits (a caller's own frames; parsed ones are bounded): print in full.
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(n) + 1);
    print(out.data() + at, static_cast<std::size_t>(n) + 1);
    out.resize(at + static_cast<std::size_t>(n));
  }
  return out;
}

Result<std::vector<VpdqFrame>> ParseVpdq(std::string_view text, std::size_t max_frames) {
  std::vector<VpdqFrame> frames;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto bad = [&](const std::string& what) {
      return Fail(ErrorCode::kInvalidArgument, "vpdq line " + std::to_string(line_number) + ": " + what);
    };
    if (frames.size() >= max_frames) return bad("more than " + std::to_string(max_frames) + " frames");
    std::string_view fields[4];
    std::size_t count = 0;
    while (count < 4) {
      const auto comma = line.find(',');
      fields[count++] = line.substr(0, comma);
      if (comma == std::string_view::npos) {
        line = {};
        break;
      }
      line = line.substr(comma + 1);
    }
    if (count != 4 || !line.empty()) return bad("expected frame,quality,pdq_hex,timestamp");
    VpdqFrame frame;
    auto number = [](std::string_view s, auto& out) {
      const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      return ec == std::errc{} && ptr == s.data() + s.size();
    };
    if (!number(fields[0], frame.frame) || frame.frame < 0) return bad("bad frame number");
    if (!number(fields[1], frame.quality) || frame.quality < 0 || frame.quality > 100) return bad("bad quality");
    auto hash = PdqHash::FromHex(fields[2]);
    if (!hash) return bad(hash.error().message);
    frame.pdq = *hash;
    if (!number(fields[3], frame.timestamp) || !std::isfinite(frame.timestamp) || frame.timestamp < 0 ||
        frame.timestamp > kMaxVpdqTimestampSeconds) {
      return bad("bad timestamp (seconds from 0 to " + std::to_string(static_cast<long long>(kMaxVpdqTimestampSeconds)) +
                 ")");
    }
    frames.push_back(frame);
  }
  return frames;
}

std::string VpdqIdentity(std::span<const VpdqFrame> frames) {
  const std::string text = FormatVpdq(frames);
  return Sha256Hex(text);
}

std::vector<PdqHash> VpdqMatchableHashes(std::span<const VpdqFrame> frames, int min_quality) {
  std::vector<PdqHash> hashes;
  std::unordered_set<std::string> seen;
  for (const VpdqFrame& f : frames) {
    if (f.quality < min_quality) continue;
    if (seen.insert(f.pdq.ToHex()).second) hashes.push_back(f.pdq);
  }
  return hashes;
}

VpdqMatch MatchVpdq(std::span<const VpdqFrame> query, std::span<const VpdqFrame> compared,
                    const VpdqMatchOptions& options) {
  const auto q = VpdqMatchableHashes(query, options.min_quality);
  const auto c = VpdqMatchableHashes(compared, options.min_quality);
  VpdqMatch match;
  if (q.empty() || c.empty()) return match;
  std::vector<bool> c_hit(c.size(), false);
  std::size_t q_hits = 0;
  for (const PdqHash& qh : q) {
    bool any = false;
    for (std::size_t j = 0; j < c.size(); ++j) {
      if (qh.Distance(c[j]) <= options.max_distance) {
        any = true;
        c_hit[j] = true;
      }
    }
    q_hits += any ? 1 : 0;
  }
  const auto c_hits = static_cast<std::size_t>(std::count(c_hit.begin(), c_hit.end(), true));
  match.query_match_percent = 100.0 * static_cast<double>(q_hits) / static_cast<double>(q.size());
  match.compared_match_percent = 100.0 * static_cast<double>(c_hits) / static_cast<double>(c.size());
  match.matched = match.query_match_percent >= options.query_match_percent &&
                  match.compared_match_percent >= options.compared_match_percent;
  return match;
}

}  // namespace vigil
