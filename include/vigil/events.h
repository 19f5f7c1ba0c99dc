// Events to the platform: every state change a platform acts on (content blocked, removed or
// restored; an account restricted, suspended, banned or restored; a case or an appeal decided; a
// report filed) is written to a durable outbox in the same transaction as the change itself, so
// none is lost and none is announced that did not happen. The platform reads them as a feed
// (GET /v1/events?after=ID) or receives them as signed webhooks (server/webhook_sender.h), at least
// once, in order for each account (an event waits while an earlier one of its account is not yet
// delivered), each with its id as the idempotency key.
//
// Event kinds and their `data` (JSON, docs/events.md):
//   content.blocked, content.removed, content.restored,
//   account.restricted, account.suspended, account.banned, account.restored
//       {action_id, kind, until, automated, decision_id, statement: {ground, facts, category,
//        legal_basis, redress}}   (the user-facing statement only; no list names or reviewers)
//   case.decided     {decision_id, verdict, classification, category, second_review}
//   appeal.decided   {appeal_id, outcome, actions_reversed}
//   report.filed     {report_id, ncmec_report_id}
//
// Thread safety: implementations are safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil {

struct PlatformEvent {
  std::int64_t id = 0;
  std::string kind;
  std::string user_id;     // the account it concerns ("" when none)
  std::string content_id;  // the content it concerns ("" when none)
  std::int64_t case_id = 0;
  std::string data = "{}";  // JSON object, per kind (above)
  std::int64_t created_at = 0;  // microseconds since the epoch
  // Webhook delivery (read back only).
  std::optional<std::int64_t> delivered_at;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::string last_error;
  bool dead = false;  // given up on after the attempts allowed; redeliver by hand
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  // The feed: events with id > after, oldest first, at most `limit` (1-1000); `user_id` "" : all.
  virtual Result<std::vector<PlatformEvent>> ListEvents(std::int64_t after, int limit, const std::string& user_id) = 0;
  // Webhook delivery. Events not delivered nor dead whose attempt is due at `now`, oldest first,
  // at most `limit`, leaving out every event of an account that has an earlier one undelivered
  // (dead ones too: an account's events wait behind its dead letter until it is redelivered).
  virtual Result<std::vector<PlatformEvent>> DueEvents(std::int64_t now, int limit) = 0;
  virtual Status MarkDelivered(std::int64_t id, std::int64_t now) = 0;
  // A failed attempt: counted, its error kept, tried again at `next_attempt_at`, or dead.
  virtual Status MarkFailed(std::int64_t id, const std::string& error, std::int64_t next_attempt_at, bool dead) = 0;
  // Dead letters with id > after, oldest first; redelivering one puts it back in the queue
  // (attempts from 0).
  virtual Result<std::vector<PlatformEvent>> ListDeadEvents(std::int64_t after, int limit) = 0;
  virtual Status Redeliver(std::int64_t id, const std::string& actor) = 0;
  // Events waiting for delivery (not delivered, not dead), for the metrics.
  virtual Result<std::int64_t> PendingEvents() = 0;
  // One sender at a time across replicas: takes (or keeps) the delivery lease for `seconds`.
  virtual Result<bool> AcquireDeliveryLease(const std::string& holder, std::int64_t seconds) = 0;
  virtual Status ReleaseDeliveryLease(const std::string& holder) = 0;
};

}  // namespace vigil
