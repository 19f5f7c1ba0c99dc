// Kept media: the bytes of uploads that open or join a case, kept for review, evidence
// preservation and CyberTipline uploads. Content-addressed by the upload's SHA-256 (lowercase hex),
// so the same bytes uploaded twice are kept once. This is the one owner of those files: writers
// (the upload workflow) and readers (the review console, evidence preservation, the filer) go
// through it and share its limits.
//
// Contract:
//   Keep(sha256, bytes)  durable before it returns: written whole under a temporary name, synced,
//                        renamed into place, so a reader never sees part of a file; keeping bytes
//                        already kept is a no-op. kInvalidArgument for a name that is not 64 hex
//                        digits or not the bytes' SHA-256, kTooLarge over max_bytes, kIoError when the disk refuses.
//   Read(sha256)         the kept bytes; kNotFound when nothing is kept under that name,
//                        kTooLarge when the file on disk is over max_bytes, kCorrupt when its bytes
//                        no longer hash to their name (changed on disk).
//   Has(sha256)          whether bytes are kept under that name.
//
// Thread safety: every method may be called from many threads at once (the file system orders
// them; two writers of the same name both succeed and leave one whole file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil {

class MediaStore {
 public:
  virtual ~MediaStore() = default;
  virtual Status Keep(const std::string& sha256, std::span<const std::uint8_t> bytes) = 0;
  virtual Result<std::vector<std::uint8_t>> Read(const std::string& sha256) const = 0;
  virtual bool Has(const std::string& sha256) const = 0;
};

// The largest file kept or read (uploads are bounded by the server's max_body_bytes well below).
inline constexpr std::uint64_t kMaxKeptMediaBytes = 4ull << 30;

// Kept media in a directory (DATA_DIR/media), one file per SHA-256, mode 0600; the directory is
// created on the first Keep.
std::unique_ptr<MediaStore> OpenMediaDirectory(std::filesystem::path dir,
                                               std::uint64_t max_bytes = kMaxKeptMediaBytes);

}  // namespace vigil
