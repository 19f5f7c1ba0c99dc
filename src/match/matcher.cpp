// The matcher (see matcher.h). Entry ids from the store are the index ids; a sorted id -> bank
// table (entries only ever arrive in increasing id order) finds each hit's bank without a
// database round trip, so a lookup that matches nothing never touches the store.
#include "vigil/matcher.h"

#include <algorithm>

#include "match/matcher_state.h"
#include "vigil/pdq.h"
#include "vigil/signal_type.h"

namespace vigil {

Matcher::Matcher(EntryFeed& feed) : feed_(feed), state_(std::make_unique<State>()) {}
Matcher::~Matcher() = default;

namespace {
constexpr int kPageSize = 50'000;
}

Status Matcher::Load() {
  if (auto loaded = LoadAll(); !loaded) return loaded;
  return Refresh();  // bank rules, and anything that landed while we loaded
}

Status Matcher::LoadAll() {
  std::lock_guard refresh(state_->refresh_mu);
  VIGIL_ASSIGN_OR_RETURN(auto import_id, feed_.LatestImportId());
  std::vector<std::uint64_t> pdq_ids, frame_ids;
  std::vector<PdqHash> pdq_hashes, frame_hashes;
  std::int64_t after = 0;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(auto page, feed_.LiveEntriesAfter(after, kPageSize));
    if (page.empty()) break;
    std::unique_lock lock(state_->mu);
    for (const auto& entry : page) {
      state_->Append(entry);
      if (entry.signal_type == "pdq") {
        auto hash = PdqHash::FromHex(entry.value);
        if (!hash) return Fail(ErrorCode::kCorrupt, "bank entry " + std::to_string(entry.id) + ": " + hash.error().message);
        pdq_ids.push_back(static_cast<std::uint64_t>(entry.id));
        pdq_hashes.push_back(*hash);
      } else if (entry.signal_type == "vpdq") {
        const auto hashes = state_->RegisterVideo(entry, frame_ids);
        frame_hashes.insert(frame_hashes.end(), hashes.begin(), hashes.end());
      } else if (const SignalTypeInfo* info = FindSignalType(entry.signal_type); info != nullptr && info->plugin) {
        state_->AddPlugin(entry, info->hex_digits / 2);
      } else if (auto* index = state_->IndexFor(entry.signal_type)) {
        if (auto added = index->AddText(static_cast<std::uint64_t>(entry.id), entry.value); !added) return added;
      }
    }
    after = page.back().id;
  }
  auto pdq = PdqIndex::Build(pdq_ids, pdq_hashes);
  auto frames = PdqIndex::Build(frame_ids, frame_hashes);
  std::unique_lock lock(state_->mu);
  state_->pdq = std::move(pdq);
  state_->frames = std::move(frames);
  state_->last_entry_id = after;
  state_->last_import_id = import_id;
  return {};
}

Status Matcher::Refresh() {
  std::lock_guard refresh(state_->refresh_mu);
  // Bank rules first, so new entries are never matched under a stale rule set.
  auto banks = feed_.ListBanks();
  if (!banks) return tl::unexpected(banks.error());
  std::map<std::int64_t, State::BankRule> rules;
  int radius = 0;
  for (const auto& bank : *banks) {
    rules[bank.id] = {bank.name, bank.enabled, bank.pdq_max_distance, bank.pdq_min_quality, bank.match_dihedral,
                      bank.match_trimmed, bank.negative, bank.enabled_ratio};
    if (bank.enabled) radius = std::max(radius, bank.pdq_max_distance);
  }
  std::int64_t after;
  std::int64_t last_import;
  {
    std::unique_lock lock(state_->mu);
    state_->banks = std::move(rules);
    state_->pdq_radius = radius;
    after = state_->last_entry_id;
    last_import = state_->last_import_id;
  }
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(auto page, feed_.LiveEntriesAfter(after, kPageSize));
    if (page.empty()) break;
    for (const auto& entry : page) {
      std::vector<std::uint64_t> frame_ids;
      std::vector<PdqHash> frame_hashes;
      {
        std::unique_lock lock(state_->mu);
        state_->Append(entry);
        state_->last_entry_id = entry.id;
        if (entry.signal_type == "vpdq") frame_hashes = state_->RegisterVideo(entry, frame_ids);
        if (const SignalTypeInfo* info = FindSignalType(entry.signal_type); info != nullptr && info->plugin) {
          state_->AddPlugin(entry, info->hex_digits / 2);
        }
      }
      for (std::size_t i = 0; i < frame_ids.size(); ++i) state_->frames->Add(frame_ids[i], frame_hashes[i]);
      if (auto* index = state_->IndexFor(entry.signal_type)) {
        if (auto added = index->AddText(static_cast<std::uint64_t>(entry.id), entry.value); !added) return added;
      }
    }
    after = page.back().id;
  }
  VIGIL_ASSIGN_OR_RETURN(auto removals, feed_.RemovalsAfter(last_import));
  for (const auto& [entry_id, import_id, signal_type, value] : removals) {
    SignalIndex* index = nullptr;
    {
      std::unique_lock lock(state_->mu);
      if (const auto at = state_->Find(entry_id); at >= 0) {
        index = state_->IndexFor(SignalTypes()[state_->entry_types[static_cast<std::size_t>(at)]].name);
      }
      if (const SignalTypeInfo* info = FindSignalType(signal_type); info != nullptr && info->plugin) {
        state_->RemovePlugin(signal_type, entry_id);
      }
      if (auto video = state_->videos.find(entry_id); video != state_->videos.end() && video->second.live) {
        video->second.live = false;
        --state_->live_videos;
      }
    }
    // By value: the PDQ index then finds the entry by an exact search instead of scanning its ids.
    // NotFound is expected: an entry added and removed between two refreshes was never indexed.
    if (index != nullptr) (void)index->RemoveText(static_cast<std::uint64_t>(entry_id), value);
    last_import = std::max(last_import, import_id);
  }
  std::unique_lock lock(state_->mu);
  state_->last_import_id = last_import;
  return {};
}

