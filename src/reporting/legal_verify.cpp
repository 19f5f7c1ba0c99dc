// Checking a law-enforcement package (see include/vigil/legal_package.h): a folder, walked without
// following a link, or a tar archive read entry by entry with libarchive and never unpacked. Either
// comes from outside and is hostile until checked; one set of rules (JudgeEntry) judges each entry
// of both from its path, type and size before its data is read: links, devices, absolute paths,
// "..", and anything that is not one of the package's files are refused, not followed. The files
// are hashed as they stream (only the manifest, its signature and the custody log are kept, each
// once, under a bound); all the data read counts against a budget, and a compressed archive may
// only expand so far; a malformed manifest or custody line is a problem, never a crash.
#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "reporting/ed25519.h"
#include "reporting/sodium_hex.h"
#include "store/audit_chain.h"
#include "vigil/digest.h"
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
  std::map<std::string, FileFacts> files;  // every file in files/, by its path in the package
  std::set<std::string> refused;           // paths already reported (a link, too large): not "missing" too
  std::set<std::string> seen;              // every path but a folder's, to refuse one given twice
  bool incomplete = false;                 // not read to the end (a limit, damage): nothing is "missing"
  Problems problems;
};

std::string Join(const std::vector<std::string>& parts, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i) out += (i > from ? "/" : "") + parts[i];
  return out;
}

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

// An entry of a package as its archive header or its lstat describes it, before any data is read.
enum class EntryType { kFile, kFolder, kSymlink, kHardLink, kSparse, kSpecial };

struct EntryHeader {
  std::string shown;               // its name where it stands (in the archive, or in the folder), fit to print
  std::vector<std::string> parts;  // its path in the package, the archive's top folder taken off
  EntryType type = EntryType::kSpecial;
  std::uint64_t size = 0;  // a file's, as declared
};

enum class Role { kRefused, kFolder, kKept, kFile };

// The one set of rules for what a package holds, for a folder and an archive alike, judged from an
// entry's path, type and size alone, before any of its data is read: manifest.json, manifest.sig
// and custody.jsonl at its top (each once, under its bound), the folder files/ and plain files
// directly in it. Anything else (a link, symbolic or hard; a device, pipe or socket; a sparse file;
// any other folder or file; a path twice) is a problem, and its path is not "missing" as well.
Role JudgeEntry(Contents& c, const EntryHeader& h) {
  const std::string rel = Join(h.parts, 0);
  auto refuse = [&](const std::string& why) {
    c.problems.Add(h.shown + ": " + why);
    if (!rel.empty()) c.refused.insert(rel);
    return Role::kRefused;
  };
  if (h.type != EntryType::kFolder && !rel.empty() && !c.seen.insert(rel).second) {
    return refuse("twice in the archive");
  }
  switch (h.type) {
    case EntryType::kSymlink: return refuse("a symbolic link: refused");
    case EntryType::kHardLink: return refuse("a hard link: refused");
    case EntryType::kSparse: return refuse("a sparse file: refused");
    case EntryType::kSpecial: return refuse("a device, pipe or other special file: refused");
    case EntryType::kFolder:
      if (h.parts.empty() || rel == "files") return Role::kFolder;
      return refuse("a folder that is not part of the package: refused");
    case EntryType::kFile: break;
  }
  if (h.parts.size() == 1 && IsKept(rel)) {
    if (h.size > KeptLimit(rel)) return refuse("over " + std::to_string(KeptLimit(rel)) + " bytes: refused");
    return Role::kKept;
  }
  if (h.parts.size() == 2 && h.parts.front() == "files") return Role::kFile;
  return refuse("not part of the package (only manifest.json, manifest.sig, custody.jsonl and files/NAME are): refused");
}

// What reading one package may cost, whatever it holds: the data of all its entries together, and
// for a compressed archive, how far it may expand. Past either the rest is not read.
class Budget {
 public:
  Budget(const VerifyLimits& limits, archive* a) : limits_(limits), a_(a) {}

