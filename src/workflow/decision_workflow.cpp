// The decision workflow: decide, correct or settle an appeal, then preserve and draft (see the header).
#include "workflow/decision_workflow.h"

#include <algorithm>
#include <set>

#include "vigil/case_evidence.h"
#include "vigil/digest.h"
#include "vigil/video.h"

namespace vigil {

DecisionWorkflow::DecisionWorkflow(Store& store, DecisionWorkflowOptions options)
    : store_(store), options_(std::move(options)) {}

void DecisionWorkflow::Problem(const std::string& what, std::int64_t case_id, const Error& error) const {
  if (options_.on_problem) options_.on_problem(what, case_id, error);
}

FollowUpResult DecisionWorkflow::FollowUp(const Case& c, const std::string& actor) {
  FollowUpResult out;
  if (options_.filer == nullptr || c.status != CaseStatus::kDecided) return out;
  const Decision* final_decision = nullptr;
  for (const auto& d : c.decisions) {
    if (d.verdict != Verdict::kEscalate) final_decision = &d;
  }
  if (final_decision == nullptr || final_decision->verdict != Verdict::kViolating) return out;
  if (std::all_of(c.items.begin(), c.items.end(), [](const CaseItem& i) { return i.state == "restored"; })) return out;
  if (options_.vault != nullptr && options_.preserve_on_confirm) {
    auto kept = PreserveCaseEvidence(store_, *options_.vault, options_.media_dir, c.id, 0, "", actor);
    if (kept) {
      out.preserved = true;
    } else {
      Problem("preservation failed", c.id, kept.error());
    }
  }
  // Only a category reported to NCMEC drafts a CyberTipline report (an intimate-image ban does not).
  if (!final_decision->cybertip) return out;
  auto draft = options_.filer->Draft(c.id, "system");
  if (draft || draft.error().code == ErrorCode::kAlreadyExists) {
    out.drafted = true;
    if (!c.report_problem.empty()) {
      if (auto cleared = store_.Cases().SetReportProblem(c.id, ""); !cleared) {
        Problem("could not clear the report problem", c.id, cleared.error());
      }
    }
    return out;
  }
  // Never silent: the case says why (API, console, metric) until it is corrected and drafted.
  out.problem = draft.error().message;
  Problem("report draft failed", c.id, draft.error());
  if (auto noted = store_.Cases().SetReportProblem(c.id, out.problem); !noted) {
    Problem("could not record the report problem", c.id, noted.error());
  }
  return out;
}

namespace {

// The decision that stands on a case: the last that is not an escalation (nullptr: none).
const Decision* FinalDecision(const Case& c) {
  const Decision* final_decision = nullptr;
  for (const auto& d : c.decisions) {
    if (d.verdict != Verdict::kEscalate) final_decision = &d;
  }
  return final_decision;
}

bool DecidedViolating(const Case& c) {
  const Decision* d = FinalDecision(c);
  return c.status == CaseStatus::kDecided && d != nullptr && d->verdict == Verdict::kViolating;
}

// What the own bank lists of an upload: its PDQ (when good enough to match on), SHA-256 and MD5,
// and a video's vPDQ frames (value: their identity; payload: the frames).
}  // namespace

std::vector<ListedValue> ListedValues(const ContentRecord& content) {
  std::vector<ListedValue> values;
  for (const char* type : {"pdq", "sha256", "md5"}) {
    const auto hash = content.hashes.find(type);
    if (hash == content.hashes.end()) continue;
    if (std::string_view(type) == "pdq" && content.pdq_quality && *content.pdq_quality < 50) continue;
    values.push_back({type, hash->second, ""});
  }
  if (!content.vpdq.empty()) {
    auto frames = ParseVpdq(content.vpdq);
    if (frames && !VpdqMatchableHashes(*frames, VpdqMatchOptions{}.min_quality).empty()) {
      values.push_back({"vpdq", VpdqIdentity(*frames), FormatVpdq(*frames)});
    }
  }
  return values;
}

std::string OwnBankName(const std::string& own_bank, const std::string& category) {
  return own_bank + "-" + (category.empty() ? "other" : category);
}

Result<SweepResult> DecisionWorkflow::Sweep(const Case& c, const std::string& actor) {
  SweepResult result;
  result.case_id = c.id;
  if (options_.sweeper == nullptr || options_.own_bank.empty() || !DecidedViolating(c)) return result;
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& item : c.items) {
    if (item.state == "restored") continue;
    VIGIL_ASSIGN_OR_RETURN(auto content, store_.GetContent(item.content_id));
    for (auto& v : ListedValues(content)) values.emplace_back(std::move(v.type), std::move(v.value));
  }
  const std::string own = OwnBankName(options_.own_bank, FinalDecision(c)->category);
  VIGIL_ASSIGN_OR_RETURN(auto bank, store_.GetBank(own));
  VIGIL_ASSIGN_OR_RETURN(auto entries, store_.FindLiveEntries(own, values));
  VIGIL_ASSIGN_OR_RETURN(result, options_.sweeper->Sweep(c, bank, entries, options_.sweep));
  std::string detail = std::to_string(result.copies) + " copies by " + std::to_string(result.accounts) +
                       " other accounts; cases:";
  for (auto id : result.cases) detail += " " + std::to_string(id);
  detail += "; left alone: " + std::to_string(result.decided_already) + " decided by a person, " +
            std::to_string(result.allow_listed) + " allow-listed, " + std::to_string(result.already_matched) +
            " swept before";
  if (result.failed != 0) detail += "; " + std::to_string(result.failed) + " failed: " + result.first_error;
  VIGIL_TRY(store_.Audit(actor, "case.sweep", std::to_string(c.id), detail));
  if (options_.on_sweep) options_.on_sweep(result);
  return result;
}

