// The report vocabulary's words (include/vigil/reports.h): report states, file states and the
// step in flight as the API and the database spell them.
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

namespace {
constexpr ReportedFileState kFileStates[] = {ReportedFileState::kPending, ReportedFileState::kUploaded,
                                             ReportedFileState::kDescribed};
using Step = InFlightStep::Kind;
constexpr Step kSteps[] = {Step::kSubmit, Step::kUpload, Step::kFileInfo, Step::kFinish, Step::kRetract, Step::kPreserve};

const char* StepWord(Step kind) {
  switch (kind) {
    case Step::kNone: return "";
    case Step::kSubmit: return "submit";
    case Step::kUpload: return "upload";
    case Step::kFileInfo: return "fileinfo";
    case Step::kFinish: return "finish";
    case Step::kRetract: return "retract";
    case Step::kPreserve: return "preserve";
  }
  return "";
}

bool NamesAFile(Step kind) { return kind == Step::kUpload || kind == Step::kFileInfo; }
}  // namespace

const char* ReportedFileStateName(ReportedFileState state) {
  switch (state) {
    case ReportedFileState::kPending: return "pending";
    case ReportedFileState::kUploaded: return "uploaded";
    case ReportedFileState::kDescribed: return "described";
  }
  return "pending";
}

Result<ReportedFileState> ParseReportedFileState(std::string_view text) {
  if (auto s = FindByName(text, kFileStates, &ReportedFileStateName)) return *s;
  return Fail(ErrorCode::kInvalidArgument,
              "unknown reported file state '" + std::string(text.substr(0, 40)) + "' (pending, uploaded or described)");
}

std::string InFlightStepName(const InFlightStep& step) {
  std::string word = StepWord(step.kind);
  if (NamesAFile(step.kind)) word += ":" + step.content_id;
  return word;
}

Result<InFlightStep> ParseInFlightStep(std::string_view text) {
  if (text.empty()) return InFlightStep{};
  const auto colon = text.find(':');
  const std::string_view word = text.substr(0, colon);
  const auto kind = FindByName(word, kSteps, &StepWord);
  const bool names_a_file = kind && NamesAFile(*kind);
  if (kind && names_a_file == (colon != std::string_view::npos) && (!names_a_file || colon + 1 < text.size())) {
    return InFlightStep::Of(*kind, names_a_file ? std::string(text.substr(colon + 1)) : std::string());
  }
  return Fail(ErrorCode::kInvalidArgument, "unknown step in flight '" + std::string(text.substr(0, 80)) +
                                               "' (submit, upload:<content>, fileinfo:<content>, finish, retract or "
                                               "preserve)");
}

bool IsSettled(ReportState state) {
  return state == ReportState::kFiled || state == ReportState::kRetracted || state == ReportState::kFailed;
}

}  // namespace vigil
