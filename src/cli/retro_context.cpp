// The CLI's retroactive matching context (see retro_context.h).
#include "cli/retro_context.h"

#include "vigil/clock.h"
#include "vigil/file_hasher.h"
#include "vigil/policy.h"

namespace vigil::cli {
namespace {

UploadWorkflowOptions WorkflowOptionsFor(const std::string& actor) {
  UploadWorkflowOptions options;
  options.actor = actor;
  return options;
}

PastUploadIndexOptions IndexOptionsFor(int window_days) {
  PastUploadIndexOptions options;
  options.window_days = window_days;
  return options;
}

}  // namespace

RetroContext::RetroContext(Store& store, int window_days, const std::string& actor)
    : matcher(store),
      workflow(store.Cases(), matcher, MediaHasher{}, nullptr, WorkflowOptionsFor(actor)),
      index(store, SystemClock(), IndexOptionsFor(window_days)),
      retro(store, index, workflow, SystemClock(), window_days) {}

Result<std::unique_ptr<RetroContext>> LoadRetro(Store& store, int window_days, const std::string& rules,
                                                const std::string& actor) {
  auto context = std::make_unique<RetroContext>(store, window_days, actor);
  VIGIL_TRY(context->matcher.Load());
  if (!rules.empty()) {
    VIGIL_ASSIGN_OR_RETURN(auto loaded, PolicyRules::Load(rules));
    context->workflow.SetRules(std::make_shared<const PolicyRules>(std::move(loaded)));
  }
  VIGIL_TRY(context->index.Load());
  return context;
}

}  // namespace vigil::cli
