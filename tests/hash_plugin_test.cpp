// Licensed-hash plug-ins: the example dHash plug-in (examples/hash-plugins/dhash_plugin.c) and its
// hostile builds (tests/plugins/hostile_plugin.c), built by the tests, loaded by the real loading
// code in the sandbox's workers. A benign stand-in for PhotoDNA is imported from an NCMEC-format
// list under its own fingerprint name, matched by the service, stored with the upload and
// exported; plug-ins that crash, loop, make forbidden system calls or answer nonsense cost one
// upload an error and never the service.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>

#include "exchange/client_kinds.h"
#include "sandbox/hash_plugin_runtime.h"
#include "sandbox/plugin_signals.h"
#include "sandbox/sandbox_pool.h"
#include "service_harness.h"
#include "signals/hash_plugin_spec.h"
#include "test_images.h"
#include "test_postgres.h"
#include "vigil/digest.h"
#include "vigil/image.h"
#include "vigil/matcher.h"
#include "vigil/store.h"
#include "vigil/signal_type.h"

namespace vigil {
namespace {

namespace json = boost::json;

// A copy of a built plug-in in `dir`, mode 0755 (the build's umask may leave it group-writable,
// which the loader refuses), and its SHA-256.
struct PluginFile {
  std::filesystem::path path;
  std::string sha256;
};

PluginFile CopyPlugin(const std::string& built, const std::filesystem::path& dir) {
  const auto from = std::filesystem::path(VIGIL_TEST_PLUGIN_DIR) / built;
  const auto to = dir / built;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  chmod(to.c_str(), 0755);
  const auto bytes = testing::ReadFile(to);
  return {to, Sha256Hex(std::span<const std::uint8_t>(bytes))};
}

PluginFile Example(const std::filesystem::path& dir) { return CopyPlugin("libvigil_example_dhash_plugin.so", dir); }
PluginFile Hostile(const std::string& mode, const std::filesystem::path& dir) {
  return CopyPlugin("libvigil_hostile_plugin_" + mode + ".so", dir);
}

// A grey horizontal ramp, brighter to the right (`rising`) or to the left.
Image Ramp(std::uint32_t width, std::uint32_t height, bool rising) {
  Image img;
  img.width = width;
  img.height = height;
  img.channels = 3;
  img.pixels.resize(std::size_t{width} * height * 3);
  for (std::uint32_t y = 0; y < height; ++y) {
    for (std::uint32_t x = 0; x < width; ++x) {
      const auto v = static_cast<std::uint8_t>(255 * (rising ? x : width - 1 - x) / (width - 1));
      for (int c = 0; c < 3; ++c) img.pixels[(std::size_t{y} * width + x) * 3 + c] = v;
    }
  }
  return img;
}

std::string Hex(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) out += {kDigits[b >> 4], kDigits[b & 15]};
  return out;
}

std::string Base64(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t n = bytes[i] << 16 | (i + 1 < bytes.size() ? bytes[i + 1] << 8 : 0) | (i + 2 < bytes.size() ? bytes[i + 2] : 0);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += i + 1 < bytes.size() ? kAlphabet[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// The example plug-in's value of a picture, computed in this process by the same loading code.
std::vector<std::uint8_t> DhashOf(const Image& img, const std::filesystem::path& dir) {
  const auto file = Example(dir);
  auto plugin = sandbox::LoadedHashPlugin::Load(file.path.string(), file.sha256);
  EXPECT_TRUE(plugin) << plugin.error().ToString();
  if (!plugin) return {};
  auto hashed = (*plugin)->HashImage(img);
  EXPECT_TRUE(hashed) << hashed.error().ToString();
  return hashed ? hashed->value : std::vector<std::uint8_t>{};
}

TEST(HashPluginRuntime, TheExamplePluginHashesRampsToKnownBitsAndComparesThemByHammingDistance) {
  testing::TempDir dir;
  const auto file = Example(dir.path());
  auto plugin = sandbox::LoadedHashPlugin::Load(file.path.string(), file.sha256);
  ASSERT_TRUE(plugin) << plugin.error().ToString();
  EXPECT_EQ((*plugin)->info().name, "dhash");
  EXPECT_EQ((*plugin)->info().version, "1.1 (example)");
  EXPECT_EQ((*plugin)->info().hash_bytes, 8u);
  EXPECT_EQ((*plugin)->info().max_distance, 10u);
  // Darker to the right: every cell is brighter than its right neighbour, every bit set.
  auto falling = (*plugin)->HashImage(Ramp(90, 40, false));
  ASSERT_TRUE(falling) << falling.error().ToString();
  EXPECT_EQ(Hex(falling->value), "ffffffffffffffff");
  auto rising = (*plugin)->HashImage(Ramp(90, 40, true));
  ASSERT_TRUE(rising) << rising.error().ToString();
  EXPECT_EQ(Hex(rising->value), "0000000000000000");
  EXPECT_EQ((*plugin)->Distance(falling->value.data(), rising->value.data()), 64u);
  // A grey picture is hashed as its RGB.
  Image grey = Ramp(90, 40, false);
  grey.channels = 1;
  grey.pixels.resize(90 * 40);
  for (std::uint32_t x = 0; x < 90; ++x) {
    for (std::uint32_t y = 0; y < 40; ++y) grey.pixels[y * 90 + x] = static_cast<std::uint8_t>(255 * (89 - x) / 89);
  }
  auto from_grey = (*plugin)->HashImage(grey);
  ASSERT_TRUE(from_grey);
  EXPECT_EQ(from_grey->value, falling->value);
  // The scan keeps what is within the distance, nearest first.
  std::vector<std::uint8_t> values = rising->value;  // position 0: 64 bits away
  values.insert(values.end(), falling->value.begin(), falling->value.end());  // position 1: the same
  auto near_one = falling->value;
  near_one[0] ^= 0x81;  // position 2: two bits away
  values.insert(values.end(), near_one.begin(), near_one.end());
  const auto near = (*plugin)->Scan(falling->value, values, 10, 100);
  ASSERT_TRUE(near) << near.error().ToString();
  ASSERT_EQ(near->size(), 2u);
  EXPECT_EQ((*near)[0], (std::pair<std::uint32_t, std::uint32_t>(1, 0)));
  EXPECT_EQ((*near)[1], (std::pair<std::uint32_t, std::uint32_t>(2, 2)));
}

TEST(HashPluginRuntime, APluginsOwnScanFindsWhatItsDistanceFindsValueByValue) {
  testing::TempDir dir;
  const auto with_scan = Example(dir.path());
  const auto without = Hostile("noscan", dir.path());  // the same hash, no scan of its own
  auto fast = sandbox::LoadedHashPlugin::Load(with_scan.path.string(), with_scan.sha256);
  auto slow = sandbox::LoadedHashPlugin::Load(without.path.string(), without.sha256);
  ASSERT_TRUE(fast && slow);
  std::vector<std::uint8_t> values(8 * 5000);
  std::uint64_t state = 88172645463325252ull;
  for (auto& b : values) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    b = static_cast<std::uint8_t>(state);
  }
  for (std::size_t q = 0; q < 20; ++q) {
    const std::vector<std::uint8_t> query(values.begin() + q * 8, values.begin() + q * 8 + 8);
    for (std::uint32_t radius : {0u, 20u, 26u}) {
      auto a = (*fast)->Scan(query, values, radius, 10'000);
      auto b = (*slow)->Scan(query, values, radius, 10'000);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(*a, *b) << "query " << q << " radius " << radius;
      EXPECT_FALSE(a->empty());
    }
  }
  // The nearest `limit` of them, nearest first, either way.
  auto few = (*fast)->Scan(std::vector<std::uint8_t>(values.begin(), values.begin() + 8), values, 30, 3);
  ASSERT_TRUE(few);
  ASSERT_EQ(few->size(), 3u);
  EXPECT_EQ((*few)[0], (std::pair<std::uint32_t, std::uint32_t>(0, 0)));
  EXPECT_LE((*few)[1].second, (*few)[2].second);
}

TEST(HashPluginRuntime, APictureTooSmallForThePluginIsUnsuitableWithItsReason) {
  testing::TempDir dir;
  const auto file = Example(dir.path());
  auto plugin = sandbox::LoadedHashPlugin::Load(file.path.string(), file.sha256);
  ASSERT_TRUE(plugin) << plugin.error().ToString();
  auto hashed = (*plugin)->HashImage(testing::MakeColour(5, 5, 1, 2, 3));
  ASSERT_TRUE(hashed) << hashed.error().ToString();
  EXPECT_TRUE(hashed->value.empty());
  EXPECT_EQ(hashed->unsuitable, "the picture is 5x5, smaller than dHash's 9x8 cells");
}

TEST(HashPluginRuntime, APluginWhoseBytesAreNotTheConfiguredOnesIsNotLoaded) {
  testing::TempDir dir;
  const auto file = Example(dir.path());
  auto plugin = sandbox::LoadedHashPlugin::Load(file.path.string(), std::string(64, '0'));
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().message.find("has sha256 " + file.sha256 + ", not the configured"), std::string::npos)
      << plugin.error().message;
}

TEST(HashPluginRuntime, APluginOthersMayWriteIsNotLoaded) {
  testing::TempDir dir;
  const auto file = Example(dir.path());
  chmod(file.path.c_str(), 0777);
  auto plugin = sandbox::LoadedHashPlugin::Load(file.path.string(), file.sha256);
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().message.find("writable by its group or others"), std::string::npos) << plugin.error().message;
}

TEST(HashPluginRuntime, APluginSpeakingNoKnownAbiIsNotLoaded) {
  testing::TempDir dir;
  const auto file = Hostile("abi", dir.path());
  auto plugin = sandbox::LoadedHashPlugin::Load(file.path.string(), file.sha256);
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().message.find("does not speak the plug-in ABI 1"), std::string::npos) << plugin.error().message;
}

TEST(HashPluginRuntime, APluginNamingAFolderForItsLibrariesIsNotLoaded) {
  testing::TempDir dir;
  const auto file = Hostile("rpath", dir.path());
  auto plugin = sandbox::LoadedHashPlugin::Load(file.path.string(), file.sha256);
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().message.find("(an RPATH or RUNPATH)"), std::string::npos) << plugin.error().message;
  // Messages name the file, never its folder (an upload's error can reach an API client).
  EXPECT_EQ(plugin.error().message.find(dir.path().string()), std::string::npos) << plugin.error().message;
}

