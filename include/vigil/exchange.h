// Exchanges, the store's part: a bank kept in sync with a hash-sharing service (NCMEC hash sharing,
// StopNCII, Meta ThreatExchange, or a plain list at a URL or in a file), the status of its syncs,
// the lease that lets one replica at a time sync it, and the feedback queue that sends review
// decisions back to the service an entry came from. The clients and the sync itself are
// src/exchange/ (exchange_sync.h).
//
// An exchange owns its bank's sync checkpoint (Bank::sync_checkpoint): each page of a sync is one
// bank import that stores the page's resume point in the same transaction, so a failure leaves the
// bank at its last good checkpoint and the next run resumes there. One exchange per bank.
//
// Feedback is derived, not pushed: QueueFeedback reads review decisions (violating -> affirmative,
// not violating -> negative), entries disabled as false positives (negative, with the reason) and
// decisions overturned on appeal (negative, "overturned on appeal") recorded after the exchange's
// cursors, for entries of its bank, and inserts one queue row per
// (source, entry) under a unique key, advancing the cursors in the same transaction. A decision is
// durable before it is queued, so a crash anywhere between deciding and sending loses nothing and
// queues nothing twice; the sender marks a row sent only after the service accepted it.
//
// Thread safety: as Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"
#include "vigil/store.h"

namespace vigil {

// The kinds of exchange this build has clients for.
std::vector<std::string> ExchangeKinds();  // "ncmec", "stopncii", "threatexchange", "url"

struct ExchangeStatus {
  std::optional<std::int64_t> last_run_at;      // microseconds since the epoch
  std::optional<std::int64_t> last_success_at;
  bool last_ok = false;
  std::string last_error;                       // "" after a success
  std::int64_t last_fetched = 0;                // records fetched by the last run (all pages)
  std::int64_t last_added = 0, last_removed = 0;
  std::int64_t total_fetched = 0;               // over every run
  std::int64_t runs = 0, failures = 0;
  // The newest record time the service reported (microseconds), for lag: now - newest_item_at.
  std::optional<std::int64_t> newest_item_at;
  std::string lease_holder;
  std::int64_t lease_until = 0;
  std::int64_t feedback_queued = 0, feedback_sent = 0, feedback_failed = 0;  // read back only
};

struct Exchange {
  std::int64_t id = 0;
  std::string name;  // 1-64 of [a-z0-9_-]
  std::string kind;  // one of ExchangeKinds()
  std::string bank;  // the bank it keeps in sync (one exchange per bank)
  bool enabled = true;
  std::int64_t interval_seconds = 300;  // between scheduled syncs (>= 60)
  bool feedback = false;                // send review decisions back (where the kind can)
  // Per kind, a JSON object (docs/exchanges.md): base URL or environment, filters, list format.
  // Never credentials.
  std::string settings = "{}";
  // Where the credentials are: "env:NAME" or "file:/absolute/path" ("" for none). The secret
  // itself is never stored, logged or returned.
  std::string credentials;
  std::int64_t created_at = 0, updated_at = 0;
  std::string created_by;
  ExchangeStatus status;
};

struct ExchangeUpdate {
  std::optional<bool> enabled;
  std::optional<std::int64_t> interval_seconds;
  std::optional<bool> feedback;
  std::optional<std::string> settings;
  std::optional<std::string> credentials;
};

// One run's outcome, for RecordRun.
struct ExchangeRun {
  bool ok = false;
  std::string error;
  std::int64_t started_at = 0;
  std::int64_t fetched = 0, added = 0, removed = 0;
  std::optional<std::int64_t> newest_item_at;
};

struct FeedbackItem {
  std::int64_t id = 0;
  std::int64_t exchange_id = 0;
  std::string exchange;
  std::int64_t entry_id = 0;
  std::string source;            // "decision", "disable" or "appeal"
  std::int64_t source_id = 0;    // the decision's, the entry feedback's or the appeal's id
  std::string verdict;           // "affirmative" or "negative"
  std::string reason;            // for negatives: the reviewer's reason, or "not violating"
  std::string state;             // "queued", "sent", "skipped" (the service already has it), "failed"
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::string last_error;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> sent_at;
  // The entry, as the sender needs it.
  std::string signal_type, value;
  Provenance provenance;
  // The verdict last sent for this entry to this exchange ("" for none): the sender skips a
  // repeat of it.
  std::string last_sent_verdict;
};

class ExchangeStore {
 public:
  virtual ~ExchangeStore() = default;

  // kAlreadyExists: that name, or an exchange for that bank. Audited (exchange.create).
  virtual Result<Exchange> CreateExchange(const Exchange& exchange, const std::string& actor) = 0;
  virtual Result<Exchange> GetExchange(const std::string& name) = 0;
  virtual Result<std::vector<Exchange>> ListExchanges() = 0;
  // Audited (exchange.update). Turning feedback on starts its cursors at the decisions made so far.
  virtual Result<Exchange> UpdateExchange(const std::string& name, const ExchangeUpdate& update,
                                          const std::string& actor) = 0;
  // Audited (exchange.delete); the bank and its entries stay, with their checkpoint.
  virtual Status DeleteExchange(const std::string& name, const std::string& actor) = 0;
  // Forgets the bank's sync checkpoint, so the next sync starts from the exchange's start (a full
  // resync: entries already held are left as they are). Audited (exchange.reset).
  virtual Status ResetCheckpoint(const std::string& name, const std::string& actor) = 0;

  // Takes (or renews) the exchange's lease for `holder` until now + seconds, if it is free, expired
  // or already `holder`'s: true when held. Atomic across replicas on both backends.
  virtual Result<bool> AcquireLease(const std::string& name, const std::string& holder, std::int64_t seconds) = 0;
  virtual Status ReleaseLease(const std::string& name, const std::string& holder) = 0;
  // Frees the lease whoever holds it (a process killed mid-sync leaves it until it lapses).
  // Audited (exchange.unlock), naming the holder it freed.
  virtual Status BreakLease(const std::string& name, const std::string& actor) = 0;
  virtual Status RecordRun(const std::string& name, const ExchangeRun& run) = 0;

  // Derives queue rows from decisions, disabled entries and overturned appeals after the cursors,
  // `limit` sources of each kind per transaction until none is left; returns the rows added.
  // Nothing when the exchange's feedback is off.
  virtual Result<std::int64_t> QueueFeedback(const std::string& name, int limit) = 0;
  // Queued rows whose next attempt is due, oldest first.
  virtual Result<std::vector<FeedbackItem>> DueFeedback(const std::string& name, int limit) = 0;
  // state "sent", "skipped", "failed" (final), or "queued" again with the next attempt's time.
  virtual Status MarkFeedback(std::int64_t id, const std::string& state, const std::string& error,
                              std::int64_t next_attempt_at) = 0;
  // Newest first; entry_id 0 for every entry's; name "" for every exchange's.
  virtual Result<std::vector<FeedbackItem>> ListFeedback(const std::string& name, std::int64_t entry_id, int limit) = 0;
};

}  // namespace vigil
