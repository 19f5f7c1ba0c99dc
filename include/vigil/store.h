// The store: banks and their entries (with provenance), submitted content and its matches, API
// keys (hashed at rest), the import log and the audit log. One interface, two backends that pass
// the same test suite: SQLite (embedded default, WAL, one file) and PostgreSQL. The schema is
// versioned; Open applies pending migrations.
//
// Thread safety: a Store may be used from many threads at once; it hands each call a pooled
// connection. Every mutating call is one transaction: it happens whole or not at all.
//
//   auto store = vigil::Store::Open({.sqlite_path = "data/vigil.db"});
//   auto bank = (*store)->CreateBank({.name = "benign-test", .description = "stand-ins"}, "cli");
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vigil/classifier.h"
#include "vigil/roles.h"
#include "vigil/workflow_options.h"

#include "vigil/status.h"

namespace vigil {

class CaseStore;
class ReportStore;
class SharingStore;
class ExchangeStore;
class EventStore;
class QueueStore;
class WellnessStore;
class SessionStore;
class Clock;

// The largest PDQ match threshold a bank may set: unrelated images lie about 128 bits apart.
inline constexpr int kMaxPdqDistance = 63;

struct Bank {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  std::vector<std::string> labels;
  std::string category;  // the taxonomy's category of violation its entries stand for ("" : none named)
  bool enabled = true;
  // The share of HMA-compatible lookups that include this bank (HMA's matching_enabled_ratio: a
  // coin flip per lookup, docs/hma.md), 0-1 in steps of a millionth. /v1 and uploads ignore it.
  double enabled_ratio = 1.0;
  int pdq_max_distance = 31;  // a PDQ entry matches at distance <= this
  int pdq_min_quality = 50;   // and only when the query's quality is >= this
  // Measures beyond the reference PDQ (docs/evaluation.md has what each gains and costs): also
  // look up the upload's eight rotations/flips, and its hash inside detected borders.
  bool match_dihedral = false;
  bool match_trimmed = false;
  // An allow-list of known false positives (logos, blank frames, memes): an upload matching one of
  // its entries (within its pdq_max_distance) has its other matches recorded as suppressed, and the
  // policy does not act on them. Set when the bank is made.
  bool negative = false;
  std::optional<std::string> sync_checkpoint;  // where the last incremental import stopped
  std::int64_t created_at = 0;                 // microseconds since the Unix epoch
  std::int64_t updated_at = 0;
  std::int64_t live_entries = 0;
};

// What may change on a bank; unset fields stay as they are.
struct BankUpdate {
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> labels;
  std::optional<std::string> category;
  std::optional<bool> enabled;
  std::optional<double> enabled_ratio;
  std::optional<int> pdq_max_distance;
  std::optional<int> pdq_min_quality;
  std::optional<bool> match_dihedral;
  std::optional<bool> match_trimmed;
};

// Where an entry came from: the list, the contributing member, the list's own id for it, and the
// list's classification label (e.g. "A1").
struct Provenance {
  std::string source;
  std::string member;
  std::string external_id;
  std::string classification;
};

struct BankEntry {
  std::int64_t id = 0;
  std::int64_t bank_id = 0;
  std::string signal_type;
  std::string value;
  std::string payload;  // vpdq: the frame list (value is its SHA-256); empty for other types
  Provenance provenance;
  std::int64_t added_at = 0;
  std::optional<std::int64_t> removed_at;  // set: a tombstone, no longer matched
  // When the list says the record was made or last changed (NCMEC's <timestamp>, StopNCII's
  // lastModtimestamp, ThreatExchange's last_updated), microseconds; unset for lists without one.
  std::optional<std::int64_t> listed_at;
};

// One change an import applies, in file order.
struct ImportOp {
  enum class Kind {
    kAdd,     // add (signal_type, value) with provenance; a live duplicate is left (or relabelled)
    kRemove,  // tombstone (signal_type, value), or every entry of (member, external_id) when value is empty
    kPrune,   // tombstone entries of (member, external_id) whose value is not in `keep` (record updates)
  };
  Kind kind = Kind::kAdd;
  std::string signal_type;
  std::string value;
  std::string payload;  // vpdq: the canonical frame list whose SHA-256 is `value`
  Provenance provenance;
  std::vector<std::string> keep;  // kPrune: "signal_type:value" strings still in the record
  std::int64_t line = 0;          // 1-based line (or record) in the source, for messages
  std::int64_t listed_at = 0;     // kAdd: the list's time for the record, microseconds (0: none)
};

struct ImportRequest {
  std::string format;  // "csv", "text", "hma", "ncmec", "stopncii"
  std::string source;  // a file name or URL, for the log
  std::string actor;   // who imported (key name or "cli")
  std::vector<ImportOp> ops;
  std::optional<std::string> checkpoint;  // stored on the bank when the import commits
  // More ops after `ops`, pulled one at a time while the import runs (a HashListReader's Next:
  // the list need not be held parsed). An error fails the import; nothing is applied.
  std::function<Result<bool>(ImportOp&)> more_ops;
};

// An entry as the matcher needs it.
struct IndexedEntry {
  std::int64_t id = 0;
  std::int64_t bank_id = 0;
  std::string signal_type;
  std::string value;
  std::string payload;  // vpdq frames
};

// An entry an import tombstoned, with its value: the matcher drops it from its index by value.
struct EntryRemoval {
  std::int64_t entry_id = 0;
  std::int64_t import_id = 0;
  std::string signal_type;
  std::string value;
};

struct ImportResult {
  std::int64_t import_id = 0;
  std::int64_t added = 0;
  std::int64_t removed = 0;
  std::int64_t relabelled = 0;
  std::int64_t unchanged = 0;
  std::int64_t overridden = 0;  // adds skipped: the platform disabled those values (local overrides)
  std::vector<IndexedEntry> added_entries;
  std::vector<std::int64_t> removed_entry_ids;
};

// A value this platform disabled in a bank (a reviewer found the match wrong): re-imports of the
// list skip it until the override is revoked, which brings the entry back with the list's latest
// provenance.
struct EntryOverride {
  std::int64_t id = 0;
  std::string bank;
  std::string signal_type, value;
  std::string reason, created_by;
  std::int64_t created_at = 0;
  std::int64_t entry_id = 0;  // the entry that was disabled
  Provenance provenance;      // as the list last gave it
  std::int64_t skipped = 0;   // adds that re-imports left out
  std::optional<std::int64_t> revoked_at;
  std::string revoked_by;
};

struct ImportLogRecord {
  std::int64_t id = 0;
  std::int64_t bank_id = 0;
  std::string format, source, actor, status, error;
  std::int64_t added = 0, removed = 0, unchanged = 0;
  std::int64_t started_at = 0, finished_at = 0;
  std::optional<std::string> checkpoint;
};

struct MatchRecord {
  std::int64_t id = 0;
  std::int64_t bank_id = 0;
  std::string bank_name;
  std::int64_t entry_id = 0;
  std::string signal_type;
  std::string entry_value;
  int distance = 0;  // vpdq: the smallest frame distance
  std::optional<int> quality;
  Provenance provenance;
  std::int64_t matched_at = 0;
  // vpdq: share of the upload's frames with a close listed frame, and of the listed video's frames
  // with a close upload frame.
  std::optional<double> query_match_percent;
  std::optional<double> compared_match_percent;
  // Which of the upload's hashes matched when not the reference one ("dihedral:rot90", "trimmed").
  std::string measure;
  bool retroactive = false;  // found after the upload was recorded (its list gained the entry later)
  std::int64_t suppressed_by = 0;  // the negative bank's entry the upload also matched; 0: not suppressed
  bool quarantined = false;        // the entry was in flood quarantine when this matched: held, not acted on
  std::int64_t sweep_of = 0;       // found by the sweep that case's violating decision started; 0: not a sweep
  // What this platform's reviewers said of the entry's matches (EntryReviewCounts): read with the match.
  std::int64_t entry_confirmed = 0, entry_rejected = 0;
};

struct ContentRecord {
  std::int64_t id = 0;
  std::string content_id;  // the platform's id for the upload; unique
  std::string user_id;
  std::string media_type;  // "image/jpeg", ...
  std::int64_t byte_size = 0;
  std::map<std::string, std::string> hashes;  // signal type -> value
  std::optional<int> pdq_quality;
  std::int64_t submitted_at = 0;
  std::string metadata_json = "{}";  // the caller's metadata, as given (validated JSON object)
  std::string vpdq;                  // videos: the vPDQ frame list (reference text format)
  std::vector<MatchRecord> matches;
  std::vector<Classification> classifications{};  // what the classifiers answered (classifier.h)
  // Read back only: visible, blocked, removed or restored; and what the policy did when the upload
  // was recorded, as answered then (JSON; "" when nothing matched).
  std::string state = "visible";
  std::string policy_outcome;
};

struct ApiKeyRecord {
  std::int64_t id = 0;
  std::string name;
  std::string role;
  std::string prefix;  // first characters of the key, to tell keys apart in lists ("" while pending)
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;
  // "active"; "pending": a sensitive role requested over the API by one admin, waiting for a
  // second admin's approval (it authenticates nothing); "expired": pending past kPendingKeyMicros.
  std::string status = "active";
  std::string created_by;   // who minted or requested it: an admin key's name, or "cli:<os user>"
  std::string approved_by;  // the second admin, for a sensitive role minted over the API
  std::optional<std::int64_t> approved_at;
  // After this it authenticates nothing (status "expired"); unset: it does not expire.
  std::optional<std::int64_t> expires_at;
  // During a rotation: the previous secret works until then, beside the new one.
  std::optional<std::int64_t> previous_until;
  // Authenticate: the secret presented was the previous one (during a rotation's overlap). It may
  // do ordinary calls, never rotate the key again (it would take the key from its new holder).
  bool by_previous_secret = false;
  // Set by the service's admission, per request: every role the caller holds ("reviewer,legal"),
  // while `role` is then the one this request acts in (the first of the route's roles held, or the
  // one named in X-Vigil-Role). Empty elsewhere: `role` is the whole list.
  std::string roles_held{};
  // A person's console session (sessions.h) rather than an API key: its id (0: a key).
  std::int64_t session_id = 0;
};

struct NewApiKey {
  ApiKeyRecord record;
  std::string secret;  // shown once; only its SHA-256 is stored
};

struct AuditRecord {
  std::int64_t id = 0;
  std::int64_t at = 0;
  std::string actor, action, target, detail;
};

struct StoreOptions {
  std::string sqlite_path;   // used when postgres_url is empty
  std::string postgres_url;  // libpq connection string or URI
  int pool_size = 4;
  WorkflowOptions workflow;
  const Clock* clock = nullptr;  // what "now" is for every record; nullptr: the system clock
};

// What the matcher follows (Matcher, matcher.h): the banks, their live entries in id order and the
// entries imports removed. A small feed rather than the whole store, so a matcher can follow any
// source of entries (tests use an in-memory one). Thread safety: as the Store that implements it.
class EntryFeed {
 public:
  virtual ~EntryFeed() = default;
  virtual Result<std::vector<Bank>> ListBanks() = 0;
  // Live entries of enabled-or-not live banks with id > after_id, in id order.
  virtual Result<std::vector<IndexedEntry>> LiveEntriesAfter(std::int64_t after_id, int limit) = 0;
  // Entries tombstoned by imports with id > after_import_id, in import order.
  virtual Result<std::vector<EntryRemoval>> RemovalsAfter(std::int64_t after_import_id) = 0;
  virtual Result<std::int64_t> LatestImportId() = 0;
  // Which database this is (made once, at schema 8): a matcher snapshot of another is refused.
  // Empty: the feed cannot tell (in-memory feeds), and snapshots are taken on trust.
  virtual Result<std::string> Identity() { return std::string(); }
  // The entry with this id, live or removed (kNotFound: none), so that a snapshot can check that
  // the store still holds its newest entry as it had it (a restored backup keeps the identity).
  // kUnsupported: the feed cannot tell.
  virtual Result<IndexedEntry> EntryById(std::int64_t) {
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this feed cannot look up entries"});
  }
};

// Banks, their entries with provenance, imports and local overrides. Thread safety: as Store.
class BankStore : public EntryFeed {
 public:
  // Banks. Names: 1-64 of [a-z0-9_-], starting with a letter or digit.
  virtual Result<Bank> CreateBank(const Bank& bank, const std::string& actor) = 0;
  virtual Result<Bank> GetBank(const std::string& name) = 0;
  virtual Result<Bank> UpdateBank(const std::string& name, const BankUpdate& update,
                                  const std::string& actor) = 0;
  // Soft delete: the bank and its entries stop matching; rows stay for audit.
  virtual Status DeleteBank(const std::string& name, const std::string& actor) = 0;
  virtual Result<std::vector<BankEntry>> ListEntries(const std::string& bank, std::int64_t after_id,
                                                     int limit, bool include_removed) = 0;
  // Entries of a bank that hold exactly these values ("" : any), by id after `after_id`: what
  // curators search by (a hash, the list's id for a record, a class label).
  struct EntrySearch {
    std::string value, external_id, classification;
    std::int64_t after_id = 0;
    int limit = 100;
    bool include_removed = false;
  };
  virtual Result<std::vector<BankEntry>> SearchEntries(const std::string& bank, const EntrySearch& search) {
    (void)bank, (void)search;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this store does not search entries"});
  }

