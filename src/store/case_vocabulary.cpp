// The case vocabulary's words (include/vigil/cases.h): verdicts and case statuses as the API and
// the database spell them.
#include "vigil/cases.h"

#include "util/named_enum.h"

namespace vigil {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kViolating: return "violating";
    case Verdict::kNotViolating: return "not_violating";
    case Verdict::kEscalate: return "escalate";
  }
  return "escalate";
}

Result<Verdict> ParseVerdict(std::string_view text) {
  static constexpr Verdict kAll[] = {Verdict::kViolating, Verdict::kNotViolating, Verdict::kEscalate};
  if (auto v = FindByName(text, kAll, &VerdictName)) return *v;
  return Fail(ErrorCode::kInvalidArgument, "verdict must be violating, not_violating or escalate");
}

const char* CaseStatusName(CaseStatus status) {
  switch (status) {
    case CaseStatus::kOpen: return "open";
    case CaseStatus::kInReview: return "in_review";
    case CaseStatus::kEscalated: return "escalated";
    case CaseStatus::kDecided: return "decided";
    case CaseStatus::kClosed: return "closed";
  }
  return "open";
}

Result<CaseStatus> ParseCaseStatus(std::string_view text) {
  static constexpr CaseStatus kAll[] = {CaseStatus::kOpen, CaseStatus::kInReview, CaseStatus::kEscalated,
                                        CaseStatus::kDecided, CaseStatus::kClosed};
  if (auto s = FindByName(text, kAll, &CaseStatusName)) return *s;
  return Fail(ErrorCode::kInvalidArgument, "status must be open, in_review, escalated, decided or closed");
}

}  // namespace vigil
