// `vigil hash`: hashes files and directories in parallel and prints one JSON line (or CSV row) per
// file, in input order. Exit status 0 when every file hashed, 1 when any failed.
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <cmath>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "cli/file_walker.h"
#include "cli/progress.h"
#include "vigil/file_hasher.h"
#include "vigil/video.h"

namespace vigil::cli {
namespace {

struct HashArgs {
  std::vector<std::string> paths;
  std::string format = "json";
  unsigned jobs = 0;
  bool dihedral = false;
  bool trimmed = false;
  bool full_resolution = false;
  bool quiet = false;
  std::uint32_t fast_jpeg = 0;
  DecodeLimits limits;
  VideoHashOptions video;
};

// What one file hashed to: an image or a video.
struct MediaHash {
  std::optional<FileHashResult> image;
  std::optional<VideoHashResult> video;
};

std::string FormatVideoJson(const std::string& path, const VideoHashResult& v) {
  boost::json::object o;
  o["path"] = path;
  o["kind"] = "video";
  o["md5"] = v.digests.md5;
  o["sha1"] = v.digests.sha1;
  o["sha256"] = v.digests.sha256;
  o["width"] = v.width;
  o["height"] = v.height;
  o["format"] = v.container;
  o["codec"] = v.codec;
  o["frame_rate"] = v.frame_rate;
  o["duration"] = v.duration_seconds;
  o["frames_decoded"] = v.frames_decoded;
  if (v.truncated) o["truncated"] = true;
  boost::json::array frames;
  for (const VpdqFrame& f : v.frames) {
    frames.push_back(boost::json::object{{"frame", f.frame}, {"quality", f.quality}, {"pdq", f.pdq.ToHex()},
                                         {"timestamp", std::round(f.timestamp * 1000) / 1000}});
  }
  o["vpdq"] = std::move(frames);
  return boost::json::serialize(o);
}

std::string FormatJson(const std::string& path, const Result<FileHashResult>& r) {
  boost::json::object o;
  o["path"] = path;
  if (!r) {
    o["error"] = r.error().message;
    o["error_code"] = std::string(ErrorCodeName(r.error().code));
    return boost::json::serialize(o);
  }
  o["pdq"] = r->pdq.hash.ToHex();
  o["quality"] = r->pdq.quality;
  o["md5"] = r->digests.md5;
  o["sha1"] = r->digests.sha1;
  o["sha256"] = r->digests.sha256;
  o["width"] = r->width;
  o["height"] = r->height;
  o["format"] = std::string(ImageFormatName(r->format));
  if (r->dihedral) {
    boost::json::array d;
    for (const PdqHash& h : r->dihedral->hashes) d.emplace_back(h.ToHex());
    o["dihedral"] = std::move(d);
  }
  if (!r->trimmed.empty()) {
    boost::json::array t;
    for (const PdqResult& h : r->trimmed) t.emplace_back(h.hash.ToHex());
    o["trimmed"] = std::move(t);
  }
  return boost::json::serialize(o);
}

std::string FormatCsv(const std::string& path, const Result<FileHashResult>& r) {
  if (!r) return {};
  std::string line = r->pdq.hash.ToHex();
  if (r->dihedral) {
    line.clear();
    for (const PdqHash& h : r->dihedral->hashes) line += h.ToHex() + ",";
    line.pop_back();
  }
  return line + "," + std::to_string(r->pdq.quality) + "," + path;
}

// Reads a file once and hashes it as a video when its bytes say so, as an image otherwise.
Result<MediaHash> HashMedia(const std::filesystem::path& path, std::size_t max_bytes, FileHasher& images,
                            VideoHasher& videos) {
  VIGIL_ASSIGN_OR_RETURN(auto bytes, ReadFileLimited(path, max_bytes));
  MediaHash out;
  if (LooksLikeVideo(bytes)) {
    auto video = videos.HashBytes(bytes);
    if (!video) return tl::unexpected(WithContext(video.error(), path.string()));
    out.video = std::move(*video);
  } else {
    auto image = images.HashBytes(bytes);
    if (!image) return tl::unexpected(WithContext(image.error(), path.string()));
    out.image = std::move(*image);
  }
  return out;
}

int RunHash(const HashArgs& args) {
  const std::vector<WalkEntry> entries = ExpandPaths(args.paths);
  if (args.format == "vpdq" && entries.size() != 1) {
    std::fprintf(stderr, "vigil hash: --format vpdq takes exactly one video (the reference's format has no file names)\n");
    return 2;
  }
  FileHashOptions options;
  options.limits = args.limits;
  options.limits.jpeg_fast_min_side = args.fast_jpeg;
  options.pdq.full_resolution = args.full_resolution;
  options.dihedral = args.dihedral;
  options.trimmed = args.trimmed;
  const bool json = args.format == "json";

  unsigned jobs = args.jobs ? args.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = static_cast<unsigned>(std::min<std::size_t>(jobs, std::max<std::size_t>(1, entries.size())));

  // Workers fill slots; the main thread prints them in input order. The window bounds how far
  // workers may run ahead of the printer, so memory stays bounded on huge trees.
  constexpr std::size_t kWindow = 1024;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::optional<std::pair<std::string, bool>>> window;  // (line, ok) per pending index
  std::size_t printed = 0;
  std::atomic<std::size_t> next{0};

  auto worker = [&] {
    FileHasher hasher(options);
    VideoHasher video_hasher(args.video);
    const std::size_t max_bytes = std::max<std::size_t>(options.limits.max_file_bytes, args.video.limits.max_file_bytes);
    for (;;) {
      std::size_t i;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return next.load() < printed + kWindow || next.load() >= entries.size(); });
        i = next.fetch_add(1);
      }
      if (i >= entries.size()) return;
      const WalkEntry& e = entries[i];
      const std::string path = PathText(e.path);
      Result<MediaHash> media = Fail(e.code, path + ": " + e.error);
      if (e.error.empty()) media = HashMedia(e.path, max_bytes, hasher, video_hasher);
      std::string line;
      Result<FileHashResult> r = Fail(ErrorCode::kInvalidArgument, "");
      if (!media) {
        r = tl::unexpected(media.error());
        line = args.format == "json" ? FormatJson(path, r) : "";
      } else if (media->image) {
        r = *media->image;
        if (args.format == "vpdq") r = Fail(ErrorCode::kUnsupported, path + ": not a video (--format vpdq is for videos)");
        line = json ? FormatJson(path, r) : args.format == "csv" ? FormatCsv(path, r) : "";
      } else {
        r = FileHashResult{};
        if (json) line = FormatVideoJson(path, *media->video);
        else if (args.format == "vpdq") line = FormatVpdq(media->video->frames);
        else r = Fail(ErrorCode::kUnsupported, path + ": a video has no CSV form (use --format json or vpdq)");
        if (!line.empty() && line.back() == '\n') line.pop_back();
      }
      if (!r && !json) std::fprintf(stderr, "vigil hash: %s\n", r.error().message.c_str());
      {
        std::lock_guard lock(mu);
        const std::size_t slot = i - printed;
        if (window.size() <= slot) window.resize(slot + 1);
        window[slot] = std::make_pair(std::move(line), r.has_value());
      }
      cv.notify_all();
    }
  };

  std::vector<std::thread> threads;
  for (unsigned t = 0; t < jobs; ++t) threads.emplace_back(worker);

  ProgressBar progress(entries.size(), "hashing", !args.quiet && isatty(STDERR_FILENO));
  std::size_t failed = 0;
  {
    std::unique_lock lock(mu);
    while (printed < entries.size()) {
      cv.wait(lock, [&] { return !window.empty() && window.front().has_value(); });
      while (!window.empty() && window.front().has_value()) {
        auto [line, ok] = std::move(*window.front());
        window.pop_front();
        ++printed;
        if (!ok) ++failed;
        if (!line.empty()) {
          std::fwrite(line.data(), 1, line.size(), stdout);
          std::fputc('\n', stdout);
        }
      }
      cv.notify_all();
      lock.unlock();
      progress.Update(printed, failed);
      lock.lock();
    }
  }
  for (auto& t : threads) t.join();
  progress.Finish();
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}

}  // namespace

