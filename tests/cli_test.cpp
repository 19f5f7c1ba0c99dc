// The vigil executable end to end: --help on every command, JSON and CSV output, errors as JSON
// objects, and the exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "vigil/digest.h"
#include "vigil/pdq.h"

#include "test_images.h"

namespace vigil {
namespace {

struct CliRun {
  int status;
  std::string out;
};

CliRun RunCli(const std::string& args) {
  const std::string cmd = std::string(VIGIL_TEST_CLI) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::vector<boost::json::object> JsonLines(const std::string& out) {
  std::vector<boost::json::object> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) v.push_back(boost::json::parse(line).as_object());
  return v;
}

TEST(Cli, HelpEverywhere) {
  for (const char* args : {"--help", "hash --help", "version --help", "index --help", "index bench --help", "serve --help",
                           "keys --help", "keys create --help", "bank --help", "bank create --help", "import --help",
                           "lookup --help", "store check --help", "eval --help", "policy --help", "policy test --help",
                           "audit --help", "audit verify --help", "docs --help", "docs roles --help",
                           "docs routes --help", "docs config --help", "scan --help"}) {
    const CliRun r = RunCli(args);
    EXPECT_EQ(r.status, 0) << args;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args << "\n" << r.out;
  }
  EXPECT_NE(RunCli("hash --help").out.find("--dihedral"), std::string::npos);
  EXPECT_EQ(RunCli("").status, 2);
  EXPECT_EQ(RunCli("hash --format xml x").status, 2);
}

// `vigil scan`: a backfill of stored files through the upload workflow. The listed file is
// blocked and opens a case with its bytes kept, the other is recorded untouched; a rerun answers
// both as replays and opens nothing new; a file that is not media is reported and fails the run.
TEST(Cli, ScanBackfillsStorageThroughTheUploadWorkflow) {
  testing::TempDir dir;
  const auto data = dir.path() / "data";
  const auto storage = dir.path() / "storage";
  const testing::Bytes listed = testing::EncodePng(testing::MakePattern(100, 80, 3, 11));
  std::filesystem::create_directories(storage / "user-1");
  std::filesystem::create_directories(storage / "user-2");
  testing::WriteFile(storage / "user-1" / "listed.png", listed);
  testing::WriteFile(storage / "user-2" / "other.jpg", testing::EncodeJpeg(testing::MakePattern(120, 90, 3, 12)));
  std::ofstream(dir.path() / "list.csv") << "sha256," << Sha256Hex(listed) << ",x1,A1\n";
  std::ofstream(dir.path() / "rules.toml") << "[[rule]]\nname = \"listed\"\nbanks = [\"stand-ins\"]\n"
                                              "actions = [\"block\", \"hold\"]\n";
  const std::string store = " --data-dir " + data.string();
  ASSERT_EQ(RunCli("bank create stand-ins" + store).status, 0);
  ASSERT_EQ(RunCli("import stand-ins " + (dir.path() / "list.csv").string() + " --format csv" + store).status, 0);
  const std::string scan = "scan " + storage.string() + " --user-from-parent --rules " +
                           (dir.path() / "rules.toml").string() + " -j 2" + store;
  auto run = RunCli(scan);
  EXPECT_EQ(run.status, 0) << run.out;
  auto lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 2u) << run.out;
  int cases = 0;
  for (const auto& line : lines) {
    const bool is_listed = line.at("path").as_string().subview().find("listed.png") != std::string::npos;
    EXPECT_EQ(line.at("matches").as_array().size(), is_listed ? 1u : 0u) << boost::json::serialize(line);
    EXPECT_EQ(line.at("state").as_string(), is_listed ? "blocked" : "visible");
    EXPECT_FALSE(line.at("replayed").as_bool());
    cases += line.contains("case_id");
  }
  EXPECT_EQ(cases, 1);
  EXPECT_TRUE(std::filesystem::exists(data / "media" / Sha256Hex(listed)));
  // Run again: the same ids, answered as replays; no second case.
  run = RunCli(scan);
  EXPECT_EQ(run.status, 0) << run.out;
  for (const auto& line : JsonLines(run.out)) EXPECT_TRUE(line.at("replayed").as_bool()) << boost::json::serialize(line);
  // Something that is not media: reported on its line, the run fails.
  std::filesystem::create_directories(storage / "user-3");
  std::ofstream(storage / "user-3" / "notes.txt") << "not an image";
  run = RunCli(scan);
  EXPECT_EQ(run.status, 1);
  bool reported = false;
  for (const auto& line : JsonLines(run.out)) reported = reported || line.contains("error");
  EXPECT_TRUE(reported) << run.out;
}

TEST(Cli, Version) {
  const CliRun r = RunCli("version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("vigil ", 0), 0u);
}

// The front door (src/cli/main.cpp) starts like a small C program: none of the libraries that only
// other commands, videos or HEIF need are linked into it; they live in lib/vigil modules.
TEST(Cli, TheFrontDoorLinksNoneOfTheHeavyLibraries) {
  FILE* p = popen(("ldd " + std::string(VIGIL_TEST_CLI)).c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string libs;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) libs.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << libs;
  for (const char* heavy : {"libavcodec", "libavformat", "libheif", "libvips", "libpq", "libsqlite3", "libxml2",
                            "libarchive", "libsodium", "libssl"}) {
    EXPECT_EQ(libs.find(heavy), std::string::npos) << heavy << " is linked into the front door:\n" << libs;
  }
}

// A copy of the executable without its lib/vigil folder still hashes the formats it decodes
// itself, and says which module is missing for the rest, instead of failing to start.
TEST(Cli, WithoutItsModulesTheFrontDoorHashesImagesAndNamesWhatIsMissing) {
  testing::TempDir dir;
  const auto copy = dir.path() / "bin" / "vigil";
  std::filesystem::create_directories(copy.parent_path());
  std::filesystem::copy_file(VIGIL_TEST_CLI, copy);
  testing::WriteFile(dir.path() / "a.png", testing::EncodePng(testing::MakePattern(100, 80, 3, 1)));
  auto run = [&](const std::string& args) {
    FILE* p = popen((copy.string() + " " + args + " 2>&1").c_str(), "r");
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = pclose(p);
    return CliRun{WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
  };
  const CliRun png = run("hash " + (dir.path() / "a.png").string());
  EXPECT_EQ(png.status, 0) << png.out;
  EXPECT_EQ(JsonLines(png.out).at(0).at("pdq").as_string().size(), 64u);
  const std::string video = std::string(VIGIL_TEST_DATA_DIR) + "/vectors/vpdq/videos/chair-19-sd-bar.mp4";
  const CliRun mp4 = run("hash " + video);
  EXPECT_EQ(mp4.status, 1) << mp4.out;
  EXPECT_NE(mp4.out.find("libvigil-ffmpeg.so"), std::string::npos) << mp4.out;
  const CliRun bank = run("bank list");
  EXPECT_EQ(bank.status, 2) << bank.out;
  EXPECT_NE(bank.out.find("libvigil-commands.so"), std::string::npos) << bank.out;
}

TEST(Cli, HashDirectoryJsonInOrderWithErrors) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "a.png", testing::EncodePng(testing::MakePattern(100, 80, 3, 1)));
  testing::WriteFile(dir.path() / "b.txt", testing::Bytes{'n', 'o'});
  std::filesystem::create_directory(dir.path() / "sub");
  testing::WriteFile(dir.path() / "sub" / "c.jpg", testing::EncodeJpeg(testing::MakePattern(700, 600, 3, 2)));
  const CliRun r = RunCli("hash -j 2 --dihedral " + dir.path().string());
  EXPECT_EQ(r.status, 1) << "one file failed";
  const auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].at("path").as_string(), (dir.path() / "a.png").string());
  EXPECT_EQ(lines[0].at("pdq").as_string().size(), 64u);
  EXPECT_EQ(lines[0].at("width").as_int64(), 100);
  EXPECT_EQ(lines[0].at("height").as_int64(), 80);
  EXPECT_EQ(lines[0].at("md5").as_string().size(), 32u);
  EXPECT_EQ(lines[0].at("sha1").as_string().size(), 40u);
  EXPECT_EQ(lines[0].at("sha256").as_string().size(), 64u);
  EXPECT_TRUE(lines[0].at("quality").is_int64());
  EXPECT_EQ(lines[0].at("dihedral").as_array().size(), 8u);
  EXPECT_EQ(lines[0].at("dihedral").as_array()[0], lines[0].at("pdq"));
  EXPECT_TRUE(lines[1].contains("error"));
  EXPECT_FALSE(lines[1].contains("pdq"));
  EXPECT_EQ(lines[2].at("path").as_string(), (dir.path() / "sub" / "c.jpg").string());
}

