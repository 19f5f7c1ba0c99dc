// The CyberTipline filing state machine (see include/vigil/report_filer.h).
#include "vigil/report_filer.h"


#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <set>

#include "store/media_store.h"
#include "util/failpoint.h"
#include "vigil/case_evidence.h"
#include "vigil/cases.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"
#include "vigil/upload_metadata.h"

namespace vigil {
namespace {

std::string Extension(const std::string& media_type) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"image/jpeg", ".jpg"}, {"image/png", ".png"}, {"image/gif", ".gif"}, {"image/webp", ".webp"},
      {"image/bmp", ".bmp"},  {"image/tiff", ".tif"}, {"image/heic", ".heic"}, {"video/mp4", ".mp4"},
      {"video/webm", ".webm"}, {"video/quicktime", ".mov"}, {"video/x-matroska", ".mkv"}};
  for (const auto& [type, ext] : kTypes) {
    if (media_type == type) return ext;
  }
  return ".bin";
}

bool IsAuthCode(int code) { return code == 2000 || code == 3000 || code == 3100 || code == 3300; }
bool IsRefusal(int code) { return code >= 4000 && code < 5000; }

using Step = InFlightStep::Kind;

}  // namespace

// One File() call: the report as last persisted, and the steps taken.
class ReportFiler::Run {
 public:
  Run(ReportFiler& filer, CyberTipReport report, std::string actor)
      : f_(filer), r_(std::move(report)), actor_(std::move(actor)) {}

  Result<CyberTipReport> Go() {
    auto done = Drive();
    if (!done) {
      // Never silent: whatever stopped it (ours, not NCMEC's) is on the report for people to see.
      const std::string message = done.error().message;
      auto fresh = f_.store_.Reports().GetReport(r_.id);
      if (fresh && fresh->last_error != message) {
        r_ = std::move(*fresh);
        r_.last_error = message;
        (void)Save("report.stalled", message);
      }
    }
    return done;
  }

  Result<CyberTipReport> Drive() {
    if (!r_.withdraw_reason.empty() && !IsSettled(r_.state) && r_.state != ReportState::kVoided) {
      return Withdraw(r_.withdraw_reason);
    }
    for (int step = 0; step < f_.options_.max_steps; ++step) {
      if (r_.state == ReportState::kFiled) {
        if (r_.in_flight.kind == Step::kPreserve) VIGIL_TRY(Preserve());
        return r_;
      }
      if (IsSettled(r_.state) || r_.state == ReportState::kVoided) return r_;
      if (r_.state == ReportState::kDraft) {
        return Fail(ErrorCode::kPermissionDenied, "report " + Id() + " is waiting for approval");
      }
      bool more = true;
      if (!r_.in_flight.empty()) {
        VIGIL_TRY(ResolveInFlight(more));
      } else if (r_.state == ReportState::kApproved) {
        VIGIL_TRY(Submit(more));
      } else if (r_.state == ReportState::kOpen) {
        VIGIL_TRY(Advance(more));
      } else {
        return Fail(ErrorCode::kInternal, "report " + Id() + " is in an unknown state '" + ReportStateName(r_.state) + "'");
      }
      if (!more) return r_;
    }
    return Fail(ErrorCode::kInternal, "report " + Id() + ": gave up after " + std::to_string(f_.options_.max_steps) +
                                          " requests without finishing");
  }

  // The report's case changed under it: nothing sent yet -> voided; open at NCMEC -> retracted.
  Result<CyberTipReport> Withdraw(const std::string& reason) {
    r_.withdraw_reason = reason;
    if (r_.ncmec_report_id.empty() && r_.in_flight.empty()) {
      r_.state = ReportState::kVoided;
      VIGIL_TRY(Save("report.void", reason));
      return r_;
    }
    return RetractNow(reason);
  }

