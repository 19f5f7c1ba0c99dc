// The records of reporting and preservation: CyberTipline reports and the state of each step of
// their filing, evidence items kept in the vault, law-enforcement legal process, and what a
// transparency report counts. The SQL store keeps them next to cases and the audit chain; the
// logic that drives them lives in src/reporting/.
//
// Thread safety: like Store, callable from many threads; every call is one transaction, and every
// change appends to the audit chain in the same transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

// How far one file's part of a filing got: pending (nothing sent), uploaded (NCMEC has the bytes),
// described (its fileinfo was accepted). ReportedFileStateName gives the API's and the database's word.
enum class ReportedFileState { kPending, kUploaded, kDescribed };
const char* ReportedFileStateName(ReportedFileState state);
// kInvalidArgument naming the accepted words for any other.
Result<ReportedFileState> ParseReportedFileState(std::string_view text);

// One reported file and how far its part of the filing got.
struct ReportedFile {
  std::string content_id;
  std::string sha256;  // of the bytes as uploaded: where the media is kept
  ReportedFileState state = ReportedFileState::kPending;
  std::string ncmec_file_id;
  std::string ncmec_md5;            // NCMEC's MD5 of what it received
};

// A CyberTipline report's state (below); ReportStateName gives the API's and the database's word.
enum class ReportState { kDraft, kApproved, kOpen, kFiled, kRetracted, kFailed, kVoided };
const char* ReportStateName(ReportState state);
// kInvalidArgument naming the accepted words for any other.
Result<ReportState> ParseReportState(std::string_view text);
// Filed, retracted or failed: the filer has nothing more to do (voided reports never started).
bool IsSettled(ReportState state);

// A CyberTipline report. States:
//   draft      built and validated, waiting for the approval the policy requires
//   approved   may be filed; nothing sent yet (or an abandoned attempt was retracted)
//   open       NCMEC opened it (ncmec_report_id); files being uploaded and described
//   filed      /finish succeeded: final, cannot change
//   retracted  withdrawn before finishing (by a person, or for good after a refusal)
//   failed     NCMEC refused it for a reason a person must look at (last_code, last_error)
//   voided     withdrawn before anything was sent: its case changed (an appeal restored what it
//              reported, or its labels were corrected); `withdraw_reason` says why
// A report whose case changed while it was open at NCMEC keeps `withdraw_reason` and is retracted
// by the filer before anything else; a filed one keeps it as a follow-up for the legal team.
// `in_flight` names the request sent but not yet answered (InFlightStep below): written before
// the request goes out, so a process killed mid-step leaves a record of what it cannot know the
// outcome of.

// The step of a filing whose outcome is not known yet. kPreserve is the one local step: filed at
// NCMEC, its evidence not yet in the vault. Stored and shown as one word: "" (none), "submit",
// "upload:<content id>", "fileinfo:<content id>", "finish", "retract", "preserve".
struct InFlightStep {
  enum class Kind { kNone, kSubmit, kUpload, kFileInfo, kFinish, kRetract, kPreserve };
  Kind kind = Kind::kNone;
  std::string content_id;  // kUpload and kFileInfo: the file the request was about

  static InFlightStep Of(Kind kind, std::string content_id = {}) { return {kind, std::move(content_id)}; }
  bool empty() const { return kind == Kind::kNone; }
  void clear() { *this = {}; }
  bool operator==(const InFlightStep&) const = default;
};
// The stored word; "" for none.
std::string InFlightStepName(const InFlightStep& step);
// kInvalidArgument naming the accepted forms for any other word.
Result<InFlightStep> ParseInFlightStep(std::string_view text);

struct CyberTipReport {
  std::int64_t id = 0;
  std::int64_t case_id = 0;
  std::string user_id;
  ReportState state = ReportState::kDraft;
  InFlightStep in_flight;
  std::string ncmec_report_id;
  std::string report_xml;  // the <report> document as submitted (preserved with the evidence)
  std::vector<ReportedFile> files;
  std::string created_by, approved_by;
  std::optional<std::int64_t> approved_at, filed_at;
  int last_code = -1;  // NCMEC's last responseCode
  std::string last_error;
  std::string last_request_id;
  int attempts = 0;  // submissions opened for this report (more than one after a retracted attempt)
  std::string withdraw_reason;  // "" unless its case changed under it (see above)
  std::int64_t created_at = 0, updated_at = 0;
  std::int64_t version = 0;  // optimistic concurrency: an update must name the version it read
};

