// PdqIndex: immutable MIH segments + a small mutable delta, under one reader-writer lock.
//
// Searches take the lock shared: they read segments (immutable), each segment's tombstone bitmap,
// the delta and the entries being merged. Add/Remove take it exclusively for a moment (a removal
// that knows the hash finds its entries by an exact search of each segment). When the delta fills, a background merge turns it into a segment -- together with trailing segments of
// similar size (a log-structured merge, so rebuild work is amortised) -- without holding the lock
// while it builds. Removals that land during a merge are logged and applied to its result.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_set>

#include "index/mih_segment.h"
#include "vigil/index.h"

namespace vigil {

using index::Code;
using index::MihSegment;

namespace {

struct Slot {
  std::shared_ptr<const MihSegment> segment;
  std::vector<std::uint64_t> deleted;  // bitmap over positions
  std::size_t deleted_count = 0;

  bool IsDeleted(std::uint32_t i) const { return (deleted[i / 64] >> (i % 64)) & 1; }
  bool MarkDeleted(std::uint32_t i) {
    if (IsDeleted(i)) return false;
    deleted[i / 64] |= std::uint64_t{1} << (i % 64);
    ++deleted_count;
    return true;
  }
  static Slot Of(std::shared_ptr<const MihSegment> s) {
    Slot slot;
    slot.deleted.assign((s->size() + 63) / 64, 0);
    slot.segment = std::move(s);
    return slot;
  }
};

void SortMatches(std::vector<IndexMatch>& m) {
  std::sort(m.begin(), m.end(), [](const IndexMatch& a, const IndexMatch& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
  });
}

}  // namespace

struct PdqIndex::State {
  PdqIndexOptions options;
  mutable std::shared_mutex mu;
  std::vector<Slot> slots;
  std::vector<std::uint64_t> delta_ids;
  std::vector<Code> delta_codes;
  // Entries handed to a running merge: still searched until the merge installs its segment.
  std::vector<std::uint64_t> merging_ids;
  std::vector<Code> merging_codes;
  std::vector<bool> merging_deleted;
  bool merge_running = false;
  std::vector<std::uint64_t> removal_log;  // ids removed while a merge runs

  std::mutex merge_mu;  // one merge at a time
  std::condition_variable_any wake;
  bool stop = false;
  std::thread merger;

