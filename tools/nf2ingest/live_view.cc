#include "tools/nf2ingest/live_view.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/log.h"
#include "stages/sinks/http/http_sender.h"

namespace nf2 {
namespace {

std::string Join(const std::vector<std::pair<pipeline::Labels, double>>& values) {
  std::string out;
  for (const auto& [labels, v] : values) {
    absl::StrAppend(&out, out.empty() ? "" : ",", labels.empty() ? "" : labels[0].second, ":",
                    static_cast<uint64_t>(v));
  }
  return out;
}

double Sum(const std::vector<std::pair<pipeline::Labels, double>>& values) {
  double n = 0;
  for (const auto& [labels, v] : values) n += v;
  return n;
}

}  // namespace

LiveView::LiveView(const pipeline::MetricsRegistry* registry, const pipeline::Outcomes* outcomes,
                   absl::Duration interval, bool terminal)
    : registry_(registry), outcomes_(outcomes), interval_(interval), terminal_(terminal) {
  if (interval_ > absl::ZeroDuration()) thread_ = std::thread([this] { Loop(); });
}

LiveView::~LiveView() { Stop(); }

void LiveView::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (terminal_) ClearProgress();
}

std::string LiveView::StatsLine(const pipeline::MetricsRegistry& registry,
                                const pipeline::OutcomeSnapshot& before,
                                const pipeline::OutcomeSnapshot& now, double seconds) {
  const double in = static_cast<double>(now.lines_read - before.lines_read) / seconds;
  const double out = static_cast<double>(now.delivered - before.delivered) / seconds;
  std::string line = absl::StrFormat(
      "[LIVE] in=%.1f/s out=%.1f/s %s requests={%s} retries=%d queues={%s} in_flight=%d/%d", in,
      out, now.ToString(), Join(registry.Values("nf2ingest_requests_total")),
      static_cast<uint64_t>(Sum(registry.Values("nf2ingest_retries_total"))),
      Join(registry.Values("nf2ingest_queue_depth")),
      static_cast<int64_t>(registry.Value("nf2ingest_in_flight_requests")),
      static_cast<int64_t>(registry.Value(kConcurrencyLimitMetric)));
  // Only while it matters: a spool that cannot be written (full disk).
  if (registry.Value(kSpoolWriteFailingMetric) > 0) {
    absl::StrAppend(&line, " spool_write_failing=1 spool_write_errors=",
                    static_cast<uint64_t>(registry.Value(kSpoolWriteErrorsMetric)));
  }
  return line;
}

void LiveView::Loop() {
  using Clock = std::chrono::steady_clock;
  // A terminal line is cheap to redraw, so it moves every second; log lines
  // keep to the interval asked for.
  const auto period = terminal_ ? std::min(absl::ToChronoNanoseconds(interval_),
                                           std::chrono::nanoseconds(std::chrono::seconds(1)))
                                : absl::ToChronoNanoseconds(interval_);
  const auto start = Clock::now();
  auto last = start;
  pipeline::OutcomeSnapshot prev = outcomes_->Snapshot();
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
    const auto t = Clock::now();
    const pipeline::OutcomeSnapshot s = outcomes_->Snapshot();
    const double dt = std::max(1e-3, std::chrono::duration<double>(t - last).count());
    if (terminal_) {
      const double all = Sum(registry_->Values("nf2ingest_requests_total"));
      const double ok = [&] {
        double n = 0;
        for (const auto& [labels, v] : registry_->Values("nf2ingest_requests_total")) {
          if (!labels.empty() && labels[0].second.size() == 3 && labels[0].second[0] == '2') n += v;
        }
        return n;
      }();
      const uint64_t errors =
          s.invalid + s.rejected + s.undelivered + static_cast<uint64_t>(all - ok);
      ShowProgress(absl::StrFormat(
          "nf2ingest %4.0fs  records %d  delivered %d  %.0f/s  errors %d  in flight %d/%d",
          std::chrono::duration<double>(t - start).count(), s.lines_read, s.delivered,
          static_cast<double>(s.delivered - prev.delivered) / dt, errors,
          static_cast<int64_t>(registry_->Value("nf2ingest_in_flight_requests")),
          static_cast<int64_t>(registry_->Value(kConcurrencyLimitMetric))));
    } else {
      LogInfo(StatsLine(*registry_, prev, s, dt));
    }
    prev = s;
    last = t;
  }
}

}  // namespace nf2
