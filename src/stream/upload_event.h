// The upload event a platform publishes for each upload, and the result event a worker publishes
// back (docs/stream.md). An upload event is one NATS message:
//   headers  Vigil-Content-Id   the platform's id for the upload (required; 1-256 bytes)
//            Vigil-User-Id      the uploader (optional)
//            Vigil-Metadata     a JSON object (ip_event, ...; optional, at most 64 KiB)
//            Vigil-Media-Path   where the bytes are, under one of the worker's media roots; then
//                               the payload is empty
//            Nats-Msg-Id        the content id again, so a publisher's retry is stored once
//   payload  the media bytes (when no Vigil-Media-Path)
// Everything in it is hostile until checked here: ids as the HTTP API checks them, the metadata as
// JSON, the path as a relative name that stays beneath a root (media_roots.h reads it).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "vigil/cases.h"
#include "vigil/status.h"

namespace vigil::stream {

inline constexpr const char* kContentIdHeader = "Vigil-Content-Id";
inline constexpr const char* kUserIdHeader = "Vigil-User-Id";
inline constexpr const char* kMetadataHeader = "Vigil-Metadata";
inline constexpr const char* kMediaPathHeader = "Vigil-Media-Path";
inline constexpr std::size_t kMaxMetadataBytes = 64 << 10;

struct UploadEvent {
  std::string content_id;
  std::string user_id;
  std::string metadata_json;  // "" or a JSON object
  std::string media_path;     // "" when the bytes are the payload
};

// A header by name; none when absent.
using HeaderLookup = std::function<std::optional<std::string>(const char* name)>;

// Checks an event's headers and payload size. kInvalidArgument naming the header at fault.
Result<UploadEvent> ParseUploadEvent(const HeaderLookup& header, std::size_t payload_bytes, std::size_t max_inline_bytes);

// The result event's JSON for a recorded upload: the same object POST /v1/content answers
// (workflow/upload_json.h), so a redelivered event publishes the same bytes again.
std::string ResultEventJson(const RecordedUpload& recorded);
// The result event of an upload whose media could not be hashed: {"content_id", "user_id",
// "error": {"code", "message"}}.
std::string ErrorEventJson(const UploadEvent& event, const Error& error);
// A dead letter: the event's ids, why it was given up on, after how many deliveries, and where it
// was in the stream.
std::string DeadLetterJson(const UploadEvent& event, const std::string& subject, std::uint64_t stream_sequence,
                           std::uint64_t deliveries, const std::string& reason);

}  // namespace vigil::stream
