// Retroactive matching: the entries a bank gains (an import, an API add, a list sync) are searched
// against the uploads of the look-back window (match/past_upload_index.h), and each upload found is
// recorded with its late matches and handed to the policy (UploadWorkflow::RecordLate), whose
// rules can tell such matches apart (`found = "later"`, `max_upload_age_days`).
//
//   MatchNewEntries(bank, entries):
//     1. brings the index up to date (Follow);
//     2. searches PDQ entries at the bank's distance (all at once, on every core), MD5 and SHA-256
//        entries exactly, vPDQ entries (listed videos) frame by frame; SHA-1 entries are not
//        searched (past uploads' SHA-1 is not indexed), nor are a bank's extra measures
//        (dihedral, trimmed);
//     3. reads every hit back from the store and keeps those that hold: submitted within the
//        window, the PDQ distance recomputed from the stored hash within the bank's, quality at
//        least the bank's floor, digests equal (the index holds prefixes), videos by HMA's video
//        rule on the stored frames (`video_match`, as at upload time);
//     4. records each upload's late matches in one transaction of its own (RecordLateMatches):
//        an upload already holding a match of the entry is not matched twice, so running it again
//        over the same entries (`vigil bank rematch`) records only what a failure left out. One
//        upload failing does not stop the others (`failed`, `first_error`).
//   A disabled bank matches nothing, as at upload time; an allow-list (negative bank) gains no
//   matches, and an upload on one has its late matches recorded as suppressed.
//
//   Sweep(case, own bank, entries): a violating decision's files, as entries of the platform's own
//   bank (DecisionWorkflow::SyncOwnBank put them there), searched the same way for copies among
//   past uploads (PDQ within the sweep distance, or the bank's; MD5 and SHA-256 exactly; videos
//   by their frames and the video rule), the case's own files left out. Each copy is recorded with matches marked `sweep_of` the case and
//   handed to UploadWorkflow::RecordSwept: blocked or not per the rules (`found = "sweep"`), always
//   held in a case of its account's for a person, never an account action or a report. An account's
//   copies gather in its one open case; the copies' cases link back through their matches
//   (Case::swept_from) and the sweeping case lists them (Case::swept). Running it again records
//   nothing twice. An upload a person has decided already (it is in a decided case, or was removed
//   or restored) is left alone: a sweep never reopens, re-blocks or re-queues a person's decision.
//
// Thread safety: MatchNewEntries may run on several threads (the index and the store are shared).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "match/past_upload_index.h"
#include "vigil/cases.h"
#include "vigil/store.h"
#include "vigil/video.h"
#include "workflow/upload_workflow.h"

namespace vigil {

struct RetroMatchResult {
  std::int64_t entries_searched = 0;
  std::int64_t candidates = 0;         // index hits read back from the store
  std::int64_t uploads_matched = 0;    // uploads that gained matches
  std::int64_t matches_recorded = 0;
  std::int64_t uploads_held = 0;       // uploads whose late matches put them in a case (opened or grown)
  std::int64_t already_matched = 0;    // uploads that had every match found (a second run)
  std::int64_t gone = 0;               // removed by retention between the search and the record
  std::int64_t failed = 0;             // uploads whose recording failed (the others go on): run it again
  std::string first_error;
  double seconds = 0;
};

// The result as the import answers carry it (`"retroactive": {...}`).
boost::json::object RetroMatchJson(const RetroMatchResult& result);

struct SweepOptions {
  int pdq_max_distance = -1;  // PDQ copies within this distance; -1: the own bank's
  bool block = true;          // block each copy when no rule for sweeps says otherwise
};

struct SweepResult {
  std::int64_t case_id = 0;  // the case whose decision swept
  std::int64_t entries_searched = 0;
  std::int64_t candidates = 0;
  std::int64_t copies = 0;    // uploads found and recorded as copies (held; blocked per the rules)
  std::int64_t accounts = 0;  // distinct accounts among them other than the case's
  std::vector<std::int64_t> cases;  // the cases the copies were put in (opened or grown)
  std::int64_t blocked = 0;         // copies blocked by this sweep (not those blocked before)
  std::int64_t already_matched = 0;  // copies an earlier sweep (or upload-time match) had
  std::int64_t decided_already = 0;  // copies a person has decided (in a decided case): left alone
  std::int64_t allow_listed = 0;     // copies on an allow-list: recorded suppressed, left alone
  std::int64_t gone = 0;
  std::int64_t failed = 0;
  std::string first_error;
  double seconds = 0;
};

// The result as the decision's answer carries it (`"sweep": {...}`).
boost::json::object SweepJson(const SweepResult& result);

class RetroMatcher {
 public:
  RetroMatcher(PastUploadFeed& feed, PastUploadIndex& index, const UploadWorkflow& workflow, const Clock& clock,
               int window_days, VpdqMatchOptions video_match = {});
  Result<RetroMatchResult> MatchNewEntries(const Bank& bank, std::span<const IndexedEntry> entries) const;
  // `origin` read whole (GetCase); `entries` the own bank's live entries of its files.
  Result<SweepResult> Sweep(const Case& origin, const Bank& bank, std::span<const IndexedEntry> entries,
                            const SweepOptions& options) const;

 private:
  // Past uploads an entry finds that hold when read back, by content id.
  struct FoundUpload {
    std::string user_id;
    std::string state;  // before this search recorded anything
    std::vector<MatchRecord> matches;
    std::vector<LookupSignal> signals;  // its hashes, for the allow-lists
  };
  using Found = std::map<std::string, FoundUpload>;
  Result<Found> Search(const Bank& bank, std::span<const IndexedEntry> entries, int pdq_max_distance,
                       std::int64_t& searched, std::int64_t& candidates) const;

  PastUploadFeed& feed_;
  PastUploadIndex& index_;
  const UploadWorkflow& workflow_;
  const Clock& clock_;
  int window_days_;
  VpdqMatchOptions video_match_;
};

}  // namespace vigil