TEST(Cli, CsvLikeTheReferenceAndSuccessStatus) {
  testing::TempDir dir;
  const auto file = dir.path() / "x.png";
  testing::WriteFile(file, testing::EncodePng(testing::MakePattern(64, 64, 1)));
  const CliRun r = RunCli("hash --format csv " + file.string());
  EXPECT_EQ(r.status, 0);
  const auto json = JsonLines(RunCli("hash " + file.string()).out);
  ASSERT_EQ(json.size(), 1u);
  const std::string want = std::string(json[0].at("pdq").as_string()) + "," +
                           std::to_string(json[0].at("quality").as_int64()) + "," + file.string() + "\n";
  EXPECT_EQ(r.out, want);
}

TEST(Cli, MissingPathIsAnErrorLine) {
  const CliRun r = RunCli("hash /nonexistent/file.jpg");
  EXPECT_EQ(r.status, 1);
  const auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("error_code").as_string(), "not_found");
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(CliIndex, BuildAndQueryMatchBruteForce) {
  testing::TempDir dir;
  // Hashes of benign pattern images, plus near copies (JPEG re-encodes) as queries.
  std::ofstream list(dir.path() / "bank.txt");
  std::ofstream queries(dir.path() / "queries.txt");
  std::vector<PdqHash> bank;
  PdqHasher hasher;
  for (std::uint32_t i = 0; i < 40; ++i) {
    const Image img = testing::MakePattern(96 + i, 80, 3, i + 1);
    const PdqHash h = hasher.Hash(img, {}).hash;
    bank.push_back(h);
    list << h.ToHex();
    if (i % 2) list << ',' << (1000 + i);
    list << '\n';
    if (i % 5 == 0) {
      auto again = DecodeImage(testing::EncodeJpeg(img, 60), {});
      queries << hasher.Hash(*again, {}).hash.ToHex() << "\n";
    }
  }
  list.close();
  queries.close();
  const auto vidx = dir.path() / "bank.vidx";
  const CliRun built = RunCli("index build " + (dir.path() / "bank.txt").string() + " -o " + vidx.string());
  ASSERT_EQ(built.status, 0) << built.out;
  EXPECT_EQ(boost::json::parse(built.out).as_object().at("entries").as_int64(), 40);
  const CliRun q = RunCli("index query " + vidx.string() + " " + (dir.path() / "queries.txt").string() + " --radius 63 -j 2");
  ASSERT_EQ(q.status, 0);
  // Expected lines from brute force over the same hashes.
  std::ifstream qin(dir.path() / "queries.txt");
  std::string line, want;
  for (int qi = 0; std::getline(qin, line); ++qi) {
    const PdqHash qh = *PdqHash::FromHex(line);
    std::vector<std::pair<int, std::uint64_t>> hits;
    for (std::uint32_t i = 0; i < bank.size(); ++i) {
      const int d = bank[i].Distance(qh);
      if (d <= 63) hits.emplace_back(d, i % 2 ? 1000 + i : i);
    }
    std::sort(hits.begin(), hits.end());
    for (auto [d, id] : hits) want += std::to_string(qi) + "," + std::to_string(id) + "," + std::to_string(d) + "\n";
  }
  EXPECT_EQ(q.out, want);
  EXPECT_FALSE(want.empty());
}

