// PDQ unit tests: the hash value type, and the optimised pipeline against a plain transcription of
// the specification (../shared/specs/pdq.md) on many sizes, including odd and tiny ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "signals/jarosz_blur.h"
#include "test_images.h"
#include "vigil/pdq.h"

namespace vigil {
namespace {

// The specification, loop for loop, without any of the fast path's restructuring.
PdqResult SpecPdq(const Image& img, bool full_resolution) {
  int w = static_cast<int>(img.width), h = static_cast<int>(img.height);
  const bool resize = !full_resolution && (w > 512 || h > 512);
  const int ow = resize ? 512 : w, oh = resize ? 512 : h;
  std::vector<float> a(static_cast<std::size_t>(ow * oh)), b(a.size());
  for (int y = 0; y < oh; ++y) {
    for (int x = 0; x < ow; ++x) {
      const int sy = resize ? static_cast<int>(static_cast<long>(y) * h / 512) : y;
      const int sx = resize ? static_cast<int>(static_cast<long>(x) * w / 512) : x;
      const std::uint8_t* p = img.Row(static_cast<std::uint32_t>(sy)) + sx * static_cast<int>(img.channels);
      a[static_cast<std::size_t>(y * ow + x)] =
          img.channels == 1 ? static_cast<float>(p[0])
                            : 0.299f * static_cast<float>(p[0]) + 0.587f * static_cast<float>(p[1]) + 0.114f * static_cast<float>(p[2]);
    }
  }
  w = ow;
  h = oh;
  PdqResult r;
  if (w < 5 || h < 5) return r;
  const int wr = (w + 127) / 128, wc = (h + 127) / 128;
  for (int pass = 0; pass < 2; ++pass) {
    for (int y = 0; y < h; ++y) internal::BoxBlurReference(&a[static_cast<std::size_t>(y * w)], &b[static_cast<std::size_t>(y * w)], w, 1, wr);
    for (int x = 0; x < w; ++x) internal::BoxBlurReference(&b[static_cast<std::size_t>(x)], &a[static_cast<std::size_t>(x)], h, w, wc);
  }
  float g[64][64];
  for (int i = 0; i < 64; ++i) {
    for (int j = 0; j < 64; ++j) {
      g[i][j] = a[static_cast<std::size_t>(static_cast<int>((i + 0.5) * h / 64) * w + static_cast<int>((j + 0.5) * w / 64))];
    }
  }
  int sum = 0;
  for (int i = 0; i < 63; ++i)
    for (int j = 0; j < 64; ++j) sum += std::abs(static_cast<int>(((g[i][j] - g[i + 1][j]) * 100) / 255));
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 63; ++j) sum += std::abs(static_cast<int>(((g[i][j] - g[i][j + 1]) * 100) / 255));
  r.quality = std::min(100, sum / 90);
  float d[16][64], t[16][64], bb[16][16];
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 64; ++j)
      d[i][j] = static_cast<float>(static_cast<double>(static_cast<float>(std::sqrt(2.0 / 64))) *
                                   std::cos((3.14159265358979323846 / 2 / 64) * (i + 1) * (2 * j + 1)));
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 64; ++j) {
      float s = 0.0f;
      for (int k = 0; k < 64; ++k) s += d[i][k] * g[k][j];
      t[i][j] = s;
    }
  std::vector<float> all;
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      float s = 0.0f;
      for (int k = 0; k < 64; ++k) s += t[i][k] * d[j][k];
      bb[i][j] = s;
      all.push_back(s);
    }
  std::sort(all.begin(), all.end());
  for (int k = 0; k < 256; ++k) {
    if (bb[k / 16][k % 16] > all[127]) r.hash.SetBit(k);
  }
  return r;
}

TEST(PdqHash, HexRoundTripAndOrder) {
  const std::string hex = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
  auto h = PdqHash::FromHex(hex);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->ToHex(), hex);
  EXPECT_EQ(h->Word(15), 0xd8f8);  // first four digits are word 15
  EXPECT_EQ(h->Word(0), 0x9b22);
  EXPECT_EQ(PdqHash::FromHex("D8F8F0CEE0F4A84F0637022A078F67F0B36E2ED596621E1D33E6339C4E9C9B22")->ToHex(), hex);
}

TEST(PdqHash, RejectsMalformedHex) {
  EXPECT_EQ(PdqHash::FromHex("").error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(PdqHash::FromHex(std::string(63, 'a')).has_value());
  EXPECT_FALSE(PdqHash::FromHex(std::string(65, 'a')).has_value());
  auto bad = PdqHash::FromHex(std::string(10, 'a') + "g" + std::string(53, 'a'));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("position 11"), std::string::npos) << bad.error().message;
}

