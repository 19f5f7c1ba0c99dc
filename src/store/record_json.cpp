// BankJson and EntryJson (store/record_json.h).
#include "store/record_json.h"

#include <algorithm>

#include "util/iso_time.h"
#include "util/json_number.h"

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

namespace vigil {

boost::json::array ClassificationsJson(const std::vector<Classification>& classifications) {
  boost::json::array out;
  for (const auto& c : classifications) {
    boost::json::array labels;
    for (const auto& l : c.labels) labels.push_back(boost::json::object{{"label", l.label}, {"score", JsonNumber(l.score)}});
    boost::json::object o{{"classifier", c.classifier}, {"model", c.model},   {"version", c.version},
                          {"labels", std::move(labels)}, {"latency_ms", c.latency_ms}};
    o["error"] = c.error.empty() ? boost::json::value(nullptr) : boost::json::value(c.error);
    out.push_back(std::move(o));
  }
  return out;
}

std::string ClassificationsText(const std::vector<Classification>& classifications) {
  return classifications.empty() ? std::string() : boost::json::serialize(ClassificationsJson(classifications));
}

std::vector<Classification> ClassificationsFromText(std::string_view text) {
  std::vector<Classification> out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  const auto doc = boost::json::parse(text, ec);
  if (ec || !doc.is_array()) return out;
  auto text_of = [](const boost::json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  for (const auto& item : doc.as_array()) {
    const auto* o = item.if_object();
    if (o == nullptr) continue;
    Classification c;
    c.classifier = text_of(*o, "classifier");
    c.model = text_of(*o, "model");
    c.version = text_of(*o, "version");
    c.error = text_of(*o, "error");
    if (const auto* ms = o->if_contains("latency_ms"); ms != nullptr && ms->is_int64()) c.latency_ms = ms->as_int64();
    if (const auto* labels = o->if_contains("labels"); labels != nullptr && labels->is_array()) {
      for (const auto& l : labels->as_array()) {
        const auto* lo = l.if_object();
        const auto* score = lo != nullptr ? lo->if_contains("score") : nullptr;
        if (score == nullptr || !score->is_number()) continue;
        c.labels.push_back({text_of(*lo, "label"), score->to_number<double>()});
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace vigil