TEST(HashPluginRuntime, APluginReachedThroughASymbolicLinkIsNotLoaded) {
  testing::TempDir dir;
  const auto file = Example(dir.path());
  std::filesystem::create_symlink(file.path, dir.path() / "link.so");
  auto plugin = sandbox::LoadedHashPlugin::Load((dir.path() / "link.so").string(), file.sha256);
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().message.find("it is a symbolic link"), std::string::npos) << plugin.error().message;
  std::ofstream(dir.path() / "plugins.toml") << "[[plugin]]\nsignal = \"dhash\"\npath = \"link.so\"\nsha256 = \"" << file.sha256
                                             << "\"\nhash_bytes = 8\n";
  auto loaded = LoadHashPluginsFile(dir.path() / "plugins.toml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("is a symbolic link: name the file itself"), std::string::npos) << loaded.error().message;
}

TEST(HashPluginsFile, APluginsFileOthersMayWriteIsRefused) {
  testing::TempDir dir;
  const auto file = Example(dir.path());
  const auto toml = dir.path() / "plugins.toml";
  std::ofstream(toml) << "[[plugin]]\nsignal = \"dhash\"\npath = \"" << file.path.filename().string() << "\"\nsha256 = \""
                      << file.sha256 << "\"\nhash_bytes = 8\n";
  ASSERT_TRUE(LoadHashPluginsFile(toml));
  chmod(toml.c_str(), 0666);
  auto loaded = LoadHashPluginsFile(toml);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("is writable by its group or others"), std::string::npos) << loaded.error().message;
}