  // A person files a failed report again (after dealing with why NCMEC refused it, or why what
  // it received differed from what was sent): it starts over as approved, its NCMEC submission
  // and its attempts forgotten. The case is checked again before anything is sent (Submit).
  Result<CyberTipReport> Restart() {
    if (r_.state != ReportState::kFailed || !r_.in_flight.empty()) return Go();
    const std::string why = "filed again by " + actor_ + " after it failed" +
                            (r_.last_error.empty() ? std::string() : ": " + r_.last_error);
    r_.attempts = 0;
    VIGIL_TRY(Reopen(why, "report.refile"));
    return Go();
  }

  Result<CyberTipReport> RetractNow(const std::string& reason) {
    if (r_.state == ReportState::kFiled) return Fail(ErrorCode::kInvalidArgument, "report " + Id() + " is filed: it cannot be retracted");
    if (r_.state == ReportState::kRetracted) return r_;
    if (!r_.ncmec_report_id.empty()) {
      bool more = true;
      VIGIL_TRY(SendRetract(more, ReportState::kRetracted, reason));
      if (r_.state != ReportState::kRetracted) return Fail(ErrorCode::kUnavailable, "report " + Id() + ": " + r_.last_error);
      return r_;
    }
    r_.state = ReportState::kRetracted;
    VIGIL_TRY(Save("report.retract", reason));
    return r_;
  }

 private:
  std::string Id() const { return std::to_string(r_.id); }

  Status Save(const std::string& action, const std::string& detail) {
    VIGIL_ASSIGN_OR_RETURN(auto saved, f_.store_.Reports().UpdateReport(r_, actor_, action, detail));
    r_ = std::move(saved);
    return {};
  }

  // Records the request about to go out.
  Status Intend(InFlightStep step) {
    const std::string word = InFlightStepName(step);
    r_.in_flight = std::move(step);
    VIGIL_TRY(Save("report.send", word));
    FailPoint("report.before_" + word.substr(0, word.find(':')));
    return {};
  }

  void Answered(const std::string& word) { FailPoint("report.after_" + word.substr(0, word.find(':'))); }

  // Takes a request's outcome. Returns true when NCMEC accepted it; otherwise the report holds
  // why, and `more` says whether to go on now.
  Result<bool> Outcome(const Result<CyberTipResponse>& answer, const InFlightStep& sent, bool& more) {
    const std::string step = InFlightStepName(sent);
    Answered(step);
    if (!answer) {
      r_.last_code = -1;
      r_.last_error = step + ": " + answer.error().message;
      // Sent without an answer: the outcome is unknown, in_flight stays for the next run.
      if (answer.error().code != ErrorCode::kIoError) r_.in_flight.clear();
      more = false;
      VIGIL_TRY(Save("report.stalled", r_.last_error));
      return false;
    }
    r_.last_code = answer->code;
    r_.last_request_id = answer->request_id;
    if (answer->code == 0) {
      r_.last_error.clear();
      return true;
    }
    r_.last_error = step + ": NCMEC " + std::to_string(answer->code) + " " + answer->description;
    r_.in_flight.clear();
    if (answer->code == 5102) {  // already finished: it is filed, whatever we thought
      r_.state = ReportState::kFiled;
      r_.in_flight = InFlightStep::Of(Step::kPreserve);
      VIGIL_TRY(Save("report.filed", "NCMEC says it was finished already"));
      more = true;
      return false;
    }
    if (answer->code == 5001 || answer->code == 5101) {  // NCMEC no longer has it open: start over
      VIGIL_TRY(Reopen("NCMEC " + std::to_string(answer->code) + " " + answer->description));
      return false;
    }
    if (IsRefusal(answer->code)) {  // NCMEC refused the content of the report: a person must look
      more = true;
      if (!r_.ncmec_report_id.empty()) {
        VIGIL_TRY(SendRetract(more, ReportState::kFailed, r_.last_error));
      } else {
        r_.state = ReportState::kFailed;
        VIGIL_TRY(Save("report.failed", r_.last_error));
      }
      more = false;
      return false;
    }
    // Transient after the client's retries, or credentials: stop here, resume later.
    more = false;
    VIGIL_TRY(Save(IsAuthCode(answer->code) ? "report.unauthorised" : "report.stalled", r_.last_error));
    return false;
  }

