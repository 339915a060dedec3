// What nf2ingest is doing, while it does it: every interval one [LIVE] log
// line (rates, outcomes, requests by status, retries, queue depths, requests
// in flight), or, when stderr is a terminal, one self-updating progress line.
// Reads only the metrics registry and the outcome ledger, so it costs the
// pipeline nothing.
#ifndef NF2INGEST_TOOLS_NF2INGEST_LIVE_VIEW_H_
#define NF2INGEST_TOOLS_NF2INGEST_LIVE_VIEW_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "pipeline/metrics.h"
#include "pipeline/outcomes.h"

namespace nf2 {

class LiveView {
 public:
  // `terminal`: draw a progress line (refreshed every second at most) instead
  // of log lines. A zero interval shows nothing.
  LiveView(const pipeline::MetricsRegistry* registry, const pipeline::Outcomes* outcomes,
           absl::Duration interval, bool terminal);
  ~LiveView();  // Stop()
  LiveView(const LiveView&) = delete;
  LiveView& operator=(const LiveView&) = delete;

  // Stops the thread and erases the progress line (before the summary).
  void Stop();

  // One [LIVE] line's text from two samples `seconds` apart (for tests too).
  static std::string StatsLine(const pipeline::MetricsRegistry& registry,
                               const pipeline::OutcomeSnapshot& before,
                               const pipeline::OutcomeSnapshot& now, double seconds);

 private:
  void Loop();

  const pipeline::MetricsRegistry* registry_;
  const pipeline::Outcomes* outcomes_;
  const absl::Duration interval_;
  const bool terminal_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_LIVE_VIEW_H_
