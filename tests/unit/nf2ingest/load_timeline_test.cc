// The load-test timeline and its report: per-second counts and latency
// windows stay honest when a long run is downsampled, and the HTML charts
// plot exactly the numbers of the JSON report.
#include "tools/nf2ingest/load_timeline.h"

#include <regex>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tools/nf2ingest/load_report.h"

namespace nf2 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Histogram = pipeline::LogLinearHistogram;

TimelineTotals Delivered(uint64_t n) {
  TimelineTotals t;
  t.delivered = n;
  t.ok = n / 100;
  return t;
}

TEST(LoadTimeline, PointsHoldTheDifferencesBetweenTotals) {
  LoadTimeline t;
  t.AddTotals(0, Delivered(0));
  t.AddTotals(1, Delivered(100));
  t.AddTotals(2.5, Delivered(400));
  ASSERT_EQ(t.points().size(), 2u);
  EXPECT_EQ(t.points()[0].counts.delivered, 100u);
  EXPECT_DOUBLE_EQ(t.points()[1].start_s, 1);
  EXPECT_DOUBLE_EQ(t.points()[1].width_s, 1.5);
  EXPECT_EQ(t.points()[1].counts.delivered, 300u);
}

TEST(LoadTimeline, ALongRunIsDownsampledWithoutLosingACount) {
  LoadTimeline t(/*max_points=*/10, /*max_windows=*/4);
  uint64_t total = 0;
  t.AddTotals(0, Delivered(0));
  for (int s = 1; s <= 7200; ++s) {  // a two-hour soak
    total += static_cast<uint64_t>(s % 7) * 10;
    t.AddTotals(s, Delivered(total));
  }
  ASSERT_LE(t.points().size(), 10u);
  uint64_t sum = 0;
  double covered = 0;
  for (const TimelinePoint& p : t.points()) {
    EXPECT_DOUBLE_EQ(p.start_s, covered);
    sum += p.counts.delivered;
    covered += p.width_s;
  }
  EXPECT_EQ(sum, total);
  EXPECT_DOUBLE_EQ(covered, 7200);
}

TEST(LoadTimeline, MergedWindowsKeepExactPercentilesAndMax) {
  Histogram h;
  LoadTimeline t(1800, /*max_windows=*/2);
  const Histogram::Snapshot start = h.TakeSnapshot();
  Histogram::Snapshot before = start;
  for (int w = 0; w < 3; ++w) {
    for (uint64_t v = 1; v <= 1000; ++v) h.Record(v * 1000 * static_cast<uint64_t>(w + 1));
    if (w == 1) h.Record(987654321);  // one outlier in the second window
    Histogram::Snapshot after = h.TakeSnapshot();
    t.AddLatencyWindow(w * 5.0, (w + 1) * 5.0, -1, before, after, h.max());
    if (w == 1) {
      // What the first two windows hold together, straight from the histogram.
      uint64_t n = 0;
      const pipeline::Percentiles want = h.SummarySince(start, &n);
      ASSERT_EQ(t.windows().size(), 2u);
      t.AddLatencyWindow(10, 15, -1, after, after, h.max());  // forces a merge of the first two
      ASSERT_EQ(t.windows().size(), 2u);
      EXPECT_EQ(t.windows()[0].count(), n);
      EXPECT_EQ(t.windows()[0].Summary().p99, want.p99);
      EXPECT_EQ(t.windows()[0].Summary().p50, want.p50);
      EXPECT_EQ(t.windows()[0].Summary().max, want.max);
      EXPECT_DOUBLE_EQ(t.windows()[0].end_s, 10);
      return;
    }
    before = std::move(after);
  }
}

TEST(ScheduledLines, FollowsTheRampSchedule) {
  EXPECT_EQ(ScheduledLines(100, 10, 3, 0), 0u);
  EXPECT_EQ(ScheduledLines(100, 10, 3, 5), 500u);
  EXPECT_EQ(ScheduledLines(100, 10, 3, 15), 2000u);
  EXPECT_EQ(ScheduledLines(100, 10, 3, 40), 6000u);  // the schedule ends after 3 steps
  EXPECT_EQ(ScheduledLines(100, 10, 1, 40), 1000u);
}

// The values a polyline plots (data-values) for `series` in the first chart
// that has it.
std::vector<double> Plotted(const std::string& html, const std::string& series) {
  const std::regex re("data-series=\"" + series + "\" data-values=\"([^\"]*)\"");
  std::smatch m;
  std::vector<double> out;
  if (!std::regex_search(html, m, re)) return out;
  std::string values = m[1];
  size_t pos = 0;
  while (pos < values.size()) {
    size_t comma = values.find(',', pos);
    if (comma == std::string::npos) comma = values.size();
    out.push_back(std::stod(values.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
}

TEST(LoadReportHtml, ChartsPlotTheJsonReportsNumbers) {
  pipeline::MetricsRegistry registry;
  Histogram* latency = registry.GetHistogram("nf2ingest_request_duration_seconds", "latency", {},
                                             1e-6, {0.01, 0.1, 1});
  LoadTimeline timeline;
  TimelineTotals totals;
  timeline.AddTotals(0, totals);
  Histogram::Snapshot before = latency->TakeSnapshot();
  for (int s = 1; s <= 12; ++s) {
    totals.offered += 1000;
    totals.generated += 990;
    totals.delivered += s < 8 ? 990 : 600;
    totals.ok += 5;
    totals.r503 += s < 8 ? 0 : 2;
    totals.retries += s < 8 ? 0 : 2;
    for (int r = 0; r < 7; ++r)
      latency->Record(2000 * static_cast<uint64_t>(s) + 300 * static_cast<uint64_t>(r));
    timeline.AddTotals(s, totals);
    if (s % 5 == 0 || s == 12) {
      Histogram::Snapshot after = latency->TakeSnapshot();
      timeline.AddLatencyWindow(s - (s % 5 == 0 ? 5 : 2), s, -1, before, after, latency->max());
      before = std::move(after);
    }
  }
  LoadReportInput in;
  in.rate = 1000;
  in.duration_s = 12;
  in.wall_s = 12.2;
  in.timeline = &timeline;
  in.settings = {"https://api.example.net", 200, "4", "isal level 1 above 51200 bytes"};
  const std::string html = LoadReportHtml(in, registry);
  rapidjson::Document json;
  json.Parse(LoadReportJson(in, registry).c_str());
  ASSERT_FALSE(json.HasParseError());

  const auto& tl = json["timeline"];
  const auto delivered = Plotted(html, "delivered");
  const auto r503 = Plotted(html, "503");
  ASSERT_EQ(delivered.size(), tl["delivered"].Size());
  ASSERT_EQ(r503.size(), tl["answers"]["503"].Size());
  for (rapidjson::SizeType i = 0; i < tl["delivered"].Size(); ++i) {
    const double width = tl["width_s"][i].GetDouble();
    EXPECT_NEAR(delivered[i], tl["delivered"][i].GetDouble() / width, 1e-3) << i;
    EXPECT_NEAR(r503[i], tl["answers"]["503"][i].GetDouble() / width, 1e-3) << i;
  }
  const auto p99 = Plotted(html, "p99");
  const auto& windows = json["latency_windows"];
  ASSERT_EQ(p99.size(), windows.Size());
  for (rapidjson::SizeType i = 0; i < windows.Size(); ++i) {
    EXPECT_NEAR(p99[i], windows[i]["latency_ms"]["p99"].GetDouble(), 1e-3) << i;
  }
  // Self-contained: nothing is fetched.
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, HasSubstr("https://api.example.net"));
}

}  // namespace
}  // namespace nf2