  // Forget NCMEC's report: the next step submits a new one. `event`: report.reopen when the
  // filer starts over by itself, report.refile when a person files a failed report again.
  Status Reopen(const std::string& why, const char* event = "report.reopen") {
    r_.state = ReportState::kApproved;
    r_.in_flight.clear();
    r_.ncmec_report_id.clear();
    for (auto& file : r_.files) file = {file.content_id, file.sha256, ReportedFileState::kPending, "", ""};
    return Save(event, why);
  }

  Status SendRetract(bool& more, ReportState final_state, const std::string& reason) {
    VIGIL_TRY(Intend(InFlightStep::Of(Step::kRetract)));
    auto answer = f_.client_.Retract(r_.ncmec_report_id);
    Answered("retract");
    if (answer && (answer->code == 0 || answer->code == 5101 || answer->code == 5001)) {
      r_.in_flight.clear();
      r_.last_code = answer->code;
      if (final_state == ReportState::kApproved) return Reopen("retracted NCMEC report " + r_.ncmec_report_id + ": " + reason);
      r_.state = final_state;
      if (final_state == ReportState::kFailed) r_.last_error = reason;  // why it failed, where people look
      return Save(final_state == ReportState::kFailed ? "report.failed" : "report.retract", reason);
    }
    bool ignored = false;
    VIGIL_TRY(Outcome(answer, InFlightStep::Of(Step::kRetract), ignored));
    more = false;
    return {};
  }

  Status ResolveInFlight(bool& more) {
    const InFlightStep step = r_.in_flight;
    switch (step.kind) {
      case Step::kNone: return {};
      case Step::kSubmit:
        // It may have opened a report that we never heard of: unfinished, NCMEC deletes it.
        r_.in_flight.clear();
        r_.ncmec_report_id.clear();
        return Save("report.resume", "a submit's outcome was lost; any report it opened stays unfinished and expires");
      case Step::kUpload:
        return SendRetract(more, ReportState::kApproved, "an upload's outcome was lost; starting a new submission");
      case Step::kFileInfo: return Describe(step.content_id, more);
      case Step::kFinish: return Finish(more);
      case Step::kRetract:
        return SendRetract(more, r_.state == ReportState::kFailed ? ReportState::kFailed : ReportState::kRetracted,
                           "resumed");
      case Step::kPreserve: break;  // only a filed report preserves (Drive)
    }
    return Fail(ErrorCode::kInternal, "report " + Id() + ": unknown step in flight '" + InFlightStepName(step) + "'");
  }

  Status Submit(bool& more) {
    // The case as it stands now, before the first request leaves: an appeal or a correction since
    // the draft was made voids it instead of sending what is no longer true.
    auto current = f_.CurrentXml(r_);
    if (!current) {
      r_.withdraw_reason = current.error().message;
      r_.state = ReportState::kVoided;
      VIGIL_TRY(Save("report.void", r_.withdraw_reason));
      more = false;
      return Fail(ErrorCode::kInvalidArgument, "report " + Id() + " voided: " + r_.withdraw_reason);
    }
    if (*current != r_.report_xml) {
      // The same files; newer facts of the account (a notification, a later suspension).
      r_.report_xml = std::move(*current);
      VIGIL_TRY(Save("report.refresh", "the case's facts changed since approval; same files"));
    }
    if (!f_.options_.xsd_path.empty()) VIGIL_TRY(ValidateAgainstSchema(r_.report_xml, f_.options_.xsd_path));
    VIGIL_TRY(Intend(InFlightStep::Of(Step::kSubmit)));
    auto answer = f_.client_.Submit(r_.report_xml);
    VIGIL_ASSIGN_OR_RETURN(auto ok, Outcome(answer, InFlightStep::Of(Step::kSubmit), more));
    if (!ok) return {};
    if (answer->report_id.empty()) return Fail(ErrorCode::kCorrupt, "NCMEC opened a report without a reportId");
    r_.state = ReportState::kOpen;
    r_.in_flight.clear();
    r_.ncmec_report_id = answer->report_id;
    ++r_.attempts;
    return Save("report.open", "NCMEC report " + answer->report_id);
  }

