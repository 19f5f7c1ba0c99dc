// The CyberTipline filing state machine (see include/vigil/report_filer.h).
#include "vigil/report_filer.h"

#include <boost/json.hpp>
#include <filesystem>
#include <optional>
#include <set>

#include "util/failpoint.h"
#include "vigil/case_evidence.h"
#include "vigil/cases.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"

namespace vigil {
namespace {

std::string MetaString(const boost::json::object& meta, const char* key) {
  const auto* v = meta.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

boost::json::object MetaOf(const ContentRecord& c) {
  boost::system::error_code ec;
  auto v = boost::json::parse(c.metadata_json, ec);
  return !ec && v.is_object() ? v.as_object() : boost::json::object{};
}

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

}  // namespace

// One File() call: the report as last persisted, and the steps taken.
class ReportFiler::Run {
 public:
  Run(ReportFiler& filer, CyberTipReport report, std::string actor)
      : f_(filer), r_(std::move(report)), actor_(std::move(actor)) {}

  Result<CyberTipReport> Go() {
    for (int step = 0; step < f_.options_.max_steps; ++step) {
      if (r_.state == "filed") {
        if (r_.in_flight == "preserve") VIGIL_TRY(Preserve());
        return r_;
      }
      if (r_.state == "retracted" || r_.state == "failed") return r_;
      if (r_.state == "draft") return Fail(ErrorCode::kPermissionDenied, "report " + Id() + " is waiting for approval");
      bool more = true;
      if (!r_.in_flight.empty()) {
        VIGIL_TRY(ResolveInFlight(more));
      } else if (r_.state == "approved") {
        VIGIL_TRY(Submit(more));
      } else if (r_.state == "open") {
        VIGIL_TRY(Advance(more));
      } else {
        return Fail(ErrorCode::kInternal, "report " + Id() + " is in an unknown state '" + r_.state + "'");
      }
      if (!more) return r_;
    }
    return Fail(ErrorCode::kInternal, "report " + Id() + ": gave up after " + std::to_string(f_.options_.max_steps) +
                                          " requests without finishing");
  }

  Result<CyberTipReport> RetractNow(const std::string& reason) {
    if (r_.state == "filed") return Fail(ErrorCode::kInvalidArgument, "report " + Id() + " is filed: it cannot be retracted");
    if (r_.state == "retracted") return r_;
    if (!r_.ncmec_report_id.empty()) {
      bool more = true;
      VIGIL_TRY(SendRetract(more, "retracted", reason));
      if (r_.state != "retracted") return Fail(ErrorCode::kUnavailable, "report " + Id() + ": " + r_.last_error);
      return r_;
    }
    r_.state = "retracted";
    VIGIL_TRY(Save("report.retract", reason));
    return r_;
  }

 private:
  std::string Id() const { return std::to_string(r_.id); }

  Status Save(const std::string& action, const std::string& detail) {
    auto saved = f_.store_.Reports().UpdateReport(r_, actor_, action, detail);
    if (!saved) return tl::unexpected(saved.error());
    r_ = std::move(*saved);
    return {};
  }

  // Records the request about to go out.
  Status Intend(const std::string& step) {
    r_.in_flight = step;
    VIGIL_TRY(Save("report.send", step));
    FailPoint("report.before_" + step.substr(0, step.find(':')));
    return {};
  }

  void Answered(const std::string& step) { FailPoint("report.after_" + step.substr(0, step.find(':'))); }

