// The HMA-compatible surface's pieces without a server: the multipart/form-data parser HMA clients'
// uploads go through (hostile bodies refused with a message, never read past), HMA's JSON as Flask
// writes it, its signal validation and the seeded coin flip.
#include <gtest/gtest.h>

#include "server/hma_shapes.h"
#include "server/multipart_form.h"

namespace vigil::server {
namespace {

std::string Part(const std::string& name, const std::string& filename, const std::string& data) {
  std::string disposition = "Content-Disposition: form-data; name=\"" + name + "\"";
  if (!filename.empty()) disposition += "; filename=\"" + filename + "\"";
  return "--B\r\n" + disposition + "\r\nContent-Type: image/jpeg\r\n\r\n" + data + "\r\n";
}

TEST(MultipartForm, ABodyAsCurlSendsItGivesEachPartsNameFilenameAndBytes) {
  const std::string body = "preamble\r\n" + Part("photo", "a.jpg", std::string("\0\r\n--Cx", 7)) + Part("note", "", "hi") + "--B--\r\n";
  auto parts = ParseMultipartForm(body, "B");
  ASSERT_TRUE(parts) << parts.error().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "photo");
  EXPECT_EQ((*parts)[0].filename, "a.jpg");
  EXPECT_EQ((*parts)[0].content_type, "image/jpeg");
  EXPECT_EQ((*parts)[0].data, std::string_view(std::string("\0\r\n--Cx", 7)));
  EXPECT_EQ((*parts)[1].name, "note");
  EXPECT_EQ((*parts)[1].data, "hi");
}

TEST(MultipartForm, ABoundaryIsReadFromTheContentTypeQuotedOrNot) {
  EXPECT_EQ(*FormBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(*FormBoundary("Multipart/Form-Data; charset=x; boundary=\"a b;c\""), "a b;c");
  EXPECT_FALSE(FormBoundary("multipart/form-data"));
  EXPECT_FALSE(FormBoundary("application/json; boundary=abc"));
  EXPECT_FALSE(FormBoundary("multipart/form-data; boundary=" + std::string(71, 'x')));
}

TEST(MultipartForm, APartThatIsNeverClosedIsRefused) {
  auto parts = ParseMultipartForm(Part("photo", "a.jpg", "bytes"), "B");
  ASSERT_FALSE(parts);
  EXPECT_NE(parts.error().message.find("not closed"), std::string::npos) << parts.error().message;
}

TEST(MultipartForm, APartWithoutAFormDataNameIsRefused) {
  auto parts = ParseMultipartForm("--B\r\nContent-Type: image/jpeg\r\n\r\nx\r\n--B--", "B");
  ASSERT_FALSE(parts);
  EXPECT_NE(parts.error().message.find("form-data; name"), std::string::npos);
}

TEST(MultipartForm, MoreThanTheAllowedPartsAreRefused) {
  std::string body;
  for (int i = 0; i < 5; ++i) body += Part("f" + std::to_string(i), "", "x");
  body += "--B--";
  EXPECT_TRUE(ParseMultipartForm(body, "B", 5));
  auto refused = ParseMultipartForm(body, "B", 4);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("more than 4 parts"), std::string::npos);
}

TEST(MultipartForm, HeadersOverTheirLimitAreRefused) {
  const std::string body = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\nX: " + std::string(9000, 'h') + "\r\n\r\nx\r\n--B--";
  EXPECT_FALSE(ParseMultipartForm(body, "B"));
}

TEST(MultipartForm, ABodyWithoutItsBoundaryIsRefused) {
  EXPECT_FALSE(ParseMultipartForm("just bytes", "B"));
  EXPECT_FALSE(ParseMultipartForm("", "B"));
  EXPECT_FALSE(ParseMultipartForm("--B", "B"));
}

TEST(HmaShapes, JsonIsWrittenAsFlaskDoesKeysSortedFloatsWithAPoint) {
  auto reply = HmaJson(http::status::ok, boost::json::object{{"name", "B"}, {"matching_enabled_ratio", 1.0},
                                                             {"z", boost::json::array{0.5, 2, nullptr, true}}});
  EXPECT_EQ(reply.body(), "{\"matching_enabled_ratio\":1.0,\"name\":\"B\",\"z\":[0.5,2,null,true]}\n");
  EXPECT_EQ(HmaError(http::status::bad_request, "No \"such\"").body(), "{\"message\":\"No \\\"such\\\"\"}\n");
}

TEST(HmaShapes, SignalsAreValidatedWithHmasRulesAndMessages) {
  const auto& pdq = *FindHmaSignalType("pdq");
  const auto& md5 = *FindHmaSignalType("video_md5");
  EXPECT_TRUE(HmaValidateSignal(pdq, std::string(64, 'a')));
  EXPECT_EQ(HmaValidateSignal(pdq, std::string(64, 'A')).error().message, "invalid PDQ hash");  // lower case only
  EXPECT_EQ(*HmaValidateSignal(md5, " 0123456789ABCDEF0123456789abcdef\n"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(HmaValidateSignal(md5, "xyz").error().message, "'xyz' is not a valid MD5 hash");
  EXPECT_EQ(FindHmaSignalType("tmk"), nullptr);
  EXPECT_EQ(md5.vigil_type, "md5");
}

TEST(HmaShapes, TheCoinflipIsTheSameForTheSameSeedAndSpreadsAcrossSeeds) {
  const std::string a = "content-1", b = "content-2";
  EXPECT_EQ(HmaCoinflip(&a), HmaCoinflip(&a));
  EXPECT_NE(HmaCoinflip(&a), HmaCoinflip(&b));
  int below = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string seed = std::to_string(i);
    const double flip = HmaCoinflip(&seed);
    ASSERT_GE(flip, 0.0);
    ASSERT_LT(flip, 1.0);
    below += flip < 0.5;
  }
  EXPECT_GT(below, 400);
  EXPECT_LT(below, 600);
}

TEST(HmaShapes, BankNamesMapOneToOneOntoVigilsLowerCase) {
  EXPECT_EQ(VigilBankName("COOP_1_BANK"), "coop_1_bank");
  EXPECT_EQ(HmaBankName("coop_1_bank"), "COOP_1_BANK");
  EXPECT_EQ(HmaBankName("ncmec-hashes"), "NCMEC-HASHES");
  EXPECT_TRUE(ValidHmaName("A_1"));
  EXPECT_FALSE(ValidHmaName("a"));
  EXPECT_EQ(FlaskRule("/c/bank/{bank_name}/content/{content_id}"), "/c/bank/<bank_name>/content/<int:content_id>");
}

}  // namespace
}  // namespace vigil::server
