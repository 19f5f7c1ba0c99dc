// Policy rules: what happens automatically when an upload matches. A rules file (TOML) lists rules
// in order; each has conditions on the match (bank, bank labels, classification, signal type,
// distance, quality), or on a classifier's scores (classifier.h), the upload (media type,
// jurisdiction) and the user's history (prior confirmed cases), and actions: block the content, hold it for review with a priority, queue a
// CyberTipline report draft, restrict or suspend the account (for a time or permanently), notify
// the user. A rule may require a second review before its account action or report stands.
//
// The same file may define the taxonomy of violations (`[[category]]`, see taxonomy.h); a rule's
// outcome carries the category its ground and reporting come from: the rule's own `category`, or
// else the category of the bank whose match fired it.
//
// A rule on classifier scores (`min_score`) may only hold the upload for a person (and block it
// meanwhile, and ask for a second review): it cannot queue a report, act on the account, notify or
// stop the rules after it, and a file that asks it to is refused. A classifier's score is not knowledge of the content; a reviewer's confirmation is.
//
// A rules file is untrusted input: unknown keys, wrong types, impossible values, contradictory
// rules and rules that could never fire are refused with the file, line and rule named, and nothing
// is loaded.
//
//   auto rules = vigil::PolicyRules::Load("rules.toml");
//   vigil::PolicyOutcome outcome = rules->Evaluate(facts);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/classifier.h"
#include "vigil/review_queues.h"
#include "vigil/status.h"
#include "vigil/taxonomy.h"

