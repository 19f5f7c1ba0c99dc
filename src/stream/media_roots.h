// Reading an upload's bytes by path for a stream worker, from folders the operator allowed (the
// platform's upload storage mounted read-only, say) and nowhere else. A path in an event is
// hostile: it is read with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from the root's
// directory descriptor, so "..", absolute symlinks and symlinks that climb out of the root are
// refused by the kernel, with no window between a check and the open; only regular files are read
// (a FIFO or a device is refused without blocking), up to the size limit.
//
// Thread safety: MediaRoots is immutable after Open; Read may run on many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil::stream {

class MediaRoots {
 public:
  // Opens each root folder (kNotFound / kInvalidArgument naming the one that is not a folder).
  static Result<MediaRoots> Open(const std::vector<std::string>& roots);
  MediaRoots(MediaRoots&&) noexcept;
  MediaRoots& operator=(MediaRoots&&) noexcept;
  ~MediaRoots();

  bool empty() const { return roots_.empty(); }

  // The bytes at `path`: "ROOT/REL" for one of the roots (matched by its name as given), or a
  // relative "REL" under the first root. kPermissionDenied when it is under none of them or
  // escapes its root; kNotFound; kUnsupported when not a regular file; kTooLarge past `max_bytes`.
  Result<std::vector<std::uint8_t>> Read(const std::string& path, std::uint64_t max_bytes) const;

 private:
  struct Root {
    std::string name;  // as configured, without a trailing slash
    int fd = -1;
  };
  MediaRoots() = default;
  std::vector<Root> roots_;
};

}  // namespace vigil::stream
