// What to do with an answer from the API, and how long to wait before
// trying again. Pure: no clocks or sockets inside except through arguments.
#ifndef NF2INGEST_STAGES_SINKS_HTTP_RETRY_POLICY_H_
#define NF2INGEST_STAGES_SINKS_HTTP_RETRY_POLICY_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nf2 {

enum class Disposition {
  kDelivered,  // any 2xx
  kSplit,      // 413: halve the batch and send both halves
  kRetry,      // 408, 429, 5xx but 501, network trouble: try again later
  kAuthRetry,  // 401/403: the key is refused; keep the data, retry slowly
  kReject,     // any other answer: the payload is wrong, do not retry
};

// Which failures are retried (--retry-on): "408,429,5xx,network" by default,
// where 5xx means 500..599 except 501 (which says the server will never
// handle the request); list 501 to retry it too.
struct RetryOn {
  std::set<long> statuses = {408, 429};
  bool server_errors = true;  // 5xx but 501
  bool network = true;        // no answer: refused, reset, timed out

  // Parses a comma-separated list of status codes, "5xx" and "network".
  static absl::StatusOr<RetryOn> Parse(std::string_view list);
};

// `http_status` is 0 when no answer was received (network error, timeout).
// 2xx, 413 and 401/403 are decided by their own rules whatever `retry_on`.
Disposition ClassifyAnswer(long http_status, const RetryOn& retry_on = RetryOn());

// Parses a Retry-After value: delta-seconds or an HTTP-date. Returns the
// wait from `now`, never negative; nullopt when the value is unusable.
std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now);

// Exponential backoff with full jitter: before retry n (1-based) wait a
// uniform time in [0, min(max, initial * 2^(n-1))].
class RetryPolicy {
 public:
  RetryPolicy(absl::Duration initial, absl::Duration max, uint64_t seed);
  absl::Duration Backoff(int retry);
  absl::Duration max() const { return max_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  std::mt19937_64 rng_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SINKS_HTTP_RETRY_POLICY_H_
