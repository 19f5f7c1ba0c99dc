// FileHasher: bytes -> decode -> PDQ (and dihedral variants) + cryptographic digests.
#include "vigil/file_hasher.h"

#include "vigil/border.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace vigil {

Result<std::vector<std::uint8_t>> ReadFileLimited(const std::filesystem::path& path,
                                                  std::size_t max_bytes) {
  // Non-blocking: a FIFO opens at once (and is refused below) instead of waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int e = errno;
    return Fail(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIoError,
                std::string("cannot open: ") + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kIoError, "not a readable file");
  }
  // Only regular files: a device (/dev/zero) or a pipe would be read up to the limit, gigabytes.
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kUnsupported, "not a regular file (a FIFO, device or socket)");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Fail(ErrorCode::kTooLarge, "file is " + std::to_string(st.st_size) +
                                          " bytes, over the limit of " + std::to_string(max_bytes));
  }
  std::vector<std::uint8_t> data;
  // The size as stated, plus one byte: a file that grew while read is caught past the limit.
  const auto expect = static_cast<std::size_t>(st.st_size);
  auto grow = [&data](std::size_t size) {
    try {
      data.resize(size);
      return true;
    } catch (const std::bad_alloc&) {
      return false;
    }
  };
  auto out_of_memory = [&fd, &data]() {
    ::close(fd);
    return Fail(ErrorCode::kResourceExhausted,
                "out of memory reading the file (" + std::to_string(data.size()) + " bytes read so far)");
  };
  if (!grow(std::min(expect, max_bytes) + 1)) return out_of_memory();
  std::size_t have = 0;
  for (;;) {
    if (have == data.size()) {
      if (data.size() > max_bytes) break;
      if (!grow(std::min(data.size() * 2, max_bytes + 1))) return out_of_memory();
    }
    const ssize_t n = ::read(fd, data.data() + have, data.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return Fail(ErrorCode::kIoError, std::string("read failed: ") + std::strerror(e));
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (have > max_bytes) {
    return Fail(ErrorCode::kTooLarge, "file is over the limit of " + std::to_string(max_bytes) + " bytes");
  }
  data.resize(have);
  return data;
}

Result<FileHashResult> FileHasher::HashBytes(std::span<const std::uint8_t> bytes) {
  VIGIL_ASSIGN_OR_RETURN(auto image, DecodeImage(bytes, options_.limits));
  FileHashResult r;
  r.width = image.source_width;
  r.height = image.source_height;
  r.format = image.format;
  if (options_.dihedral) {
    PdqDihedralResult d = pdq_.HashDihedral(image, options_.pdq);
    r.pdq.hash = d.hashes[0];
    r.pdq.quality = d.quality;
    r.dihedral = d;
  } else {
    r.pdq = pdq_.Hash(image, options_.pdq);
  }
  if (options_.trimmed) {
    for (const BorderBox& box : TrimCandidates(image)) r.trimmed.push_back(pdq_.Hash(CropToContent(image, box), options_.pdq));
  }
  r.digests = ComputeDigests(bytes);
  return r;
}

Result<FileHashResult> FileHasher::HashFile(const std::filesystem::path& path) {
  auto bytes = ReadFileLimited(path, options_.limits.max_file_bytes);
  if (!bytes) return tl::unexpected(WithContext(bytes.error(), path.string()));
  auto r = HashBytes(*bytes);
  if (!r) return tl::unexpected(WithContext(r.error(), path.string()));
  return r;
}

}  // namespace vigil