  // Takes a request's outcome. Returns true when NCMEC accepted it; otherwise the report holds
  // why, and `more` says whether to go on now.
  Result<bool> Outcome(const Result<CyberTipResponse>& answer, const std::string& step, bool& more) {
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
      r_.state = "filed";
      r_.in_flight = "preserve";
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
        VIGIL_TRY(SendRetract(more, "failed", r_.last_error));
      } else {
        r_.state = "failed";
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

  // Forget NCMEC's report: the next step submits a new one.
  Status Reopen(const std::string& why) {
    r_.state = "approved";
    r_.in_flight.clear();
    r_.ncmec_report_id.clear();
    for (auto& file : r_.files) file = {file.content_id, file.sha256, "pending", "", ""};
    return Save("report.reopen", why);
  }

  Status SendRetract(bool& more, const std::string& final_state, const std::string& reason) {
    VIGIL_TRY(Intend("retract"));
    auto answer = f_.client_.Retract(r_.ncmec_report_id);
    Answered("retract");
    if (answer && (answer->code == 0 || answer->code == 5101 || answer->code == 5001)) {
      r_.in_flight.clear();
      r_.last_code = answer->code;
      if (final_state == "approved") return Reopen("retracted NCMEC report " + r_.ncmec_report_id + ": " + reason);
      r_.state = final_state;
      return Save(final_state == "failed" ? "report.failed" : "report.retract", reason);
    }
    bool ignored = false;
    VIGIL_TRY(Outcome(answer, "retract", ignored));
    more = false;
    return {};
  }

  Status ResolveInFlight(bool& more) {
    const std::string step = r_.in_flight;
    if (step == "submit") {
      // It may have opened a report that we never heard of: unfinished, NCMEC deletes it.
      r_.in_flight.clear();
      r_.ncmec_report_id.clear();
      return Save("report.resume", "a submit's outcome was lost; any report it opened stays unfinished and expires");
    }
    if (step.rfind("upload:", 0) == 0) {
      return SendRetract(more, "approved", "an upload's outcome was lost; starting a new submission");
    }
    if (step.rfind("fileinfo:", 0) == 0) return Describe(step.substr(9), more);
    if (step == "finish") return Finish(more);
    if (step == "retract") return SendRetract(more, r_.state == "failed" ? "failed" : "retracted", "resumed");
    return Fail(ErrorCode::kInternal, "report " + Id() + ": unknown step in flight '" + step + "'");
  }

  Status Submit(bool& more) {
    if (!f_.options_.xsd_path.empty()) VIGIL_TRY(ValidateAgainstSchema(r_.report_xml, f_.options_.xsd_path));
    VIGIL_TRY(Intend("submit"));
    auto answer = f_.client_.Submit(r_.report_xml);
    auto ok = Outcome(answer, "submit", more);
    if (!ok) return tl::unexpected(ok.error());
    if (!*ok) return {};
    if (answer->report_id.empty()) return Fail(ErrorCode::kCorrupt, "NCMEC opened a report without a reportId");
    r_.state = "open";
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
      if (file.state == "pending") return Upload(file.content_id, more);
      if (file.state == "uploaded") return Describe(file.content_id, more);
    }
    return Finish(more);
  }