// One preserved item in the evidence vault. `address` is the SHA-256 of the plaintext; the
// ciphertext sits in the vault directory under a name keyed by the master key.
struct EvidenceItem {
  std::int64_t id = 0;
  std::string address;
  std::string kind;  // media, context (the case, matches, decisions, actions), report (the XML)
  std::string media_type;
  std::int64_t size = 0;
  std::int64_t case_id = 0;
  std::int64_t report_id = 0;
  std::string content_id;
  std::string wrapped_key;  // hex: the item key sealed with the master key
  std::string nonce;        // hex: the nonce the content was sealed with
  std::int64_t preserved_at = 0;
  std::int64_t hold_until = 0;  // not purged before this
  std::optional<std::int64_t> purged_at;
};

// Legal process from law enforcement and what was produced for it.
struct LegalRequest {
  std::int64_t id = 0;
  std::string type;  // subpoena, court_order, search_warrant, preservation, emergency, other
  std::string agency;
  std::string case_number;
  std::int64_t received_at = 0;
  std::optional<std::int64_t> due_at;
  std::string scope;
  std::string status = "open";  // open, produced, closed
  std::vector<std::int64_t> case_ids;
  std::string created_by;
  std::optional<std::int64_t> produced_at;
  std::string package_sha256;  // of the produced package's manifest
  std::string produced_by;
};

// An audit record with its chain hashes, for a chain-of-custody log.
struct CustodyRecord {
  std::int64_t id = 0;
  std::int64_t at = 0;
  std::string actor, action, target, detail;
  std::string prev_hash, hash;
};

// Every dated fact a transparency report counts (microseconds since the epoch).
struct TransparencyFacts {
  struct Action {
    std::string kind;  // block_content, remove_content, suspend_account, ban_account, ...
    bool temporary = false;
    std::int64_t at = 0;
    std::string content_id;
    std::string source;  // content actions: "hash:<bank>", "classifier", "user_report", "other"
    std::optional<std::int64_t> uploaded_at;  // content actions
    std::string user_id;   // the account acted on (content actions: the uploader)
    std::string category;  // the taxonomy's id the action was taken under ("" for old rows, restorations)
    std::int64_t decision_id = 0;  // the review decision that took it; 0: automated (the policy)
  };
  struct Decided {
    std::int64_t matched_at = 0;  // the case's first match
    std::int64_t decided_at = 0;
    std::string verdict;
  };
  struct AppealFact {
    std::int64_t created_at = 0;
    std::optional<std::int64_t> decided_at;
    bool overturned = false;
  };
  struct LegalFact {
    std::int64_t received_at = 0;
    std::optional<std::int64_t> produced_at;
  };
  std::vector<Action> actions;
  std::vector<Decided> decisions;
  std::vector<std::int64_t> reports_filed;  // filed_at
  std::vector<AppealFact> appeals;
  std::vector<LegalFact> legal_requests;
};

// What needs a person's attention in reporting, for metrics and alerts.
struct ReportingHealth {
  std::map<std::string, std::int64_t> reports_by_state;
  std::int64_t stalled = 0;              // unsettled (approved, open, in flight) with an error recorded
  std::int64_t withdrawals_pending = 0;  // open at NCMEC, to be retracted (their case changed)
  std::int64_t filed_followups = 0;      // filed, then their case changed: tell NCMEC
  std::int64_t unreportable_cases = 0;   // decided cases whose report could not be drafted (report_problem)
};

