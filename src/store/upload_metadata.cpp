// ParseUploadMetadata (include/vigil/upload_metadata.h).
#include "vigil/upload_metadata.h"

#include <boost/json.hpp>

#include "util/iso_time.h"

namespace vigil {
namespace {

namespace json = boost::json;

Status StringKey(const json::object& o, const char* key, const std::string& where, std::string* out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) return Fail(ErrorCode::kInvalidArgument, "metadata " + where + key + " must be a string");
  *out = std::string(v->as_string());
  return {};
}

}  // namespace

Result<UploadMetadata> ParseUploadMetadata(std::string_view text) {
  UploadMetadata m;
  if (text.empty()) return m;
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return Fail(ErrorCode::kInvalidArgument, "metadata must be a JSON object");
  const json::object& o = value.as_object();
  VIGIL_TRY(StringKey(o, "jurisdiction", "", &m.jurisdiction));
  VIGIL_TRY(StringKey(o, "file_name", "", &m.file_name));
  VIGIL_TRY(StringKey(o, "screen_name", "", &m.screen_name));
  VIGIL_TRY(StringKey(o, "ip", "", &m.ip));
  if (const auto* p = o.if_contains("publicly_available"); p != nullptr && !p->is_null()) {
    if (!p->is_bool()) return Fail(ErrorCode::kInvalidArgument, "metadata publicly_available must be true or false");
    m.publicly_available = p->as_bool();
  }
  if (const auto* e = o.if_contains("ip_event"); e != nullptr && !e->is_null()) {
    if (!e->is_object()) return Fail(ErrorCode::kInvalidArgument, "metadata ip_event must be an object {ip, event, at}");
    const json::object& eo = e->as_object();
    UploadMetadata::Event event;
    VIGIL_TRY(StringKey(eo, "ip", "ip_event.", &event.ip));
    if (event.ip.empty()) return Fail(ErrorCode::kInvalidArgument, "metadata ip_event needs an ip");
    VIGIL_TRY(StringKey(eo, "event", "ip_event.", &event.event));
    if (event.event.empty()) event.event = "Upload";
    std::string at;
    VIGIL_TRY(StringKey(eo, "at", "ip_event.", &at));
    if (!at.empty()) {
      event.at = ParseIsoTime(at);
      if (!event.at) {
        return Fail(ErrorCode::kInvalidArgument, "metadata ip_event.at must be an ISO 8601 time like 2026-11-30T10:00:00Z");
      }
    }
    m.ip_event = std::move(event);
  }
  return m;
}

}  // namespace vigil
