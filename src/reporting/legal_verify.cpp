// Checking a law-enforcement package (see include/vigil/legal_package.h): a folder, or a tar
// archive read entry by entry with libarchive and never unpacked. An archive comes from outside and
// is hostile until checked: links, devices, absolute paths and ".." are refused, not followed; the
// files are hashed as they stream (only the manifest, its signature and the custody log are kept,
// each under a bound); a malformed manifest or custody line is a problem, never a crash.
#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "reporting/ed25519.h"
#include "reporting/sodium_hex.h"
#include "store/audit_chain.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"
#include "vigil/legal_package.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::size_t kMaxManifestBytes = 64ull << 20;
constexpr std::size_t kMaxSignatureBytes = 4096;
constexpr std::size_t kMaxCustodyBytes = 1ull << 30;
constexpr std::size_t kMaxEntries = 1'000'000;
constexpr std::size_t kMaxProblems = 1000;

// A name from a package, fit to print: control characters become '?', and it is cut at 200 bytes.
std::string Shown(std::string_view name) {
  std::string out;
  for (const char ch : name.substr(0, 200)) {
    const auto c = static_cast<unsigned char>(ch);
    out += c < 0x20 || c == 0x7f ? '?' : ch;
  }
  if (name.size() > 200) out += "...";
  return out.empty() ? "(an entry without a name)" : out;
}

// The problems found, at most kMaxProblems of them (a hostile archive can hold a million).
class Problems {
 public:
  void Add(std::string problem) {
    if (list_.size() < kMaxProblems) list_.push_back(std::move(problem));
    else ++dropped_;
  }
  std::vector<std::string> Take() {
    if (dropped_ > 0) list_.push_back("... and " + std::to_string(dropped_) + " more problems");
    return std::move(list_);
  }

 private:
  std::vector<std::string> list_;
  std::size_t dropped_ = 0;
};

class Sha256Stream {
 public:
  Sha256Stream() { crypto_hash_sha256_init(&state_); }
  void Update(const void* data, std::size_t size) {
    crypto_hash_sha256_update(&state_, static_cast<const unsigned char*>(data), size);
    size_ += size;
  }
  std::string Hex() {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state_, digest);
    return reporting::Hex(digest, sizeof digest);
  }
  std::uint64_t size() const { return size_; }

 private:
  crypto_hash_sha256_state state_;
  std::uint64_t size_ = 0;
};

struct FileFacts {
  std::string sha256;
  std::uint64_t size = 0;
};

// What a package holds, read from a folder or an archive, before it is judged.
struct Contents {
  std::optional<std::string> manifest, signature, custody;
  std::map<std::string, FileFacts> files;  // every other file, by its path in the package
  std::set<std::string> refused;           // paths already reported (a link, too large): not "missing" too
  Problems problems;
};

bool IsKept(std::string_view name) {
  return name == "manifest.json" || name == "manifest.sig" || name == "custody.jsonl";
}

std::size_t KeptLimit(std::string_view name) {
  return name == "manifest.json" ? kMaxManifestBytes : name == "manifest.sig" ? kMaxSignatureBytes : kMaxCustodyBytes;
}

void Keep(Contents& c, const std::string& name, std::string text) {
  if (name == "manifest.json") c.manifest = std::move(text);
  else if (name == "manifest.sig") c.signature = std::move(text);
  else c.custody = std::move(text);
}

// A folder: the three files at its top and the plain files in files/ (a link there is refused).
Contents ReadFolder(const fs::path& dir) {
  Contents c;
  for (const std::string name : {"manifest.json", "manifest.sig", "custody.jsonl"}) {
    std::error_code ec;
    const auto st = fs::symlink_status(dir / name, ec);
    if (ec || !fs::exists(st)) continue;
    if (!fs::is_regular_file(st)) {
      c.problems.Add(name + ": not a plain file");
      c.refused.insert(name);
      continue;
    }
    auto bytes = ReadFileLimited(dir / name, KeptLimit(name));
    if (!bytes) {
      c.problems.Add(name + ": " + bytes.error().message);
      c.refused.insert(name);
      continue;
    }
    Keep(c, name, std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / "files", ec)) {
    const std::string rel = "files/" + entry.path().filename().string();
    std::error_code st_ec;
    if (!entry.is_regular_file(st_ec) || entry.is_symlink(st_ec)) {
      c.problems.Add(Shown(rel) + ": a link, a folder or another non-file, refused");
      c.refused.insert(rel);
      continue;
    }
    std::FILE* f = std::fopen(entry.path().c_str(), "rbe");
    if (f == nullptr) {
      c.problems.Add(Shown(rel) + ": cannot be read");
      c.refused.insert(rel);
      continue;
    }
    Sha256Stream hash;
    std::vector<char> buffer(1 << 20);
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) hash.Update(buffer.data(), n);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) {
      c.problems.Add(Shown(rel) + ": cannot be read");
      c.refused.insert(rel);
      continue;
    }
    const auto size = hash.size();
    c.files[rel] = {hash.Hex(), size};
  }
  return c;
}

