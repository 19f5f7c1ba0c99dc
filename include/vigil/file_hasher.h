// One call from a file (or bytes) to every signal Vigil computes for an image: the PDQ hash and
// quality (optionally all eight dihedral variants) and the file's MD5/SHA-1/SHA-256.
//
//   vigil::FileHasher hasher(options);                // one per thread
//   auto r = hasher.HashFile("upload.jpg");
//   if (r) use(r->pdq.hash.ToHex(), r->digests.sha256);
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "vigil/digest.h"
#include "vigil/image.h"
#include "vigil/pdq.h"
#include "vigil/status.h"

namespace vigil {

struct FileHashOptions {
  DecodeLimits limits;
  PdqOptions pdq;
  bool dihedral = false;
  // Also hash the content inside detected borders (padding, letterbox bars, blurred fill): an
  // extra signal, never a replacement for the reference hash (see border.h).
  bool trimmed = false;
};

struct FileHashResult {
  PdqResult pdq;
  std::optional<PdqDihedralResult> dihedral;  // set when FileHashOptions::dihedral
  std::vector<PdqResult> trimmed;              // FileHashOptions::trimmed: one per candidate box
  FileDigests digests;
  std::uint32_t width = 0;   // as stored in the file
  std::uint32_t height = 0;
  ImageFormat format = ImageFormat::kUnknown;
};

// Reads a whole regular file, refusing (kTooLarge) anything over max_bytes before reading it, and
// anything else (kUnsupported: a FIFO, a device, a socket) without blocking or reading a byte.
Result<std::vector<std::uint8_t>> ReadFileLimited(const std::filesystem::path& path,
                                                  std::size_t max_bytes);

class FileHasher {
 public:
  explicit FileHasher(FileHashOptions options) : options_(std::move(options)) {}

  // Errors carry the path in their message.
  Result<FileHashResult> HashFile(const std::filesystem::path& path);
  Result<FileHashResult> HashBytes(std::span<const std::uint8_t> bytes);

 private:
  FileHashOptions options_;
  PdqHasher pdq_;
};

}  // namespace vigil