  // Builds a segment from the delta (and, when `all`, every segment) and installs it.
  void Merge(bool all);
  // With mu held shared: appends a segment's hits that are not tombstoned, and the delta's and
  // the merging entries' matches.
  static void AppendLive(const Slot& slot, const std::vector<index::SegmentHit>& hits, std::vector<IndexMatch>& out);
  void SearchUnsegmented(const Code& q, int radius, std::vector<IndexMatch>& out,
                         std::vector<index::SegmentHit>& hits) const;
  void SearchLocked(const Code& q, int radius, std::vector<IndexMatch>& out,
                    std::vector<index::SegmentHit>& hits) const;
  // Tombstones the entries with this id (and, given one, this code: segments are then searched
  // for the code instead of scanned for the id).
  Status Remove(std::uint64_t id, const Code* code);
};

void PdqIndex::State::Merge(bool all) {
  std::lock_guard merge_lock(merge_mu);
  std::vector<Slot> inputs;  // segments folded into this merge (copies of their bitmaps)
  std::size_t first_input = 0;
  {
    std::unique_lock lock(mu);
    merging_ids.swap(delta_ids);
    merging_codes.swap(delta_codes);
    delta_ids.clear();
    delta_codes.clear();
    merging_deleted.assign(merging_ids.size(), false);
    // Fold in trailing segments while they are not much larger than what is gathered so far.
    std::size_t gathered = merging_ids.size();
    first_input = slots.size();
    while (first_input > 0) {
      const Slot& s = slots[first_input - 1];
      const std::size_t live = s.segment->size() - s.deleted_count;
      if (!all && live > 2 * gathered && s.deleted_count * 4 < s.segment->size()) break;
      gathered += live;
      --first_input;
    }
    inputs.assign(slots.begin() + static_cast<std::ptrdiff_t>(first_input), slots.end());
    if (merging_ids.empty() && inputs.size() <= 1 && (inputs.empty() || inputs[0].deleted_count == 0)) {
      return;  // nothing to do
    }
    merge_running = true;
    removal_log.clear();
  }
  // Gather live entries without the lock: segments are immutable, bitmaps were copied.
  std::vector<std::uint64_t> ids;
  std::vector<Code> codes;
  for (const Slot& s : inputs) {
    for (std::uint32_t i = 0; i < s.segment->size(); ++i) {
      if (s.IsDeleted(i)) continue;
      ids.push_back(s.segment->id(i));
      codes.push_back(s.segment->RawCode(i));
    }
  }
  ids.insert(ids.end(), merging_ids.begin(), merging_ids.end());
  codes.insert(codes.end(), merging_codes.begin(), merging_codes.end());
  std::shared_ptr<const MihSegment> built = MihSegment::Build(ids, codes);
  Slot slot = Slot::Of(std::move(built));

  std::unique_lock lock(mu);
  if (!removal_log.empty()) {
    const std::unordered_set<std::uint64_t> removed(removal_log.begin(), removal_log.end());
    for (std::uint32_t i = 0; i < slot.segment->size(); ++i) {
      if (removed.count(slot.segment->id(i))) slot.MarkDeleted(i);
    }
  }
  slots.erase(slots.begin() + static_cast<std::ptrdiff_t>(first_input), slots.end());
  if (slot.segment->size() > 0) slots.push_back(std::move(slot));
  merging_ids.clear();
  merging_codes.clear();
  merging_deleted.clear();
  merge_running = false;
  removal_log.clear();
}

PdqIndex::PdqIndex(PdqIndexOptions options) : state_(std::make_unique<State>()) {
  state_->options = options;
  if (options.delta_limit == 0) state_->options.delta_limit = 1;
  if (options.background_merge) {
    State* s = state_.get();
    s->merger = std::thread([s] {
      std::unique_lock lock(s->mu);
      for (;;) {
        s->wake.wait(lock, [s] { return s->stop || s->delta_ids.size() >= s->options.delta_limit; });
        if (s->stop) return;
        lock.unlock();
        s->Merge(false);
        lock.lock();
      }
    });
  }
}

PdqIndex::~PdqIndex() {
  if (state_->merger.joinable()) {
    {
      std::unique_lock lock(state_->mu);
      state_->stop = true;
    }
    state_->wake.notify_all();
    state_->merger.join();
  }
}

std::unique_ptr<PdqIndex> PdqIndex::Build(std::span<const std::uint64_t> ids,
                                          std::span<const PdqHash> hashes, PdqIndexOptions options) {
  auto index = std::make_unique<PdqIndex>(options);
  std::vector<Code> codes(hashes.size());
  for (std::size_t i = 0; i < hashes.size(); ++i) codes[i] = index::ToCode(hashes[i]);
  auto seg = MihSegment::Build(ids.first(std::min(ids.size(), codes.size())), codes);
  if (seg->size() > 0) index->state_->slots.push_back(Slot::Of(std::move(seg)));
  return index;
}

void PdqIndex::Add(std::uint64_t id, const PdqHash& hash) {
  bool merge_now = false;
  {
    std::unique_lock lock(state_->mu);
    state_->delta_ids.push_back(id);
    state_->delta_codes.push_back(index::ToCode(hash));
    merge_now = state_->delta_ids.size() >= state_->options.delta_limit;
  }
  if (!merge_now) return;
  if (state_->options.background_merge) {
    state_->wake.notify_one();
  } else {
    state_->Merge(false);
  }
}

Status PdqIndex::Remove(std::uint64_t id) { return state_->Remove(id, nullptr); }

Status PdqIndex::Remove(std::uint64_t id, const PdqHash& hash) {
  const Code code = index::ToCode(hash);
  return state_->Remove(id, &code);
}

Status PdqIndex::State::Remove(std::uint64_t id, const Code* code) {
  std::unique_lock lock(mu);
  State& s = *this;
  bool found = false;
  // The delta and the entries being merged are small (delta_limit): scanned either way.
  for (std::size_t i = 0; i < s.delta_ids.size();) {
    if (s.delta_ids[i] == id && (code == nullptr || s.delta_codes[i] == *code)) {
      s.delta_ids[i] = s.delta_ids.back();
      s.delta_codes[i] = s.delta_codes.back();
      s.delta_ids.pop_back();
      s.delta_codes.pop_back();
      found = true;
    } else {
      ++i;
    }
  }
  for (std::size_t i = 0; i < s.merging_ids.size(); ++i) {
    if (s.merging_ids[i] == id && (code == nullptr || s.merging_codes[i] == *code) && !s.merging_deleted[i]) {
      s.merging_deleted[i] = true;
      found = true;
    }
  }
  std::vector<index::SegmentHit> hits;
  for (Slot& slot : s.slots) {
    if (code != nullptr) {
      hits.clear();
      slot.segment->Search(*code, 0, hits);
      for (const auto& h : hits) {
        if (slot.segment->id(h.index) == id && slot.MarkDeleted(h.index)) found = true;
      }
      continue;
    }
    const auto& ids = slot.segment->ids();
    for (std::uint32_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == id && slot.MarkDeleted(i)) found = true;
    }
  }
  if (s.merge_running) s.removal_log.push_back(id);
  if (!found) return Fail(ErrorCode::kNotFound, "no entry with id " + std::to_string(id));
  return {};
}

