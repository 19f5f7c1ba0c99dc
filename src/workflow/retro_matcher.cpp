// Retroactive matching (see retro_matcher.h).
#include "workflow/retro_matcher.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "vigil/pdq.h"
#include "vigil/video.h"

namespace vigil {
namespace {

constexpr std::int64_t kDayMicros = 86'400'000'000;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A hit waiting to be read back: which entry found it, and at what distance.
struct Candidate {
  const IndexedEntry* entry = nullptr;
  int distance = 0;
};

// The smallest distance between a frame of one video and a frame of the other (both at or above
// the quality floor): what a vpdq match records as its distance.
int MinFrameDistance(std::span<const VpdqFrame> a, std::span<const VpdqFrame> b, int min_quality) {
  const auto left = VpdqMatchableHashes(a, min_quality), right = VpdqMatchableHashes(b, min_quality);
  int best = 256;
  for (const auto& x : left) {
    for (const auto& y : right) best = std::min(best, x.Distance(y));
  }
  return best;
}

// Whether an upload's late matches were recorded now; counts it in `result` when they were not
// (removed by retention meanwhile, failed, or recorded by an earlier run).
template <typename CountedResult>
bool Recorded(const Result<RecordedUpload>& recorded, const std::string& content_id, CountedResult& result,
              std::int64_t* decided_already = nullptr) {
  if (!recorded) {
    if (recorded.error().code == ErrorCode::kAlreadyExists && decided_already != nullptr) {
      ++*decided_already;  // a sweep leaves what a person decided alone
    } else if (recorded.error().code == ErrorCode::kNotFound) {
      ++result.gone;
    } else if (result.failed++ == 0) {
      result.first_error = content_id + ": " + recorded.error().ToString();
    }
    return false;
  }
  if (recorded->replayed) {
    ++result.already_matched;
    return false;
  }
  return true;
}

}  // namespace

boost::json::object RetroMatchJson(const RetroMatchResult& r) {
  boost::json::object out{{"entries_searched", r.entries_searched}, {"candidates", r.candidates},
                          {"uploads_matched", r.uploads_matched},   {"matches", r.matches_recorded},
                          {"uploads_held", r.uploads_held},         {"already_matched", r.already_matched},
                          {"gone", r.gone},                         {"failed", r.failed},
                          {"seconds", r.seconds}};
  if (!r.first_error.empty()) out["first_error"] = r.first_error;
  return out;
}

boost::json::object SweepJson(const SweepResult& r) {
  boost::json::array cases;
  for (auto id : r.cases) cases.push_back(id);
  boost::json::object out{{"case_id", r.case_id},         {"entries_searched", r.entries_searched},
                          {"candidates", r.candidates},   {"copies", r.copies},
                          {"accounts", r.accounts},       {"cases", std::move(cases)},
                          {"blocked", r.blocked},         {"already_matched", r.already_matched},
                          {"decided_already", r.decided_already}, {"allow_listed", r.allow_listed},
                          {"gone", r.gone},               {"failed", r.failed},
                          {"seconds", r.seconds}};
  if (!r.first_error.empty()) out["first_error"] = r.first_error;
  return out;
}

RetroMatcher::RetroMatcher(PastUploadFeed& feed, PastUploadIndex& index, const UploadWorkflow& workflow,
                           const Clock& clock, int window_days, VpdqMatchOptions video_match)
    : feed_(feed), index_(index), workflow_(workflow), clock_(clock), window_days_(window_days),
      video_match_(video_match) {}

Result<RetroMatcher::Found> RetroMatcher::Search(const Bank& bank, std::span<const IndexedEntry> entries,
                                                 int pdq_max_distance, std::int64_t& searched,
                                                 std::int64_t& candidates) const {
  VIGIL_TRY(index_.Follow());
  const std::int64_t since = clock_.NowMicros() - std::int64_t{window_days_} * kDayMicros;
  pdq_max_distance = std::clamp(pdq_max_distance, 0, 256);

  // 1. Search: PDQ entries together, digests one by one.
  std::map<std::pair<PastUploadTable, std::int64_t>, std::vector<Candidate>> hits_by_row;
  std::vector<PdqHash> hashes;
  std::vector<const IndexedEntry*> pdq_entries;
  std::map<const IndexedEntry*, std::vector<VpdqFrame>> videos;  // listed videos' frames
  for (const auto& e : entries) {
    if (e.signal_type == "pdq") {
      if (auto hash = PdqHash::FromHex(e.value)) {
        hashes.push_back(*hash);
        pdq_entries.push_back(&e);
        ++searched;
      }
    } else if (e.signal_type == "md5" || e.signal_type == "sha256") {
      ++searched;
      for (const auto& hit : index_.SearchDigest(e.signal_type, Lower(e.value))) {
        hits_by_row[{hit.table, hit.row}].push_back({&e, 0});
      }
    } else if (e.signal_type == "vpdq") {
      auto listed = ParseVpdq(e.payload);
      if (!listed) continue;
      ++searched;
      // Uploads with a frame close to one of the listed video's: the video rule decides below.
      const auto frames = VpdqMatchableHashes(*listed, video_match_.min_quality);
      for (const auto& hits : index_.SearchFrames(frames, video_match_.max_distance)) {
        for (const auto& hit : hits) {
          auto& found_here = hits_by_row[{hit.table, hit.row}];
          if (found_here.empty() || found_here.back().entry != &e) found_here.push_back({&e, hit.distance});
        }
      }
      videos[&e] = std::move(*listed);
    }
  }
  if (!hashes.empty()) {
    const auto hits = index_.SearchPdqBatch(hashes, pdq_max_distance, 0);
    for (std::size_t i = 0; i < hits.size(); ++i) {
      for (const auto& hit : hits[i]) hits_by_row[{hit.table, hit.row}].push_back({pdq_entries[i], hit.distance});
    }
  }
  candidates += static_cast<std::int64_t>(hits_by_row.size());

  // 2. Read every hit back and keep what holds.
  Found found;
  for (const auto table : {PastUploadTable::kUploads, PastUploadTable::kContent}) {
    std::vector<std::int64_t> rows;
    for (const auto& [where, hits] : hits_by_row) {
      if (where.first == table) rows.push_back(where.second);
    }
    for (std::size_t at = 0; at < rows.size(); at += 1000) {
      const std::vector<std::int64_t> chunk(rows.begin() + static_cast<std::ptrdiff_t>(at),
                                            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), at + 1000)));
      VIGIL_ASSIGN_OR_RETURN(auto uploads, feed_.PastUploadsByRow(table, chunk));
      for (const auto& u : uploads) {
        if (u.submitted_at < since) continue;
        for (const auto& c : hits_by_row[{table, u.row}]) {
          MatchRecord m;
          m.bank_id = bank.id;
          m.bank_name = bank.name;
          m.entry_id = c.entry->id;
          m.signal_type = c.entry->signal_type;
          if (c.entry->signal_type == "pdq") {
            const auto mine = PdqHash::FromHex(u.pdq);
            const auto listed = PdqHash::FromHex(c.entry->value);
            if (!mine || !listed) continue;
            m.distance = mine->Distance(*listed);
            if (m.distance > pdq_max_distance) continue;
            if (u.pdq_quality && *u.pdq_quality < bank.pdq_min_quality) continue;
            m.quality = u.pdq_quality;
          } else if (c.entry->signal_type == "vpdq") {
            // HMA's video rule, on the upload's frames as stored against the listed video's.
            auto mine = ParseVpdq(u.vpdq);
            if (!mine) continue;
            const auto& listed = videos[c.entry];
            const VpdqMatch match = MatchVpdq(*mine, listed, video_match_);
            if (!match.matched) continue;
            m.distance = MinFrameDistance(*mine, listed, video_match_.min_quality);
            m.query_match_percent = match.query_match_percent;
            m.compared_match_percent = match.compared_match_percent;
          } else {
            const std::string& theirs = c.entry->signal_type == "md5" ? u.md5 : u.sha256;
            if (Lower(theirs) != Lower(c.entry->value)) continue;
            m.distance = 0;
          }
          auto& upload = found[u.content_id];
          if (upload.matches.empty()) {
            upload.user_id = u.user_id;
            upload.state = u.state;
            if (!u.pdq.empty()) upload.signals.push_back({"pdq", u.pdq, u.pdq_quality, ""});
            if (!u.sha256.empty()) upload.signals.push_back({"sha256", u.sha256, std::nullopt, ""});
            if (!u.md5.empty()) upload.signals.push_back({"md5", u.md5, std::nullopt, ""});
          }
          upload.matches.push_back(std::move(m));
        }
      }
    }
  }
  return found;
}

