// BankJson and EntryJson (store/record_json.h).
#include "store/record_json.h"

#include <algorithm>

#include "util/iso_time.h"

namespace vigil {

boost::json::object BankJson(const Bank& bank) {
  boost::json::array labels;
  for (const auto& label : bank.labels) labels.emplace_back(label);
  boost::json::object out{{"name", bank.name},
                          {"description", bank.description},
                          {"labels", std::move(labels)},
                          {"category", bank.category},
                          {"enabled", bank.enabled},
                          {"enabled_ratio", bank.enabled_ratio},
                          {"pdq_max_distance", bank.pdq_max_distance},
                          {"pdq_min_quality", bank.pdq_min_quality},
                          {"match_dihedral", bank.match_dihedral},
                          {"match_trimmed", bank.match_trimmed},
                          {"negative", bank.negative},
                          {"live_entries", bank.live_entries},
                          {"created_at", IsoTime(bank.created_at)},
                          {"updated_at", IsoTime(bank.updated_at)}};
  out["sync_checkpoint"] = bank.sync_checkpoint ? boost::json::value(*bank.sync_checkpoint) : nullptr;
  return out;
}

boost::json::object EntryJson(const BankEntry& entry) {
  boost::json::object out{{"id", entry.id},
                          {"signal_type", entry.signal_type},
                          {"value", entry.value},
                          {"source", entry.provenance.source},
                          {"member", entry.provenance.member},
                          {"external_id", entry.provenance.external_id},
                          {"classification", entry.provenance.classification},
                          {"added_at", IsoTime(entry.added_at)}};
  out["removed_at"] = entry.removed_at ? boost::json::value(IsoTime(*entry.removed_at)) : nullptr;
  out["listed_at"] = entry.listed_at ? boost::json::value(IsoTime(*entry.listed_at)) : nullptr;
  if (!entry.payload.empty()) {
    // A vpdq entry: its frames are exported on their own route; here, how many.
    out["frames"] = static_cast<std::int64_t>(std::count(entry.payload.begin(), entry.payload.end(), '\n'));
  }
  return out;
}

}  // namespace vigil
