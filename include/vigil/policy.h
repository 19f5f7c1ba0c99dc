// Policy rules: what happens automatically when an upload matches. A rules file (TOML) lists rules
// in order; each has conditions on the match (bank, bank labels, classification, signal type,
// distance, quality), the upload (media type, jurisdiction) and the user's history (prior
// confirmed cases), and actions: block the content, hold it for review with a priority, queue a
// CyberTipline report draft, restrict or suspend the account (for a time or permanently), notify
// the user. A rule may require a second review before its account action or report stands.
//
// A rules file is untrusted input: unknown keys, wrong types, impossible values and
// contradictory rules are refused with the file, line and rule named, and nothing is loaded.
//
//   auto rules = vigil::PolicyRules::Load("rules.toml");
//   vigil::PolicyOutcome outcome = rules->Evaluate(facts);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil {

// One match of an upload, as the rules see it.
struct MatchFacts {
  std::string bank;
  std::vector<std::string> bank_labels;
  std::string classification;
  std::string signal_type;  // pdq, md5, sha1, sha256, vpdq
  int distance = 0;
  std::optional<int> quality;
};

struct ContentFacts {
  std::string media_type;    // "image/jpeg", "video/mp4"
  std::string jurisdiction;  // from the upload's metadata ("US", "DE"); may be empty
  int prior_confirmed_cases = 0;  // the user's earlier cases decided violating
  std::vector<MatchFacts> matches;
};

enum class AccountAction { kNone, kRestrict, kSuspend };

struct PolicyOutcome {
  bool block = false;
  bool hold = false;
  int hold_priority = 0;  // 0 (low) .. 3 (urgent); the highest of the rules that hold
  bool queue_report = false;
  AccountAction account = AccountAction::kNone;
  std::optional<int> account_days;  // unset with kSuspend: permanent
  bool notify = false;
  bool second_review = false;
  std::vector<std::string> rules;  // the rules that fired, in order
  bool Acts() const { return block || hold || queue_report || account != AccountAction::kNone || notify; }
};

struct PolicyRule {
  std::string name;
  std::string description;
  // Conditions (empty: any). A rule fires when one match meets all match conditions and the
  // upload meets the content conditions.
  std::vector<std::string> banks, bank_labels, classifications, signal_types, media_types, jurisdictions;
  std::optional<int> max_distance, min_quality, min_prior_cases;
  // Actions.
  bool block = false, hold = false, queue_report = false, notify = false, second_review = false;
  int hold_priority = 1;
  AccountAction account = AccountAction::kNone;
  std::optional<int> account_days;
  bool stop = false;  // later rules are not evaluated once this one fires
  int line = 0;       // where it starts in the file
};

class PolicyRules {
 public:
  // Parses TOML text; `source` names it in errors.
  static Result<PolicyRules> Parse(std::string_view text, const std::string& source);
  static Result<PolicyRules> Load(const std::string& path);

  PolicyOutcome Evaluate(const ContentFacts& facts) const;
  const std::vector<PolicyRule>& rules() const { return rules_; }
  // The rules as JSON (for GET /v1/rules).
  std::string ToJson() const;

 private:
  std::vector<PolicyRule> rules_;
};

const char* AccountActionName(AccountAction action);

}  // namespace vigil
