// The index of past uploads (see past_upload_index.h).
#include "match/past_upload_index.h"

#include <algorithm>
#include <charconv>
#include <mutex>

#include "vigil/pdq.h"
#include "vigil/video.h"

namespace vigil {
namespace {

constexpr std::uint64_t kContentBit = std::uint64_t{1} << 62;
constexpr std::int64_t kDayMicros = 86'400'000'000;
constexpr std::int64_t kMaxGapRun = 100'000;  // a jump wider than this is not remembered row by row

std::uint64_t Key(PastUploadTable table, std::int64_t row) {
  return static_cast<std::uint64_t>(row) | (table == PastUploadTable::kContent ? kContentBit : 0);
}

PastHit HitOf(std::uint64_t key, int distance) {
  return {(key & kContentBit) != 0 ? PastUploadTable::kContent : PastUploadTable::kUploads,
          static_cast<std::int64_t>(key & ~kContentBit), distance};
}

// The first 8 bytes of a hex digest, told apart by type; nullopt when it is not hex.
std::optional<std::uint64_t> DigestPrefix(std::string_view type, std::string_view hex) {
  if (hex.size() < 16) return std::nullopt;
  std::uint64_t prefix = 0;
  const auto [end, ec] = std::from_chars(hex.data(), hex.data() + 16, prefix, 16);
  if (ec != std::errc{} || end != hex.data() + 16) return std::nullopt;
  return type == "md5" ? prefix ^ 0x9E3779B97F4A7C15ull : prefix;
}

// A video's distinct frame hashes good enough to match on (the video rule's quality floor).
std::vector<PdqHash> FramesOf(const std::string& vpdq) {
  if (vpdq.empty()) return {};
  auto frames = ParseVpdq(vpdq);
  if (!frames) return {};
  return VpdqMatchableHashes(*frames, VpdqMatchOptions{}.min_quality);
}

struct DigestEntry {
  std::uint64_t prefix = 0;
  std::uint64_t key = 0;
  bool operator<(const DigestEntry& o) const { return prefix != o.prefix ? prefix < o.prefix : key < o.key; }
};

}  // namespace

struct PastUploadIndex::State {
  std::mutex follow_mu;  // one Load/Follow at a time
  mutable std::shared_mutex mu;
  std::unique_ptr<PdqIndex> pdq = std::make_unique<PdqIndex>();
  std::unique_ptr<PdqIndex> frames = std::make_unique<PdqIndex>();  // videos' frames, by upload
  std::vector<DigestEntry> digests;  // sorted
  std::vector<DigestEntry> recent;   // unsorted, folded into `digests` as it grows
  std::int64_t last_row[2] = {0, 0};
  std::map<std::uint64_t, std::int64_t> gaps;  // skipped key -> when first skipped (micros)
};

PastUploadIndex::PastUploadIndex(PastUploadFeed& feed, const Clock& clock, PastUploadIndexOptions options)
    : feed_(feed), clock_(clock), options_(options), state_(std::make_unique<State>()) {}
PastUploadIndex::~PastUploadIndex() = default;

Status PastUploadIndex::Load() {
  std::lock_guard follow(state_->follow_mu);
  const std::int64_t since = clock_.NowMicros() - std::int64_t{options_.window_days} * kDayMicros;
  std::vector<std::uint64_t> ids;
  std::vector<PdqHash> hashes;
  std::vector<DigestEntry> digests;
  std::vector<std::uint64_t> frame_ids;
  std::vector<PdqHash> frame_hashes;
  std::int64_t last[2] = {0, 0};
  for (const auto table : {PastUploadTable::kUploads, PastUploadTable::kContent}) {
    std::int64_t& after = last[table == PastUploadTable::kContent ? 1 : 0];
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(auto page, feed_.PastUploadsAfter(table, after, since, options_.page));
      if (page.empty()) break;
      for (const auto& u : page) {
        const std::uint64_t key = Key(table, u.row);
        if (!u.pdq.empty()) {
          if (auto hash = PdqHash::FromHex(u.pdq)) {
            ids.push_back(key);
            hashes.push_back(*hash);
          }
        }
        if (auto p = DigestPrefix("sha256", u.sha256)) digests.push_back({*p, key});
        if (auto p = DigestPrefix("md5", u.md5)) digests.push_back({*p, key});
        for (const auto& frame : FramesOf(u.vpdq)) {
          frame_ids.push_back(key);
          frame_hashes.push_back(frame);
        }
      }
      after = page.back().row;
    }
  }
  std::sort(digests.begin(), digests.end());
  auto pdq = PdqIndex::Build(ids, hashes);
  auto frames = PdqIndex::Build(frame_ids, frame_hashes);
  std::unique_lock lock(state_->mu);
  state_->pdq = std::move(pdq);
  state_->frames = std::move(frames);
  state_->digests = std::move(digests);
  state_->recent.clear();
  state_->last_row[0] = last[0];
  state_->last_row[1] = last[1];
  state_->gaps.clear();
  return {};
}

Status PastUploadIndex::Add(const std::vector<PastUpload>& uploads) {
  std::vector<DigestEntry> digests;
  for (const auto& u : uploads) {
    const std::uint64_t key = Key(u.table, u.row);
    if (!u.pdq.empty()) {
      if (auto hash = PdqHash::FromHex(u.pdq)) state_->pdq->Add(key, *hash);
    }
    for (const auto& frame : FramesOf(u.vpdq)) state_->frames->Add(key, frame);
    if (auto p = DigestPrefix("sha256", u.sha256)) digests.push_back({*p, key});
    if (auto p = DigestPrefix("md5", u.md5)) digests.push_back({*p, key});
  }
  if (digests.empty()) return {};
  std::unique_lock lock(state_->mu);
  state_->recent.insert(state_->recent.end(), digests.begin(), digests.end());
  if (state_->recent.size() > 65'536) {
    std::sort(state_->recent.begin(), state_->recent.end());
    std::vector<DigestEntry> merged;
    merged.reserve(state_->digests.size() + state_->recent.size());
    std::merge(state_->digests.begin(), state_->digests.end(), state_->recent.begin(), state_->recent.end(),
               std::back_inserter(merged));
    state_->digests = std::move(merged);
    state_->recent.clear();
  }
  return {};
}