Result<std::vector<MatchHit>> Matcher::Lookup(const LookupSignal& signal) const {
  VIGIL_ASSIGN_OR_RETURN(auto value, NormalizeSignal(signal.signal_type, signal.value));
  int radius;
  {
    std::shared_lock lock(state_->mu);
    radius = state_->pdq_radius;
  }
  Result<std::vector<IndexMatch>> hits = std::vector<IndexMatch>{};
  if (signal.signal_type == "vpdq") {
    return Fail(ErrorCode::kInvalidArgument, "vpdq signals are looked up with their frames (LookupVideo)");
  }
  if (const SignalTypeInfo* info = FindSignalType(signal.signal_type); info != nullptr && info->plugin) {
    return Fail(ErrorCode::kUnsupported, signal.signal_type + " values are compared by their plug-in in the decoder sandbox: "
                                         "submit the media to match them");
  }
  if (signal.signal_type == "pdq") {
    hits = state_->pdq->Search(*PdqHash::FromHex(value), radius);
  } else {
    hits = state_->IndexFor(signal.signal_type)->SearchText(value, 0);
  }
  if (!hits) return tl::unexpected(hits.error());
  std::vector<MatchHit> out;
  std::shared_lock lock(state_->mu);
  for (const auto& hit : *hits) {
    const auto entry_id = static_cast<std::int64_t>(hit.id);
    const auto bank_it = state_->banks.find(state_->BankOf(entry_id));
    if (bank_it == state_->banks.end() || !bank_it->second.enabled) continue;
    const auto& rule = bank_it->second;
    if (signal.measure == "dihedral" && !rule.match_dihedral) continue;
    if (signal.measure == "trimmed" && !rule.match_trimmed) continue;
    if (signal.signal_type == "pdq") {
      if (hit.distance > rule.max_distance) continue;
      if (signal.quality && *signal.quality < rule.min_quality) continue;
    }
    out.push_back({entry_id, bank_it->first, rule.name, signal.signal_type, hit.distance, rule.negative, rule.enabled_ratio});
  }
  return out;
}

Result<std::vector<VideoMatchHit>> Matcher::LookupVideo(std::span<const VpdqFrame> frames,
                                                        const VpdqMatchOptions& options) const {
  const std::vector<PdqHash> query = VpdqMatchableHashes(frames, options.min_quality);
  if (query.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the video has no frames of quality >= " + std::to_string(options.min_quality));
  }
  int radius;
  {
    std::shared_lock lock(state_->mu);
    radius = state_->pdq_radius;
  }
  const auto found = state_->frames->SearchBatch(query, radius, 1);
  // Per listed video: which upload frames and which of its own frames matched, and how closely.
  struct Tally {
    std::vector<std::uint32_t> query_frames;
    std::vector<std::uint64_t> listed_frames;
    int best = 256;
  };
  std::unordered_map<std::int64_t, Tally> tallies;
  std::vector<VideoMatchHit> out;
  std::shared_lock lock(state_->mu);
  for (std::size_t qi = 0; qi < found.size(); ++qi) {
    for (const IndexMatch& hit : found[qi]) {
      if (hit.id >= state_->frame_owner.size()) continue;
      const std::int64_t entry_id = state_->frame_owner[hit.id];
      const auto bank_it = state_->banks.find(state_->BankOf(entry_id));
      if (bank_it == state_->banks.end() || !bank_it->second.enabled) continue;
      if (hit.distance > std::min(bank_it->second.max_distance, options.max_distance)) continue;
      Tally& tally = tallies[entry_id];
      if (tally.query_frames.empty() || tally.query_frames.back() != qi) tally.query_frames.push_back(static_cast<std::uint32_t>(qi));
      tally.listed_frames.push_back(hit.id);
      tally.best = std::min(tally.best, hit.distance);
    }
  }
  for (auto& [entry_id, tally] : tallies) {
    const auto video = state_->videos.find(entry_id);
    if (video == state_->videos.end() || !video->second.live || video->second.frames == 0) continue;
    std::sort(tally.listed_frames.begin(), tally.listed_frames.end());
    const auto listed = static_cast<double>(
        std::unique(tally.listed_frames.begin(), tally.listed_frames.end()) - tally.listed_frames.begin());
    VideoMatchHit hit;
    hit.entry_id = entry_id;
    hit.bank_id = state_->BankOf(entry_id);
    hit.bank_name = state_->banks.at(hit.bank_id).name;
    hit.negative = state_->banks.at(hit.bank_id).negative;
    hit.distance = tally.best;
    hit.query_match_percent = 100.0 * static_cast<double>(tally.query_frames.size()) / static_cast<double>(query.size());
    hit.compared_match_percent = 100.0 * listed / video->second.frames;
    if (hit.query_match_percent >= options.query_match_percent &&
        hit.compared_match_percent >= options.compared_match_percent) {
      out.push_back(std::move(hit));
    }
  }
  std::sort(out.begin(), out.end(), [](const VideoMatchHit& a, const VideoMatchHit& b) {
    if (a.query_match_percent != b.query_match_percent) return a.query_match_percent > b.query_match_percent;
    return a.entry_id < b.entry_id;
  });
  return out;
}

