// What the sender does with each answer of the telemetry API (docs/contract.md
// §3), Retry-After parsing, and the backoff schedule.
#include "stages/sinks/http/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace nf2 {
namespace {

const char* Name(Disposition d) {
  switch (d) {
    case Disposition::kDelivered:
      return "delivered";
    case Disposition::kSplit:
      return "split";
    case Disposition::kRetry:
      return "retry";
    case Disposition::kAuthRetry:
      return "auth-retry";
    case Disposition::kReject:
      return "reject";
  }
  return "?";
}

void ExpectDisposition(int64_t status, Disposition want) {
  EXPECT_STREQ(Name(ClassifyAnswer(status)), Name(want)) << "HTTP " << status;
}

TEST(ClassifyAnswerTest, SuccessIsDelivered) {
  // "any 2xx is success"
  for (int64_t s : {200L, 201L, 202L, 204L, 299L}) ExpectDisposition(s, Disposition::kDelivered);
}

TEST(ClassifyAnswerTest, TooLargeIsSplit) { ExpectDisposition(413, Disposition::kSplit); }

TEST(ClassifyAnswerTest, KeyRefusedIsAuthRetry) {
  ExpectDisposition(401, Disposition::kAuthRetry);
  ExpectDisposition(403, Disposition::kAuthRetry);
}

TEST(ClassifyAnswerTest, TransientTroubleIsRetried) {
  // 429 rate limit, 503 backpressure, 500/502/504 server trouble, 408
  // timeout, and 0 = no answer at all (timeout, refused, reset).
  for (int64_t s : {0L, 408L, 429L, 500L, 502L, 503L, 504L})
    ExpectDisposition(s, Disposition::kRetry);
}

TEST(ClassifyAnswerTest, PayloadProblemsAreRejected) {
  // 400 invalid_json / bad_batch_shape / decompress_failed: never retried.
  // 501 means the server will never do it: retrying cannot help.
  for (int64_t s : {400L, 404L, 405L, 409L, 415L, 422L, 501L}) {
    ExpectDisposition(s, Disposition::kReject);
  }
}

TEST(ClassifyAnswerTest, NonFinalOrRedirectIsNotDelivered) {
  // Only 2xx counts as delivered: a redirect or informational status must
  // never make data count as sent.
  for (int64_t s : {100L, 199L, 301L, 302L, 304L, 307L, 308L}) {
    EXPECT_NE(ClassifyAnswer(s), Disposition::kDelivered) << "HTTP " << s;
  }
}

absl::Time At(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TEST(ParseRetryAfterTest, DeltaSeconds) {
  const absl::Time now = At(2025, 8, 22, 0, 0, 0);
  EXPECT_EQ(ParseRetryAfter("5", now), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter(" 7 ", now), absl::Seconds(7));
  EXPECT_EQ(ParseRetryAfter("0", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
}

TEST(ParseRetryAfterTest, HttpDateInTheFuture) {
  // RFC 9110 IMF-fixdate; 60 s after `now`.
  const absl::Time now = At(2015, 10, 21, 7, 27, 0);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), absl::Seconds(60));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:27:01 GMT", now), absl::Seconds(1));
  // Across a day boundary.
  EXPECT_EQ(ParseRetryAfter("Thu, 22 Aug 2025 00:00:30 GMT", At(2025, 8, 21, 23, 59, 30)),
            absl::Seconds(60));
}

TEST(ParseRetryAfterTest, HttpDateInThePastIsZero) {
  // "Returns the wait from `now`, never negative."
  const absl::Time now = At(2015, 10, 21, 7, 29, 0);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:29:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", now), absl::ZeroDuration());
}

TEST(ParseRetryAfterTest, GarbageIsNullopt) {
  const absl::Time now = At(2025, 8, 22, 0, 0, 0);
  for (const char* v :
       {"", "   ", "soon", "-5", "5s", "1.5", "0x10", "five", "Wed, 21 Oct 2015 07:28:00",
        "21 Oct 2015 07:28:00 GMT", "Wed, 32 Oct 2015 07:28:00 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT", "Wed, 21 Oct 2015 25:28:00 GMT", "5 5"}) {
    EXPECT_EQ(ParseRetryAfter(v, now), std::nullopt) << "'" << v << "'";
  }
}

TEST(ParseRetryAfterTest, NeverNegative) {
  const absl::Time now = At(2025, 8, 22, 12, 0, 0);
  for (const char* v : {"0", "1", "86400", "99999999999", "Fri, 22 Aug 2025 11:00:00 GMT",
                        "Fri, 22 Aug 2025 13:00:00 GMT", "Sat, 01 Jan 2050 00:00:00 GMT"}) {
    auto d = ParseRetryAfter(v, now);
    ASSERT_TRUE(d.has_value()) << v;
    EXPECT_GE(*d, absl::ZeroDuration()) << v;
  }
}

TEST(RetryPolicyTest, BackoffWithinFullJitterBounds) {
  const absl::Duration initial = absl::Milliseconds(500);
  const absl::Duration max = absl::Seconds(30);
  RetryPolicy policy(initial, max, /*seed=*/42);
  EXPECT_EQ(policy.max(), max);
  constexpr int kDraws = 2000;
  for (int n = 1; n <= 20; ++n) {
    // min(max, initial * 2^(n-1)), computed without overflow.
    const absl::Duration cap = std::min(max, initial * std::pow(2.0, n - 1));
    std::set<int64_t> distinct;
    absl::Duration largest = absl::ZeroDuration();
    for (int i = 0; i < kDraws; ++i) {
      const absl::Duration d = policy.Backoff(n);
      ASSERT_GE(d, absl::ZeroDuration()) << "retry " << n;
      ASSERT_LE(d, cap) << "retry " << n;
      distinct.insert(absl::ToInt64Nanoseconds(d));
      largest = std::max(largest, d);
    }
    // Jitter: not a constant. Full jitter: spread over the whole range, so
    // across 2000 uniform draws the largest is near the cap.
    EXPECT_GT(distinct.size(), 100u) << "retry " << n;
    EXPECT_GT(largest, cap * 0.9) << "retry " << n;
  }
}

TEST(RetryPolicyTest, CapGrowsThenSaturates) {
  // The largest of many draws tracks the cap: doubling, then flat at max.
  RetryPolicy policy(absl::Seconds(1), absl::Seconds(10), 7);
  auto largest = [&](int n) {
    absl::Duration m = absl::ZeroDuration();
    for (int i = 0; i < 2000; ++i) m = std::max(m, policy.Backoff(n));
    return m;
  };
  EXPECT_LE(largest(1), absl::Seconds(1));
  EXPECT_GT(largest(3), absl::Seconds(2));  // cap 4 s
  EXPECT_LE(largest(3), absl::Seconds(4));
  EXPECT_GT(largest(5), absl::Seconds(9));  // cap min(16, 10) = 10 s
  EXPECT_LE(largest(5), absl::Seconds(10));
  EXPECT_LE(largest(60), absl::Seconds(10));
  EXPECT_LE(largest(1000), absl::Seconds(10));
}

TEST(RetryPolicyTest, SameSeedSameSequence) {
  RetryPolicy a(absl::Milliseconds(100), absl::Seconds(5), 99);
  RetryPolicy b(absl::Milliseconds(100), absl::Seconds(5), 99);
  for (int n = 1; n <= 10; ++n) EXPECT_EQ(a.Backoff(n), b.Backoff(n));
}

}  // namespace
}  // namespace nf2
