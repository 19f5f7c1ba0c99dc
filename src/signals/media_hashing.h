// Hashing one upload, image or video (sniffed from the bytes), into the signals the matcher looks
// up: digests and PDQ (plus the extra image measures banks may enable) or vPDQ. The service runs
// it in a sandboxed worker process (src/sandbox/) or in-process; the JSON forms carry the options
// and the result across the worker's pipe.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "vigil/image.h"
#include "vigil/pdq.h"
#include "vigil/status.h"
#include "vigil/video.h"

namespace vigil {

// Which extra image hashes to compute (only what some enabled bank looks up).
struct ExtraMeasures {
  bool dihedral = false, trimmed = false;
};

struct MediaHashOptions {
  DecodeLimits limits;
  VideoHashOptions video;
  ExtraMeasures extra;
};

// What an upload hashed to.
struct HashedMedia {
  std::string media_type;  // "image/jpeg", "video/mp4", ...
  std::uint32_t width = 0, height = 0;
  std::map<std::string, std::string> signals;  // type -> value (vpdq: the frames' identity)
  std::optional<int> pdq_quality;
  std::optional<VideoHashResult> video;
  // Extra image hashes for banks that enable the measures: (label, measure, hash).
  std::vector<std::tuple<std::string, std::string, PdqHash>> extra;
};

Result<HashedMedia> HashMedia(std::span<const std::uint8_t> bytes, const MediaHashOptions& options);

boost::json::object MediaHashOptionsToJson(const MediaHashOptions& options);
Result<MediaHashOptions> MediaHashOptionsFromJson(const boost::json::value& json);
boost::json::object HashedMediaToJson(const HashedMedia& media);
Result<HashedMedia> HashedMediaFromJson(const boost::json::value& json);

}  // namespace vigil
