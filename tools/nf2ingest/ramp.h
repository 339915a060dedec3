// --ramp: the load test in rising steps, to find the rate at which the API's
// latency or errors rise. The generator calls OnStepEnd at the end of each
// step; the judge measures that step's window of the metrics (requests that
// got an answer or failed during it, and their latency) and says whether the
// next step should run. A step fails when its p99 latency is above the limit,
// when more than the allowed share of its requests were not answered 2xx,
// when the generator could not hand on its lines in time (the pipeline was
// full: backlog), or when no request at all completed in it.
#ifndef NF2INGEST_TOOLS_NF2INGEST_RAMP_H_
#define NF2INGEST_TOOLS_NF2INGEST_RAMP_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/metrics.h"
#include "stages/sources/generator_source.h"

namespace nf2 {

struct RampOptions {
  int steps = 0;  // 0: no ramp
  double max_p99_ms = 1000;
  double max_error_ratio = 0.01;
  // Share of a step's lines the generator may fail to hand on (because the
  // pipeline, and so the API, held it back) before the step counts as
  // backlogged.
  double max_behind_ratio = 0.1;
};

struct RampStepResult {
  GeneratorStep step;
  uint64_t requests = 0;  // finished in the step's window
  uint64_t errors = 0;    // of those, not 2xx (no answer included)
  pipeline::Percentiles latency_us;
  bool ok = false;
  std::string why;  // the first limit a failed step broke
};

class RampJudge {
 public:
  // Takes the first window's starting point from `registry` now.
  RampJudge(RampOptions options, const pipeline::MetricsRegistry* registry);

  // The generator's hook: judges the step that just ended; true = go on.
  bool OnStepEnd(const GeneratorStep& step);

  // For the report, after the run.
  std::vector<RampStepResult> results() const;
  // The highest step rate that held (0 when the first step failed).
  double highest_ok_rate() const;
  // Why the ramp stopped early ("" when every step held).
  std::string stop_reason() const;

  // The verdict on one step's figures (pure; OnStepEnd uses it).
  static void Judge(const RampOptions& options, RampStepResult* r);

 private:
  struct Window {
    uint64_t requests = 0, ok = 0;
    pipeline::LogLinearHistogram::Snapshot latency;
  };
  Window Capture() const;

  const RampOptions options_;
  const pipeline::MetricsRegistry* registry_;
  mutable std::mutex mu_;
  Window start_;
  std::vector<RampStepResult> results_;
};

// One log line per step: "[RAMP] step 2/5 rate=4000/s ... ok".
std::string RampStepLine(const RampStepResult& r, int steps);

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_RAMP_H_
