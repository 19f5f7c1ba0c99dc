// Law-enforcement production packages (see include/vigil/legal_package.h): written to a new
// folder, or as one tar archive (libarchive) to a new file or to memory. The checks are in
// legal_verify.cpp.
#include "vigil/legal_package.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>

#include "reporting/ed25519.h"
#include "reporting/sodium_hex.h"
#include "vigil/cases.h"
#include "vigil/cybertip.h"
#include "vigil/digest.h"
#include "vigil/reports.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using reporting::Hex;

std::string Sha256(const std::string& bytes) {
  return Sha256Hex(bytes);
}

// Decrypted evidence does not outlive its use in this process's memory.
void Wipe(std::string& bytes) {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
  bytes.clear();
  bytes.shrink_to_fit();
}

Status WriteAll(int fd, std::string_view bytes, const std::string& what) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(ErrorCode::kIoError, what + ": cannot write: " + std::strerror(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

// A new file only the producer's user may read (it holds decrypted evidence).
Status WriteNewFile(const fs::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kIoError, path.string() + ": cannot create: " + std::strerror(errno));
  Status written = WriteAll(fd, bytes, path.string());
  if (::close(fd) != 0 && written) written = Fail(ErrorCode::kIoError, path.string() + ": cannot write");
  return written;
}

std::string Extension(const std::string& media_type) {
  if (media_type == "image/jpeg") return ".jpg";
  if (media_type == "image/png") return ".png";
  if (media_type == "application/json") return ".json";
  if (media_type == "application/xml") return ".xml";
  const auto slash = media_type.find('/');
  if (slash == std::string::npos || media_type.size() - slash > 6) return ".bin";
  const std::string sub = media_type.substr(slash + 1);
  // A media type is the uploader's word: only a plain subtype names a file.
  const bool plain = !sub.empty() && std::all_of(sub.begin(), sub.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '+' || c == '-' || c == '.';
  });
  return plain && sub.front() != '.' ? "." + sub : ".bin";
}

// Where the package's files go: a folder or a tar archive.
class PackageSink {
 public:
  virtual ~PackageSink() = default;
  // `path` is the package's: "manifest.json", "files/12-media.jpg".
  virtual Status Add(const std::string& path, std::string_view bytes) = 0;
  virtual Status Finish() = 0;
  // Removes what was written (a half-written package, or one whose production was not recorded).
  virtual void Abandon() = 0;
};

class FolderSink final : public PackageSink {
 public:
  explicit FolderSink(fs::path dir) : dir_(std::move(dir)) {}
  ~FolderSink() override = default;

  Status Start() {
    std::error_code ec;
    if (fs::exists(dir_, ec)) {
      return Fail(ErrorCode::kAlreadyExists, dir_.string() + " exists: a package goes to a new folder");
    }
    fs::create_directories(dir_ / "files", ec);
    if (ec) return Fail(ErrorCode::kIoError, dir_.string() + ": " + ec.message());
    created_ = true;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::permissions(dir_ / "files", fs::perms::owner_all, ec);
    return {};
  }
  Status Add(const std::string& path, std::string_view bytes) override { return WriteNewFile(dir_ / path, bytes); }
  Status Finish() override { return {}; }
  void Abandon() override {
    std::error_code ec;
    if (created_) fs::remove_all(dir_, ec);
  }

 private:
  fs::path dir_;
  bool created_ = false;
};

// A tar archive (pax where ustar cannot say it) whose entries sit under `<name>/`, written to a
// file (under a temporary name, renamed once whole) or kept in memory under a bound.
class ArchiveSink final : public PackageSink {
 public:
  ArchiveSink(std::string name, std::int64_t mtime) : name_(std::move(name)), mtime_(mtime) {}
  ~ArchiveSink() override {
    if (a_ != nullptr) archive_write_free(a_);
    if (fd_ >= 0) ::close(fd_);
  }

