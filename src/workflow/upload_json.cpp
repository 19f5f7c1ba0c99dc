// An upload's recorded outcome as JSON (upload_json.h).
#include "workflow/upload_json.h"

#include "store/record_json.h"
#include "util/iso_time.h"
#include "util/json_number.h"

namespace vigil {

boost::json::object ContentJson(const ContentRecord& content) {
  boost::json::object hashes;
  for (const auto& [type, value] : content.hashes) hashes[type] = value;
  boost::json::array matches;
  for (const auto& match : content.matches) {
    boost::json::object m{{"bank", match.bank_name},
                          {"entry_id", match.entry_id},
                          {"signal_type", match.signal_type},
                          {"entry_value", match.entry_value},
                          {"distance", match.distance},
                          {"source", match.provenance.source},
                          {"member", match.provenance.member},
                          {"external_id", match.provenance.external_id},
                          {"classification", match.provenance.classification},
                          {"matched_at", IsoTime(match.matched_at)}};
    m["quality"] = match.quality ? boost::json::value(*match.quality) : nullptr;
    if (match.query_match_percent) m["query_match_percent"] = JsonNumber(*match.query_match_percent);
    if (match.compared_match_percent) m["compared_match_percent"] = JsonNumber(*match.compared_match_percent);
    if (!match.measure.empty()) m["measure"] = match.measure;
    m["retroactive"] = match.retroactive;
    if (match.suppressed_by != 0) m["suppressed_by"] = match.suppressed_by;
    if (match.quarantined) m["entry_quarantined"] = true;
    if (match.sweep_of != 0) m["sweep_of"] = match.sweep_of;
    m["entry_confirmed"] = match.entry_confirmed;  // this platform's reviews of the entry's matches
    m["entry_rejected"] = match.entry_rejected;
    matches.push_back(std::move(m));
  }
  boost::system::error_code ec;
  auto metadata = boost::json::parse(content.metadata_json, ec);
  boost::json::object out{{"content_id", content.content_id},
                          {"user_id", content.user_id},
                          {"media_type", content.media_type},
                          {"byte_size", content.byte_size},
                          {"hashes", std::move(hashes)},
                          {"submitted_at", IsoTime(content.submitted_at)},
                          {"metadata", ec ? boost::json::value(boost::json::object{}) : std::move(metadata)},
                          {"matches", std::move(matches)},
                          {"classifications", ClassificationsJson(content.classifications)}};
  out["pdq_quality"] = content.pdq_quality ? boost::json::value(*content.pdq_quality) : nullptr;
  if (!content.vpdq.empty()) out["vpdq"] = content.vpdq;  // the reference's text format
  return out;
}

boost::json::object UploadAnswer(const ContentRecord& content) {
  boost::json::object out = ContentJson(content);
  if (!content.policy_outcome.empty()) {
    boost::system::error_code ec;
    auto policy = boost::json::parse(content.policy_outcome, ec);
    if (!ec) out["policy"] = std::move(policy);
  }
  return out;
}

}  // namespace vigil
