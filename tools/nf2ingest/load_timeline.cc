#include "tools/nf2ingest/load_timeline.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace nf2 {
namespace {

using Histogram = pipeline::LogLinearHistogram;

constexpr char kLatencyMetric[] = "nf2ingest_request_duration_seconds";

TimelineTotals Minus(const TimelineTotals& a, const TimelineTotals& b) {
  auto d = [](uint64_t x, uint64_t y) { return x > y ? x - y : 0; };
  return {d(a.offered, b.offered), d(a.generated, b.generated), d(a.delivered, b.delivered),
          d(a.ok, b.ok),           d(a.r429, b.r429),           d(a.r503, b.r503),
          d(a.other, b.other),     d(a.none, b.none),           d(a.retries, b.retries)};
}

TimelineTotals Plus(const TimelineTotals& a, const TimelineTotals& b) {
  return {a.offered + b.offered, a.generated + b.generated, a.delivered + b.delivered,
          a.ok + b.ok,           a.r429 + b.r429,           a.r503 + b.r503,
          a.other + b.other,     a.none + b.none,           a.retries + b.retries};
}

// Sums two sorted sparse bucket lists.
std::vector<std::pair<uint32_t, uint64_t>> MergeBuckets(
    const std::vector<std::pair<uint32_t, uint64_t>>& a,
    const std::vector<std::pair<uint32_t, uint64_t>>& b) {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].first < b[j].first)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].first < a[i].first) {
      out.push_back(b[j++]);
    } else {
      out.emplace_back(a[i].first, a[i].second + b[j].second);
      ++i;
      ++j;
    }
  }
  return out;
}

}  // namespace

uint64_t LatencyWindow::count() const {
  uint64_t n = 0;
  for (const auto& [bucket, c] : buckets) n += c;
  return n;
}

pipeline::Percentiles LatencyWindow::Summary() const {
  pipeline::Percentiles p;
  const uint64_t total = count();
  if (total == 0) return p;
  const uint64_t top = std::min(Histogram::BucketHighest(buckets.back().first), cap);
  auto at = [&](double q) {
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    uint64_t seen = 0;
    for (const auto& [bucket, c] : buckets) {
      seen += c;
      if (seen >= std::max<uint64_t>(rank, 1))
        return std::min(Histogram::BucketHighest(bucket), top);
    }
    return top;
  };
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = top;
  return p;
}

LoadTimeline::LoadTimeline(size_t max_points, size_t max_windows)
    : max_points_(std::max<size_t>(max_points, 2)),
      max_windows_(std::max<size_t>(max_windows, 2)) {}

void LoadTimeline::AddTotals(double t_s, const TimelineTotals& totals) {
  if (started_ && t_s > last_t_) {
    points_.push_back({last_t_, t_s - last_t_, Minus(totals, last_)});
    if (points_.size() > max_points_) MergePointPairs();
  }
  if (!started_ || t_s > last_t_) {
    started_ = true;
    last_t_ = t_s;
    last_ = totals;
  }
}

void LoadTimeline::AddLatencyWindow(double start_s, double end_s, int step,
                                    const Histogram::Snapshot& before,
                                    const Histogram::Snapshot& after, uint64_t max_so_far) {
  LatencyWindow w{start_s, end_s, step, {}, max_so_far};
  for (size_t i = 0; i < after.size(); ++i) {
    const uint64_t was = i < before.size() ? before[i] : 0;
    if (after[i] > was) w.buckets.emplace_back(static_cast<uint32_t>(i), after[i] - was);
  }
  windows_.push_back(std::move(w));
  if (windows_.size() > max_windows_) MergeWindowPairs();
}

void LoadTimeline::MergePointPairs() {
  std::vector<TimelinePoint> merged;
  merged.reserve(points_.size() / 2 + 1);
  for (size_t i = 0; i < points_.size(); i += 2) {
    TimelinePoint p = points_[i];
    if (i + 1 < points_.size()) {
      p.width_s += points_[i + 1].width_s;
      p.counts = Plus(p.counts, points_[i + 1].counts);
    }
    merged.push_back(p);
  }
  points_ = std::move(merged);
}

