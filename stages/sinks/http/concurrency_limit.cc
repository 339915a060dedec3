#include "stages/sinks/http/concurrency_limit.h"

#include <algorithm>
#include <cmath>

namespace nf2 {

ConcurrencyLimit::ConcurrencyLimit(ConcurrencyLimitOptions options)
    : options_(options), limit_(std::clamp(options.initial, options.min, options.max)) {}

void ConcurrencyLimit::OnSuccess(Duration rtt, int in_flight) {
  const double seconds = std::chrono::duration<double>(rtt).count();
  if (ignore_answers_ > 0) {
    --ignore_answers_;  // sent under the old, larger limit: says nothing new
    return;
  }
  if (rtt_avg_ == 0) rtt_avg_ = seconds;
  ++window_answers_;
  window_rtt_sum_ += seconds;
  if (2 * in_flight >= limit_) ++window_successes_;
  if (slow_start_ && 2 * in_flight >= limit_ && seconds <= options_.rtt_tolerance * rtt_avg_) {
    limit_ = std::min(limit_ + 1, options_.max);
  }
  if (window_answers_ >= limit_) EndWindow();
}

// Once per round trip: judge the window's round trips, then grow.
void ConcurrencyLimit::EndWindow() {
  const double mean = window_rtt_sum_ / window_answers_;
  const bool used = 2 * window_successes_ >= window_answers_;
  window_answers_ = 0;
  window_successes_ = 0;
  window_rtt_sum_ = 0;
  const bool inflated = mean > options_.rtt_tolerance * rtt_avg_;
  // Per window, so the baseline a window is judged against is stable, and
  // a lasting change of the path's round trip is learned in a few windows.
  rtt_avg_ += options_.rtt_smoothing * (mean - rtt_avg_);
  if (inflated) {
    Decrease();
    return;
  }
  if (slow_start_ || !used) return;
  // Quickly back to the last level that worked, slowly past it.
  if (pressure_level_ == 0 || limit_ + 1 < pressure_level_) {
    limit_ = std::min(limit_ + 1, options_.max);
    return;
  }
  if (++quiet_windows_ >= options_.probe_windows) {
    quiet_windows_ = 0;
    limit_ = std::min(limit_ + 1, options_.max);
    // Well past the old ceiling without trouble: the API grew; find out fast.
    if (limit_ >= pressure_level_ + 4) pressure_level_ = 0;
  }
}

void ConcurrencyLimit::OnBackpressure() {
  if (ignore_answers_ > 0) {
    --ignore_answers_;
    return;
  }
  Decrease();
}

void ConcurrencyLimit::Decrease() {
  pressure_level_ = limit_;
  slow_start_ = false;
  const int cut = static_cast<int>(std::floor(limit_ * options_.backoff));
  const int before = limit_;
  limit_ = std::clamp(std::min(cut, limit_ - 1), options_.min, options_.max);
  // The requests already out were sent under the old limit.
  ignore_answers_ = before - 1;
  window_answers_ = 0;
  window_successes_ = 0;
  window_rtt_sum_ = 0;
  quiet_windows_ = 0;
}

}  // namespace nf2