void PdqIndex::State::AppendLive(const Slot& slot, const std::vector<index::SegmentHit>& hits,
                                 std::vector<IndexMatch>& out) {
  for (const auto& h : hits) {
    if (slot.deleted_count == 0 || !slot.IsDeleted(h.index)) out.push_back({slot.segment->id(h.index), h.distance});
  }
}

void PdqIndex::State::SearchUnsegmented(const Code& q, int radius, std::vector<IndexMatch>& out,
                                        std::vector<index::SegmentHit>& hits) const {
  hits.clear();
  index::ScanCodes(delta_codes.data(), delta_codes.size(), q, radius, hits);
  for (const auto& h : hits) out.push_back({delta_ids[h.index], h.distance});
  hits.clear();
  index::ScanCodes(merging_codes.data(), merging_codes.size(), q, radius, hits);
  for (const auto& h : hits) {
    if (!merging_deleted[h.index]) out.push_back({merging_ids[h.index], h.distance});
  }
}

void PdqIndex::State::SearchLocked(const Code& q, int radius, std::vector<IndexMatch>& out,
                                   std::vector<index::SegmentHit>& hits) const {
  for (const Slot& slot : slots) {
    hits.clear();
    slot.segment->Search(q, radius, hits);
    AppendLive(slot, hits, out);
  }
  SearchUnsegmented(q, radius, out, hits);
}

std::vector<IndexMatch> PdqIndex::Search(const PdqHash& query, int radius) const {
  radius = std::clamp(radius, -1, 256);
  std::vector<IndexMatch> out;
  if (radius < 0) return out;
  std::vector<index::SegmentHit> hits;
  {
    std::shared_lock lock(state_->mu);
    state_->SearchLocked(index::ToCode(query), radius, out, hits);
  }
  SortMatches(out);
  return out;
}

