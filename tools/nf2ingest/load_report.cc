#include "tools/nf2ingest/load_report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/json_escape.h"

namespace nf2 {
namespace {

std::string Pcts(const pipeline::Percentiles& p) {
  return absl::StrCat("{\"p50\": ", Ms(p.p50), ", \"p90\": ", Ms(p.p90), ", \"p99\": ", Ms(p.p99),
                      ", \"p999\": ", Ms(p.p999), ", \"max\": ", Ms(p.max), "}");
}

// One JSON array of a per-point figure.
template <typename Fn>
std::string Column(const std::vector<TimelinePoint>& points, Fn value) {
  std::string out = "[";
  for (size_t i = 0; i < points.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", value(points[i]));
  }
  return out + "]";
}

std::string Seconds(double s) { return absl::StrFormat("%.6f", s); }

// The per-second series the HTML charts are drawn from: each point covers
// [start_s, start_s + width_s) and holds counts, so rate = count / width_s.
std::string TimelineJson(const LoadTimeline& t) {
  const auto& p = t.points();
  using P = const TimelinePoint&;
  std::string s = absl::StrCat(
      "  \"timeline\": {\n    \"start_s\": ", Column(p, [](P x) { return Seconds(x.start_s); }),
      ",\n    \"width_s\": ", Column(p, [](P x) { return Seconds(x.width_s); }),
      ",\n    \"offered\": ", Column(p, [](P x) { return x.counts.offered; }),
      ",\n    \"generated\": ", Column(p, [](P x) { return x.counts.generated; }),
      ",\n    \"delivered\": ", Column(p, [](P x) { return x.counts.delivered; }));
  absl::StrAppend(&s, ",\n    \"answers\": {\"2xx\": ", Column(p, [](P x) { return x.counts.ok; }),
                  ", \"429\": ", Column(p, [](P x) { return x.counts.r429; }),
                  ", \"503\": ", Column(p, [](P x) { return x.counts.r503; }),
                  ", \"other\": ", Column(p, [](P x) { return x.counts.other; }),
                  ", \"none\": ", Column(p, [](P x) { return x.counts.none; }), "}",
                  ",\n    \"retries\": ", Column(p, [](P x) { return x.counts.retries; }),
                  "\n  },\n  \"latency_windows\": [");
  for (size_t i = 0; i < t.windows().size(); ++i) {
    const LatencyWindow& w = t.windows()[i];
    absl::StrAppend(&s, i == 0 ? "" : ",", "\n    {\"start_s\": ", Seconds(w.start_s),
                    ", \"end_s\": ", Seconds(w.end_s),
                    ", \"step\": ", w.step < 0 ? "null" : absl::StrCat(w.step + 1),
                    ", \"requests\": ", w.count(), ", \"latency_ms\": ", Pcts(w.Summary()), "}");
  }
  return s + "\n  ]";
}

std::string SettingsJson(const ReportSettings& r) {
  return absl::StrCat("  \"settings\": {\"api\": \"", JsonEscape(r.api),
                      "\", \"batch_size\": ", r.batch_size, ", \"max_in_flight\": \"",
                      JsonEscape(r.max_in_flight), "\", \"gzip\": \"", JsonEscape(r.gzip), "\"}");
}

}  // namespace

std::string Ms(uint64_t us) { return absl::StrFormat("%.3f", static_cast<double>(us) / 1000.0); }

LoadFigures ComputeLoadFigures(const LoadReportInput& in, const pipeline::MetricsRegistry& r) {
  LoadFigures f;
  const double gen_s = std::max(1e-9, absl::ToDoubleSeconds(in.generator.elapsed));
  const double wall_s = std::max(1e-9, in.wall_s);
  f.offered_rps = static_cast<double>(in.generator.offered) / gen_s;
  f.achieved_rps = static_cast<double>(in.outcomes.delivered) / wall_s;
  for (const auto& [labels, v] : r.Values("nf2ingest_requests_total")) {
    const std::string code = labels.empty() ? "" : labels[0].second;
    const auto n = static_cast<uint64_t>(v);
    f.requests += n;
    if (code.size() == 3 && code[0] == '2') f.ok_requests += n;
    absl::StrAppend(&f.by_status_json, f.by_status_json.empty() ? "" : ", ", "\"", code, "\": ", n);
    absl::StrAppend(&f.by_status_text, f.by_status_text.empty() ? "" : ",", code, ":", n);
  }
  for (const auto& [labels, v] : r.Values("nf2ingest_retries_total")) {
    f.retries += static_cast<uint64_t>(v);
  }
  f.splits = static_cast<uint64_t>(r.Value("nf2ingest_batch_splits_total"));
  if (const auto* h = r.FindHistogram("nf2ingest_batch_bytes", {{"kind", "raw"}})) {
    f.raw_bytes = h->sum();
    f.batches = h->count();
  }
  if (const auto* h = r.FindHistogram("nf2ingest_batch_bytes", {{"kind", "wire"}})) {
    f.wire_bytes = h->sum();
  }
  // Batches the schedule produced, per second of schedule; answers per
  // second of the whole run (drain included).
  f.offered_reqps = static_cast<double>(f.batches) / gen_s;
  f.achieved_reqps = static_cast<double>(f.ok_requests) / wall_s;
  if (const auto* h = r.FindHistogram("nf2ingest_request_duration_seconds", {})) {
    f.latency_us = h->Summary();
  }
  if (const auto* h = r.FindHistogram("nf2ingest_generator_lag_seconds", {})) {
    f.lag_us = h->Summary();
  }
  return f;
}

std::string LoadReportJson(const LoadReportInput& in, const pipeline::MetricsRegistry& registry) {
  const LoadFigures f = ComputeLoadFigures(in, registry);
  const auto& o = in.outcomes;
  std::string s = "{\n";
  absl::StrAppendFormat(&s, "  \"rate\": %.3f,\n  \"duration_s\": %.3f,\n  \"wall_s\": %.3f,\n",
                        in.rate, in.duration_s, in.wall_s);
  absl::StrAppendFormat(&s, "  \"records_per_s\": {\"offered\": %.1f, \"achieved\": %.1f},\n",
                        f.offered_rps, f.achieved_rps);
  absl::StrAppendFormat(&s, "  \"requests_per_s\": {\"offered\": %.1f, \"achieved\": %.1f},\n",
                        f.offered_reqps, f.achieved_reqps);
  absl::StrAppend(&s, R"(  "records": {"offered": )", in.generator.offered,
                  ", \"generated\": ", in.generator.generated, ", \"delivered\": ", o.delivered,
                  ", \"rejected\": ", o.rejected, ", \"spooled\": ", o.spooled,
                  ", \"undelivered\": ", o.undelivered, "},\n");
  // Lines the schedule called for that the generator never produced because
  // the pipeline (and so the API) held it back: the open-loop backlog.
  absl::StrAppend(&s, "  \"generator_behind_records\": ",
                  in.generator.offered - std::min(in.generator.offered, in.generator.generated),
                  ",\n");
  absl::StrAppend(&s, "  \"generator_lag_ms\": ", Pcts(f.lag_us), ",\n");
  absl::StrAppend(&s, "  \"requests\": ", f.requests, ",\n  \"status_codes\": {", f.by_status_json,
                  "},\n  \"retries\": ", f.retries, ",\n  \"splits\": ", f.splits, ",\n");
  absl::StrAppend(&s, R"(  "bytes": {"raw": )", f.raw_bytes, ", \"wire\": ", f.wire_bytes, "},\n");
  absl::StrAppend(&s, "  \"latency_ms\": ", Pcts(f.latency_us));
  if (in.ramp) {
    const auto steps = in.ramp->results();
    absl::StrAppendFormat(&s, ",\n  \"ramp\": {\"highest_ok_rate\": %.3f, \"stopped\": \"%s\", ",
                          in.ramp->highest_ok_rate(), JsonEscape(in.ramp->stop_reason()));
    absl::StrAppend(&s, "\"steps\": [");
    for (size_t i = 0; i < steps.size(); ++i) {
      const RampStepResult& r = steps[i];
      absl::StrAppendFormat(
          &s,
          "%s\n    {\"step\": %d, \"rate\": %.3f, \"offered\": %d, \"lines\": %d, "
          "\"requests\": %d, \"errors\": %d, \"latency_ms\": %s, \"ok\": %s, \"why\": \"%s\"}",
          i == 0 ? "" : ",", r.step.index + 1, r.step.rate, r.step.offered, r.step.lines,
          r.requests, r.errors, Pcts(r.latency_us), r.ok ? "true" : "false", JsonEscape(r.why));
    }
    absl::StrAppend(&s, "\n  ]}");
  }
  absl::StrAppend(&s, ",\n", SettingsJson(in.settings));
  if (in.timeline) absl::StrAppend(&s, ",\n", TimelineJson(*in.timeline));
  absl::StrAppend(&s, "\n}\n");
  return s;
}

std::string LoadReportLine(const LoadReportInput& in, const pipeline::MetricsRegistry& registry) {
  const LoadFigures f = ComputeLoadFigures(in, registry);
  return absl::StrFormat(
             "[LOADTEST] offered=%.1f rec/s achieved=%.1f rec/s requests=%d (%.1f/s) status={%s} "
             "retries=%d bytes_raw=%d bytes_wire=%d generator_behind=%d latency_ms p50=%s p90=%s "
             "p99=%s p999=%s max=%s",
             f.offered_rps, f.achieved_rps, f.requests, f.achieved_reqps, f.by_status_text,
             f.retries, f.raw_bytes, f.wire_bytes,
             in.generator.offered - std::min(in.generator.offered, in.generator.generated),
             Ms(f.latency_us.p50), Ms(f.latency_us.p90), Ms(f.latency_us.p99),
             Ms(f.latency_us.p999), Ms(f.latency_us.max)) +
         (in.ramp ? absl::StrCat(" ramp_highest_ok_rate=", in.ramp->highest_ok_rate(),
                                 in.ramp->stop_reason().empty()
                                     ? " (every step held)"
                                     : " stopped at " + in.ramp->stop_reason())
                  : "");
}

}  // namespace nf2