  ReportedFile* FindFile(const std::string& content_id) {
    for (auto& file : r_.files) {
      if (file.content_id == content_id) return &file;
    }
    return nullptr;
  }

  Status Advance(bool& more) {
    for (auto& file : r_.files) {
      if (file.state == ReportedFileState::kPending) return Upload(file.content_id, more);
      if (file.state == ReportedFileState::kUploaded) return Describe(file.content_id, more);
    }
    return Finish(more);
  }

  Status Upload(std::string content_id, bool& more) {  // by value: Save() replaces r_.files
    ReportedFile* file = FindFile(content_id);
    VIGIL_ASSIGN_OR_RETURN(auto content, f_.store_.GetContent(content_id));
    auto bytes = OpenMediaDirectory(f_.options_.media_dir)->Read(file->sha256);
    if (!bytes) return Fail(bytes.error().code, "report " + Id() + ": the media of " + content_id + " is gone: " +
                                                    bytes.error().message);
    const std::string data(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    const std::string md5 = ComputeDigests(*bytes).md5;
    VIGIL_TRY(Intend(InFlightStep::Of(Step::kUpload, content_id)));
    auto answer = f_.client_.Upload(r_.ncmec_report_id, content_id + Extension(content.media_type), data);
    VIGIL_ASSIGN_OR_RETURN(auto ok, Outcome(answer, InFlightStep::Of(Step::kUpload, content_id), more));
    if (!ok) return {};
    file = FindFile(content_id);
    if (!answer->hash.empty() && answer->hash != md5) {
      // What NCMEC holds is not what we sent: this submission cannot be trusted.
      r_.in_flight = InFlightStep::Of(Step::kUpload, content_id);
      return SendRetract(more, r_.attempts >= 3 ? ReportState::kFailed : ReportState::kApproved,
                         "NCMEC's MD5 of " + content_id + " is " + answer->hash + ", ours " + md5);
    }
    file->state = ReportedFileState::kUploaded;
    file->ncmec_file_id = answer->file_id;
    file->ncmec_md5 = answer->hash;
    r_.in_flight.clear();
    return Save("report.upload", content_id + " as file " + answer->file_id);
  }

  Status Describe(std::string content_id, bool& more) {
    ReportedFile* file = FindFile(content_id);
    if (file == nullptr) return Fail(ErrorCode::kInternal, "report " + Id() + " has no file " + content_id);
    if (!draft_) {  // built once per run, not once per file
      VIGIL_ASSIGN_OR_RETURN(auto built, f_.BuildDraft(r_.case_id));
      draft_ = std::move(built);
    }
    const ReportFile* details = nullptr;
    for (const auto& d : draft_->files) {
      if (d.content_id == content_id) details = &d;
    }
    if (details == nullptr) return Fail(ErrorCode::kInternal, "report " + Id() + ": " + content_id + " left the case");
    VIGIL_ASSIGN_OR_RETURN(auto xml, BuildFileDetailsXml(r_.ncmec_report_id, file->ncmec_file_id, *details, f_.options_.reporter));
    VIGIL_TRY(Intend(InFlightStep::Of(Step::kFileInfo, content_id)));
    auto answer = f_.client_.FileInfo(xml);
    VIGIL_ASSIGN_OR_RETURN(auto ok, Outcome(answer, InFlightStep::Of(Step::kFileInfo, content_id), more));
    if (!ok) return {};
    FindFile(content_id)->state = ReportedFileState::kDescribed;
    r_.in_flight.clear();
    return Save("report.fileinfo", content_id);
  }

  Status Finish(bool& more) {
    if (r_.approved_by.empty() || !r_.approved_at) {
      return Fail(ErrorCode::kPermissionDenied, "report " + Id() + " has no recorded approval: it cannot be finished");
    }
    VIGIL_TRY(Intend(InFlightStep::Of(Step::kFinish)));
    auto answer = f_.client_.Finish(r_.ncmec_report_id);
    VIGIL_ASSIGN_OR_RETURN(auto ok, Outcome(answer, InFlightStep::Of(Step::kFinish), more));
    if (!ok) return {};
    r_.state = ReportState::kFiled;
    r_.in_flight = InFlightStep::Of(Step::kPreserve);
    return Save("report.filed", "NCMEC report " + r_.ncmec_report_id);
  }

  // The filed report, its media and the case's context into the vault, held a year from filing.
  Status Preserve() {
    if (f_.vault_ == nullptr) {
      if (r_.last_error.empty()) {
        r_.last_error = "filed; not preserved yet: the evidence vault is not configured";
        VIGIL_TRY(Save("report.preserve_pending", r_.last_error));
      }
      return {};
    }
    auto preserved = PreserveCaseEvidence(f_.store_, *f_.vault_, f_.options_.media_dir, r_.case_id, r_.id,
                                          r_.report_xml, actor_);
    if (!preserved) return tl::unexpected(preserved.error());
    // Everything of the case is held for the retention period from the report, at least.
    const std::int64_t until = r_.filed_at.value_or(r_.updated_at) + f_.vault_->retention_days() * std::int64_t{86'400'000'000};
    VIGIL_TRY(f_.store_.Reports().ExtendHold(r_.case_id, until, actor_, "report " + Id() + " filed"));
    r_.in_flight.clear();
    r_.last_error.clear();
    return Save("report.preserved", "case " + std::to_string(r_.case_id));
  }

  ReportFiler& f_;
  CyberTipReport r_;
  std::string actor_;
  std::optional<ReportDraft> draft_;  // the case's facts for fileinfo, read on first use
};

ReportFiler::ReportFiler(Store& store, CyberTipClient& client, EvidenceVault* vault, FilerOptions options)
    : store_(store), client_(client), vault_(vault), options_(std::move(options)) {}

Result<ReportDraft> ReportFiler::BuildDraft(std::int64_t case_id) {
  VIGIL_ASSIGN_OR_RETURN(auto c, store_.Cases().GetCase(case_id));
  const Decision* violating = nullptr;  // the final decision (the last that is not an escalation)
  for (const auto& d : c.decisions) {
    if (d.verdict != Verdict::kEscalate) violating = &d;
  }
  if (c.status != CaseStatus::kDecided && c.status != CaseStatus::kClosed) {
    return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " is " + CaseStatusName(c.status) +
                                                 ": only a decided case is reported");
  }
  if (violating == nullptr || violating->verdict != Verdict::kViolating) {
    return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " was not decided violating");
  }
  if (!violating->cybertip) {
    return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " was decided in category '" +
                                                 violating->category + "', which is not reported to NCMEC");
  }
  std::set<std::string> viewed;
  for (const auto& d : c.decisions) viewed.insert(d.viewed.begin(), d.viewed.end());
  ReportDraft draft;
  draft.user.esp_identifier = c.user_id;
  const std::string classification = violating->classification;
  for (const auto& item : c.items) {
    if (item.state == "restored") continue;  // cleared on appeal: not part of the incident
    VIGIL_ASSIGN_OR_RETURN(auto content, store_.GetContent(item.content_id));
    if (!item.has_media) {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + ": the media of " + item.content_id +
                                                   " was not kept, so it cannot be reported with the file");
    }
    // Checked when the upload arrived; a record from before that check reads as no metadata.
    const UploadMetadata meta = ParseUploadMetadata(content.metadata_json).value_or(UploadMetadata{});
    ReportFile file;
    file.content_id = content.content_id;
    file.file_name = meta.file_name;
    if (file.file_name.empty()) file.file_name = content.content_id + Extension(content.media_type);
    file.media_type = content.media_type;
    file.uploaded_at = content.submitted_at;
    auto hash = [&](const char* type) {
      auto it = content.hashes.find(type);
      return it == content.hashes.end() ? std::string() : it->second;
    };
    file.md5 = hash("md5");
    file.sha1 = hash("sha1");
    file.sha256 = hash("sha256");
    file.viewed_by_esp = viewed.count(content.content_id) > 0;
    if (meta.publicly_available) file.publicly_available = *meta.publicly_available;
    const auto labelled = violating->file_classifications.find(content.content_id);
    file.classification = labelled != violating->file_classifications.end() ? labelled->second : classification;
    // The upload's IP: "ip" (an upload event at the upload's time), or "ip_event": {"ip", "event",
    // "at" (ISO 8601, optional)} for another event the platform recorded.
    if (!meta.ip.empty()) {
      file.upload_ip = IpEvent{meta.ip, "Upload", content.submitted_at};
      draft.user.ip_events.push_back(*file.upload_ip);
    }
    if (meta.ip_event) {
      const IpEvent captured{meta.ip_event->ip, meta.ip_event->event, meta.ip_event->at.value_or(content.submitted_at)};
      if (!file.upload_ip && captured.event == "Upload") file.upload_ip = captured;
      draft.user.ip_events.push_back(captured);
    }
    if (draft.user.screen_name.empty()) draft.user.screen_name = meta.screen_name;
    if (draft.incident_at == 0 || content.submitted_at < draft.incident_at) draft.incident_at = content.submitted_at;
    draft.files.push_back(std::move(file));
  }
  if (draft.files.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " has no item left to report");
  }
  // The account's disablement from the enforcement records: the FIRST time it was disabled (of each
  // kind), the first notification of a disablement (never before the first disablement), and a
  // re-enabling only when it came after the last disablement.
  VIGIL_ASSIGN_OR_RETURN(auto actions, store_.Cases().ListActions(c.user_id));
  std::int64_t last_disabled = 0;
  std::optional<std::int64_t> reenabled;
  for (const auto& a : actions) {
    if (a.kind == "suspend_account" || a.kind == "ban_account") {
      const bool permanent = a.kind == "ban_account" || !a.until;
      auto& first = permanent ? draft.user.permanently_disabled_at : draft.user.temporarily_disabled_at;
      auto& told = permanent ? draft.user.permanently_notified_at : draft.user.temporarily_notified_at;
      if (!first || a.created_at < *first) first = a.created_at;
      // Each disablement's own notification comes at or after it; the first one of this kind.
      if (a.notified_at && (!told || *a.notified_at < *told)) told = a.notified_at;
      last_disabled = std::max(last_disabled, a.created_at);
    } else if (a.kind == "restore_account") {
      reenabled = a.created_at;
    }
  }
  if (reenabled && *reenabled >= last_disabled && last_disabled != 0) draft.user.reenabled_at = reenabled;
  draft.incident_description = "Upload time of the earliest reported file";
  // How the content was found, truthfully: the lists it matched, and the reports that put it in
  // front of a reviewer (a case opened by a user's report matched no list).
  std::set<std::string> banks;
  for (const auto& item : c.items) {
    for (const auto& m : item.matches) banks.insert(m.bank_name);
  }
  std::string found;
  if (!banks.empty()) {
    found = "Detected by hash matching against: ";
    bool first = true;
    for (const auto& b : banks) {
      found += (first ? "" : ", ") + b;
      first = false;
    }
  }
  const bool user_reported = std::any_of(c.reports.begin(), c.reports.end(), [](const Case::Report& r) { return r.source == "user_report"; });
  const bool escalated = std::any_of(c.reports.begin(), c.reports.end(), [](const Case::Report& r) { return r.source == "escalation"; });
  // Classifiers that scored the files (which and their model; a score is never presented as knowledge).
  std::set<std::string> classifiers;
  for (const auto& item : c.items) {
    for (const auto& k : item.classifications) {
      // The operator's name for it only: the model's name comes from the service's answer.
      if (k.ok()) classifiers.insert(k.classifier);
    }
  }
  if (!classifiers.empty() && banks.empty()) {
    found += std::string(found.empty() ? "" : "; ") + "assessed by a classifier (";
    bool first = true;
    for (const auto& k : classifiers) {
      found += (first ? "" : ", ") + k;
      first = false;
    }
    found += ")";
  }
  if (user_reported) found += std::string(found.empty() ? "" : "; ") + "reported by a user of the platform";
  if (escalated) found += std::string(found.empty() ? "" : "; ") + "escalated by the platform's staff";
  if (found.empty()) found = "Found by the platform";
  draft.additional_info = found;
  draft.additional_info += ". Confirmed by human review.";
  return draft;
}

