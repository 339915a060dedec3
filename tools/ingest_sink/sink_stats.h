// Counters behind GET /v1/metrics and the exit summary. Time is passed in so that the eps
// arithmetic can be tested without waiting.

#ifndef NF2INGEST_TOOLS_INGEST_SINK_SINK_STATS_H_
#define NF2INGEST_TOOLS_INGEST_SINK_SINK_STATS_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace ingest_sink {

// Longest eps window /v1/metrics can average over; longer requests are clamped.
inline constexpr int kMaxMetricsWindowS = 3600;
inline constexpr int kDefaultMetricsWindowS = 300;

struct MetricsSnapshot {
  uint64_t requests_total = 0;
  uint64_t records_processed = 0;
  uint64_t batches_accepted = 0;
  uint64_t bytes_received = 0;
  std::map<std::string, uint64_t> status_counts;  // "202" -> n; "closed" for dropped ones.
  int window_s = kDefaultMetricsWindowS;
  double eps = 0.0;
  double uptime_s = 0.0;
};

// Thread-safe.
class SinkStats {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SinkStats(Clock::time_point start);

  // One ingest request answered with `status` (0 = connection closed without an answer).
  // `records` counts only when the request was accepted (2xx).
  void RecordIngest(int status, uint64_t wire_bytes, uint64_t records, Clock::time_point now);

  // `window_s` is clamped to [1, kMaxMetricsWindowS].
  MetricsSnapshot Snapshot(Clock::time_point now, int window_s) const;

 private:
  struct SecondBucket {
    int64_t second = -1;  // Seconds since start; -1 = unused.
    uint64_t records = 0;
  };

  int64_t SecondOf(Clock::time_point t) const;

  const Clock::time_point start_;
  mutable std::mutex mu_;
  MetricsSnapshot totals_;
  // Accepted records per second, a ring indexed by second % size, for eps over a window.
  std::array<SecondBucket, kMaxMetricsWindowS + 1> buckets_;
};

// Serializes a snapshot as the /v1/metrics answer.
std::string MetricsJson(const MetricsSnapshot& snapshot);

// Parses the `window` query value; empty means the default. Returns false when it is not a
// positive integer.
bool ParseWindow(const std::string& value, int& window_s);

}  // namespace ingest_sink

#endif  // NF2INGEST_TOOLS_INGEST_SINK_SINK_STATS_H_
