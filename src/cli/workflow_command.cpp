// `vigil audit verify|export` (the hash-chained audit log) and `vigil policy check|test` (a rules
// file validated, or dry-run over the stored matches: what each rule would have done).
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/store_options.h"
#include "vigil/cases.h"
#include "vigil/policy.h"

namespace vigil::cli {
namespace {

struct WorkflowArgs {
  StoreFlags store;
  std::string rules;
  bool json = false;
};

int RunPolicyTest(Store& store, const PolicyRules& rules, bool json) {
  std::map<std::string, std::int64_t> by_rule, by_action;
  std::int64_t uploads = 0, acted = 0;
  std::int64_t after = 0;
  for (;;) {
    auto page = store.ListMatchedContent(after, 1000);
    if (!page) return ReportError("policy test", page.error());
    if (page->empty()) break;
    for (const auto& content : *page) {
      after = content.id;
      ++uploads;
      // The same facts the service gives the policy when an upload is recorded.
      auto facts = store.Cases().PolicyFacts(content);
      if (!facts) return ReportError("policy test", facts.error());
      const PolicyOutcome outcome = rules.Evaluate(*facts);
      if (outcome.Acts()) ++acted;
      for (const auto& r : outcome.rules) ++by_rule[r];
      if (outcome.block) ++by_action["block"];
      if (outcome.hold) ++by_action["hold"];
      if (outcome.queue_report) ++by_action["queue_report"];
      if (outcome.account != AccountAction::kNone) ++by_action[AccountActionName(outcome.account)];
      if (outcome.notify) ++by_action["notify"];
    }
  }
  if (json) {
    boost::json::object rule_counts, action_counts;
    for (const auto& [k, v] : by_rule) rule_counts[k] = v;
    for (const auto& [k, v] : by_action) action_counts[k] = v;
    std::cout << boost::json::serialize(boost::json::object{{"uploads", uploads},
                                                            {"acted_on", acted},
                                                            {"rules", std::move(rule_counts)},
                                                            {"actions", std::move(action_counts)}})
              << "\n";
    return 0;
  }
  std::printf("%lld stored uploads with matches; the rules would act on %lld.\n\n", static_cast<long long>(uploads),
              static_cast<long long>(acted));
  std::printf("| rule | uploads it fires on |\n|---|---|\n");
  for (const auto& r : rules.rules()) std::printf("| %s | %lld |\n", r.name.c_str(), static_cast<long long>(by_rule[r.name]));
  std::printf("\n| action | uploads |\n|---|---|\n");
  for (const char* a : {"block", "hold", "queue_report", "restrict", "suspend", "notify"}) {
    std::printf("| %s | %lld |\n", a, static_cast<long long>(by_action[a]));
  }
  return 0;
}

}  // namespace

Action RegisterWorkflowCommands(CLI::App& app) {
  auto a = std::make_shared<WorkflowArgs>();
  CLI::App* audit = app.add_subcommand("audit", "Verify or export the hash-chained audit log");
  audit->require_subcommand(1);
  audit->fallthrough();
  AddStoreFlags(*audit, a->store);
  CLI::App* verify = audit->add_subcommand("verify", "Check every record against the chain; exit 1 and name the records on any break");
  CLI::App* exporter = audit->add_subcommand("export", "Every record as a JSON line, with its hashes");
  CLI::App* policy = app.add_subcommand("policy", "Check a rules file, or dry-run it over the stored matches");
  policy->require_subcommand(1);
  policy->fallthrough();
  CLI::App* check = policy->add_subcommand("check", "Validate a rules file (errors name the line and rule)");
  check->add_option("rules", a->rules, "Rules file (TOML)")->required();
  CLI::App* test = policy->add_subcommand("test", "What each rule would have done to the stored uploads (counts by rule and action)");
  test->add_option("rules", a->rules, "Rules file (TOML)")->required();
  test->add_flag("--json", a->json, "One JSON object instead of tables");
  AddStoreFlags(*test, a->store);
  return [=]() -> int {
    if (!audit->parsed() && !policy->parsed()) return -1;
    if (policy->parsed()) {
      auto rules = PolicyRules::Load(a->rules);
      if (!rules) return ReportError(check->parsed() ? "policy check" : "policy test", rules.error());
      if (check->parsed()) {
        const auto& strikes = rules->strikes();
        std::printf("%s: %zu rules, valid%s\n", a->rules.c_str(), rules->rules().size(),
                    strikes.enabled() ? ("; strikes: " + std::to_string(strikes.thresholds.size()) + " thresholds, half-life " +
                                         std::to_string(static_cast<long long>(strikes.half_life_days)) + " days")
                                            .c_str()
                                      : "");
        // The review queues, in routing order: where a case goes, and who works it.
        for (const auto& q : rules->queues().queues()) {
          std::string routes;
          auto add = [&](const char* what, const std::vector<std::string>& values) {
            if (values.empty()) return;
            std::string list;
            for (const auto& v : values) list += (list.empty() ? "" : ",") + v;
            routes += std::string(routes.empty() ? "" : " ") + what + "=" + list;
          };
          add("categories", q.categories);
          add("banks", q.banks);
          add("bank_labels", q.bank_labels);
          add("sources", q.sources);
          if (q.max_priority) routes += std::string(routes.empty() ? "" : " ") + "max_priority=" + std::to_string(*q.max_priority);
          std::printf("queue %s: %s; %s%s\n", q.name.c_str(), routes.empty() ? "every case no queue above takes" : routes.c_str(),
                      q.open_to_all ? "every reviewer" : "its members only",
                      q.sla_hours ? ("; due within " + std::to_string(*q.sla_hours) + " h").c_str() : "");
        }
        return 0;
      }
      auto store = OpenStoreOrReport(a->store, "policy test");
      if (!store) return 1;
      return RunPolicyTest(*store, *rules, a->json);
    }
    auto store = OpenStoreOrReport(a->store, "audit");
    if (!store) return 1;
    if (verify->parsed()) {
      std::int64_t records = 0;
      auto problems = store->Cases().VerifyAudit(&records);
      if (!problems) return ReportError("audit verify", problems.error());
      for (const auto& p : *problems) std::printf("%s\n", p.c_str());
      std::printf("%lld records: %s\n", static_cast<long long>(records), problems->empty() ? "the chain verifies" : "BROKEN");
      return problems->empty() ? 0 : 1;
    }
    (void)exporter;
    auto records = store->ListAudit(1'000'000);
    if (!records) return ReportError("audit export", records.error());
    for (auto it = records->rbegin(); it != records->rend(); ++it) {
      std::cout << boost::json::serialize(boost::json::object{{"id", it->id},
                                                              {"at", it->at},
                                                              {"actor", it->actor},
                                                              {"action", it->action},
                                                              {"target", it->target},
                                                              {"detail", it->detail}})
                << "\n";
    }
    return 0;
  };
}

}  // namespace vigil::cli
