// The vpdq list format: one video's vPDQ frames in the reference's text format, imported as one
// vpdq entry whose value is the frames' identity (SHA-256 of their canonical text).
#include "lists/list_formats.h"
#include "vigil/video.h"

namespace vigil::lists {

Result<ParsedList> ParseVpdqList(std::string_view data, const ListParseOptions& options) {
  auto frames = ParseVpdq(data);
  if (!frames) return Fail(frames.error().code, options.source + ": " + frames.error().message);
  if (frames->empty()) return Fail(ErrorCode::kInvalidArgument, options.source + ": no vPDQ frames");
  if (VpdqMatchableHashes(*frames, 0).empty()) {
    return Fail(ErrorCode::kInvalidArgument, options.source + ": no frame hashes");
  }
  Provenance provenance;
  provenance.source = options.source;
  provenance.external_id = options.external_id;
  provenance.classification = options.classification;
  auto op = MakeAddOp("vpdq", VpdqIdentity(*frames), std::move(provenance), 1, FormatVpdq(*frames));
  if (!op) return Fail(op.error().code, options.source + ": " + op.error().message);
  ParsedList list;
  list.ops.push_back(std::move(*op));
  return list;
}

}  // namespace vigil::lists
