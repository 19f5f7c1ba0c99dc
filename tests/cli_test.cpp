// The vigil executable end to end: --help on every command, JSON and CSV output, errors as JSON
// objects, and the exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <sstream>

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
  for (const char* args : {"--help", "hash --help", "version --help"}) {
    const CliRun r = RunCli(args);
    EXPECT_EQ(r.status, 0) << args;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args << "\n" << r.out;
  }
  EXPECT_NE(RunCli("hash --help").out.find("--dihedral"), std::string::npos);
  EXPECT_EQ(RunCli("").status, 2);
  EXPECT_EQ(RunCli("hash --format xml x").status, 2);
}

TEST(Cli, Version) {
  const CliRun r = RunCli("version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("vigil ", 0), 0u);
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
