// An upload's recorded outcome as JSON, one shape for every caller: the answer to POST /v1/content,
// GET /v1/content/{id}, and the result event a stream worker publishes (src/stream/). Thread
// safety: pure functions.
#pragma once

#include <boost/json.hpp>

#include "vigil/store.h"

namespace vigil {

// The content record: ids, media type, hashes, metadata and every match with its provenance.
boost::json::object ContentJson(const ContentRecord& content);
// ContentJson and, when it matched, "policy": what the policy did, as recorded with it (so a
// retried upload, or a redelivered event, gets the same answer).
boost::json::object UploadAnswer(const ContentRecord& content);

}  // namespace vigil