Status PastUploadIndex::Follow() {
  std::lock_guard follow(state_->follow_mu);
  const std::int64_t now = clock_.NowMicros();
  const std::int64_t since = now - std::int64_t{options_.window_days} * kDayMicros;
  for (const auto table : {PastUploadTable::kUploads, PastUploadTable::kContent}) {
    const int t = table == PastUploadTable::kContent ? 1 : 0;
    std::int64_t after;
    {
      std::shared_lock lock(state_->mu);
      after = state_->last_row[t];
    }
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(auto page, feed_.PastUploadsAfter(table, after, since, options_.page));
      if (page.empty()) break;
      {
        std::unique_lock lock(state_->mu);
        std::int64_t expected = after + 1;
        for (const auto& u : page) {
          // Rows skipped between two read ones may belong to transactions still open.
          if (u.row - expected <= kMaxGapRun) {
            for (std::int64_t k = expected; k < u.row; ++k) state_->gaps.emplace(Key(table, k), now);
          }
          expected = u.row + 1;
        }
        state_->last_row[t] = page.back().row;
      }
      VIGIL_TRY(Add(page));
      after = page.back().row;
    }
  }
  // Skipped rows that have committed since; those waited on too long rolled back (or were moved).
  std::vector<std::int64_t> wanted[2];
  {
    std::unique_lock lock(state_->mu);
    for (auto it = state_->gaps.begin(); it != state_->gaps.end();) {
      if (now - it->second > std::chrono::duration_cast<std::chrono::microseconds>(options_.gap_wait).count()) {
        it = state_->gaps.erase(it);
        continue;
      }
      const PastHit where = HitOf(it->first, 0);
      wanted[where.table == PastUploadTable::kContent ? 1 : 0].push_back(where.row);
      ++it;
    }
    while (state_->gaps.size() > options_.max_gaps) state_->gaps.erase(state_->gaps.begin());
  }
  for (const auto table : {PastUploadTable::kUploads, PastUploadTable::kContent}) {
    const auto& rows = wanted[table == PastUploadTable::kContent ? 1 : 0];
    for (std::size_t at = 0; at < rows.size(); at += 1000) {
      const std::vector<std::int64_t> chunk(rows.begin() + static_cast<std::ptrdiff_t>(at),
                                            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), at + 1000)));
      VIGIL_ASSIGN_OR_RETURN(auto found, feed_.PastUploadsByRow(table, chunk));
      {
        std::unique_lock lock(state_->mu);
        for (const auto& u : found) state_->gaps.erase(Key(table, u.row));
      }
      std::erase_if(found, [&](const PastUpload& u) { return u.submitted_at < since; });
      VIGIL_TRY(Add(found));
    }
  }
  return {};
}

std::vector<PastHit> PastUploadIndex::SearchPdq(const PdqHash& hash, int radius) const {
  std::shared_lock lock(state_->mu);
  std::vector<PastHit> out;
  for (const auto& m : state_->pdq->Search(hash, radius)) out.push_back(HitOf(m.id, m.distance));
  return out;
}

std::vector<std::vector<PastHit>> PastUploadIndex::SearchPdqBatch(std::span<const PdqHash> hashes, int radius,
                                                                  unsigned threads) const {
  std::shared_lock lock(state_->mu);
  std::vector<std::vector<PastHit>> out;
  for (const auto& matches : state_->pdq->SearchBatch(hashes, radius, threads)) {
    auto& hits = out.emplace_back();
    for (const auto& m : matches) hits.push_back(HitOf(m.id, m.distance));
  }
  return out;
}

std::vector<std::vector<PastHit>> PastUploadIndex::SearchFrames(std::span<const PdqHash> frames, int radius) const {
  std::shared_lock lock(state_->mu);
  std::vector<std::vector<PastHit>> out;
  for (const auto& matches : state_->frames->SearchBatch(frames, radius, 1)) {
    auto& hits = out.emplace_back();
    for (const auto& m : matches) hits.push_back(HitOf(m.id, m.distance));
  }
  return out;
}

std::vector<PastHit> PastUploadIndex::SearchDigest(std::string_view type, std::string_view hex) const {
  std::vector<PastHit> out;
  const auto prefix = DigestPrefix(type, hex);
  if (!prefix) return out;
  std::shared_lock lock(state_->mu);
  const auto first = std::lower_bound(state_->digests.begin(), state_->digests.end(), DigestEntry{*prefix, 0});
  for (auto it = first; it != state_->digests.end() && it->prefix == *prefix; ++it) out.push_back(HitOf(it->key, 0));
  for (const auto& d : state_->recent) {
    if (d.prefix == *prefix) out.push_back(HitOf(d.key, 0));
  }
  return out;
}

PastUploadIndexStats PastUploadIndex::Stats() const {
  std::shared_lock lock(state_->mu);
  PastUploadIndexStats s;
  s.pdq = state_->pdq->Stats().entries;
  s.digests = state_->digests.size() + state_->recent.size();
  s.video_frames = state_->frames->Stats().entries;
  s.gaps = state_->gaps.size();
  s.last_upload_row = state_->last_row[0];
  s.last_content_row = state_->last_row[1];
  return s;
}

}  // namespace vigil
