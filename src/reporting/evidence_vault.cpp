// The evidence vault (see include/vigil/evidence_vault.h) on libsodium.
#include "vigil/evidence_vault.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>

#include "reporting/sodium_hex.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"

namespace vigil {
namespace {

constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

using reporting::Hex;
using reporting::Unhex;

const unsigned char* U(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string AssociatedData(const std::string& address) { return "vigil-evidence-v1:" + address; }

// Seals `plain` with `key`; returns the ciphertext (with its tag).
std::string Seal(const std::string& plain, const std::string& ad, const unsigned char* nonce, const std::string& key) {
  std::string out(plain.size() + kTagBytes, '\0');
  unsigned long long size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out.data()), &size, U(plain),
                                             plain.size(), U(ad), ad.size(), nullptr, nonce, U(key));
  out.resize(size);
  return out;
}

std::optional<std::string> UnsealBytes(const std::string& sealed, const std::string& ad, const unsigned char* nonce,
                                       const std::string& key) {
  if (sealed.size() < kTagBytes) return std::nullopt;
  std::string out(sealed.size() - kTagBytes, '\0');
  unsigned long long size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &size, nullptr,
                                                 U(sealed), sealed.size(), U(ad), ad.size(), nonce, U(key)) != 0) {
    return std::nullopt;
  }
  out.resize(size);
  return out;
}

// An item key sealed with the master key, as stored: key nonce and ciphertext, in hex. The
// associated data binds it to the item's address.
std::string WrapItemKey(const std::string& item_key, const std::string& address, const std::string& master_key) {
  unsigned char key_nonce[kNonceBytes];
  randombytes_buf(key_nonce, sizeof key_nonce);
  const std::string w = Seal(item_key, AssociatedData(address), key_nonce, master_key);
  return Hex(key_nonce, sizeof key_nonce) + Hex(U(w), w.size());
}

// The item key, unwrapped with `master_key`, or nothing when the record is malformed or the key
// does not open it.
std::optional<std::string> UnwrapItemKey(const EvidenceItem& item, const std::string& master_key) {
  const std::size_t nonce_hex = kNonceBytes * 2;
  if (item.wrapped_key.size() <= nonce_hex) return std::nullopt;
  auto key_nonce = Unhex(item.wrapped_key.substr(0, nonce_hex), kNonceBytes, "the key nonce");
  auto wrapped = Unhex(item.wrapped_key.substr(nonce_hex), 0, "the wrapped key");
  if (!key_nonce || !wrapped) return std::nullopt;
  auto key = UnsealBytes(*wrapped, AssociatedData(item.address), U(*key_nonce), master_key);
  if (!key || key->size() != kKeyBytes) return std::nullopt;
  return key;
}

// Writes a file and syncs it, through a temporary name, so a crash never leaves half a file.
Status WriteDurably(const std::filesystem::path& path, const std::string& bytes) {
  const auto tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kIoError, tmp + ": cannot create");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return Fail(ErrorCode::kIoError, tmp + ": write failed");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Fail(ErrorCode::kIoError, tmp + ": sync failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Fail(ErrorCode::kIoError, path.string() + ": rename failed");
  return {};
}

}  // namespace

Result<std::unique_ptr<EvidenceVault>> EvidenceVault::Open(Store& store, VaultOptions options, const Clock& clock) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium failed to initialise");
  if (options.master_key_hex.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "the evidence vault needs a master key ([vault] master_key_file, or VIGIL_VAULT_KEY): 64 hex digits");
  }
  VIGIL_ASSIGN_OR_RETURN(auto key, Unhex(options.master_key_hex, kKeyBytes, "the vault master key"));
  if (options.directory.empty()) return Fail(ErrorCode::kInvalidArgument, "the evidence vault needs a directory");
  if (options.retention_days < 1) return Fail(ErrorCode::kInvalidArgument, "vault retention must be at least a day");
  std::error_code ec;
  std::filesystem::create_directories(options.directory, ec);
  std::filesystem::permissions(options.directory, std::filesystem::perms::owner_all, ec);
  sodium_memzero(options.master_key_hex.data(), options.master_key_hex.size());
  options.master_key_hex.clear();
  return std::unique_ptr<EvidenceVault>(new EvidenceVault(store, std::move(options), clock, std::move(key)));
}

