// CryptoIndex: exact lookup of MD5 / SHA-1 / SHA-256 digests (as raw bytes) behind SignalIndex.
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "vigil/index.h"

namespace vigil {

struct CryptoIndex::State {
  DigestType type;
  mutable std::shared_mutex mu;
  std::unordered_multimap<std::string, std::uint64_t> by_digest;
  std::unordered_multimap<std::uint64_t, std::string> by_id;
};

namespace {

std::size_t HexLength(DigestType t) {
  switch (t) {
    case DigestType::kMd5: return 32;
    case DigestType::kSha1: return 40;
    case DigestType::kSha256: return 64;
  }
  return 0;
}

const char* TypeName(DigestType t) {
  switch (t) {
    case DigestType::kMd5: return "MD5";
    case DigestType::kSha1: return "SHA-1";
    case DigestType::kSha256: return "SHA-256";
  }
  return "digest";
}

Result<std::string> DecodeHex(DigestType type, std::string_view hex) {
  if (hex.size() != HexLength(type)) {
    return Fail(ErrorCode::kInvalidArgument, std::string(TypeName(type)) + " must be " +
                                                 std::to_string(HexLength(type)) + " hex digits, got " +
                                                 std::to_string(hex.size()) + " characters");
  }
  std::string bytes(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (v < 0) {
      return Fail(ErrorCode::kInvalidArgument, std::string(TypeName(type)) + " has a non-hex character at position " +
                                                   std::to_string(i + 1));
    }
    bytes[i / 2] = static_cast<char>(bytes[i / 2] | (v << (i % 2 == 0 ? 4 : 0)));
  }
  return bytes;
}

}  // namespace

CryptoIndex::CryptoIndex(DigestType type) : state_(std::make_unique<State>()) { state_->type = type; }
CryptoIndex::~CryptoIndex() = default;

Status CryptoIndex::AddText(std::uint64_t id, std::string_view hex) {
  VIGIL_ASSIGN_OR_RETURN(auto bytes, DecodeHex(state_->type, hex));
  std::unique_lock lock(state_->mu);
  state_->by_digest.emplace(bytes, id);
  state_->by_id.emplace(id, std::move(bytes));
  return {};
}

Status CryptoIndex::Remove(std::uint64_t id) {
  std::unique_lock lock(state_->mu);
  auto [begin, end] = state_->by_id.equal_range(id);
  if (begin == end) return Fail(ErrorCode::kNotFound, "no entry with id " + std::to_string(id));
  for (auto it = begin; it != end; ++it) {
    auto [db, de] = state_->by_digest.equal_range(it->second);
    for (auto d = db; d != de;) d = d->second == id ? state_->by_digest.erase(d) : std::next(d);
  }
  state_->by_id.erase(id);
  return {};
}

Result<std::vector<IndexMatch>> CryptoIndex::SearchText(std::string_view hex, int radius) const {
  if (radius != 0) return Fail(ErrorCode::kInvalidArgument, "cryptographic digests match exactly: radius must be 0");
  VIGIL_ASSIGN_OR_RETURN(auto bytes, DecodeHex(state_->type, hex));
  std::vector<IndexMatch> out;
  std::shared_lock lock(state_->mu);
  auto [begin, end] = state_->by_digest.equal_range(bytes);
  for (auto it = begin; it != end; ++it) out.push_back({it->second, 0});
  std::sort(out.begin(), out.end(), [](const IndexMatch& a, const IndexMatch& b) { return a.id < b.id; });
  return out;
}

std::size_t CryptoIndex::size() const {
  std::shared_lock lock(state_->mu);
  return state_->by_id.size();
}

std::vector<std::pair<std::uint64_t, std::string>> CryptoIndex::Entries() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::shared_lock lock(state_->mu);
  std::vector<std::pair<std::uint64_t, std::string>> out;
  out.reserve(state_->by_id.size());
  for (const auto& [id, bytes] : state_->by_id) {
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (const char c : bytes) {
      const auto b = static_cast<unsigned char>(c);
      hex += kHex[b >> 4];
      hex += kHex[b & 15];
    }
    out.emplace_back(id, std::move(hex));
  }
  return out;
}

}  // namespace vigil
