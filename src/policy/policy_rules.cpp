// Policy rules: TOML parsing with strict validation, and evaluation (see include/vigil/policy.h).
//
//   [[rule]]
//   name = "known-hash"                       # required, unique
//   description = "exact hash on an industry list"
//   banks = ["ncmec", "industry"]             # conditions; each optional
//   bank_labels = ["csam"]
//   classifications = ["A1", "A2"]
//   signal_types = ["md5", "sha256"]
//   max_distance = 0
//   min_quality = 50
//   media_types = ["image/*", "video/*"]
//   jurisdictions = ["US"]
//   min_prior_cases = 1
//   found = "later"                           # "at_upload", "later" (a list gained it after the upload),
//                                             # "sweep" (a copy of a file reviewers confirmed) or "any"
//   max_upload_age_days = 30                  # later or sweep: only uploads at most this old
//   actions = ["block", "hold", "queue_report", "suspend", "notify"]
//   hold_priority = 3                         # 0..3, with "hold"
//   suspend_days = 30                         # with "suspend" or "restrict"; absent: permanent suspension
//   second_review = true
//   stop = true
#include <boost/json.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "vigil/signal_type.h"
#include "vigil/policy.h"

#include "policy/queue_tables.h"
#include "util/named_enum.h"
#include "util/toml_guard.h"

