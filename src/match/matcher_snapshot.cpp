// Matcher snapshots (see Matcher::SaveSnapshot in vigil/matcher.h): a folder of three files.
//
//   pdq.idx, frames.idx   the PDQ and video-frame indexes (PdqIndex::Save: checksummed segments,
//                         opened by mmap, so 50M hashes load in about the time it takes to read them)
//   matcher.bin           everything else, little-endian:
//       "VIGILMAT" u32 version(1) u32 0
//       identity: u32 length, bytes            the database's (EntryFeed::Identity)
//       i64 last_entry_id, i64 last_import_id  where Refresh() goes on from
//       the last entry as the store had it: u8 known, then i64 bank, u8 length + type, u32 length +
//       value (so a restored backup or a clone, which keeps the identity, is told apart)
//       signal type names: u32 count, then u8 length + bytes each (entry types index this list)
//       entries: u64 n, i64 ids[n] (ascending), i64 banks[n], u8 types[n]
//       md5, sha1, sha256: u64 count each, then (u64 id, u8 length, hex) per entry
//       frame owners: u64 n, i64[n]; videos: u64 n, then (i64 entry, u64 first frame, u32 frames,
//       u8 live) each; u64 live videos
//       u64 XXH3-64 of every byte before it
// Bank rules are not in it: Refresh() reads them from the store.
//
// Thread safety: as Matcher (a save runs beside lookups; a load replaces the state under the lock).
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "match/matcher_state.h"