// CyberTipline reports and their filing state (the filer's persisted state machine,
// report_filer.h). Thread safety: as the Store that implements it (any thread; each call one
// transaction).
class ReportRecords {
 public:
  virtual ~ReportRecords() = default;
  // A new draft; kAlreadyExists when the case already has a report that is not retracted.
  virtual Result<CyberTipReport> CreateReport(const CyberTipReport& draft) = 0;
  virtual Result<CyberTipReport> GetReport(std::int64_t id) = 0;
  virtual Result<std::vector<CyberTipReport>> ListReports(std::optional<ReportState> state, int limit) = 0;  // none: any
  // Reports with work left, oldest first: approved or open, or with a request in flight (a filed
  // report whose preservation is pending included).
  virtual Result<std::vector<CyberTipReport>> ListUnsettledReports(int limit) = 0;
  // Writes the report's state and files if its version is still `report.version` (kAborted-like
  // kAlreadyExists otherwise: someone else moved it on), and appends `audit_action` to the audit
  // chain. Returns the stored report with its new version.
  virtual Result<CyberTipReport> UpdateReport(const CyberTipReport& report, const std::string& actor,
                                              const std::string& audit_action, const std::string& detail) = 0;
};

// What the evidence vault keeps: items, their holds and purges (the ciphertext is the vault's).
// Thread safety: as Store.
class EvidenceRecords {
 public:
  virtual ~EvidenceRecords() = default;
  virtual Result<EvidenceItem> AddEvidence(const EvidenceItem& item, const std::string& actor) = 0;
  virtual Result<EvidenceItem> GetEvidence(std::int64_t id) = 0;
  virtual Result<std::vector<EvidenceItem>> ListEvidence(std::int64_t case_id) = 0;  // 0 = all live
  // Items whose hold ended before `now` and are not purged yet.
  virtual Result<std::vector<EvidenceItem>> ExpiredEvidence(std::int64_t now) = 0;
  // Holds every item of the case until at least `until`; returns how many items it changed.
  virtual Result<int> ExtendHold(std::int64_t case_id, std::int64_t until, const std::string& actor,
                                 const std::string& reason) = 0;
  // Marks an item purged (its key wiped) if it is still expired at `now`; false when a hold
  // was extended meanwhile.
  virtual Result<bool> MarkPurged(std::int64_t id, std::int64_t now, const std::string& actor) = 0;
  // Replaces live items' wrapped keys (a master-key rotation) in one transaction, with one audit
  // record; items purged meanwhile are skipped. Returns how many it changed.
  virtual Result<int> RewrapEvidenceKeys(const std::vector<std::pair<std::int64_t, std::string>>& wrapped_keys,
                                         const std::string& actor) = 0;
};

// Law-enforcement legal requests, their productions, and the custody log a production carries.
// Thread safety: as Store.
class LegalRequestRecords {
 public:
  virtual ~LegalRequestRecords() = default;
  virtual Result<LegalRequest> CreateLegalRequest(const LegalRequest& request) = 0;
  virtual Result<LegalRequest> GetLegalRequest(std::int64_t id) = 0;
  virtual Result<std::vector<LegalRequest>> ListLegalRequests(const std::string& status) = 0;  // "" = any
  virtual Result<LegalRequest> RecordProduction(std::int64_t id, const std::string& package_sha256,
                                                const std::string& actor) = 0;

  // Audit records that concern any of `targets` (case ids, report ids, evidence ids, content ids).
  virtual Result<std::vector<CustodyRecord>> CustodyLog(const std::vector<std::string>& targets) = 0;
  // One audit record with its chain hashes (id <= 0: the last one); kNotFound when there is none.
  virtual Result<CustodyRecord> AuditChainRecord(std::int64_t id) = 0;
};

// The figures reporting is measured by: transparency facts for a period and the filing's health
// (metrics). Read-only. Thread safety: as Store.
class ReportingFacts {
 public:
  virtual ~ReportingFacts() = default;
  virtual Result<TransparencyFacts> TransparencyFactsBetween(std::int64_t from, std::int64_t to) = 0;

  virtual Result<ReportingHealth> Health() = 0;
};

// Reporting and preservation over the store's database: each part above.
class ReportStore : public ReportRecords, public EvidenceRecords, public LegalRequestRecords, public ReportingFacts {};

}  // namespace vigil
