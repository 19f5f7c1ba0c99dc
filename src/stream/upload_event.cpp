// Upload, result and dead-letter events (upload_event.h).
#include "stream/upload_event.h"

#include <boost/json.hpp>

#include "vigil/upload_metadata.h"
#include "workflow/upload_json.h"
#include "workflow/upload_workflow.h"

namespace vigil::stream {
namespace {

Error In(const char* header, const Error& e) { return {e.code, std::string(header) + ": " + e.message}; }

}  // namespace

Result<UploadEvent> ParseUploadEvent(const HeaderLookup& header, std::size_t payload_bytes, std::size_t max_inline_bytes) {
  UploadEvent event;
  auto content_id = header(kContentIdHeader);
  if (!content_id) return Fail(ErrorCode::kInvalidArgument, std::string(kContentIdHeader) + " header is required");
  event.content_id = std::move(*content_id);
  event.user_id = header(kUserIdHeader).value_or("");
  if (auto ids = CheckUploadIds(event.content_id, event.user_id); !ids) {
    return tl::unexpected(In(ids.error().message.rfind("user_id", 0) == 0 ? kUserIdHeader : kContentIdHeader, ids.error()));
  }
  if (auto metadata = header(kMetadataHeader)) {
    if (metadata->size() > kMaxMetadataBytes) {
      return Fail(ErrorCode::kTooLarge, std::string(kMetadataHeader) + " is larger than " +
                                            std::to_string(kMaxMetadataBytes) + " bytes");
    }
    boost::system::error_code ec;
    const auto parsed = boost::json::parse(*metadata, ec);
    if (ec || !parsed.is_object()) {
      return Fail(ErrorCode::kInvalidArgument, std::string(kMetadataHeader) + " is not a JSON object");
    }
    if (auto read = ParseUploadMetadata(*metadata); !read) return tl::unexpected(In(kMetadataHeader, read.error()));
    event.metadata_json = std::move(*metadata);
  }
  if (auto path = header(kMediaPathHeader)) {
    if (payload_bytes != 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string(kMediaPathHeader) + " is given and the payload is not empty: send one or the other");
    }
    if (path->empty()) return Fail(ErrorCode::kInvalidArgument, std::string(kMediaPathHeader) + " is empty");
    event.media_path = std::move(*path);
  } else if (payload_bytes == 0) {
    return Fail(ErrorCode::kInvalidArgument, "the payload is empty and there is no " + std::string(kMediaPathHeader));
  } else if (payload_bytes > max_inline_bytes) {
    return Fail(ErrorCode::kTooLarge, "the payload is " + std::to_string(payload_bytes) + " bytes, more than the " +
                                          std::to_string(max_inline_bytes) + " inline media may be (send " +
                                          kMediaPathHeader + " instead)");
  }
  return event;
}

std::string ResultEventJson(const RecordedUpload& recorded) {
  return boost::json::serialize(UploadAnswer(recorded.content));
}

std::string ErrorEventJson(const UploadEvent& event, const Error& error) {
  return boost::json::serialize(boost::json::object{
      {"content_id", event.content_id},
      {"user_id", event.user_id},
      {"error", {{"code", std::string(ErrorCodeName(error.code))}, {"message", error.message}}}});
}

std::string DeadLetterJson(const UploadEvent& event, const std::string& subject, std::uint64_t stream_sequence,
                           std::uint64_t deliveries, const std::string& reason) {
  return boost::json::serialize(boost::json::object{{"content_id", event.content_id},
                                                    {"user_id", event.user_id},
                                                    {"subject", subject},
                                                    {"stream_sequence", stream_sequence},
                                                    {"deliveries", deliveries},
                                                    {"reason", reason}});
}

}  // namespace vigil::stream