TEST(PdqHash, DistanceIsPopcountOfXor) {
  PdqHash a, b;
  EXPECT_EQ(a.Distance(b), 0);
  for (int k : {0, 63, 64, 130, 255}) b.SetBit(k);
  EXPECT_EQ(a.Distance(b), 5);
  EXPECT_EQ(b.Distance(a), 5);
  EXPECT_TRUE(b.Bit(130));
  EXPECT_FALSE(b.Bit(131));
}

TEST(JaroszBlur, LaneKernelMatchesReferenceForAllWindows) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 255.0f);
  for (int n : {1, 2, 5, 17, 128, 129, 300, 1001}) {
    for (int window : {1, 2, 3, 4, 7, 8, 15}) {
      if (window > n) continue;
      const int lanes = 29;  // exercises the 16-, 8-, 4- and 1-lane chunks
      std::vector<float> in(static_cast<std::size_t>(n * lanes)), out(in.size()), ref(in.size());
      for (float& v : in) v = u(rng);
      internal::BoxBlurLanes(in.data(), out.data(), n, lanes, lanes, window);
      for (int l = 0; l < lanes; ++l) internal::BoxBlurReference(in.data() + l, ref.data() + l, n, lanes, window);
      ASSERT_EQ(std::memcmp(out.data(), ref.data(), out.size() * sizeof(float)), 0) << "n=" << n << " window=" << window;
    }
  }
}

TEST(PdqHasher, MatchesSpecificationOnManySizes) {
  PdqHasher hasher;
  const std::pair<std::uint32_t, std::uint32_t> sizes[] = {
      {5, 5}, {6, 9}, {64, 64}, {127, 129}, {200, 37}, {512, 512}, {513, 300}, {300, 513},
      {640, 480}, {1000, 7}, {1023, 777}, {1920, 1080}};
  std::uint32_t seed = 1;
  for (auto [w, h] : sizes) {
    for (std::uint32_t ch : {1u, 3u}) {
      const Image img = testing::MakePattern(w, h, ch, seed++);
      for (bool full : {false, true}) {
        const PdqResult got = hasher.Hash(img, {.full_resolution = full});
        const PdqResult want = SpecPdq(img, full);
        EXPECT_EQ(got.hash.ToHex(), want.hash.ToHex()) << w << "x" << h << " ch=" << ch << " full=" << full;
        EXPECT_EQ(got.quality, want.quality) << w << "x" << h;
      }
    }
  }
}

TEST(PdqHasher, TinyImagesHashToZeroWithQualityZero) {
  PdqHasher hasher;
  for (auto [w, h] : {std::pair{4u, 100u}, std::pair{100u, 4u}, std::pair{1u, 1u}}) {
    const PdqResult r = hasher.Hash(testing::MakePattern(w, h, 3), {});
    EXPECT_EQ(r.quality, 0);
    EXPECT_EQ(r.hash, PdqHash());
  }
}

TEST(PdqHasher, DihedralOriginalEqualsPlainHash) {
  PdqHasher hasher;
  const Image img = testing::MakePattern(333, 444, 3, 9);
  const PdqDihedralResult d = hasher.HashDihedral(img, {});
  const PdqResult plain = hasher.Hash(img, {});
  EXPECT_EQ(d.hashes[0], plain.hash);
  EXPECT_EQ(d.quality, plain.quality);
  // A rotation's derived hash is close to the hash of the actually rotated pixels.
  Image rot = img;
  rot.width = img.height;
  rot.height = img.width;
  for (std::uint32_t y = 0; y < img.height; ++y)
    for (std::uint32_t x = 0; x < img.width; ++x)
      for (int c = 0; c < 3; ++c)  // 180 degrees keeps the size: use it for a direct comparison
        rot.pixels[(std::size_t{img.height - 1 - y} * img.width + (img.width - 1 - x)) * 3 + static_cast<std::size_t>(c)] =
            img.pixels[(std::size_t{y} * img.width + x) * 3 + static_cast<std::size_t>(c)];
  rot.width = img.width;
  rot.height = img.height;
  EXPECT_LE(hasher.Hash(rot, {}).hash.Distance(d.hashes[static_cast<int>(Dihedral::kRot180)]), 20);
}

}  // namespace
}  // namespace vigil
