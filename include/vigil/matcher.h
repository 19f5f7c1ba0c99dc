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

struct MatcherStats {
  std::size_t entries_by_type[5] = {};  // pdq, md5, sha1, sha256, vpdq (videos)
  std::size_t video_frames = 0;         // frame hashes in the video index
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
  // type or a malformed value.
  Result<std::vector<MatchHit>> Lookup(const LookupSignal& signal) const;
  // Listed videos the upload's frames match, best first. kInvalidArgument without usable frames.
  Result<std::vector<VideoMatchHit>> LookupVideo(std::span<const VpdqFrame> frames,
                                                 const VpdqMatchOptions& options = {}) const;

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
