// The load test over time, for the report's charts: per-second counts
// (offered, generated, delivered, answers by status class, retries) and
// request latency per window (a ramp step, or 5 s without a ramp).
//
// Memory stays bounded for a soak of any length: past `max_points` seconds
// neighbouring points are merged in pairs (each point then covers twice the
// time; counts add, so rates stay exact), and past `max_windows` latency
// windows are merged the same way. A window keeps its latency histogram's
// non-empty buckets, so a merged window's percentiles and maximum are
// computed from every request in it, never averaged.
#ifndef NF2INGEST_TOOLS_NF2INGEST_LOAD_TIMELINE_H_
#define NF2INGEST_TOOLS_NF2INGEST_LOAD_TIMELINE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "pipeline/metrics.h"

namespace nf2 {

// Cumulative figures at one instant, as read from the registry.
struct TimelineTotals {
  uint64_t offered = 0;  // lines the generator's schedule called for
  uint64_t generated = 0;
  uint64_t delivered = 0;
  uint64_t ok = 0, r429 = 0, r503 = 0, other = 0, none = 0;  // answers by status class
  uint64_t retries = 0;
};

// What happened during [start_s, start_s + width_s).
struct TimelinePoint {
  double start_s = 0;
  double width_s = 0;
  TimelineTotals counts;  // differences, not totals
};

struct LatencyWindow {
  double start_s = 0;
  double end_s = 0;
  int step = -1;  // the ramp step (from 0), or -1
  // Non-empty latency buckets (index, count) of the requests that finished
  // in the window, in µs buckets of pipeline::LogLinearHistogram.
  std::vector<std::pair<uint32_t, uint64_t>> buckets;
  // The histogram's maximum when the window closed: no value in the window
  // is above it, so it caps the top bucket's bound (as SummarySince does).
  uint64_t cap = UINT64_MAX;

  uint64_t count() const;
  pipeline::Percentiles Summary() const;  // as LogLinearHistogram::SummarySince
};

class LoadTimeline {
 public:
  explicit LoadTimeline(size_t max_points = 1800, size_t max_windows = 720);

  // Records the totals at `t_s` seconds into the run; the first call sets
  // the starting point.
  void AddTotals(double t_s, const TimelineTotals& totals);
  // Closes a latency window: the requests between the histogram snapshots
  // `before` and `after`; `max_so_far` is the histogram's max() at `after`.
  void AddLatencyWindow(double start_s, double end_s, int step,
                        const pipeline::LogLinearHistogram::Snapshot& before,
                        const pipeline::LogLinearHistogram::Snapshot& after, uint64_t max_so_far);

  const std::vector<TimelinePoint>& points() const { return points_; }
  const std::vector<LatencyWindow>& windows() const { return windows_; }

 private:
  void MergePointPairs();
  void MergeWindowPairs();

  size_t max_points_, max_windows_;
  bool started_ = false;
  double last_t_ = 0;
  TimelineTotals last_;
  std::vector<TimelinePoint> points_;
  std::vector<LatencyWindow> windows_;
};

// Reads the registry once a second on its own thread into a LoadTimeline,
// and closes a latency window every `window` seconds (or when a ramp step
// ends: CloseStep). Stop() takes the last sample.
class TimelineRecorder {
 public:
  // `offered_at(t_s)`: the lines the schedule called for by t_s.
  TimelineRecorder(const pipeline::MetricsRegistry* registry,
                   std::function<uint64_t(double)> offered_at, bool per_step, double window_s = 5);
  ~TimelineRecorder();
  TimelineRecorder(const TimelineRecorder&) = delete;
  TimelineRecorder& operator=(const TimelineRecorder&) = delete;

  // A ramp step ended (from the generator's thread).
  void CloseStep(int step);
  void Stop();
  // After Stop().
  const LoadTimeline& timeline() const { return timeline_; }

 private:
  void Loop();
  void Sample();
  void CloseWindow(int step);
  double Now() const;
  TimelineTotals ReadTotals(double t_s) const;
  pipeline::LogLinearHistogram::Snapshot Latency() const;

  const pipeline::MetricsRegistry* registry_;
  const std::function<uint64_t(double)> offered_at_;
  const bool per_step_;
  const double window_s_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  LoadTimeline timeline_;
  double window_start_ = 0;
  pipeline::LogLinearHistogram::Snapshot window_before_;
  std::thread thread_;
};

// Lines due by `t_s` on a schedule of `steps` steps of `step_s` seconds,
// step k at rate * (k + 1) (a fixed rate is one step).
uint64_t ScheduledLines(double rate, double step_s, int steps, double t_s);

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_LOAD_TIMELINE_H_
