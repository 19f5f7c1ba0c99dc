// Cryptographic digests against published test vectors, and the CSV record parser.
#include <gtest/gtest.h>

#include "util/csv.h"
#include "util/hex.h"
#include "vigil/digest.h"

namespace vigil {
namespace {

TEST(Digest, KnownVectors) {
  const std::string abc = "abc";
  const FileDigests d = ComputeDigests(std::span(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()));
  EXPECT_EQ(d.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const FileDigests empty = ComputeDigests({});
  EXPECT_EQ(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Csv, PlainQuotedAndEmptyFields) {
  auto r = util::ParseCsvLine("a,\"b,c\",,\"say \"\"hi\"\"\"\r");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(*r, (std::vector<std::string>{"a", "b,c", "", "say \"hi\""}));
  EXPECT_EQ(util::ParseCsvLine("")->size(), 1u);
}

TEST(Csv, ErrorsNameTheColumn) {
  auto r = util::ParseCsvLine("abc,\"unterminated");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("column"), std::string::npos);
  EXPECT_FALSE(util::ParseCsvLine("a\"b").has_value());
  EXPECT_FALSE(util::ParseCsvLine("\"a\"b").has_value());
  EXPECT_FALSE(util::ParseCsvLine(std::string(9000, 'x')).has_value());  // over 8192 bytes: a plug-in's longest value in hex fits
  EXPECT_FALSE(util::ParseCsvLine(std::string(100, ',')).has_value());
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(Hex, EncodesLowerCaseAndDecodesEitherCaseAndRefusesWhatIsNotHex) {
  const std::vector<std::uint8_t> bytes = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(util::HexEncode(bytes), "000fa5ff");
  EXPECT_EQ(*util::HexDecode("000FA5ff"), bytes);
  EXPECT_TRUE(util::HexDecode("")->empty());
  auto odd = util::HexDecode("abc");
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().message.find("odd length 3"), std::string::npos);
  auto bad = util::HexDecode("00g0");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("position 3"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace vigil
