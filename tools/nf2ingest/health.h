// What /healthz answers, from the metrics registry alone: unhealthy when
// data waits and nothing has gone through for the stall time (an idle
// collector with no flows is healthy), or when the spool cannot be written
// (batches then travel without a copy on disk).
#ifndef NF2INGEST_TOOLS_NF2INGEST_HEALTH_H_
#define NF2INGEST_TOOLS_NF2INGEST_HEALTH_H_

#include <string>
#include <utility>

#include "absl/time/time.h"
#include "pipeline/metrics.h"

namespace nf2 {

// {healthy, one-line reason} at `now` for a run that started at `started`.
std::pair<bool, std::string> HealthVerdict(const pipeline::MetricsRegistry& registry,
                                           absl::Time started, absl::Time now,
                                           absl::Duration stall);

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_HEALTH_H_
