// The metadata a platform sends with an upload (X-Vigil-Metadata, `vigil scan`'s and the workers'
// metadata): a JSON object kept with the upload as given, of which Vigil reads the keys below, in
// one place. Submit checks them (a wrong type or an ip_event without an ip is refused when the
// upload arrives, not when its report is drafted weeks later); the policy and the CyberTipline
// report read this struct, never the JSON. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil {

struct UploadMetadata {
  std::string jurisdiction;                // "US", "DE": what policy rules' `jurisdictions` match
  std::string file_name;                   // the name the uploader gave the file (reported)
  std::string screen_name;                 // the uploader's screen name (reported)
  std::optional<bool> publicly_available;  // whether the file was public (reported)
  std::string ip;                          // the upload's IP address: an "Upload" event at its time
  struct Event {
    std::string ip;
    std::string event = "Upload";
    std::optional<std::int64_t> at;  // microseconds since the epoch; none: the upload's time
  };
  std::optional<Event> ip_event;  // {"ip", "event", "at" (ISO 8601)}: another event the platform recorded
};

// Reads the keys above from a metadata JSON object ("" or "{}": none). kInvalidArgument naming the
// key for a value of the wrong type, an ip_event without "ip", or an "at" that is not ISO 8601.
Result<UploadMetadata> ParseUploadMetadata(std::string_view json);

}  // namespace vigil