Result<RetroMatchResult> RetroMatcher::MatchNewEntries(const Bank& bank, std::span<const IndexedEntry> entries) const {
  const auto start = std::chrono::steady_clock::now();
  RetroMatchResult result;
  // A disabled bank matches nothing; an allow-list's entries suppress matches, they are none.
  if (!bank.enabled || bank.negative || entries.empty()) return result;
  VIGIL_ASSIGN_OR_RETURN(auto found, Search(bank, entries, bank.pdq_max_distance, result.entries_searched,
                                            result.candidates));

  // 3. Record each upload's late matches with the policy. Counted: the matches of these entries
  // (the upload may hold earlier late matches of the bank).
  std::set<std::int64_t> new_ids;
  for (const auto& e : entries) new_ids.insert(e.id);
  for (auto& [content_id, upload] : found) {
    // An upload on an allow-list: its late matches are recorded as suppressed, as at upload.
    VIGIL_ASSIGN_OR_RETURN(auto allowed_by, workflow_.AllowListEntry(upload.signals));
    for (auto& m : upload.matches) m.suppressed_by = allowed_by;
    auto recorded = workflow_.RecordLate(content_id, upload.matches);
    if (!Recorded(recorded, content_id, result)) continue;
    ++result.uploads_matched;
    result.matches_recorded += static_cast<std::int64_t>(
        std::count_if(recorded->content.matches.begin(), recorded->content.matches.end(),
                      [&](const MatchRecord& m) { return m.retroactive && new_ids.count(m.entry_id) != 0; }));
    if (recorded->opened) ++result.uploads_held;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

Result<SweepResult> RetroMatcher::Sweep(const Case& origin, const Bank& bank, std::span<const IndexedEntry> entries,
                                        const SweepOptions& options) const {
  const auto start = std::chrono::steady_clock::now();
  SweepResult result;
  result.case_id = origin.id;
  const Decision* decided = nullptr;
  for (const auto& d : origin.decisions) {
    if (d.verdict != Verdict::kEscalate) decided = &d;
  }
  // Only a violating decision sweeps; the bank holding the confirmed files must be on (a disabled
  // bank matches nothing); an allow-list's entries are no content to find.
  if (decided == nullptr || decided->verdict != Verdict::kViolating || !bank.enabled || bank.negative ||
      entries.empty()) {
    return result;
  }
  const int distance = options.pdq_max_distance >= 0 ? options.pdq_max_distance : bank.pdq_max_distance;
  VIGIL_ASSIGN_OR_RETURN(auto found, Search(bank, entries, distance, result.entries_searched, result.candidates));
  std::set<std::string> accounts;
  std::set<std::int64_t> cases;
  for (auto& [content_id, upload] : found) {
    // The case's own files are what was decided. (The id is captured by a reference of its own:
    // clang 14, which builds the sanitizer stage, cannot capture a structured binding.)
    const std::string& id = content_id;
    if (std::any_of(origin.items.begin(), origin.items.end(), [&id](const CaseItem& i) { return i.content_id == id; })) {
      continue;
    }
    VIGIL_ASSIGN_OR_RETURN(auto allowed_by, workflow_.AllowListEntry(upload.signals));
    for (auto& m : upload.matches) {
      m.suppressed_by = allowed_by;
      m.sweep_of = origin.id;
    }
    auto recorded = workflow_.RecordSwept(content_id, upload.matches, options.block, decided->category);
    if (!Recorded(recorded, content_id, result, &result.decided_already)) continue;
    if (allowed_by != 0) {  // recorded, suppressed, left alone
      ++result.allow_listed;
      continue;
    }
    ++result.copies;
    if (recorded->content.state == "blocked" && upload.state != "blocked") ++result.blocked;
    if (!upload.user_id.empty() && upload.user_id != origin.user_id) accounts.insert(upload.user_id);
    if (recorded->opened) cases.insert(recorded->opened->id);
  }
  result.accounts = static_cast<std::int64_t>(accounts.size());
  result.cases.assign(cases.begin(), cases.end());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace vigil