Result<CyberTipReport> ReportFiler::Draft(std::int64_t case_id, const std::string& actor) {
  VIGIL_ASSIGN_OR_RETURN(auto draft, BuildDraft(case_id));
  VIGIL_ASSIGN_OR_RETURN(auto xml, BuildReportXml(draft, options_.reporter));
  if (!options_.xsd_path.empty()) VIGIL_TRY(ValidateAgainstSchema(xml, options_.xsd_path));
  CyberTipReport report;
  report.case_id = case_id;
  report.user_id = draft.user.esp_identifier;
  report.report_xml = std::move(xml);
  report.created_by = actor;
  for (const auto& f : draft.files) report.files.push_back({f.content_id, f.sha256, ReportedFileState::kPending, "", ""});
  auto created = store_.Reports().CreateReport(report);
  if (!created) return tl::unexpected(created.error());
  if (options_.approval != "decision") return created;
  VIGIL_ASSIGN_OR_RETURN(auto c, store_.Cases().GetCase(case_id));
  created->state = ReportState::kApproved;
  created->approved_by = c.decisions.back().reviewer;
  return store_.Reports().UpdateReport(*created, actor, "report.approve",
                                       "by the violating decision of " + created->approved_by);
}

Result<std::string> ReportFiler::CurrentXml(const CyberTipReport& report) {
  auto draft = BuildDraft(report.case_id);
  if (!draft) return tl::unexpected(draft.error());
  std::vector<std::string> now_files, report_files;
  for (const auto& f : draft->files) now_files.push_back(f.content_id);
  for (const auto& f : report.files) report_files.push_back(f.content_id);
  if (now_files != report_files) {
    return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(report.case_id) +
                                                 "'s reportable files changed since the draft: draft it again");
  }
  return BuildReportXml(*draft, options_.reporter);
}

