// libFuzzer target for the policy rules file (`--rules`, POST /v1/rules/reload): TOML parsing and
// the checks of rules, categories, the strike policy and review queues; a file that parses is
// evaluated and routed once for a match and once for a classifier's scores alone (which must only
// ever hold), and its JSON (GET /v1/rules) rendered.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vigil/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = vigil::PolicyRules::Parse(text, "fuzz.toml");
  if (!rules) return 0;
  vigil::ContentFacts facts;
  facts.media_type = "image/jpeg";
  facts.matches.push_back({"bank", {"label"}, "ncii", "B1", "pdq", 10, 100});
  const auto outcome = rules->Evaluate(facts);
  // The queue an outcome names is one the file declares (or the default).
  if (rules->queues().Find(outcome.queue) == nullptr) __builtin_trap();
  // A classifier's scores alone never report, act on an account or notify: whatever the file says.
  vigil::ContentFacts scored;
  scored.media_type = "image/png";
  vigil::Classification c;
  c.classifier = "own";
  c.labels = {{"match", 1.0}, {"review_priority", 0.75}};
  scored.classifications.push_back(c);
  const auto by_score = rules->Evaluate(scored);
  if (by_score.Acts() && (!by_score.classifier_only || by_score.queue_report || by_score.notify ||
                          by_score.account != vigil::AccountAction::kNone || !by_score.hold)) {
    __builtin_trap();
  }
  if (rules->queues().Find(by_score.queue) == nullptr) __builtin_trap();
  (void)rules->ToJson();
  return 0;
}
