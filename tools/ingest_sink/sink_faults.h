// Fault injection for ingest-sink: a script of answers for the first requests, random failures
// and a per-minute rate limit. Time is passed in so that tests can drive it without sleeping.

#ifndef NF2INGEST_TOOLS_INGEST_SINK_SINK_FAULTS_H_
#define NF2INGEST_TOOLS_INGEST_SINK_SINK_FAULTS_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <random>
#include <vector>

#include "sink_logic.h"

namespace ingest_sink {

struct FaultConfig {
  std::vector<FaultAction> script;  // Used in turn by the first requests.
  double fail_rate = 0.0;           // Probability of answering fail_status.
  int fail_status = 500;
  uint64_t seed = 0;
  int rate_limit_per_min = 0;  // 0 = unlimited.
};

// Thread-safe; one instance serves all worker threads.
class FaultInjector {
 public:
  using Clock = std::chrono::steady_clock;

  explicit FaultInjector(const FaultConfig& config);

  // Decides the fault for the next authorized ingest request arriving at `now`. Order: the
  // script first, then a random failure, then the rate limit (a request that is answered with a
  // fault does not use up rate-limit budget).
  FaultAction Next(Clock::time_point now);

 private:
  bool TakeRateLimitSlot(Clock::time_point now);

  std::mutex mu_;
  std::deque<FaultAction> script_;
  const double fail_rate_;
  const int fail_status_;
  const int rate_limit_per_min_;
  std::mt19937_64 rng_;
  std::deque<Clock::time_point> admitted_;  // Admitted requests of the last minute.
};

}  // namespace ingest_sink

#endif  // NF2INGEST_TOOLS_INGEST_SINK_SINK_FAULTS_H_