TEST(HashPluginsFile, EveryMistakeIsRefusedWithItsLine) {
  const std::filesystem::path folder = "/opt/plugins";
  const std::string good = "[[plugin]]\nsignal = \"dhash\"\npath = \"libdhash.so\"\nsha256 = \"" + std::string(64, 'a') +
                           "\"\nhash_bytes = 8\n";
  auto parsed = ParseHashPluginsFile(good, "plugins.toml", folder);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->plugins.size(), 1u);
  EXPECT_EQ(parsed->plugins[0].path, folder / "libdhash.so");
  EXPECT_EQ(parsed->workers, 2);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good + "colour = 1\n", "plugins.toml:6: unknown key 'colour'"},
      {good + "list_encoding = \"base32\"\n", "plugins.toml:6: 'list_encoding' must be"},
      {good + "max_distance = -1\n", "plugins.toml:6: 'max_distance' must be a whole number 0-4294967295"},
      {"[[plugin]]\nsignal = \"pdq\"\npath = \"x.so\"\nhash_bytes = 8\n", "plugins.toml:2: 'pdq' is a built-in signal type"},
      {"[[plugin]]\nsignal = \"dhash\"\npath = \"x.so\"\n", "plugins.toml:1: [[plugin]] needs 'hash_bytes'"},
      {"[[plugin]]\nsignal = \"dhash\"\npath = \"x.so\"\nhash_bytes = 5000\n", "plugins.toml:4: 'hash_bytes' must be a whole number 1-4096"},
      {"workers = 2\n", "no [[plugin]]"},
      {good + good, "signal type 'dhash' is given twice"},
      {"[[plugin]]\nsignal = \"PDQ\"\npath = \"x.so\"\nhash_bytes = 8\n", "plugins.toml:2: 'signal' must be 2-32 bytes"},
      {"[[plugin]]\nsignal = \"one\"\npath = \"x.so\"\nhash_bytes = 1\nlist_encoding = \"decimal\"\n",
       "plugins.toml:5: a 1-byte value in decimal could be read as hex"},
      {good + "max_distance = 99999999999\n", "'max_distance' must be a whole number 0-4294967295"},
      {good + "ncmec_fingerprint = \"MD5\"\n", "plugins.toml:1: plug-in signal type 'dhash': NCMEC's 'MD5' fingerprints are Vigil's own"},
      {good + "threatexchange_type = \"HASH_PDQ\"\n", "plugins.toml:1: plug-in signal type 'dhash': ThreatExchange's HASH_PDQ"},
  };
  for (const auto& [text, expected] : cases) {
    auto refused = ParseHashPluginsFile(text, "plugins.toml", folder);
    ASSERT_FALSE(refused) << text;
    EXPECT_NE(refused.error().message.find(expected), std::string::npos) << refused.error().message;
  }
}

TEST(HashPluginsFile, APluginWithoutItsDigestIsRefusedAndTheMessageGivesIt) {
  testing::TempDir dir;
  const auto file = Example(dir.path());
  std::ofstream(dir.path() / "plugins.toml") << "[[plugin]]\nsignal = \"dhash\"\npath = \"" << file.path.filename().string()
                                             << "\"\nhash_bytes = 8\n";
  auto loaded = LoadHashPluginsFile(dir.path() / "plugins.toml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("must give its file's sha256"), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find(file.sha256), std::string::npos) << loaded.error().message;
}

TEST(PluginSignalTypes, ListValuesInThePluginsEncodingAreStoredAsHex) {
  ASSERT_TRUE(RegisterPluginSignalType({"test_b64", 8, "TESTB64", SignalListEncoding::kBase64, ""}));
  ASSERT_TRUE(RegisterPluginSignalType({"test_dec", 3, "", SignalListEncoding::kDecimalBytes, ""}));
  const std::vector<std::uint8_t> value = {0x00, 0xff, 0x10, 0x20, 0x7f, 0x80, 0x01, 0xfe};
  auto from_base64 = NormalizeListSignal("test_b64", Base64(value));
  ASSERT_TRUE(from_base64) << from_base64.error().ToString();
  EXPECT_EQ(*from_base64, Hex(value));
  EXPECT_EQ(*NormalizeListSignal("test_b64", "00FF10207F8001FE"), Hex(value));  // hex, as Vigil exports it
  EXPECT_EQ(*NormalizeListSignal("test_dec", "0c00ff"), "0c00ff");  // hex first: an export reads back as written
  EXPECT_EQ(*NormalizeListSignal("test_dec", "12, 0,255"), "0c00ff");
  EXPECT_FALSE(NormalizeListSignal("test_dec", "12,0,256"));
  EXPECT_FALSE(NormalizeListSignal("test_dec", "12,0"));
  EXPECT_FALSE(NormalizeListSignal("test_dec", "12,0,1,2"));
  EXPECT_FALSE(NormalizeListSignal("test_b64", "AAAAAAAAAA=="));  // 7 bytes
  EXPECT_FALSE(NormalizeListSignal("test_b64", "AAAA*AAAAAA="));
  EXPECT_EQ(FindSignalTypeByNcmecFingerprint("testb64")->name, "test_b64");
  // Registering the same again is harmless; another description under the name is refused.
  EXPECT_TRUE(RegisterPluginSignalType({"test_b64", 8, "TESTB64", SignalListEncoding::kBase64, ""}));
  auto changed = RegisterPluginSignalType({"test_b64", 9, "TESTB64", SignalListEncoding::kBase64, ""});
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().message.find("already registered differently"), std::string::npos);
  EXPECT_FALSE(RegisterPluginSignalType({"md5", 16, "", SignalListEncoding::kHex, ""}));
  // Vigil's own list names are not a plug-in's.
  EXPECT_FALSE(RegisterPluginSignalType({"test_own1", 8, "MD5", SignalListEncoding::kHex, ""}));
  EXPECT_FALSE(RegisterPluginSignalType({"test_own2", 8, "pdq", SignalListEncoding::kHex, ""}));
  EXPECT_FALSE(RegisterPluginSignalType({"test_own3", 8, "", SignalListEncoding::kHex, "HASH_PDQ"}));
  EXPECT_FALSE(RegisterPluginSignalType({"Bad-Name", 8, "", SignalListEncoding::kHex, ""}));
}