// The block of FILE between "<!-- generated by: vigil docs NAME -->" and "<!-- end generated -->".
std::optional<std::string> GeneratedBlock(const std::string& text, const std::string& name) {
  const std::string begin = "<!-- generated by: vigil docs " + name + " -->\n";
  const auto at = text.find(begin);
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + begin.size();
  const auto end = text.find("<!-- end generated -->", start);
  if (end == std::string::npos) return std::nullopt;
  return text.substr(start, end - start);
}

// The docs' role, route and configuration tables are what the code says (`vigil docs ...`).
TEST(Docs, GeneratedBlocksMatchTheCode) {
  const std::filesystem::path source = VIGIL_PROJECT_SOURCE_DIR;
  for (const auto& [name, file] : std::vector<std::pair<std::string, std::string>>{
           {"roles", "docs/api.md"}, {"routes", "docs/api.md"}, {"config", "docs/operations.md"}}) {
    const CliRun run = RunCli("docs " + name);
    ASSERT_EQ(run.status, 0) << name;
    ASSERT_FALSE(run.out.empty()) << name;
    const auto block = GeneratedBlock(testing::ReadText(source / file), name);
    ASSERT_TRUE(block) << file << " has no block marked '<!-- generated by: vigil docs " << name << " -->' ... "
                       << "'<!-- end generated -->'";
    EXPECT_EQ(*block, run.out) << file << "'s table from `vigil docs " << name << "` is out of date: regenerate it with\n  "
                               << VIGIL_TEST_CLI << " docs " << name << " --update " << (source / file).string();
  }
  // --update rewrites only the block.
  testing::TempDir dir;
  const auto copy = dir.path() / "ops.md";
  std::ofstream(copy) << "before\n<!-- generated by: vigil docs config -->\nstale\n<!-- end generated -->\nafter\n";
  ASSERT_EQ(RunCli("docs config --update " + copy.string()).status, 0);
  EXPECT_EQ(testing::ReadText(copy), "before\n<!-- generated by: vigil docs config -->\n" + RunCli("docs config").out +
                                         "<!-- end generated -->\nafter\n");
  EXPECT_NE(RunCli("docs roles --update " + copy.string()).status, 0);  // no roles block there
}

TEST(CliIndex, BadInputNamesTheLine) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "bad.txt") << "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22\nnot-a-hash\n";
  const std::string cmd = std::string(VIGIL_TEST_CLI) + " index build " + (dir.path() / "bad.txt").string() + " -o " +
                          (dir.path() / "x.vidx").string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512] = {};
  const std::size_t n = fread(buf, 1, sizeof buf - 1, p);
  const int st = pclose(p);
  EXPECT_NE(WEXITSTATUS(st), 0);
  EXPECT_NE(std::string(buf, n).find("line 2"), std::string::npos) << buf;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.vidx"));
  std::ofstream(dir.path() / "junk.vidx") << "not an index";
  EXPECT_NE(RunCli("index query " + (dir.path() / "junk.vidx").string() + " " + (dir.path() / "bad.txt").string()).status, 0);
}

}  // namespace
}  // namespace vigil
