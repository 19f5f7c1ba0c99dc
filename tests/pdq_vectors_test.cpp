// Bit-exactness against Meta's reference outputs in tests/data/vectors/pdq: every image's hash and
// quality (reference CLI mode), the eight dihedral variants, and the 88 Debian wallpapers. Missing
// data fails: the vectors are committed, the wallpapers come from scripts/fetch-wallpapers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "test_images.h"
#include "util/csv.h"
#include "vigil/file_hasher.h"

namespace vigil {
namespace {

using testing::TestDataDir;

struct Row {
  std::vector<std::string> fields;
};

// Data rows of a reference CSV (comment and header lines skipped).
std::vector<std::vector<std::string>> ReadCsv(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "missing " << path;
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("pdq_hex", 0) == 0) continue;
    auto fields = util::ParseCsvLine(line);
    EXPECT_TRUE(fields.has_value()) << line;
    if (fields) rows.push_back(*fields);
  }
  return rows;
}

std::filesystem::path VectorsDir() { return TestDataDir() / "vectors" / "pdq"; }

// Missing vectors are a broken checkout, not a reason to skip: they are committed.
constexpr const char* kVectorsHint =
    ": the reference vectors are committed under tests/data/vectors (incomplete checkout, or "
    "VIGIL_TEST_DATA_DIR pointing elsewhere?)";

TEST(PdqVectors, ExpectedCsvBitExact) {
  if (!std::filesystem::exists(VectorsDir())) FAIL() << "no reference vectors at " << VectorsDir() << kVectorsHint;
  const auto rows = ReadCsv(VectorsDir() / "expected.csv");
  ASSERT_GE(rows.size(), 49u);
  FileHasher hasher({});
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 3u);
    auto got = hasher.HashFile(VectorsDir() / r[2]);
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    EXPECT_EQ(got->pdq.hash.ToHex(), r[0]) << r[2];
    EXPECT_EQ(got->pdq.quality, std::stoi(r[1])) << r[2];
  }
}

TEST(PdqVectors, DihedralBitExact) {
  if (!std::filesystem::exists(VectorsDir())) FAIL() << "no reference vectors at " << VectorsDir() << kVectorsHint;
  const auto rows = ReadCsv(VectorsDir() / "expected-dihedral.csv");
  ASSERT_GE(rows.size(), 49u);
  FileHashOptions options;
  options.dihedral = true;
  FileHasher hasher(options);
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 10u);
    auto got = hasher.HashFile(VectorsDir() / r[9]);
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    ASSERT_TRUE(got->dihedral.has_value());
    for (int d = 0; d < kDihedralCount; ++d) {
      EXPECT_EQ(got->dihedral->hashes[static_cast<std::size_t>(d)].ToHex(), r[static_cast<std::size_t>(d)])
          << r[9] << " " << DihedralName(static_cast<Dihedral>(d));
    }
    EXPECT_EQ(got->dihedral->quality, std::stoi(r[8])) << r[9];
  }
}

// The wallpapers come from two Debian packages that scripts/test fetches with apt-get download.
TEST(PdqVectors, DebianWallpapersBitExact) {
  const char* env = std::getenv("VIGIL_WALLPAPERS_DIR");
  const std::filesystem::path root = env ? env : VIGIL_TEST_WALLPAPERS_DIR;
  if (!std::filesystem::exists(root / "usr/share/wallpapers")) {
    FAIL() << "wallpaper packages not unpacked at " << root
           << ": run scripts/fetch-wallpapers (apt-get download of plasma-workspace-wallpapers and "
              "gnome-backgrounds, unpacked under .cache/wallpapers; scripts/test runs it)";
  }
  const auto rows = ReadCsv(VectorsDir() / "debian-wallpapers.csv");
  ASSERT_EQ(rows.size(), 88u);
  FileHasher hasher({});
  int exact = 0;
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 6u);
    auto got = hasher.HashFile(root / r[5]);
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    EXPECT_EQ(got->digests.sha256, r[4]) << r[5] << ": not the packaged file";
    EXPECT_EQ(got->width, static_cast<std::uint32_t>(std::stoul(r[2])));
    EXPECT_EQ(got->height, static_cast<std::uint32_t>(std::stoul(r[3])));
    EXPECT_EQ(got->pdq.hash.ToHex(), r[0]) << r[5];
    EXPECT_EQ(got->pdq.quality, std::stoi(r[1])) << r[5];
    exact += got->pdq.hash.ToHex() == r[0];
  }
  EXPECT_EQ(exact, 88);
}

}  // namespace
}  // namespace vigil