Status DecisionWorkflow::SyncOwnBank(const Case& c, const std::string& actor) {
  if (options_.own_bank.empty()) return {};
  const Decision* final_decision = FinalDecision(c);
  const bool confirmed = DecidedViolating(c);
  ImportRequest request;
  request.format = "decisions";
  request.source = "case " + std::to_string(c.id);
  request.actor = actor;
  for (const auto& item : c.items) {
    auto content = store_.GetContent(item.content_id);
    if (!content) return tl::unexpected(content.error());
    // A confirmed file is listed; a restored one (an appeal overturned it) is taken out; the files
    // of a case decided otherwise are left as they are (a copy of a listed file judged differently
    // is a reviewer's call on that upload, not on the list: a curator removes entries).
    const bool list = confirmed && item.state != "restored";
    if (!list && item.state != "restored") continue;
    for (auto& listed : ListedValues(*content)) {
      ImportOp op;
      op.kind = list ? ImportOp::Kind::kAdd : ImportOp::Kind::kRemove;
      op.signal_type = std::move(listed.type);
      op.value = std::move(listed.value);
      if (list) op.payload = std::move(listed.payload);
      if (list) {
        const auto labelled = final_decision->file_classifications.find(item.content_id);
        op.provenance = {"decision by " + final_decision->reviewer, "platform", "case:" + std::to_string(c.id),
                         labelled != final_decision->file_classifications.end() ? labelled->second
                                                                                : final_decision->classification};
      }
      request.ops.push_back(std::move(op));
    }
  }
  if (request.ops.empty()) return {};
  const std::string category = final_decision != nullptr ? final_decision->category : c.category;
  const std::string own = OwnBankName(options_.own_bank, category);
  // A value the bank lists already keeps its first provenance (the case that confirmed it first);
  // a value another confirmed file still has stays when this one is restored.
  std::vector<std::pair<std::string, std::string>> adds;
  for (const auto& op : request.ops) {
    if (op.kind == ImportOp::Kind::kAdd) adds.emplace_back(op.signal_type, op.value);
  }
  const bool bank_exists = static_cast<bool>(store_.GetBank(own));
  std::set<std::pair<std::string, std::string>> listed;
  if (!adds.empty() && bank_exists) {
    VIGIL_ASSIGN_OR_RETURN(auto live, store_.FindLiveEntries(own, adds));
    for (const auto& e : live) listed.emplace(e.signal_type, e.value);
  }
  std::vector<ImportOp> kept;
  for (auto& op : request.ops) {
    if (op.kind == ImportOp::Kind::kAdd) {
      if (listed.contains({op.signal_type, op.value})) continue;
    } else {
      VIGIL_ASSIGN_OR_RETURN(const auto elsewhere,
                             store_.Cases().ConfirmedElsewhere(op.signal_type, op.value, c.id, category));
      if (elsewhere != 0) {
        // Still confirmed by another case: the value stays, and names that case from now on.
        VIGIL_ASSIGN_OR_RETURN(auto other, store_.Cases().GetCase(elsewhere));
        const Decision* still = FinalDecision(other);
        if (still == nullptr) continue;
        op.kind = ImportOp::Kind::kAdd;
        op.provenance = {"decision by " + still->reviewer, "platform", "case:" + std::to_string(other.id),
                         still->classification};
      }
    }
    kept.push_back(std::move(op));
  }
  request.ops = std::move(kept);
  if (request.ops.empty()) return {};
  if (!bank_exists) {
    if (!confirmed) return {};  // nothing to take out of a bank that does not exist
    Bank bank;
    bank.name = own;
    bank.description = "this platform's own: files its reviewers confirmed violating";
    bank.labels = {"own"};
    bank.category = final_decision->category;
    if (auto made = store_.CreateBank(bank, actor); !made && made.error().code != ErrorCode::kAlreadyExists) {
      return tl::unexpected(made.error());
    }
  }
  VIGIL_TRY(store_.Import(own, std::move(request)));
  return {};
}