TEST(PluginSignalTypes, ThreatExchangeRecordsOfAPluginsIndicatorTypeAreImportedUnderItsType) {
  const std::vector<std::uint8_t> value = {9, 8, 7, 6, 5, 4, 3, 2};
  const std::string page = R"({"data": [{"id": "31", "indicator": ")" + Base64(value) +
                           R"(", "type": "HASH_TESTPLUGIN", "last_updated": 1625167804, "should_delete": false},
                                         {"id": "32", "indicator": "x", "type": "HASH_OTHER", "last_updated": 1625167805}]})";
  exchange::SyncPage before;
  ASSERT_TRUE(exchange::ParseThreatUpdates(page, "te", 100, 1 << 20, before));
  EXPECT_TRUE(before.ops.empty());  // a type nobody registered: skipped
  EXPECT_EQ(before.skipped, 2);
  ASSERT_TRUE(RegisterPluginSignalType({"test_te", 8, "", SignalListEncoding::kBase64, "HASH_TESTPLUGIN"}));
  exchange::SyncPage after;
  ASSERT_TRUE(exchange::ParseThreatUpdates(page, "te", 100, 1 << 20, after));
  ASSERT_EQ(after.ops.size(), 1u);
  EXPECT_EQ(after.ops[0].signal_type, "test_te");
  EXPECT_EQ(after.ops[0].value, Hex(value));
  EXPECT_EQ(after.skipped, 1);
  EXPECT_FALSE(RegisterPluginSignalType({"test_te2", 8, "", SignalListEncoding::kHex, "HASH_TESTPLUGIN"}));
  EXPECT_FALSE(RegisterPluginSignalType({"test_te3", 8, "", SignalListEncoding::kHex, "hash-lower"}));
}

// A feed the test fills: banks, entries, removals.
class TestFeed : public EntryFeed {
 public:
  std::vector<Bank> banks;
  std::vector<IndexedEntry> entries;
  std::vector<EntryRemoval> removals;
  Result<std::vector<Bank>> ListBanks() override { return banks; }
  Result<std::vector<IndexedEntry>> LiveEntriesAfter(std::int64_t after_id, int limit) override {
    std::vector<IndexedEntry> out;
    for (const auto& e : entries) {
      if (e.id > after_id && static_cast<int>(out.size()) < limit) out.push_back(e);
    }
    return out;
  }
  Result<std::vector<EntryRemoval>> RemovalsAfter(std::int64_t after_import_id) override {
    std::vector<EntryRemoval> out;
    for (const auto& r : removals) {
      if (r.import_id > after_import_id) out.push_back(r);
    }
    return out;
  }
  Result<std::int64_t> LatestImportId() override { return removals.empty() ? std::int64_t{0} : removals.back().import_id; }
};

std::string EightByteHex(std::uint64_t n) {
  std::vector<std::uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(n >> (56 - 8 * i));
  return Hex(bytes);
}

TEST(PluginEntriesInTheMatcher, AreKeptInOrderRemovedByTombstoneAndHandedOutAgainOnlyWhenChanged) {
  ASSERT_TRUE(RegisterPluginSignalType({"test_matcher", 8, "", SignalListEncoding::kHex, ""}));
  TestFeed feed;
  Bank listed;
  listed.id = 1;
  listed.name = "listed";
  Bank off;
  off.id = 2;
  off.name = "off";
  off.enabled = false;
  feed.banks = {listed, off};
  for (std::int64_t id = 1; id <= 10; ++id) feed.entries.push_back({id, id == 10 ? 2 : 1, "test_matcher", EightByteHex(id), ""});
  feed.entries.push_back({11, 1, "md5", std::string(32, 'a'), ""});
  Matcher matcher(feed);
  ASSERT_TRUE(matcher.Load());
  EXPECT_EQ(matcher.Stats().plugin_entries, 10u);
  auto first = matcher.PluginEntriesOf("test_matcher");
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->entry_ids.size(), 10u);
  EXPECT_EQ(first->hash_bytes, 8u);
  EXPECT_EQ(Hex(std::vector<std::uint8_t>(first->values.begin() + 16, first->values.begin() + 24)), EightByteHex(3));
  EXPECT_EQ(matcher.PluginEntriesOf("test_matcher"), first);  // unchanged: the same copy
  EXPECT_EQ(matcher.PluginEntriesOf("md5"), nullptr);
  // Hits come back for enabled banks only, nearest first.
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> near = {{9, 0}, {4, 3}, {2, 1}, {99, 0}};
  const auto hits = matcher.PluginHits(*first, "test_matcher", near);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].entry_id, 3);
  EXPECT_EQ(hits[0].distance, 1);
  EXPECT_EQ(hits[1].entry_id, 5);
  EXPECT_EQ(hits[1].bank_name, "listed");
  EXPECT_EQ(hits[1].signal_type, "test_matcher");
  // Lookup by value cannot compare a plug-in's values: refused, saying why.
  auto lookup = matcher.Lookup({"test_matcher", EightByteHex(3), std::nullopt, ""});
  ASSERT_FALSE(lookup);
  EXPECT_EQ(lookup.error().code, ErrorCode::kUnsupported);
  // Tombstones: removed entries leave the next copy, whose version differs; past half removed the
  // table is compacted and what is left stays in order.
  for (std::int64_t id : {2, 4, 6, 8, 9, 1}) feed.removals.push_back({id, 100 + id, "test_matcher", EightByteHex(id)});
  feed.entries.push_back({12, 1, "test_matcher", EightByteHex(12), ""});
  ASSERT_TRUE(matcher.Refresh());
  auto second = matcher.PluginEntriesOf("test_matcher");
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second->version, first->version);
  EXPECT_EQ(second->entry_ids, (std::vector<std::int64_t>{3, 5, 7, 10, 12}));
  std::string values;
  for (std::size_t i = 0; i < second->entry_ids.size(); ++i) {
    values += Hex(std::vector<std::uint8_t>(second->values.begin() + i * 8, second->values.begin() + i * 8 + 8));
  }
  EXPECT_EQ(values, EightByteHex(3) + EightByteHex(5) + EightByteHex(7) + EightByteHex(10) + EightByteHex(12));
  EXPECT_EQ(matcher.Stats().plugin_entries, 5u);
  // The first copy is untouched for whoever still holds it.
  EXPECT_EQ(first->entry_ids.size(), 10u);
  // Snapshots do not hold plug-in entries: refused, so the index is read from the store.
  testing::TempDir dir;
  auto saved = matcher.SaveSnapshot(dir.path() / "snapshot");
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::kUnsupported);
}

// A pool of one worker with `plugin` as signal "dhash" (short limits, so a loop is stopped soon).
Result<std::unique_ptr<sandbox::SandboxPool>> StartPool(const PluginFile& plugin) {
  sandbox::PoolOptions options;
  options.executable = VIGIL_TEST_CLI;
  options.workers = 1;
  options.large_workers = 0;
  options.memory_bytes = 1ull << 30;
  options.image_wall_seconds = 10;
  options.image_cpu_seconds = 2;
  options.hash_plugins.push_back({"dhash", plugin.path.string(), plugin.sha256, 8});
  return sandbox::SandboxPool::Start(options);
}

