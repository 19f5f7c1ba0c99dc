// The index of past uploads (see past_upload_index.h).
#include "match/past_upload_index.h"

#include <algorithm>
#include <charconv>
#include <mutex>

#include "vigil/pdq.h"
#include "vigil/video.h"

namespace vigil {
namespace {

constexpr std::int64_t kDayMicros = 86'400'000'000;
constexpr std::int64_t kMaxGapRun = 100'000;  // a jump wider than this is not remembered row by row
constexpr std::uint64_t kKeyLimit = std::uint64_t{1} << 48;

int TableIndex(PastUploadTable table) { return table == PastUploadTable::kContent ? 1 : 0; }

// An upload's key in the indexes: its row counted from the first row of its table this Load saw,
// times two, plus the table. Keys of fewer than 2^31 rows fit the PDQ index's 4-byte ids; every
// key fits 48 bits, the digest table's.
struct KeyBase {
  std::int64_t first[2] = {-1, -1};  // -1: no row of that table seen yet

  std::optional<std::uint64_t> Key(PastUploadTable table, std::int64_t row) {
    std::int64_t& base = first[TableIndex(table)];
    if (base < 0) base = row;
    if (row < base) return std::nullopt;
    const std::uint64_t key = (static_cast<std::uint64_t>(row - base) << 1) | static_cast<std::uint64_t>(TableIndex(table));
    if (key >= kKeyLimit) return std::nullopt;
    return key;
  }
  PastHit HitOf(std::uint64_t key, int distance) const {
    const int t = static_cast<int>(key & 1);
    return {t == 1 ? PastUploadTable::kContent : PastUploadTable::kUploads,
            first[t] + static_cast<std::int64_t>(key >> 1), distance};
  }
};

// The first 6 bytes of a hex digest, told apart by type; nullopt when it is not hex. (A hit on a
// prefix is confirmed from the store; at 10M uploads one lookup in ~28 million meets a stranger.)
std::optional<std::uint64_t> DigestPrefix(std::string_view type, std::string_view hex) {
  if (hex.size() < 12) return std::nullopt;
  std::uint64_t prefix = 0;
  const auto [end, ec] = std::from_chars(hex.data(), hex.data() + 12, prefix, 16);
  if (ec != std::errc{} || end != hex.data() + 12) return std::nullopt;
  return type == "md5" ? (prefix ^ 0x9E3779B97F4Aull) : prefix;
}

// A video's distinct frame hashes good enough to match on (the video rule's quality floor).
std::vector<PdqHash> FramesOf(const std::string& vpdq) {
  if (vpdq.empty()) return {};
  auto frames = ParseVpdq(vpdq);
  if (!frames) return {};
  return VpdqMatchableHashes(*frames, VpdqMatchOptions{}.min_quality);
}

// A 48-bit digest prefix and a 48-bit key in 12 bytes, ordered by prefix then key.
struct __attribute__((packed)) DigestEntry {
  std::uint64_t high = 0;  // prefix << 16 | key >> 32
  std::uint32_t low = 0;   // key's low 32 bits

