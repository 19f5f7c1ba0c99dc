// The trust & safety workflow after a match: user-centric cases with a review queue (priority,
// SLA, claims with a lease), reviewer decisions that record which media the reviewer actually
// viewed, enforcement on content and accounts with a statement of reasons (the fields of the EU
// DSA Art. 17 statement), appeals decided by a different reviewer, false-positive feedback, and
// the hash-chained audit log that every step writes to.
//
// Thread safety: like Store, callable from many threads; every call is one transaction.
#pragma once

#include <cstdint>
#include <optional>
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
};

struct Decision {
  std::int64_t id = 0;
  std::string reviewer;
  std::string verdict;  // violating, not_violating, escalate
  std::string classification;
  std::string reason;
  std::vector<std::string> viewed;  // content ids the reviewer revealed unblurred before deciding
  bool second_review = false;
  std::int64_t decided_at = 0;
};

struct Case {
  std::int64_t id = 0;
  std::string user_id;
  std::string status;  // open, in_review, decided, escalated, closed
  int priority = 0;    // 0..3
  std::int64_t sla_due = 0;
  std::string assigned_to;  // the reviewer key holding the claim
  std::int64_t lease_until = 0;
  bool second_review_required = false;
  bool report_queued = false;
  std::vector<std::string> rules;  // policy rules that opened or grew it
  std::int64_t created_at = 0, updated_at = 0;
  std::vector<CaseItem> items;
  std::vector<Decision> decisions;
};

struct Account {
  std::string user_id;
  std::string state = "active";  // active, restricted, suspended, banned
  std::optional<std::int64_t> until;
  std::int64_t updated_at = 0;
};

// What an action tells the user: policy ground, facts, whether automated, how to appeal.
struct StatementOfReasons {
  std::string ground;       // the policy ("known child sexual abuse material")
  std::string facts;        // what was found ("a hash match with list X, confirmed by review")
  bool automated = false;   // decided without human review
  std::string redress;      // how to appeal
};

struct EnforcementAction {
  std::int64_t id = 0;
  std::string user_id;
  std::string content_id;  // empty for account actions
  std::string kind;        // block_content, remove_content, restore_content, restrict_account,
                           // suspend_account, ban_account, restore_account
  std::optional<std::int64_t> until;
  StatementOfReasons statement;
  std::string actor;
  std::int64_t case_id = 0;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> notified_at;
};

struct Appeal {
  std::int64_t id = 0;
  std::int64_t action_id = 0;
  std::string user_id;
  std::string statement;  // the user's own context
  std::string status;     // open, in_review, upheld, overturned
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
};

class CaseStore {
 public:
  virtual ~CaseStore() = default;

  // After an upload matched: evaluates nothing itself; applies a policy outcome. Opens the user's
  // case (or adds to the open one), blocks the content, applies automated account actions.
  // Returns the case, or nothing when the outcome neither holds nor acts.
  virtual Result<std::optional<Case>> ApplyOutcome(const ContentRecord& content, const PolicyOutcome& outcome,
                                                   const std::string& actor) = 0;
  // Earlier cases of the user decided violating (a policy condition).
  virtual Result<int> PriorConfirmedCases(const std::string& user_id) = 0;

  virtual Result<std::vector<Case>> ListCases(const std::string& status, int limit) = 0;  // "" = any open one
  virtual Result<Case> GetCase(std::int64_t id) = 0;
  // Takes the case for `reviewer` until the lease ends; kAlreadyExists when someone else holds it.
  virtual Result<Case> ClaimCase(std::int64_t id, const std::string& reviewer) = 0;
  // A reviewer revealed an item unblurred: logged (audit and case), counted as viewed.
  virtual Status RecordView(std::int64_t case_id, const std::string& content_id, const std::string& reviewer) = 0;
  // Decides a claimed case. Violating: the content is removed and the account suspended as the
  // decision says; a case needing a second review waits for a different reviewer's decision.
  struct DecisionRequest {
    std::string verdict, classification, reason;
    std::string account_action;      // "", restrict, suspend, ban
    std::optional<int> account_days;  // restrict/suspend
  };
  virtual Result<Case> Decide(std::int64_t case_id, const DecisionRequest& request, const std::string& reviewer) = 0;

  virtual Result<Account> GetAccount(const std::string& user_id) = 0;
  virtual Result<std::vector<EnforcementAction>> ListActions(const std::string& user_id) = 0;
  virtual Status MarkNotified(std::int64_t action_id) = 0;

  virtual Result<Appeal> FileAppeal(std::int64_t action_id, const std::string& statement, const std::string& actor) = 0;
  virtual Result<std::vector<Appeal>> ListAppeals(const std::string& status) = 0;
  virtual Result<Appeal> GetAppeal(std::int64_t id) = 0;
  // kPermissionDenied-like (kInvalidArgument) when the reviewer made the decision appealed.
  virtual Result<Appeal> ClaimAppeal(std::int64_t id, const std::string& reviewer) = 0;
  virtual Result<Appeal> DecideAppeal(std::int64_t id, bool overturn, const std::string& reason,
                                      const std::string& reviewer) = 0;
  virtual Result<std::vector<ReviewerStats>> ReviewerOverturnRates() = 0;

  // A rejected match: stop matching the entry here (with the reason) and record feedback for the
  // list owner.
  virtual Status DisableEntry(std::int64_t entry_id, const std::string& reason, const std::string& reviewer) = 0;
  virtual Result<std::vector<EntryFeedback>> ListFeedback() = 0;

  // Media kept for review (the upload's bytes, content-addressed).
  virtual Status KeepMedia(const std::string& content_id, const std::string& sha256, const std::string& media_type) = 0;

  virtual Result<std::vector<std::string>> VerifyAudit(std::int64_t* records) = 0;
};

}  // namespace vigil
