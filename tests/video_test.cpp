// Video: vPDQ against the reference's outputs (bit-exact on this Debian's FFmpeg, within the
// reference's own tolerance of its upstream outputs), sampling, the text format, the match rule on
// a clip, a re-encode and an unrelated video (made with Debian's ffmpeg from the reference's benign
// sample videos), and hostile files: truncated, wrong container, huge declared size, over-long,
// over the frame and time limits, no video stream.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "service_harness.h"
#include "test_images.h"
#include "vigil/video.h"

namespace vigil {
namespace {

std::filesystem::path VideoVectors() { return testing::TestDataDir() / "vectors/vpdq"; }
std::filesystem::path SampleVideo(const std::string& name) { return VideoVectors() / "videos" / (name + ".mp4"); }

using testing::ReadText;

const char* const kVideos[] = {"chair-19-sd-bar",    "chair-22-sd-grey-bar",   "chair-22-with-large-logo-bar",
                               "doorknob-hd-no-bar", "pattern-hd-no-bar",      "pattern-sd-grey-bar",
                               "test-padded-dimensions"};

Result<VideoHashResult> Hash(const std::filesystem::path& path, double seconds_per_hash = 1.0,
                             VideoLimits limits = {}, bool allow_truncated = false) {
  VideoHashOptions options;
  options.seconds_per_hash = seconds_per_hash;
  options.limits = limits;
  options.allow_truncated = allow_truncated;
  VideoHasher hasher(options);
  return hasher.HashFile(path);
}

Result<VideoHashResult> HashBytes(const testing::Bytes& bytes, VideoLimits limits = {}) {
  VideoHashOptions options;
  options.limits = limits;
  VideoHasher hasher(options);
  return hasher.HashBytes(bytes);
}

// Runs Debian's ffmpeg; the output file must exist afterwards.
void Ffmpeg(std::vector<std::string> args, const std::filesystem::path& out) {
  std::vector<std::string> argv{"ffmpeg", "-nostdin", "-v", "error", "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(out.string());
  const auto run = testing::RunProgram(argv);
  ASSERT_EQ(run.status, 0) << run.err;
  ASSERT_TRUE(std::filesystem::exists(out));
}

TEST(VpdqVectors, EveryFrameBitExactWithTheReferenceOnDebianFfmpeg) {
  for (const char* name : kVideos) {
    auto hashed = Hash(SampleVideo(name), 0);
    ASSERT_TRUE(hashed) << name << ": " << hashed.error().ToString();
    EXPECT_EQ(FormatVpdq(hashed->frames), ReadText(VideoVectors() / "debian-ffmpeg" / (std::string(name) + ".txt")))
        << name;
    EXPECT_EQ(hashed->frames_decoded, static_cast<std::int64_t>(hashed->frames.size()));
    EXPECT_FALSE(hashed->truncated);
  }
}

// The reference's acceptance rule across FFmpeg versions: every frame of quality >= 50 within
// distance < 31 of the upstream output.
TEST(VpdqVectors, WithinTheReferenceToleranceOfItsUpstreamOutputs) {
  for (const char* name : kVideos) {
    auto hashed = Hash(SampleVideo(name), 0);
    ASSERT_TRUE(hashed) << name;
    auto upstream = ParseVpdq(ReadText(VideoVectors() / "upstream" / (std::string(name) + ".txt")));
    ASSERT_TRUE(upstream) << upstream.error().ToString();
    ASSERT_EQ(upstream->size(), hashed->frames.size()) << name;
    for (std::size_t i = 0; i < upstream->size(); ++i) {
      if ((*upstream)[i].quality < 50) continue;
      EXPECT_LT((*upstream)[i].pdq.Distance(hashed->frames[i].pdq), 31) << name << " frame " << i;
    }
  }
}

TEST(Vpdq, SamplesOneFramePerIntervalAsTheReferenceDoes) {
  auto every = Hash(SampleVideo("chair-19-sd-bar"), 0);
  auto second = Hash(SampleVideo("chair-19-sd-bar"), 1.0);
  auto half = Hash(SampleVideo("chair-19-sd-bar"), 0.5);
  ASSERT_TRUE(every && second && half);
  EXPECT_EQ(second->frame_rate, 30.0);
  ASSERT_EQ(second->frames.size(), 19u);  // frames 0, 30, ..., 540 of 564
  ASSERT_EQ(half->frames.size(), 38u);    // every 15th
  for (std::size_t i = 0; i < second->frames.size(); ++i) {
    EXPECT_EQ(second->frames[i].frame, static_cast<std::int64_t>(i * 30));
    EXPECT_DOUBLE_EQ(second->frames[i].timestamp, static_cast<double>(i));
    EXPECT_EQ(second->frames[i].pdq, every->frames[i * 30].pdq);  // the same frame, the same hash
  }
  EXPECT_EQ(second->digests.sha256.size(), 64u);
  EXPECT_EQ(second->codec, "h264");
  EXPECT_EQ(second->width, 480u);
  EXPECT_EQ(second->height, 720u);
}

TEST(Vpdq, TextFormatRoundTripsAndErrorsNameTheLine) {
  auto hashed = Hash(SampleVideo("doorknob-hd-no-bar"), 0);
  ASSERT_TRUE(hashed);
  const std::string text = FormatVpdq(hashed->frames);
  auto parsed = ParseVpdq(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(FormatVpdq(*parsed), text);
  EXPECT_TRUE(ParseVpdq("\n\n")->empty());
  const std::string good = "0,100," + std::string(64, 'a') + ",0.000\n";
  for (const auto& [bad, says] : std::vector<std::pair<std::string, std::string>>{
           {good + "1,100,zz,0.033\n", "line 2"},
           {good + good + "x,100," + std::string(64, 'a') + ",0.1\n", "line 3: bad frame number"},
           {"0,101," + std::string(64, 'a') + ",0\n", "bad quality"},
           {"0,100," + std::string(64, 'a') + "\n", "expected frame"},
           {"0,100," + std::string(64, 'a') + ",0,extra\n", "expected frame"},
           {"0,100," + std::string(64, 'a') + ",-1\n", "bad timestamp"},
           {"0,100," + std::string(64, 'a') + ",1e300\n", "bad timestamp"}}) {
    auto result = ParseVpdq(bad);
    ASSERT_FALSE(result) << bad;
    EXPECT_NE(result.error().message.find(says), std::string::npos) << result.error().message;
  }
  EXPECT_FALSE(ParseVpdq(good + good + good, 2));  // frame cap
  // A caller's frame with a timestamp longer than any line buffer is printed whole (the fuzzer's
  // find: 1e300 printed with %.3f is 305 characters).
  VpdqFrame huge;
  huge.timestamp = 1e300;
  const std::string printed = FormatVpdq(std::span<const VpdqFrame>(&huge, 1));
  EXPECT_EQ(printed.size(), std::string("0,0,").size() + 64 + 1 + 301 + 4 + 1) << printed;
  EXPECT_EQ(printed.substr(printed.size() - 5), ".000\n");
}

// The matching cases: a 20% segment of a listed video and a re-encode at another size and
// bitrate match it; a different video does not. The listed video is hashed at every frame (the
// reference CLI's default) and uploads at one frame a second: a clip cut at any offset then has
// a listed frame within 1/30 s of each of its frames. (Both at one a second, a clip cut half a
// second off the listed sampling can miss: see the second half.)
TEST(Vpdq, ClipAndReencodeMatchTheListedVideoAndAnUnrelatedOneDoesNot) {
  testing::TempDir dir;
  const auto listed_path = SampleVideo("chair-19-sd-bar");  // 18.8 s
  const auto clip = dir.path() / "clip.mp4", reencode = dir.path() / "reencode.webm";
  ASSERT_NO_FATAL_FAILURE(Ffmpeg({"-ss", "7.5", "-i", listed_path.string(), "-t", "3.76", "-c:v", "libx264", "-crf", "26",
                                  "-an"},
                                 clip));
  ASSERT_NO_FATAL_FAILURE(Ffmpeg({"-i", listed_path.string(), "-vf", "scale=240:360", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v",
                                  "150k", "-an"},
                                 reencode));
  auto listed = Hash(listed_path, 0);
  auto listed_sparse = Hash(listed_path, 1.0);
  auto clip_hash = Hash(clip);
  auto reencode_hash = Hash(reencode);
  auto other = Hash(SampleVideo("doorknob-hd-no-bar"));
  ASSERT_TRUE(listed && listed_sparse && clip_hash && reencode_hash && other);
  EXPECT_EQ(reencode_hash->codec, "vp9");
  EXPECT_EQ(reencode_hash->width, 240u);

  const VpdqMatch clip_match = MatchVpdq(clip_hash->frames, listed->frames);
  EXPECT_TRUE(clip_match.matched) << clip_match.query_match_percent;
  EXPECT_GE(clip_match.query_match_percent, 80);
  EXPECT_LE(clip_match.compared_match_percent, 40);  // a clip covers a fraction of the listed video
  // Sparse on both sides, this clip (cut 7.5 s in: half a second off the listed samples) is missed.
  EXPECT_LT(MatchVpdq(clip_hash->frames, listed_sparse->frames).query_match_percent, 80);
  const VpdqMatch reencode_match = MatchVpdq(reencode_hash->frames, listed->frames);
  EXPECT_TRUE(reencode_match.matched) << reencode_match.query_match_percent;
  // Sampled alike, a whole re-encode covers the listed video both ways.
  const VpdqMatch reencode_sparse = MatchVpdq(reencode_hash->frames, listed_sparse->frames);
  EXPECT_GE(reencode_sparse.query_match_percent, 80);
  EXPECT_GE(reencode_sparse.compared_match_percent, 80);
  const VpdqMatch unrelated = MatchVpdq(other->frames, listed->frames);
  EXPECT_FALSE(unrelated.matched);
  EXPECT_EQ(unrelated.query_match_percent, 0);
  // Both ways, and with HMA's symmetric option the clip no longer matches the whole.
  EXPECT_FALSE(MatchVpdq(listed->frames, clip_hash->frames).matched);
  VpdqMatchOptions both;
  both.compared_match_percent = 80;
  EXPECT_FALSE(MatchVpdq(clip_hash->frames, listed->frames, both).matched);
}

TEST(VideoHostile, TruncatedFilesAreRefusedOrHashedAsCutShort) {
  const auto bytes = testing::ReadFile(SampleVideo("chair-19-sd-bar"));
  for (const std::size_t cut : {std::size_t{1}, std::size_t{20}, std::size_t{600}, bytes.size() / 10,
                                bytes.size() / 2, bytes.size() - 10'000}) {
    const testing::Bytes head(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    auto result = HashBytes(head);
    ASSERT_FALSE(result) << cut;
    EXPECT_TRUE(result.error().code == ErrorCode::kTruncated || result.error().code == ErrorCode::kCorrupt ||
                result.error().code == ErrorCode::kUnsupported)
        << cut << ": " << result.error().ToString();
  }
  // With allow_truncated the decodable part is hashed and flagged.
  testing::TempDir dir;
  const testing::Bytes half(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
  testing::WriteFile(dir.path() / "half.mp4", half);
  auto partial = Hash(dir.path() / "half.mp4", 1.0, {}, true);
  ASSERT_TRUE(partial) << partial.error().ToString();
  EXPECT_TRUE(partial->truncated);
  EXPECT_GT(partial->frames_decoded, 100);
  EXPECT_LT(partial->frames_decoded, 564);
  EXPECT_EQ(partial->frames_declared, 564);
  auto refused = Hash(dir.path() / "half.mp4");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kTruncated);
  EXPECT_NE(refused.error().message.find("of 564 declared"), std::string::npos) << refused.error().message;
}

TEST(VideoHostile, WrongContainersAndGarbage) {
  std::mt19937 rng(3);
  testing::Bytes garbage(200'000);
  for (auto& b : garbage) b = static_cast<std::uint8_t>(rng());
  auto random = HashBytes(garbage);
  ASSERT_FALSE(random);
  EXPECT_EQ(random.error().code, ErrorCode::kUnsupported);
  // Garbage behind each container's magic.
  for (const std::string& magic : {std::string("\0\0\0\x18" "ftypisom", 12), std::string("\x1a\x45\xdf\xa3", 4),
                                  std::string("RIFF\0\0\0\0AVI ", 12), std::string("FLV\x01", 4),
                                  std::string("\0\0\x01\xba", 4), std::string("OggS", 4)}) {
    testing::Bytes bytes(magic.begin(), magic.end());
    bytes.insert(bytes.end(), garbage.begin(), garbage.end());
    auto result = HashBytes(bytes);
    ASSERT_FALSE(result) << magic;
    EXPECT_NE(result.error().code, ErrorCode::kInternal);
  }
  // An image is not a video.
  const auto jpeg = testing::EncodeJpeg(testing::MakePattern(64, 64, 3));
  EXPECT_FALSE(LooksLikeVideo(jpeg));
  EXPECT_EQ(HashBytes(jpeg).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(HashBytes({}).error().code, ErrorCode::kTruncated);
}

TEST(VideoHostile, HugeDeclaredResolutionIsRefusedFromTheHeader) {
  auto bytes = testing::ReadFile(SampleVideo("chair-19-sd-bar"));
  // The avc1 sample entry after 'stsd' holds width and height 28 bytes after its type.
  const std::string data(bytes.begin(), bytes.end());
  const auto stsd = data.find("stsd");
  const auto avc1 = data.find("avc1", stsd);
  ASSERT_NE(avc1, std::string::npos);
  for (std::size_t at : {avc1 + 28, avc1 + 30}) {
    bytes[at] = 0xEA;  // 60000
    bytes[at + 1] = 0x60;
  }
  const auto started = std::chrono::steady_clock::now();
  auto result = HashBytes(bytes);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(result.error().message.find("60000x60000"), std::string::npos) << result.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST(VideoHostile, DurationFrameAndTimeLimits) {
  const auto bytes = testing::ReadFile(SampleVideo("chair-19-sd-bar"));  // 564 frames, 18.8 s
  VideoLimits short_limit;
  short_limit.max_duration_seconds = 5;
  auto too_long = HashBytes(bytes, short_limit);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(too_long.error().message.find("duration"), std::string::npos) << too_long.error().message;

  VideoLimits few_frames;
  few_frames.max_frames = 100;  // an "endless" stream stops here
  auto too_many = HashBytes(bytes, few_frames);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(too_many.error().message.find("more than 100 frames"), std::string::npos);

  VideoLimits no_time;
  no_time.max_wall_seconds = 0.001;
  auto too_slow = HashBytes(bytes, no_time);
  ASSERT_FALSE(too_slow);
  EXPECT_EQ(too_slow.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_NE(too_slow.error().message.find("longer than the limit"), std::string::npos) << too_slow.error().message;

  VideoLimits small_file;
  small_file.max_file_bytes = 1000;
  EXPECT_EQ(HashBytes(bytes, small_file).error().code, ErrorCode::kTooLarge);
}

// A stream with no end in sight: an MPEG-TS of tiny frames whose container declares no duration,
// stopped by the frame limit (and the wall-clock limit behind it).
TEST(VideoHostile, LongStreamWithoutDeclaredDurationStopsAtTheFrameLimit) {
  testing::TempDir dir;
  const auto ts = dir.path() / "long.ts";
  ASSERT_NO_FATAL_FAILURE(Ffmpeg({"-f", "lavfi", "-i", "color=c=gray:s=16x16:r=100:d=60", "-c:v", "mpeg2video"}, ts));
  VideoLimits limits;
  limits.max_frames = 2000;
  auto result = HashBytes(testing::ReadFile(ts), limits);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kTooLarge) << result.error().ToString();
}

TEST(VideoHostile, NoVideoStreamOrNoFrames) {
  testing::TempDir dir;
  const auto audio = dir.path() / "audio.mp4", empty = dir.path() / "empty.mp4";
  ASSERT_NO_FATAL_FAILURE(Ffmpeg({"-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac"}, audio));
  ASSERT_NO_FATAL_FAILURE(Ffmpeg({"-f", "lavfi", "-i", "testsrc=d=1:s=64x64", "-frames:v", "0", "-c:v", "libx264"}, empty));
  for (const auto& path : {audio, empty}) {
    auto result = Hash(path);
    ASSERT_FALSE(result) << path;
    EXPECT_EQ(result.error().code, ErrorCode::kUnsupported) << result.error().ToString();
    EXPECT_NE(result.error().message.find("no video stream"), std::string::npos) << result.error().message;
  }
}

}  // namespace
}  // namespace vigil
