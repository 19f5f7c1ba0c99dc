// The trust & safety workflow after a match: user-centric cases with a review queue (priority,
// SLA, claims with a lease), reviewer decisions that record which media the reviewer actually
// viewed, enforcement on content and accounts with a statement of reasons (the fields of the EU
// DSA Art. 17 statement), appeals decided by a different reviewer, false-positive feedback, and
// the hash-chained audit log that every step writes to.
//
// Thread safety: like Store, callable from many threads; every call is one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vigil/policy.h"
#include "vigil/status.h"
#include "vigil/store.h"

namespace vigil {

struct CaseItem {
  std::string content_id;
  std::string media_type;
  std::string state;  // visible, blocked, removed, restored
  std::int64_t submitted_at = 0;
  std::vector<MatchRecord> matches;
  bool has_media = false;  // the bytes are kept for review
  std::vector<Classification> classifications{};  // what the classifiers scored (classifier.h)
};

// A reviewer's verdict on a case: violating (enforced), not violating (automated actions undone),
// or escalate (to a senior reviewer, at least P1).
enum class Verdict { kViolating, kNotViolating, kEscalate };
// "violating", "not_violating", "escalate": the API's and the database's words.
const char* VerdictName(Verdict verdict);
// kInvalidArgument for any other word.
Result<Verdict> ParseVerdict(std::string_view text);

struct Decision {
  std::int64_t id = 0;
  std::string reviewer;
  Verdict verdict = Verdict::kEscalate;
  AccountAction account_action = AccountAction::kNone;  // what the reviewer decided for the account
  std::string category;  // the taxonomy's id (violating decisions)
  bool cybertip = false;  // the category is reported to NCMEC (fixed when decided)
  std::string classification;  // the case's label (normalised), used for files without their own
  std::map<std::string, std::string> file_classifications;  // content id -> label (A1..B2 for CSAM)
  std::string reason;          // the reviewer's note: staff only, never shown to the user
  std::string user_statement;  // what the reviewer chose to tell the user (optional)
  std::vector<std::string> viewed;  // content ids the reviewer revealed unblurred before deciding
  bool second_review = false;
  std::int64_t decided_at = 0;
};

// Where a case stands: open (waiting for a reviewer, or for its second review), in_review (claimed),
// escalated (to a senior reviewer), decided, closed.
enum class CaseStatus { kOpen, kInReview, kEscalated, kDecided, kClosed };
// "open", "in_review", "escalated", "decided", "closed": the API's and the database's words.
const char* CaseStatusName(CaseStatus status);
// kInvalidArgument for any other word.
Result<CaseStatus> ParseCaseStatus(std::string_view text);

struct Case {
  std::int64_t id = 0;
  std::string user_id;
  CaseStatus status = CaseStatus::kOpen;
  int priority = 0;    // P0 (most urgent) .. P3
  std::string category;  // from the policy (the first rule that fired), then the deciding review
  std::int64_t sla_due = 0;
  std::string assigned_to;  // the reviewer key holding the claim
  std::int64_t lease_until = 0;
  bool second_review_required = false;
  // Decided violating once and waiting for a different reviewer's second review.
  bool awaiting_second_review = false;
  bool report_queued = false;
  // Why this case cannot be reported to NCMEC as it stands ("" when nothing is wrong or it is not
  // reportable); set when a draft fails, cleared when one succeeds.
  std::string report_problem;
  std::vector<std::string> rules;  // policy rules that opened or grew it
  std::string queue = "general";   // the review queue it is in (review_queues.h)
  std::int64_t created_at = 0, updated_at = 0;
  std::vector<CaseItem> items;
  std::vector<Decision> decisions;
  // Sweeps (workflow/retro_matcher.h). The cases whose violating decisions swept past uploads and
  // found files of this one; and, for a case whose decision swept, the copies its sweeps found:
  // how many uploads, by how many accounts other than this case's, and the case each is in now.
  // Read with the whole case (GetCase), not in lists.
  std::vector<std::int64_t> swept_from;
  // The reports from users and staff that put its uploads here (CaseReview::ReportContent),
  // oldest first. Read with the whole case, not in lists.
  struct Report {
    std::int64_t id = 0;
    std::string content_id, source, reporter, reason, category, created_by;
    int priority = 2;
    std::int64_t created_at = 0;
  };
  std::vector<Report> reports;
  // Of those, the ones overturned on appeal since (every file restored): the copies they blocked
  // stay blocked for this case's reviewer to decide, who should know the source is gone.
  std::vector<std::int64_t> swept_from_overturned;
  struct SweptCopies {
    std::int64_t case_id = 0;  // the case the copies are in (0: none, e.g. allow-listed)
    std::string user_id;
    std::int64_t copies = 0;
  };
  std::int64_t sweep_copies = 0;
  std::int64_t sweep_accounts = 0;
  std::vector<SweptCopies> swept;
};

struct Account {
  std::string user_id;
  std::string state = "active";  // active, restricted, suspended, banned
  std::optional<std::int64_t> until;
  std::int64_t updated_at = 0;
};

// What an action tells the user (EU DSA Art. 17): the category of violation and its ground in the
// taxonomy's words, the legal basis, the facts in words for the user (never list names, entry ids
// or a reviewer's note), whether it was automated, and how to appeal.
struct StatementOfReasons {
  std::string category;
  std::string ground;
  std::string legal_basis;
  std::string facts;
  bool automated = false;
  std::string redress;
};

struct EnforcementAction {
  std::int64_t id = 0;
  std::string user_id;
  std::string content_id;  // empty for account actions
  std::string kind;        // block_content, remove_content, restore_content, restrict_account,
                           // suspend_account, ban_account, restore_account
  std::optional<std::int64_t> until;
  StatementOfReasons statement;
  std::string internal_detail;  // staff only: the lists and entries matched, the reviewer's note
  std::string actor;
  std::int64_t case_id = 0;
  std::int64_t decision_id = 0;  // 0: automated (the policy)
  std::int64_t created_at = 0;
  std::optional<std::int64_t> notified_at;
  std::optional<std::int64_t> undone_by;  // the restoring action that reversed it
};

// An appeal covers a whole decision: every content and account action of the review decision (or
// of the automated policy on a case) that the appealed action belongs to.
struct Appeal {
  std::int64_t id = 0;
  std::int64_t action_id = 0;    // the action the user appealed
  std::int64_t decision_id = 0;  // the decision it covers (0: the policy's automated actions)
  std::int64_t case_id = 0;
  std::vector<std::int64_t> action_ids;  // every action it covers
  std::vector<std::int64_t> undone;      // those its decision reversed
  std::string user_id;
  std::string statement;  // the user's own context
  std::string status;     // open, in_review, upheld, overturned, partial
  std::string assigned_to;
  std::string original_decider;
  std::string decided_by;
  std::string reason;
  std::int64_t created_at = 0, sla_due = 0;
  std::optional<std::int64_t> decided_at;
};

struct ReviewerStats {
  std::string reviewer;
  std::int64_t decisions = 0;
  std::int64_t appealed = 0;
  std::int64_t overturned = 0;
};

struct EntryFeedback {
  std::int64_t entry_id = 0;
  std::string bank;
  std::string signal_type, value, external_id;
  std::string reason, reviewer;
  std::int64_t at = 0;
  std::int64_t confirmed = 0, rejected = 0;  // the entry's review counts (MatchRecord::entry_confirmed)
};

// What an upload's policy is, for RecordUpload.
struct UploadPolicy {
  // Decides what happens to a matched upload from its facts (read in the same transaction); empty:
  // the matches are recorded and nothing acts.
  std::function<PolicyOutcome(const ContentFacts&)> evaluate;
  // Keeps the upload's bytes for review (content-addressed by `sha256`) when the outcome opens or
  // grows a case; called before the transaction commits, so a recorded case always has its media.
  std::function<Status(const std::string& sha256)> keep_media;
};

struct RecordedUpload {
  ContentRecord content;
  std::optional<Case> opened;  // the case the outcome opened or grew
  bool replayed = false;       // recorded before (same id, bytes and user): its answer again
};

// An appeal's decision: uphold, overturn (every action reversed) or partial (the listed ones).
struct AppealDecision {
  std::string outcome;              // upheld, overturned, partial
  std::vector<std::int64_t> undo;   // partial: the actions to reverse
  std::string reason;               // staff only
  std::string user_statement;       // what the user is told (optional)
};

// What recording an upload needs (UploadWorkflow, workflow/upload_workflow.h). Thread safety: as
// the Store that implements it (any thread; each call one transaction).
class UploadRecorder {
 public:
  virtual ~UploadRecorder() = default;
  // Records an upload, its matches and what the policy does about them in ONE transaction: the
  // content's state, the case it opens or grows, automated account actions, the media kept for
  // review, and the outcome as answered (content.policy_outcome). A retry of the same upload (same
  // content id, SHA-256 and user) returns the first answer (`replayed`); the same id with other
  // bytes or another user is kAlreadyExists.
  virtual Result<RecordedUpload> RecordUpload(const ContentRecord& content, const UploadPolicy& policy,
                                              const std::string& actor) = 0;
  // Records uploads that matched nothing (most of a platform's uploads) in ONE transaction: one
  // answer per upload, in order, as RecordUpload would give it (a retry answered `replayed`, the
  // same id with other bytes or user kAlreadyExists, an upload with matches kInvalidArgument).
  // When the transaction itself fails, every answer is that error.
  virtual std::vector<Result<RecordedUpload>> RecordUnmatchedUploads(std::span<const ContentRecord> contents) = 0;
  // Matches found after an upload was recorded (a list gained the entry later: retroactive
  // matching), in ONE transaction: the upload moves into the permanent record if it was in
  // `uploads`, the matches it did not have are recorded marked `retroactive`, and `policy` decides
  // from facts holding those new matches only, with found_later and the upload's age. Nothing new:
  // the record as it is (`replayed`). kNotFound when the upload is no longer kept. The upload's
  // bytes were never kept (it matched nothing when it came): a case it opens has no media to
  // review until the platform supplies them.
  virtual Result<RecordedUpload> RecordLateMatches(const std::string& content_id, const std::vector<MatchRecord>& matches,
                                                   const UploadPolicy& policy, const std::string& actor) {
    (void)content_id, (void)matches, (void)policy, (void)actor;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this recorder does not record late matches"});
  }
  // What the policy sees of a recorded upload (its matches with their banks' labels and category,
  // its jurisdiction, the user's earlier confirmed cases): what RecordUpload evaluates, for dry runs.
  virtual Result<ContentFacts> PolicyFacts(const ContentRecord& content) = 0;
  // Earlier cases of the user decided violating (a policy condition).
  virtual Result<int> PriorConfirmedCases(const std::string& user_id) = 0;
  // The user's cases decided violating and not overturned on appeal, each with its final
  // decision's category and time: what strikes count (policy.h, ScoreStrikes).
  virtual Result<std::vector<StruckCase>> StruckCases(const std::string& user_id) {
    (void)user_id;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this store counts no strikes"});
  }
};

// A report about a recorded upload from outside the matcher: a user's report forwarded by the
// platform, or a staff member's escalation (UserReportRequest::source).
struct UserReportRequest {
  std::string content_id;  // a recorded upload (POST /v1/content)
  std::string source = "user_report";  // "user_report" or "escalation"
  std::string reporter;    // who reported (the platform's id for the reporter; "" : not given)
  std::string reason;      // what they said, at most 2000 characters
  Category category;       // what it would violate (the taxonomy's; "other" when not said)
  int priority = 2;        // P0 (most urgent) .. P3
  // The review queue a case it opens goes to (the caller routes it: ReviewQueues::Route with source
  // user_report or escalation), and that queue's SLA in hours.
  std::string queue = "general";
  std::optional<int> queue_sla_hours;
};

struct UserReportOutcome {
  std::int64_t report_id = 0;
  std::int64_t case_id = 0;
  bool joined = false;  // added to the account's case that was open already
};

// Cases and reviewers' decisions on them. Thread safety: as Store.
class CaseReview {
 public:
  // Puts a reported upload in front of a reviewer, in ONE transaction: the upload is kept (moved
  // out of the unmatched uploads), its account's open case gains it (or a case opens, held at the
  // report's priority, rule "user_report" or "escalation"), the report is kept with the case and
  // audited. An upload that matched nothing is counted as found by that source (its metadata's
  // `detected_by`, unless it says already). kNotFound when the upload is not recorded.
  virtual Result<UserReportOutcome> ReportContent(const UserReportRequest& report, const std::string& actor) {
    (void)report, (void)actor;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this store takes no reports"});
  }
  virtual ~CaseReview() = default;
  // In one status, or (none) every case still to review: open, in review or escalated.
  virtual Result<std::vector<Case>> ListCases(std::optional<CaseStatus> status, int limit) = 0;
  // Cases by status, queue, user and upload: the queues' views and the history of decided cases.
  struct CaseQuery {
    std::vector<CaseStatus> statuses;  // empty: those still to review (open, in_review, escalated)
    std::optional<std::vector<std::string>> queues;  // only these queues (nullopt: every queue)
    std::string user_id;     // "" : any
    std::string content_id;  // "" : any; else the cases holding that upload
    int limit = 100;         // 1-1000
  };
  // Cases still to review come most urgent first (priority, SLA); decided and closed ones, most
  // recently changed first.
  virtual Result<std::vector<Case>> FindCases(const CaseQuery& query) {
    (void)query;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this store does not search cases"});
  }
  virtual Result<Case> GetCase(std::int64_t id) = 0;
  // Takes the case for `reviewer` until the lease ends; kAlreadyExists when someone else holds it.
  virtual Result<Case> ClaimCase(std::int64_t id, const std::string& reviewer) = 0;
  // A reviewer revealed an item unblurred: logged (audit and case), counted as viewed.
  virtual Status RecordView(std::int64_t case_id, const std::string& content_id, const std::string& reviewer) = 0;
  // An appeal's reviewer revealed an item of the case the appeal is about: only the reviewer
  // holding the appeal (in review), only an item of that case. Logged like RecordView.
  virtual Status RecordAppealView(std::int64_t appeal_id, std::int64_t case_id, const std::string& content_id,
                                  const std::string& reviewer) {
    (void)appeal_id, (void)case_id, (void)content_id, (void)reviewer;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this store records no appeal views"});
  }
  // The bytes of an item whose media was never kept (it matched nothing when it came: a late match
  // or a sweep) are kept now under its SHA-256 (the caller checked and stored them): the item has
  // media from here on. Audited ("media.attach"); an item that has media already is left as it is.
  virtual Status AttachMedia(std::int64_t case_id, const std::string& content_id, const std::string& actor) = 0;
  // Another case than `case_id`, of `category`, that still holds a file with this hash removed by
  // a violating decision (the earliest such case; 0: none; pdq, sha256 or md5, other types: 0). The
  // own bank keeps a value while any confirmed file still has it, with that case as provenance.
  virtual Result<std::int64_t> ConfirmedElsewhere(const std::string& signal_type, const std::string& value,
                                                  std::int64_t case_id, const std::string& category) = 0;
  // Decides a claimed case. Violating: the content is removed and the account suspended as the
  // decision says; a case needing a second review waits for a different reviewer's decision.
  struct DecisionRequest {
    Verdict verdict = Verdict::kEscalate;
    std::string classification, reason;
    AccountAction account_action = AccountAction::kNone;
    std::optional<int> account_days;  // restrict/suspend
    // Violating: the category of violation (resolved by the caller from the taxonomy, with its
    // labels already normalised); its words go into the statements of reasons.
    Category category;
    std::map<std::string, std::string> file_classifications;  // content id -> normalised label
    std::string user_statement;  // optional words for the user
  };
  virtual Result<Case> Decide(std::int64_t case_id, const DecisionRequest& request, const std::string& reviewer) = 0;

