// Retroactive matching (see retro_matcher.h).
#include "workflow/retro_matcher.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "vigil/pdq.h"

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

RetroMatcher::RetroMatcher(PastUploadFeed& feed, PastUploadIndex& index, const UploadWorkflow& workflow,
                           const Clock& clock, int window_days)
    : feed_(feed), index_(index), workflow_(workflow), clock_(clock), window_days_(window_days) {}

Result<RetroMatchResult> RetroMatcher::MatchNewEntries(const Bank& bank, std::span<const IndexedEntry> entries) const {
  const auto start = std::chrono::steady_clock::now();
  RetroMatchResult result;
  // A disabled bank matches nothing; an allow-list's entries suppress matches, they are none.
  if (!bank.enabled || bank.negative || entries.empty()) return result;
  VIGIL_TRY(index_.Follow());
  const std::int64_t since = clock_.NowMicros() - std::int64_t{window_days_} * kDayMicros;

  // 1. Search: PDQ entries together, digests one by one.
  std::map<std::pair<PastUploadTable, std::int64_t>, std::vector<Candidate>> found;
  std::vector<PdqHash> hashes;
  std::vector<const IndexedEntry*> pdq_entries;
  for (const auto& e : entries) {
    if (e.signal_type == "pdq") {
      if (auto hash = PdqHash::FromHex(e.value)) {
        hashes.push_back(*hash);
        pdq_entries.push_back(&e);
        ++result.entries_searched;
      }
    } else if (e.signal_type == "md5" || e.signal_type == "sha256") {
      ++result.entries_searched;
      for (const auto& hit : index_.SearchDigest(e.signal_type, Lower(e.value))) {
        found[{hit.table, hit.row}].push_back({&e, 0});
      }
    }
  }
  if (!hashes.empty()) {
    const auto hits = index_.SearchPdqBatch(hashes, std::clamp(bank.pdq_max_distance, 0, 256), 0);
    for (std::size_t i = 0; i < hits.size(); ++i) {
      for (const auto& hit : hits[i]) found[{hit.table, hit.row}].push_back({pdq_entries[i], hit.distance});
    }
  }
  result.candidates = static_cast<std::int64_t>(found.size());

  // 2. Read every hit back and keep what holds.
  std::map<std::string, std::vector<MatchRecord>> matched;  // content id -> its late matches
  std::map<std::string, std::vector<LookupSignal>> signals;  // content id -> its hashes, for the allow-lists
  for (const auto table : {PastUploadTable::kUploads, PastUploadTable::kContent}) {
    std::vector<std::int64_t> rows;
    for (const auto& [where, candidates] : found) {
      if (where.first == table) rows.push_back(where.second);
    }
    for (std::size_t at = 0; at < rows.size(); at += 1000) {
      const std::vector<std::int64_t> chunk(rows.begin() + static_cast<std::ptrdiff_t>(at),
                                            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), at + 1000)));
      VIGIL_ASSIGN_OR_RETURN(auto uploads, feed_.PastUploadsByRow(table, chunk));
      for (const auto& u : uploads) {
        if (u.submitted_at < since) continue;
        for (const auto& c : found[{table, u.row}]) {
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
            if (m.distance > bank.pdq_max_distance) continue;
            if (u.pdq_quality && *u.pdq_quality < bank.pdq_min_quality) continue;
            m.quality = u.pdq_quality;
          } else {
            const std::string& theirs = c.entry->signal_type == "md5" ? u.md5 : u.sha256;
            if (Lower(theirs) != Lower(c.entry->value)) continue;
            m.distance = 0;
          }
          if (!signals.contains(u.content_id)) {
            auto& s = signals[u.content_id];
            if (!u.pdq.empty()) s.push_back({"pdq", u.pdq, u.pdq_quality, ""});
            if (!u.sha256.empty()) s.push_back({"sha256", u.sha256, std::nullopt, ""});
            if (!u.md5.empty()) s.push_back({"md5", u.md5, std::nullopt, ""});
          }
          matched[u.content_id].push_back(std::move(m));
        }
      }
    }
  }

  // 3. Record each upload's late matches with the policy.
  for (auto& [content_id, matches] : matched) {
    // An upload on an allow-list: its late matches are recorded as suppressed, as at upload.
    VIGIL_ASSIGN_OR_RETURN(auto allowed_by, workflow_.AllowListEntry(signals[content_id]));
    for (auto& m : matches) m.suppressed_by = allowed_by;
    auto recorded = workflow_.RecordLate(content_id, matches);
    if (!recorded) {
      if (recorded.error().code == ErrorCode::kNotFound) {
        ++result.gone;
      } else {
        if (result.failed++ == 0) result.first_error = content_id + ": " + recorded.error().ToString();
      }
      continue;
    }
    if (recorded->replayed) {
      ++result.already_matched;
      continue;
    }
    ++result.uploads_matched;
    result.matches_recorded += static_cast<std::int64_t>(
        std::count_if(recorded->content.matches.begin(), recorded->content.matches.end(),
                      [&](const MatchRecord& m) { return m.retroactive && m.bank_id == bank.id; }));
    if (recorded->opened) ++result.uploads_held;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace vigil