Action RegisterHashCommand(CLI::App& app) {
  auto args = std::make_shared<HashArgs>();
  CLI::App* cmd = app.add_subcommand(
      "hash", "Hash images (PDQ, optional dihedral variants) and videos (vPDQ), with MD5/SHA-1/SHA-256");
  cmd->footer(
      "Output (json): one object per file, in input order:\n"
      "  {\"path\",\"pdq\",\"quality\",\"md5\",\"sha1\",\"sha256\",\"width\",\"height\",\"format\"}\n"
      "  plus \"dihedral\":[8 hashes] with --dihedral; {\"path\",\"error\",\"error_code\"} on failure.\n"
      "  Videos: {\"path\",\"kind\":\"video\",\"md5\",\"sha1\",\"sha256\",\"width\",\"height\",\"format\",\"codec\",\n"
      "  \"frame_rate\",\"duration\",\"frames_decoded\",\"vpdq\":[{\"frame\",\"quality\",\"pdq\",\"timestamp\"},...]}.\n"
      "Output (csv): pdq,quality,path like Meta's reference CLI (errors go to stderr).\n"
      "Output (vpdq): one video's frame,quality,pdq_hex,timestamp lines, as Meta's vpdq-hash-video.\n"
      "Exit status: 0 all files hashed, 1 some failed, 2 bad usage.");
  cmd->add_option("paths", args->paths, "Files and directories (walked recursively; inside them only regular files are taken, links, FIFOs and devices are reported, not followed)")->required();
  cmd->add_option("--format", args->format, "Output format")
      ->check(CLI::IsMember({"json", "csv", "vpdq"}))
      ->capture_default_str();
  cmd->add_option("-j,--jobs", args->jobs, "Worker threads (default: all cores)");
  cmd->add_flag("--dihedral", args->dihedral, "Also output the 8 dihedral variants (rotations/flips)");
  cmd->add_flag("--trimmed", args->trimmed,
                "Also output \"trimmed\": PDQ of the content inside detected borders (padding, bars, blurred fill)");
  cmd->add_flag("--full-resolution", args->full_resolution,
                "Hash at full resolution (as HMA's Python binding and vPDQ) instead of the "
                "reference CLI's 512x512 pre-resize");
  cmd->add_option("--fast-jpeg", args->fast_jpeg,
                  "Decode large JPEGs at a reduced DCT scale keeping both sides >= N pixels "
                  "(faster, NOT reference-exact; see docs/hashing.md)");
  CLI::Option* max_file_bytes =
      cmd->add_option("--max-file-bytes", args->limits.max_file_bytes,
                      "Largest file accepted (images; given, videos too, whose own default is larger)")
          ->capture_default_str()
          ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40));
  cmd->add_option("--max-pixels", args->limits.max_pixels, "Largest width*height accepted")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  cmd->add_option("--max-dimension", args->limits.max_dimension, "Largest side accepted")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 20));
  cmd->add_option("--seconds-per-hash", args->video.seconds_per_hash,
                  "Videos: hash one frame every S seconds (0 = every frame, the reference CLI's -r 0)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_flag("--allow-truncated", args->video.allow_truncated,
                "Videos cut short: hash the decodable frames (and say \"truncated\") instead of failing");
  cmd->add_option("--max-video-seconds", args->video.limits.max_duration_seconds, "Longest video accepted")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0 * 7));
  cmd->add_option("--video-threads", args->video.limits.threads, "Decoder threads per video (0 = FFmpeg picks)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
  return [cmd, args, max_file_bytes]() -> int {
    if (!cmd->parsed()) return -1;
    if (max_file_bytes->count() > 0) args->video.limits.max_file_bytes = args->limits.max_file_bytes;
    return RunHash(*args);
  };
}

}  // namespace vigil::cli
