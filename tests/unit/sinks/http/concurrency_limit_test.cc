// The adaptive in-flight limit: how fast it ramps up, how it backs off on
// 503 and on growing round trips, that it stays in its bounds, and that it
// settles near a simulated API's capacity without many refusals.
#include "stages/sinks/http/concurrency_limit.h"

#include <chrono>

#include "gtest/gtest.h"

namespace nf2 {
namespace {

using std::chrono::milliseconds;

// One round trip against an API that serves `capacity` at once and refuses
// the rest at once; returns how many were refused.
int Round(ConcurrencyLimit* c, int capacity, milliseconds rtt = milliseconds(50)) {
  const int sent = c->limit();
  int refused = 0;
  for (int i = 0; i < sent; ++i) {
    if (i < capacity) {
      c->OnSuccess(rtt, sent);
    } else {
      c->OnBackpressure();
      ++refused;
    }
  }
  return refused;
}

TEST(ConcurrencyLimitTest, RampsUpExponentiallyWhileUnpressured) {
  ConcurrencyLimit c;
  EXPECT_EQ(c.limit(), 1);
  for (int i = 0; i < 5; ++i) Round(&c, 1000);
  EXPECT_EQ(c.limit(), 32);  // doubled each round trip
  EXPECT_TRUE(c.in_slow_start());
}

TEST(ConcurrencyLimitTest, BacksOffMultiplicativelyOn503) {
  ConcurrencyLimit c({.initial = 40, .max = 64});
  c.OnBackpressure();
  EXPECT_EQ(c.limit(), 32);
  EXPECT_FALSE(c.in_slow_start());
}

TEST(ConcurrencyLimitTest, OneCutPerRoundOfAnswers) {
  ConcurrencyLimit c({.initial = 20, .max = 64});
  // Twenty 503s for the twenty requests out: one cut, not twenty.
  for (int i = 0; i < 20; ++i) c.OnBackpressure();
  EXPECT_EQ(c.limit(), 16);
  c.OnBackpressure();  // sent under the new limit: counts again
  EXPECT_EQ(c.limit(), 12);
}

TEST(ConcurrencyLimitTest, BacksOffWhenRoundTripsInflate) {
  ConcurrencyLimit c({.initial = 8, .max = 64});
  for (int i = 0; i < 20; ++i) c.OnSuccess(milliseconds(50), 8);
  const int before = c.limit();
  for (int i = 0; i < before; ++i) c.OnSuccess(milliseconds(400), before);
  EXPECT_LT(c.limit(), before);
}

TEST(ConcurrencyLimitTest, FlatRoundTripsKeepGrowingAdditively) {
  ConcurrencyLimit c({.initial = 8, .max = 64});
  c.OnBackpressure();  // out of slow start at 6, pressure seen at 8
  for (int i = 0; i < 7; ++i) c.OnSuccess(milliseconds(50), 8);  // from before the cut
  EXPECT_EQ(c.limit(), 6);
  Round(&c, 100);
  EXPECT_EQ(c.limit(), 7);  // +1 per round trip back to the last level that worked
  for (int i = 0; i < 15; ++i) Round(&c, 100);
  EXPECT_EQ(c.limit(), 7);  // past it only every 16th round trip
  Round(&c, 100);
  EXPECT_EQ(c.limit(), 8);
}

TEST(ConcurrencyLimitTest, StaysWithinBounds) {
  ConcurrencyLimit c({.initial = 1, .min = 2, .max = 10});
  EXPECT_EQ(c.limit(), 2);
  for (int i = 0; i < 100; ++i) Round(&c, 1000);
  EXPECT_EQ(c.limit(), 10);
  for (int i = 0; i < 100; ++i) c.OnBackpressure();
  EXPECT_EQ(c.limit(), 2);
}

TEST(ConcurrencyLimitTest, DoesNotGrowWhenTheSenderHasLittleWork) {
  ConcurrencyLimit c({.initial = 16, .max = 64});
  for (int i = 0; i < 200; ++i) c.OnSuccess(milliseconds(50), 2);
  EXPECT_EQ(c.limit(), 16);
}

TEST(ConcurrencyLimitTest, SettlesAtCapacityWithFewRefusals) {
  ConcurrencyLimit c;
  int sent = 0, refused = 0, at_capacity = 0;
  for (int round = 0; round < 400; ++round) {
    sent += c.limit();
    refused += Round(&c, 8);
    if (round >= 50 && c.limit() >= 7) ++at_capacity;
  }
  EXPECT_LE(refused * 20, sent);         // at most 5% refused
  EXPECT_GE(at_capacity, 350 * 9 / 10);  // near capacity most of the time
}

TEST(ConcurrencyLimitTest, FollowsCapacityDownAndUp) {
  ConcurrencyLimit c;
  for (int round = 0; round < 100; ++round) Round(&c, 8);
  for (int round = 0; round < 20; ++round) Round(&c, 4);
  EXPECT_LE(c.limit(), 5);
  EXPECT_GE(c.limit(), 3);
  for (int round = 0; round < 150; ++round) Round(&c, 16);
  int sum = 0;
  for (int round = 0; round < 50; ++round) {
    Round(&c, 16);
    sum += c.limit();
  }
  EXPECT_GE(sum, 50 * 14);
}

}  // namespace
}  // namespace nf2
