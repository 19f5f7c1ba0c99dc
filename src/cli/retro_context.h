// What the CLI's retroactive paths (`vigil import --retroactive-days`, `vigil bank sweep`,
// `vigil bundle import --retroactive-days`) share with the service: the matcher loaded (the
// allow-lists are checked through it: an upload on one has its late matches suppressed), the
// rules, and the index of the window's past uploads. Not thread-safe: one command's.
#pragma once

#include <memory>
#include <string>

#include "match/past_upload_index.h"
#include "vigil/matcher.h"
#include "vigil/store.h"
#include "workflow/retro_matcher.h"
#include "workflow/upload_workflow.h"

namespace vigil::cli {

struct RetroContext {
  RetroContext(Store& store, int window_days, const std::string& actor);
  Matcher matcher;
  UploadWorkflow workflow;
  PastUploadIndex index;
  RetroMatcher retro;
};

// Loaded: the matcher, the rules (a file; "" for none) and the index of `window_days` of uploads.
Result<std::unique_ptr<RetroContext>> LoadRetro(Store& store, int window_days, const std::string& rules,
                                                const std::string& actor);

}  // namespace vigil::cli
