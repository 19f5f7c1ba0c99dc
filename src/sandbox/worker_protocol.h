// The framing between the service and a decoder worker over a Unix socket pair: fixed-size
// little-endian headers, then JSON options and the raw bytes; answers are a header and JSON.
// Both ends check magic, sizes and limits before allocating anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::sandbox {

inline constexpr std::uint32_t kRequestMagic = 0x31575156;  // "VQW1"
inline constexpr std::uint32_t kAnswerMagic = 0x31415156;   // "VQA1"
inline constexpr std::size_t kMaxOptionsBytes = 64 << 10;
inline constexpr std::size_t kMaxAnswerBytes = 256 << 20;  // a long video's frame list fits easily

// kLoadModel: options {"model": its name, "input": TensorSpec JSON}, body the ONNX bytes; the answer says
// {"outputs": N}, the size of the model's output on a tensor of zeros. kClassify: options as
// kHash's plus "model" (a name loaded before), body the image; the answer {"outputs": [floats]}.
// kPluginSet: options {"signal", "version"}, body the plug-in type's list values (hash_bytes each,
// concatenated); the worker keeps them for kPluginHash and answers {"count": N}. kPluginHash:
// options as kHash's plus {"signal", "version" (of the values it must scan), "max_distance",
// "limit"}, body the upload; the answer {"value": hex, "near": [[position, distance], ...]} or
// {"unsuitable": why}. kPluginMatch: options {"signal", "version", "max_distance", "limit"}, body
// one value (hash_bytes); the answer as kPluginHash's, for a value looked up without its media.
enum class WorkerOp : std::uint32_t {
  kHash = 1, kProbe = 2, kPreview = 3, kLoadModel = 4, kClassify = 5, kPluginSet = 6, kPluginHash = 7, kPluginMatch = 8
};
// kLargeLane: a small-lane worker read the image's header and found it larger than its lane
// takes; nothing was decoded, and the service sends the request to a large-lane worker.
// kRefused: an error found from the image's header before any decoding (a declared size over the
// limits, a decompression bomb): nothing ran that could leave state behind, so it does not count
// towards the worker's recycling.
enum class AnswerStatus : std::uint32_t { kReady = 0, kOk = 1, kError = 2, kLargeLane = 3, kRefused = 4 };

struct RequestHeader {
  std::uint32_t magic = kRequestMagic;
  std::uint32_t op = 0;
  std::uint32_t options_bytes = 0;
  std::uint32_t cpu_seconds = 0;  // the CPU time this request may use (all threads); 0: no budget
  std::uint64_t body_bytes = 0;
  // Unique per request in the pool; the answer repeats it. Code running in the worker (a decoder
  // taken over, a hash plug-in) can write to the socket: a frame written out of turn is then found
  // by the request after it (a sequence it was not sent), and the worker is killed, instead of that
  // request taking another upload's answer as its own.
  std::uint64_t sequence = 0;
};

struct AnswerHeader {
  std::uint32_t magic = kAnswerMagic;
  std::uint32_t status = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t sequence = 0;  // the request's; 0 for the ready message
};

static_assert(sizeof(RequestHeader) == 32 && sizeof(AnswerHeader) == 24);

// Blocking whole reads and writes on a descriptor (EINTR retried). ReadAll: kTruncated at a clean
// end of stream before the first byte, kIoError otherwise.
Status WriteAll(int fd, const void* data, std::size_t size);
Status ReadAll(int fd, void* data, std::size_t size);

// The worker's answer frames.
Status WriteAnswer(int fd, AnswerStatus status, std::string_view payload, std::uint64_t sequence = 0);

}  // namespace vigil::sandbox
