// The load-test report as one HTML page people can look at: where latency
// bends upward, where errors start, how throughput tracks the offered rate.
// Everything is inline (CSS, SVG); the charts are drawn from the same
// timeline as the JSON report's "timeline" and "latency_windows".
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/nf2ingest/load_report.h"
#include "tools/nf2ingest/svg_chart.h"

namespace nf2 {
namespace {

constexpr char kStyle[] = R"(<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.verdict{padding:12px 16px;border-radius:6px;margin:14px 0;font-size:15px}
.ok{background:#e7f6ec;border:1px solid #8fd0a4}.bad{background:#fdeceb;border:1px solid #eda29c}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #dde2ea;padding:3px 8px;text-align:right}th{background:#f3f5f9}
td.l,th.l{text-align:left}.muted{color:#5b6475}
svg.chart{width:100%;height:auto;display:block;margin:6px 0 18px}
svg .grid{stroke:#eceff4}svg .axis{stroke:#6b7385}svg .marker{stroke:#9aa3b5;stroke-dasharray:3 3}
svg .series{fill:none;stroke-width:2}svg text{font-size:11px;fill:#3b4354}
svg .title{font-size:13px;font-weight:600}svg .mlabel{fill:#7b8396;font-size:10px}
</style>
)";

std::string Fmt(double v) { return absl::StrFormat("%.6g", v); }

std::vector<double> Starts(const LoadTimeline& t) {
  std::vector<double> x;
  for (const TimelinePoint& p : t.points()) x.push_back(p.start_s);
  return x;
}

// A per-point count as a rate (count / width of the point).
template <typename Fn>
std::vector<double> Rates(const LoadTimeline& t, Fn count) {
  std::vector<double> y;
  for (const TimelinePoint& p : t.points()) {
    y.push_back(p.width_s > 0 ? static_cast<double>(count(p.counts)) / p.width_s : 0);
  }
  return y;
}

std::vector<ChartMarker> StepMarkers(const LoadTimeline& t) {
  std::vector<ChartMarker> markers;
  for (const LatencyWindow& w : t.windows()) {
    if (w.step >= 0) markers.push_back({w.start_s, absl::StrCat("step ", w.step + 1)});
  }
  return markers;
}

Chart ThroughputChart(const LoadTimeline& t) {
  using C = const TimelineTotals&;
  const std::vector<double> x = Starts(t);
  return Chart{"Records per second: offered by the schedule, generated, delivered (2xx)",
               "seconds since start",
               "records/s",
               false,
               {{"offered", "#8a94a6", x, Rates(t, [](C c) { return c.offered; }), true},
                {"generated", "#3b82c4", x, Rates(t, [](C c) { return c.generated; }), false},
                {"delivered", "#1f9d55", x, Rates(t, [](C c) { return c.delivered; }), false}},
               StepMarkers(t)};
}

Chart LatencyChart(const LoadTimeline& t, bool per_step) {
  std::vector<double> x, p50, p90, p99, max;
  for (const LatencyWindow& w : t.windows()) {
    if (w.count() == 0) continue;
    const pipeline::Percentiles p = w.Summary();
    x.push_back(w.end_s);
    p50.push_back(static_cast<double>(p.p50) / 1000.0);
    p90.push_back(static_cast<double>(p.p90) / 1000.0);
    p99.push_back(static_cast<double>(p.p99) / 1000.0);
    max.push_back(static_cast<double>(p.max) / 1000.0);
  }
  return Chart{per_step ? "Request latency per ramp step (ms, log scale)"
                        : "Request latency per 5-second window (ms, log scale)",
               "seconds since start (end of window)",
               "ms",
               true,
               {{"p50", "#1f9d55", x, p50, false},
                {"p90", "#3b82c4", x, p90, false},
                {"p99", "#d97706", x, p99, false},
                {"max", "#c0392b", x, max, true}},
               StepMarkers(t)};
}

Chart AnswersChart(const LoadTimeline& t) {
  using C = const TimelineTotals&;
  const std::vector<double> x = Starts(t);
  return Chart{"Answers per second by status, and retries",
               "seconds since start",
               "requests/s",
               false,
               {{"2xx", "#1f9d55", x, Rates(t, [](C c) { return c.ok; }), false},
                {"429", "#d97706", x, Rates(t, [](C c) { return c.r429; }), false},
                {"503", "#c0392b", x, Rates(t, [](C c) { return c.r503; }), false},
                {"other", "#7c3aed", x, Rates(t, [](C c) { return c.other; }), false},
                {"no answer", "#111827", x, Rates(t, [](C c) { return c.none; }), false},
                {"retries", "#8a94a6", x, Rates(t, [](C c) { return c.retries; }), true}},
               StepMarkers(t)};
}

std::string Verdict(const LoadReportInput& in, const LoadFigures& f) {
  const double errors = f.requests == 0 ? 0
                                        : 100.0 * static_cast<double>(f.requests - f.ok_requests) /
                                              static_cast<double>(f.requests);
  const std::string overall = absl::StrFormat(
      "Offered %s records/s, delivered %s records/s; %s of %d requests not 2xx; p99 latency "
      "%s ms.",
      Fmt(f.offered_rps), Fmt(f.achieved_rps), absl::StrFormat("%.2f%%", errors), f.requests,
      Ms(f.latency_us.p99));
  if (!in.ramp) {
    const bool ok = f.requests > 0 && f.requests == f.ok_requests;
    return absl::StrCat("<div class=\"verdict ", ok ? "ok" : "bad", "\">", HtmlEscape(overall),
                        "</div>\n");
  }
  const std::string stop = in.ramp->stop_reason();
  const std::string held = absl::StrCat("Highest rate that held: <b>",
                                        Fmt(in.ramp->highest_ok_rate()), " records/s</b>. ");
  return absl::StrCat("<div class=\"verdict ", stop.empty() ? "ok" : "bad", "\">", held,
                      stop.empty() ? "Every step held." : "Stopped: " + HtmlEscape(stop) + ".",
                      "<br><span class=\"muted\">", HtmlEscape(overall), "</span></div>\n");
}

std::string Row(const std::vector<std::string>& cells, bool first_left = true) {
  std::string out = "<tr>";
  for (size_t i = 0; i < cells.size(); ++i) {
    absl::StrAppend(&out, i == 0 && first_left ? "<td class=\"l\">" : "<td>", cells[i], "</td>");
  }
  return out + "</tr>\n";
}

std::string SettingsTable(const LoadReportInput& in) {
  const ReportSettings& s = in.settings;
  std::string out = "<table>\n";
  absl::StrAppend(&out, Row({"API", HtmlEscape(s.api)}),
                  Row({"rate (first step)", Fmt(in.rate) + " records/s"}),
                  Row({"duration", Fmt(in.duration_s) + " s" + (in.ramp ? " per step" : "")}),
                  Row({"batch size", absl::StrCat(s.batch_size)}),
                  Row({"max in flight", HtmlEscape(s.max_in_flight)}),
                  Row({"gzip", HtmlEscape(s.gzip)}));
  return out + "</table>\n";
}

std::string LatencyTable(const LoadTimeline& t) {
  std::string out =
      "<table id=\"latency\"><tr><th class=\"l\">window (s)</th><th>step</th><th>requests</th>"
      "<th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>\n";
  for (const LatencyWindow& w : t.windows()) {
    const pipeline::Percentiles p = w.Summary();
    absl::StrAppend(&out, Row({absl::StrFormat("%.3f – %.3f", w.start_s, w.end_s),
                               w.step < 0 ? "" : absl::StrCat(w.step + 1), absl::StrCat(w.count()),
                               Ms(p.p50), Ms(p.p90), Ms(p.p99), Ms(p.max)}));
  }
  return out + "</table>\n";
}

std::string RampTable(const RampJudge& ramp) {
  std::string out =
      "<table id=\"ramp\"><tr><th>step</th><th>rate/s</th><th>offered</th><th>handed on</th>"
      "<th>requests</th><th>not 2xx</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th>"
      "<th class=\"l\">verdict</th></tr>\n";
  for (const RampStepResult& r : ramp.results()) {
    absl::StrAppend(
        &out, Row({absl::StrCat(r.step.index + 1), Fmt(r.step.rate), absl::StrCat(r.step.offered),
                   absl::StrCat(r.step.lines), absl::StrCat(r.requests), absl::StrCat(r.errors),
                   Ms(r.latency_us.p50), Ms(r.latency_us.p99), Ms(r.latency_us.max),
                   r.ok ? "held" : "<b>failed</b>: " + HtmlEscape(r.why)},
                  false));
  }
  return out + "</table>\n";
}

std::string TimelineTable(const LoadTimeline& t) {
  std::string out =
      "<details><summary>Every point of the timeline</summary>\n<table id=\"timeline\"><tr>"
      "<th>start s</th><th>width s</th><th>offered</th><th>generated</th><th>delivered</th>"
      "<th>2xx</th><th>429</th><th>503</th><th>other</th><th>no answer</th><th>retries</th></tr>\n";
  for (const TimelinePoint& p : t.points()) {
    const TimelineTotals& c = p.counts;
    absl::StrAppend(
        &out, Row({absl::StrFormat("%.3f", p.start_s), absl::StrFormat("%.3f", p.width_s),
                   absl::StrCat(c.offered), absl::StrCat(c.generated), absl::StrCat(c.delivered),
                   absl::StrCat(c.ok), absl::StrCat(c.r429), absl::StrCat(c.r503),
                   absl::StrCat(c.other), absl::StrCat(c.none), absl::StrCat(c.retries)},
                  false));
  }
  return out + "</table></details>\n";
}

std::string Charts(const LoadReportInput& in) {
  if (!in.timeline) return "<p>No timeline was recorded.</p>\n";
  const LoadTimeline& t = *in.timeline;
  return absl::StrCat("<h2>Throughput</h2>\n", RenderSvgChart(ThroughputChart(t)),
                      "<h2>Latency</h2>\n", RenderSvgChart(LatencyChart(t, in.ramp != nullptr)),
                      "<h2>Answers</h2>\n", RenderSvgChart(AnswersChart(t)));
}

}  // namespace

std::string LoadReportHtml(const LoadReportInput& in, const pipeline::MetricsRegistry& registry) {
  const LoadFigures f = ComputeLoadFigures(in, registry);
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>nf2ingest load test</title>\n",
      kStyle, "</head><body>\n<h1>nf2ingest load test</h1>\n<div class=\"muted\">",
      HtmlEscape(in.settings.api), " · ", absl::StrFormat("%.1f", in.wall_s), " s</div>\n",
      Verdict(in, f), "<h2>Settings</h2>\n", SettingsTable(in), Charts(in));
  if (in.ramp) absl::StrAppend(&html, "<h2>Ramp steps</h2>\n", RampTable(*in.ramp));
  if (in.timeline) {
    absl::StrAppend(&html, "<h2>Latency windows</h2>\n", LatencyTable(*in.timeline),
                    "<h2>Timeline</h2>\n", TimelineTable(*in.timeline));
  }
  return html + "</body></html>\n";
}

}  // namespace nf2
