// The matcher: every enabled bank's live entries in memory (a PdqIndex for PDQ, exact indexes for
// MD5/SHA-1/SHA-256), kept in step with the store. Lookups apply each bank's thresholds: a PDQ
// entry matches at distance <= the bank's pdq_max_distance, and only when the query's quality (if
// given) is >= the bank's pdq_min_quality.
//
// Refresh() picks up what changed in the store since the last call (imports from this process or
// another one, tombstones, bank settings) incrementally; lookups keep running meanwhile.
//
// Thread safety: Lookup may run on many threads while one thread calls Refresh.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"
#include "vigil/store.h"

namespace vigil {

struct LookupSignal {
  std::string signal_type;
  std::string value;           // validated and normalised by Lookup
  std::optional<int> quality;  // PDQ quality of the query, when known
};

struct MatchHit {
  std::int64_t entry_id = 0;
  std::int64_t bank_id = 0;
  std::string bank_name;
  std::string signal_type;
  int distance = 0;
};

struct MatcherStats {
  std::size_t entries_by_type[4] = {};  // pdq, md5, sha1, sha256
  std::size_t banks = 0;
  std::int64_t last_entry_id = 0;
  std::int64_t last_import_id = 0;
};

class Matcher {
 public:
  explicit Matcher(Store& store);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Loads everything (bulk-building the PDQ index); call once before serving.
  Status Load();
  // Applies the store's changes since the last Load/Refresh.
  Status Refresh();

  // Matches of one signal across enabled banks, nearest first. kInvalidArgument for an unknown
  // type or a malformed value.
  Result<std::vector<MatchHit>> Lookup(const LookupSignal& signal) const;

  MatcherStats Stats() const;

 private:
  Status LoadAll();

  struct State;
  Store& store_;
  std::unique_ptr<State> state_;
};

}  // namespace vigil