Result<ReportPreview> ReportFiler::Preview(std::int64_t report_id) {
  VIGIL_ASSIGN_OR_RETURN(auto r, store_.Reports().GetReport(report_id));
  ReportPreview preview;
  preview.report_xml = r.report_xml;
  if (r.state == ReportState::kDraft || r.state == ReportState::kApproved) {
    if (auto current = CurrentXml(r); !current) {
      preview.problem = current.error().message;
    } else if (*current != r.report_xml) {
      preview.problem = "the case's facts changed since the draft: approving refreshes the report first";
    }
  }
  auto draft = BuildDraft(r.case_id);
  if (!draft) {
    if (preview.problem.empty()) preview.problem = draft.error().message;
    return preview;
  }
  for (const auto& file : r.files) {
    for (const auto& details : draft->files) {
      if (details.content_id != file.content_id) continue;
      // NCMEC assigns the report and file ids; until it has, the preview says where they go.
      auto xml = BuildFileDetailsXml(r.ncmec_report_id.empty() ? "(assigned by NCMEC)" : r.ncmec_report_id,
                                     file.ncmec_file_id.empty() ? "(assigned by NCMEC)" : file.ncmec_file_id, details,
                                     options_.reporter);
      if (!xml) return tl::unexpected(xml.error());
      preview.file_details.emplace_back(file.content_id, std::move(*xml));
    }
  }
  return preview;
}