enum class PathKind { kOk, kEmpty, kUnsafe };

// "./a//b/" -> {a, b}; an absolute path or one with a ".." part is unsafe.
PathKind SplitPath(std::string_view path, std::vector<std::string>& parts) {
  if (!path.empty() && path.front() == '/') return PathKind::kUnsafe;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const auto part = path.substr(start, end - start);
    if (part == "..") return PathKind::kUnsafe;
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts.empty() ? PathKind::kEmpty : PathKind::kOk;
}

std::string Join(const std::vector<std::string>& parts, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i) out += (i > from ? "/" : "") + parts[i];
  return out;
}

std::string ArchiveError(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? Shown(text) : "unknown error";
}

// Reads every entry: plain files are hashed as they stream (the three package files kept as
// text); anything else is a problem. Entries may sit under one top folder (as produced).
Contents ReadArchive(archive* a, int opened) {
  Contents c;
  if (opened != ARCHIVE_OK) {
    c.problems.Add("not a readable archive: " + ArchiveError(a));
    return c;
  }
  struct Entry {
    std::vector<std::string> parts;
    bool directory = false;
    FileFacts facts;
    std::optional<std::string> text;  // a kept file's bytes; unset when over its bound
  };
  std::vector<Entry> entries;
  std::vector<std::vector<std::string>> refused;  // reported already: not "missing" as well
  std::set<std::string> seen;
  std::vector<char> buffer(64 << 10);
  archive_entry* e = nullptr;
  std::size_t headers = 0;
  bool damaged = false;
  while (!damaged) {
    const int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      c.problems.Add("the archive is damaged or not a tar archive: " + ArchiveError(a));
      break;
    }
    if (++headers > kMaxEntries) {
      c.problems.Add("over " + std::to_string(kMaxEntries) + " entries: the rest is not read");
      break;
    }
    const char* raw = archive_entry_pathname(e);
    const std::string name = Shown(raw != nullptr ? std::string_view(raw) : std::string_view());
    const auto type = archive_entry_filetype(e);
    Entry entry;
    entry.directory = type == AE_IFDIR;
    if (raw == nullptr) {
      c.problems.Add("an entry whose name cannot be read: refused");
      continue;
    }
    const PathKind kind = SplitPath(raw, entry.parts);
    if (kind == PathKind::kUnsafe) {
      c.problems.Add(name + ": an absolute path, or one with \"..\": refused");
      continue;  // its data is skipped by the next header
    }
    if (archive_entry_hardlink(e) != nullptr) {
      c.problems.Add(name + ": a hard link: refused");
      refused.push_back(entry.parts);
      continue;
    }
    if (type == AE_IFLNK || archive_entry_symlink(e) != nullptr) {
      c.problems.Add(name + ": a symbolic link: refused");
      refused.push_back(entry.parts);
      continue;
    }
    if (kind == PathKind::kEmpty) {
      if (!entry.directory) c.problems.Add(name + ": a file without a name: refused");
      continue;  // "./"
    }
    if (entry.directory) {
      entries.push_back(std::move(entry));
      continue;
    }
    if (type != AE_IFREG) {
      c.problems.Add(name + ": a device, pipe or other special file: refused");
      refused.push_back(entry.parts);
      continue;
    }
    if (archive_entry_sparse_count(e) > 0) {
      c.problems.Add(name + ": a sparse file: refused");
      refused.push_back(entry.parts);
      continue;
    }
    if (!seen.insert(Join(entry.parts, 0)).second) {
      c.problems.Add(name + ": twice in the archive");
      continue;
    }
    const bool kept = entry.parts.size() <= 2 && IsKept(entry.parts.back());
    const std::size_t limit = kept ? KeptLimit(entry.parts.back()) : 0;
    Sha256Stream hash;
    std::string text;
    bool over = false;
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
      if (n == 0) break;
      if (n < 0) {
        c.problems.Add(name + ": the archive is damaged: " + ArchiveError(a));
        damaged = true;
        break;
      }
      const auto size = static_cast<std::size_t>(n);
      hash.Update(buffer.data(), size);
      if (kept && !over) {
        if (text.size() + size > limit) {
          over = true;
          text.clear();
          text.shrink_to_fit();
        } else {
          text.append(buffer.data(), size);
        }
      }
    }
    if (damaged) break;
    const auto size = hash.size();
    entry.facts = {hash.Hex(), size};
    if (kept && !over) entry.text = std::move(text);
    if (kept && over) c.problems.Add(name + ": over " + std::to_string(limit) + " bytes");
    entries.push_back(std::move(entry));
  }

  // One top folder holding everything (as produced) is stripped.
  std::size_t strip = 0;
  if (!entries.empty()) {
    const std::string& top = entries.front().parts.front();
    const bool one_folder =
        top != "files" && !IsKept(top) && std::all_of(entries.begin(), entries.end(), [&](const Entry& x) {
          return x.parts.front() == top && (x.parts.size() >= 2 || x.directory);
        });
    if (one_folder) strip = 1;
  }
  for (const auto& parts : refused) c.refused.insert(Join(parts, strip));
  for (auto& x : entries) {
    if (x.directory) continue;
    const std::string rel = Join(x.parts, strip);
    if (IsKept(rel)) {
      if (x.text) Keep(c, rel, std::move(*x.text));
      else c.refused.insert(rel);  // over its bound, said above
    } else {
      c.files[rel] = std::move(x.facts);
    }
  }
  return c;
}

