// Review queues: the [[queue]] tables of a rules file, their checks, and routing (see
// include/vigil/review_queues.h).
#include "vigil/review_queues.h"

#include <algorithm>
#include <set>

#include "policy/queue_tables.h"

namespace vigil {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Any of `wanted` among `have`; an empty `wanted` holds for anything.
bool AnyOf(const std::vector<std::string>& wanted, const std::vector<std::string>& have) {
  if (wanted.empty()) return true;
  return std::any_of(have.begin(), have.end(), [&](const std::string& h) { return Contains(wanted, h); });
}

bool ValidQueueName(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

ReviewQueue DefaultQueue() {
  ReviewQueue q;
  q.name = std::string(kDefaultQueue);
  q.title = "General review";
  q.open_to_all = true;
  return q;
}

}  // namespace

ReviewQueues::ReviewQueues() : queues_{DefaultQueue()} {}

Result<ReviewQueues> ReviewQueues::Make(std::vector<ReviewQueue> declared, const std::vector<std::string>& categories,
                                        const std::string& source) {
  ReviewQueues out;
  out.queues_.clear();
  std::optional<ReviewQueue> general;
  std::set<std::string> names;
  for (auto& q : declared) {
    // The name as it can be printed (a control character would cut the message short).
    std::string shown;
    for (const char ch : q.name.substr(0, 64)) shown += (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ? '?' : ch;
    const std::string where = source + ":" + std::to_string(q.line) + " (queue '" + shown + "'): ";
    if (!ValidQueueName(q.name)) {
      return Fail(ErrorCode::kInvalidArgument, where + "a queue's name is 1-64 of a-z, 0-9, _ and -");
    }
    if (!names.insert(q.name).second) return Fail(ErrorCode::kInvalidArgument, where + "a queue of this name comes earlier");
    if (q.title.size() > 200) return Fail(ErrorCode::kInvalidArgument, where + "a title is at most 200 characters");
    for (const auto& c : q.categories) {
      if (!Contains(categories, c)) return Fail(ErrorCode::kInvalidArgument, where + "no category '" + c + "' in the taxonomy");
    }
    for (const auto& s : q.sources) {
      if (std::find(std::begin(kRoutingSources), std::end(kRoutingSources), s) == std::end(kRoutingSources)) {
        return Fail(ErrorCode::kInvalidArgument,
                    where + "unknown source '" + s + "' (hash_match, later, sweep, classifier, user_report, escalation)");
      }
    }
    if (q.max_priority && (*q.max_priority < 0 || *q.max_priority > 3)) {
      return Fail(ErrorCode::kInvalidArgument, where + "'max_priority' must be 0 (most urgent) to 3");
    }
    if (q.sla_hours && (*q.sla_hours < 1 || *q.sla_hours > 8760)) {
      return Fail(ErrorCode::kInvalidArgument, where + "'sla_hours' must be 1 to 8760");
    }
    if (q.title.empty()) q.title = q.name;
    if (q.name == kDefaultQueue) {
      if (!q.categories.empty() || !q.banks.empty() || !q.bank_labels.empty() || !q.sources.empty() || q.max_priority) {
        return Fail(ErrorCode::kInvalidArgument, where + "the default queue takes every case no other queue takes: it "
                                                          "has no conditions (title, sla_hours and open_to_all only)");
      }
      general = q;
      continue;
    }
    if (q.categories.empty() && q.banks.empty() && q.bank_labels.empty() && q.sources.empty() && !q.max_priority) {
      return Fail(ErrorCode::kInvalidArgument, where + "a queue without conditions takes every case: give it categories, "
                                                        "banks, bank_labels, sources or max_priority");
    }
    out.queues_.push_back(std::move(q));
  }
  out.queues_.push_back(general ? *general : DefaultQueue());
  return out;
}

const ReviewQueue& ReviewQueues::Route(const RoutingFacts& facts) const {
  for (const auto& q : queues_) {
    if (q.name == kDefaultQueue) continue;
    if (!q.categories.empty() && !Contains(q.categories, facts.category)) continue;
    if (!AnyOf(q.banks, facts.banks) || !AnyOf(q.bank_labels, facts.bank_labels)) continue;
    if (!q.sources.empty() && !Contains(q.sources, facts.source)) continue;
    if (q.max_priority && facts.priority > *q.max_priority) continue;
    return q;
  }
  return queues_.back();
}

const ReviewQueue* ReviewQueues::Find(std::string_view name) const {
  for (const auto& q : queues_) {
    if (q.name == name) return &q;
  }
  return nullptr;
}

namespace policy {

Result<std::vector<ReviewQueue>> ParseQueueTables(const toml::array& tables, const std::string& source) {
  static constexpr std::string_view kKeys[] = {"name",    "title",        "categories", "banks",      "bank_labels",
                                               "sources", "max_priority", "sla_hours",  "open_to_all"};
  std::vector<ReviewQueue> out;
  for (const auto& element : tables) {
    const toml::table* t = element.as_table();
    ReviewQueue q;
    q.line = static_cast<int>(element.source().begin.line);
    const std::string where = source + ":" + std::to_string(q.line) + ": ";
    if (t == nullptr) return Fail(ErrorCode::kInvalidArgument, where + "each queue must be a table ([[queue]])");
    for (const auto& [key, node] : *t) {
      if (std::find(std::begin(kKeys), std::end(kKeys), key.str()) == std::end(kKeys)) {
        return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(node.source().begin.line) +
                                                     ": unknown queue key '" + std::string(key.str()) +
                                                     "' (name, title, categories, banks, bank_labels, sources, "
                                                     "max_priority, sla_hours, open_to_all)");
      }
    }
    // Errors name the line of the key at fault.
    auto at = [&](const toml::node& node) { return source + ":" + std::to_string(node.source().begin.line) + ": "; };
    auto text = [&](const char* key, std::string& value) -> Status {
      if (const auto* node = t->get(key)) {
        auto v = node->value<std::string>();
        if (!v) return Fail(ErrorCode::kInvalidArgument, at(*node) + "'" + key + "' must be a string");
        value = *v;
      }
      return {};
    };
    auto list = [&](const char* key, std::vector<std::string>& values) -> Status {
      if (const auto* node = t->get(key)) {
        const auto* array = node->as_array();
        if (array == nullptr) return Fail(ErrorCode::kInvalidArgument, at(*node) + "'" + key + "' must be a list of strings");
        for (const auto& item : *array) {
          auto v = item.value<std::string>();
          if (!v) return Fail(ErrorCode::kInvalidArgument, at(*node) + "'" + key + "' must be a list of strings");
          values.push_back(*v);
        }
      }
      return {};
    };
    auto integer = [&](const char* key, std::optional<int>& value) -> Status {
      if (const auto* node = t->get(key)) {
        auto v = node->value<std::int64_t>();
        if (!v || !node->is_integer() || *v < -1'000'000 || *v > 1'000'000) {
          return Fail(ErrorCode::kInvalidArgument, at(*node) + "'" + key + "' must be an integer from -1000000 to 1000000");
        }
        value = static_cast<int>(*v);
      }
      return {};
    };
    VIGIL_TRY(text("name", q.name));
    VIGIL_TRY(text("title", q.title));
    VIGIL_TRY(list("categories", q.categories));
    VIGIL_TRY(list("banks", q.banks));
    VIGIL_TRY(list("bank_labels", q.bank_labels));
    VIGIL_TRY(list("sources", q.sources));
    VIGIL_TRY(integer("max_priority", q.max_priority));
    VIGIL_TRY(integer("sla_hours", q.sla_hours));
    if (const auto* node = t->get("open_to_all")) {
      auto v = node->value<bool>();
      if (!v || !node->is_boolean()) return Fail(ErrorCode::kInvalidArgument, at(*node) + "'open_to_all' must be true or false");
      q.open_to_all = *v;
    } else if (q.name == kDefaultQueue) {
      q.open_to_all = true;
    }
    if (q.name.empty()) return Fail(ErrorCode::kInvalidArgument, where + "every queue needs a 'name'");
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace policy
}  // namespace vigil