Result<CyberTipReport> ReportFiler::Approve(std::int64_t report_id, const std::string& approver) {
  VIGIL_ASSIGN_OR_RETURN(auto r, store_.Reports().GetReport(report_id));
  if (r.state != ReportState::kDraft) {
    return Fail(ErrorCode::kInvalidArgument, "report " + std::to_string(report_id) + " is " + ReportStateName(r.state) +
                                                 (r.withdraw_reason.empty() ? "" : " (" + r.withdraw_reason + ")") +
                                                 ", not a draft");
  }
  if (approver.empty() || approver == "system") {
    return Fail(ErrorCode::kPermissionDenied, "a report is approved by a person");
  }
  // What the approver approves must still be true of the case.
  auto current = CurrentXml(r);
  if (!current) {
    r.state = ReportState::kVoided;
    r.withdraw_reason = current.error().message;
    auto voided = store_.Reports().UpdateReport(r, approver, "report.void", r.withdraw_reason);
    if (!voided) return tl::unexpected(voided.error());
    return Fail(ErrorCode::kInvalidArgument, "report " + std::to_string(report_id) + " voided instead of approved: " +
                                                 r.withdraw_reason);
  }
  if (*current != r.report_xml) {
    // New facts (an enforcement date, say): the text changes, so the approval must be of the new one.
    r.report_xml = std::move(*current);
    VIGIL_TRY(store_.Reports().UpdateReport(r, approver, "report.refresh", "the case's facts changed since the draft"));
    return Fail(ErrorCode::kAlreadyExists, "report " + std::to_string(report_id) +
                                               " changed since it was drafted (the case's facts changed): read its preview "
                                               "again, then approve");
  }
  r.state = ReportState::kApproved;
  r.approved_by = approver;
  return store_.Reports().UpdateReport(r, approver, "report.approve", "");
}