// Judges what was read: the signature, each listed file against what is there, nothing more
// there, and each custody record's hash. A manifest that is not one is a problem, not a crash.
PackageCheck Judge(Contents c, const std::string& public_key_hex) {
  PackageCheck check;
  Problems& problems = c.problems;
  auto missing = [&](const std::string& name) {
    if (!c.refused.count(name)) problems.Add(Shown(name) + ": missing");
  };
  if (!c.manifest) missing("manifest.json");
  if (!c.signature) missing("manifest.sig");
  if (c.manifest && c.signature) {
    std::string sig_hex = *c.signature;
    while (!sig_hex.empty() && (sig_hex.back() == '\n' || sig_hex.back() == '\r')) sig_hex.pop_back();
    auto valid = reporting::Ed25519Verify(public_key_hex, *c.manifest, sig_hex);
    check.signature_ok = valid && *valid;  // the key was checked before anything was read
    if (!check.signature_ok) problems.Add("the signature does not verify with this public key");
  }
  if (!c.manifest) {
    check.problems = problems.Take();
    return check;
  }
  boost::system::error_code ec;
  const auto manifest = json::parse(*c.manifest, ec);
  if (ec || !manifest.is_object() || !manifest.as_object().contains("files") || !manifest.at("files").is_array()) {
    problems.Add("manifest.json is not a package manifest");
    check.problems = problems.Take();
    return check;
  }
  std::set<std::string> listed;
  for (const auto& f : manifest.at("files").as_array()) {
    try {
      const std::string path(f.at("path").as_string());
      if (!listed.insert(path).second) {
        problems.Add(Shown(path) + ": listed twice");
        continue;
      }
      if (path.find("..") != std::string::npos || path.rfind("files/", 0) != 0) {
        problems.Add(Shown(path) + ": a path outside files/");
        continue;
      }
      const auto found = c.files.find(path);
      if (found == c.files.end()) {
        missing(path);
        continue;
      }
      ++check.files_checked;
      if (found->second.sha256 != f.at("sha256").as_string()) problems.Add(Shown(path) + ": SHA-256 differs");
      if (static_cast<std::int64_t>(found->second.size) != f.at("size").to_number<std::int64_t>()) {
        problems.Add(Shown(path) + ": size differs");
      }
    } catch (const std::exception&) {
      problems.Add("manifest.json: a file entry is malformed");
    }
  }
  for (const auto& [path, facts] : c.files) {
    if (!listed.count(path)) problems.Add(Shown(path) + ": not in the manifest");
  }
  if (!c.custody) {
    missing("custody.jsonl");
    check.problems = problems.Take();
    return check;
  }
  try {
    if (Sha256Hex(*c.custody) != manifest.at("custody_log").at("sha256").as_string()) {
      problems.Add("custody.jsonl: SHA-256 differs from the manifest");
    }
  } catch (const std::exception&) {
    problems.Add("manifest.json: no custody_log SHA-256");
  }
  const std::string& custody = *c.custody;
  std::size_t start = 0;
  while (start < custody.size()) {
    const auto end = custody.find('\n', start);
    const std::string_view line = std::string_view(custody).substr(start, end - start);
    start = end == std::string::npos ? custody.size() : end + 1;
    if (line.empty()) continue;
    const auto r = json::parse(line, ec);
    if (ec || !r.is_object()) {
      problems.Add("custody.jsonl: a line is not JSON");
      continue;
    }
    try {
      const auto& o = r.as_object();
      const std::int64_t id = o.at("id").to_number<std::int64_t>();
      const std::string expected = store::AuditRecordHash(
          std::string(o.at("prev_hash").as_string()), id, o.at("at").to_number<std::int64_t>(),
          std::string(o.at("actor").as_string()), std::string(o.at("action").as_string()),
          std::string(o.at("target").as_string()), std::string(o.at("detail").as_string()));
      ++check.custody_records_checked;
      if (expected != o.at("hash").as_string()) {
        problems.Add("custody record " + std::to_string(id) + ": its hash does not match its fields");
      }
    } catch (const std::exception&) {
      problems.Add("custody.jsonl: a line is not a custody record");
    }
  }
  check.problems = problems.Take();
  return check;
}