  // Counts `n` more bytes read; false, with the problem said, once over a limit.
  bool Spend(Contents& c, std::uint64_t n) {
    total_ += n;
    if (total_ > limits_.max_total_bytes) {
      return Stop(c, "over " + std::to_string(limits_.max_total_bytes) +
                         " bytes of data in all, the limit on what one package is read for: the rest is not read");
    }
    if (a_ == nullptr || limits_.max_expansion == 0) return true;
    const auto out = static_cast<std::uint64_t>(std::max<la_int64_t>(archive_filter_bytes(a_, 0), 0));
    const auto in = static_cast<std::uint64_t>(std::max<la_int64_t>(archive_filter_bytes(a_, -1), 0));
    if (out > limits_.expansion_floor && out / limits_.max_expansion > in) {
      return Stop(c, "the archive expands over " + std::to_string(limits_.max_expansion) + " times (" +
                         std::to_string(out) + " bytes from " + std::to_string(in) +
                         " compressed), the limit for a compressed package: a decompression bomb, the rest is not read");
    }
    return true;
  }

 private:
  bool Stop(Contents& c, std::string problem) {
    c.problems.Add(std::move(problem));
    c.incomplete = true;
    return false;
  }

  const VerifyLimits& limits_;
  archive* a_;
  std::uint64_t total_ = 0;
};

// One accepted entry's data as it comes: a file hashed, a kept file's bytes kept (at most its
// bound, room made once for its declared size, so nothing is held twice over).
class EntryData {
 public:
  EntryData(Role role, std::string rel, std::uint64_t declared) : role_(role), rel_(std::move(rel)) {
    if (role_ == Role::kKept) {
      limit_ = KeptLimit(rel_);
      text_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(declared, limit_)));
    }
  }

  void Add(const void* data, std::size_t size) {
    if (role_ == Role::kFile) hash_.Update(data, size);
    if (role_ != Role::kKept || over_) return;
    if (text_.size() + size > limit_) {
      over_ = true;
      std::string().swap(text_);
    } else {
      text_.append(static_cast<const char*>(data), size);
    }
  }

  // Once the whole entry was read: what it is, into `c`.
  void Finish(Contents& c, const std::string& shown) {
    if (role_ == Role::kFile) {
      const auto size = hash_.size();
      c.files[rel_] = {hash_.Hex(), size};
    } else if (role_ == Role::kKept && over_) {
      c.problems.Add(shown + ": over " + std::to_string(limit_) + " bytes: refused");
      c.refused.insert(rel_);
    } else if (role_ == Role::kKept) {
      Keep(c, rel_, std::move(text_));
    }
  }

 private:
  Role role_;
  std::string rel_;
  std::size_t limit_ = 0;
  Sha256Stream hash_;
  std::string text_;
  bool over_ = false;
};

// A folder, walked without following a link: each entry judged by JudgeEntry from its lstat, the
// accepted files read through a descriptor that refuses a link and is checked to be the very file
// judged. A refused folder is not entered; only files/ is.
void WalkFolder(const fs::path& dir, const std::vector<std::string>& parts, Contents& c, Budget& budget,
                std::size_t& entries) {
  std::error_code ec;
  std::vector<fs::path> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path());
    if (names.size() > kMaxEntries) break;
  }
  const std::string at = parts.empty() ? std::string() : Join(parts, 0) + "/";
  if (ec) {
    c.problems.Add((at.empty() ? std::string("the package's folder") : Shown(at)) + ": cannot be read: " + ec.message());
    c.incomplete = true;
    return;
  }
  std::sort(names.begin(), names.end());
  std::vector<char> buffer(1 << 20);
  for (const auto& path : names) {
    if (c.incomplete) return;
    if (++entries > kMaxEntries) {
      c.problems.Add("over " + std::to_string(kMaxEntries) + " entries: the rest is not read");
      c.incomplete = true;
      return;
    }
    EntryHeader h;
    h.parts = parts;
    h.parts.push_back(path.filename().string());
    h.shown = Shown(at + path.filename().string());
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      c.problems.Add(h.shown + ": cannot be read");
      c.refused.insert(Join(h.parts, 0));
      continue;
    }
    h.type = S_ISLNK(st.st_mode)   ? EntryType::kSymlink
             : S_ISDIR(st.st_mode) ? EntryType::kFolder
             : !S_ISREG(st.st_mode) ? EntryType::kSpecial
             : st.st_nlink > 1     ? EntryType::kHardLink
                                   : EntryType::kFile;
    h.size = static_cast<std::uint64_t>(std::max<off_t>(st.st_size, 0));
    const Role role = JudgeEntry(c, h);
    if (role == Role::kFolder) {
      WalkFolder(path, h.parts, c, budget, entries);
      continue;
    }
    if (role != Role::kFile && role != Role::kKept) continue;
    const std::string rel = Join(h.parts, 0);
    auto unreadable = [&](const char* why) {
      c.problems.Add(h.shown + ": " + why);
      c.refused.insert(rel);
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      unreadable("cannot be read");
      continue;
    }
    struct stat opened {};
    if (::fstat(fd, &opened) != 0 || !S_ISREG(opened.st_mode) || opened.st_nlink > 1 || opened.st_ino != st.st_ino ||
        opened.st_dev != st.st_dev) {
      ::close(fd);
      unreadable("changed while it was read: refused");
      continue;
    }
    EntryData data(role, rel, h.size);
    bool failed = false;
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) failed = true;
      if (n <= 0) break;
      if (!budget.Spend(c, static_cast<std::uint64_t>(n))) break;
      data.Add(buffer.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (c.incomplete) return;
    if (failed) {
      unreadable("cannot be read");
      continue;
    }
    data.Finish(c, h.shown);
  }
}