  // file empty: memory, at most max_bytes (0: no bound), `reserve` bytes set aside up front.
  Status Start(const std::string& file, std::uint64_t max_bytes, std::size_t reserve) {
    if (!file.empty()) {
      std::error_code ec;
      if (fs::exists(file, ec)) return Fail(ErrorCode::kAlreadyExists, file + " exists: a package goes to a new file");
      file_ = file;
      const fs::path target(file);
      const std::string partial = (target.parent_path() / ("." + target.filename().string() + ".partial")).string();
      fd_ = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd_ < 0) return Fail(ErrorCode::kIoError, partial + ": cannot create: " + std::strerror(errno));
      partial_ = partial;  // ours: Abandon removes it
    } else {
      max_bytes_ = max_bytes;
      memory_.reserve(reserve);
    }
    a_ = archive_write_new();
    if (a_ == nullptr) return Fail(ErrorCode::kInternal, "libarchive failed to start");
    if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK || archive_write_add_filter_none(a_) != ARCHIVE_OK ||
        archive_write_open2(a_, this, nullptr, &ArchiveSink::Write, nullptr, nullptr) != ARCHIVE_OK) {
      return Failure("cannot start the archive");
    }
    VIGIL_TRY(Entry(name_, true, {}));
    return Entry(name_ + "/files", true, {});
  }

  Status Add(const std::string& path, std::string_view bytes) override { return Entry(name_ + "/" + path, false, bytes); }

  Status Finish() override {
    if (archive_write_close(a_) != ARCHIVE_OK) return Failure("cannot finish the archive");
    if (fd_ < 0) return {};
    const bool synced = ::fsync(fd_) == 0;
    const bool closed = ::close(fd_) == 0;
    fd_ = -1;
    if (!synced || !closed) return Fail(ErrorCode::kIoError, partial_ + ": cannot write: " + std::strerror(errno));
    std::error_code ec;
    if (fs::exists(file_, ec)) return Fail(ErrorCode::kAlreadyExists, file_ + " exists: a package goes to a new file");
    fs::rename(partial_, file_, ec);
    if (ec) return Fail(ErrorCode::kIoError, file_ + ": " + ec.message());
    renamed_ = true;
    return {};
  }

  void Abandon() override {
    if (a_ != nullptr) {
      abandoned_ = true;  // nothing more is written
      archive_write_free(a_);
      a_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!partial_.empty()) ::unlink((renamed_ ? file_ : partial_).c_str());
    Wipe(memory_);
  }

  std::string TakeMemory() { return std::move(memory_); }

 private:
  static la_ssize_t Write(archive* a, void* client, const void* buffer, size_t length) {
    auto* self = static_cast<ArchiveSink*>(client);
    if (self->abandoned_) return static_cast<la_ssize_t>(length);
    const std::string_view bytes(static_cast<const char*>(buffer), length);
    if (self->fd_ >= 0) {
      if (auto written = WriteAll(self->fd_, bytes, self->partial_); !written) {
        archive_set_error(a, EIO, "%s", written.error().message.c_str());
        return -1;
      }
      return static_cast<la_ssize_t>(length);
    }
    if (self->max_bytes_ != 0 && self->memory_.size() + length > self->max_bytes_) {
      self->over_ = true;
      archive_set_error(a, EFBIG, "over the limit");
      return -1;
    }
    self->memory_.append(bytes);
    return static_cast<la_ssize_t>(length);
  }

  Status Entry(const std::string& path, bool directory, std::string_view bytes) {
    archive_entry* e = archive_entry_new();
    if (e == nullptr) return Fail(ErrorCode::kInternal, "libarchive: out of memory");
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, directory ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, directory ? 0700 : 0600);
    archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
    archive_entry_set_mtime(e, static_cast<time_t>(mtime_ / 1'000'000), 0);
    const int header = archive_write_header(a_, e);
    archive_entry_free(e);
    if (header != ARCHIVE_OK) return Failure(path + ": cannot add it to the archive");
    std::size_t done = 0;
    while (done < bytes.size()) {
      const la_ssize_t n = archive_write_data(a_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) return Failure(path + ": cannot add it to the archive");
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  Status Failure(const std::string& what) {
    if (over_) {
      return Fail(ErrorCode::kTooLarge,
                  "the package is over the limit of " + std::to_string(max_bytes_) + " bytes for one kept in memory");
    }
    const char* why = archive_error_string(a_);
    return Fail(ErrorCode::kIoError, what + (why != nullptr ? std::string(": ") + why : std::string()));
  }

  std::string name_;
  std::int64_t mtime_ = 0;
  archive* a_ = nullptr;
  int fd_ = -1;
  std::string file_, partial_;
  bool renamed_ = false;
  bool abandoned_ = false;
  std::string memory_;
  std::uint64_t max_bytes_ = 0;
  bool over_ = false;
};

// What a production reads before anything is decrypted: the request, its live items, the custody
// targets, and the key's public half.
struct Plan {
  LegalRequest request;
  std::vector<EvidenceItem> items;
  std::set<std::string> targets;
  std::uint64_t evidence_bytes = 0;
  std::string public_key;
  std::int64_t now = 0;
  std::string name;
};

