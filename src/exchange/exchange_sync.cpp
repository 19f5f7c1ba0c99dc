// The sync of an exchange (see exchange_sync.h).
#include "exchange/exchange_sync.h"

#include <map>
#include <set>
#include <unordered_set>

#include "util/failpoint.h"
#include "util/iso_time.h"
#include "vigil/clock.h"

namespace vigil::exchange {
namespace {

// Removal ops for the bank's live entries that this exchange put there (their source is its name)
// and that a full list no longer holds. Entries imported by hand or by another source stay.
Result<std::vector<ImportOp>> Missing(Store& store, const std::string& bank, const std::string& source,
                                      const std::vector<ImportOp>& ops) {
  std::set<std::pair<std::string, std::string>> listed;
  for (const auto& op : ops) {
    if (op.kind == ImportOp::Kind::kAdd) listed.emplace(op.signal_type, op.value);
  }
  std::vector<ImportOp> removals;
  std::int64_t after = 0;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(auto page, store.ListEntries(bank, after, 10'000, false));
    if (page.empty()) break;
    for (const auto& entry : page) {
      after = entry.id;
      if (entry.provenance.source != source || listed.count({entry.signal_type, entry.value}) != 0) continue;
      ImportOp op;
      op.kind = ImportOp::Kind::kRemove;
      op.signal_type = entry.signal_type;
      op.value = entry.value;
      op.provenance = entry.provenance;
      removals.push_back(std::move(op));
    }
  }
  return removals;
}

}  // namespace

Result<SyncOutcome> SyncExchange(Store& store, const std::string& name, ExchangeClient& client, const SyncOptions& options) {
  auto& exchanges = store.Exchanges();
  VIGIL_ASSIGN_OR_RETURN(auto exchange, exchanges.GetExchange(name));
  VIGIL_ASSIGN_OR_RETURN(bool held, exchanges.AcquireLease(name, options.holder, options.lease_seconds));
  if (!held) {
    VIGIL_ASSIGN_OR_RETURN(auto now_held, exchanges.GetExchange(name));
    return Fail(ErrorCode::kUnavailable, "exchange '" + name + "' is being synced by " + now_held.status.lease_holder +
                                             " (its lease runs out at " + IsoTime(now_held.status.lease_until) + ")");
  }
  ExchangeRun run;
  run.started_at = SystemClock().NowMicros();
  SyncOutcome outcome;
  auto finish = [&](Status status) -> Result<SyncOutcome> {
    run.ok = status.has_value();
    if (!status) run.error = status.error().message;
    run.fetched = outcome.fetched;
    run.added = outcome.added;
    run.removed = outcome.removed;
    (void)exchanges.RecordRun(name, run);
    (void)exchanges.ReleaseLease(name, options.holder);
    if (!status) return tl::unexpected(status.error());
    return outcome;
  };
  auto bank = store.GetBank(exchange.bank);
  if (!bank) return finish(tl::unexpected(bank.error()));
  std::string checkpoint = bank->sync_checkpoint.value_or("");
  outcome.started_from_checkpoint = !checkpoint.empty();
  const std::string actor = options.actor.empty() ? "exchange:" + name : options.actor;
  // A service that sends the same paging position twice, or page after page with nothing on it,
  // would keep a sync going for ever: stopped, with what came before it kept.
  std::unordered_set<std::string> positions{checkpoint};
  int empty_in_a_row = 0;
  for (int page_number = 1; page_number <= options.max_pages; ++page_number) {
    auto page = client.Fetch(checkpoint);
    if (!page) {
      return finish(Fail(page.error().code, "page " + std::to_string(page_number) + ": " + page.error().message));
    }
    if (page->more && !positions.insert(page->checkpoint).second) {
      return finish(Fail(ErrorCode::kCorrupt, "page " + std::to_string(page_number) +
                                                  ": the service sent a paging position it had sent before; stopped so "
                                                  "the sync cannot loop"));
    }
    empty_in_a_row = page->more && page->fetched == 0 ? empty_in_a_row + 1 : 0;
    if (empty_in_a_row > options.max_empty_pages) {
      return finish(Fail(ErrorCode::kCorrupt, "page " + std::to_string(page_number) + ": " +
                                                  std::to_string(empty_in_a_row) +
                                                  " empty pages in a row that each said more follow; stopped"));
    }
    outcome.fetched += page->fetched;
    outcome.skipped += page->skipped;
    if (page->newest_at && (!run.newest_item_at || *run.newest_item_at < *page->newest_at)) run.newest_item_at = page->newest_at;
    if (page->unchanged) break;
    if (page->full_list) {
      auto removals = Missing(store, exchange.bank, name, page->ops);
      if (!removals) return finish(tl::unexpected(removals.error()));
      for (auto& op : *removals) page->ops.push_back(std::move(op));
    }
    ImportRequest request;
    request.format = page->format;
    request.source = name;
    request.actor = actor;
    request.ops = std::move(page->ops);
    request.checkpoint = page->checkpoint;
    auto imported = store.Import(exchange.bank, std::move(request));
    if (!imported) {
      return finish(Fail(imported.error().code, "page " + std::to_string(page_number) + ": " + imported.error().message));
    }
    ++outcome.pages;
    outcome.added += imported->added;
    outcome.removed += imported->removed;
    outcome.unchanged += imported->unchanged;
    outcome.overridden += imported->overridden;
    checkpoint = page->checkpoint;
    outcome.checkpoint = checkpoint;
    FailPoint("exchange.sync.after_page");
    if (options.on_import) options.on_import(exchange.bank, *imported);
    if (!page->more) break;
    // Renew the lease for the next page; a replica that lost it stops here (what it committed is
    // good: the next holder resumes from it).
    auto renewed = exchanges.AcquireLease(name, options.holder, options.lease_seconds);
    if (!renewed) return finish(tl::unexpected(renewed.error()));
    if (!*renewed) return finish(Fail(ErrorCode::kUnavailable, "the lease on exchange '" + name + "' was lost; stopped after page " +
                                                            std::to_string(page_number)));
  }
  if (outcome.checkpoint.empty()) outcome.checkpoint = checkpoint;
  return finish({});
}

Result<FeedbackOutcome> SendExchangeFeedback(Store& store, const std::string& name, ExchangeClient& client,
                                             const FeedbackOptions& options) {
  auto& exchanges = store.Exchanges();
  VIGIL_ASSIGN_OR_RETURN(auto exchange, exchanges.GetExchange(name));
  FeedbackOutcome outcome;
  if (!exchange.feedback) return outcome;
  if (!client.takes_feedback()) {
    return Fail(ErrorCode::kUnsupported, "exchange '" + name + "' (" + exchange.kind + ") takes no feedback: turn it off");
  }
  VIGIL_ASSIGN_OR_RETURN(bool held, exchanges.AcquireLease(name, options.holder, options.lease_seconds));
  if (!held) return Fail(ErrorCode::kUnavailable, "exchange '" + name + "' is held by another replica");
  auto run = [&]() -> Status {
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(auto queued, exchanges.QueueFeedback(name, 1000));
      outcome.queued += queued;
      if (queued == 0) break;
    }
    VIGIL_ASSIGN_OR_RETURN(auto due, exchanges.DueFeedback(name, options.limit));
    // The verdict last sent per entry, as this run moves on (two items for one entry in one run).
    std::map<std::int64_t, std::string> last_sent;
    for (const auto& item : due) {
      const auto known = last_sent.find(item.entry_id);
      const std::string& previous = known != last_sent.end() ? known->second : item.last_sent_verdict;
      if (previous == item.verdict) {
        VIGIL_TRY(exchanges.MarkFeedback(item.id, "skipped", "the service already has this verdict from us", 0));
        ++outcome.skipped;
        continue;
      }
      FailPoint("exchange.feedback.before_send");
      auto sent = client.SendFeedback(item);
      if (sent) {
        FailPoint("exchange.feedback.after_send");
        VIGIL_TRY(exchanges.MarkFeedback(item.id, "sent", "", 0));
        last_sent[item.entry_id] = item.verdict;
        ++outcome.sent;
        continue;
      }
      const bool final = sent.error().code == ErrorCode::kInvalidArgument || sent.error().code == ErrorCode::kNotFound ||
                         item.attempts + 1 >= options.max_attempts;
      if (final) {
        VIGIL_TRY(exchanges.MarkFeedback(item.id, "failed", sent.error().message, 0));
        ++outcome.failed;
      } else {
        // Back off: 1, 2, 4 ... minutes, at most a day.
        const std::int64_t minutes = std::min<std::int64_t>(std::int64_t{1} << std::min<std::int64_t>(item.attempts, 11), 24 * 60);
        VIGIL_TRY(exchanges.MarkFeedback(item.id, "queued", sent.error().message,
                                         SystemClock().NowMicros() + minutes * 60'000'000));
        ++outcome.retrying;
      }
    }
    return {};
  };
  auto status = run();
  (void)exchanges.ReleaseLease(name, options.holder);
  if (!status) return tl::unexpected(status.error());
  return outcome;
}

}  // namespace vigil::exchange
