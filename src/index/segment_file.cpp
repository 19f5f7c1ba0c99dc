// The snapshot file of an MIH segment, opened by mmap so a replica is ready at once.
//
// Layout (all integers little-endian, sections 64-byte aligned, in this order):
//   header, 4096 bytes: magic "VIGLIDX1", u32 version (3), u32 header size (4096), u64 count,
//     u32 chunk count, u32 flags (bit 0: every code has 128 ones; bit 1: ids are u32; bit 2:
//     postings are 3 bytes each), u8 chunk widths[32],
//     u32 wide blocks[32], u8 permutation[256], u64 payload bytes, u64 XXH3-64 of the payload,
//     u64 XXH3-64 of the header with this last field zero
//   codes (count x 32 bytes, permuted), ids (count x u64 or u32),
//   bucket offsets of chunks 0..m-1 (bucket_offsets.h: block starts ((2^width / 32) + 1) x u32,
//   deltas (2^width + 1) x u8, wide blocks (32 x u32 each)), postings of chunks 1..m-1 (count x u32,
//   or count x 3 bytes + 1 byte of padding: packed_column.h)
// Version 2 is version 3 with flag bits 1 and 2 clear, and is read. Version 1 (4-byte offsets) is
// refused as unsupported: a server then loads from the store.
// The section sizes follow from count and the widths, so a file whose size disagrees is refused.
// Writes go to a temporary file that is renamed into place: never half-written.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstring>

#include "index/mih_segment.h"

namespace vigil::index {

namespace {

constexpr char kMagic[8] = {'V', 'I', 'G', 'L', 'I', 'D', 'X', '1'};
constexpr std::uint32_t kVersion = 3;
constexpr std::uint32_t kBalanced = 1, kIds32 = 2, kPostings24 = 4;
constexpr std::size_t kHeaderBytes = 4096;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_bytes;
  std::uint64_t count;
  std::uint32_t chunk_count;
  std::uint32_t flags;
  std::uint8_t widths[32];
  std::uint32_t wide_blocks[32];
  std::uint8_t perm[256];
  std::uint64_t payload_bytes;
  std::uint64_t payload_hash;
  std::uint64_t header_hash;
};
static_assert(sizeof(Header) < kHeaderBytes);

std::size_t Align(std::size_t v) { return (v + 63) & ~std::size_t{63}; }

struct Sections {
  std::size_t codes = 0, ids = 0, starts[32] = {}, deltas[32] = {}, wide[32] = {}, postings[32] = {}, end = 0;
};

std::size_t BlockStarts(std::uint8_t width) { return (std::size_t{1} << width >> BucketOffsets::kBlockShift) + 1; }

int IdWidth(std::uint32_t flags) { return (flags & kIds32) != 0 ? 4 : 8; }
int PostingWidthOf(std::uint32_t flags) { return (flags & kPostings24) != 0 ? 3 : 4; }

Sections Plan(std::uint64_t count, std::uint32_t flags, std::uint32_t chunks, const std::uint8_t* widths,
              const std::uint32_t* wide_blocks) {
  Sections s;
  std::size_t pos = 0;
  s.codes = pos;
  pos = Align(pos + count * 32);
  s.ids = pos;
  pos = Align(pos + PackedBytes(count, IdWidth(flags)));
  for (std::uint32_t c = 0; c < chunks; ++c) {
    s.starts[c] = pos;
    pos = Align(pos + BlockStarts(widths[c]) * 4);
    s.deltas[c] = pos;
    pos = Align(pos + (std::size_t{1} << widths[c]) + 1);
    s.wide[c] = pos;
    pos = Align(pos + std::size_t{wide_blocks[c]} * BucketOffsets::kBlock * 4);
  }
  for (std::uint32_t c = 1; c < chunks; ++c) {
    s.postings[c] = pos;
    pos = Align(pos + PackedBytes(count, PostingWidthOf(flags)));
  }
  s.end = pos;
  return s;
}

struct Mapping {
  void* base = nullptr;
  std::size_t bytes = 0;
  ~Mapping() {
    if (base) munmap(base, bytes);
  }
};

}  // namespace

struct SegmentFile {
  static Status Write(const MihSegment& seg, const std::filesystem::path& path);
  static Result<std::shared_ptr<const MihSegment>> Open(const std::filesystem::path& path, bool verify);
};

Status MihSegment::Write(const std::filesystem::path& path) const { return SegmentFile::Write(*this, path); }
Result<std::shared_ptr<const MihSegment>> MihSegment::Open(const std::filesystem::path& path, bool verify) {
  return SegmentFile::Open(path, verify);
}

