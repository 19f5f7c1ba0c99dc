// Kept media in a directory: content-addressed files written whole (temporary name, fsync, rename).
#include "store/media_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "vigil/digest.h"
#include "vigil/file_hasher.h"

namespace vigil {
namespace {

bool IsSha256Hex(const std::string& name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status CheckName(const std::string& sha256) {
  if (IsSha256Hex(sha256)) return {};
  return Fail(ErrorCode::kInvalidArgument, "kept media are named by a SHA-256 in lowercase hex, got '" +
                                               sha256.substr(0, 80) + "'");
}

class MediaDirectory final : public MediaStore {
 public:
  MediaDirectory(std::filesystem::path dir, std::uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  Status Keep(const std::string& sha256, std::span<const std::uint8_t> bytes) override {
    if (auto ok = CheckName(sha256); !ok) return ok;
    if (bytes.size() > max_bytes_) {
      return Fail(ErrorCode::kTooLarge, "cannot keep media for review: " + std::to_string(bytes.size()) +
                                            " bytes is over the limit of " + std::to_string(max_bytes_));
    }
    if (Sha256Hex(bytes) != sha256) {
      return Fail(ErrorCode::kInvalidArgument, "cannot keep media under " + sha256 + ": that is not their SHA-256");
    }
    const auto path = dir_ / sha256;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return {};
    std::filesystem::create_directories(dir_, ec);
    static std::atomic<std::uint64_t> sequence{0};
    const auto tmp = path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++sequence);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Fail(ErrorCode::kIoError, "cannot keep media for review: " + std::string(std::strerror(errno)));
    std::size_t written = 0;
    while (written < bytes.size()) {
      const auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    const bool ok = written == bytes.size() && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(tmp.c_str());
      return Fail(ErrorCode::kIoError, "cannot keep media for review: the write failed");
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
      ::unlink(tmp.c_str());
      return Fail(ErrorCode::kIoError, "cannot keep media for review: " + ec.message());
    }
    return {};
  }

  Result<std::vector<std::uint8_t>> Read(const std::string& sha256) const override {
    VIGIL_TRY(CheckName(sha256));
    std::error_code ec;
    if (!std::filesystem::exists(dir_ / sha256, ec)) {
      return Fail(ErrorCode::kNotFound, "no media kept for " + sha256);
    }
    VIGIL_ASSIGN_OR_RETURN(auto bytes, ReadFileLimited(dir_ / sha256, max_bytes_));
    // The name is the bytes' SHA-256: a file changed on disk (damage, tampering) is not served as
    // the upload a reviewer decides on or a report sends.
    if (Sha256Hex(bytes) != sha256) {
      return Fail(ErrorCode::kCorrupt, "the media kept for " + sha256 + " no longer has that SHA-256 (changed on disk)");
    }
    return bytes;
  }

  bool Has(const std::string& sha256) const override {
    std::error_code ec;
    return IsSha256Hex(sha256) && std::filesystem::exists(dir_ / sha256, ec);
  }

 private:
  std::filesystem::path dir_;
  std::uint64_t max_bytes_;
};

}  // namespace

std::unique_ptr<MediaStore> OpenMediaDirectory(std::filesystem::path dir, std::uint64_t max_bytes) {
  return std::make_unique<MediaDirectory>(std::move(dir), max_bytes);
}

}  // namespace vigil
