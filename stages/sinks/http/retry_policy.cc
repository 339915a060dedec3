#include "stages/sinks/http/retry_policy.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "pipeline/absl_compat.h"

namespace nf2 {

absl::StatusOr<RetryOn> RetryOn::Parse(std::string_view list) {
  RetryOn r;
  r.statuses.clear();
  r.server_errors = false;
  r.network = false;
  for (absl::string_view token : absl::StrSplit(Av(list), ',', absl::SkipWhitespace())) {
    token = absl::StripAsciiWhitespace(token);
    long code;
    if (token == "5xx") {
      r.server_errors = true;
    } else if (token == "network") {
      r.network = true;
    } else if (absl::SimpleAtoi(token, &code) && code >= 100 && code <= 599) {
      r.statuses.insert(code);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("'", token, "' is not an HTTP status, 5xx or network"));
    }
  }
  return r;
}

Disposition ClassifyAnswer(long http_status, const RetryOn& retry_on) {
  if (http_status >= 200 && http_status < 300) return Disposition::kDelivered;
  if (http_status == 413) return Disposition::kSplit;
  if (http_status == 401 || http_status == 403) return Disposition::kAuthRetry;
  if (http_status == 0) return retry_on.network ? Disposition::kRetry : Disposition::kReject;
  if (retry_on.statuses.count(http_status)) return Disposition::kRetry;
  if (retry_on.server_errors && http_status >= 500 && http_status <= 599 && http_status != 501) {
    return Disposition::kRetry;
  }
  return Disposition::kReject;
}

std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now) {
  value = Sv(absl::StripAsciiWhitespace(Av(value)));
  if (value.empty()) return std::nullopt;
  uint64_t seconds;
  if (absl::SimpleAtoi(Av(value), &seconds)) {
    if (seconds > 24 * 3600) seconds = 24 * 3600;  // a typo must not park data for years
    return absl::Seconds(static_cast<int64_t>(seconds));
  }
  // HTTP-date (RFC 9110 IMF-fixdate), e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  absl::Time when;
  std::string err;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), absl::UTCTimeZone(), &when,
                      &err)) {
    absl::Duration d = when - now;
    if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
    if (d > absl::Hours(24)) d = absl::Hours(24);
    return d;
  }
  return std::nullopt;
}

RetryPolicy::RetryPolicy(absl::Duration initial, absl::Duration max, uint64_t seed)
    : initial_(initial), max_(max), rng_(seed) {}

absl::Duration RetryPolicy::Backoff(int retry) {
  absl::Duration cap = initial_;
  for (int i = 1; i < retry && cap < max_; ++i) cap *= 2;
  if (cap > max_) cap = max_;
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  return cap * jitter(rng_);
}

}  // namespace nf2