namespace vigil {
namespace {

constexpr std::string_view kRuleKeys[] = {"name",          "description",   "banks",         "bank_labels",
                                          "classifications", "signal_types", "max_distance", "min_quality",
                                          "media_types",   "jurisdictions", "min_prior_cases", "actions",
                                          "hold_priority", "suspend_days",  "second_review", "stop",
                                          "category",      "found",         "max_upload_age_days",
                                          "classifiers",   "labels",        "min_score"};
constexpr std::string_view kCategoryKeys[] = {"id", "title", "ground", "legal_basis", "cybertip", "classifications"};
constexpr std::string_view kActions[] = {"block", "hold", "queue_report", "restrict", "suspend", "notify"};

bool AnyOf(const std::vector<std::string>& allowed, const std::string& value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

bool AnyShared(const std::vector<std::string>& allowed, const std::vector<std::string>& values) {
  if (allowed.empty()) return true;
  return std::any_of(values.begin(), values.end(), [&](const std::string& v) { return AnyOf(allowed, v); });
}

// "image/*" matches "image/jpeg".
bool MediaMatches(const std::vector<std::string>& patterns, const std::string& media_type) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns) {
    if (p == media_type) return true;
    if (p.size() >= 2 && p.ends_with("/*") && media_type.rfind(p.substr(0, p.size() - 1), 0) == 0) return true;
  }
  return false;
}

bool MatchMeets(const PolicyRule& rule, const MatchFacts& m) {
  if (!AnyOf(rule.banks, m.bank)) return false;
  if (!AnyShared(rule.bank_labels, m.bank_labels)) return false;
  if (!AnyOf(rule.classifications, m.classification)) return false;
  if (!AnyOf(rule.signal_types, m.signal_type)) return false;
  if (rule.max_distance && m.distance > *rule.max_distance) return false;
  // Quality is PDQ's: a video's or a digest's match has none and is not held to it.
  if (rule.min_quality && m.signal_type == "pdq" && (!m.quality || *m.quality < *rule.min_quality)) return false;
  return true;
}

// A classifier rule: some classifier it names (or any) scored some label it names (or any) at least
// its min_score.
bool ClassificationMeets(const PolicyRule& rule, const Classification& c) {
  if (!c.ok() || !AnyOf(rule.classifiers, c.classifier)) return false;
  return std::any_of(c.labels.begin(), c.labels.end(),
                     [&](const LabelScore& l) { return AnyOf(rule.labels, l.label) && l.score >= *rule.min_score; });
}

bool OnlyOf(const std::vector<std::string>& values, std::initializer_list<std::string_view> allowed) {
  return !values.empty() && std::all_of(values.begin(), values.end(), [&](const std::string& v) {
    return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
  });
}

// Reads the [[category]] tables of a rules file.
Result<std::vector<Category>> ParseCategories(const toml::array& array, const std::string& source) {
  std::vector<Category> out;
  for (const auto& element : array) {
    const toml::table* t = element.as_table();
    const std::string where = source + ":" + std::to_string(element.source().begin.line) + ": ";
    if (t == nullptr) return Fail(ErrorCode::kInvalidArgument, where + "each category must be a table ([[category]])");
    for (const auto& [key, node] : *t) {
      if (std::find(std::begin(kCategoryKeys), std::end(kCategoryKeys), key.str()) == std::end(kCategoryKeys)) {
        return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(node.source().begin.line) +
                                                     ": unknown category key '" + std::string(key.str()) + "'");
      }
    }
    Category c;
    auto text = [&](const char* key, std::string& value) -> Status {
      if (const auto* node = t->get(key)) {
        auto v = node->value<std::string>();
        if (!v) return Fail(ErrorCode::kInvalidArgument, where + "category '" + key + "' must be a string");
        value = *v;
      }
      return {};
    };
    VIGIL_TRY(text("id", c.id));
    VIGIL_TRY(text("title", c.title));
    VIGIL_TRY(text("ground", c.ground));
    VIGIL_TRY(text("legal_basis", c.legal_basis));
    if (const auto* node = t->get("cybertip")) {
      auto v = node->value<bool>();
      if (!v) return Fail(ErrorCode::kInvalidArgument, where + "category 'cybertip' must be true or false");
      c.cybertip = *v;
    }
    if (const auto* node = t->get("classifications")) {
      const auto* list = node->as_array();
      if (list == nullptr) return Fail(ErrorCode::kInvalidArgument, where + "'classifications' must be a list of strings");
      for (const auto& item : *list) {
        auto v = item.value<std::string>();
        if (!v) return Fail(ErrorCode::kInvalidArgument, where + "'classifications' must be a list of strings");
        c.classifications.push_back(*v);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

const char* AccountActionName(AccountAction action) {
  switch (action) {
    case AccountAction::kNone: return "none";
    case AccountAction::kRestrict: return "restrict";
    case AccountAction::kSuspend: return "suspend";
    case AccountAction::kBan: return "ban";
  }
  return "none";
}

Result<AccountAction> ParseAccountAction(std::string_view text) {
  static constexpr AccountAction kAll[] = {AccountAction::kNone, AccountAction::kRestrict, AccountAction::kSuspend,
                                           AccountAction::kBan};
  if (text.empty()) return AccountAction::kNone;
  if (auto a = FindByName(text, kAll, &AccountActionName)) return *a;
  return Fail(ErrorCode::kInvalidArgument, "account_action must be restrict, suspend, ban or empty");
}

namespace {

Result<StrikePolicy> ParseStrikes(const toml::table& table, const Taxonomy& taxonomy, const std::string& source) {
  StrikePolicy policy;
  auto where = [&](const toml::node& node) { return source + ":" + std::to_string(node.source().begin.line) + ": strikes: "; };
  auto number = [](const toml::node& node) -> std::optional<double> {
    if (!node.is_number()) return std::nullopt;
    if (auto d = node.value<double>(); d && std::isfinite(*d)) return *d;
    return std::nullopt;  // nan and inf are no points
  };
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name == "points") {
      const toml::table* points = node.as_table();
      if (points == nullptr) return Fail(ErrorCode::kInvalidArgument, where(node) + "'points' must be a table of category = points");
      for (const auto& [category, value] : *points) {
        const std::string id(category.str());
        if (taxonomy.Find(id) == nullptr) {
          return Fail(ErrorCode::kInvalidArgument, where(value) + "no category '" + id + "' in the taxonomy");
        }
        auto n = number(value);
        if (!n || *n < 0 || *n > 1e6) {
          return Fail(ErrorCode::kInvalidArgument, where(value) + "points for '" + id + "' must be a number from 0 to 1000000");
        }
        policy.points[id] = *n;
      }
    } else if (name == "default_points" || name == "half_life_days") {
      auto n = number(node);
      if (!n || *n < 0 || *n > 1e6 || (name == "half_life_days" && *n <= 0)) {
        return Fail(ErrorCode::kInvalidArgument, where(node) + "'" + name + "' must be a number " +
                                                     (name == "half_life_days" ? "above 0" : "from 0") + " up to 1000000");
      }
      (name == "default_points" ? policy.default_points : policy.half_life_days) = *n;
    } else if (name == "threshold") {
      const toml::array* thresholds = node.as_array();
      if (thresholds == nullptr) return Fail(ErrorCode::kInvalidArgument, where(node) + "'threshold' must be [[strikes.threshold]] tables");
      for (const auto& item : *thresholds) {
        const toml::table* t = item.as_table();
        if (t == nullptr) return Fail(ErrorCode::kInvalidArgument, where(item) + "each threshold is a table");
        StrikePolicy::Threshold threshold;
        for (const auto& [tkey, tnode] : *t) {
          if (tkey.str() == "points") {
            auto n = number(tnode);
            if (!n || *n <= 0 || *n > 1e9) return Fail(ErrorCode::kInvalidArgument, where(tnode) + "a threshold's points must be a number above 0");
            threshold.points = *n;
          } else if (tkey.str() == "propose") {
            threshold.propose = tnode.value<std::string>().value_or("");
            if (threshold.propose != "restrict" && threshold.propose != "suspend" && threshold.propose != "ban") {
              return Fail(ErrorCode::kInvalidArgument, where(tnode) + "a threshold proposes \"restrict\", \"suspend\" or \"ban\"");
            }
          } else {
            return Fail(ErrorCode::kInvalidArgument, where(tnode) + "unknown threshold key '" + std::string(tkey.str()) + "'");
          }
        }
        if (threshold.points <= 0 || threshold.propose.empty()) {
          return Fail(ErrorCode::kInvalidArgument, where(item) + "a threshold needs points and propose");
        }
        policy.thresholds.push_back(threshold);
      }
      std::sort(policy.thresholds.begin(), policy.thresholds.end(),
                [](const auto& a, const auto& b) { return a.points < b.points; });
      // More points propose a stronger action, never the same points two.
      auto strength = [](const std::string& a) { return a == "ban" ? 3 : a == "suspend" ? 2 : 1; };
      for (std::size_t i = 1; i < policy.thresholds.size(); ++i) {
        const auto& lower = policy.thresholds[i - 1];
        const auto& higher = policy.thresholds[i];
        if (lower.points == higher.points || strength(higher.propose) <= strength(lower.propose)) {
          return Fail(ErrorCode::kInvalidArgument, where(node) + "thresholds must propose stronger actions at more points "
                                                   "(restrict < suspend < ban), each at its own points");
        }
      }
    } else {
      return Fail(ErrorCode::kInvalidArgument, where(node) + "unknown key '" + name +
                                                   "' (points, default_points, half_life_days, [[strikes.threshold]])");
    }
  }
  return policy;
}

}  // namespace

StrikeStanding ScoreStrikes(const StrikePolicy& policy, const std::vector<StruckCase>& cases, std::int64_t now) {
  StrikeStanding standing;
  for (const auto& c : cases) {
    const auto it = policy.points.find(c.category);
    const double points = it != policy.points.end() ? it->second : policy.default_points;
    const double age_days = static_cast<double>(std::max<std::int64_t>(0, now - c.decided_at)) / 86'400e6;
    standing.points += points * std::exp2(-age_days / policy.half_life_days);
    ++standing.cases;
  }
  for (const auto& t : policy.thresholds) {
    if (standing.points + 1e-9 >= t.points) standing.proposed = t.propose;
  }
  return standing;
}

Result<PolicyRules> PolicyRules::Parse(std::string_view text, const std::string& source) {
  VIGIL_ASSIGN_OR_RETURN(const toml::table table, ParseTomlChecked(text, source));
  for (const auto& [key, node] : table) {
    if (key.str() != "rule" && key.str() != "category" && key.str() != "strikes" && key.str() != "queue") {
      return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(node.source().begin.line) + ": unknown key '" +
                                                   std::string(key.str()) +
                                                   "' (rules are [[rule]] tables, categories [[category]] tables, "
                                                   "the strike policy a [strikes] table, review queues [[queue]] tables)");
    }
  }
  PolicyRules rules;
  if (table.contains("category")) {
    const toml::array* categories = table["category"].as_array();
    if (categories == nullptr) return Fail(ErrorCode::kInvalidArgument, source + ": 'category' must be an array of tables ([[category]])");
    VIGIL_ASSIGN_OR_RETURN(auto parsed, ParseCategories(*categories, source));
    VIGIL_ASSIGN_OR_RETURN(auto taxonomy, Taxonomy::Make(std::move(parsed), source));
    rules.taxonomy_ = std::move(taxonomy);
  }
  if (table.contains("strikes")) {
    const toml::table* strikes = table["strikes"].as_table();
    if (strikes == nullptr) return Fail(ErrorCode::kInvalidArgument, source + ": 'strikes' must be a table ([strikes])");
    VIGIL_ASSIGN_OR_RETURN(rules.strikes_, ParseStrikes(*strikes, rules.taxonomy_, source));
  }
  if (table.contains("queue")) {
    const toml::array* queues = table["queue"].as_array();
    if (queues == nullptr) return Fail(ErrorCode::kInvalidArgument, source + ": 'queue' must be an array of tables ([[queue]])");
    VIGIL_ASSIGN_OR_RETURN(auto declared, policy::ParseQueueTables(*queues, source));
    std::vector<std::string> ids;
    for (const auto& c : rules.taxonomy_.categories()) ids.push_back(c.id);
    VIGIL_ASSIGN_OR_RETURN(rules.queues_, ReviewQueues::Make(std::move(declared), ids, source));
  }
  const toml::array* array = table["rule"].as_array();
  if (table.contains("rule") && array == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, source + ": 'rule' must be an array of tables ([[rule]])");
  }
  std::set<std::string> names;
  if (array != nullptr) {
    for (const auto& element : *array) {
      const toml::table* t = element.as_table();
      const int line = static_cast<int>(element.source().begin.line);
      auto where = [&](const std::string& name) {
        return source + ":" + std::to_string(line) + (name.empty() ? "" : " (rule '" + name + "')") + ": ";
      };
      if (t == nullptr) return Fail(ErrorCode::kInvalidArgument, where("") + "each rule must be a table");
      PolicyRule rule;
      rule.line = line;
      for (const auto& [key, node] : *t) {
        if (std::find(std::begin(kRuleKeys), std::end(kRuleKeys), key.str()) == std::end(kRuleKeys)) {
          return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(node.source().begin.line) +
                                                       ": unknown rule key '" + std::string(key.str()) + "'");
        }
      }
      Status status;
      auto string_of = [&](const char* key, std::string& out) {
        if (const auto* node = t->get(key)) {
          if (auto v = node->value<std::string>()) out = *v;
          else status = Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'" + key + "' must be a string");
        }
      };
      auto list_of = [&](const char* key, std::vector<std::string>& out) {
        if (const auto* node = t->get(key)) {
          const auto* list = node->as_array();
          if (list == nullptr) {
            status = Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'" + key + "' must be a list of strings");
            return;
          }
          for (const auto& item : *list) {
            if (auto v = item.value<std::string>()) out.push_back(*v);
            else status = Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'" + key + "' must be a list of strings");
          }
        }
      };
      auto int_of = [&](const char* key, std::optional<int>& out, int min, int max) {
        if (const auto* node = t->get(key)) {
          auto v = node->value<std::int64_t>();
          if (v && *v >= min && *v <= max) out = static_cast<int>(*v);
          else status = Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'" + key + "' must be an integer within " +
                                                              std::to_string(min) + ".." + std::to_string(max));
        }
      };
      auto bool_of = [&](const char* key, bool& out) {
        if (const auto* node = t->get(key)) {
          if (auto v = node->value<bool>()) out = *v;
          else status = Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'" + key + "' must be true or false");
        }
      };
      string_of("name", rule.name);
      if (rule.name.empty()) return Fail(ErrorCode::kInvalidArgument, where("") + "every rule needs a 'name'");
      if (!names.insert(rule.name).second) {
        return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "a rule of this name comes earlier");
      }
      string_of("description", rule.description);
      string_of("category", rule.category);
      list_of("banks", rule.banks);
      list_of("bank_labels", rule.bank_labels);
      list_of("classifications", rule.classifications);
      list_of("signal_types", rule.signal_types);
      list_of("media_types", rule.media_types);
      list_of("jurisdictions", rule.jurisdictions);
      list_of("classifiers", rule.classifiers);
      list_of("labels", rule.labels);
      if (const auto* node = t->get("min_score")) {
        auto v = node->value<double>();
        if (v && *v >= 0 && *v <= 1) rule.min_score = *v;
        else status = Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'min_score' must be a number within 0..1");
      }
      int_of("max_distance", rule.max_distance, 0, 256);
      int_of("min_quality", rule.min_quality, 0, 100);
      int_of("min_prior_cases", rule.min_prior_cases, 0, 1'000'000);
      string_of("found", rule.found);
      int_of("max_upload_age_days", rule.max_upload_age_days, 0, 36'500);
      std::optional<int> priority, days;
      int_of("hold_priority", priority, kMostUrgentPriority, kLeastUrgentPriority);
      int_of("suspend_days", days, 1, 36'500);
      bool_of("second_review", rule.second_review);
      bool_of("stop", rule.stop);
      std::vector<std::string> actions;
      list_of("actions", actions);
      if (!status) return tl::unexpected(status.error());
      if (rule.found != "any" && rule.found != "at_upload" && rule.found != "later" && rule.found != "sweep") {
        return Fail(ErrorCode::kInvalidArgument, where(rule.name) +
                                                     "'found' must be \"at_upload\", \"later\", \"sweep\" or \"any\", not \"" +
                                                     rule.found + "\"");
      }
      const bool found_after = rule.found == "later" || rule.found == "sweep";
      if (found_after && !rule.signal_types.empty() &&
          std::all_of(rule.signal_types.begin(), rule.signal_types.end(),
                      [](const std::string& type) { return type == "sha1"; })) {
        return Fail(ErrorCode::kInvalidArgument,
                    where(rule.name) + "never fires: matches found " + (rule.found == "sweep" ? "by sweeps" : "later") + " are of pdq, md5, sha256 and vpdq entries only");
      }
      if (rule.max_upload_age_days && !found_after) {
        return Fail(ErrorCode::kInvalidArgument,
                    where(rule.name) + "'max_upload_age_days' needs found = \"later\" or \"sweep\" (an upload is new when it is matched at upload)");
      }
      if (!rule.category.empty() && rules.taxonomy_.Find(rule.category) == nullptr) {
        auto known = rules.taxonomy_.Require(rule.category);
        return Fail(ErrorCode::kInvalidArgument, where(rule.name) + known.error().message);
      }
      // The types this process knows: the built-in ones and the registered plug-ins' (a rule may
      // name a licensed-hash plug-in's type once its plug-ins file is read).
      for (const auto& type : rule.signal_types) {
        if (FindSignalType(type) == nullptr) {
          return Fail(ErrorCode::kInvalidArgument,
                      where(rule.name) + "unknown signal type '" + type +
                          "' (a licensed-hash plug-in's type needs its plug-ins file: [hash_plugins] file or --hash-plugins)");
        }
      }
      if (actions.empty()) return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'actions' must name at least one action");
      for (const auto& action : actions) {
        if (std::find(std::begin(kActions), std::end(kActions), action) == std::end(kActions)) {
          return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "unknown action '" + action +
                                                       "' (actions: block, hold, queue_report, restrict, suspend, notify)");
        }
        if (action == "block") rule.block = true;
        if (action == "hold") rule.hold = true;
        if (action == "queue_report") rule.queue_report = true;
        if (action == "notify") rule.notify = true;
        if (action == "restrict" || action == "suspend") {
          const AccountAction wanted = action == "restrict" ? AccountAction::kRestrict : AccountAction::kSuspend;
          if (rule.account != AccountAction::kNone && rule.account != wanted) {
            return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "contradictory actions: restrict and suspend");
          }
          rule.account = wanted;
        }
      }
      // A classifier's score is not knowledge of the content: a person confirms before anything
      // irreversible, and the rule has no hash match to hold conditions on.
      if ((!rule.classifiers.empty() || !rule.labels.empty()) && !rule.min_score) {
        return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'classifiers' and 'labels' need 'min_score' (the score that fires the rule)");
      }
      if (rule.min_score) {
        if (!rule.banks.empty() || !rule.bank_labels.empty() || !rule.classifications.empty() || !rule.signal_types.empty() ||
            rule.max_distance || rule.min_quality) {
          return Fail(ErrorCode::kInvalidArgument,
                      where(rule.name) + "a rule on classifier scores has no hash-match conditions (banks, bank_labels, "
                                         "classifications, signal_types, max_distance, min_quality): write a rule for each");
        }
        if (rule.found != "any" && rule.found != "at_upload") {
          return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "classifiers score uploads when they arrive: 'found' must be \"at_upload\" or \"any\"");
        }
        if (rule.queue_report || rule.account != AccountAction::kNone || rule.notify) {
          return Fail(ErrorCode::kInvalidArgument,
                      where(rule.name) + "a classifier's score alone never reports, acts on an account or notifies the user: "
                                         "a person confirms first (use hold, and block to hide it meanwhile)");
        }
        if (!rule.hold) {
          return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "a rule on classifier scores must 'hold' the upload for a person");
        }
        if (rule.stop) {
          return Fail(ErrorCode::kInvalidArgument,
                      where(rule.name) + "a rule on classifier scores cannot 'stop': the rules after it must still act on a "
                                         "hash match of the same upload");
        }
      }
      // Contradictions and actions without their settings.
      if (rule.found == "sweep" && (rule.account != AccountAction::kNone || rule.queue_report)) {
        return Fail(ErrorCode::kInvalidArgument,
                    where(rule.name) + "a sweep never acts on an account or reports on its own (a person decides each "
                                       "account it finds): use block and hold");
      }
      if (priority && !rule.hold) {
        return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'hold_priority' without the 'hold' action");
      }
      if (priority) rule.hold_priority = *priority;
      if (days && rule.account == AccountAction::kNone) {
        return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'suspend_days' without 'restrict' or 'suspend'");
      }
      if (rule.account == AccountAction::kRestrict && !days) {
        return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'restrict' needs 'suspend_days' (restrictions end)");
      }
      rule.account_days = days;
      if (rule.queue_report && !rule.block) {
        return Fail(ErrorCode::kInvalidArgument,
                    where(rule.name) + "'queue_report' needs 'block': content being reported to NCMEC must not stay visible");
      }
      if (rule.queue_report && !rule.category.empty()) {
        const Category* c = rules.taxonomy_.Find(rule.category);
        if (c != nullptr && !c->cybertip) {
          return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'queue_report' with category '" + rule.category +
                                                       "', which is not reported to NCMEC (cybertip = false)");
        }
      }
      if (rule.notify && !rule.block && rule.account == AccountAction::kNone) {
        return Fail(ErrorCode::kInvalidArgument, where(rule.name) + "'notify' with nothing to notify about");
      }
      if (rule.max_distance && !rule.signal_types.empty() &&
          std::none_of(rule.signal_types.begin(), rule.signal_types.end(),
                       [](const std::string& s) { return s == "pdq" || s == "vpdq"; }) &&
          *rule.max_distance > 0) {
        return Fail(ErrorCode::kInvalidArgument,
                    where(rule.name) + "'max_distance' above 0 for cryptographic hashes only: they match exactly");
      }
      // Conditions that no upload can meet together.
      if (rule.min_quality && !rule.signal_types.empty() &&
          std::find(rule.signal_types.begin(), rule.signal_types.end(), "pdq") == rule.signal_types.end()) {
        return Fail(ErrorCode::kInvalidArgument,
                    where(rule.name) + "'min_quality' applies to PDQ matches only, and this rule's signal types have no "
                                       "quality: it would have no effect (remove it, or add \"pdq\")");
      }
      auto all_media = [&](std::string_view prefix) {
        return !rule.media_types.empty() && std::all_of(rule.media_types.begin(), rule.media_types.end(),
                                                        [&](const std::string& m) { return m.starts_with(prefix); });
      };
      const bool videos_only = all_media("video/"), images_only = all_media("image/");
      if (videos_only && OnlyOf(rule.signal_types, {"pdq"})) {
        return Fail(ErrorCode::kInvalidArgument,
                    where(rule.name) + "never fires: videos are matched by vpdq and digests, not pdq");
      }
      if (images_only && OnlyOf(rule.signal_types, {"vpdq"})) {
        return Fail(ErrorCode::kInvalidArgument,
                    where(rule.name) + "never fires: images are matched by pdq and digests, not vpdq");
      }
      rules.rules_.push_back(std::move(rule));
    }
  }
  // A rule after a catch-all stop rule would never fire.
  for (std::size_t i = 0; i + 1 < rules.rules_.size(); ++i) {
    const PolicyRule& r = rules.rules_[i];
    const bool catch_all = r.stop && r.banks.empty() && r.bank_labels.empty() && r.classifications.empty() &&
                           r.signal_types.empty() && r.media_types.empty() && r.jurisdictions.empty() &&
                           !r.max_distance && !r.min_quality && !r.min_prior_cases && r.found == "any" && !r.min_score;
    if (catch_all) {
      return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(rules.rules_[i + 1].line) + " (rule '" +
                                                   rules.rules_[i + 1].name + "'): never fires: rule '" + r.name +
                                                   "' before it matches everything and stops");
    }
  }
  return rules;
}