  Status Upload(std::string content_id, bool& more) {  // by value: Save() replaces r_.files
    ReportedFile* file = FindFile(content_id);
    auto content = f_.store_.GetContent(content_id);
    if (!content) return tl::unexpected(content.error());
    auto bytes = ReadFileLimited(std::filesystem::path(f_.options_.media_dir) / file->sha256, 4ull << 30);
    if (!bytes) return Fail(bytes.error().code, "report " + Id() + ": the media of " + content_id + " is gone: " +
                                                    bytes.error().message);
    const std::string data(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    const std::string md5 = ComputeDigests(*bytes).md5;
    VIGIL_TRY(Intend("upload:" + content_id));
    auto answer = f_.client_.Upload(r_.ncmec_report_id, content_id + Extension(content->media_type), data);
    auto ok = Outcome(answer, "upload:" + content_id, more);
    if (!ok) return tl::unexpected(ok.error());
    if (!*ok) return {};
    file = FindFile(content_id);
    if (!answer->hash.empty() && answer->hash != md5) {
      // What NCMEC holds is not what we sent: this submission cannot be trusted.
      r_.in_flight = "upload:" + content_id;
      return SendRetract(more, r_.attempts >= 3 ? "failed" : "approved",
                         "NCMEC's MD5 of " + content_id + " is " + answer->hash + ", ours " + md5);
    }
    file->state = "uploaded";
    file->ncmec_file_id = answer->file_id;
    file->ncmec_md5 = answer->hash;
    r_.in_flight.clear();
    return Save("report.upload", content_id + " as file " + answer->file_id);
  }

  Status Describe(std::string content_id, bool& more) {
    ReportedFile* file = FindFile(content_id);
    if (file == nullptr) return Fail(ErrorCode::kInternal, "report " + Id() + " has no file " + content_id);
    if (!draft_) {  // built once per run, not once per file
      auto built = f_.BuildDraft(r_.case_id);
      if (!built) return tl::unexpected(built.error());
      draft_ = std::move(*built);
    }
    const ReportFile* details = nullptr;
    for (const auto& d : draft_->files) {
      if (d.content_id == content_id) details = &d;
    }
    if (details == nullptr) return Fail(ErrorCode::kInternal, "report " + Id() + ": " + content_id + " left the case");
    auto xml = BuildFileDetailsXml(r_.ncmec_report_id, file->ncmec_file_id, *details, f_.options_.reporter);
    if (!xml) return tl::unexpected(xml.error());
    VIGIL_TRY(Intend("fileinfo:" + content_id));
    auto answer = f_.client_.FileInfo(*xml);
    auto ok = Outcome(answer, "fileinfo:" + content_id, more);
    if (!ok) return tl::unexpected(ok.error());
    if (!*ok) return {};
    FindFile(content_id)->state = "described";
    r_.in_flight.clear();
    return Save("report.fileinfo", content_id);
  }

  Status Finish(bool& more) {
    if (r_.approved_by.empty() || !r_.approved_at) {
      return Fail(ErrorCode::kPermissionDenied, "report " + Id() + " has no recorded approval: it cannot be finished");
    }
    VIGIL_TRY(Intend("finish"));
    auto answer = f_.client_.Finish(r_.ncmec_report_id);
    auto ok = Outcome(answer, "finish", more);
    if (!ok) return tl::unexpected(ok.error());
    if (!*ok) return {};
    r_.state = "filed";
    r_.in_flight = "preserve";
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
    auto held = f_.store_.Reports().ExtendHold(r_.case_id, until, actor_, "report " + Id() + " filed");
    if (!held) return tl::unexpected(held.error());
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
  auto c = store_.Cases().GetCase(case_id);
  if (!c) return tl::unexpected(c.error());
  const Decision* violating = nullptr;
  for (const auto& d : c->decisions) {
    if (d.verdict == "violating") violating = &d;
  }
  if (c->status != "decided" && c->status != "closed") {
    return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " is " + c->status +
                                                 ": only a decided case is reported");
  }
  if (violating == nullptr || c->decisions.back().verdict != "violating") {
    return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " was not decided violating");
  }
  std::set<std::string> viewed;
  for (const auto& d : c->decisions) viewed.insert(d.viewed.begin(), d.viewed.end());
  ReportDraft draft;
  draft.user.esp_identifier = c->user_id;
  const std::string classification = violating->classification;
  for (const auto& item : c->items) {
    if (item.state == "restored") continue;  // cleared on appeal: not part of the incident
    auto content = store_.GetContent(item.content_id);
    if (!content) return tl::unexpected(content.error());
    if (!item.has_media) {
      return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + ": the media of " + item.content_id +
                                                   " was not kept, so it cannot be reported with the file");
    }
    const auto meta = MetaOf(*content);
    ReportFile file;
    file.content_id = content->content_id;
    file.file_name = MetaString(meta, "file_name");
    if (file.file_name.empty()) file.file_name = content->content_id + Extension(content->media_type);
    file.media_type = content->media_type;
    file.uploaded_at = content->submitted_at;
    auto hash = [&](const char* type) {
      auto it = content->hashes.find(type);
      return it == content->hashes.end() ? std::string() : it->second;
    };
    file.md5 = hash("md5");
    file.sha1 = hash("sha1");
    file.sha256 = hash("sha256");
    file.viewed_by_esp = viewed.count(content->content_id) > 0;
    if (const auto* p = meta.if_contains("publicly_available"); p != nullptr && p->is_bool()) {
      file.publicly_available = p->as_bool();
    }
    file.classification = classification;
    const std::string ip = MetaString(meta, "ip");
    if (!ip.empty()) {
      file.upload_ip = IpEvent{ip, "Upload", content->submitted_at};
      draft.user.ip_events.push_back(*file.upload_ip);
    }
    if (draft.user.screen_name.empty()) draft.user.screen_name = MetaString(meta, "screen_name");
    if (draft.incident_at == 0 || content->submitted_at < draft.incident_at) draft.incident_at = content->submitted_at;
    draft.files.push_back(std::move(file));
  }
  if (draft.files.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "case " + std::to_string(case_id) + " has no item left to report");
  }
  auto actions = store_.Cases().ListActions(c->user_id);
  if (!actions) return tl::unexpected(actions.error());
  for (const auto& a : *actions) {
    if (a.kind == "suspend_account" || a.kind == "restrict_account" || a.kind == "ban_account") {
      const bool permanent = a.kind == "ban_account" || (a.kind == "suspend_account" && !a.until);
      if (a.kind == "restrict_account") continue;  // restricted is not disabled
      if (permanent) draft.user.permanently_disabled_at = a.created_at;
      else draft.user.temporarily_disabled_at = a.created_at;
      if (a.notified_at) draft.user.notified_at = a.notified_at;
    } else if (a.kind == "restore_account") {
      draft.user.reenabled_at = a.created_at;
    }
  }
  draft.incident_description = "Upload time of the earliest reported file";
  draft.additional_info = "Detected by hash matching against: ";
  std::set<std::string> banks;
  for (const auto& item : c->items) {
    for (const auto& m : item.matches) banks.insert(m.bank_name);
  }
  bool first = true;
  for (const auto& b : banks) {
    draft.additional_info += (first ? "" : ", ") + b;
    first = false;
  }
  draft.additional_info += ". Confirmed by human review.";
  return draft;
}