  // Applies every op of `request` to `bank` in one transaction. On a bad op nothing changes and
  // the error names the line; the rejection is still written to the import log. The request is
  // taken by value: pass it with std::move and its ops are consumed as they are applied, so a
  // large list is not held twice.
  virtual Result<ImportResult> Import(const std::string& bank, ImportRequest request) = 0;
  // Writes a rejected import (a list that failed to parse) to the import log.
  virtual Status LogRejectedImport(const std::string& bank, const ImportRequest& request,
                                   const std::string& error) = 0;
  virtual Result<std::vector<ImportLogRecord>> ListImports(const std::string& bank) = 0;

  // Provenance of matched entries, by id.
  virtual Result<std::vector<BankEntry>> GetEntries(const std::vector<std::int64_t>& ids) = 0;
  // The live entries of `bank` holding these (signal type, value) pairs, values as imported
  // (lower-case hex); pairs it does not hold are left out.
  virtual Result<std::vector<IndexedEntry>> FindLiveEntries(const std::string& bank,
                                                            const std::vector<std::pair<std::string, std::string>>& values) = 0;

  // Local overrides (CaseStore::DisableEntry makes them). `bank` "" lists every bank's.
  virtual Result<std::vector<EntryOverride>> ListOverrides(const std::string& bank, bool include_revoked) = 0;
  // Ends an override: the value is added back to its bank (as a one-entry import every matcher
  // picks up) unless the bank holds it live already. Audited.
  virtual Result<EntryOverride> RevokeOverride(std::int64_t id, const std::string& actor) = 0;
};

// How long uploads that matched nothing are kept: long enough for lists that grow later to find
// them (retroactive matching), not for good. Anything tied to a case, report or legal hold is in
// the permanent record and never removed by retention.
struct UploadRetention {
  int keep_days = 90;            // 0: keep them for good
  int partitions_ahead_days = 3; // PostgreSQL: daily partitions made this many days ahead
};

// One upload partition (PostgreSQL; SQLite has one table, listed as one "partition" without bounds).
struct UploadPartition {
  std::string name;
  std::int64_t from = 0, to = 0;  // submitted_at range [from, to), Unix microseconds; 0, 0: none (default)
  std::int64_t rows = 0;          // the planner's estimate (exact for SQLite)
};

// What one maintenance pass did.
struct UploadMaintenance {
  bool skipped = false;  // another replica held the maintenance lock: nothing done
  std::vector<std::string> partitions_created, partitions_dropped;
  std::int64_t uploads_removed = 0;  // deleted, plus the estimated rows of dropped partitions
  std::int64_t uploads_kept = 0;     // past the window, but of an account with a case or action: kept
  std::vector<UploadPartition> partitions;  // after the pass
  std::vector<std::string> warnings;        // what it left alone and why (a partition it did not make)
};

// Where a past upload is kept: `uploads` (it matched nothing; row = its row_id) or `content` (the
// permanent record; row = its id). Rows only grow within a table and are never reused.
enum class PastUploadTable { kUploads, kContent };

// An upload's signals as the index of past uploads holds them (match/past_upload_index.h).
struct PastUpload {
  PastUploadTable table = PastUploadTable::kUploads;
  std::int64_t row = 0;
  std::string content_id;
  std::string user_id;
  std::string pdq;  // hex; "" when it has none (videos, tiny images)
  std::optional<int> pdq_quality;
  std::string sha256, md5;  // hex
  std::int64_t submitted_at = 0;
  std::string vpdq;  // videos: the vPDQ frames (reference text format); "" otherwise
  std::string state = "visible";  // visible, blocked, removed, restored (uploads that matched nothing: visible)
};

// What the index of past uploads follows. Thread safety: as Store.
class PastUploadFeed {
 public:
  virtual ~PastUploadFeed() = default;
  // Uploads of `table` with row > after_row submitted at or after `since`, in row order.
  virtual Result<std::vector<PastUpload>> PastUploadsAfter(PastUploadTable table, std::int64_t after_row,
                                                           std::int64_t since, int limit) = 0;
  // These rows of `table`, those that exist (in no particular order).
  virtual Result<std::vector<PastUpload>> PastUploadsByRow(PastUploadTable table, const std::vector<std::int64_t>& rows) = 0;
};

// Submitted content and its matches. Thread safety: as Store.
class ContentStore : public PastUploadFeed {
 public:
  virtual ~ContentStore() = default;
  // Content and matches: written together; kAlreadyExists when content_id is taken.
  virtual Result<ContentRecord> RecordContent(const ContentRecord& content) = 0;
  virtual Result<ContentRecord> GetContent(const std::string& content_id) = 0;
  // Uploads that matched something, in submission order after `after_id` (ContentRecord::id).
  virtual Result<std::vector<ContentRecord>> ListMatchedContent(std::int64_t after_id, int limit) = 0;
  // Creates the coming days' partitions of uploads that matched nothing (PostgreSQL) and removes
  // those older than the retention window, except any of an account with a case, an action or an
  // account state, which move to the permanent record instead. Safe from any number of replicas
  // at once (one does it; the others report `skipped`). See store/upload_retention.h.
  virtual Result<UploadMaintenance> MaintainUploads(const UploadRetention& retention) = 0;
  virtual Result<std::vector<UploadPartition>> ListUploadPartitions() = 0;
};

// API keys (hashed at rest) and who may do what. Thread safety: as Store.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // API keys. Names: 1-64 of [a-z0-9._@-], starting with a letter or digit (upper case is folded:
  // names are stored lower-case and unique case-insensitively). A name is never reused, even after
  // revocation: the audit log and decisions name people by key name. Only a pending request that
  // lapsed or was revoked before approval (it never authenticated anything) frees its name.
  //
  // Over the API, by the admin `actor`: a sensitive role (IsSensitiveRole) comes back pending, with
  // no secret, until ApproveApiKey by a different admin; other roles are active at once.
  virtual Result<NewApiKey> CreateApiKey(const std::string& name, const std::string& role,
                                         const std::string& actor) = 0;
  // On the host (the CLI, with direct access to the database: the vault key's level of trust, which
  // stands in for the second admin): any role, active at once; audited as actor "cli" with `os_user`.
  virtual Result<NewApiKey> CreateApiKeyOnHost(const std::string& name, const std::string& role,
                                               const std::string& os_user) = 0;
  // A second admin activates a pending key and gets its secret, once. kPermissionDenied for the
  // admin who requested it; kNotFound when no pending request of that name is live (or it lapsed).
  virtual Result<NewApiKey> ApproveApiKey(const std::string& name, const std::string& approver) = 0;
  // Every key, pending and revoked ones included (never a secret).
  virtual Result<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  // Revokes the live key of that name (case-insensitive); a pending one is withdrawn.
  virtual Status RevokeApiKey(const std::string& name, const std::string& actor) = 0;
  // The active key whose SHA-256 matches (or its previous secret's, during a rotation); kNotFound
  // for unknown, pending, revoked or expired keys.
  virtual Result<ApiKeyRecord> Authenticate(const std::string& secret) = 0;
  // When a live key stops authenticating (nullopt: never). Audited.
  virtual Status SetApiKeyExpiry(const std::string& name, std::optional<std::int64_t> expires_at,
                                 const std::string& actor) {
    (void)name, (void)expires_at, (void)actor;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this store has no key expiry"});
  }
  // A new secret for a live, active key (same name, role and history), shown once: the previous
  // one keeps working for `overlap_seconds` (0: it stops at once), so that the services using it
  // can be moved over without a gap. Audited ("key.rotate").
  virtual Result<NewApiKey> RotateApiKey(const std::string& name, std::int64_t overlap_seconds, const std::string& actor) {
    (void)name, (void)overlap_seconds, (void)actor;
    return tl::unexpected(Error{ErrorCode::kUnsupported, "this store does not rotate keys"});
  }
};

