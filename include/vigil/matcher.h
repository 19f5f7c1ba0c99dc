// The matcher: every enabled bank's live entries in memory (a PdqIndex for PDQ, exact indexes for
// MD5/SHA-1/SHA-256), kept in step with the store. Lookups apply each bank's thresholds: a PDQ
// entry matches at distance <= the bank's pdq_max_distance, and only when the query's quality (if
// given) is >= the bank's pdq_min_quality.
//
// Refresh() picks up what changed in the store since the last call (imports from this process or
// another one, tombstones, bank settings) incrementally; lookups keep running meanwhile.
//
// Videos (vpdq entries): every listed video's distinct frame hashes (quality >= 50) go into one
// frame index, so matching an upload against a bank of many videos is an index search per upload
// frame and a vote per listed video, not a comparison with every video. A listed video matches
// when the share of the upload's frames with a listed frame within the bank's PDQ distance, and
// the share of the listed video's frames with an upload frame within it, reach the vPDQ thresholds
// (HMA's defaults: 80% and 0%, so a clip matches the video it was cut from).
//
// Thread safety: Lookup may run on many threads while one thread calls Refresh.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <string>
#include <vector>

#include "vigil/status.h"
#include "vigil/store.h"
#include "vigil/video.h"

namespace vigil {

struct LookupSignal {
  std::string signal_type;
  std::string value;           // validated and normalised by Lookup
  std::optional<int> quality;  // PDQ quality of the query, when known
  // "" for the upload's own hash; "dihedral" or "trimmed" for an extra hash (a rotation/flip, the
  // content inside detected borders): such a signal matches only banks that enable that measure.
  std::string measure;
};

struct MatchHit {
  std::int64_t entry_id = 0;
  std::int64_t bank_id = 0;
  std::string bank_name;
  std::string signal_type;
  int distance = 0;
  bool negative = false;  // the bank is an allow-list (Bank::negative)
  double enabled_ratio = 1.0;  // the bank's share of HMA-compatible lookups (Bank::enabled_ratio)
};

struct VideoMatchHit {
  std::int64_t entry_id = 0;
  std::int64_t bank_id = 0;
  std::string bank_name;
  int distance = 0;                    // the closest frame pair
  double query_match_percent = 0;      // of the upload's frames
  double compared_match_percent = 0;   // of the listed video's frames
  bool negative = false;               // the bank is an allow-list (Bank::negative)
};

// A licensed-hash plug-in signal type's live entries (vigil/hash_plugin.h), which only the plug-in
// can compare: the sandbox scans them with the plug-in's distance (sandbox/plugin_signals.h) and
// PluginHits turns the positions it found back into hits.
struct PluginEntries {
  std::uint64_t version = 0;            // differs whenever the entries do (unique in this process)
  std::size_t hash_bytes = 0;
  std::vector<std::uint8_t> values;     // hash_bytes each, concatenated
  std::vector<std::int64_t> entry_ids;  // the entry of each value
};

// One plug-in's hash of an upload and the entries of its type it matches (sandbox/plugin_signals.h).
struct PluginSignalMatch {
  std::string signal_type;
  std::string value;       // hex; empty when the plug-in found the upload unsuitable
  std::string unsuitable;  // the plug-in's reason
  std::vector<MatchHit> hits;
};

struct MatcherStats {
  std::size_t entries_by_type[5] = {};  // pdq, md5, sha1, sha256, vpdq (videos)
  std::size_t video_frames = 0;         // frame hashes in the video index
  std::size_t plugin_entries = 0;       // entries of licensed-hash plug-in types, all together
  std::size_t banks = 0;
  std::int64_t last_entry_id = 0;
  std::int64_t last_import_id = 0;
};

class Matcher {
 public:
  // Follows `feed` (a Store is one); the feed must outlive the matcher.
  explicit Matcher(EntryFeed& feed);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Loads everything (bulk-building the PDQ index); call once before serving.
  Status Load();
  // Applies the store's changes since the last Load/Refresh.
  Status Refresh();

  // Snapshots, so that a new replica is ready in seconds instead of reading every entry from the
  // store (match/matcher_snapshot.cpp has the format). SaveSnapshot writes the folder `dir` whole
  // (beside it, then renamed over it) while lookups go on. LoadSnapshot, instead of Load: reads
  // one, then Refresh()es to apply what changed in the store after it was taken. Refused: a
  // snapshot of another database (kInvalidArgument), one that fails its checksums or structure
  // (kCorrupt), one of another format version (kUnsupported); the caller may then Load.
  Status SaveSnapshot(const std::filesystem::path& dir) const;
  Status LoadSnapshot(const std::filesystem::path& dir);

  // Matches of one signal across enabled banks, nearest first. kInvalidArgument for an unknown
  // type or a malformed value; kUnsupported for a plug-in's type (only the plug-in, in the
  // sandbox, can compare its values: PluginEntriesOf and PluginHits).
  Result<std::vector<MatchHit>> Lookup(const LookupSignal& signal) const;
  // Listed videos the upload's frames match, best first. kInvalidArgument without usable frames.
  Result<std::vector<VideoMatchHit>> LookupVideo(std::span<const VpdqFrame> frames,
                                                 const VpdqMatchOptions& options = {}) const;

  // A plug-in signal type's live entries now (null when the type is not a registered plug-in's).
  // The copy is made when the entries change, then shared until they change again.
  std::shared_ptr<const PluginEntries> PluginEntriesOf(std::string_view signal_type) const;
  // The hits at `near` ((position in `entries`, distance) pairs, as the plug-in found them), for
  // enabled banks, nearest first.
  std::vector<MatchHit> PluginHits(const PluginEntries& entries, std::string_view signal_type,
                                   std::span<const std::pair<std::uint32_t, std::uint32_t>> near) const;

  MatcherStats Stats() const;
  // Whether any enabled bank uses the measure ("dihedral", "trimmed"): callers skip computing
  // extra hashes nobody looks up.
  bool AnyBankUses(std::string_view measure) const;

 private:
  Status LoadAll();

  struct State;
  EntryFeed& feed_;
  std::unique_ptr<State> state_;
};

}  // namespace vigil
