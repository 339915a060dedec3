#include "tools/nf2ingest/health.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "stages/sinks/http/http_sender.h"

namespace nf2 {

std::pair<bool, std::string> HealthVerdict(const pipeline::MetricsRegistry& registry,
                                           absl::Time started, absl::Time now,
                                           absl::Duration stall) {
  if (registry.Value(kSpoolWriteFailingMetric) > 0) {
    return {false,
            "spool writes are failing (disk full?): batches are sent without a copy on disk"};
  }
  double waiting = registry.Value("nf2ingest_sender_batches_held");
  for (const auto& [labels, v] : registry.Values("nf2ingest_queue_depth")) waiting += v;
  const double last = registry.Value("nf2ingest_last_success_timestamp_seconds");
  const absl::Time since =
      last > 0 ? std::max(started, absl::FromUnixNanos(static_cast<int64_t>(last * 1e9))) : started;
  const absl::Duration quiet = now - since;
  if (waiting > 0 && quiet > stall) {
    return {false, absl::StrCat("stalled: no request succeeded for ",
                                absl::FormatDuration(absl::Trunc(quiet, absl::Seconds(1))),
                                " while data waits")};
  }
  return {true, "ok"};
}

}  // namespace nf2