Status SegmentFile::Write(const MihSegment& seg, const std::filesystem::path& path) {
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.header_bytes = kHeaderBytes;
  h.count = seg.n_;
  h.chunk_count = static_cast<std::uint32_t>(seg.layout_.count);
  h.flags = (seg.balanced_ ? kBalanced : 0u) | (seg.ids_.width == 4 ? kIds32 : 0u);
  for (int c = 1; c < seg.layout_.count; ++c) {
    if (seg.postings_[static_cast<std::size_t>(c)].width == 3) h.flags |= kPostings24;
  }
  for (int c = 0; c < seg.layout_.count; ++c) {
    h.widths[c] = static_cast<std::uint8_t>(seg.layout_.width[static_cast<std::size_t>(c)]);
    h.wide_blocks[c] = static_cast<std::uint32_t>(seg.buckets_[static_cast<std::size_t>(c)].wide.size() / BucketOffsets::kBlock);
  }
  std::memcpy(h.perm, seg.perm_.map().data(), 256);
  const Sections s = Plan(h.count, h.flags, h.chunk_count, h.widths, h.wide_blocks);
  h.payload_bytes = s.end;

  std::vector<std::uint8_t> payload(s.end, 0);
  // An empty segment's vectors may have no storage at all: memcpy from null is undefined even for 0 bytes.
  auto copy = [&payload](std::size_t at, const void* from, std::size_t bytes) {
    if (bytes != 0) std::memcpy(payload.data() + at, from, bytes);
  };
  copy(s.codes, seg.codes_.data(), seg.n_ * 32);
  copy(s.ids, seg.ids_.data, seg.ids_.Bytes());
  for (std::uint32_t c = 0; c < h.chunk_count; ++c) {
    const BucketOffsets& b = seg.buckets_[c];
    copy(s.starts[c], b.block_starts.data(), b.block_starts.size() * 4);
    copy(s.deltas[c], b.deltas.data(), b.deltas.size());
    copy(s.wide[c], b.wide.data(), b.wide.size() * 4);
    if (c > 0) copy(s.postings[c], seg.postings_[c].data, seg.postings_[c].Bytes());
  }
  h.payload_hash = XXH3_64bits(payload.data(), payload.size());
  std::vector<std::uint8_t> header(kHeaderBytes, 0);
  std::memcpy(header.data(), &h, sizeof h);
  h.header_hash = XXH3_64bits(header.data(), header.size());
  std::memcpy(header.data(), &h, sizeof h);

  // The rename below replaces whatever the path names: a device, a FIFO or a folder given for the
  // output (`-o /dev/full`) is refused, not replaced.
  if (struct stat existing {}; ::lstat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument,
                path.string() + ": not a regular file (an index snapshot is written to a new or a regular file)");
  }
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(ErrorCode::kIoError, tmp.string() + ": cannot create: " + std::strerror(errno));
  auto write_all = [&](const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  };
  const bool ok = write_all(header.data(), header.size()) && write_all(payload.data(), payload.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::filesystem::remove(tmp);
    return Fail(ErrorCode::kIoError, path.string() + ": cannot write snapshot: " + std::strerror(errno));
  }
  return {};
}

