// Review queues: named queues that cases are routed to (by category, bank, bank label, priority and
// how the case was found), the reviewers who work each one, and what each holds.
//
// Queues are declared in the rules file as [[queue]] tables, in order; a case opening goes to the
// first queue whose conditions all hold (each list: any of its values; empty: any), else to the
// default queue "general". A case in "general" moves to a specialist queue when an upload routed
// there joins it; a case in a specialist queue stays there. Reviewers see, claim and decide only
// the cases (and appeals, and the uploads in them) of the queues they work: the queues they are
// members of, and those `open_to_all` (the default queue is, unless the file declares it
// otherwise). A queue the rules no longer declare is nobody's (its cases wait for an admin to move
// them). Auditors and admins read every queue.
//
// Thread safety: ReviewQueues is immutable once made (share it freely); QueueStore
// implementations are safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

inline constexpr std::string_view kDefaultQueue = "general";

// How a case's upload came to review: the detection source, as the transparency report counts it.
// "hash_match" (matched when uploaded), "later" (a list gained the entry after the upload),
// "sweep" (a copy of a file confirmed violating), "classifier" (a classifier's score, no hash
// match), "user_report", "escalation".
inline constexpr const char* kRoutingSources[] = {"hash_match", "later", "sweep", "classifier", "user_report", "escalation"};

struct ReviewQueue {
  std::string name;   // [a-z0-9_-]{1,64}
  std::string title;  // for people
  // Conditions (empty: any).
  std::vector<std::string> categories, banks, bank_labels, sources;
  std::optional<int> max_priority;  // cases at this priority or more urgent (P0 is the most urgent)
  // The queue's SLA: a case routed here is due within this many hours at the latest (the priority's
  // SLA applies when it is shorter).
  std::optional<int> sla_hours;
  bool open_to_all = false;  // every reviewer works it; else only its members
  int line = 0;              // where it starts in the file (0: the built-in default queue)
};

// What routing looks at.
struct RoutingFacts {
  std::string category;
  std::vector<std::string> banks, bank_labels;  // of the matches (none for a report)
  int priority = 2;
  std::string source = "hash_match";
};

class ReviewQueues {
 public:
  // Only the default queue, open to all.
  ReviewQueues();
  // The queues a rules file declares ([[queue]] tables, parsed by PolicyRules), checked: names
  // [a-z0-9_-]{1,64} and unique, categories among `categories` (the taxonomy's ids), sources among
  // kRoutingSources, priorities 0-3, SLAs 1-8760 hours; "general" may be declared (its title, SLA
  // and access) but routes by no conditions. Errors name `source` and the queue's line.
  static Result<ReviewQueues> Make(std::vector<ReviewQueue> declared, const std::vector<std::string>& categories,
                                   const std::string& source);
  // The first queue whose conditions hold; the default queue otherwise.
  const ReviewQueue& Route(const RoutingFacts& facts) const;
  // nullptr when none has that name.
  const ReviewQueue* Find(std::string_view name) const;
  // Every queue in file order, the default queue last.
  const std::vector<ReviewQueue>& queues() const { return queues_; }

 private:
  std::vector<ReviewQueue> queues_;
};

// A queue's cases now, for the queues view and the metrics.
struct QueueCounts {
  std::string queue;
  std::int64_t open = 0, in_review = 0, escalated = 0;
  std::int64_t overdue = 0;                 // past their SLA and not decided
  std::optional<std::int64_t> oldest_due;   // the earliest SLA among them (microseconds)
};

struct QueueMember {
  std::string queue, reviewer;  // reviewer: a key's name
  std::string added_by;
  std::int64_t added_at = 0;
};

class QueueStore {
 public:
  virtual ~QueueStore() = default;
  virtual Result<std::vector<QueueMember>> ListQueueMembers() = 0;
  // Adds or removes a reviewer (audited). Adding one who is a member already, or removing one who
  // is not, changes nothing and succeeds.
  virtual Status SetQueueMember(const std::string& queue, const std::string& reviewer, bool member,
                                const std::string& actor) = 0;
  // Cases still to decide, by queue (queues with none are left out).
  virtual Result<std::vector<QueueCounts>> CountQueues(std::int64_t now) = 0;
  // The queue a case is in; kNotFound when there is no such case.
  virtual Result<std::string> CaseQueue(std::int64_t case_id) = 0;
  // Moves a case to another queue (audited, with the reason); its claim is released, and with the
  // new queue's SLA (hours) it is due by then after it opened at the latest.
  virtual Status MoveCase(std::int64_t case_id, const std::string& queue, const std::string& reason,
                          const std::string& actor, std::optional<int> sla_hours) = 0;
};

}  // namespace vigil