// A malformed key is the caller's error, found before anything is read.
Status CheckKey(const std::string& public_key_hex) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium failed to initialise");
  auto probe = reporting::Ed25519Verify(public_key_hex, {}, {});
  if (!probe) return tl::unexpected(probe.error());
  return {};
}

// A tar reader (plain, or gzip through zlib), and nothing else: no other format, no filter that
// would run an outside program.
archive* NewReader() {
  archive* a = archive_read_new();
  if (a == nullptr) return nullptr;
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  return a;
}

struct ReaderFree {
  void operator()(archive* a) const {
    if (a != nullptr) archive_read_free(a);
  }
};

}  // namespace

Result<PackageCheck> VerifyLegalPackage(const std::string& path, const std::string& public_key_hex) {
  VIGIL_TRY(CheckKey(public_key_hex));
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Fail(ErrorCode::kNotFound, path + ": no such folder or archive");
  if (fs::is_directory(st)) {
    Contents c = ReadFolder(path);
    if (!c.manifest && !c.refused.count("manifest.json")) return Fail(ErrorCode::kNotFound, path + ": no manifest.json");
    if (!c.signature && !c.refused.count("manifest.sig")) return Fail(ErrorCode::kNotFound, path + ": no manifest.sig");
    return Judge(std::move(c), public_key_hex);
  }
  if (!fs::is_regular_file(st)) return Fail(ErrorCode::kInvalidArgument, path + ": neither a folder nor an archive");
  std::unique_ptr<archive, ReaderFree> a(NewReader());
  if (!a) return Fail(ErrorCode::kInternal, "libarchive failed to start");
  const int opened = archive_read_open_filename(a.get(), path.c_str(), 64 << 10);
  return Judge(ReadArchive(a.get(), opened), public_key_hex);
}

Result<PackageCheck> VerifyLegalArchive(std::string_view bytes, const std::string& public_key_hex) {
  VIGIL_TRY(CheckKey(public_key_hex));
  std::unique_ptr<archive, ReaderFree> a(NewReader());
  if (!a) return Fail(ErrorCode::kInternal, "libarchive failed to start");
  static const char kNothing = 0;
  const int opened = archive_read_open_memory(a.get(), bytes.empty() ? &kNothing : bytes.data(), bytes.size());
  return Judge(ReadArchive(a.get(), opened), public_key_hex);
}

}  // namespace vigil
