// The decision workflow: a reviewer's decision, a correction of its labels, or an appeal's
// outcome, then what follows from it, the same for every caller (the HTTP routes today; a CLI or
// a queue worker tomorrow):
//
//   Decide(case, request, reviewer)         CaseStore::Decide (enforcement and statements of
//                                           reasons in its transaction), then FollowUp
//   Reclassify(case, labels, actor)         CaseStore::Reclassify, then FollowUp (drafts again)
//   DecideAppeal(appeal, decision, reviewer) CaseStore::DecideAppeal (actions undone, the case's
//                                           reports follow), then FollowUp on what is left
//   Sweep(case, actor)                      after a violating decision (Decide does it): past uploads
//                                           searched for copies of the case's files, each copy held
//                                           in a case of its account's (RetroMatcher::Sweep); needs
//                                           the own bank (its entries are what the copies match)
//   FollowUp(case, actor)                   for a case decided violating with something left to
//                                           report: its evidence preserved in the vault (when
//                                           configured) and, for a category reported to NCMEC, its
//                                           CyberTipline report drafted; a draft that cannot be
//                                           made is recorded on the case (report_problem), one
//                                           that can clears it.
//
// The store's transaction is the decision; the follow-up runs after it commits and never undoes
// it: a follow-up that fails is reported (FollowUpResult, and `on_problem`) and left visible on
// the case, for a person or a later pass.
//
// Thread safety: calls may run on many threads at once (the store and the filer serialise what
// must be).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "store/media_store.h"
#include "vigil/cases.h"
#include "vigil/evidence_vault.h"
#include "vigil/report_filer.h"
#include "vigil/store.h"
#include "workflow/retro_matcher.h"

namespace vigil {

struct DecisionWorkflowOptions {
  EvidenceVault* vault = nullptr;  // null: nothing preserved on a decision
  ReportFiler* filer = nullptr;    // null: no reporting configured, nothing drafted
  bool preserve_on_confirm = true;
  std::string media_dir;  // kept media, for preservation
  // The platform's own banks: every file of a case decided violating is added to the one of the
  // decision's category, "<own_bank>-<category>" (PDQ, SHA-256, MD5; provenance: the case, the
  // decision's reviewer, its classification), so the next upload of the same content matches at
  // upload time, in the category it was confirmed in (one bank per category: a match's category
  // is its bank's, and an intimate image confirmed once must never make the next match read as
  // another category); an appeal that restores files takes them out. Made when missing. Empty: off.
  std::string own_bank;
  // Sweeps (null: off): a violating decision searches past uploads for copies of its files.
  const RetroMatcher* sweeper = nullptr;
  SweepOptions sweep;
  // Told about each sweep that ran (metrics).
  std::function<void(const SweepResult&)> on_sweep;
  // Told about each follow-up step that failed ("preservation failed", "report draft failed", ...).
  std::function<void(const std::string& what, std::int64_t case_id, const Error& error)> on_problem;
};

struct FollowUpResult {
  bool preserved = false;  // the case's evidence is in the vault now
  bool drafted = false;    // a report was drafted (or the case has one already)
  std::string problem;     // why no report could be drafted ("" when none is owed or it was drafted)
};

// The values a bank lists for a file: its PDQ (unless its quality is under 50), SHA-256 and MD5,
// and a video's vPDQ (its frame list as the payload) when it has frames to match.
struct ListedValue {
  std::string type, value, payload;
};
std::vector<ListedValue> ListedValues(const ContentRecord& content);

// The own bank of a category: "<own_bank>-<category>" ("other" when the decision names none).
std::string OwnBankName(const std::string& own_bank, const std::string& category);

class DecisionWorkflow {
 public:
  DecisionWorkflow(Store& store, DecisionWorkflowOptions options);

  // Each returns the case (or appeal) as it stands after the follow-up.
  Result<Case> Decide(std::int64_t case_id, const CaseStore::DecisionRequest& request, const std::string& reviewer);
  Result<Case> Reclassify(std::int64_t case_id, const std::string& classification,
                          const std::map<std::string, std::string>& file_classifications, const std::string& actor);
  Result<Appeal> DecideAppeal(std::int64_t appeal_id, const AppealDecision& decision, const std::string& reviewer);
  // What the own bank holds for the case now (DecisionWorkflowOptions::own_bank); done by the
  // calls above, public for repairs. Imports, so every replica's index follows.
  Status SyncOwnBank(const Case& c, const std::string& actor);
  // Searches past uploads for copies of a case decided violating (see the top of this file); done
  // by Decide, public for a sweep run again by hand. Nothing to do (no sweeper, no own bank, a case
  // not decided violating): an empty result. Audited on the case ("case.sweep").
  Result<SweepResult> Sweep(const Case& c, const std::string& actor);

  FollowUpResult FollowUp(const Case& c, const std::string& actor);

  // The platform supplies the bytes of a case's item whose media was never kept (an upload that
  // matched nothing when it came, found later or by a sweep): they must be exactly the upload's
  // (its recorded SHA-256; anything else is kInvalidArgument, also for an item that has media:
  // the same bytes again change nothing), are kept in `media`, and the item has media from then
  // on (review, preservation, the report's file). A case already decided
  // violating gets its follow-up again, so a report that could not be drafted without the file
  // is drafted now. Returns the case as it stands.
  Result<Case> SupplyMedia(std::int64_t case_id, const std::string& content_id, std::span<const std::uint8_t> bytes,
                           MediaStore& media, const std::string& actor);

 private:
  void Problem(const std::string& what, std::int64_t case_id, const Error& error) const;

  Store& store_;
  DecisionWorkflowOptions options_;
};

}  // namespace vigil
