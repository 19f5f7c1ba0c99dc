// Exact similarity and equality indexes over hash-list entries.
//
// PdqIndex: every entry within a Hamming radius of a query, exactly (no approximate recall), for
// any radius 0..256 -- fastest at <= 31, still good at <= 63. Multi-index hashing (Norouzi et al.)
// over immutable segments plus a small mutable delta: adds and removes become visible to the next
// search at once, searches keep running on other threads, and a background merge folds the delta
// into a new segment. Snapshots load by mmap.
//
// CryptoIndex: exact lookup of MD5 / SHA-1 / SHA-256 digests.
//
// Both implement SignalIndex, the narrow interface the matching service uses.
//
//   vigil::PdqIndex index;
//   index.Add(42, hash);
//   std::vector<vigil::IndexMatch> hits = index.Search(query, 31);   // every id with d <= 31
//
// Thread safety: all methods of PdqIndex and CryptoIndex may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/pdq.h"
#include "vigil/status.h"

namespace vigil {

struct IndexMatch {
  std::uint64_t id = 0;
  int distance = 0;
  friend bool operator==(const IndexMatch&, const IndexMatch&) = default;
};

// The interface shared by every signal type's index. Values are in their text form (hex).
class SignalIndex {
 public:
  virtual ~SignalIndex() = default;
  virtual Status AddText(std::uint64_t id, std::string_view value) = 0;
  // Removes every entry with this id; kNotFound when there is none.
  virtual Status Remove(std::uint64_t id) = 0;
  // Removes the entries with this id and this value: what the matching service calls, knowing
  // both. An index keyed by value finds them without going through every id (PdqIndex: an
  // exact search); by default, Remove(id).
  virtual Status RemoveText(std::uint64_t id, std::string_view /*value*/) { return Remove(id); }
  // Matches within `radius` (0 for exact-only signal types), sorted by distance then id.
  virtual Result<std::vector<IndexMatch>> SearchText(std::string_view value, int radius) const = 0;
  virtual std::size_t size() const = 0;
};

struct PdqIndexOptions {
  // Entries gathered in the mutable delta before a background merge makes them a segment.
  std::size_t delta_limit = 1 << 16;
  // Run merges on a background thread (false: merge inline when the delta fills; for tests).
  bool background_merge = true;
};

struct PdqIndexStats {
  std::size_t entries = 0;        // live entries
  std::size_t segments = 0;
  std::size_t delta_entries = 0;
  std::size_t tombstones = 0;
  std::size_t memory_bytes = 0;   // heap and mapped bytes of the index structures
};

class PdqIndex final : public SignalIndex {
 public:
  explicit PdqIndex(PdqIndexOptions options = {});
  ~PdqIndex() override;
  PdqIndex(const PdqIndex&) = delete;
  PdqIndex& operator=(const PdqIndex&) = delete;

  // Builds one segment from many entries at once (the fast path for importing a list).
  static std::unique_ptr<PdqIndex> Build(std::span<const std::uint64_t> ids,
                                         std::span<const PdqHash> hashes,
                                         PdqIndexOptions options = {});

  void Add(std::uint64_t id, const PdqHash& hash);
  // Every entry with this id: a scan of the ids (O(N); no id map, it would cost 12+ B/hash).
  Status Remove(std::uint64_t id) override;
  // The entries with this id and hash, found by an exact (radius 0) search of each segment:
  // microseconds at any size. kNotFound when there is none.
  Status Remove(std::uint64_t id, const PdqHash& hash);

  // Every live entry with distance <= radius (radius clamped to 0..256), sorted by distance, id.
  std::vector<IndexMatch> Search(const PdqHash& query, int radius) const;
  // Searches many queries; result i belongs to queries[i]. Uses `threads` threads (0 = all cores).
  std::vector<std::vector<IndexMatch>> SearchBatch(std::span<const PdqHash> queries, int radius,
                                                   unsigned threads = 1) const;
  // The k nearest live entries (ties broken by id), exact.
  std::vector<IndexMatch> Nearest(const PdqHash& query, std::size_t k) const;

  // Folds the delta and tombstones into the segments now (waits for a running merge).
  void Compact();

  // Writes a snapshot (compacting first) / opens one by mmap. A snapshot that fails its checksum
  // or structure checks is refused with kCorrupt naming what was wrong.
  Status Save(const std::filesystem::path& path);
  static Result<std::unique_ptr<PdqIndex>> Load(const std::filesystem::path& path,
                                                PdqIndexOptions options = {},
                                                bool verify_checksum = true);

  PdqIndexStats Stats() const;

  // SignalIndex
  Status AddText(std::uint64_t id, std::string_view value) override;
  Status RemoveText(std::uint64_t id, std::string_view value) override;
  Result<std::vector<IndexMatch>> SearchText(std::string_view value, int radius) const override;
  std::size_t size() const override { return Stats().entries; }

 private:
  struct State;
  std::unique_ptr<State> state_;
};

enum class DigestType { kMd5, kSha1, kSha256 };

class CryptoIndex final : public SignalIndex {
 public:
  explicit CryptoIndex(DigestType type);
  ~CryptoIndex() override;

  Status AddText(std::uint64_t id, std::string_view hex) override;
  Status Remove(std::uint64_t id) override;
  // radius must be 0.
  Result<std::vector<IndexMatch>> SearchText(std::string_view hex, int radius) const override;
  std::size_t size() const override;
  // Every entry as (id, lowercase hex), in no particular order (for snapshots).
  std::vector<std::pair<std::uint64_t, std::string>> Entries() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil
