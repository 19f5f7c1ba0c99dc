// The vigil executable end to end: --help on every command, JSON and CSV output, errors as JSON
// objects, and the exit status.
#include <gtest/gtest.h>
#include <map>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

// A shell command line's standard output and exit status (128 + N when signal N ended it).
CliRun RunShell(const std::string& command_line) {
  FILE* p = popen(command_line.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

CliRun RunCli(const std::string& args) { return RunShell(std::string(VIGIL_TEST_CLI) + " " + args + " 2>/dev/null"); }
// With standard error in the output.
CliRun RunCliBoth(const std::string& args) { return RunShell(std::string(VIGIL_TEST_CLI) + " " + args + " 2>&1"); }

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
                           "docs routes --help", "docs config --help", "scan --help", "partner --help",
                           "partner add --help", "bundle --help", "bundle export --help", "bundle import --help",
                           "bank sweep --help", "exchange --help", "exchange add --help", "exchange sync --help",
                           "exchange feedback --help", "exchange unlock --help"}) {
    const CliRun r = RunCli(args);
    EXPECT_EQ(r.status, 0) << args;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args << "\n" << r.out;
  }
  EXPECT_NE(RunCli("hash --help").out.find("--dihedral"), std::string::npos);
  EXPECT_EQ(RunCli("").status, 2);
  const CliRun unknown = RunCliBoth("bogus");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.out.find("unknown command 'bogus'"), std::string::npos) << unknown.out;
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

// `vigil import --retroactive-days` checks the allow-lists as the service does: two accounts'
// uploads that are on an allow-list have their late matches suppressed, so a blocking rule does
// nothing to them (the CLI used to leave the matcher unloaded and block both).
TEST(Cli, ARetroactiveImportFromTheCommandLineLeavesAllowListedUploadsAlone) {
  testing::TempDir dir;
  const auto data = dir.path() / "data";
  const auto storage = dir.path() / "storage";
  const testing::Bytes logo = testing::EncodePng(testing::MakePattern(100, 80, 3, 21));
  std::filesystem::create_directories(storage / "user-1");
  std::filesystem::create_directories(storage / "user-2");
  testing::WriteFile(storage / "user-1" / "logo.png", logo);
  testing::WriteFile(storage / "user-2" / "logo.png", logo);
  std::ofstream(dir.path() / "list.csv") << "sha256," << Sha256Hex(logo) << ",x1,A1\n";
  std::ofstream(dir.path() / "rules.toml") << "[[rule]]\nname = \"later\"\nbanks = [\"thirdparty\"]\n"
                                              "actions = [\"block\", \"hold\"]\n";
  const std::string store = " --data-dir " + data.string();
  const std::string list = " " + (dir.path() / "list.csv").string() + " --format csv";
  ASSERT_EQ(RunCli("bank create known-logos --negative" + store).status, 0);
  ASSERT_EQ(RunCli("import known-logos" + list + store).status, 0);
  auto scan = RunCli("scan " + storage.string() + " --user-from-parent" + store);
  ASSERT_EQ(scan.status, 0) << scan.out;
  ASSERT_EQ(RunCli("bank create thirdparty" + store).status, 0);
  const auto run = RunCliBoth("import thirdparty" + list + " --retroactive-days 90 --rules " +
                              (dir.path() / "rules.toml").string() + store);
  ASSERT_EQ(run.status, 0) << run.out;
  const auto answer = boost::json::parse(run.out).as_object();
  const auto& retro = answer.at("retroactive").as_object();
  EXPECT_EQ(retro.at("uploads_matched").as_int64(), 2) << run.out;
  EXPECT_EQ(retro.at("uploads_held").as_int64(), 0) << run.out;
}

// `vigil bank sweep` on a case no one decided violating says so (it used to exit 0 with a sweep
// that found nothing, which reads as "no copies").
TEST(Cli, ASweepOfACaseNotDecidedViolatingIsRefusedWithTheReason) {
  testing::TempDir dir;
  const auto data = dir.path() / "data";
  const auto storage = dir.path() / "storage" / "user-1";
  const testing::Bytes listed = testing::EncodePng(testing::MakePattern(100, 80, 3, 31));
  std::filesystem::create_directories(storage);
  testing::WriteFile(storage / "listed.png", listed);
  std::ofstream(dir.path() / "list.csv") << "sha256," << Sha256Hex(listed) << ",x1,A1\n";
  std::ofstream(dir.path() / "rules.toml") << "[[rule]]\nname = \"listed\"\nactions = [\"hold\"]\n";
  const std::string store = " --data-dir " + data.string();
  ASSERT_EQ(RunCli("bank create stand-ins" + store).status, 0);
  ASSERT_EQ(RunCli("import stand-ins " + (dir.path() / "list.csv").string() + " --format csv" + store).status, 0);
  const auto scan = RunCli("scan " + (dir.path() / "storage").string() + " --user-from-parent --rules " +
                           (dir.path() / "rules.toml").string() + store);
  ASSERT_EQ(scan.status, 0) << scan.out;
  const auto lines = JsonLines(scan.out);
  ASSERT_EQ(lines.size(), 1u);
  const auto case_id = lines[0].at("case_id").as_int64();
  const auto sweep = RunCliBoth("bank sweep " + std::to_string(case_id) + " --retroactive-days 90" + store);
  EXPECT_EQ(sweep.status, 1) << sweep.out;
  EXPECT_NE(sweep.out.find("not decided violating"), std::string::npos) << sweep.out;
}

// Signed sharing end to end through the CLI: platform A exports a bank, platform B trusts A's key
// and imports the bundle; the entries it adds find B's earlier upload of the file, as any import's
// would (`--retroactive-days`), and a copy of the bundle is refused as a replay.
TEST(Cli, ABundleFromAPartnerFindsAnEarlierUploadOfItsFile) {
  testing::TempDir dir;
  const std::string a = " --data-dir " + (dir.path() / "a").string();
  const std::string b = " --data-dir " + (dir.path() / "b").string();
  const auto storage = dir.path() / "storage" / "user-1";
  const testing::Bytes file = testing::EncodePng(testing::MakePattern(100, 80, 3, 41));
  std::filesystem::create_directories(storage);
  testing::WriteFile(storage / "file.png", file);
  std::ofstream(dir.path() / "list.csv") << "sha256," << Sha256Hex(file) << ",x1,A1\n";
  std::ofstream(dir.path() / "rules.toml") << "[[rule]]\nname = \"later\"\nfound = \"later\"\nactions = [\"hold\"]\n";
  ASSERT_EQ(RunCli("scan " + (dir.path() / "storage").string() + " --user-from-parent" + b).status, 0);
  ASSERT_EQ(RunCli("bank create shared" + a).status, 0);
  ASSERT_EQ(RunCli("import shared " + (dir.path() / "list.csv").string() + " --format csv" + a).status, 0);
  const auto key = RunCli("bundle keygen -o " + (dir.path() / "a.key").string());
  ASSERT_EQ(key.status, 0);
  const std::string public_key(boost::json::parse(key.out).at("public_key").as_string());
  const std::string bundle = (dir.path() / "a-1.json").string();
  ASSERT_EQ(RunCli("bundle export shared --as platform-a --key-file " + (dir.path() / "a.key").string() + " -o " + bundle + a).status, 0);
  ASSERT_EQ(RunCli("bank create from-a" + b).status, 0);
  ASSERT_EQ(RunCli("partner add platform-a --key " + public_key + " --bank from-a --trust live" + b).status, 0);
  const auto received = RunCliBoth("bundle import " + bundle + " --retroactive-days 90 --rules " +
                                   (dir.path() / "rules.toml").string() + b);
  ASSERT_EQ(received.status, 0) << received.out;
  const auto answer = boost::json::parse(received.out).as_object();
  EXPECT_EQ(answer.at("status").as_string(), "applied");
  EXPECT_EQ(answer.at("added").as_int64(), 1);
  EXPECT_EQ(answer.at("retroactive").at("uploads_matched").as_int64(), 1) << received.out;
  EXPECT_EQ(answer.at("retroactive").at("uploads_held").as_int64(), 1) << received.out;
  const auto again = RunCliBoth("bundle import " + bundle + b);
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.out.find("received already"), std::string::npos) << again.out;
}

// What a walk meets besides regular files is reported on a line of its own and fails the run:
// a FIFO (which used to block the run forever), a link to a device (read up to gigabytes), a
// link to a file outside the tree (read, and credited to the folder the link sits in), a folder
// that cannot be listed (skipped in silence, exit 0). A file name that is not UTF-8 is written
// escaped, so every line stays valid JSON.
TEST(Cli, HashAndScanReportWhatIsNotARegularFileAndNeverBlockOnIt) {
  testing::TempDir dir;
  const auto storage = dir.path() / "storage";
  std::filesystem::create_directories(storage / "u1");
  testing::WriteFile(storage / "u1" / "ok.png", testing::EncodePng(testing::MakePattern(64, 64, 3, 3)));
  testing::WriteFile(storage / "u1" / "bad\xff\xfe.png", testing::EncodePng(testing::MakePattern(64, 64, 3, 4)));
  ASSERT_EQ(::mkfifo((storage / "u1" / "fifo").c_str(), 0600), 0);
  std::filesystem::create_symlink("/dev/zero", storage / "u1" / "zero");
  std::filesystem::create_symlink("/etc/hostname", storage / "u1" / "elsewhere");
  std::filesystem::create_directories(storage / "u2");
  for (const std::string& command : {std::string("hash "), std::string("scan --user x --data-dir ") + (dir.path() / "d").string() + " "}) {
    auto run = RunShell("timeout 60 " + std::string(VIGIL_TEST_CLI) + " " + command + storage.string() + " 2>/dev/null");
    ASSERT_NE(run.status, 124) << command << "blocked";
    EXPECT_EQ(run.status, 1) << command << run.out;
    std::map<std::string, std::string> error_of;
    for (const auto& line : JsonLines(run.out)) {  // parses every line: valid JSON
      const std::string path(line.at("path").as_string());
      error_of[std::filesystem::path(path).filename().string()] =
          line.contains("error") ? std::string(line.at("error").as_string()) : "";
    }
    EXPECT_EQ(error_of["ok.png"], "") << command;
    EXPECT_EQ(error_of.count("bad\\xFF\\xFE.png"), 1u) << command << run.out;
    EXPECT_NE(error_of["fifo"].find("not a regular file"), std::string::npos) << command << run.out;
    EXPECT_NE(error_of["zero"].find("symbolic link"), std::string::npos) << command << run.out;
    EXPECT_NE(error_of["elsewhere"].find("symbolic link"), std::string::npos) << command << run.out;
  }
  // Named on the command line: a FIFO is refused at once, not waited on.
  auto fifo = RunShell("timeout 60 " + std::string(VIGIL_TEST_CLI) + " hash " + (storage / "u1" / "fifo").string() + " 2>/dev/null");
  ASSERT_NE(fifo.status, 124) << "blocked on a FIFO";
  EXPECT_NE(fifo.out.find("not a regular file"), std::string::npos) << fifo.out;
  // A folder that cannot be listed (checked as an unprivileged user; root lists anything).
  if (::geteuid() == 0 && std::filesystem::exists("/usr/bin/setpriv")) {
    std::filesystem::permissions(storage / "u2", std::filesystem::perms::none);
    std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
    std::filesystem::permissions(storage, std::filesystem::perms::all);
    auto run = RunShell("setpriv --reuid=65534 --regid=65534 --clear-groups " + std::string(VIGIL_TEST_CLI) + " hash " +
                        (storage / "u2").string() + " 2>/dev/null");
    EXPECT_EQ(run.status, 1) << run.out;
    EXPECT_NE(run.out.find("cannot list directory"), std::string::npos) << run.out;
    std::filesystem::permissions(storage / "u2", std::filesystem::perms::owner_all);
  }
}

TEST(Cli, Version) {
  const CliRun r = RunCli("version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("vigil ", 0), 0u);
}

// The front door (src/cli/main.cpp) starts like a small C program: none of the libraries that only
// other commands, videos or HEIF need are linked into it; they live in lib/vigil modules.
TEST(Cli, TheFrontDoorLinksNoneOfTheHeavyLibraries) {
  const CliRun ldd = RunShell("ldd " + std::string(VIGIL_TEST_CLI));
  ASSERT_EQ(ldd.status, 0) << ldd.out;
  const std::string& libs = ldd.out;
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
  auto run = [&](const std::string& args) { return RunShell(copy.string() + " " + args + " 2>&1"); };
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

// An installed layout (bin/vigil, lib/vigil/*.so) copied into a temporary folder, and a runner
// for it that keeps stderr: the module loader's checks, as a root-run binary needs them.
class InstalledCopy {
 public:
  InstalledCopy() {
    std::filesystem::create_directories(dir_.path() / "bin");
    std::filesystem::copy_file(VIGIL_TEST_CLI, Exe());
    std::filesystem::create_directories(Modules());
    std::filesystem::copy(std::filesystem::path(VIGIL_TEST_CLI).parent_path() / "lib" / "vigil", Modules());
  }
  std::filesystem::path Exe() const { return dir_.path() / "bin" / "vigil"; }
  std::filesystem::path Modules() const { return dir_.path() / "lib" / "vigil"; }
  CliRun Run(const std::string& args) const { return RunShell(Exe().string() + " " + args + " 2>&1"); }

 private:
  testing::TempDir dir_;
};

TEST(CliModules, AnInstalledCopyRunsEveryKindOfCommand) {
  InstalledCopy copy;
  EXPECT_EQ(copy.Run("bank --help").status, 0);
  const CliRun eval = copy.Run("eval --list-transforms");
  EXPECT_EQ(eval.status, 0) << eval.out;
}

TEST(CliModules, AModuleFolderOthersMayWriteIsNotLoaded) {
  InstalledCopy copy;
  std::filesystem::permissions(copy.Modules(), std::filesystem::perms::others_write, std::filesystem::perm_options::add);
  const CliRun run = copy.Run("bank --help");
  EXPECT_EQ(run.status, 2) << run.out;
  EXPECT_NE(run.out.find("writable by others"), std::string::npos) << run.out;
}

TEST(CliModules, AModuleOwnedBySomeoneElseIsNotLoaded) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  InstalledCopy copy;
  ASSERT_EQ(chown((copy.Modules() / "libvigil-commands.so").c_str(), 65534, 65534), 0);
  const CliRun run = copy.Run("bank --help");
  EXPECT_EQ(run.status, 2) << run.out;
  EXPECT_NE(run.out.find("owned by uid 65534"), std::string::npos) << run.out;
}

// A truncated module would be mapped and crash the process with SIGBUS on its first missing page
// (seen: `vigil --help` exited 135); it is refused before dlopen instead.
TEST(CliModules, ATruncatedModuleIsRefusedNotMapped) {
  InstalledCopy copy;
  for (const char* module : {"libvigil-commands.so", "libvigil-ffmpeg.so"}) {
    std::filesystem::resize_file(copy.Modules() / module, 100000);
  }
  const CliRun help = copy.Run("--help");
  EXPECT_EQ(help.status, 2) << help.out;
  EXPECT_NE(help.out.find("libvigil-commands.so is truncated"), std::string::npos) << help.out;
  testing::TempDir media;
  testing::WriteFile(media.path() / "a.bmp", testing::EncodeBmp(testing::MakePattern(32, 24, 3, 1)));
  const CliRun bmp = copy.Run("hash " + (media.path() / "a.bmp").string());
  EXPECT_EQ(bmp.status, 1) << bmp.out;
  EXPECT_NE(bmp.out.find("libvigil-ffmpeg.so is truncated"), std::string::npos) << bmp.out;
}

TEST(CliModules, ASharedObjectThatIsNoVigilModuleIsNotUsed) {
  InstalledCopy copy;
  std::filesystem::copy_file("/lib/x86_64-linux-gnu/libz.so.1", copy.Modules() / "libvigil-commands.so",
                             std::filesystem::copy_options::overwrite_existing);
  const CliRun run = copy.Run("bank --help");
  EXPECT_EQ(run.status, 2) << run.out;
  EXPECT_NE(run.out.find("is not a Vigil module"), std::string::npos) << run.out;
}

// --max-file-bytes bounds what is read of any file: a video, or a device that never ends
// (before, a video's own 2 GiB limit applied and `vigil hash /dev/zero` read 2 GiB first).
// --max-file-bytes bounds videos too; a device is not read at all (it used to be read up to the
// limit: /dev/zero cost gigabytes before the answer).
TEST(Cli, MaxFileBytesBoundsVideosAndDevicesToo) {
  const std::string video = std::string(VIGIL_TEST_DATA_DIR) + "/vectors/vpdq/videos/chair-19-sd-bar.mp4";
  for (const auto& [path, code] : {std::pair<std::string, std::string>{video, "too_large"}, {"/dev/zero", "unsupported"}}) {
    const CliRun run = RunCli("hash --max-file-bytes 1000 " + path);
    EXPECT_EQ(run.status, 1) << path;
    const auto lines = JsonLines(run.out);
    ASSERT_EQ(lines.size(), 1u) << run.out;
    EXPECT_EQ(lines[0].at("error_code").as_string(), code) << run.out;
  }
  EXPECT_EQ(RunCli("hash --video-threads -3 " + video).status, 2);
  EXPECT_EQ(RunCli("hash --max-video-seconds -5 " + video).status, 2);
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
  const CliRun build = RunCliBoth("index build " + (dir.path() / "bad.txt").string() + " -o " +
                                  (dir.path() / "x.vidx").string());
  EXPECT_NE(build.status, 0);
  EXPECT_NE(build.out.find("line 2"), std::string::npos) << build.out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.vidx"));
  std::ofstream(dir.path() / "junk.vidx") << "not an index";
  EXPECT_NE(RunCli("index query " + (dir.path() / "junk.vidx").string() + " " + (dir.path() / "bad.txt").string()).status, 0);
}

}  // namespace
}  // namespace vigil