// Marks a report as being driven by this process for the lifetime of the claim.
class ReportFiler::Claim {
 public:
  Claim(ReportFiler& filer, std::int64_t id) : filer_(filer), id_(id) {
    std::lock_guard lock(filer_.active_mu_);
    held_ = filer_.active_.insert(id_).second;
  }
  ~Claim() {
    if (!held_) return;
    std::lock_guard lock(filer_.active_mu_);
    filer_.active_.erase(id_);
  }
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;
  Status Check() const {
    if (held_) return {};
    return Fail(ErrorCode::kUnavailable, "report " + std::to_string(id_) + " is being filed by another request");
  }

 private:
  ReportFiler& filer_;
  std::int64_t id_;
  bool held_ = false;
};

Result<CyberTipReport> ReportFiler::File(std::int64_t report_id, const std::string& actor) {
  return FileOnce(report_id, actor, true);
}

Result<CyberTipReport> ReportFiler::FileOnce(std::int64_t report_id, const std::string& actor, bool restart_failed) {
  Claim claim(*this, report_id);
  VIGIL_TRY(claim.Check());
  VIGIL_ASSIGN_OR_RETURN(auto r, store_.Reports().GetReport(report_id));
  Run run(*this, std::move(r), actor);
  return restart_failed ? run.Restart() : run.Go();
}

Result<CyberTipReport> ReportFiler::Retract(std::int64_t report_id, const std::string& actor, const std::string& reason) {
  Claim claim(*this, report_id);
  VIGIL_TRY(claim.Check());
  VIGIL_ASSIGN_OR_RETURN(auto r, store_.Reports().GetReport(report_id));
  return Run(*this, std::move(r), actor).RetractNow(reason);
}

Result<int> ReportFiler::ResumeAll(const std::string& actor, std::chrono::seconds in_flight_grace,
                                   const std::function<bool()>& keep_going) {
  const Clock& clock = options_.clock != nullptr ? *options_.clock : SystemClock();
  const std::int64_t grace = std::chrono::duration_cast<std::chrono::microseconds>(in_flight_grace).count();
  auto reports = store_.Reports().ListUnsettledReports(1000);
  if (!reports) return tl::unexpected(reports.error());
  int filed = 0;
  for (const auto& r : *reports) {
    if (keep_going && !keep_going()) break;
    if (!r.in_flight.empty() && r.in_flight.kind != InFlightStep::Kind::kPreserve && clock.NowMicros() - r.updated_at < grace) continue;
    auto done = FileOnce(r.id, actor, false);  // a failed report waits for a person
    if (done && done->state == ReportState::kFiled && r.state != ReportState::kFiled) ++filed;
    // NCMEC unreachable (no answer at all): the other reports would only wait out the same
    // retries; the next pass tries again.
    if (done && done->state != ReportState::kFiled && done->last_code == -1) break;
  }
  return filed;
}

}  // namespace vigil