// The hash-chained audit log: every change by a person or the policy (verified by
// VerifyAuditChain, cases.h). Thread safety: as Store.
class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Appends to the hash-chained audit log (see cases.h for verifying it).
  virtual Status Audit(const std::string& actor, const std::string& action, const std::string& target,
                       const std::string& detail) = 0;
  virtual Result<std::vector<AuditRecord>> ListAudit(int limit) = 0;
};

// The whole database: each part above, plus the workflow's and reporting's stores over the same
// connections. Code that needs one part takes that part's interface.
class Store : public BankStore, public ContentStore, public KeyStore, public AuditLog {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  virtual ~Store() = default;

  virtual std::string backend() const = 0;  // "sqlite" or "postgres"
  virtual Result<int> SchemaVersion() = 0;
  // Structural checks: the backend's own (PRAGMA integrity_check) and ours (no live duplicate
  // entries, every match names a real entry and content). Returns the problems found.
  virtual Result<std::vector<std::string>> CheckIntegrity() = 0;

  // The workflow over the same database: cases, decisions, enforcement, appeals.
  virtual CaseStore& Cases() = 0;
  // Reporting and preservation over the same database: reports, evidence, legal requests.
  virtual ReportStore& Reports() = 0;
  // Hash sharing with partner platforms (sharing.h).
  virtual SharingStore& Sharing() = 0;
  // Banks kept in sync with hash-sharing services, and feedback sent back to them (exchange.h).
  virtual ExchangeStore& Exchanges() = 0;
  // Events to the platform: the outbox each change writes to, the feed and webhook queue (events.h).
  virtual EventStore& Events() = 0;
  // Review queues: memberships, counts, moves (review_queues.h).
  virtual QueueStore& Queues() = 0;
  // Reviewers' reveal limits, breaks and exposure (wellness.h).
  virtual WellnessStore& Wellness() = 0;
  // People who sign in through the identity provider, and their console sessions (sessions.h).
  virtual SessionStore& Sessions() = 0;
};

}  // namespace vigil