#define START_OR_SKIP(pool, plugin)                                                                \
  auto pool = StartPool(plugin);                                                                   \
  if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message; \
  ASSERT_TRUE(pool) << pool.error().ToString()

std::vector<std::uint8_t> Png(const Image& img) { return testing::EncodePng(img); }

TEST(HashPluginSandbox, TheWorkerHashesWithThePluginAndScansTheListByItsDistance) {
  testing::TempDir dir;
  START_OR_SKIP(pool, Example(dir.path()));
  const auto info = (*pool)->Plugin("dhash");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->version, "1.1 (example)");
  EXPECT_EQ(info->max_distance, 10u);
  // Position 0: the rising ramp's value; position 1: the falling one's.
  const std::vector<std::uint8_t> first_values = {0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255};
  auto answer = (*pool)->HashWithPlugin("dhash", Png(Ramp(90, 40, false)), {}, {1, first_values}, 10);
  ASSERT_TRUE(answer) << answer.error().ToString();
  EXPECT_EQ(answer->value, "ffffffffffffffff");
  ASSERT_EQ(answer->near.size(), 1u);
  EXPECT_EQ(answer->near[0], (std::pair<std::uint32_t, std::uint32_t>(1, 0)));
  // Other values (a new version) reach the worker before the next upload is scanned against them.
  std::vector<std::uint8_t> second(8, 0xfe);
  answer = (*pool)->HashWithPlugin("dhash", Png(Ramp(90, 40, false)), {}, {2, second}, 10);
  ASSERT_TRUE(answer) << answer.error().ToString();
  ASSERT_EQ(answer->near.size(), 1u);
  EXPECT_EQ(answer->near[0], (std::pair<std::uint32_t, std::uint32_t>(0, 8)));
  // A tighter threshold leaves it out.
  answer = (*pool)->HashWithPlugin("dhash", Png(Ramp(90, 40, false)), {}, {2, second}, 7);
  ASSERT_TRUE(answer) << answer.error().ToString();
  EXPECT_TRUE(answer->near.empty());
  // A picture too small is unsuitable: no value, the reason, no error.
  answer = (*pool)->HashWithPlugin("dhash", Png(testing::MakeColour(4, 4, 9, 9, 9)), {}, {2, second}, 10);
  ASSERT_TRUE(answer) << answer.error().ToString();
  EXPECT_TRUE(answer->value.empty());
  EXPECT_NE(answer->unsuitable.find("smaller than dHash's"), std::string::npos);
  // Not a picture: the decoder's error, named for the plug-in.
  const std::vector<std::uint8_t> junk(300, 'x');
  answer = (*pool)->HashWithPlugin("dhash", junk, {}, {2, second}, 10);
  ASSERT_FALSE(answer);
  EXPECT_NE(answer.error().message.find("hash plug-in 'dhash'"), std::string::npos) << answer.error().message;
}

struct HostileCase {
  std::string mode;
  std::string error;  // a fragment of the upload's error
};