EvidenceVault::EvidenceVault(Store& store, VaultOptions options, const Clock& clock, std::string key)
    : store_(store), options_(std::move(options)), clock_(clock), master_key_(std::move(key)) {}

EvidenceVault::~EvidenceVault() { sodium_memzero(master_key_.data(), master_key_.size()); }

std::string EvidenceVault::PathWith(const EvidenceItem& item, const std::string& master_key) const {
  // A keyed BLAKE2b of the address and nonce: stable for the item, meaningless without the key.
  const std::string input = item.address + ":" + item.nonce;
  unsigned char name[24];
  crypto_generichash(name, sizeof name, U(input), input.size(), U(master_key), master_key.size());
  const std::string hex = Hex(name, sizeof name);
  return (std::filesystem::path(options_.directory) / hex.substr(0, 2) / (hex + ".sealed")).string();
}

Result<EvidenceItem> EvidenceVault::Preserve(std::string_view bytes, EvidenceItem item, const std::string& actor) {
  const std::string plain(bytes);
  item.address = Sha256Hex(plain);
  item.size = static_cast<std::int64_t>(plain.size());
  unsigned char nonce[kNonceBytes];
  randombytes_buf(nonce, sizeof nonce);
  std::string item_key(kKeyBytes, '\0');
  crypto_aead_xchacha20poly1305_ietf_keygen(reinterpret_cast<unsigned char*>(item_key.data()));
  const std::string ad = AssociatedData(item.address);
  const std::string sealed = Seal(plain, ad, nonce, item_key);
  item.nonce = Hex(nonce, sizeof nonce);
  item.wrapped_key = WrapItemKey(item_key, item.address, master_key_);
  sodium_memzero(item_key.data(), item_key.size());
  const std::filesystem::path path = PathOf(item);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  VIGIL_TRY(WriteDurably(path, sealed));
  const auto now = clock_.NowMicros();
  item.preserved_at = now;
  item.hold_until = std::max(item.hold_until, now + options_.retention_days * std::int64_t{86'400'000'000});
  return store_.Reports().AddEvidence(item, actor);
}

Result<std::string> EvidenceVault::Unseal(const EvidenceItem& item) const {
  if (item.purged_at) return Fail(ErrorCode::kNotFound, "evidence item " + std::to_string(item.id) + " was purged");
  const std::string where = "evidence item " + std::to_string(item.id);
  auto nonce = Unhex(item.nonce, kNonceBytes, "the item nonce");
  if (!nonce) return Fail(ErrorCode::kCorrupt, where + ": its nonce is malformed");
  const std::string ad = AssociatedData(item.address);
  auto item_key = UnwrapItemKey(item, master_key_);
  if (!item_key) {
    return Fail(ErrorCode::kCorrupt,
                where + ": its key does not open with this master key (wrong key, or a tampered or malformed record)");
  }
  auto file = ReadFileLimited(PathOf(item), 8ull << 30);
  if (!file) return Fail(ErrorCode::kNotFound, where + ": its sealed file is missing from the vault");
  const std::string sealed(reinterpret_cast<const char*>(file->data()), file->size());
  auto plain = UnsealBytes(sealed, ad, U(*nonce), *item_key);
  sodium_memzero(item_key->data(), item_key->size());
  if (!plain) return Fail(ErrorCode::kCorrupt, where + ": the sealed file fails authentication (tampered or swapped)");
  const auto digest = Sha256Hex(*plain);
  if (digest != item.address) return Fail(ErrorCode::kCorrupt, where + ": the content does not hash to its address");
  return std::move(*plain);
}

Result<std::string> EvidenceVault::Read(std::int64_t id, const std::string& actor, std::string_view role) {
  const std::string target = "evidence:" + std::to_string(id);
  if (role != kCustodianRole) {
    (void)store_.Audit(actor, "evidence.read_refused", target, "role=" + std::string(role));
    return Fail(ErrorCode::kPermissionDenied, "only a custodian may read preserved evidence");
  }
  VIGIL_ASSIGN_OR_RETURN(auto item, store_.Reports().GetEvidence(id));
  // The read is on the record before any byte is handed out.
  VIGIL_TRY(store_.Audit(actor, "evidence.read", target, "sha256=" + item.address));
  auto plain = Unseal(item);
  if (!plain) (void)store_.Audit(actor, "evidence.read_failed", target, plain.error().message);
  return plain;
}

Status EvidenceVault::Verify(std::int64_t id, const std::string& actor) {
  VIGIL_ASSIGN_OR_RETURN(auto item, store_.Reports().GetEvidence(id));
  auto plain = Unseal(item);
  VIGIL_TRY(store_.Audit(actor, "evidence.verify", "evidence:" + std::to_string(id),
                         plain ? "ok" : plain.error().message));
  if (!plain) return tl::unexpected(plain.error());
  return {};
}

PurgeResult EvidenceVault::PurgeExpired(const std::string& actor) {
  PurgeResult result;
  const auto now = clock_.NowMicros();
  auto expired = store_.Reports().ExpiredEvidence(now);
  if (!expired) {
    result.problems.push_back(expired.error().message);
    return result;
  }
  for (const auto& item : *expired) {
    // The key goes first (and the record says so): once that commits the item is unreadable,
    // whether or not the file deletion below succeeds.
    auto purged = store_.Reports().MarkPurged(item.id, now, actor);
    if (!purged) {
      result.problems.push_back("evidence item " + std::to_string(item.id) + ": " + purged.error().message);
      continue;
    }
    if (!*purged) {
      ++result.kept_on_hold;
      continue;
    }
    ++result.purged;
    std::error_code ec;
    std::filesystem::remove(PathOf(item), ec);
    if (ec) result.problems.push_back("evidence item " + std::to_string(item.id) + ": " + ec.message());
  }
  return result;
}


Result<EvidenceVault::Rotation> EvidenceVault::RotateMasterKey(const std::string& new_master_key_hex,
                                                               const std::string& actor) {
  VIGIL_ASSIGN_OR_RETURN(auto new_key, Unhex(new_master_key_hex, kKeyBytes, "the new vault master key"));
  if (new_key == master_key_) return Fail(ErrorCode::kInvalidArgument, "the new master key is the current one");
  struct Wipe {
    std::string& s;
    ~Wipe() { sodium_memzero(s.data(), s.size()); }
  } wipe{new_key};
  auto items = store_.Reports().ListEvidence(0);
  if (!items) return tl::unexpected(items.error());
  Rotation result;
  std::vector<std::pair<std::int64_t, std::string>> rewrapped;
  std::vector<std::string> old_names;
  for (const auto& item : *items) {
    const std::string where = "evidence item " + std::to_string(item.id);
    const std::string old_path = PathWith(item, master_key_), new_path = PathWith(item, new_key);
    if (UnwrapItemKey(item, new_key)) {  // rotated by an earlier run: only its old name may be left
      ++result.already_rotated;
      old_names.push_back(old_path);
      continue;
    }
    auto item_key = UnwrapItemKey(item, master_key_);
    if (!item_key) {
      result.problems.push_back(where + ": its key opens with neither master key");
      continue;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(new_path).parent_path(), ec);
    if (!std::filesystem::exists(new_path) && ::link(old_path.c_str(), new_path.c_str()) != 0) {
      result.problems.push_back(where + ": cannot link its file under the new name: " + std::strerror(errno));
      sodium_memzero(item_key->data(), item_key->size());
      continue;
    }
    rewrapped.emplace_back(item.id, WrapItemKey(*item_key, item.address, new_key));
    sodium_memzero(item_key->data(), item_key->size());
    old_names.push_back(old_path);
  }
  if (!rewrapped.empty()) {
    VIGIL_ASSIGN_OR_RETURN(auto changed, store_.Reports().RewrapEvidenceKeys(rewrapped, actor));
    result.rewrapped = changed;
  }
  // Committed: the old names are no longer the items' names.
  for (const auto& path : old_names) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  return result;
}

}  // namespace vigil
