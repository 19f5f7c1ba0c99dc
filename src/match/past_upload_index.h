// The index of past uploads: the PDQ hash, the SHA-256 and MD5 digests and (videos) the vPDQ frame
// hashes of every upload submitted within a look-back window, in memory, so that entries a list gains later (retroactive matching)
// and items a reviewer confirms (sweeps) are searched against what was uploaded before them.
//
// It follows the store (PastUploadFeed): Load reads every upload in the window; Follow reads the
// ones recorded since. Rows are numbered per table and only grow, but transactions commit out of
// order, so a row can appear after higher ones were read: Follow remembers the numbers it skipped
// and looks for them again until `gap_wait` has passed (then they belong to transactions that
// rolled back). An upload moved from `uploads` to `content` (retention keeping it, a retroactive
// match) is then held under both rows; a hit on the old row finds nothing in the store and is
// dropped by the caller, which reads every hit back from the store before acting on it.
// Uploads older than the window stay in memory until the next Load (a restart); callers check each
// hit's submission time.
//
// Memory: the PDQ index's ~80 B a hash at 10M (4-byte keys: an upload's row counted from the first
// this Load saw), 12 B per digest (a 6-byte prefix and a 6-byte key; a hit on a prefix is confirmed
// by the caller from the store), and ~80 B per distinct video frame of quality 50 or more (one a
// second by default).
//
// Thread safety: searches may run on many threads while one thread calls Load or Follow.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <vector>

#include "vigil/clock.h"
#include "vigil/index.h"
#include "vigil/store.h"

namespace vigil {

struct PastUploadIndexOptions {
  int window_days = 180;
  int page = 50'000;                        // rows read per query
  std::chrono::seconds gap_wait{120};       // how long a skipped row number is looked for again
  std::size_t max_gaps = 1'000'000;         // past this, the oldest skipped numbers are given up
};

// A past upload found by a search: where it is kept, and how far (PDQ; 0 for a digest).
struct PastHit {
  PastUploadTable table = PastUploadTable::kUploads;
  std::int64_t row = 0;
  int distance = 0;
  bool operator==(const PastHit&) const = default;
};

struct PastUploadIndexStats {
  std::size_t pdq = 0, digests = 0, gaps = 0, video_frames = 0;
  std::size_t memory_bytes = 0;  // the indexes' and digest table's own bytes
  std::int64_t last_upload_row = 0, last_content_row = 0;
};

class PastUploadIndex {
 public:
  PastUploadIndex(PastUploadFeed& feed, const Clock& clock, PastUploadIndexOptions options = {});
  ~PastUploadIndex();
  PastUploadIndex(const PastUploadIndex&) = delete;
  PastUploadIndex& operator=(const PastUploadIndex&) = delete;

  // Everything in the window (replacing what is held).
  Status Load();
  // What was recorded since the last Load/Follow, and skipped rows that have appeared.
  Status Follow();

  std::vector<PastHit> SearchPdq(const PdqHash& hash, int radius) const;
  // Many hashes at once on `threads` threads (0: all cores); result i belongs to hashes[i].
  std::vector<std::vector<PastHit>> SearchPdqBatch(std::span<const PdqHash> hashes, int radius, unsigned threads) const;
  // Videos: result i holds the uploads with a frame within `radius` of frames[i] (one hit per
  // such frame; the caller applies the video rule to each upload read back from the store).
  std::vector<std::vector<PastHit>> SearchFrames(std::span<const PdqHash> frames, int radius) const;
  // "sha256" or "md5", lowercase hex. Hits share the digest's first 8 bytes: confirm from the store.
  std::vector<PastHit> SearchDigest(std::string_view type, std::string_view hex) const;

  PastUploadIndexStats Stats() const;

 private:
  struct State;
  Status Add(const std::vector<PastUpload>& uploads);  // what Follow read
  PastUploadFeed& feed_;
  const Clock& clock_;
  PastUploadIndexOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace vigil
