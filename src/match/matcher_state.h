// The matcher's state (see vigil/matcher.h), shared by the matcher and its snapshots
// (matcher_snapshot.cpp). Private to src/match.
//
// Thread safety: `mu` guards the tables; the indexes are themselves thread-safe; `refresh_mu`
// admits one Load/Refresh/snapshot at a time.
#pragma once

#include <cstdint>
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "util/hex.h"
#include "vigil/index.h"
#include "vigil/matcher.h"
#include "vigil/signal_type.h"
#include "vigil/video.h"

namespace vigil {

struct Matcher::State {
  struct BankRule {
    std::string name;
    bool enabled = true;
    int max_distance = 31;
    int min_quality = 50;
    bool match_dihedral = false;
    bool match_trimmed = false;
    bool negative = false;
    double enabled_ratio = 1.0;  // HMA-compatible lookups' coin flip (Bank::enabled_ratio)
  };

  std::mutex refresh_mu;  // one Load/Refresh at a time

  mutable std::shared_mutex mu;  // guards the tables below (indexes are themselves thread-safe)
  std::map<std::int64_t, BankRule> banks;
  int pdq_radius = 0;                    // the largest enabled bank radius
  std::vector<std::int64_t> entry_ids;   // sorted
  std::vector<std::int64_t> entry_banks; // parallel to entry_ids
  std::vector<std::uint8_t> entry_types; // parallel: index into SignalTypes()
  std::int64_t last_entry_id = 0;
  std::int64_t last_import_id = 0;

  // Licensed-hash plug-in types' entries, by type: scanned in the sandbox with the plug-in's own
  // distance (PluginEntries), so here they are only kept, in entry id order (entries arrive in
  // increasing id order). A removed entry is marked (found by binary search) and left out when the
  // entries are next handed out; the table is compacted once half of it is removed.
  struct PluginTable {
    std::size_t hash_bytes = 0;
    std::vector<std::int64_t> ids;     // sorted
    std::vector<std::uint8_t> values;  // hash_bytes per id
    std::vector<bool> removed;         // per id
    std::size_t removed_count = 0;
    std::shared_ptr<const PluginEntries> published;  // null: changed since it was last handed out
  };
  std::map<std::string, PluginTable, std::less<>> plugins;
  std::uint64_t plugin_versions = 0;  // the last PluginEntries version handed out

  // Adds a plug-in type's entry (the value is validated hex of the type's length). Under the unique lock.
  void AddPlugin(const IndexedEntry& entry, std::size_t hash_bytes) {
    PluginTable& table = plugins[entry.signal_type];
    table.hash_bytes = hash_bytes;
    auto value = util::HexDecode(entry.value);
    if (!value || value->size() != hash_bytes) return;  // the store holds it validated; never half-added
    table.values.insert(table.values.end(), value->begin(), value->end());
    table.ids.push_back(entry.id);
    table.removed.push_back(false);
    table.published.reset();
  }
  // Marks one removed; false when it is not there. Under the unique lock.
  bool RemovePlugin(std::string_view type, std::int64_t entry_id) {
    auto it = plugins.find(type);
    if (it == plugins.end()) return false;
    PluginTable& table = it->second;
    const auto at = std::lower_bound(table.ids.begin(), table.ids.end(), entry_id);
    if (at == table.ids.end() || *at != entry_id) return false;
    const auto position = static_cast<std::size_t>(at - table.ids.begin());
    if (table.removed[position]) return false;
    table.removed[position] = true;
    ++table.removed_count;
    table.published.reset();
    if (table.removed_count * 2 > table.ids.size()) {
      std::size_t kept = 0;
      for (std::size_t i = 0; i < table.ids.size(); ++i) {
        if (table.removed[i]) continue;
        table.ids[kept] = table.ids[i];
        std::copy_n(table.values.begin() + static_cast<std::ptrdiff_t>(i * table.hash_bytes), table.hash_bytes,
                    table.values.begin() + static_cast<std::ptrdiff_t>(kept * table.hash_bytes));
        ++kept;
      }
      table.ids.resize(kept);
      table.values.resize(kept * table.hash_bytes);
      table.removed.assign(kept, false);
      table.removed_count = 0;
    }
    return true;
  }

  std::unique_ptr<PdqIndex> pdq = std::make_unique<PdqIndex>();
  CryptoIndex md5{DigestType::kMd5};
  CryptoIndex sha1{DigestType::kSha1};
  CryptoIndex sha256{DigestType::kSha256};

  // Videos: every listed video's distinct frame hashes in one index; frame ids are dense.
  struct Video {
    std::uint64_t first_frame = 0;
    std::uint32_t frames = 0;  // distinct frames of quality >= the floor
    bool live = true;          // removed videos stay in the frame index, filtered at lookup
  };
  std::unique_ptr<PdqIndex> frames = std::make_unique<PdqIndex>();
  std::vector<std::int64_t> frame_owner;  // frame id -> video entry id
  std::unordered_map<std::int64_t, Video> videos;
  std::size_t live_videos = 0;

  // Registers a video entry's frames (ids from frame_owner.size()) and returns their hashes;
  // the caller adds them to `frames` (in bulk at load). Under the unique lock.
  std::vector<PdqHash> RegisterVideo(const IndexedEntry& entry, std::vector<std::uint64_t>& ids) {
    std::vector<PdqHash> hashes;
    auto parsed = ParseVpdq(entry.payload);
    if (parsed) hashes = VpdqMatchableHashes(*parsed, VpdqMatchOptions{}.min_quality);
    Video video;
    video.first_frame = frame_owner.size();
    video.frames = static_cast<std::uint32_t>(hashes.size());
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      ids.push_back(frame_owner.size());
      frame_owner.push_back(entry.id);
    }
    videos[entry.id] = video;
    ++live_videos;
    return hashes;
  }

  SignalIndex* IndexFor(std::string_view type) {
    if (type == "pdq") return pdq.get();
    if (type == "md5") return &md5;
    if (type == "sha1") return &sha1;
    if (type == "sha256") return &sha256;
    return nullptr;
  }

  // Position of an entry in the tables, or -1.
  std::ptrdiff_t Find(std::int64_t entry_id) const {
    const auto it = std::lower_bound(entry_ids.begin(), entry_ids.end(), entry_id);
    if (it == entry_ids.end() || *it != entry_id) return -1;
    return it - entry_ids.begin();
  }
  std::int64_t BankOf(std::int64_t entry_id) const {
    const auto at = Find(entry_id);
    return at < 0 ? 0 : entry_banks[static_cast<std::size_t>(at)];
  }
  void Append(const IndexedEntry& entry) {
    entry_ids.push_back(entry.id);
    entry_banks.push_back(entry.bank_id);
    std::uint8_t type = 0;
    const auto types = SignalTypes();
    for (std::size_t i = 0; i < types.size(); ++i) {
      if (types[i].name == entry.signal_type) type = static_cast<std::uint8_t>(i);
    }
    entry_types.push_back(type);
  }
};

}  // namespace vigil
