// The load-test report (--generate): offered against achieved rates, what
// the API answered, bytes, and request latency percentiles from the
// log-linear histogram (every request counted, none sampled); with --ramp,
// each step's figures and the highest rate that held.
#ifndef NF2INGEST_TOOLS_NF2INGEST_LOAD_REPORT_H_
#define NF2INGEST_TOOLS_NF2INGEST_LOAD_REPORT_H_

#include <string>

#include "pipeline/metrics.h"
#include "pipeline/outcomes.h"
#include "stages/sources/generator_source.h"
#include "tools/nf2ingest/ramp.h"

namespace nf2 {

struct LoadReportInput {
  double rate = 0;        // asked for, records/s
  double duration_s = 0;  // asked for
  double wall_s = 0;      // from start until every record had an outcome
  GeneratorStats generator;
  pipeline::OutcomeSnapshot outcomes;
  const RampJudge* ramp = nullptr;  // --ramp: its steps go into the report
};

// The report as one JSON object (pretty-printed, ends in a newline).
std::string LoadReportJson(const LoadReportInput& in, const pipeline::MetricsRegistry& registry);

// The same in one log line, for stderr.
std::string LoadReportLine(const LoadReportInput& in, const pipeline::MetricsRegistry& registry);

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_LOAD_REPORT_H_