  // The case's CyberTipline problem (see Case::report_problem); "" clears it.
  virtual Status SetReportProblem(std::int64_t case_id, const std::string& problem) = 0;
  // Corrects a decided case's labels before it is reported: the category's labels (normalised by
  // the caller), per file or for the case. Refused once a report of the case is open or filed.
  virtual Result<Case> Reclassify(std::int64_t case_id, const std::string& classification,
                                  const std::map<std::string, std::string>& file_classifications,
                                  const std::string& actor) = 0;
};

// Enforcement on accounts, and appeals of the decisions behind it. Thread safety: as Store.
class EnforcementStore {
 public:
  virtual ~EnforcementStore() = default;
  virtual Result<Account> GetAccount(const std::string& user_id) = 0;
  virtual Result<std::vector<EnforcementAction>> ListActions(const std::string& user_id) = 0;
  virtual Status MarkNotified(std::int64_t action_id) = 0;

  // Appeals the decision `action_id` belongs to (see Appeal); kAlreadyExists when one of its actions
  // is appealed already.
  virtual Result<Appeal> FileAppeal(std::int64_t action_id, const std::string& statement, const std::string& actor) = 0;
  // In one status ("decided": upheld, overturned or partial, most recently decided first), or
  // (none) those still to decide, oldest due first; at most 1000.
  virtual Result<std::vector<Appeal>> ListAppeals(const std::string& status) = 0;
  virtual Result<Appeal> GetAppeal(std::int64_t id) = 0;
  // kPermissionDenied-like (kInvalidArgument) when the reviewer made the decision appealed.
  virtual Result<Appeal> ClaimAppeal(std::int64_t id, const std::string& reviewer) = 0;
  // Reverses what the decision says (content restored, account restored), records which actions, and
  // makes the case's CyberTipline reports follow: a report left with nothing to report, or whose
  // files changed, is voided when unfiled and marked for retraction when open at NCMEC.
  virtual Result<Appeal> DecideAppeal(std::int64_t id, const AppealDecision& decision, const std::string& reviewer) = 0;
  virtual Result<std::vector<ReviewerStats>> ReviewerOverturnRates() = 0;
};

// Reviewers' feedback on list entries and the local overrides it makes. Thread safety: as Store.
// A list entry in flood quarantine: it matched uploads of `distinct_users` accounts within the
// window when it was quarantined.
struct QuarantinedEntry {
  std::int64_t entry_id = 0;
  std::string bank;
  std::string signal_type, value;
  std::int64_t since = 0;  // microseconds since the epoch
  std::int64_t distinct_users = 0;
};

class EntryFeedbackStore {
 public:
  virtual ~EntryFeedbackStore() = default;
  // A rejected match: stop matching the entry here (with the reason), record feedback for the list
  // owner, and keep a local override on (bank, signal type, value) so that re-imports of the list
  // do not bring it back (Store::ListOverrides, Store::RevokeOverride).
  virtual Status DisableEntry(std::int64_t entry_id, const std::string& reason, const std::string& reviewer) = 0;
  // A bank administrator's curation: stops matching any live entry of a bank (a logo, a blank
  // frame), with the reason and the same local override (RevokeOverride enables it again). Not
  // review feedback: nothing is sent to the list owner. Audited.
  virtual Status CurateEntry(std::int64_t entry_id, const std::string& reason, const std::string& curator) {
    (void)entry_id, (void)reason, (void)curator;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this store does not curate entries"});
  }
  virtual Result<std::vector<EntryFeedback>> ListFeedback() = 0;
  // Entries in flood quarantine now (WorkflowOptions::quarantine_distinct_users), newest first.
  virtual Result<std::vector<QuarantinedEntry>> ListQuarantine() {
    return tl::unexpected(Error{ErrorCode::kUnsupported, "no quarantine here"});
  }
  // Lets a quarantined entry act again (a curator found it sound); kNotFound when it is not in
  // quarantine. Audited. Matches before the release no longer count toward a new quarantine.
  virtual Status ReleaseQuarantine(std::int64_t entry_id, const std::string& actor) {
    (void)entry_id, (void)actor;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "no quarantine here"});
  }
};

// The workflow over the store's database: each part above, and the audit chain's verification.
class CaseStore : public UploadRecorder, public CaseReview, public EnforcementStore, public EntryFeedbackStore {
 public:
  // Walks the audit chain; the breaks found (none: intact). *records: how many were checked.
  virtual Result<std::vector<std::string>> VerifyAudit(std::int64_t* records) = 0;
};

}  // namespace vigil
