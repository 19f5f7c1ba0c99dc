// The case vocabulary's words (include/vigil/cases.h): verdicts as the API and the database spell
// them.
#include "vigil/cases.h"

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
  for (Verdict v : {Verdict::kViolating, Verdict::kNotViolating, Verdict::kEscalate}) {
    if (text == VerdictName(v)) return v;
  }
  return Fail(ErrorCode::kInvalidArgument, "verdict must be violating, not_violating or escalate");
}

}  // namespace vigil
