// How many requests the sender may have in flight when MAX_IN_FLIGHT=auto.
// An API's capacity is rarely known and changes (deploys, autoscaling, other
// clients), so the sender measures it: the limit grows while answers come back
// fast and 2xx, and shrinks multiplicatively on back-pressure (429, 503,
// timeouts, dropped connections) or when round trips grow well above their
// moving average (requests queueing inside the API). Pure arithmetic, no
// clock and no I/O, so each rule is unit-tested on its own.
//
// Growth: slow start (+1 per success, doubling per round trip) until the
// first sign of pressure; then +1 per window of `limit` successes while below
// the level where pressure was last seen, and more cautiously (+1 per
// `probe_windows` windows) above it, so a steady API is probed rarely.
#ifndef NF2INGEST_STAGES_SINKS_HTTP_CONCURRENCY_LIMIT_H_
#define NF2INGEST_STAGES_SINKS_HTTP_CONCURRENCY_LIMIT_H_

#include <chrono>

namespace nf2 {

struct ConcurrencyLimitOptions {
  int initial = 1;
  int min = 1;
  int max = 64;
  // On pressure the limit is multiplied by this (and is at least 1 lower).
  double backoff = 0.8;
  // A window whose mean round trip exceeds this times the moving average
  // counts as pressure.
  double rtt_tolerance = 2.0;
  // Weight of a window's mean round trip in the moving average.
  double rtt_smoothing = 0.2;
  // Windows per +1 once the limit is at or above the last pressure level.
  int probe_windows = 16;
};

class ConcurrencyLimit {
 public:
  using Duration = std::chrono::steady_clock::duration;

  explicit ConcurrencyLimit(ConcurrencyLimitOptions options = {});

  // A 2xx (or any deliberate answer) after `rtt`. `in_flight` is how many
  // requests were outstanding when it was sent: a sender that has less work
  // than its limit gives no evidence that more would fit, so the limit only
  // grows while it is at least half used.
  void OnSuccess(Duration rtt, int in_flight);
  void OnSuccess(Duration rtt) { OnSuccess(rtt, limit_); }
  // 429, 503, a timeout or a dropped connection. Answers to requests sent
  // before the last decrease do not shrink it again (one cut per round).
  void OnBackpressure();

  int limit() const { return limit_; }
  bool in_slow_start() const { return slow_start_; }
  double rtt_average_seconds() const { return rtt_avg_; }

 private:
  void Decrease();
  void EndWindow();

  ConcurrencyLimitOptions options_;
  int limit_;
  bool slow_start_ = true;
  int pressure_level_ = 0;  // the limit at the last pressure (0 = none yet)
  double rtt_avg_ = 0;      // seconds; 0 = no sample yet
  // The current window: `limit_` answers.
  int window_answers_ = 0;
  int window_successes_ = 0;
  double window_rtt_sum_ = 0;
  int quiet_windows_ = 0;   // full windows since the last +1 above pressure_level_
  int ignore_answers_ = 0;  // answers left from before the last decrease
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SINKS_HTTP_CONCURRENCY_LIMIT_H_
