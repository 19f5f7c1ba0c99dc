// Files CyberTipline reports: builds one from a decided case (one report per user per incident:
// the case holds every item of the user's incident), holds it for the approval the policy requires,
// then drives NCMEC's lifecycle submit -> upload (each file) -> fileinfo (each file) -> finish,
// persisting the report's state before and after every request.
//
// Never filing twice, never losing one: the request about to go out is recorded first
// (`in_flight`), so after a crash File() knows what it cannot know the outcome of and resolves it:
//   submit    maybe opened an orphan that NCMEC deletes unfinished: submit again;
//   upload    the open report may hold the file or not: retract it and start a new submission;
//   fileinfo  idempotent: send again;
//   finish    idempotent: send again (5102 "already finished" means it was filed);
//   retract   idempotent: send again (5101 "already retracted").
// Updates are compare-and-set on the report's version, so two processes cannot both drive it.
// Preserves the report (XML, media, the case's context) in the evidence vault when it is filed:
// the filed state is saved with `preserve` in flight, cleared once the vault holds it all.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vigil/clock.h"
#include "vigil/cybertip.h"
#include "vigil/cybertip_client.h"
#include "vigil/evidence_vault.h"
#include "vigil/reports.h"
#include "vigil/store.h"

namespace vigil {

struct FilerOptions {
  ReporterProfile reporter;
  std::string media_dir;  // where uploads kept for review live (by SHA-256)
  std::string xsd_path;   // NCMEC's schema, when the operator has downloaded it: every report is checked
  // "separate": a person must approve the report itself (the default); "decision": the human
  // reviewer's violating decision on the case is the approval. Never without a person.
  std::string approval = "separate";
  int max_steps = 64;  // requests per File() call, a bound against loops on a misbehaving server
  const Clock* clock = nullptr;  // the store's clock (for ResumeAll's grace); nullptr: the system clock
};

// A report as it will be sent, for the person who approves it.
struct ReportPreview {
  std::string report_xml;  // the <report> document for /submit, exactly
  // The <fileDetails> document for /fileinfo of each file (NCMEC's ids shown as "(assigned by
  // NCMEC)" until it has assigned them).
  std::vector<std::pair<std::string, std::string>> file_details;
  std::string problem;  // why it would not be filed as it stands ("" when it would)
};

class ReportFiler {
 public:
  // `vault` may be null only in tools that do not file (drafting, listing).
  ReportFiler(Store& store, CyberTipClient& client, EvidenceVault* vault, FilerOptions options);

  // Builds and validates the report for a case decided violating; a draft (or, with approval
  // "decision", approved at once). kAlreadyExists when the case already has a live report.
  Result<CyberTipReport> Draft(std::int64_t case_id, const std::string& actor);
  // What the report and each file's details say, exactly as they would be sent.
  Result<ReportPreview> Preview(std::int64_t report_id);
  // Records a person's approval, after checking the case still says what the draft says (an
  // appeal or a correction since voids it: kInvalidArgument with the reason).
  Result<CyberTipReport> Approve(std::int64_t report_id, const std::string& approver);
  // Drives the report as far as it can go now: filed, or back with the reason it stopped (the
  // report's state says where; calling again resumes). A failed report (NCMEC refused its
  // content, or what NCMEC received kept differing from what was sent; `last_error` says which)
  // is started over: a person filing it again has dealt with the cause. ResumeAll never does that.
  Result<CyberTipReport> File(std::int64_t report_id, const std::string& actor);
  // Withdraws a report that is not filed yet.
  Result<CyberTipReport> Retract(std::int64_t report_id, const std::string& actor, const std::string& reason);
  // File() on every report with work left (approved, open, or a filed one whose preservation was
  // interrupted), oldest first. A report whose request went out less than `in_flight_grace` ago
  // is left alone: another process may be waiting for its answer (0: the caller knows no other
  // process is filing, as after a crash). Returns how many it filed.
  // `keep_going` is asked before each report (a service shutting down stops between reports).
  // A pass stops at the first report NCMEC did not answer at all (unreachable).
  Result<int> ResumeAll(const std::string& actor, std::chrono::seconds in_flight_grace = std::chrono::seconds{0},
                        const std::function<bool()>& keep_going = {});

 private:
  class Run;
  class Claim;
  Result<CyberTipReport> FileOnce(std::int64_t report_id, const std::string& actor, bool restart_failed);
  Result<ReportDraft> BuildDraft(std::int64_t case_id);
  // The report's document as the case reads now; an error when the case has nothing to report any
  // more or its reportable files changed.
  Result<std::string> CurrentXml(const CyberTipReport& report);
  Store& store_;
  CyberTipClient& client_;
  EvidenceVault* vault_;
  FilerOptions options_;
  // Reports being driven in this process (the API and the background filer share one filer); other
  // processes are kept apart by the report's version (compare-and-set).
  std::mutex active_mu_;
  std::set<std::int64_t> active_;
};

}  // namespace vigil