Result<Plan> PlanProduction(Store& store, std::int64_t request_id, const std::string& signing_seed_hex,
                            std::string_view role) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium failed to initialise");
  if (role != kCustodianRole) return Fail(ErrorCode::kPermissionDenied, "only a custodian may produce evidence");
  Plan plan;
  auto public_key = reporting::Ed25519PublicKey(signing_seed_hex);  // a bad key stops it before anything is read
  if (!public_key) return tl::unexpected(public_key.error());
  plan.public_key = *public_key;
  auto request = store.Reports().GetLegalRequest(request_id);
  if (!request) return tl::unexpected(request.error());
  plan.request = std::move(*request);
  if (plan.request.case_ids.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "legal request " + std::to_string(request_id) + " names no case");
  }
  plan.targets = {"legal:" + std::to_string(request_id)};
  for (std::int64_t case_id : plan.request.case_ids) {
    VIGIL_ASSIGN_OR_RETURN(auto c, store.Cases().GetCase(case_id));
    plan.targets.insert(std::to_string(case_id));
    plan.targets.insert(c.user_id);
    for (const auto& item : c.items) plan.targets.insert(item.content_id);
    auto items = store.Reports().ListEvidence(case_id);
    if (!items) return tl::unexpected(items.error());
    for (auto& e : *items) {
      if (e.purged_at) continue;
      plan.targets.insert("evidence:" + std::to_string(e.id));
      if (e.report_id != 0) plan.targets.insert("report:" + std::to_string(e.report_id));
      plan.evidence_bytes += static_cast<std::uint64_t>(std::max<std::int64_t>(e.size, 0));
      plan.items.push_back(std::move(e));
    }
  }
  plan.now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count();
  const std::time_t seconds = static_cast<std::time_t>(plan.now / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  plan.name = "legal-request-" + std::to_string(request_id) + "-" + stamp;
  return plan;
}

// Decrypts each item into the sink, then the custody log, the manifest and its signature; records
// the production once the sink holds the whole package. On any failure the sink is abandoned.
Result<LegalPackage> WritePackage(Store& store, EvidenceVault& vault, const Plan& plan, PackageSink& sink,
                                  const std::string& signing_seed_hex, const std::string& actor, std::string_view role) {
  auto written = [&]() -> Result<LegalPackage> {
    json::array files;
    for (const auto& e : plan.items) {
      VIGIL_ASSIGN_OR_RETURN(auto plain, vault.Read(e.id, actor, role));
      const std::string name = "files/" + std::to_string(e.id) + "-" + e.kind + Extension(e.media_type);
      const Status added = sink.Add(name, plain);
      Wipe(plain);
      VIGIL_TRY(added);
      files.push_back(json::object{{"path", name},
                                   {"sha256", e.address},
                                   {"size", e.size},
                                   {"evidence_id", e.id},
                                   {"kind", e.kind},
                                   {"media_type", e.media_type},
                                   {"case_id", e.case_id},
                                   {"report_id", e.report_id},
                                   {"content_id", e.content_id},
                                   {"preserved_at", IsoDateTime(e.preserved_at)}});
    }
    // The custody log is read after the reads above, so it shows them.
    auto custody = store.Reports().CustodyLog({plan.targets.begin(), plan.targets.end()});
    if (!custody) return tl::unexpected(custody.error());
    std::string lines;
    for (const auto& r : *custody) {
      lines += json::serialize(json::object{{"id", r.id},
                                            {"at", r.at},
                                            {"time", IsoDateTime(r.at)},
                                            {"actor", r.actor},
                                            {"action", r.action},
                                            {"target", r.target},
                                            {"detail", r.detail},
                                            {"prev_hash", r.prev_hash},
                                            {"hash", r.hash}}) +
               "\n";
    }
    VIGIL_TRY(sink.Add("custody.jsonl", lines));
    const LegalRequest& request = plan.request;
    json::array case_ids;
    for (auto id : request.case_ids) case_ids.emplace_back(id);
    json::object req{{"id", request.id},
                     {"type", request.type},
                     {"agency", request.agency},
                     {"case_number", request.case_number},
                     {"received_at", IsoDateTime(request.received_at)},
                     {"scope", request.scope}};
    if (request.due_at) req["due_at"] = IsoDateTime(*request.due_at);
    const auto file_count = files.size();
    json::object manifest{{"format", "vigil-legal-package/1"},
                          {"request", std::move(req)},
                          {"cases", std::move(case_ids)},
                          {"files", std::move(files)},
                          {"custody_log", json::object{{"path", "custody.jsonl"},
                                                       {"sha256", Sha256(lines)},
                                                       {"records", custody->size()}}},
                          {"produced_by", actor},
                          {"produced_at", IsoDateTime(plan.now)},
                          {"signing_public_key", plan.public_key}};
    const std::string manifest_text = json::serialize(manifest) + "\n";
    VIGIL_TRY(sink.Add("manifest.json", manifest_text));
    VIGIL_ASSIGN_OR_RETURN(auto signature, reporting::Ed25519Sign(signing_seed_hex, manifest_text));
    VIGIL_TRY(sink.Add("manifest.sig", signature + "\n"));
    VIGIL_TRY(sink.Finish());
    LegalPackage package;
    package.name = plan.name;
    package.manifest_sha256 = Sha256(manifest_text);
    package.files = static_cast<int>(file_count);
    package.custody_records = static_cast<int>(custody->size());
    // Recorded only once the package is whole: what was recorded is what is handed over.
    VIGIL_TRY(store.Reports().RecordProduction(plan.request.id, package.manifest_sha256, actor));
    return package;
  }();
  if (!written) sink.Abandon();
  return written;
}

}  // namespace

