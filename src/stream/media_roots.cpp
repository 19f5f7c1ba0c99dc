// Reading media beneath allowed roots with openat2 (media_roots.h).
#include "stream/media_roots.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace vigil::stream {
namespace {

int OpenBeneath(int dir, const std::string& relative) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, dir, relative.c_str(), &how, sizeof how));
}

std::string Shown(const std::string& path) { return "'" + path.substr(0, 200) + "'"; }

}  // namespace

MediaRoots::MediaRoots(MediaRoots&& other) noexcept : roots_(std::exchange(other.roots_, {})) {}
MediaRoots& MediaRoots::operator=(MediaRoots&& other) noexcept {
  if (this != &other) {
    for (auto& r : roots_) ::close(r.fd);
    roots_ = std::exchange(other.roots_, {});
  }
  return *this;
}
MediaRoots::~MediaRoots() {
  for (auto& r : roots_) ::close(r.fd);
}

Result<MediaRoots> MediaRoots::Open(const std::vector<std::string>& roots) {
  MediaRoots out;
  for (std::string name : roots) {
    while (name.size() > 1 && name.back() == '/') name.pop_back();
    if (name.empty()) return Fail(ErrorCode::kInvalidArgument, "a media root is empty");
    const int fd = ::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      return Fail(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument,
                  "media root " + Shown(name) + ": " + std::strerror(e));
    }
    out.roots_.push_back({name, fd});
  }
  return out;
}

Result<std::vector<std::uint8_t>> MediaRoots::Read(const std::string& path, std::uint64_t max_bytes) const {
  if (roots_.empty()) {
    return Fail(ErrorCode::kPermissionDenied, "media path " + Shown(path) + ": this worker reads no paths (no media roots)");
  }
  if (path.find('\0') != std::string::npos || path.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "media path is empty or contains NUL");
  }
  const Root* root = nullptr;
  std::string relative;
  if (path.front() == '/') {
    for (const auto& r : roots_) {
      const std::string prefix = r.name == "/" ? "/" : r.name + "/";
      if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0) {
        root = &r;
        relative = path.substr(prefix.size());
        break;
      }
    }
    if (root == nullptr) return Fail(ErrorCode::kPermissionDenied, "media path " + Shown(path) + " is under no media root");
  } else {
    root = &roots_.front();
    relative = path;
  }
  const int fd = OpenBeneath(root->fd, relative);
  if (fd < 0) {
    const int e = errno;
    if (e == EXDEV) return Fail(ErrorCode::kPermissionDenied, "media path " + Shown(path) + " leaves its media root");
    if (e == ELOOP) {
      return Fail(ErrorCode::kPermissionDenied,
                  "media path " + Shown(path) + " leaves its media root or goes round a loop of links");
    }
    if (e == ENAMETOOLONG || e == ENOTDIR || e == EISDIR) {
      return Fail(ErrorCode::kInvalidArgument, "media path " + Shown(path) + ": " + std::strerror(e));
    }
    if (e == ENOSYS) return Fail(ErrorCode::kUnsupported, "this kernel has no openat2 (Linux 5.6 or later is needed)");
    return Fail(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIoError,
                "media path " + Shown(path) + ": " + std::strerror(e));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Fail(ErrorCode::kIoError, "media path " + Shown(path) + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Fail(ErrorCode::kUnsupported, "media path " + Shown(path) + " is not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    return Fail(ErrorCode::kTooLarge, "media path " + Shown(path) + " is " + std::to_string(size) +
                                          " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrorCode::kIoError, "media path " + Shown(path) + ": " + std::strerror(errno));
    if (n == 0) break;  // shrank while read: what is there
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

}  // namespace vigil::stream