namespace vigil {

// One match of an upload, as the rules see it.
struct MatchFacts {
  std::string bank;
  std::vector<std::string> bank_labels;
  std::string bank_category;  // the bank's category of violation ("" when it names none)
  std::string classification;
  std::string signal_type;  // pdq, md5, sha1, sha256, vpdq
  int distance = 0;
  std::optional<int> quality;  // PDQ only: the other signal types have none
};

struct ContentFacts {
  std::string media_type;    // "image/jpeg", "video/mp4"
  std::string jurisdiction;  // from the upload's metadata ("US", "DE"); may be empty
  int prior_confirmed_cases = 0;  // the user's earlier cases decided violating
  std::vector<MatchFacts> matches;
  // Matches found after the upload was recorded (a list gained the entry later: retroactive
  // matching), and how old the upload was then, in whole days.
  bool found_later = false;
  std::int64_t upload_age_days = 0;
  // The classifiers' answers for the upload (those with an error are never acted on).
  std::vector<Classification> classifications{};
  // Found by a sweep (found_later too): past uploads searched for copies of a file reviewers
  // confirmed violating. What a rule decides for such a copy is limited to the content (block or
  // hold): a sweep never acts on an account or reports on its own (workflow/retro_matcher.h).
  bool swept = false;
};

// What is done to an uploader's account: by the policy (restrict, suspend) or by a reviewer's
// decision (any; a ban is permanent and always needs a second reviewer).
enum class AccountAction { kNone, kRestrict, kSuspend, kBan };

// Review priorities: P0 is the most urgent, P3 the least (the usual incident convention).
inline constexpr int kMostUrgentPriority = 0;
inline constexpr int kLeastUrgentPriority = 3;

struct PolicyOutcome {
  bool block = false;
  bool hold = false;
  int hold_priority = kLeastUrgentPriority;  // P0 (most urgent) .. P3; the most urgent of the rules that hold
  bool queue_report = false;
  AccountAction account = AccountAction::kNone;
  std::optional<int> account_days;  // unset with kSuspend: permanent
  bool notify = false;
  bool second_review = false;
  std::vector<std::string> rules;  // the rules that fired, in order
  // The category of the first rule that fired (its own, or its match's bank's); the taxonomy's
  // "other" (or first) category when neither names a known one. Meaningful when Acts().
  Category category;
  // The review queue a case it opens goes to (review_queues.h), and that queue's SLA in hours.
  std::string queue = std::string(kDefaultQueue);
  std::optional<int> queue_sla_hours;
  // Fired by classifier scores alone (no hash-match rule fired): held for a person, nothing more.
  bool classifier_only = false;
  bool Acts() const { return block || hold || queue_report || account != AccountAction::kNone || notify; }
};

struct PolicyRule {
  std::string name;
  std::string description;
  // Conditions (empty: any). A rule fires when one match meets all match conditions and the
  // upload meets the content conditions.
  std::vector<std::string> banks, bank_labels, classifications, signal_types, media_types, jurisdictions;
  std::optional<int> max_distance, min_prior_cases;
  std::optional<int> min_quality;  // applies to PDQ matches; other signal types carry no quality
  std::string found = "any";       // "at_upload", "later" (retroactive matches), "sweep" or "any"
  std::optional<int> max_upload_age_days;  // with "later" or "sweep": only uploads at most this old
  std::string category;            // "" : the category of the bank whose match fired the rule
  // A rule on classifier scores: fires when a classifier (any of `classifiers`, or any) scored a
  // label (any of `labels`, or any) at least `min_score`. Such a rule has no match conditions.
  std::vector<std::string> classifiers, labels;
  std::optional<double> min_score;
  // Actions.
  bool block = false, hold = false, queue_report = false, notify = false, second_review = false;
  int hold_priority = 2;  // P0 (most urgent) .. P3
  AccountAction account = AccountAction::kNone;
  std::optional<int> account_days;
  bool stop = false;  // later rules are not evaluated once this one fires
  int line = 0;       // where it starts in the file
};

// Strikes (the rules file's [strikes] table): each case decided violating gives its account points
// by the decision's category, halved every `half_life_days`; the thresholds the points reach
// propose an account action to the reviewer, who decides it: strikes never act on their own.
struct StrikePolicy {
  std::map<std::string, double> points;  // category -> points; others get default_points
  double default_points = 1;
  double half_life_days = 180;
  struct Threshold {
    double points = 0;
    std::string propose;  // "restrict", "suspend" or "ban"
  };
  std::vector<Threshold> thresholds;  // ascending by points
  bool enabled() const { return !thresholds.empty() || !points.empty(); }
};

// An account's standing: its decayed points, what the highest threshold reached proposes ("" :
// none), and the cases counted.
struct StrikeStanding {
  double points = 0;
  std::string proposed;
  int cases = 0;
};
// One case decided violating: its category and when (microseconds).
struct StruckCase {
  std::string category;
  std::int64_t decided_at = 0;
};
StrikeStanding ScoreStrikes(const StrikePolicy& policy, const std::vector<StruckCase>& cases, std::int64_t now);

class PolicyRules {
 public:
  // Parses TOML text; `source` names it in errors.
  static Result<PolicyRules> Parse(std::string_view text, const std::string& source);
  static Result<PolicyRules> Load(const std::string& path);

  PolicyOutcome Evaluate(const ContentFacts& facts) const;
  const std::vector<PolicyRule>& rules() const { return rules_; }
  // The file's categories, or the built-in ones when it defines none.
  const Taxonomy& taxonomy() const { return taxonomy_; }
  // The strike policy ([strikes]; disabled when the file has none).
  const StrikePolicy& strikes() const { return strikes_; }
  // The review queues ([[queue]] tables; only the default queue when the file has none).
  const ReviewQueues& queues() const { return queues_; }
  // The rules and categories as JSON (for GET /v1/rules).
  std::string ToJson() const;

 private:
  // The first category reported to NCMEC, or nullptr.
  const Category* FirstReported() const {
    for (const auto& c : taxonomy_.categories()) {
      if (c.cybertip) return &c;
    }
    return nullptr;
  }
  std::vector<PolicyRule> rules_;
  Taxonomy taxonomy_ = Taxonomy::BuiltIn();
  StrikePolicy strikes_;
  ReviewQueues queues_;
};

// "none", "restrict", "suspend", "ban".
const char* AccountActionName(AccountAction action);
// Those names, and "" for none (the API's "no account action"); kInvalidArgument otherwise.
Result<AccountAction> ParseAccountAction(std::string_view text);

}  // namespace vigil