class HostilePlugin : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostilePlugin, CostsTheUploadInHandAnErrorAndTheNextUploadIsHashed) {
  testing::TempDir dir;
  START_OR_SKIP(pool, Hostile(GetParam().mode, dir.path()));
  const std::vector<std::uint8_t> values(8, 0xff);
  auto bad = (*pool)->HashWithPlugin("dhash", Png(Ramp(13, 20, false)), {}, {1, values}, 10);
  ASSERT_FALSE(bad) << "the hostile input was hashed";
  EXPECT_NE(bad.error().message.find("hash plug-in 'dhash'"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find(GetParam().error), std::string::npos) << bad.error().message;
  // The pool carries on: the next upload is hashed (by this worker or its replacement).
  auto good = (*pool)->HashWithPlugin("dhash", Png(Ramp(90, 40, false)), {}, {1, values}, 10);
  ASSERT_TRUE(good) << good.error().ToString();
  EXPECT_EQ(good->value, "ffffffffffffffff");
  ASSERT_EQ(good->near.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Modes, HostilePlugin,
                         ::testing::Values(HostileCase{"crash", "crashed on this input (SIGSEGV)"},
                                           HostileCase{"loop", "CPU budget"},
                                           HostileCase{"syscall", "forbids"},
                                           HostileCase{"code", "answered 42"},
                                           HostileCase{"overflow", "wrote past its declared value length"},
                                           // Frames written to the socket out of turn are never taken for an answer.
                                           HostileCase{"forge", "out of turn"},
                                           HostileCase{"stdout", "out of turn"},
                                           HostileCase{"thread", "left a thread running in its worker"}),
                         [](const ::testing::TestParamInfo<HostileCase>& param_info) { return param_info.param.mode; });

TEST(HashPluginSandbox, HeifAndAvifPicturesAreHashedThoughTheirDecodersUseThreads) {
  // dav1d (AVIF) and libde265 (HEIC) decode with threads of their own: they must be gone when the
  // request ends, or the thread check would refuse every such upload in a plug-in's pool.
  testing::TempDir dir;
  START_OR_SKIP(pool, Example(dir.path()));
  const Image ramp = Ramp(96, 64, false);
  int hashed = 0;
  for (auto compression : {heif_compression_HEVC, heif_compression_AV1}) {
    const auto bytes = testing::EncodeHeif(ramp, compression);
    if (bytes.empty()) continue;  // no encoder for it in this libheif
    ++hashed;
    for (int i = 0; i < 3; ++i) {
      auto answer = (*pool)->HashWithPlugin("dhash", bytes, {}, {1, {}}, 10);
      ASSERT_TRUE(answer) << answer.error().ToString();
      EXPECT_EQ(answer->value, "ffffffffffffffff");
    }
  }
  EXPECT_EQ((*pool)->Stats().workers_killed, 0);
  EXPECT_GT(hashed, 0) << "this libheif encodes neither HEIC nor AVIF";
}

TEST(HashPluginSandbox, APluginWhoseDistanceIsNotZeroFromAValueToItselfIsAnErrorForEveryUpload) {
  testing::TempDir dir;
  START_OR_SKIP(pool, Hostile("distance", dir.path()));
  auto answer = (*pool)->HashWithPlugin("dhash", Png(Ramp(90, 40, false)), {}, {1, {}}, 10);
  ASSERT_FALSE(answer);
  EXPECT_NE(answer.error().message.find("says a value is 7 from itself"), std::string::npos) << answer.error().message;
}

TEST(HashPluginSandbox, APluginWhoseScanDisagreesWithItsDistanceIsAnError) {
  testing::TempDir dir;
  START_OR_SKIP(pool, Hostile("scan", dir.path()));
  const std::vector<std::uint8_t> values(8, 0xff);
  auto answer = (*pool)->HashWithPlugin("dhash", Png(Ramp(90, 40, false)), {}, {1, values}, 10);
  ASSERT_FALSE(answer);
  EXPECT_NE(answer.error().message.find("answered a scan its distance does not agree with"), std::string::npos)
      << answer.error().message;
  // Nothing near: nothing to disagree about.
  answer = (*pool)->HashWithPlugin("dhash", Png(Ramp(90, 40, true)), {}, {1, values}, 10);
  ASSERT_TRUE(answer) << answer.error().ToString();
  EXPECT_TRUE(answer->near.empty());
}

TEST(HashPluginSandbox, APluginThatIsNotWhatThePluginsFileSaysStopsTheStart) {
  testing::TempDir dir;
  auto pool = StartPool(Hostile("name", dir.path()));
  if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message;
  ASSERT_FALSE(pool);
  EXPECT_NE(pool.error().message.find("calls itself 'other' with 8-byte values; the plug-ins file says 'dhash'"), std::string::npos)
      << pool.error().message;
  auto abi = StartPool(Hostile("abi", dir.path()));
  ASSERT_FALSE(abi);
  EXPECT_NE(abi.error().message.find("does not speak the plug-in ABI"), std::string::npos) << abi.error().message;
}

TEST(HashPluginSandbox, TwoPluginsInOneWorkerAreEachTheirOwn) {
  // Each is staged in a memory file of its own: a reused descriptor number made the loader hand
  // the second plug-in's load the first one (seen as "calls itself 'dhash'").
  testing::TempDir dir;
  sandbox::PoolOptions options;
  options.executable = VIGIL_TEST_CLI;
  options.workers = 1;
  options.large_workers = 0;
  options.memory_bytes = 1ull << 30;
  const auto example = Example(dir.path());
  const auto other = Hostile("name", dir.path());  // dHash, calling itself "other"
  options.hash_plugins.push_back({"dhash", example.path.string(), example.sha256, 8});
  options.hash_plugins.push_back({"other", other.path.string(), other.sha256, 8});
  auto pool = sandbox::SandboxPool::Start(options);
  if (!pool && pool.error().code == ErrorCode::kUnsupported) GTEST_SKIP() << pool.error().message;
  ASSERT_TRUE(pool) << pool.error().ToString();
  ASSERT_TRUE((*pool)->Plugin("dhash"));
  ASSERT_TRUE((*pool)->Plugin("other"));
  for (const char* signal : {"dhash", "other"}) {
    auto answer = (*pool)->HashWithPlugin(signal, Png(Ramp(90, 40, false)), {}, {1, {}}, 10);
    ASSERT_TRUE(answer) << answer.error().ToString();
    EXPECT_EQ(answer->value, "ffffffffffffffff");
  }
}

// The service: a plug-ins file, an NCMEC list carrying the plug-in's fingerprints (base64, under
// the element the file names), uploads matched by the plug-in in its sandbox.
enum class Backend { kSqlite, kPostgres };

class HashPluginServiceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      postgres_.Create();
      if (IsSkipped() || HasFatalFailure()) return;
      store_flags_ = {"--database-url", postgres_.url()};
    } else {
      store_flags_ = {"--data-dir", (dir_.path() / "data").string()};
    }
    const auto plugin = Example(dir_.path());
    plugins_ = dir_.path() / "plugins.toml";
    std::ofstream(plugins_) << "workers = 1\n[[plugin]]\nsignal = \"dhash\"\npath = \"" << plugin.path.filename().string()
                            << "\"\nsha256 = \"" << plugin.sha256
                            << "\"\nhash_bytes = 8\nmax_distance = 6\nncmec_fingerprint = \"DHASH\"\nlist_encoding = \"base64\"\n";
    for (const char* role : {"submitter", "bank-admin", "auditor"}) {
      keys_[role] = testing::CreateKey(store_flags_, role, std::string(role) + "-key");
      ASSERT_FALSE(keys_[role].empty()) << role;
    }
  }

  // An NCMEC hash-sharing document with one image record per (id, dHash value).
  static std::string NcmecList(const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& records) {
    std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images count=")" +
                      std::to_string(records.size()) + R"(">)";
    for (const auto& [id, value] : records) {
      xml += R"(<image><member id="7">Test member</member><timestamp>2026-11-01T10:00:00Z</timestamp><id>)" + id +
             R"(</id><classification>A1</classification><fingerprints><md5>)" + std::string(32, 'a') + R"(</md5><DHASH>)" +
             Base64(value) + R"(</DHASH><videntifier>https://example.invalid/large</videntifier></fingerprints></image>)";
    }
    return xml + "</images></queryResult>";
  }

  testing::TempDir dir_;
  testing::TestPostgres postgres_;
  std::filesystem::path plugins_;
  std::vector<std::string> store_flags_;
  std::map<std::string, std::string> keys_;
};