Result<CyberTipReport> ReportFiler::Draft(std::int64_t case_id, const std::string& actor) {
  auto draft = BuildDraft(case_id);
  if (!draft) return tl::unexpected(draft.error());
  auto xml = BuildReportXml(*draft, options_.reporter);
  if (!xml) return tl::unexpected(xml.error());
  if (!options_.xsd_path.empty()) VIGIL_TRY(ValidateAgainstSchema(*xml, options_.xsd_path));
  CyberTipReport report;
  report.case_id = case_id;
  report.user_id = draft->user.esp_identifier;
  report.report_xml = std::move(*xml);
  report.created_by = actor;
  for (const auto& f : draft->files) report.files.push_back({f.content_id, f.sha256, "pending", "", ""});
  auto created = store_.Reports().CreateReport(report);
  if (!created) return tl::unexpected(created.error());
  if (options_.approval != "decision") return created;
  auto c = store_.Cases().GetCase(case_id);
  if (!c) return tl::unexpected(c.error());
  created->state = "approved";
  created->approved_by = c->decisions.back().reviewer;
  return store_.Reports().UpdateReport(*created, actor, "report.approve",
                                       "by the violating decision of " + created->approved_by);
}

Result<CyberTipReport> ReportFiler::Approve(std::int64_t report_id, const std::string& approver) {
  auto r = store_.Reports().GetReport(report_id);
  if (!r) return tl::unexpected(r.error());
  if (r->state != "draft") {
    return Fail(ErrorCode::kInvalidArgument, "report " + std::to_string(report_id) + " is " + r->state + ", not a draft");
  }
  if (approver.empty() || approver == "system") {
    return Fail(ErrorCode::kPermissionDenied, "a report is approved by a person");
  }
  r->state = "approved";
  r->approved_by = approver;
  return store_.Reports().UpdateReport(*r, approver, "report.approve", "");
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
  Claim claim(*this, report_id);
  VIGIL_TRY(claim.Check());
  auto r = store_.Reports().GetReport(report_id);
  if (!r) return tl::unexpected(r.error());
  return Run(*this, std::move(*r), actor).Go();
}

Result<CyberTipReport> ReportFiler::Retract(std::int64_t report_id, const std::string& actor, const std::string& reason) {
  Claim claim(*this, report_id);
  VIGIL_TRY(claim.Check());
  auto r = store_.Reports().GetReport(report_id);
  if (!r) return tl::unexpected(r.error());
  return Run(*this, std::move(*r), actor).RetractNow(reason);
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
    if (!r.in_flight.empty() && r.in_flight != "preserve" && clock.NowMicros() - r.updated_at < grace) continue;
    auto done = File(r.id, actor);
    if (done && done->state == "filed" && r.state != "filed") ++filed;
    // NCMEC unreachable (no answer at all): the other reports would only wait out the same
    // retries; the next pass tries again.
    if (done && done->state != "filed" && done->last_code == -1) break;
  }
  return filed;
}

}  // namespace vigil