std::shared_ptr<const PluginEntries> Matcher::PluginEntriesOf(std::string_view signal_type) const {
  const SignalTypeInfo* info = FindSignalType(signal_type);
  if (info == nullptr || !info->plugin) return nullptr;
  {
    std::shared_lock lock(state_->mu);
    auto it = state_->plugins.find(signal_type);
    if (it != state_->plugins.end() && it->second.published) return it->second.published;
  }
  std::unique_lock lock(state_->mu);
  State::PluginTable& table = state_->plugins[std::string(signal_type)];
  if (!table.published) {
    auto entries = std::make_shared<PluginEntries>();
    entries->version = ++state_->plugin_versions;
    entries->hash_bytes = info->hex_digits / 2;
    const std::size_t live = table.ids.size() - table.removed_count;
    entries->values.reserve(live * table.hash_bytes);
    entries->entry_ids.reserve(live);
    for (std::size_t i = 0; i < table.ids.size(); ++i) {
      if (table.removed[i]) continue;
      entries->entry_ids.push_back(table.ids[i]);
      const auto first = table.values.begin() + static_cast<std::ptrdiff_t>(i * table.hash_bytes);
      entries->values.insert(entries->values.end(), first, first + static_cast<std::ptrdiff_t>(table.hash_bytes));
    }
    table.published = std::move(entries);
  }
  return table.published;
}

std::vector<MatchHit> Matcher::PluginHits(const PluginEntries& entries, std::string_view signal_type,
                                          std::span<const std::pair<std::uint32_t, std::uint32_t>> near) const {
  std::vector<MatchHit> out;
  std::shared_lock lock(state_->mu);
  for (const auto& [position, distance] : near) {
    if (position >= entries.entry_ids.size()) continue;
    const std::int64_t entry_id = entries.entry_ids[position];
    const auto bank_it = state_->banks.find(state_->BankOf(entry_id));
    if (bank_it == state_->banks.end() || !bank_it->second.enabled) continue;
    const auto& rule = bank_it->second;
    out.push_back({entry_id, bank_it->first, rule.name, std::string(signal_type),
                   static_cast<int>(std::min<std::uint32_t>(distance, 1u << 30)), rule.negative, rule.enabled_ratio});
  }
  std::stable_sort(out.begin(), out.end(), [](const MatchHit& a, const MatchHit& b) { return a.distance < b.distance; });
  return out;
}

bool Matcher::AnyBankUses(std::string_view measure) const {
  std::shared_lock lock(state_->mu);
  for (const auto& [id, rule] : state_->banks) {
    if (!rule.enabled) continue;
    if (measure == "dihedral" && rule.match_dihedral) return true;
    if (measure == "trimmed" && rule.match_trimmed) return true;
  }
  return false;
}

MatcherStats Matcher::Stats() const {
  MatcherStats stats;
  stats.entries_by_type[0] = state_->pdq->size();
  stats.entries_by_type[1] = state_->md5.size();
  stats.entries_by_type[2] = state_->sha1.size();
  stats.entries_by_type[3] = state_->sha256.size();
  stats.video_frames = state_->frames->size();
  std::shared_lock lock(state_->mu);
  stats.entries_by_type[4] = state_->live_videos;
  for (const auto& [type, table] : state_->plugins) stats.plugin_entries += table.ids.size() - table.removed_count;
  stats.banks = state_->banks.size();
  stats.last_entry_id = state_->last_entry_id;
  stats.last_import_id = state_->last_import_id;
  return stats;
}

}  // namespace vigil