Contents ReadFolder(const fs::path& dir, const VerifyLimits& limits) {
  Contents c;
  Budget budget(limits, nullptr);
  std::size_t entries = 0;
  WalkFolder(dir, {}, c, budget, entries);
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

std::string ArchiveError(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? Shown(text) : "unknown error";
}

EntryType ArchiveEntryType(archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return EntryType::kHardLink;
  const auto type = archive_entry_filetype(e);
  if (type == AE_IFLNK || archive_entry_symlink(e) != nullptr) return EntryType::kSymlink;
  if (type == AE_IFDIR) return EntryType::kFolder;
  if (type != AE_IFREG) return EntryType::kSpecial;
  if (archive_entry_sparse_count(e) > 0) return EntryType::kSparse;
  return EntryType::kFile;
}

// Reads every entry in turn, each judged by JudgeEntry from its header before its data: accepted
// files are hashed as they stream (the three package files kept, each under its bound); the data
// of anything refused is passed over, never kept nor hashed; all of it is counted against the
// budget as it comes, so a hostile archive stops early. The entries may sit under one top folder (as produced): the first
// entry that shows the layout decides it, and an entry outside that folder is refused.
Contents ReadArchive(archive* a, int opened, const VerifyLimits& limits) {
  Contents c;
  if (opened != ARCHIVE_OK) {
    c.problems.Add("not a readable archive: " + ArchiveError(a));
    c.incomplete = true;
    return c;
  }
  Budget budget(limits, a);
  std::optional<std::string> top;  // the package's folder; empty when its entries sit at the top
  archive_entry* e = nullptr;
  std::size_t headers = 0;
  while (!c.incomplete) {
    const int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      c.problems.Add("the archive is damaged or not a tar archive: " + ArchiveError(a));
      c.incomplete = true;
      break;
    }
    if (++headers > kMaxEntries) {
      c.problems.Add("over " + std::to_string(kMaxEntries) + " entries: the rest is not read");
      c.incomplete = true;
      break;
    }
    if (!budget.Spend(c, 0)) break;
    const char* raw = archive_entry_pathname(e);
    EntryHeader h;
    h.shown = Shown(raw != nullptr ? std::string_view(raw) : std::string_view());
    h.type = ArchiveEntryType(e);
    h.size = archive_entry_size_is_set(e) ? static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0)) : 0;
    Role role = Role::kRefused;
    const PathKind kind = raw != nullptr ? SplitPath(raw, h.parts) : PathKind::kUnsafe;
    if (raw == nullptr) {
      c.problems.Add("an entry whose name cannot be read: refused");
    } else if (kind == PathKind::kUnsafe) {
      c.problems.Add(h.shown + ": an absolute path, or one with \"..\": refused");
    } else {
      const std::string first = kind == PathKind::kOk ? h.parts.front() : std::string();
      if (!top && kind == PathKind::kOk &&
          (h.parts.size() >= 2 || h.type == EntryType::kFolder || IsKept(first))) {
        top = first == "files" || IsKept(first) ? std::string() : first;
      }
      if (top && !top->empty() && kind == PathKind::kOk && first != *top) {
        c.problems.Add(h.shown + ": outside the package's folder " + Shown(*top) + "/: refused");
      } else {
        if (top && !top->empty() && kind == PathKind::kOk) h.parts.erase(h.parts.begin());
        role = JudgeEntry(c, h);
      }
    }
    // The data: taken when accepted, otherwise passed over; read here either way, so that the
    // budget is counted as it goes and not after libarchive skipped (decompressed) it all.
    std::optional<EntryData> data;
    if (role == Role::kFile || role == Role::kKept) data.emplace(role, Join(h.parts, 0), h.size);
    std::uint64_t taken = 0;
    bool holes = false;
    for (;;) {
      const void* block = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      const int r = archive_read_data_block(a, &block, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) {
        c.problems.Add(h.shown + ": the archive is damaged: " + ArchiveError(a));
        c.incomplete = true;
        break;
      }
      if (!budget.Spend(c, size)) break;
      if (static_cast<std::uint64_t>(offset) != taken) holes = true;
      taken += size;
      if (data && !holes) data->Add(block, size);
    }
    if (c.incomplete || !data) continue;
    if (holes) {
      c.problems.Add(h.shown + ": a sparse file: refused");
      c.refused.insert(Join(h.parts, 0));
      continue;
    }
    data->Finish(c, h.shown);
  }
  return c;
}