TEST_P(HashPluginServiceTest, AnNcmecListsPluginFingerprintsAreImportedMatchedStoredAndExported) {
  const Image listed = testing::MakePattern(160, 120, 3, 21);
  const auto value = DhashOf(listed, dir_.path());
  ASSERT_EQ(value.size(), 8u);
  std::ofstream(dir_.path() / "vigil.toml") << "[hash_plugins]\nfile = \"" << plugins_.string() << "\"\n";
  std::vector<std::string> args = store_flags_;
  args.insert(args.end(), {"--no-access-log", "--config", (dir_.path() / "vigil.toml").string()});
  testing::ServerProcess server(dir_.path() / "server", args);
  if (!server.Start()) {
    if (server.Log().find("which this machine refuses") != std::string::npos) GTEST_SKIP() << server.Log();
    FAIL() << server.Log();
  }
  const auto port = server.port();
  ASSERT_EQ(testing::HttpJson(port, "POST", "/v1/banks", keys_["bank-admin"], R"({"name":"ncmec-list"})").status, 201u);
  auto far = value;
  for (auto& b : far) b = static_cast<std::uint8_t>(~b);
  const auto imported = testing::Http(port, "POST", "/v1/banks/ncmec-list/import?format=ncmec&source=ncmec", NcmecList({{"e1", value}, {"e2", far}}),
                                      {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "application/xml"}});
  ASSERT_EQ(imported.status, 200u) << imported.body;

  // The listed picture, re-encoded as JPEG: the plug-in's value is within its distance.
  const auto jpeg = testing::EncodeJpeg(listed, 85);
  auto reply = testing::HttpMedia(port, "/v1/content?content_id=c1&user_id=u1", keys_["submitter"],
                                  std::string(jpeg.begin(), jpeg.end()));
  ASSERT_EQ(reply.status, 201u) << reply.body << server.Log();
  json::value answer = json::parse(reply.body);
  const auto& hashes = answer.at("hashes").as_object();
  ASSERT_TRUE(hashes.contains("dhash")) << reply.body;
  const std::string uploaded(hashes.at("dhash").as_string());
  EXPECT_EQ(uploaded.size(), 16u);
  const auto& matches = answer.at("matches").as_array();
  std::vector<std::string> found;
  for (const auto& m : matches) {
    if (m.at("signal_type").as_string() == "dhash") found.emplace_back(m.at("external_id").as_string());
  }
  ASSERT_EQ(found, std::vector<std::string>{"e1"}) << reply.body;

  // Stored with the upload: read back as recorded.
  reply = testing::HttpJson(port, "GET", "/v1/content/c1", keys_["auditor"]);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  json::value stored = json::parse(reply.body);
  EXPECT_EQ(stored.at("hashes").at("dhash").as_string(), uploaded);

  // A picture the list does not hold: hashed, not matched.
  const auto other = testing::EncodePng(Ramp(90, 40, true));
  reply = testing::HttpMedia(port, "/v1/content?content_id=c2&user_id=u1", keys_["submitter"],
                             std::string(other.begin(), other.end()), "image/png");
  ASSERT_EQ(reply.status, 201u) << reply.body;
  answer = json::parse(reply.body);
  EXPECT_EQ(answer.at("hashes").at("dhash").as_string(), "0000000000000000");
  for (const auto& m : answer.at("matches").as_array()) EXPECT_NE(m.at("signal_type").as_string(), "dhash") << reply.body;

  // Exported as hex under its own type, beside the list's MD5.
  reply = testing::HttpJson(port, "GET", "/v1/banks/ncmec-list/export", keys_["auditor"]);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_NE(reply.body.find("dhash," + Hex(value) + ",e1"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("dhash," + Hex(far) + ",e2"), std::string::npos) << reply.body;

  // A value looked up without its media (a platform that computes the hash elsewhere): compared by
  // the plug-in in its sandbox, as an upload's would be.
  auto one_bit_off = value;
  one_bit_off[3] ^= 0x10;
  reply = testing::HttpJson(port, "POST", "/v1/lookup", keys_["submitter"],
                            R"({"signals":[{"type":"dhash","value":")" + Hex(one_bit_off) + R"("},{"type":"dhash","value":")" +
                                Hex(far) + R"("}]})");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  json::value looked = json::parse(reply.body);
  const auto& results = looked.at("results").as_array();
  ASSERT_EQ(results.size(), 2u) << reply.body;
  ASSERT_EQ(results[0].at("matches").as_array().size(), 1u) << reply.body;
  EXPECT_EQ(results[0].at("matches").at(0).at("external_id").as_string(), "e1");
  EXPECT_EQ(results[0].at("matches").at(0).at("distance").as_int64(), 1);
  ASSERT_EQ(results[1].at("matches").as_array().size(), 1u) << reply.body;
  EXPECT_EQ(results[1].at("matches").at(0).at("external_id").as_string(), "e2");
  reply = testing::HttpJson(port, "POST", "/v1/lookup", keys_["submitter"], R"({"signals":[{"type":"dhash","value":"abc"}]})");
  EXPECT_EQ(reply.status, 400u) << reply.body;
  EXPECT_NE(reply.body.find("dhash value must be 16 hex digits"), std::string::npos) << reply.body;

  // The plug-ins' pool in /metrics, beside the decoder's.
  const auto metrics = testing::HttpJson(port, "GET", "/metrics", keys_["auditor"]).body;
  EXPECT_NE(metrics.find("vigil_decoder_workers_total{event=\"plugin_requests\"}"), std::string::npos) << metrics.substr(0, 2000);
  EXPECT_EQ(metrics.find("vigil_decoder_workers_total{event=\"plugin_requests\"} 0"), std::string::npos);
  EXPECT_NE(metrics.find("vigil_index_entries{signal_type=\"plugin\"} 2"), std::string::npos);

  // NCMEC withdraws the record: the picture no longer matches it.
  const std::string deletion = R"(<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images count="1"><deletedImage><member id="7">Test member</member><timestamp>2026-11-02T10:00:00Z</timestamp><id>e1</id></deletedImage></images></queryResult>)";
  const auto withdrawn = testing::Http(port, "POST", "/v1/banks/ncmec-list/import?format=ncmec&source=ncmec", deletion,
                                       {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "application/xml"}});
  ASSERT_EQ(withdrawn.status, 200u) << withdrawn.body;
  reply = testing::HttpMedia(port, "/v1/content?content_id=c3&user_id=u1", keys_["submitter"], std::string(jpeg.begin(), jpeg.end()));
  ASSERT_EQ(reply.status, 201u) << reply.body;
  answer = json::parse(reply.body);
  EXPECT_EQ(answer.at("hashes").at("dhash").as_string(), uploaded);
  for (const auto& m : answer.at("matches").as_array()) EXPECT_NE(m.at("signal_type").as_string(), "dhash") << reply.body;
}

