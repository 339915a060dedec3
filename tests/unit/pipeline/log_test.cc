// Masking of the API key in what the program writes: the functions every log
// line and every stored API answer go through; and throttled logging, which
// builds no line it does not write and says how many it held back.
#include "pipeline/log.h"

#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
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

TEST(LogThrottled, BuildsOnlyTheLinesItWritesAndCountsTheOthers) {
  LogThrottle throttle(1, 0.05);  // the burst and the next, then one per 50 ms
  int built = 0;
  auto make = [&] { return "bad input #" + std::to_string(++built); };
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 7; ++i) LogThrottled(throttle, LogLevel::kError, make);
  const int built_at_once = built;
  // Bounded wait on the throttle's own clock until it lets one more through.
  for (int i = 0; i < 2000 && built == built_at_once; ++i) {
    LogThrottled(throttle, LogLevel::kError, make);
    if (built == built_at_once) usleep(1000);
  }
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(built_at_once, 2) << out;
  ASSERT_EQ(built, 3) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("bad input #1\n"));
  EXPECT_THAT(out, ::testing::HasSubstr("bad input #2\n"));
  EXPECT_THAT(out,
              ::testing::ContainsRegex("bad input #3 \\[[0-9]+ more since the last report\\]"));
}

TEST(LogWithSuppressed, NamesNothingWhenNothingWasHeldBack) {
  ::testing::internal::CaptureStderr();
  LogWithSuppressed(LogLevel::kError, "plain", 0);
  LogWithSuppressed(LogLevel::kError, "after", 7);
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, ::testing::HasSubstr("plain\n"));
  EXPECT_THAT(out, ::testing::HasSubstr("after [7 more since the last report]\n"));
}

}  // namespace
}  // namespace nf2