// Judges what was read: the signature, each listed file against what is there, nothing more
// there, and each custody record's hash. A manifest that is not one is a problem, not a crash.
PackageCheck Judge(Contents c, const std::string& public_key_hex) {
  PackageCheck check;
  Problems& problems = c.problems;
  auto missing = [&](const std::string& name) {
    if (!c.refused.count(name) && !c.incomplete) problems.Add(Shown(name) + ": missing");
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
      if (path.find("..") != std::string::npos || path.rfind("files/", 0) != 0 || path.size() == 6 ||
          path.find('/', 6) != std::string::npos) {
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
  VIGIL_TRY(reporting::Ed25519Verify(public_key_hex, {}, {}));
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

Result<PackageCheck> VerifyLegalPackage(const std::string& path, const std::string& public_key_hex,
                                        const VerifyLimits& limits) {
  VIGIL_TRY(CheckKey(public_key_hex));
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Fail(ErrorCode::kNotFound, path + ": no such folder or archive");
  if (fs::is_directory(st)) {
    Contents c = ReadFolder(path, limits);
    if (!c.incomplete) {
      if (!c.manifest && !c.refused.count("manifest.json")) return Fail(ErrorCode::kNotFound, path + ": no manifest.json");
      if (!c.signature && !c.refused.count("manifest.sig")) return Fail(ErrorCode::kNotFound, path + ": no manifest.sig");
    }
    return Judge(std::move(c), public_key_hex);
  }
  if (!fs::is_regular_file(st)) return Fail(ErrorCode::kInvalidArgument, path + ": neither a folder nor an archive");
  std::unique_ptr<archive, ReaderFree> a(NewReader());
  if (!a) return Fail(ErrorCode::kInternal, "libarchive failed to start");
  const int opened = archive_read_open_filename(a.get(), path.c_str(), 64 << 10);
  return Judge(ReadArchive(a.get(), opened, limits), public_key_hex);
}

Result<PackageCheck> VerifyLegalArchive(std::string_view bytes, const std::string& public_key_hex,
                                        const VerifyLimits& limits) {
  VIGIL_TRY(CheckKey(public_key_hex));
  std::unique_ptr<archive, ReaderFree> a(NewReader());
  if (!a) return Fail(ErrorCode::kInternal, "libarchive failed to start");
  static const char kNothing = 0;
  const int opened = archive_read_open_memory(a.get(), bytes.empty() ? &kNothing : bytes.data(), bytes.size());
  return Judge(ReadArchive(a.get(), opened, limits), public_key_hex);
}

}  // namespace vigil
