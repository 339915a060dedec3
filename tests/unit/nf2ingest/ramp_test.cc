// --ramp's judge: what makes a step fail, and that each step is judged on
// its own window of the metrics.
#include "tools/nf2ingest/ramp.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/metrics.h"

namespace nf2 {
namespace {

using ::testing::HasSubstr;

RampStepResult Step(uint64_t requests, uint64_t errors, uint64_t p99_us, uint64_t offered,
                    uint64_t lines) {
  RampStepResult r;
  r.step.index = 0;
  r.step.rate = 1000;
  r.step.offered = offered;
  r.step.lines = lines;
  r.requests = requests;
  r.errors = errors;
  r.latency_us.p99 = p99_us;
  return r;
}

TEST(RampJudgeTest, EachLimitFailsAStepOnItsOwn) {
  RampOptions o;
  o.max_p99_ms = 100;
  o.max_error_ratio = 0.01;
  o.max_behind_ratio = 0.1;

  RampStepResult r = Step(200, 2, 99000, 1000, 1000);  // 1% errors, p99 99 ms: holds
  RampJudge::Judge(o, &r);
  EXPECT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.why, "");

  r = Step(200, 3, 99000, 1000, 1000);  // 1.5% errors
  RampJudge::Judge(o, &r);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.why, HasSubstr("3 of 200 requests not 2xx"));

  r = Step(200, 0, 101000, 1000, 1000);  // p99 101 ms
  RampJudge::Judge(o, &r);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.why, HasSubstr("p99 latency 101.0 ms"));

  r = Step(200, 0, 1000, 1000, 899);  // more than 10% of the lines held back
  RampJudge::Judge(o, &r);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.why, HasSubstr("899 of 1000 lines"));

  r = Step(200, 0, 1000, 1000, 900);  // exactly 10%: still holds
  RampJudge::Judge(o, &r);
  EXPECT_TRUE(r.ok) << r.why;

  r = Step(0, 0, 0, 1000, 1000);  // nothing to judge by
  RampJudge::Judge(o, &r);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.why, HasSubstr("no request"));
}

class RegistryFixture : public ::testing::Test {
 protected:
  void Requests(const std::string& code, int n, uint64_t latency_us) {
    registry_.GetCounter("nf2ingest_requests_total", "h", {{"code", code}})->Add(n);
    auto* h = registry_.GetHistogram("nf2ingest_request_duration_seconds", "h", {}, 1e-6, {1});
    for (int i = 0; i < n; ++i) h->Record(latency_us);
  }
  static GeneratorStep At(int index, double rate) {
    GeneratorStep s;
    s.index = index;
    s.rate = rate;
    s.offered = s.lines = 1000;
    return s;
  }
  pipeline::MetricsRegistry registry_;
};

TEST_F(RegistryFixture, EveryStepIsJudgedOnWhatHappenedDuringIt) {
  // Before the ramp: slow and failed requests that must not count.
  Requests("503", 50, 5000000);
  RampOptions o;
  o.steps = 3;
  o.max_p99_ms = 100;
  RampJudge judge(o, &registry_);

  Requests("202", 100, 5000);
  EXPECT_TRUE(judge.OnStepEnd(At(0, 1000)));
  Requests("202", 100, 8000);
  Requests("none", 1, 9000);  // no answer: 1 of 101, within 1%
  EXPECT_TRUE(judge.OnStepEnd(At(1, 2000)));
  Requests("202", 90, 5000);
  Requests("429", 10, 5000);
  EXPECT_FALSE(judge.OnStepEnd(At(2, 3000)));

  const auto results = judge.results();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].requests, 100u);
  EXPECT_EQ(results[0].errors, 0u);
  EXPECT_GE(results[0].latency_us.p99, 5000u);
  EXPECT_LE(results[0].latency_us.max, 5050u);  // the 5 s answers before the ramp are not in it
  EXPECT_EQ(results[1].requests, 101u);
  EXPECT_EQ(results[1].errors, 1u);
  EXPECT_EQ(results[2].errors, 10u);
  EXPECT_DOUBLE_EQ(judge.highest_ok_rate(), 2000);
  EXPECT_THAT(judge.stop_reason(), HasSubstr("step 3 at 3000/s"));
  EXPECT_THAT(RampStepLine(results[2], 3), HasSubstr("[RAMP] step 3/3 rate=3000/s"));
  EXPECT_THAT(RampStepLine(results[2], 3), HasSubstr("FAILED: 10 of 100 requests not 2xx"));
}

TEST_F(RegistryFixture, AFirstStepThatFailsLeavesNoRateThatHeld) {
  RampOptions o;
  o.steps = 2;
  o.max_p99_ms = 10;
  RampJudge judge(o, &registry_);
  Requests("202", 20, 50000);
  EXPECT_FALSE(judge.OnStepEnd(At(0, 500)));
  EXPECT_DOUBLE_EQ(judge.highest_ok_rate(), 0);
  EXPECT_THAT(judge.stop_reason(), HasSubstr("p99 latency"));
}

}  // namespace
}  // namespace nf2
