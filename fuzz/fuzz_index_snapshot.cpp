// Hamming index snapshots (`vigil index build -o X.vidx`, the segments inside a matcher snapshot):
// a real snapshot of a few thousand codes, built once, with the input XORed into it (its first 4
// bytes say where) and the checksums made to match, so every mutation reaches the structure checks
// behind them (bucket offsets, wide blocks, postings). A load must refuse it or take it; a taken
// one must answer searches without reading past what it holds.
#include <unistd.h>
#include <xxhash.h>

#include <cstdint>
#include <cstdlib>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "vigil/index.h"
#include "vigil/pdq.h"

namespace {

constexpr std::size_t kHeaderBytes = 4096;
constexpr std::size_t kPayloadHashAt = 456;  // see src/index/segment_file.cpp's Header
constexpr std::size_t kHeaderHashAt = 464;

struct Base {
  std::filesystem::path dir;
  std::vector<std::uint8_t> bytes;
  std::vector<vigil::PdqHash> probes;
};

const Base& TheBase() {
  static const Base base = [] {
    Base b;
    b.dir = std::filesystem::temp_directory_path() / ("vigil-fuzz-index-" + std::to_string(getpid()));
    std::filesystem::create_directories(b.dir);
    // Enough codes for a probing segment, with a popular one (a wide block) among them.
    std::mt19937_64 rng(7);
    vigil::PdqIndex index;
    for (std::uint64_t i = 0; i < 3000; ++i) {
      std::array<std::uint16_t, 16> words{};
      for (auto& w : words) w = static_cast<std::uint16_t>(i < 400 ? 0x5a5a : rng());
      const auto code = vigil::PdqHash::FromWords(words);
      index.Add(i, code);
      if (i % 500 == 0) b.probes.push_back(code);
    }
    if (!index.Save(b.dir / "base.vidx")) std::abort();
    std::ifstream in(b.dir / "base.vidx", std::ios::binary);
    b.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (b.bytes.size() <= kHeaderBytes) std::abort();
    return b;
  }();
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Base& base = TheBase();
  std::vector<std::uint8_t> file = base.bytes;
  if (size >= 4) {
    std::uint32_t at = 0;
    std::memcpy(&at, data, 4);
    std::size_t pos = at % file.size();
    for (std::size_t i = 4; i < size && pos < file.size(); ++i, ++pos) file[pos] ^= data[i];
  }
  // Checksums that agree with whatever the file now says.
  const std::uint64_t payload = XXH3_64bits(file.data() + kHeaderBytes, file.size() - kHeaderBytes);
  std::memcpy(file.data() + kPayloadHashAt, &payload, 8);
  std::memset(file.data() + kHeaderHashAt, 0, 8);
  const std::uint64_t header = XXH3_64bits(file.data(), kHeaderBytes);
  std::memcpy(file.data() + kHeaderHashAt, &header, 8);
  const auto path = base.dir / "input.vidx";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  auto loaded = vigil::PdqIndex::Load(path);
  if (loaded) {
    for (const auto& probe : base.probes) {
      (void)(*loaded)->Search(probe, 0);
      (void)(*loaded)->Search(probe, 31);
    }
    (void)(*loaded)->SearchBatch(base.probes, 63, 1);
  }
  return 0;
}
