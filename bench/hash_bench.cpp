// Hashing benchmark: images/second on one core for classes of real photos (the Debian wallpapers
// that scripts/fetch-wallpapers unpacks), split into decode, PDQ and file digests, side by side in
// the same run with libjpeg-turbo's `djpeg` decoding the same files, so overheads are ratios.
// Also: PDQ hashes/second on already-decoded 512x512 input, and the fast DCT-scaled JPEG path's
// speed and its Hamming distance to the exact hash. Prints Markdown tables.
//
//   build/release/bench/hash_bench [--dir .cache/wallpapers/root] [--reps 5]
#include <spawn.h>
#include <sys/wait.h>
#include <turbojpeg.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "vigil/digest.h"
#include "vigil/file_hasher.h"
#include "vigil/image.h"
#include "vigil/pdq.h"

extern char** environ;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Input {
  fs::path path;
  Bytes bytes;
};

Bytes ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Median wall seconds of `reps` runs of fn.
double Median(int reps, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto s = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - s).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void RunDjpeg(const fs::path& file) {
  const std::string f = file.string();
  const char* argv[] = {"djpeg", "-outfile", "/dev/null", f.c_str(), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "djpeg", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    std::fprintf(stderr, "cannot run djpeg (apt-get install libjpeg-turbo-progs)\n");
    std::exit(1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
}

// Re-encodes a JPEG at scale num/8 through TurboJPEG (real photo content at another size).
Bytes ScaleJpeg(const Bytes& jpeg, int num, int quality) {
  tjhandle d = tjInitDecompress(), c = tjInitCompress();
  int w, h, ss, cs;
  tjDecompressHeader3(d, jpeg.data(), jpeg.size(), &w, &h, &ss, &cs);
  const int sw = (w * num + 7) / 8, sh = (h * num + 7) / 8;
  std::vector<unsigned char> rgb(static_cast<std::size_t>(sw) * static_cast<std::size_t>(sh) * 3);
  tjDecompress2(d, jpeg.data(), jpeg.size(), rgb.data(), sw, 0, sh, TJPF_RGB, 0);
  unsigned char* out = nullptr;
  unsigned long n = 0;
  tjCompress2(c, rgb.data(), sw, 0, sh, TJPF_RGB, &out, &n, TJSAMP_420, quality, 0);
  Bytes b(out, out + n);
  tjFree(out);
  tjDestroy(d);
  tjDestroy(c);
  return b;
}

struct ClassResult {
  std::string name;
  std::size_t files = 0;
  double megapixels = 0;
  double decode = 0, pdq = 0, pdq_full = 0, digests = 0, djpeg = 0;  // seconds per image
};

void PrintRow(const ClassResult& r, double spawn) {
  const double total = r.decode + r.pdq + r.digests;
  std::printf("| %s | %zu | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f | %.1f |", r.name.c_str(), r.files,
              r.megapixels, 1000 * r.decode, 1000 * r.pdq, 1000 * r.pdq_full, 1000 * r.digests,
              1.0 / total, 1.0 / (r.decode + r.pdq));
  if (r.djpeg > 0) {
    const double dj = std::max(1e-6, r.djpeg - spawn);
    std::printf(" %.1f | %.2f | %.2f |\n", 1000 * dj, (r.decode + r.pdq) / dj, (r.decode + r.pdq) / r.decode);
  } else {
    std::printf(" - | - | %.2f |\n", (r.decode + r.pdq) / r.decode);
  }
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = ".cache/wallpapers/root";
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else {
      std::printf("usage: hash_bench [--dir WALLPAPER_ROOT] [--reps N]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (!fs::exists(dir / "usr/share")) {
    std::fprintf(stderr, "no wallpapers at %s: run scripts/fetch-wallpapers first\n", dir.c_str());
    return 1;
  }
  // Gather the wallpapers by class.
  std::map<std::string, std::vector<Input>> classes;
  const fs::path tmp = fs::temp_directory_path() / "vigil-bench";
  fs::create_directories(tmp);
  std::vector<fs::path> files;
  for (auto& e : fs::recursive_directory_iterator(dir / "usr/share")) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  int derived = 0;
  for (const auto& p : files) {
    Bytes b = ReadAll(p);
    auto img = vigil::DecodeImage(b, {});
    if (!img) continue;
    const std::uint64_t px = std::uint64_t{img->width} * img->height;
    const std::string ext = p.extension();
    std::string cls;
    if (ext == ".jpg") {
      if (px <= 150'000) cls = "1 JPEG small (400x250)";
      else if (px >= 14'000'000) cls = "4 JPEG 5K (5120x2880)";
      else if (img->width == 2560) cls = "3 JPEG 2560x1600";
      if (px >= 14'000'000) {
        // 3/8 of 5120x2880 is exactly 1920x1080: real photos at 1080p.
        Bytes hd = ScaleJpeg(b, 3, 90);
        const fs::path out = tmp / ("hd" + std::to_string(derived++) + ".jpg");
        std::ofstream(out, std::ios::binary).write(reinterpret_cast<const char*>(hd.data()), static_cast<std::streamsize>(hd.size()));
        classes["2 JPEG 1080p (1920x1080)"].push_back({out, std::move(hd)});
      }
    } else if (ext == ".png" && px >= 8'000'000) {
      cls = "5 PNG 4K-5K";
    } else if (ext == ".webp" && px >= 16'000'000) {
      cls = "6 WebP 4096x4096";
    }
    if (!cls.empty()) classes[cls].push_back({p, std::move(b)});
  }

  // djpeg's process start-up, measured on a tiny JPEG, is subtracted from its times.
  const fs::path tiny = tmp / "tiny.jpg";
  {
    Bytes t = ScaleJpeg(classes.begin()->second.front().bytes, 1, 90);
    std::ofstream(tiny, std::ios::binary).write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.size()));
  }
  const double spawn = Median(reps * 4, [&] { RunDjpeg(tiny); });

  std::printf("## PDQ hashing speed, one core (median of %d runs per file, mean over files)\n\n", reps);
  std::printf("djpeg start-up (subtracted from djpeg times): %.2f ms\n\n", 1000 * spawn);
  std::printf("| class | files | MP | decode ms | pdq ms | pdq full-res ms | md5+sha1+sha256 ms | files/s (all) | "
              "images/s (decode+pdq) | djpeg ms | (decode+pdq)/djpeg | (decode+pdq)/decode |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  vigil::PdqHasher hasher;
  vigil::DecodeLimits limits;
  for (auto& [name, inputs] : classes) {
    ClassResult r;
    r.name = name.substr(2);
    r.files = inputs.size();
    for (const Input& in : inputs) {
      auto img = vigil::DecodeImage(in.bytes, limits);
      r.megapixels += static_cast<double>(img->width) * img->height / 1e6;
      r.decode += Median(reps, [&] { (void)vigil::DecodeImage(in.bytes, limits); });
      r.pdq += Median(reps, [&] { (void)hasher.Hash(*img, {}); });
      r.pdq_full += Median(reps, [&] { (void)hasher.Hash(*img, {.full_resolution = true}); });
      r.digests += Median(reps, [&] { (void)vigil::ComputeDigests(in.bytes); });
      if (in.path.extension() == ".jpg") r.djpeg += Median(reps, [&] { RunDjpeg(in.path); });
    }
    const double n = static_cast<double>(inputs.size());
    r.megapixels /= n;
    r.decode /= n;
    r.pdq /= n;
    r.pdq_full /= n;
    r.digests /= n;
    r.djpeg /= n;
    PrintRow(r, spawn);
  }

  // Already-decoded 512x512 input: the hashing core alone.
  {
    auto img = vigil::DecodeImage(classes.begin()->second.front().bytes, limits);
    vigil::Image sq;
    sq.width = sq.height = 512;
    sq.channels = 3;
    sq.pixels.resize(512 * 512 * 3);
    for (std::uint32_t y = 0; y < 512; ++y)
      for (std::uint32_t x = 0; x < 512; ++x)
        std::memcpy(&sq.pixels[(y * 512 + x) * 3], img->Row(y * img->height / 512) + (x * img->width / 512) * 3, 3);
    const int n = 2000;
    const double t = Median(reps, [&] {
      for (int i = 0; i < n; ++i) (void)hasher.Hash(sq, {});
    });
    const double td = Median(reps, [&] {
      for (int i = 0; i < n / 4; ++i) (void)hasher.HashDihedral(sq, {});
    });
    std::printf("\n## PDQ on already-decoded 512x512 RGB, one core\n\n");
    std::printf("| operation | hashes/s | us/hash |\n|---|---|---|\n");
    std::printf("| hash + quality | %.0f | %.0f |\n", n / t, 1e6 * t / n);
    std::printf("| hash + 8 dihedral variants | %.0f | %.0f |\n", (n / 4) / td, 1e6 * td / (n / 4));
  }

  // The fast DCT-scaled JPEG decode: speed and distance to the exact (reference) hash.
  std::printf("\n## Fast JPEG path (--fast-jpeg N: DCT-domain downscale keeping both sides >= N)\n\n");
  std::printf("| min side | JPEGs | mean distance | max distance | speed-up of decode+pdq |\n|---|---|---|---|---|\n");
  for (std::uint32_t min_side : {1024u, 512u, 256u}) {
    vigil::DecodeLimits fast;
    fast.jpeg_fast_min_side = min_side;
    int count = 0, max_d = 0;
    double sum_d = 0, t_exact = 0, t_fast = 0;
    for (auto& [name, inputs] : classes) {
      for (const Input& in : inputs) {
        if (in.path.extension() != ".jpg") continue;
        auto exact = vigil::DecodeImage(in.bytes, limits);
        auto scaled = vigil::DecodeImage(in.bytes, fast);
        const int d = hasher.Hash(*exact, {}).hash.Distance(hasher.Hash(*scaled, {}).hash);
        sum_d += d;
        max_d = std::max(max_d, d);
        ++count;
        t_exact += Median(reps, [&] { (void)hasher.Hash(*vigil::DecodeImage(in.bytes, limits), {}); });
        t_fast += Median(reps, [&] { (void)hasher.Hash(*vigil::DecodeImage(in.bytes, fast), {}); });
      }
    }
    std::printf("| %u | %d | %.2f | %d | %.2fx |\n", min_side, count, sum_d / count, max_d, t_exact / t_fast);
  }
  fs::remove_all(tmp);
  return 0;
}