  static DigestEntry Of(std::uint64_t prefix, std::uint64_t key) {
    return {(prefix << 16) | (key >> 32), static_cast<std::uint32_t>(key)};
  }
  std::uint64_t prefix() const { return high >> 16; }
  std::uint64_t key() const { return ((high & 0xFFFF) << 32) | low; }
  bool operator<(const DigestEntry& o) const { return high != o.high ? high < o.high : low < o.low; }
};
static_assert(sizeof(DigestEntry) == 12);

void AddDigests(const PastUpload& u, std::uint64_t key, std::vector<DigestEntry>& out) {
  if (auto p = DigestPrefix("sha256", u.sha256)) out.push_back(DigestEntry::Of(*p, key));
  if (auto p = DigestPrefix("md5", u.md5)) out.push_back(DigestEntry::Of(*p, key));
}

}  // namespace

struct PastUploadIndex::State {
  std::mutex follow_mu;  // one Load/Follow at a time
  mutable std::shared_mutex mu;
  std::unique_ptr<PdqIndex> pdq = std::make_unique<PdqIndex>();
  std::unique_ptr<PdqIndex> frames = std::make_unique<PdqIndex>();  // videos' frames, by upload
  std::vector<DigestEntry> digests;  // sorted
  std::vector<DigestEntry> recent;   // unsorted, folded into `digests` as it grows
  KeyBase keys;
  std::int64_t last_row[2] = {0, 0};
  std::map<std::pair<int, std::int64_t>, std::int64_t> gaps;  // skipped (table, row) -> when first skipped (micros)
};

PastUploadIndex::PastUploadIndex(PastUploadFeed& feed, const Clock& clock, PastUploadIndexOptions options)
    : feed_(feed), clock_(clock), options_(options), state_(std::make_unique<State>()) {}
PastUploadIndex::~PastUploadIndex() = default;

Status PastUploadIndex::Load() {
  std::lock_guard follow(state_->follow_mu);
  const std::int64_t since = clock_.NowMicros() - std::int64_t{options_.window_days} * kDayMicros;
  KeyBase keys;
  std::vector<std::uint64_t> ids;
  std::vector<PdqHash> hashes;
  std::vector<DigestEntry> digests;
  std::vector<std::uint64_t> frame_ids;
  std::vector<PdqHash> frame_hashes;
  std::int64_t last[2] = {0, 0};
  for (const auto table : {PastUploadTable::kUploads, PastUploadTable::kContent}) {
    std::int64_t& after = last[TableIndex(table)];
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(auto page, feed_.PastUploadsAfter(table, after, since, options_.page));
      if (page.empty()) break;
      for (const auto& u : page) {
        const auto key = keys.Key(table, u.row);
        if (!key) continue;
        if (!u.pdq.empty()) {
          if (auto hash = PdqHash::FromHex(u.pdq)) {
            ids.push_back(*key);
            hashes.push_back(*hash);
          }
        }
        AddDigests(u, *key, digests);
        for (const auto& frame : FramesOf(u.vpdq)) {
          frame_ids.push_back(*key);
          frame_hashes.push_back(frame);
        }
      }
      after = page.back().row;
    }
  }
  std::sort(digests.begin(), digests.end());
  digests.shrink_to_fit();
  auto pdq = PdqIndex::Build(ids, hashes);
  ids = {};
  hashes = {};
  auto frames = PdqIndex::Build(frame_ids, frame_hashes);
  std::unique_lock lock(state_->mu);
  state_->pdq = std::move(pdq);
  state_->frames = std::move(frames);
  state_->digests = std::move(digests);
  state_->recent.clear();
  state_->keys = keys;
  state_->last_row[0] = last[0];
  state_->last_row[1] = last[1];
  state_->gaps.clear();
  return {};
}