std::vector<std::vector<IndexMatch>> PdqIndex::SearchBatch(std::span<const PdqHash> queries, int radius,
                                                           unsigned threads) const {
  std::vector<std::vector<IndexMatch>> results(queries.size());
  radius = std::clamp(radius, -1, 256);
  if (radius < 0 || queries.empty()) return results;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // Work in blocks of queries: each block takes the lock shared once and lets every segment
  // choose between probing per query and one scan pass for the whole block.
  constexpr std::size_t kBlock = 64;
  const std::size_t blocks = (queries.size() + kBlock - 1) / kBlock;
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, blocks));
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    std::vector<Code> codes;
    std::vector<std::vector<index::SegmentHit>> hits;
    std::vector<index::SegmentHit> scratch;
    for (std::size_t b; (b = next.fetch_add(1)) < blocks;) {
      const std::size_t start = b * kBlock, nq = std::min(kBlock, queries.size() - start);
      codes.clear();
      for (std::size_t i = 0; i < nq; ++i) codes.push_back(index::ToCode(queries[start + i]));
      std::shared_lock lock(state_->mu);
      const State& s = *state_;
      for (const Slot& slot : s.slots) {
        for (auto& h : hits) h.clear();
        slot.segment->SearchMany(codes, radius, hits);
        for (std::size_t i = 0; i < nq; ++i) State::AppendLive(slot, hits[i], results[start + i]);
      }
      for (std::size_t i = 0; i < nq; ++i) s.SearchUnsegmented(codes[i], radius, results[start + i], scratch);
      lock.unlock();
      for (std::size_t i = 0; i < nq; ++i) SortMatches(results[start + i]);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return results;
}

std::vector<IndexMatch> PdqIndex::Nearest(const PdqHash& query, std::size_t k) const {
  if (k == 0) return {};
  for (int radius : {15, 31, 63, 127, 256}) {
    std::vector<IndexMatch> m = Search(query, radius);
    if (m.size() >= k || radius == 256) {
      if (m.size() > k) m.resize(k);
      return m;
    }
  }
  return {};
}

void PdqIndex::Compact() { state_->Merge(true); }

Status PdqIndex::Save(const std::filesystem::path& path) {
  Compact();
  std::shared_ptr<const MihSegment> seg;
  {
    std::shared_lock lock(state_->mu);
    if (!state_->slots.empty()) seg = state_->slots.front().segment;
  }
  if (!seg) seg = MihSegment::Build({}, {});
  return seg->Write(path);
}

Result<std::unique_ptr<PdqIndex>> PdqIndex::Load(const std::filesystem::path& path, PdqIndexOptions options,
                                                 bool verify_checksum) {
  VIGIL_ASSIGN_OR_RETURN(auto seg, MihSegment::Open(path, verify_checksum));
  auto index = std::make_unique<PdqIndex>(options);
  if (seg->size() > 0) index->state_->slots.push_back(Slot::Of(std::move(seg)));
  return index;
}

PdqIndexStats PdqIndex::Stats() const {
  std::shared_lock lock(state_->mu);
  const State& s = *state_;
  PdqIndexStats st;
  st.segments = s.slots.size();
  st.delta_entries = s.delta_ids.size() + s.merging_ids.size();
  for (const Slot& slot : s.slots) {
    st.entries += slot.segment->size() - slot.deleted_count;
    st.tombstones += slot.deleted_count;
    st.memory_bytes += slot.segment->MemoryBytes() + slot.deleted.size() * 8;
  }
  st.entries += s.delta_ids.size();
  for (bool d : s.merging_deleted) st.entries += d ? 0 : 1;
  st.memory_bytes += (s.delta_ids.capacity() + s.merging_ids.capacity()) * (8 + sizeof(Code));
  return st;
}

Status PdqIndex::AddText(std::uint64_t id, std::string_view value) {
  VIGIL_ASSIGN_OR_RETURN(auto h, PdqHash::FromHex(value));
  Add(id, h);
  return {};
}

Status PdqIndex::RemoveText(std::uint64_t id, std::string_view value) {
  VIGIL_ASSIGN_OR_RETURN(auto h, PdqHash::FromHex(value));
  return Remove(id, h);
}

Result<std::vector<IndexMatch>> PdqIndex::SearchText(std::string_view value, int radius) const {
  VIGIL_ASSIGN_OR_RETURN(auto h, PdqHash::FromHex(value));
  return Search(h, radius);
}

}  // namespace vigil