namespace vigil {
namespace {

static_assert(std::endian::native == std::endian::little, "snapshots are little-endian");
constexpr char kMagic[8] = {'V', 'I', 'G', 'I', 'L', 'M', 'A', 'T'};
constexpr std::uint32_t kVersion = 1;

class Writer {
 public:
  explicit Writer(const std::filesystem::path& path) : out_(path, std::ios::binary | std::ios::trunc) {
    state_ = XXH3_createState();
    XXH3_64bits_reset(state_);
  }
  ~Writer() { XXH3_freeState(state_); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Bytes(const void* data, std::size_t size) {
    XXH3_64bits_update(state_, data, size);
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  template <typename T>
  void Value(T v) {
    Bytes(&v, sizeof v);
  }
  template <typename T>
  void Array(const std::vector<T>& values) {
    Bytes(values.data(), values.size() * sizeof(T));
  }
  void ShortText(std::string_view text) {
    Value(static_cast<std::uint8_t>(text.size()));
    Bytes(text.data(), text.size());
  }
  // Appends the checksum and closes; false if any write failed.
  bool Finish() {
    const std::uint64_t hash = XXH3_64bits_digest(state_);
    out_.write(reinterpret_cast<const char*>(&hash), sizeof hash);
    out_.close();
    return static_cast<bool>(out_);
  }

 private:
  std::ofstream out_;
  XXH3_state_t* state_;
};

class Reader {
 public:
  Reader(const std::string& data, std::string name) : data_(data), name_(std::move(name)) {}
  template <typename T>
  Result<T> Value() {
    T v{};
    VIGIL_TRY(Take(&v, sizeof v));
    return v;
  }
  template <typename T>
  Result<std::vector<T>> Array(std::uint64_t n) {
    if (n > (data_.size() - pos_) / sizeof(T)) return Corrupt("an array longer than the file");
    std::vector<T> out(n);
    VIGIL_TRY(Take(out.data(), n * sizeof(T)));
    return out;
  }
  Result<std::string> Text(std::size_t n) {
    if (n > data_.size() - pos_) return Corrupt("a string longer than the file");
    std::string out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  bool AtEnd() const { return pos_ == data_.size(); }
  tl::unexpected<Error> Corrupt(const std::string& what) const {
    return Fail(ErrorCode::kCorrupt, name_ + ": " + what + " at byte " + std::to_string(pos_));
  }

 private:
  Status Take(void* out, std::size_t n) {
    if (n == 0) return {};  // an empty table's storage may be null: memcpy from or to null is undefined
    if (n > data_.size() - pos_) return Corrupt("truncated");
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return {};
  }
  const std::string& data_;
  std::string name_;
  std::size_t pos_ = 0;
};

const char* const kCryptoTypes[] = {"md5", "sha1", "sha256"};
const char* const kSnapshotFiles[] = {"matcher.bin", "pdq.idx", "frames.idx"};

// Where a snapshot may be written: a new folder, an empty one, or one holding a snapshot (never a
// link, a file, or a folder holding anything else: a mistaken path must not delete a database).
Result<std::filesystem::path> SnapshotTarget(const std::filesystem::path& dir) {
  std::filesystem::path target = dir.lexically_normal();
  if (!target.empty() && target.filename().empty()) target = target.parent_path();
  if (target.empty() || target == "." || target == ".." || target == target.root_path()) {
    std::string message = dir.string();
    message.insert(0, "snapshot path '");
    message.append("': name a folder for the snapshot");
    return Fail(ErrorCode::kInvalidArgument, std::move(message));
  }
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(target, ec);
  if (ec || status.type() == std::filesystem::file_type::not_found) return target;
  if (std::filesystem::is_symlink(status)) {
    return Fail(ErrorCode::kInvalidArgument, target.string() + " is a symbolic link: name the folder itself");
  }
  if (!std::filesystem::is_directory(status)) {
    return Fail(ErrorCode::kAlreadyExists, target.string() + " exists and is not a folder: it is not replaced");
  }
  for (const auto& entry : std::filesystem::directory_iterator(target, ec)) {
    const std::string name = entry.path().filename().string();
    if (std::find(std::begin(kSnapshotFiles), std::end(kSnapshotFiles), name) == std::end(kSnapshotFiles)) {
      std::string message = target.string();
      message.append(" holds ").append(name).append(", which is not part of a matcher snapshot: name a new or empty folder");
      return Fail(ErrorCode::kAlreadyExists, std::move(message));
    }
  }
  if (ec) return Fail(ErrorCode::kIoError, target.string() + ": cannot list: " + ec.message());
  return target;
}

// A snapshot's files must be regular files (a FIFO would block the start, a device be read forever).
Status CheckSnapshotFiles(const std::filesystem::path& dir) {
  for (const char* name : kSnapshotFiles) {
    std::error_code ec;
    const auto status = std::filesystem::status(dir / name, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
      return Fail(ErrorCode::kNotFound, (dir / name).string() + ": no snapshot there");
    }
    if (ec || !std::filesystem::is_regular_file(status)) {
      return Fail(ErrorCode::kInvalidArgument, (dir / name).string() + " is not a regular file");
    }
  }
  return {};
}

// Removes a folder being written unless it was renamed into place.
struct RemoveUnlessKept {
  std::filesystem::path path;
  bool kept = false;
  ~RemoveUnlessKept() {
    std::error_code ec;
    if (!kept) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

namespace {
// Plug-in types' values are not in the format: a process that knows any plug-in type reads its
// entries from the store instead (one that did not know them when it saved would have left them out).
Status RefuseWithPlugins() {
  for (const auto& type : SignalTypes()) {
    if (type.plugin) {
      return Fail(ErrorCode::kUnsupported, "index snapshots do not hold licensed-hash plug-in entries ('" +
                                               std::string(type.name) + "'): a process with plug-ins loads its index from the store");
    }
  }
  return {};
}
}  // namespace

Status Matcher::SaveSnapshot(const std::filesystem::path& requested) const {
  VIGIL_ASSIGN_OR_RETURN(const auto dir, SnapshotTarget(requested));
  VIGIL_ASSIGN_OR_RETURN(auto identity, feed_.Identity());
  std::lock_guard refresh(state_->refresh_mu);  // nothing changes meanwhile; lookups go on
  State& s = *state_;
  VIGIL_TRY(RefuseWithPlugins());
  // The newest entry as the store has it now (it may have been removed since: it is still there).
  std::optional<IndexedEntry> last_entry;
  if (s.last_entry_id > 0) {
    auto entry = feed_.EntryById(s.last_entry_id);
    if (entry) {
      last_entry = std::move(*entry);
    } else if (entry.error().code != ErrorCode::kUnsupported) {
      return tl::unexpected(entry.error());
    }
  }
  std::error_code ec;
  const auto parent = dir.has_parent_path() ? dir.parent_path() : std::filesystem::path(".");
  const auto name = dir.filename().string();
  const auto tmp = parent / (name + ".tmp-" + std::to_string(getpid()));
  std::filesystem::remove_all(tmp, ec);
  if (!std::filesystem::create_directories(tmp, ec) || ec) {
    return Fail(ErrorCode::kIoError, tmp.string() + ": cannot create: " + ec.message());
  }
  RemoveUnlessKept cleanup{tmp};
  VIGIL_TRY(s.pdq->Save(tmp / "pdq.idx"));
  VIGIL_TRY(s.frames->Save(tmp / "frames.idx"));
  {
    Writer w(tmp / "matcher.bin");
    w.Bytes(kMagic, sizeof kMagic);
    w.Value(kVersion);
    w.Value(std::uint32_t{0});
    w.Value(static_cast<std::uint32_t>(identity.size()));
    w.Bytes(identity.data(), identity.size());
    w.Value(s.last_entry_id);
    w.Value(s.last_import_id);
    w.Value(static_cast<std::uint8_t>(last_entry ? 1 : 0));
    if (last_entry) {
      w.Value(last_entry->bank_id);
      w.ShortText(last_entry->signal_type);
      w.Value(static_cast<std::uint32_t>(last_entry->value.size()));
      w.Bytes(last_entry->value.data(), last_entry->value.size());
    }
    const auto types = SignalTypes();
    w.Value(static_cast<std::uint32_t>(types.size()));
    for (const auto& t : types) w.ShortText(t.name);
    w.Value(static_cast<std::uint64_t>(s.entry_ids.size()));
    w.Array(s.entry_ids);
    w.Array(s.entry_banks);
    w.Array(s.entry_types);
    for (const CryptoIndex* index : {&s.md5, &s.sha1, &s.sha256}) {
      const auto entries = index->Entries();
      w.Value(static_cast<std::uint64_t>(entries.size()));
      for (const auto& [id, hex] : entries) {
        w.Value(id);
        w.ShortText(hex);
      }
    }
    w.Value(static_cast<std::uint64_t>(s.frame_owner.size()));
    w.Array(s.frame_owner);
    w.Value(static_cast<std::uint64_t>(s.videos.size()));
    for (const auto& [entry, video] : s.videos) {
      w.Value(entry);
      w.Value(video.first_frame);
      w.Value(video.frames);
      w.Value(static_cast<std::uint8_t>(video.live ? 1 : 0));
    }
    w.Value(static_cast<std::uint64_t>(s.live_videos));
    if (!w.Finish()) return Fail(ErrorCode::kIoError, (tmp / "matcher.bin").string() + ": write failed");
  }
  // Replace the old snapshot: a reader sees the old folder or the new one, never a half-written one.
  const auto old = parent / (name + ".old-" + std::to_string(getpid()));
  std::filesystem::remove_all(old, ec);
  const bool had = std::filesystem::exists(dir, ec);
  if (had) std::filesystem::rename(dir, old, ec);
  if (ec) return Fail(ErrorCode::kIoError, dir.string() + ": cannot move the old snapshot aside: " + ec.message());
  std::filesystem::rename(tmp, dir, ec);
  if (ec) return Fail(ErrorCode::kIoError, dir.string() + ": cannot rename the new snapshot into place: " + ec.message());
  cleanup.kept = true;
  if (had) std::filesystem::remove_all(old, ec);
  return {};
}

Status Matcher::LoadSnapshot(const std::filesystem::path& dir) {
  VIGIL_TRY(RefuseWithPlugins());
  VIGIL_TRY(CheckSnapshotFiles(dir));
  const auto bin = dir / "matcher.bin";
  std::string data;
  {
    std::ifstream in(bin, std::ios::binary | std::ios::ate);
    if (!in) return Fail(ErrorCode::kNotFound, bin.string() + ": no snapshot there");
    const auto size = static_cast<std::streamoff>(in.tellg());
    if (size < 0) return Fail(ErrorCode::kIoError, bin.string() + ": cannot tell its size");
    data.resize(static_cast<std::size_t>(size));
    in.seekg(0);
    if (!in.read(data.data(), size)) return Fail(ErrorCode::kIoError, bin.string() + ": read failed");
  }
  const std::string name = bin.string();
  if (data.size() < sizeof kMagic + 8 + 8 || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    return Fail(ErrorCode::kCorrupt, name + ": not a matcher snapshot");
  }
  std::uint64_t stored_hash;
  std::memcpy(&stored_hash, data.data() + data.size() - 8, 8);
  if (XXH3_64bits(data.data(), data.size() - 8) != stored_hash) return Fail(ErrorCode::kCorrupt, name + ": checksum mismatch");
  data.resize(data.size() - 8);
  Reader r(data, name);
  VIGIL_TRY(r.Text(sizeof kMagic));
  VIGIL_ASSIGN_OR_RETURN(auto version, r.Value<std::uint32_t>());
  if (version != kVersion) {
    return Fail(ErrorCode::kUnsupported, name + ": format version " + std::to_string(version) + ", this build reads " +
                                             std::to_string(kVersion));
  }
  VIGIL_TRY(r.Value<std::uint32_t>());
  VIGIL_ASSIGN_OR_RETURN(auto identity_size, r.Value<std::uint32_t>());
  VIGIL_ASSIGN_OR_RETURN(auto identity, r.Text(identity_size));
  VIGIL_ASSIGN_OR_RETURN(auto ours, feed_.Identity());
  if (!identity.empty() && !ours.empty() && identity != ours) {
    return Fail(ErrorCode::kInvalidArgument,
                name + ": a snapshot of another database, or of a copy of this one (a restored backup, a clone): " +
                    identity + ", this one is " + ours);
  }
  // Read whole and checked before any of it reaches the matcher.
  struct Loaded {
    std::int64_t last_entry_id = 0, last_import_id = 0;
    std::vector<std::int64_t> entry_ids, entry_banks, frame_owner;
    std::vector<std::uint8_t> entry_types;
    std::vector<std::pair<std::uint64_t, std::string>> crypto[3];
    std::unordered_map<std::int64_t, State::Video> videos;
    std::size_t live_videos = 0;
    std::unique_ptr<PdqIndex> pdq, frames;
  } s;
  VIGIL_ASSIGN_OR_RETURN(s.last_entry_id, r.Value<std::int64_t>());
  VIGIL_ASSIGN_OR_RETURN(s.last_import_id, r.Value<std::int64_t>());
  VIGIL_ASSIGN_OR_RETURN(auto known, r.Value<std::uint8_t>());
  if (known != 0) {
    // A restored backup or a clone keeps the identity: the store must hold the snapshot's newest
    // entry as the snapshot had it, and every import it had seen.
    IndexedEntry last;
    VIGIL_ASSIGN_OR_RETURN(last.bank_id, r.Value<std::int64_t>());
    VIGIL_ASSIGN_OR_RETURN(auto type_length, r.Value<std::uint8_t>());
    VIGIL_ASSIGN_OR_RETURN(last.signal_type, r.Text(type_length));
    VIGIL_ASSIGN_OR_RETURN(auto value_length, r.Value<std::uint32_t>());
    VIGIL_ASSIGN_OR_RETURN(last.value, r.Text(value_length));
    auto theirs = feed_.EntryById(s.last_entry_id);
    if (!theirs && theirs.error().code != ErrorCode::kNotFound && theirs.error().code != ErrorCode::kUnsupported) {
      return tl::unexpected(theirs.error());
    }
    if ((!theirs && theirs.error().code == ErrorCode::kNotFound) ||
        (theirs && (theirs->bank_id != last.bank_id || theirs->signal_type != last.signal_type ||
                    theirs->value != last.value))) {
      return Fail(ErrorCode::kInvalidArgument, name + ": the store does not hold the snapshot's newest entry (" +
                                                   std::to_string(s.last_entry_id) +
                                                   ") as the snapshot has it: a restored backup or a clone of its database");
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto latest_import, feed_.LatestImportId());
  if (latest_import < s.last_import_id) {
    return Fail(ErrorCode::kInvalidArgument, name + ": the snapshot has seen import " + std::to_string(s.last_import_id) +
                                                 ", the store's newest is " + std::to_string(latest_import) +
                                                 ": a restored backup or a clone of its database");
  }
  // The snapshot's type list, mapped onto this build's.
  VIGIL_ASSIGN_OR_RETURN(auto type_count, r.Value<std::uint32_t>());
  if (type_count > 255) return r.Corrupt("too many signal types");
  std::vector<std::uint8_t> type_map;
  const auto types = SignalTypes();
  for (std::uint32_t i = 0; i < type_count; ++i) {
    VIGIL_ASSIGN_OR_RETURN(auto length, r.Value<std::uint8_t>());
    VIGIL_ASSIGN_OR_RETURN(auto type, r.Text(length));
    std::size_t at = 0;
    while (at < types.size() && types[at].name != type) ++at;
    if (at == types.size()) return Fail(ErrorCode::kUnsupported, name + ": signal type '" + type + "' unknown to this build");
    type_map.push_back(static_cast<std::uint8_t>(at));
  }
  VIGIL_ASSIGN_OR_RETURN(auto entries, r.Value<std::uint64_t>());
  VIGIL_ASSIGN_OR_RETURN(s.entry_ids, r.Array<std::int64_t>(entries));
  VIGIL_ASSIGN_OR_RETURN(s.entry_banks, r.Array<std::int64_t>(entries));
  VIGIL_ASSIGN_OR_RETURN(s.entry_types, r.Array<std::uint8_t>(entries));
  for (std::size_t i = 0; i < s.entry_ids.size(); ++i) {
    if (i > 0 && s.entry_ids[i] <= s.entry_ids[i - 1]) return r.Corrupt("entry ids out of order");
    if (s.entry_types[i] >= type_map.size()) return r.Corrupt("an entry of an unlisted type");
    s.entry_types[i] = type_map[s.entry_types[i]];
  }
  if (!s.entry_ids.empty() && s.entry_ids.back() > s.last_entry_id) return r.Corrupt("entries past the last entry id");
  constexpr std::size_t kHexLength[3] = {32, 40, 64};
  for (std::size_t k = 0; k < 3; ++k) {
    VIGIL_ASSIGN_OR_RETURN(auto count, r.Value<std::uint64_t>());
    for (std::uint64_t i = 0; i < count; ++i) {
      VIGIL_ASSIGN_OR_RETURN(auto id, r.Value<std::uint64_t>());
      VIGIL_ASSIGN_OR_RETURN(auto length, r.Value<std::uint8_t>());
      VIGIL_ASSIGN_OR_RETURN(auto hex, r.Text(length));
      if (hex.size() != kHexLength[k] || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return r.Corrupt(std::string("a malformed ") + kCryptoTypes[k] + " digest");
      }
      s.crypto[k].emplace_back(id, std::move(hex));
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto owners, r.Value<std::uint64_t>());
  VIGIL_ASSIGN_OR_RETURN(s.frame_owner, r.Array<std::int64_t>(owners));
  VIGIL_ASSIGN_OR_RETURN(auto videos, r.Value<std::uint64_t>());
  for (std::uint64_t i = 0; i < videos; ++i) {
    VIGIL_ASSIGN_OR_RETURN(auto entry, r.Value<std::int64_t>());
    State::Video video;
    VIGIL_ASSIGN_OR_RETURN(video.first_frame, r.Value<std::uint64_t>());
    VIGIL_ASSIGN_OR_RETURN(video.frames, r.Value<std::uint32_t>());
    VIGIL_ASSIGN_OR_RETURN(auto live, r.Value<std::uint8_t>());
    video.live = live != 0;
    if (video.first_frame > s.frame_owner.size() || video.frames > s.frame_owner.size() - video.first_frame) {
      return r.Corrupt("a video's frames past the frame table");
    }
    s.videos[entry] = video;
  }
  VIGIL_ASSIGN_OR_RETURN(auto live_videos, r.Value<std::uint64_t>());
  if (live_videos > s.videos.size()) return r.Corrupt("more live videos than videos");
  s.live_videos = static_cast<std::size_t>(live_videos);
  if (!r.AtEnd()) return r.Corrupt("bytes after the end");
  VIGIL_ASSIGN_OR_RETURN(s.pdq, PdqIndex::Load(dir / "pdq.idx"));
  VIGIL_ASSIGN_OR_RETURN(s.frames, PdqIndex::Load(dir / "frames.idx"));
  {
    std::lock_guard refresh(state_->refresh_mu);
    std::unique_lock lock(state_->mu);
    if (!state_->entry_ids.empty() || state_->last_entry_id != 0 || state_->last_import_id != 0) {
      return Fail(ErrorCode::kInvalidArgument, "a snapshot loads into a new matcher only (this one has loaded)");
    }
    state_->entry_ids = std::move(s.entry_ids);
    state_->entry_banks = std::move(s.entry_banks);
    state_->entry_types = std::move(s.entry_types);
    state_->last_entry_id = s.last_entry_id;
    state_->last_import_id = s.last_import_id;
    state_->pdq = std::move(s.pdq);
    state_->frames = std::move(s.frames);
    state_->frame_owner = std::move(s.frame_owner);
    state_->videos = std::move(s.videos);
    state_->live_videos = s.live_videos;
    CryptoIndex* crypto[3] = {&state_->md5, &state_->sha1, &state_->sha256};
    for (std::size_t k = 0; k < 3; ++k) {
      for (const auto& [id, hex] : s.crypto[k]) VIGIL_TRY(crypto[k]->AddText(id, hex));
    }
  }
  return Refresh();  // bank rules, and everything after the snapshot
}

}  // namespace vigil
