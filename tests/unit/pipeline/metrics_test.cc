// The metrics registry and its log-linear histogram: percentiles honest to
// within one bucket (1%), nothing dropped, Prometheus text well formed.
#include "pipeline/metrics.h"

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nf2::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(LogLinearHistogramTest, SmallValuesAreExact) {
  LogLinearHistogram h;
  for (uint64_t v = 0; v < 100; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.Percentile(0.5), 49u);
  EXPECT_EQ(h.Percentile(0.9), 89u);
  EXPECT_EQ(h.Percentile(1.0), 99u);
  EXPECT_EQ(h.max(), 99u);
  EXPECT_EQ(h.sum(), 4950u);
}

TEST(LogLinearHistogramTest, PercentilesWithinOnePercentAndNeverBelow) {
  LogLinearHistogram h;
  for (uint64_t v = 1; v <= 1000000; ++v) h.Record(v);  // 1 µs .. 1 s
  EXPECT_EQ(h.count(), 1000000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double truth = q * 1e6;
    const auto got = static_cast<double>(h.Percentile(q));
    EXPECT_GE(got, truth) << q;
    EXPECT_LE(got, truth * 1.01) << q;
  }
  EXPECT_EQ(h.max(), 1000000u);
  EXPECT_EQ(h.Percentile(1.0), 1000000u);
}

TEST(LogLinearHistogramTest, SkewedDistributionKeepsItsTail) {
  LogLinearHistogram h;
  // 990 fast answers and 10 slow ones: p99 must see the fast, p999 the slow.
  for (int i = 0; i < 990; ++i) h.Record(20000);
  for (int i = 0; i < 10; ++i) h.Record(5000000);
  EXPECT_LE(h.Percentile(0.99), 20000 * 101 / 100);
  EXPECT_GE(h.Percentile(0.99), 20000u);
  EXPECT_GE(h.Percentile(0.999), 5000000u);
  EXPECT_EQ(h.Summary().max, 5000000u);
}

TEST(LogLinearHistogramTest, BucketsAreContiguousAndOrdered) {
  for (size_t i = 1; i < LogLinearHistogram::kBuckets; ++i) {
    const uint64_t lo = LogLinearHistogram::BucketHighest(i - 1) + 1;
    ASSERT_EQ(LogLinearHistogram::BucketOf(lo), i);
    ASSERT_EQ(LogLinearHistogram::BucketOf(LogLinearHistogram::BucketHighest(i)), i);
  }
  // Width within 1% of the value above the exact range.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const uint64_t v = rng() % LogLinearHistogram::kMaxValue;
    const uint64_t hi = LogLinearHistogram::BucketHighest(LogLinearHistogram::BucketOf(v));
    ASSERT_GE(hi, v);
    ASSERT_LE(static_cast<double>(hi - v), static_cast<double>(v) / 128.0 + 1);
  }
}

TEST(LogLinearHistogramTest, HugeValuesAreCountedNotDropped) {
  LogLinearHistogram h;
  h.Record(UINT64_MAX / 2);
  h.Record(1);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.max(), UINT64_MAX / 2);
}

TEST(LogLinearHistogramTest, SummarySinceSeesOnlyTheWindow) {
  LogLinearHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);  // before the window
  const LogLinearHistogram::Snapshot start = h.TakeSnapshot();
  for (int i = 0; i < 1000; ++i) h.Record(5000);  // the window
  uint64_t n = 0;
  const Percentiles p = h.SummarySince(start, &n);
  EXPECT_EQ(n, 1000u);
  // Every value in the window is 5000: each percentile is its bucket's top,
  // at most 1% above, never below (the earlier 1..100 do not pull it down).
  for (uint64_t v : {p.p50, p.p90, p.p99, p.p999, p.max}) {
    EXPECT_GE(v, 5000u);
    EXPECT_LE(v, 5050u);
  }
  // An empty window.
  const Percentiles none = h.SummarySince(h.TakeSnapshot(), &n);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(none.p99, 0u);
  EXPECT_EQ(none.max, 0u);
  // The window's max is its own, not the histogram's.
  h.Record(1000000);
  const LogLinearHistogram::Snapshot later = h.TakeSnapshot();
  h.Record(7);
  EXPECT_EQ(h.SummarySince(later).max, 7u);
}

TEST(MetricsRegistryTest, RendersPrometheusText) {
  MetricsRegistry r;
  r.GetCounter("t_requests_total", "Requests.", {{"code", "202"}})->Add(3);
  r.GetCounter("t_requests_total", "Requests.", {{"code", "503"}})->Add();
  r.GetGauge("t_in_flight", "In flight.")->Set(2);
  auto* h = r.GetHistogram("t_duration_seconds", "Duration.", {}, 1e-6, {0.01, 0.1, 1});
  h->Record(5000);     // 5 ms
  h->Record(50000);    // 50 ms
  h->Record(2000000);  // 2 s
  const std::string text = r.RenderPrometheus();
  EXPECT_THAT(text,
              HasSubstr("# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("t_requests_total{code=\"202\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("t_requests_total{code=\"503\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE t_in_flight gauge\nt_in_flight 2\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE t_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("t_duration_seconds_bucket{le=\"0.01\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("t_duration_seconds_bucket{le=\"0.1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("t_duration_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("t_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("t_duration_seconds_count 3\n"));
  EXPECT_THAT(text, HasSubstr("t_duration_seconds_sum 2.055\n"));
  EXPECT_EQ(r.Value("t_requests_total", {{"code", "202"}}), 3);
  EXPECT_EQ(r.Values("t_requests_total").size(), 2u);
}

TEST(MetricsRegistryTest, CallbacksGoAwayWithTheirHandle) {
  MetricsRegistry r;
  int depth = 4;
  {
    auto handle = r.AddCallback("t_queue_depth", "Depth.", "gauge", {{"queue", "lines"}},
                                [&depth] { return static_cast<double>(depth); });
    EXPECT_THAT(r.RenderPrometheus(), HasSubstr("t_queue_depth{queue=\"lines\"} 4\n"));
    depth = 5;
    EXPECT_EQ(r.Value("t_queue_depth", {{"queue", "lines"}}), 5);
  }
  EXPECT_THAT(r.RenderPrometheus(), Not(HasSubstr("t_queue_depth")));
}

TEST(MetricsRegistryTest, LabelValuesAreEscaped) {
  MetricsRegistry r;
  r.GetCounter("t_total", "T.", {{"why", "a\"b\\c"}})->Add();
  EXPECT_THAT(r.RenderPrometheus(), HasSubstr("t_total{why=\"a\\\"b\\\\c\"} 1\n"));
}

}  // namespace
}  // namespace nf2::pipeline
