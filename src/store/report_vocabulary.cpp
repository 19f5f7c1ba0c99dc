// The report vocabulary's words (include/vigil/reports.h): report states as the API and the
// database spell them.
#include "vigil/reports.h"

#include "util/named_enum.h"

namespace vigil {

namespace {
constexpr ReportState kAll[] = {ReportState::kDraft,     ReportState::kApproved, ReportState::kOpen,  ReportState::kFiled,
                                ReportState::kRetracted, ReportState::kFailed,   ReportState::kVoided};
}  // namespace

const char* ReportStateName(ReportState state) {
  switch (state) {
    case ReportState::kDraft: return "draft";
    case ReportState::kApproved: return "approved";
    case ReportState::kOpen: return "open";
    case ReportState::kFiled: return "filed";
    case ReportState::kRetracted: return "retracted";
    case ReportState::kFailed: return "failed";
    case ReportState::kVoided: return "voided";
  }
  return "draft";
}

Result<ReportState> ParseReportState(std::string_view text) {
  if (auto s = FindByName(text, kAll, &ReportStateName)) return *s;
  return Fail(ErrorCode::kInvalidArgument,
              "unknown report state '" + std::string(text.substr(0, 40)) +
                  "' (draft, approved, open, filed, retracted, failed or voided)");
}

bool IsSettled(ReportState state) {
  return state == ReportState::kFiled || state == ReportState::kRetracted || state == ReportState::kFailed;
}

}  // namespace vigil
