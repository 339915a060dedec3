// The load-test report (--generate): offered against achieved rates, what
// the API answered, bytes, and request latency percentiles from the
// log-linear histogram (every request counted, none sampled); with --ramp,
// each step's figures and the highest rate that held.
#ifndef NF2INGEST_TOOLS_NF2INGEST_LOAD_REPORT_H_
#define NF2INGEST_TOOLS_NF2INGEST_LOAD_REPORT_H_

#include <cstddef>
#include <string>

#include "pipeline/metrics.h"
#include "pipeline/outcomes.h"
#include "stages/sources/generator_source.h"
#include "tools/nf2ingest/load_timeline.h"
#include "tools/nf2ingest/ramp.h"

namespace nf2 {

// The settings a reader of the report needs to judge it; never the key.
struct ReportSettings {
  std::string api;  // scheme://host[:port], without credentials
  size_t batch_size = 0;
  std::string max_in_flight;
  std::string gzip;  // e.g. "isal level 1 above 51200 bytes"
};

struct LoadReportInput {
  double rate = 0;        // asked for, records/s
  double duration_s = 0;  // asked for
  double wall_s = 0;      // from start until every record had an outcome
  GeneratorStats generator;
  pipeline::OutcomeSnapshot outcomes;
  const RampJudge* ramp = nullptr;         // --ramp: its steps go into the report
  const LoadTimeline* timeline = nullptr;  // the per-second series, when recorded
  ReportSettings settings;
};

// The run's overall figures, from the registry.
struct LoadFigures {
  double offered_rps = 0, achieved_rps = 0;
  double offered_reqps = 0, achieved_reqps = 0;
  uint64_t requests = 0, ok_requests = 0, retries = 0, splits = 0;
  uint64_t raw_bytes = 0, wire_bytes = 0, batches = 0;
  std::string by_status_json, by_status_text;
  pipeline::Percentiles latency_us, lag_us;
};

LoadFigures ComputeLoadFigures(const LoadReportInput& in,
                               const pipeline::MetricsRegistry& registry);

// Microseconds as milliseconds with three decimals, as every report writes them.
std::string Ms(uint64_t us);

// The report as one JSON object (pretty-printed, ends in a newline).
std::string LoadReportJson(const LoadReportInput& in, const pipeline::MetricsRegistry& registry);

// The report as one self-contained HTML page: inline CSS and SVG charts of
// the timeline, the verdict, the settings and tables of the same figures.
std::string LoadReportHtml(const LoadReportInput& in, const pipeline::MetricsRegistry& registry);

// The same in one log line, for stderr.
std::string LoadReportLine(const LoadReportInput& in, const pipeline::MetricsRegistry& registry);

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_LOAD_REPORT_H_