Status PastUploadIndex::Add(const std::vector<PastUpload>& uploads) {
  // Keys are made here, on the one thread that calls Load and Follow; a search reads them under the lock.
  std::vector<DigestEntry> digests;
  std::vector<std::pair<std::uint64_t, PdqHash>> pdqs, frames;
  {
    std::unique_lock lock(state_->mu);
    for (const auto& u : uploads) {
      const auto key = state_->keys.Key(u.table, u.row);
      if (!key) continue;
      if (!u.pdq.empty()) {
        if (auto hash = PdqHash::FromHex(u.pdq)) pdqs.emplace_back(*key, *hash);
      }
      for (const auto& frame : FramesOf(u.vpdq)) frames.emplace_back(*key, frame);
      AddDigests(u, *key, digests);
    }
  }
  for (const auto& [key, hash] : pdqs) state_->pdq->Add(key, hash);
  for (const auto& [key, hash] : frames) state_->frames->Add(key, hash);
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
    const int t = TableIndex(table);
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
        // The first row of a table since Load: keys count from the lowest row that may still appear.
        std::int64_t& base = state_->keys.first[t];
        if (base < 0) base = std::max(after + 1, page.front().row - kMaxGapRun);
        std::int64_t expected = after + 1;
        for (const auto& u : page) {
          // Rows skipped between two read ones may belong to transactions still open.
          if (u.row - expected <= kMaxGapRun) {
            for (std::int64_t k = expected; k < u.row; ++k) state_->gaps.emplace(std::pair{t, k}, now);
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
      wanted[it->first.first].push_back(it->first.second);
      ++it;
    }
    while (state_->gaps.size() > options_.max_gaps) state_->gaps.erase(state_->gaps.begin());
  }
  for (const auto table : {PastUploadTable::kUploads, PastUploadTable::kContent}) {
    const int t = TableIndex(table);
    const auto& rows = wanted[t];
    for (std::size_t at = 0; at < rows.size(); at += 1000) {
      const std::vector<std::int64_t> chunk(rows.begin() + static_cast<std::ptrdiff_t>(at),
                                            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), at + 1000)));
      VIGIL_ASSIGN_OR_RETURN(auto found, feed_.PastUploadsByRow(table, chunk));
      {
        std::unique_lock lock(state_->mu);
        for (const auto& u : found) state_->gaps.erase(std::pair{t, u.row});
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
  for (const auto& m : state_->pdq->Search(hash, radius)) out.push_back(state_->keys.HitOf(m.id, m.distance));
  return out;
}

std::vector<std::vector<PastHit>> PastUploadIndex::SearchPdqBatch(std::span<const PdqHash> hashes, int radius,
                                                                  unsigned threads) const {
  std::shared_lock lock(state_->mu);
  std::vector<std::vector<PastHit>> out;
  for (const auto& matches : state_->pdq->SearchBatch(hashes, radius, threads)) {
    auto& hits = out.emplace_back();
    for (const auto& m : matches) hits.push_back(state_->keys.HitOf(m.id, m.distance));
  }
  return out;
}

std::vector<std::vector<PastHit>> PastUploadIndex::SearchFrames(std::span<const PdqHash> frames, int radius) const {
  std::shared_lock lock(state_->mu);
  std::vector<std::vector<PastHit>> out;
  for (const auto& matches : state_->frames->SearchBatch(frames, radius, 1)) {
    auto& hits = out.emplace_back();
    for (const auto& m : matches) hits.push_back(state_->keys.HitOf(m.id, m.distance));
  }
  return out;
}

std::vector<PastHit> PastUploadIndex::SearchDigest(std::string_view type, std::string_view hex) const {
  std::vector<PastHit> out;
  const auto prefix = DigestPrefix(type, hex);
  if (!prefix) return out;
  std::shared_lock lock(state_->mu);
  const auto first = std::lower_bound(state_->digests.begin(), state_->digests.end(), DigestEntry::Of(*prefix, 0));
  for (auto it = first; it != state_->digests.end() && it->prefix() == *prefix; ++it) {
    out.push_back(state_->keys.HitOf(it->key(), 0));
  }
  for (const auto& d : state_->recent) {
    if (d.prefix() == *prefix) out.push_back(state_->keys.HitOf(d.key(), 0));
  }
  return out;
}

PastUploadIndexStats PastUploadIndex::Stats() const {
  std::shared_lock lock(state_->mu);
  PastUploadIndexStats s;
  s.pdq = state_->pdq->Stats().entries;
  s.digests = state_->digests.size() + state_->recent.size();
  s.video_frames = state_->frames->Stats().entries;
  s.memory_bytes = state_->pdq->Stats().memory_bytes + state_->frames->Stats().memory_bytes +
                   (state_->digests.capacity() + state_->recent.capacity()) * sizeof(DigestEntry);
  s.gaps = state_->gaps.size();
  s.last_upload_row = state_->last_row[0];
  s.last_content_row = state_->last_row[1];
  return s;
}

}  // namespace vigil
