// Reports follow their case (see report_follow.h).
#include "store/report_follow.h"

#include "store/audit_chain.h"

namespace vigil::store {

Result<bool> CaseReportable(SqlConnection& db, std::int64_t case_id) {
  auto decided = db.Query(
      "SELECT c.status, (SELECT d.verdict FROM decisions d WHERE d.case_id = c.id AND d.verdict <> 'escalate' "
      "ORDER BY d.id DESC LIMIT 1), (SELECT d.cybertip FROM decisions d WHERE d.case_id = c.id AND d.verdict <> "
      "'escalate' ORDER BY d.id DESC LIMIT 1) FROM cases c WHERE c.id = $1",
      {case_id});
  if (!decided) return tl::unexpected(decided.error());
  if (decided->empty()) return Fail(ErrorCode::kNotFound, "no case " + std::to_string(case_id));
  const auto& row = decided->front();
  if ((row.Text(0) != "decided" && row.Text(0) != "closed") || row.Text(1) != "violating" || row.OptInt(2).value_or(0) == 0) {
    return false;
  }
  auto left = db.Query(
      "SELECT COUNT(*) FROM case_items i JOIN content t ON t.id = i.content_row WHERE i.case_id = $1 AND "
      "t.state <> 'restored'",
      {case_id});
  if (!left) return tl::unexpected(left.error());
  return left->front().Int(0) > 0;
}

Result<int> FollowCase(SqlConnection& db, std::int64_t case_id, std::int64_t now, const std::string& actor,
                       const std::string& why) {
  VIGIL_ASSIGN_OR_RETURN(auto reportable, CaseReportable(db, case_id));
  // Nothing left to report: nothing stands in the way of reporting it either.
  if (!reportable) VIGIL_TRY(db.Execute("UPDATE cases SET report_problem = '' WHERE id = $1", {case_id}));
  auto reports = db.Query(
      "SELECT id, state, withdraw_reason FROM reports WHERE case_id = $1 AND state NOT IN ('retracted', 'voided', "
      "'failed') ORDER BY id",
      {case_id});
  if (!reports) return tl::unexpected(reports.error());
  int changed = 0;
  for (const auto& r : *reports) {
    const std::int64_t id = r.Int(0);
    const std::string state = r.Text(1);
    if (!r.Text(2).empty()) continue;  // withdrawn already
    auto restored = db.Query(
        "SELECT f.content_id FROM report_files f JOIN content t ON t.content_id = f.content_id WHERE f.report_id = $1 "
        "AND t.state = 'restored' ORDER BY f.position",
        {id});
    if (!restored) return tl::unexpected(restored.error());
    std::string reason;
    if (!reportable) {
      reason = why + ": the case has nothing left to report";
    } else if (!restored->empty()) {
      reason = why + ": " + restored->front().Text(0) + (restored->size() > 1 ? " and others" : "") +
               " of this report were restored; the rest must be reported afresh";
    } else {
      continue;
    }
    if (state == "draft" || state == "approved") {
      VIGIL_TRY(db.Execute("UPDATE reports SET state = 'voided', withdraw_reason = $1, version = version + 1, "
                           "updated_at = $2 WHERE id = $3",
                           {reason, now, id}));
      VIGIL_TRY(AppendAudit(db, now, actor, "report.void", std::to_string(id), reason));
    } else if (state == "open") {
      VIGIL_TRY(db.Execute("UPDATE reports SET withdraw_reason = $1, version = version + 1, updated_at = $2 WHERE id = $3",
                           {reason, now, id}));
      VIGIL_TRY(AppendAudit(db, now, actor, "report.withdraw", std::to_string(id), reason + " (to be retracted at NCMEC)"));
    } else if (state == "filed") {
      const std::string followup = reason + " after the report was filed: tell NCMEC through the CyberTipline's channels";
      VIGIL_TRY(db.Execute("UPDATE reports SET withdraw_reason = $1, updated_at = $2 WHERE id = $3", {followup, now, id}));
      VIGIL_TRY(AppendAudit(db, now, actor, "report.followup", std::to_string(id), followup));
    } else {
      continue;
    }
    ++changed;
  }
  return changed;
}

}  // namespace vigil::store
