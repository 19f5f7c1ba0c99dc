// Preserving a case in the evidence vault (see include/vigil/case_evidence.h).
#include "vigil/case_evidence.h"


#include <boost/json.hpp>
#include <filesystem>

#include "store/media_store.h"
#include "vigil/cases.h"
#include "vigil/cybertip.h"
#include "vigil/file_hasher.h"
#include "vigil/reports.h"

namespace vigil {
namespace {

namespace json = boost::json;

json::object MatchJson(const MatchRecord& m) {
  return {{"bank", m.bank_name},
          {"entry_id", m.entry_id},
          {"signal_type", m.signal_type},
          {"value", m.entry_value},
          {"distance", m.distance},
          {"measure", m.measure},
          {"source", m.provenance.source},
          {"member", m.provenance.member},
          {"external_id", m.provenance.external_id},
          {"classification", m.provenance.classification},
          {"matched_at", IsoDateTime(m.matched_at)}};
}

}  // namespace

Result<std::string> CaseContextJson(Store& store, std::int64_t case_id, std::int64_t report_id) {
  VIGIL_ASSIGN_OR_RETURN(auto c, store.Cases().GetCase(case_id));
  json::object doc;
  doc["case_id"] = c.id;
  doc["user_id"] = c.user_id;
  doc["status"] = CaseStatusName(c.status);
  doc["opened_at"] = IsoDateTime(c.created_at);
  json::array rules;
  for (const auto& r : c.rules) rules.emplace_back(r);
  doc["rules"] = std::move(rules);
  json::array items;
  for (const auto& item : c.items) {
    VIGIL_ASSIGN_OR_RETURN(auto content, store.GetContent(item.content_id));
    json::object hashes;
    for (const auto& [type, value] : content.hashes) hashes[type] = value;
    json::array matches;
    for (const auto& m : content.matches) matches.push_back(MatchJson(m));
    json::object o{{"content_id", content.content_id},
                   {"media_type", content.media_type},
                   {"bytes", content.byte_size},
                   {"uploaded_at", IsoDateTime(content.submitted_at)},
                   {"state", item.state},
                   {"hashes", std::move(hashes)},
                   {"matches", std::move(matches)}};
    boost::system::error_code ec;
    o["metadata"] = json::parse(content.metadata_json, ec);
    if (ec) o["metadata"] = content.metadata_json;
    items.push_back(std::move(o));
  }
  doc["items"] = std::move(items);
  json::array decisions;
  for (const auto& d : c.decisions) {
    json::array viewed;
    for (const auto& v : d.viewed) viewed.emplace_back(v);
    decisions.push_back(json::object{{"reviewer", d.reviewer},
                                     {"verdict", VerdictName(d.verdict)},
                                     {"classification", d.classification},
                                     {"reason", d.reason},
                                     {"viewed", std::move(viewed)},
                                     {"second_review", d.second_review},
                                     {"decided_at", IsoDateTime(d.decided_at)}});
  }
  doc["decisions"] = std::move(decisions);
  auto actions = store.Cases().ListActions(c.user_id);
  if (!actions) return tl::unexpected(actions.error());
  json::array acts;
  for (const auto& a : *actions) {
    json::object o{{"id", a.id},           {"kind", a.kind},           {"content_id", a.content_id},
                   {"ground", a.statement.ground}, {"facts", a.statement.facts}, {"automated", a.statement.automated},
                   {"actor", a.actor},     {"at", IsoDateTime(a.created_at)}};
    if (a.until) o["until"] = IsoDateTime(*a.until);
    if (a.notified_at) o["notified_at"] = IsoDateTime(*a.notified_at);
    acts.push_back(std::move(o));
  }
  doc["actions"] = std::move(acts);
  if (report_id != 0) {
    VIGIL_ASSIGN_OR_RETURN(auto r, store.Reports().GetReport(report_id));
    doc["report"] = json::object{{"id", r.id},
                                 {"state", ReportStateName(r.state)},
                                 {"ncmec_report_id", r.ncmec_report_id},
                                 {"approved_by", r.approved_by}};
  }
  return json::serialize(doc);
}

Result<PreservedCase> PreserveCaseEvidence(Store& store, EvidenceVault& vault, const std::string& media_dir,
                                           std::int64_t case_id, std::int64_t report_id,
                                           const std::string& report_xml, const std::string& actor) {
  VIGIL_ASSIGN_OR_RETURN(auto c, store.Cases().GetCase(case_id));
  VIGIL_ASSIGN_OR_RETURN(auto existing, store.Reports().ListEvidence(case_id));
  auto have = [&](const std::string& kind, const std::string& content_id, std::int64_t report) {
    for (const auto& e : existing) {
      if (e.kind == kind && e.content_id == content_id && e.report_id == report) return true;
    }
    return false;
  };
  PreservedCase result;
  auto keep = [&](std::string_view bytes, EvidenceItem item) -> Status {
    if (have(item.kind, item.content_id, item.report_id)) {
      ++result.present;
      return {};
    }
    item.case_id = case_id;
    auto added = vault.Preserve(bytes, std::move(item), actor);
    if (!added) return tl::unexpected(added.error());
    ++result.added;
    return {};
  };
  for (const auto& item : c.items) {
    VIGIL_ASSIGN_OR_RETURN(auto content, store.GetContent(item.content_id));
    const auto sha = content.hashes.find("sha256");
    if (!item.has_media || media_dir.empty() || sha == content.hashes.end()) {
      if (!have("media", item.content_id, 0)) result.missing.push_back(item.content_id);
      continue;
    }
    auto bytes = OpenMediaDirectory(media_dir)->Read(sha->second);  // the kept media's one owner
    if (!bytes) {
      if (!have("media", item.content_id, 0)) result.missing.push_back(item.content_id);
      continue;
    }
    EvidenceItem e;
    e.kind = "media";
    e.media_type = content.media_type;
    e.content_id = item.content_id;
    VIGIL_TRY(keep({reinterpret_cast<const char*>(bytes->data()), bytes->size()}, e));
  }
  auto context = CaseContextJson(store, case_id, report_id);
  if (!context) return tl::unexpected(context.error());
  EvidenceItem ctx;
  ctx.kind = "context";
  ctx.media_type = "application/json";
  ctx.report_id = report_id;
  VIGIL_TRY(keep(*context, ctx));
  if (!report_xml.empty()) {
    EvidenceItem rep;
    rep.kind = "report";
    rep.media_type = "application/xml";
    rep.report_id = report_id;
    VIGIL_TRY(keep(report_xml, rep));
  }
  return result;
}

}  // namespace vigil