TEST_P(HashPluginServiceTest, APluginMatchGoesThroughPolicyCaseAndDecisionLikeAnyMatch) {
  // A platform's sequence on a plug-in match: rules that name the plug-in's type hold the upload
  // and open a case; a reviewer decides it; the list withdraws the entry; a later copy is not held.
  const Image listed = testing::MakePattern(160, 120, 3, 33);
  const auto value = DhashOf(listed, dir_.path());
  ASSERT_EQ(value.size(), 8u);
  keys_["alice"] = testing::CreateKey(store_flags_, "reviewer", "alice");
  std::ofstream(dir_.path() / "rules.toml") << R"([[rule]]
name = "licensed-hash"
banks = ["ncmec-list"]
signal_types = ["dhash"]
actions = ["block", "hold", "queue_report"]
hold_priority = 1
)";
  std::ofstream(dir_.path() / "vigil.toml") << "[hash_plugins]\nfile = \"" << plugins_.string()
                                            << "\"\n[workflow]\nown_bank = \"\"\n";
  std::vector<std::string> args = store_flags_;
  args.insert(args.end(), {"--no-access-log", "--rules", (dir_.path() / "rules.toml").string(), "--config",
                           (dir_.path() / "vigil.toml").string()});
  testing::ServerProcess server(dir_.path() / "server", args);
  if (!server.Start()) {
    if (server.Log().find("which this machine refuses") != std::string::npos) GTEST_SKIP() << server.Log();
    FAIL() << server.Log();
  }
  const auto port = server.port();
  ASSERT_EQ(testing::HttpJson(port, "POST", "/v1/banks", keys_["bank-admin"], R"({"name":"ncmec-list","category":"csam"})").status, 201u);
  auto import = [&](const std::string& xml) {
    return testing::Http(port, "POST", "/v1/banks/ncmec-list/import?format=ncmec&source=ncmec", xml,
                         {{"Authorization", "Bearer " + keys_["bank-admin"]}, {"Content-Type", "application/xml"}});
  };
  ASSERT_EQ(import(NcmecList({{"e1", value}})).status, 200u);
  const auto jpeg = testing::EncodeJpeg(listed, 80);
  auto reply = testing::HttpMedia(port, "/v1/content?content_id=p1&user_id=u7", keys_["submitter"], std::string(jpeg.begin(), jpeg.end()));
  ASSERT_EQ(reply.status, 201u) << reply.body;
  json::value answer = json::parse(reply.body);
  const auto& policy = answer.at("policy").as_object();
  EXPECT_TRUE(policy.at("block").as_bool()) << reply.body;
  EXPECT_TRUE(policy.at("hold").as_bool());
  ASSERT_TRUE(policy.at("case_id").is_int64()) << reply.body;
  const std::string base = "/v1/cases/" + std::to_string(policy.at("case_id").as_int64());
  ASSERT_EQ(testing::HttpJson(port, "POST", base + "/claim", keys_["alice"]).status, 200u);
  reply = testing::HttpJson(port, "POST", base + "/decision", keys_["alice"],
                            R"({"verdict":"violating","classification":"A1","reason":"the listed picture, re-encoded"})");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  json::value decided = json::parse(reply.body);
  EXPECT_EQ(decided.at("status").as_string(), "decided");
  for (const auto& item : decided.at("items").as_array()) EXPECT_EQ(item.at("state").as_string(), "removed");
  // The case shows how the upload was found: the plug-in's type and entry.
  reply = testing::HttpJson(port, "GET", base, keys_["alice"]);
  ASSERT_EQ(reply.status, 200u);
  EXPECT_NE(reply.body.find("\"signal_type\":\"dhash\""), std::string::npos) << reply.body.substr(0, 1500);
  // NCMEC withdraws the entry: a later copy is recorded without a match, and nothing holds it.
  const std::string deletion = R"(<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images count="1"><deletedImage><member id="7">Test member</member><timestamp>2026-11-02T10:00:00Z</timestamp><id>e1</id></deletedImage></images></queryResult>)";
  ASSERT_EQ(import(deletion).status, 200u);
  reply = testing::HttpMedia(port, "/v1/content?content_id=p2&user_id=u8", keys_["submitter"], std::string(jpeg.begin(), jpeg.end()));
  ASSERT_EQ(reply.status, 201u) << reply.body;
  answer = json::parse(reply.body);
  EXPECT_TRUE(answer.at("matches").as_array().empty()) << reply.body;
  const auto* later = answer.as_object().if_contains("policy");  // none for an upload that matched nothing
  EXPECT_TRUE(later == nullptr || !later->at("hold").as_bool()) << reply.body;
}

TEST_P(HashPluginServiceTest, TheImportCommandReadsPluginFingerprintsOnlyWithThePluginsFile) {
  const std::vector<std::uint8_t> value = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto list = dir_.path() / "list.xml";
  std::ofstream(list) << NcmecList({{"e1", value}});
  auto flags = store_flags_;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), flags.begin(), flags.end());
    return testing::RunVigil(args);
  };
  ASSERT_EQ(run({"bank", "create", "b1"}).status, 0);
  // Without the file, the unknown fingerprints are skipped (and counted).
  auto without = run({"import", "b1", "--format", "ncmec", list.string()});
  ASSERT_EQ(without.status, 0) << without.err;
  auto exported = run({"bank", "export", "b1"});
  EXPECT_EQ(exported.out.find("dhash"), std::string::npos) << exported.out;
  flags.insert(flags.end(), {"--hash-plugins", plugins_.string()});
  ASSERT_EQ(run({"bank", "create", "b2"}).status, 0);
  auto with = run({"import", "b2", "--format", "ncmec", list.string()});
  ASSERT_EQ(with.status, 0) << with.err;
  exported = run({"bank", "export", "b2"});
  ASSERT_EQ(exported.status, 0) << exported.err;
  EXPECT_NE(exported.out.find("dhash,0102030405060708,e1"), std::string::npos) << exported.out;
  // The export reads back in (hex is accepted for a base64 type).
  const auto csv = dir_.path() / "export.csv";
  std::ofstream(csv) << exported.out;
  ASSERT_EQ(run({"bank", "create", "b3"}).status, 0);
  auto again = run({"import", "b3", "--format", "csv", csv.string()});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(run({"bank", "export", "b3"}).out.find("dhash,0102030405060708,e1"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, HashPluginServiceTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& param_info) {
                           return param_info.param == Backend::kSqlite ? std::string("Sqlite") : std::string("Postgres");
                         });

}  // namespace
}  // namespace vigil
