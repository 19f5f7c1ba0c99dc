// Whole reads and writes for the worker protocol (see worker_protocol.h).
#include "sandbox/worker_protocol.h"

#include <errno.h>
#include <unistd.h>

#include <cstring>

namespace vigil::sandbox {

Status WriteAll(int fd, const void* data, std::size_t size) {
  // write(), not send(): the worker's filter allows the fewest calls (and it ignores SIGPIPE).
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(ErrorCode::kIoError, std::string("worker pipe write: ") + std::strerror(errno));
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

Status ReadAll(int fd, void* data, std::size_t size) {
  auto* p = static_cast<char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = read(fd, p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && done == 0) return Fail(ErrorCode::kTruncated, "end of stream");
    if (n <= 0) return Fail(ErrorCode::kIoError, "worker pipe closed mid-message");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status WriteAnswer(int fd, AnswerStatus status, std::string_view payload, std::uint64_t sequence) {
  AnswerHeader h;
  h.status = static_cast<std::uint32_t>(status);
  h.sequence = sequence;
  h.payload_bytes = payload.size();
  VIGIL_TRY(WriteAll(fd, &h, sizeof h));
  return WriteAll(fd, payload.data(), payload.size());
}

}  // namespace vigil::sandbox