void LoadTimeline::MergeWindowPairs() {
  std::vector<LatencyWindow> merged;
  merged.reserve(windows_.size() / 2 + 1);
  for (size_t i = 0; i < windows_.size(); i += 2) {
    LatencyWindow w = windows_[i];
    if (i + 1 < windows_.size()) {
      w.end_s = windows_[i + 1].end_s;
      w.buckets = MergeBuckets(w.buckets, windows_[i + 1].buckets);
      w.cap = std::max(w.cap, windows_[i + 1].cap);
      if (w.step != windows_[i + 1].step) w.step = -1;
    }
    merged.push_back(std::move(w));
  }
  windows_ = std::move(merged);
}

uint64_t ScheduledLines(double rate, double step_s, int steps, double t_s) {
  if (t_s <= 0 || rate <= 0 || step_s <= 0) return 0;
  double lines = 0;
  for (int k = 0; k < steps && t_s > k * step_s; ++k) {
    lines += rate * (k + 1) * std::min(step_s, t_s - k * step_s);
  }
  return static_cast<uint64_t>(lines);
}

TimelineRecorder::TimelineRecorder(const pipeline::MetricsRegistry* registry,
                                   std::function<uint64_t(double)> offered_at, bool per_step,
                                   double window_s)
    : registry_(registry),
      offered_at_(std::move(offered_at)),
      per_step_(per_step),
      window_s_(window_s),
      start_(std::chrono::steady_clock::now()) {
  timeline_.AddTotals(0, ReadTotals(0));
  window_before_ = Latency();
  thread_ = std::thread([this] { Loop(); });
}

TimelineRecorder::~TimelineRecorder() { Stop(); }

double TimelineRecorder::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

TimelineTotals TimelineRecorder::ReadTotals(double t_s) const {
  TimelineTotals t;
  t.offered = offered_at_(t_s);
  t.generated = static_cast<uint64_t>(registry_->Value("nf2ingest_lines_read_total"));
  t.delivered = static_cast<uint64_t>(
      registry_->Value("nf2ingest_records_total", {{"outcome", "delivered"}}));
  for (const auto& [labels, v] : registry_->Values("nf2ingest_requests_total")) {
    const std::string code = labels.empty() ? "" : labels[0].second;
    const auto n = static_cast<uint64_t>(v);
    if (code.size() == 3 && code[0] == '2') {
      t.ok += n;
    } else if (code == "429") {
      t.r429 += n;
    } else if (code == "503") {
      t.r503 += n;
    } else if (code == "none") {
      t.none += n;
    } else {
      t.other += n;
    }
  }
  for (const auto& [labels, v] : registry_->Values("nf2ingest_retries_total")) {
    t.retries += static_cast<uint64_t>(v);
  }
  return t;
}

Histogram::Snapshot TimelineRecorder::Latency() const {
  const Histogram* h = registry_->FindHistogram(kLatencyMetric, {});
  return h ? h->TakeSnapshot() : Histogram::Snapshot{};
}

void TimelineRecorder::Loop() {
  std::unique_lock lock(mu_);
  auto next = start_ + std::chrono::seconds(1);
  while (!wake_.wait_until(lock, next, [this] { return stop_; })) {
    Sample();
    next += std::chrono::seconds(1);
  }
}

void TimelineRecorder::Sample() {
  const double t = Now();
  timeline_.AddTotals(t, ReadTotals(t));
  if (!per_step_ && t - window_start_ >= window_s_ - 1e-3) CloseWindow(-1);
}

void TimelineRecorder::CloseWindow(int step) {
  const double t = Now();
  const Histogram* h = registry_->FindHistogram(kLatencyMetric, {});
  Histogram::Snapshot now = Latency();
  timeline_.AddLatencyWindow(window_start_, t, step, window_before_, now, h ? h->max() : 0);
  window_before_ = std::move(now);
  window_start_ = t;
}

void TimelineRecorder::CloseStep(int step) {
  std::lock_guard lock(mu_);
  if (per_step_ && !stop_) CloseWindow(step);
}

void TimelineRecorder::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  Sample();
  // The drain after the last step (or the last partial window).
  if (Now() - window_start_ > 1e-3) CloseWindow(-1);
}

}  // namespace nf2
