// Running an exchange: a sync (fetch pages after the bank's checkpoint, each page one bank import
// that stores the page's checkpoint in its transaction) and the feedback sender (queue what
// reviewers decided since the last run, send each item to the service once). Both hold the
// exchange's lease in the store while they run, so two replicas never run the same exchange at
// once; a lease that cannot be renewed stops the run after the page in hand.
//
// A service that repeats a paging position, or sends page after empty page, stops the run (no sync
// loops for ever); so does the run's page limit (the next run continues).
//
// Crash recovery of a sync: pages before the crash are committed with their checkpoint; the page
// in flight is not. The next run fetches from the last committed checkpoint: nothing is lost, and
// adds and removals are idempotent, so nothing is doubled. Fail point exchange.sync.after_page
// (after each committed page).
//
// Crash recovery of feedback (the queue rows are exchange.h's):
//   queued, not sent      -> sent by the next run
//   sent, not marked      -> sent again by the next run: NCMEC's PUT and StopNCII's feedback
//                            replace the member's earlier opinion, so the service's state is the
//                            same; the window is one HTTP answer long
//   marked sent           -> never again
// Fail points exchange.feedback.before_send and exchange.feedback.after_send.
//
// Thread safety: reentrant; the lease keeps two runs of one exchange apart.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "exchange/exchange_client.h"
#include "vigil/store.h"

namespace vigil::exchange {

struct SyncOptions {
  std::string holder;  // who runs it (replica id), for the lease
  std::int64_t lease_seconds = 600;
  // Pages one run fetches at most (the next run goes on from there), and empty pages in a row that
  // say more follow before the run is stopped as a loop.
  int max_pages = 100'000;
  int max_empty_pages = 100;
  std::string actor;   // for the import log; default "exchange:NAME"
  // After each committed page (progress, retroactive matching of what it added).
  std::function<void(const std::string& bank, const ImportResult& result)> on_import;
};

struct SyncOutcome {
  int pages = 0;
  std::int64_t fetched = 0, skipped = 0, added = 0, removed = 0, unchanged = 0, overridden = 0;
  std::string checkpoint;  // where the next run starts
  bool started_from_checkpoint = false;
};

// kUnavailable when another holder has the lease; any error leaves the bank at its last committed
// page and is recorded as the run's outcome (status, failures).
Result<SyncOutcome> SyncExchange(Store& store, const std::string& name, ExchangeClient& client, const SyncOptions& options);

struct FeedbackOutcome {
  std::int64_t queued = 0, sent = 0, skipped = 0, failed = 0, retrying = 0;
};

struct FeedbackOptions {
  std::string holder;
  std::int64_t lease_seconds = 600;
  int limit = 1000;        // items sent per run
  int max_attempts = 10;   // then the item is "failed" for good
};

// Queues new decisions and sends what is due. Nothing when the exchange's feedback is off.
Result<FeedbackOutcome> SendExchangeFeedback(Store& store, const std::string& name, ExchangeClient& client,
                                             const FeedbackOptions& options);

}  // namespace vigil::exchange