Result<std::shared_ptr<const MihSegment>> SegmentFile::Open(const std::filesystem::path& path, bool verify) {
  auto corrupt = [&](const std::string& why) {
    return Fail(ErrorCode::kCorrupt, path.string() + ": not a valid Vigil index snapshot: " + why);
  };
  // Non-blocking: a FIFO given for the file must not hang the open (it is refused just below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIoError,
                path.string() + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Fail(ErrorCode::kIoError, path.string() + ": cannot stat");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kInvalidArgument, path.string() + ": not a regular file (an index snapshot is one .vidx file)");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < kHeaderBytes) {
    ::close(fd);
    return corrupt("file is " + std::to_string(size) + " bytes, shorter than the header");
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (mapping->base == MAP_FAILED) {
    mapping->base = nullptr;
    return Fail(ErrorCode::kIoError, path.string() + ": mmap failed: " + std::strerror(errno));
  }
  mapping->bytes = size;
  const auto* base = static_cast<const std::uint8_t*>(mapping->base);
  Header h;
  std::memcpy(&h, base, sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0) return corrupt("bad magic");
  if (h.version != kVersion && h.version != 2) {
    return Fail(ErrorCode::kUnsupported, path.string() + ": index snapshot version " + std::to_string(h.version) +
                                             " (this build reads version " + std::to_string(kVersion) + ")");
  }
  {
    std::vector<std::uint8_t> header(base, base + kHeaderBytes);
    Header z = h;
    z.header_hash = 0;
    std::memcpy(header.data(), &z, sizeof z);
    if (XXH3_64bits(header.data(), header.size()) != h.header_hash) return corrupt("header checksum mismatch");
  }
  if (h.chunk_count > 32 || h.count > 0xFFFFFFFFu || (h.chunk_count > 0 && h.count >= BucketOffsets::kWide)) {
    return corrupt("impossible chunk count or entry count");
  }
  if (h.version == 2 && (h.flags & (kIds32 | kPostings24)) != 0) return corrupt("version 2 with version 3 flags");
  if ((h.flags & ~(kBalanced | kIds32 | kPostings24)) != 0) return corrupt("unknown flags");
  if ((h.flags & kPostings24) != 0 && h.count > (std::uint64_t{1} << 24)) return corrupt("3-byte postings for more than 2^24 entries");
  int total = 0;
  for (std::uint32_t c = 0; c < h.chunk_count; ++c) {
    if (h.widths[c] < BucketOffsets::kBlockShift || h.widths[c] > 26) return corrupt("chunk width out of range");
    // At most one wide block per block of values.
    if (h.wide_blocks[c] > (std::uint32_t{1} << h.widths[c] >> BucketOffsets::kBlockShift)) return corrupt("too many wide blocks");
    total += h.widths[c];
  }
  if (h.chunk_count > 0 && total != 256) return corrupt("chunk widths do not cover 256 bits");
  const Sections s = Plan(h.count, h.flags, h.chunk_count, h.widths, h.wide_blocks);
  if (s.end != h.payload_bytes || kHeaderBytes + s.end != size) {
    return corrupt("size " + std::to_string(size) + " does not match the header (expected " +
                   std::to_string(kHeaderBytes + s.end) + ")");
  }
  std::array<std::uint8_t, 256> map{};
  std::memcpy(map.data(), h.perm, 256);
  BitPermutation perm(map);
  if (!perm.valid()) return corrupt("bit permutation is not a permutation");
  const std::uint8_t* payload = base + kHeaderBytes;
  if (verify && XXH3_64bits(payload, s.end) != h.payload_hash) return corrupt("payload checksum mismatch");

  ChunkLayout layout;
  layout.count = static_cast<int>(h.chunk_count);
  for (int c = 0, pos = 0; c < layout.count; ++c) {
    layout.start[static_cast<std::size_t>(c)] = pos;
    layout.width[static_cast<std::size_t>(c)] = h.widths[c];
    pos += h.widths[c];
  }
  std::shared_ptr<MihSegment> seg(new MihSegment(std::move(perm), layout));
  seg->inverse_ = std::make_unique<BitPermutation>(seg->perm_.Inverse());
  seg->n_ = h.count;
  seg->balanced_ = (h.flags & kBalanced) != 0;
  seg->codes_ = {reinterpret_cast<const Code*>(payload + s.codes), h.count};
  seg->ids_ = {payload + s.ids, h.count, IdWidth(h.flags)};
  for (std::uint32_t c = 0; c < h.chunk_count; ++c) {
    seg->buckets_[c] = {{reinterpret_cast<const std::uint32_t*>(payload + s.starts[c]), BlockStarts(h.widths[c])},
                        {payload + s.deltas[c], (std::size_t{1} << h.widths[c]) + 1},
                        {reinterpret_cast<const std::uint32_t*>(payload + s.wide[c]), std::size_t{h.wide_blocks[c]} * BucketOffsets::kBlock}};
    if (c > 0) seg->postings_[c] = {payload + s.postings[c], h.count, PostingWidthOf(h.flags)};
  }
  {
    // Structure, always (also without `verify`, which skips only the checksum: ~0.1 s at 10M), so
    // that neither a forged checksum nor a damaged file loaded unverified can make a search read
    // out of bounds.
    for (std::uint32_t c = 0; c < h.chunk_count; ++c) {
      if (auto why = CheckBucketOffsets(seg->buckets_[c], static_cast<std::uint32_t>(h.count)); !why.empty()) {
        return corrupt("chunk " + std::to_string(c) + " " + why);
      }
      const PackedColumn& post = seg->postings_[c];
      for (std::size_t i = 0; i < post.size(); ++i) {
        if (post[i] >= h.count) return corrupt("chunk " + std::to_string(c) + " has a posting out of range");
      }
    }
  }
  // Which codes lack 128 ones is not in the file: a pass over the codes (~10 ms at 10M, in the
  // pages the checksum read) finds them, only in segments the header says are not all balanced.
  if (!seg->balanced_ && layout.count > 0) seg->MarkUnbalanced();
  seg->mapped_bytes_ = size;
  seg->mapping_ = std::move(mapping);
  return std::shared_ptr<const MihSegment>(std::move(seg));
}

}  // namespace vigil::index
