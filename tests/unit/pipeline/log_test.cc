// Masking of the API key in what the program writes: the functions every log
// line and every stored API answer go through.
#include "pipeline/log.h"

#include <string>

#include "gtest/gtest.h"

namespace nf2 {
namespace {

TEST(MaskSecret, MasksEveryOccurrence) {
  EXPECT_EQ(MaskSecret("a sekrit-key b sekrit-key", "sekrit-key"), "a [REDACTED] b [REDACTED]");
  EXPECT_EQ(MaskSecret("nothing here", "sekrit-key"), "nothing here");
}

TEST(MaskSecret, MasksKeysOfAnyLength) {
  EXPECT_EQ(MaskSecret("key=ab;", "ab"), "key=[REDACTED];");
  EXPECT_EQ(MaskSecret("x=Q", "Q"), "x=[REDACTED]");
}

TEST(MaskSecret, AnEmptySecretMasksNothing) { EXPECT_EQ(MaskSecret("text", ""), "text"); }

TEST(MaskSecret, MasksJsonEscapedForms) {
  const std::string key = "ab\"c\\d/e";
  EXPECT_EQ(MaskSecret(R"({"k":"ab\"c\\d/e"})", key), R"({"k":"[REDACTED]"})");
  EXPECT_EQ(MaskSecret(R"({"k":"ab\"c\\d\/e"})", key), R"({"k":"[REDACTED]"})");
  // Quoted inside a JSON string that is itself JSON-escaped.
  EXPECT_EQ(MaskSecret(R"("ab\\\"c\\\\d/e")", key), R"("[REDACTED]")");
  EXPECT_EQ(MaskSecret("raw ab\"c\\d/e", key), "raw [REDACTED]");
}

TEST(MaskSecret, AMaskIsNeverMaskedAgain) {
  // A secret that occurs in the mask itself must not loop or nest.
  EXPECT_EQ(MaskSecret("E-E", "E"), "[REDACTED]-[REDACTED]");
  EXPECT_EQ(MaskSecret("aaaa", "aa"), "[REDACTED]");
}

TEST(MaskedPrefix, MasksBeforeCutting) {
  const std::string key = "0123456789";
  std::string text(295, 'x');
  text += key;  // bytes 295..304: a cut at 300 goes through the key
  const std::string cut = MaskedPrefix(text, key, 300);
  EXPECT_LE(cut.size(), 300u);
  EXPECT_EQ(cut.find("01234"), std::string::npos) << cut;
  EXPECT_EQ(cut.substr(0, 295), std::string(295, 'x'));
}

TEST(MaskedPrefix, MasksAuthorizationValues) {
  EXPECT_EQ(MaskedPrefix("Authorization: Bearer other\r\nX: y", "key", 100),
            "Authorization: [REDACTED]\r\nX: y");
  EXPECT_EQ(MaskedPrefix(R"({"h":"authorization: Bearer t"})", "key", 100),
            R"({"h":"authorization: [REDACTED]"})");
}

TEST(RedactForLog, UsesTheLogSecretWhateverItsLength) {
  SetLogSecret("k1");
  EXPECT_EQ(RedactForLog("got k1 and \"k1\""), "got [REDACTED] and \"[REDACTED]\"");
  SetLogSecret("");
  EXPECT_EQ(RedactForLog("got k1"), "got k1");
}

}  // namespace
}  // namespace nf2
