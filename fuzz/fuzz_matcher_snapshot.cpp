// Matcher snapshots (src/match/matcher_snapshot.cpp) as an operator's folder may hold them: the
// input is matcher.bin's body, to which this appends the checksum the reader checks first (so the
// structure parser behind it is reached), beside empty PDQ indexes. A load must refuse or take it,
// never crash, hang or read past what it holds; a taken one must answer lookups.
#include <unistd.h>
#include <xxhash.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "vigil/index.h"
#include "vigil/matcher.h"
#include "vigil/pdq.h"
#include "vigil/store.h"

namespace {

// A store of one bank and nothing else: whatever the snapshot says is followed by an empty refresh.
class EmptyFeed final : public vigil::EntryFeed {
 public:
  vigil::Result<std::vector<vigil::Bank>> ListBanks() override {
    vigil::Bank bank;
    bank.id = 1;
    bank.name = "fuzz";
    return std::vector<vigil::Bank>{bank};
  }
  vigil::Result<std::vector<vigil::IndexedEntry>> LiveEntriesAfter(std::int64_t, int) override {
    return std::vector<vigil::IndexedEntry>{};
  }
  vigil::Result<std::vector<vigil::EntryRemoval>> RemovalsAfter(std::int64_t) override {
    return std::vector<vigil::EntryRemoval>{};
  }
  vigil::Result<std::int64_t> LatestImportId() override { return std::int64_t{1} << 40; }
};

const std::filesystem::path& Folder() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("vigil-fuzz-snapshot-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    vigil::PdqIndex empty;
    if (!empty.Save(d / "pdq.idx") || !empty.Save(d / "frames.idx")) std::abort();
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& dir = Folder();
  const std::uint64_t hash = XXH3_64bits(data, size);
  {
    std::ofstream out(dir / "matcher.bin", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.write(reinterpret_cast<const char*>(&hash), sizeof hash);
  }
  EmptyFeed feed;
  vigil::Matcher matcher(feed);
  if (matcher.LoadSnapshot(dir)) {
    (void)matcher.Lookup({"pdq", std::string(64, 'a'), 100, ""});
    (void)matcher.Lookup({"sha256", std::string(64, 'b'), std::nullopt, ""});
    (void)matcher.Stats();
  }
  return 0;
}
