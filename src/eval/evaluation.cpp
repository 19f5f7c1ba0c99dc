// The evaluation run (see evaluation.h). Work is split by image across threads; each image's
// results land in its own slot and are summed in file order afterwards, so the output does not
// depend on the thread count.
#include "eval/evaluation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "eval/transforms.h"
#include "vigil/border.h"
#include "vigil/image.h"
#include "vigil/pdq.h"

namespace vigil::eval {
namespace {

constexpr std::size_t kMeasureCount = std::size(kMeasures);

bool IsImageFile(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".gif" || ext == ".bmp" ||
         ext == ".tif" || ext == ".tiff";
}

Result<std::vector<std::filesystem::path>> ListImages(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Fail(ErrorCode::kNotFound, dir.string() + ": not a directory");
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::recursive_directory_iterator(
           dir, std::filesystem::directory_options::follow_directory_symlink, ec);
       !ec && it != std::filesystem::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && IsImageFile(it->path())) files.push_back(it->path());
  }
  if (ec) return Fail(ErrorCode::kIoError, dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Hashes an encoded image the way the service hashes uploads.
struct Hasher {
  PdqHasher pdq;
  PdqOptions options;

  Result<Image> Decode(const std::vector<std::uint8_t>& bytes) {
    DecodeLimits limits;
    return DecodeImage(bytes, limits);
  }

  QueryHashes Query(const Image& image) {
    QueryHashes q;
    const PdqDihedralResult all = pdq.HashDihedral(image, options);
    q.dihedral = all.hashes;
    q.plain = all.hashes[0];
    q.quality = all.quality;
    for (const BorderBox& box : TrimCandidates(image)) q.trimmed.push_back(pdq.Hash(CropToContent(image, box), options).hash);
    return q;
  }

  ListedHashes Listed(const Image& image, const QueryHashes& as_query, const std::vector<double>& crop_shares) {
    ListedHashes l;
    l.plain = as_query.plain;
    for (double share : crop_shares) {
      BorderBox box;
      box.left = box.right = static_cast<std::uint32_t>(share * image.width);
      box.top = box.bottom = static_cast<std::uint32_t>(share * image.height);
      l.crops.push_back(pdq.Hash(CropToContent(image, box), options).hash);
    }
    return l;
  }
};

struct Slot {
  bool ok = false;
  std::string error;
  QueryHashes query;
  ListedHashes listed;
  bool trimmed = false;
  // [transform][measure] distance to the original; only for originals.
  std::vector<std::array<int, kMeasureCount>> distances;
};

}  // namespace

Result<EvalResults> RunEvaluation(const EvalOptions& options, const ProgressFn& progress) {
  const auto started = std::chrono::steady_clock::now();
  if (!InitVips("vigil")) return Fail(ErrorCode::kInternal, "libvips failed to start");
  EvalResults results;
  results.options = options;
  std::vector<std::string> transforms = options.transforms;
  if (transforms.empty()) {
    for (const auto& t : DefaultTransforms()) transforms.push_back(t.name);
  }
  for (const auto& name : transforms) {
    if (!IsKnownTransform(name)) return Fail(ErrorCode::kInvalidArgument, "unknown transform '" + name + "'");
  }

  auto corpus = ListImages(options.corpus);
  if (!corpus) return tl::unexpected(corpus.error());
  std::vector<std::filesystem::path> originals = std::move(*corpus), distractors;
  std::mt19937_64 shuffle_rng(options.seed);
  std::shuffle(originals.begin(), originals.end(), shuffle_rng);
  if (!options.distractors.empty()) {
    VIGIL_ASSIGN_OR_RETURN(auto listed, ListImages(options.distractors));
    distractors = std::move(listed);
  } else {
    const auto held = static_cast<std::size_t>(options.distractor_share * static_cast<double>(originals.size()));
    distractors.assign(originals.end() - static_cast<std::ptrdiff_t>(held), originals.end());
    originals.resize(originals.size() - held);
  }
  if (options.limit > 0 && originals.size() > options.limit) originals.resize(options.limit);
  if (options.limit > 0 && distractors.size() > options.limit) distractors.resize(options.limit);
  if (originals.size() < 2) return Fail(ErrorCode::kInvalidArgument, "need at least two images in " + options.corpus.string());

  const std::size_t total = originals.size() + distractors.size();
  std::vector<Slot> slots(total);
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex progress_mu;
  auto work = [&] {
    Hasher hasher;
    hasher.options.full_resolution = options.full_resolution;
    for (std::size_t i; (i = next.fetch_add(1)) < total;) {
      const bool is_original = i < originals.size();
      const auto& path = is_original ? originals[i] : distractors[i - originals.size()];
      Slot& slot = slots[i];
      auto image = LoadOriginal(path, options.max_side);
      auto png = image ? EncodePng(*image) : Result<std::vector<std::uint8_t>>(tl::unexpected(image.error()));
      auto decoded = png ? hasher.Decode(*png) : Result<Image>(tl::unexpected(png.error()));
      if (!decoded) {
        slot.error = decoded.error().ToString();
      } else {
        slot.ok = true;
        slot.query = hasher.Query(*decoded);
        slot.trimmed = !slot.query.trimmed.empty();
        slot.listed = hasher.Listed(*decoded, slot.query, options.crop_shares);
        if (is_original) {
          slot.distances.resize(transforms.size());
          for (std::size_t t = 0; t < transforms.size(); ++t) {
            auto& row = slot.distances[t];
            row.fill(kMiss);
            auto bytes = ApplyTransform(*image, transforms[t], Mix(Mix(options.seed, i), t));
            if (!bytes) continue;  // counted as a miss (an upload we could not even hash)
            auto transformed = hasher.Decode(*bytes);
            if (!transformed) continue;
            const QueryHashes q = hasher.Query(*transformed);
            for (std::size_t m = 0; m < kMeasureCount; ++m) {
              row[m] = MeasureDistance(kMeasures[m], q, slot.listed, options.min_quality);
            }
          }
        }
      }
      const std::size_t now = done.fetch_add(1) + 1;
      if (progress) {
        std::lock_guard lock(progress_mu);
        progress(now, total);
      }
    }
  };
  unsigned threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();

  // Sum in file order.
  std::vector<std::size_t> good_originals, good_distractors;
  for (std::size_t i = 0; i < total; ++i) {
    const bool is_original = i < originals.size();
    if (!slots[i].ok) {
      ++results.skipped;
      results.skipped_files.push_back((is_original ? originals[i] : distractors[i - originals.size()]).string() +
                                      ": " + slots[i].error);
      continue;
    }
    if (options.dedupe_distance >= 0) {
      // The same picture as an original already kept: not a distinct item.
      const auto twin = std::find_if(good_originals.begin(), good_originals.end(), [&](std::size_t k) {
        return slots[k].query.plain.Distance(slots[i].query.plain) <= options.dedupe_distance;
      });
      if (twin != good_originals.end()) {
        results.duplicates.emplace_back(slots[*twin].query.plain.Distance(slots[i].query.plain), originals[*twin].string(),
                                        (is_original ? originals[i] : distractors[i - originals.size()]).string());
        continue;
      }
    }
    if (is_original && slots[i].query.quality < options.min_quality) {
      // Lists leave out hashes below the quality floor (nothing would match them), so the
      // evaluation does too; counted and reported.
      ++results.low_quality_originals;
      continue;
    }
    (is_original ? good_originals : good_distractors).push_back(i);
  }
  results.originals = good_originals.size();
  results.distractors = good_distractors.size();
  // Pairs of distinct originals need two: checked again once decoding, de-duplication and the
  // quality floor have had their say (the report's tables assume pairs exist).
  if (good_originals.size() < 2) {
    return Fail(ErrorCode::kInvalidArgument,
                "need at least two usable originals in " + options.corpus.string() + ", " +
                    std::to_string(good_originals.size()) + " left after decoding (" +
                    std::to_string(results.skipped_files.size()) + " undecodable), de-duplication (" +
                    std::to_string(results.duplicates.size()) + " duplicates) and the quality floor (" +
                    std::to_string(results.low_quality_originals) + " below " + std::to_string(options.min_quality) + ")");
  }
  for (std::size_t t = 0; t < transforms.size(); ++t) {
    TransformResult tr{transforms[t], TransformFamily(transforms[t]), {}};
    for (std::size_t i : good_originals) {
      for (std::size_t m = 0; m < kMeasureCount; ++m) tr.distances[kMeasures[m]].Add(slots[i].distances[t][m]);
    }
    results.transforms.push_back(std::move(tr));
  }
  for (std::size_t i : good_originals) results.trimmed_originals += slots[i].trimmed ? 1u : 0u;

  // Non-matching pairs, split across threads by query; per-thread histograms merged in order.
  auto pair_histograms = [&](const std::vector<std::size_t>& queries, bool skip_same) {
    std::vector<std::map<Measure, Histogram>> parts(threads);
    std::atomic<std::size_t> cursor{0};
    auto count = [&](unsigned part) {
      for (std::size_t q; (q = cursor.fetch_add(1)) < queries.size();) {
        const Slot& query = slots[queries[q]];
        for (std::size_t j : good_originals) {
          if (skip_same && j == queries[q]) continue;
          for (Measure m : kMeasures) {
            parts[part][m].Add(MeasureDistance(m, query.query, slots[j].listed, options.min_quality));
          }
        }
      }
    };
    std::vector<std::thread> counters;
    for (unsigned t = 1; t < threads; ++t) counters.emplace_back(count, t);
    count(0);
    for (auto& t : counters) t.join();
    std::map<Measure, Histogram> merged;
    for (const auto& part : parts) {
      for (const auto& [m, h] : part) merged[m].Merge(h);
    }
    return merged;
  };
  results.original_pairs = pair_histograms(good_originals, true);
  if (!good_distractors.empty()) results.distractor_pairs = pair_histograms(good_distractors, false);

  // The closest distinct originals, for a person to look at.
  std::vector<std::tuple<int, std::size_t, std::size_t>> closest;
  for (std::size_t a = 0; a < good_originals.size(); ++a) {
    for (std::size_t b = a + 1; b < good_originals.size(); ++b) {
      const int d = slots[good_originals[a]].query.plain.Distance(slots[good_originals[b]].query.plain);
      if (closest.size() < 10 || d < std::get<0>(closest.back())) {
        closest.emplace_back(d, good_originals[a], good_originals[b]);
        std::sort(closest.begin(), closest.end());
        if (closest.size() > 10) closest.pop_back();
      }
    }
  }
  for (const auto& [d, a, b] : closest) {
    results.closest_pairs.emplace_back(d, originals[a].string(), originals[b].string());
  }
  results.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return results;
}

}  // namespace vigil::eval