Result<PolicyRules> PolicyRules::Load(const std::string& path) {
  std::string text;
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return Fail(ErrorCode::kNotFound, path + ": cannot open");
    char buffer[65536];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
      text.append(buffer, n);
      if (text.size() > (4u << 20)) {
        std::fclose(f);
        return Fail(ErrorCode::kTooLarge, path + ": a rules file over 4 MiB");
      }
    }
    std::fclose(f);
  }
  return Parse(text, path);
}

PolicyOutcome PolicyRules::Evaluate(const ContentFacts& facts) const {
  PolicyOutcome out;
  bool categorised = false;
  bool hash_rule_fired = false;
  bool categorised_by_hash = false;
  for (const PolicyRule& rule : rules_) {
    if (!MediaMatches(rule.media_types, facts.media_type)) continue;
    if (!rule.jurisdictions.empty() && !AnyOf(rule.jurisdictions, facts.jurisdiction)) continue;
    if (rule.min_prior_cases && facts.prior_confirmed_cases < *rule.min_prior_cases) continue;
    if (rule.found == "at_upload" && facts.found_later) continue;
    if (rule.found == "later" && (!facts.found_later || facts.swept)) continue;
    if (rule.found == "sweep" && !facts.swept) continue;
    if (rule.max_upload_age_days && facts.upload_age_days > *rule.max_upload_age_days) continue;
    std::string bank_category;
    if (rule.min_score) {
      if (facts.found_later || std::none_of(facts.classifications.begin(), facts.classifications.end(),
                                            [&](const Classification& c) { return ClassificationMeets(rule, c); })) {
        continue;
      }
    } else {
      const auto fired = std::find_if(facts.matches.begin(), facts.matches.end(),
                                      [&](const MatchFacts& m) { return MatchMeets(rule, m); });
      if (fired == facts.matches.end()) continue;
      bank_category = fired->bank_category;
      hash_rule_fired = true;
    }
    // A rule's category: its own, else its match's bank's. A rule that queues a CyberTipline report
    // stands for a reported category when neither names one the taxonomy knows (a bank made
    // without a category); a category that is named and not reported (a StopNCII bank's "ncii")
    // is never turned into a reported one: that rule queues nothing.
    const Category* c = taxonomy_.Find(rule.category.empty() ? bank_category : rule.category);
    if (rule.queue_report && c == nullptr) c = FirstReported();
    const bool reports = rule.queue_report && c != nullptr && c->cybertip;
    // The first rule that fires names the category, unless a later one queues a report: a
    // reported category (and its legal duty) wins over an unreported one.
    // A hash rule's category wins over a classifier rule's (a list's knowledge over a score).
    if (c != nullptr && (!categorised || (reports && !out.queue_report) || (!rule.min_score && !categorised_by_hash))) {
      out.category = *c;
      categorised = true;
      categorised_by_hash = categorised_by_hash || !rule.min_score;
    }
    out.rules.push_back(rule.name);
    out.block = out.block || rule.block;
    if (rule.hold) {
      out.hold_priority = out.hold ? std::min(out.hold_priority, rule.hold_priority) : rule.hold_priority;
      out.hold = true;
    }
    out.queue_report = out.queue_report || reports;
    out.notify = out.notify || rule.notify;
    out.second_review = out.second_review || rule.second_review;
    // The strongest account action wins; a permanent suspension beats a timed one.
    if (rule.account == AccountAction::kSuspend && out.account != AccountAction::kSuspend) {
      out.account = AccountAction::kSuspend;
      out.account_days = rule.account_days;
    } else if (rule.account == AccountAction::kSuspend && out.account_days && rule.account_days) {
      out.account_days = std::max(*out.account_days, *rule.account_days);
    } else if (rule.account == AccountAction::kSuspend) {
      out.account_days.reset();
    } else if (rule.account == AccountAction::kRestrict && out.account == AccountAction::kNone) {
      out.account = AccountAction::kRestrict;
      out.account_days = rule.account_days;
    }
    if (rule.stop) break;
  }
  if (!categorised && !taxonomy_.categories().empty()) {
    const Category* other = taxonomy_.Find("other");
    out.category = other != nullptr ? *other : taxonomy_.categories().front();
  }
  // Fired by classifier scores alone: held for a person and nothing more, whatever the rules say
  // (the loader refuses more; this holds for rules made in code too).
  out.classifier_only = !out.rules.empty() && !hash_rule_fired;
  if (out.classifier_only) {
    out.hold = true;
    out.queue_report = false;
    out.account = AccountAction::kNone;
    out.account_days.reset();
    out.notify = false;
  }
  if (out.Acts()) {
    RoutingFacts routing;
    routing.category = out.category.id;
    for (const auto& m : facts.matches) {
      routing.banks.push_back(m.bank);
      routing.bank_labels.insert(routing.bank_labels.end(), m.bank_labels.begin(), m.bank_labels.end());
    }
    routing.priority = out.hold ? out.hold_priority : 1;
    routing.source = facts.swept ? "sweep" : facts.found_later ? "later" : out.classifier_only ? "classifier" : "hash_match";
    const ReviewQueue& queue = queues_.Route(routing);
    out.queue = queue.name;
    out.queue_sla_hours = queue.sla_hours;
  }
  return out;
}

