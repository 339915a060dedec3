#include "sink_faults.h"

namespace ingest_sink {

FaultInjector::FaultInjector(const FaultConfig& config)
    : script_(config.script.begin(), config.script.end()),
      fail_rate_(config.fail_rate),
      fail_status_(config.fail_status),
      rate_limit_per_min_(config.rate_limit_per_min),
      rng_(config.seed) {}

FaultAction FaultInjector::Next(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  FaultAction action;
  if (!script_.empty()) {
    action = script_.front();
    script_.pop_front();
    if (action.kind != FaultAction::Kind::kNone) return action;
    // A scripted 2xx or `slow` means "process normally": random faults and the rate limit
    // still apply, only the extra delay is kept.
  }
  if (fail_rate_ > 0.0 && std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < fail_rate_) {
    action.kind = FaultAction::Kind::kAnswer;
    action.status = fail_status_;
    return action;
  }
  if (!TakeRateLimitSlot(now)) {
    action.kind = FaultAction::Kind::kAnswer;
    action.status = 429;
  }
  return action;
}

// Sliding one-minute window over admitted requests; refused requests do not count, so a client
// that backs off as told gets served again once the window has room.
bool FaultInjector::TakeRateLimitSlot(Clock::time_point now) {
  if (rate_limit_per_min_ <= 0) return true;
  while (!admitted_.empty() && now - admitted_.front() >= std::chrono::minutes(1)) {
    admitted_.pop_front();
  }
  if (admitted_.size() >= static_cast<size_t>(rate_limit_per_min_)) return false;
  admitted_.push_back(now);
  return true;
}

}  // namespace ingest_sink