std::string NewSigningSeed() {
  if (sodium_init() < 0) return {};
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  std::string hex = Hex(seed, sizeof seed);
  sodium_memzero(seed, sizeof seed);
  return hex;
}

Result<std::string> SigningPublicKey(const std::string& signing_seed_hex) {
  return reporting::Ed25519PublicKey(signing_seed_hex);
}

Result<LegalPackage> ProduceLegalPackage(Store& store, EvidenceVault& vault, std::int64_t request_id,
                                         const std::string& out_dir, const std::string& signing_seed_hex,
                                         const std::string& actor, std::string_view role) {
  VIGIL_ASSIGN_OR_RETURN(auto plan, PlanProduction(store, request_id, signing_seed_hex, role));
  FolderSink sink{fs::path(out_dir)};
  VIGIL_TRY(sink.Start());
  auto package = WritePackage(store, vault, plan, sink, signing_seed_hex, actor, role);
  if (package) package->path = out_dir;
  return package;
}

Result<LegalPackage> ProduceLegalArchive(Store& store, EvidenceVault& vault, std::int64_t request_id,
                                         const ArchiveOutput& output, const std::string& signing_seed_hex,
                                         const std::string& actor, std::string_view role) {
  VIGIL_ASSIGN_OR_RETURN(auto plan, PlanProduction(store, request_id, signing_seed_hex, role));
  std::string file = output.file;
  if (file.empty() && !output.folder.empty()) {
    std::error_code ec;
    fs::create_directories(output.folder, ec);
    if (ec) return Fail(ErrorCode::kIoError, output.folder + ": " + ec.message());
    file = (fs::path(output.folder) / (plan.name + ".tar")).string();
  }
  // Each entry costs a header and padding (a block each); then the manifest, the custody log and
  // the archive's end. An archive in memory whose evidence alone is over the bound is refused
  // before any item is decrypted.
  const std::uint64_t estimate = plan.evidence_bytes + 1024 * (plan.items.size() + 8) + (64 << 10);
  if (file.empty() && output.max_bytes != 0 && estimate > output.max_bytes) {
    return Fail(ErrorCode::kTooLarge, "legal request " + std::to_string(request_id) + ": its evidence is " +
                                          std::to_string(plan.evidence_bytes) + " bytes; the package is over the limit of " +
                                          std::to_string(output.max_bytes) + " bytes for one kept in memory");
  }
  ArchiveSink sink(plan.name, plan.now);
  const std::size_t reserve = output.max_bytes != 0 ? std::min<std::uint64_t>(estimate, output.max_bytes) : estimate;
  if (auto started = sink.Start(file, output.max_bytes, file.empty() ? reserve : 0); !started) {
    sink.Abandon();
    return tl::unexpected(started.error());
  }
  auto package = WritePackage(store, vault, plan, sink, signing_seed_hex, actor, role);
  if (!package) return package;
  package->path = file;
  if (file.empty()) package->archive = sink.TakeMemory();
  return package;
}

Status CheckProductionsDir(const std::string& productions_dir, const std::string& data_dir) {
  if (productions_dir.empty() || data_dir.empty()) return {};
  // The folders as they resolve: symbolic links followed as far as they exist, ".." taken away.
  auto resolved = [](const std::string& path) {
    std::error_code ec;
    fs::path p = fs::absolute(path, ec);
    if (ec) p = fs::path(path);
    fs::path canonical = fs::weakly_canonical(p, ec);
    p = (ec ? p : canonical).lexically_normal();
    if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
    return p;
  };
  const fs::path productions = resolved(productions_dir);
  const fs::path data = resolved(data_dir);
  const auto [in_data, in_productions] = std::mismatch(data.begin(), data.end(), productions.begin(), productions.end());
  (void)in_productions;
  if (in_data == data.end()) {
    return Fail(ErrorCode::kInvalidArgument,
                "legal.productions_dir (" + productions.string() + ") is inside the data directory (" + data.string() +
                    "), whose backups would carry decrypted evidence: name a folder outside it, or leave it unset to "
                    "answer productions to the custodian only");
  }
  return {};
}

}  // namespace vigil