Result<Case> DecisionWorkflow::Decide(std::int64_t case_id, const CaseStore::DecisionRequest& request,
                                      const std::string& reviewer) {
  auto c = store_.Cases().Decide(case_id, request, reviewer);
  if (!c) return c;
  FollowUp(*c, reviewer);
  if (auto synced = SyncOwnBank(*c, reviewer); !synced) {
    Problem("own bank not updated", case_id, synced.error());
  } else if (auto swept = Sweep(*c, reviewer); !swept) {
    Problem("sweep failed", case_id, swept.error());
  } else if (swept->failed != 0) {
    Problem("sweep left copies unrecorded", case_id, Error{ErrorCode::kInternal, swept->first_error});
  }
  // Read again: drafting a report may have recorded a problem on the case.
  auto current = store_.Cases().GetCase(case_id);
  return current ? current : c;
}

Result<Case> DecisionWorkflow::SupplyMedia(std::int64_t case_id, const std::string& content_id,
                                           std::span<const std::uint8_t> bytes, MediaStore& media,
                                           const std::string& actor) {
  VIGIL_ASSIGN_OR_RETURN(auto c, store_.Cases().GetCase(case_id));
  const auto item = std::find_if(c.items.begin(), c.items.end(), [&](const CaseItem& i) { return i.content_id == content_id; });
  if (item == c.items.end()) {
    return Fail(ErrorCode::kNotFound, "content '" + content_id.substr(0, 80) + "' is not in case " + std::to_string(case_id));
  }
  VIGIL_ASSIGN_OR_RETURN(auto content, store_.GetContent(content_id));
  const auto recorded = content.hashes.find("sha256");
  if (recorded == content.hashes.end()) {
    return Fail(ErrorCode::kInvalidArgument, "content '" + content_id + "' has no SHA-256 on record to check bytes against");
  }
  if (Sha256Hex(bytes) != recorded->second) {
    return Fail(ErrorCode::kInvalidArgument, "these " + std::to_string(bytes.size()) + " bytes are not upload '" +
                                                 content_id + "': their SHA-256 is not the one recorded when it came");
  }
  if (item->has_media) return c;  // the same bytes again: nothing to do
  VIGIL_TRY(media.Keep(recorded->second, bytes));
  VIGIL_TRY(store_.Cases().AttachMedia(case_id, content_id, actor));
  VIGIL_ASSIGN_OR_RETURN(c, store_.Cases().GetCase(case_id));
  if (c.status == CaseStatus::kDecided) {
    FollowUp(c, actor);
    VIGIL_ASSIGN_OR_RETURN(c, store_.Cases().GetCase(case_id));
  }
  return c;
}

Result<Case> DecisionWorkflow::Reclassify(std::int64_t case_id, const std::string& classification,
                                          const std::map<std::string, std::string>& file_classifications,
                                          const std::string& actor) {
  auto c = store_.Cases().Reclassify(case_id, classification, file_classifications, actor);
  if (!c) return c;
  FollowUp(*c, actor);
  auto current = store_.Cases().GetCase(case_id);
  return current ? current : c;
}

Result<Appeal> DecisionWorkflow::DecideAppeal(std::int64_t appeal_id, const AppealDecision& decision,
                                              const std::string& reviewer) {
  auto appeal = store_.Cases().DecideAppeal(appeal_id, decision, reviewer);
  if (!appeal) return appeal;
  // What is left of the case may still be reported (its earlier report was voided with the appeal).
  if (appeal->case_id != 0 && !appeal->undone.empty()) {
    if (auto c = store_.Cases().GetCase(appeal->case_id)) {
      FollowUp(*c, reviewer);
      if (auto synced = SyncOwnBank(*c, reviewer); !synced) Problem("own bank not updated", c->id, synced.error());
    }
  }
  return appeal;
}

}  // namespace vigil