std::string PolicyRules::ToJson() const {
  boost::json::array out;
  auto list = [](const std::vector<std::string>& v) {
    boost::json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  for (const PolicyRule& r : rules_) {
    boost::json::array actions;
    if (r.block) actions.emplace_back("block");
    if (r.hold) actions.emplace_back("hold");
    if (r.queue_report) actions.emplace_back("queue_report");
    if (r.account != AccountAction::kNone) actions.emplace_back(AccountActionName(r.account));
    if (r.notify) actions.emplace_back("notify");
    boost::json::object o{{"name", r.name},
                          {"description", r.description},
                          {"category", r.category},
                          {"banks", list(r.banks)},
                          {"bank_labels", list(r.bank_labels)},
                          {"classifications", list(r.classifications)},
                          {"signal_types", list(r.signal_types)},
                          {"media_types", list(r.media_types)},
                          {"jurisdictions", list(r.jurisdictions)},
                          {"classifiers", list(r.classifiers)},
                          {"labels", list(r.labels)},
                          {"actions", std::move(actions)},
                          {"second_review", r.second_review},
                          {"stop", r.stop},
                          {"line", r.line}};
    o["max_distance"] = r.max_distance ? boost::json::value(*r.max_distance) : nullptr;
    o["min_score"] = r.min_score ? boost::json::value(*r.min_score) : nullptr;
    o["min_quality"] = r.min_quality ? boost::json::value(*r.min_quality) : nullptr;
    o["min_prior_cases"] = r.min_prior_cases ? boost::json::value(*r.min_prior_cases) : nullptr;
    o["found"] = r.found;
    o["max_upload_age_days"] = r.max_upload_age_days ? boost::json::value(*r.max_upload_age_days) : nullptr;
    if (r.hold) o["hold_priority"] = r.hold_priority;
    o["suspend_days"] = r.account_days ? boost::json::value(*r.account_days) : nullptr;
    out.push_back(std::move(o));
  }
  boost::json::object answer{{"rules", std::move(out)}, {"categories", boost::json::parse(taxonomy_.ToJson())}};
  if (strikes_.enabled()) {
    boost::json::object points;
    for (const auto& [category, n] : strikes_.points) points[category] = n;
    boost::json::array thresholds;
    for (const auto& t : strikes_.thresholds) thresholds.push_back(boost::json::object{{"points", t.points}, {"propose", t.propose}});
    answer["strikes"] = boost::json::object{{"points", std::move(points)},
                                            {"default_points", strikes_.default_points},
                                            {"half_life_days", strikes_.half_life_days},
                                            {"thresholds", std::move(thresholds)}};
  }
  return boost::json::serialize(answer);
}

}  // namespace vigil
