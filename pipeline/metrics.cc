#include "pipeline/metrics.h"

#include <bit>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace nf2::pipeline {

size_t LogLinearHistogram::BucketOf(uint64_t value) {
  if (value > kMaxValue) value = kMaxValue;
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  if (value < kSub) return static_cast<size_t>(value);
  const int top = 63 - std::countl_zero(value);  // >= kSubBits
  const int shift = top - kSubBits;
  const uint64_t mantissa = value >> shift;  // in [kSub, 2 * kSub)
  return static_cast<size_t>((static_cast<uint64_t>(shift + 1) << kSubBits) + (mantissa - kSub));
}

uint64_t LogLinearHistogram::BucketHighest(size_t index) {
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  if (index < kSub) return index;
  const int shift = static_cast<int>(index >> kSubBits) - 1;
  const uint64_t mantissa = kSub + (index & (kSub - 1));
  return ((mantissa + 1) << shift) - 1;
}

void LogLinearHistogram::Record(uint64_t value) {
  buckets_[BucketOf(value)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  uint64_t seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

uint64_t LogLinearHistogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i < kBuckets; ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

namespace {

// The q-th percentile over bucket counts count_of(i): the top of the bucket
// holding the value of rank ceil(q * total), capped at `max`.
template <typename CountOf>
uint64_t PercentileOfCounts(CountOf count_of, uint64_t total, uint64_t max, double q) {
  if (total == 0) return 0;
  q = std::min(std::max(q, 0.0), 1.0);
  // The rank of the value asked for, 1-based: p50 of 2 values is the first.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < LogLinearHistogram::kBuckets; ++i) {
    seen += count_of(i);
    if (seen >= rank) return std::min(LogLinearHistogram::BucketHighest(i), max);
  }
  return max;
}

}  // namespace

uint64_t LogLinearHistogram::Percentile(double q) const {
  return PercentileOfCounts(
      [this](size_t i) { return buckets_[i].load(std::memory_order_relaxed); }, count(), max(), q);
}

Percentiles LogLinearHistogram::Summary() const {
  return {Percentile(0.50), Percentile(0.90), Percentile(0.99), Percentile(0.999), max()};
}

LogLinearHistogram::Snapshot LogLinearHistogram::TakeSnapshot() const {
  Snapshot s(kBuckets);
  for (size_t i = 0; i < kBuckets; ++i) s[i] = buckets_[i].load(std::memory_order_relaxed);
  return s;
}

Percentiles LogLinearHistogram::SummarySince(const Snapshot& before, uint64_t* count) const {
  Snapshot delta = TakeSnapshot();
  uint64_t total = 0, top = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    delta[i] -= i < before.size() ? std::min(before[i], delta[i]) : 0;
    total += delta[i];
    if (delta[i] > 0) top = std::min(BucketHighest(i), max());
  }
  if (count) *count = total;
  auto pct = [&](double q) {
    return PercentileOfCounts([&delta](size_t i) { return delta[i]; }, total, top, q);
  };
  return {pct(0.50), pct(0.90), pct(0.99), pct(0.999), top};
}

uint64_t LogLinearHistogram::CountAtMost(uint64_t bound) const {
  uint64_t n = 0;
  for (size_t i = 0; i < kBuckets && BucketHighest(i) <= bound; ++i) {
    n += buckets_[i].load(std::memory_order_relaxed);
  }
  return n;
}

MetricsRegistry& MetricsRegistry::Global() {
  static auto* registry = new MetricsRegistry();
  return *registry;
}

namespace {

std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// Prometheus floats: integers without an exponent, the rest in %g.
std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::nearbyint(v) == v && std::fabs(v) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

}  // namespace

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", labels[i].first, "=\"", Escape(labels[i].second), "\"");
  }
  out += "}";
  return out;
}

MetricsRegistry::Series& MetricsRegistry::SeriesFor(std::string_view name, std::string_view help,
                                                    std::string_view type, const Labels& labels) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = std::string(help);
    it->second.type = std::string(type);
  }
  Series& s = it->second.series[RenderLabels(labels)];
  s.labels = labels;
  return s;
}

Counter* MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = SeriesFor(name, help, "counter", labels);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return s.counter.get();
}

Gauge* MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = SeriesFor(name, help, "gauge", labels);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return s.gauge.get();
}

LogLinearHistogram* MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                                  const Labels& labels, double scale,
                                                  std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = SeriesFor(name, help, "histogram", labels);
  Family& f = families_.find(name)->second;
  f.scale = scale;
  f.bounds = std::move(bounds);
  if (!s.histogram) s.histogram = std::make_unique<LogLinearHistogram>();
  return s.histogram.get();
}

MetricsRegistry::CallbackHandle MetricsRegistry::AddCallback(std::string_view name,
                                                             std::string_view help,
                                                             std::string_view type,
                                                             const Labels& labels,
                                                             std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = SeriesFor(name, help, type, labels);
  s.callback = std::move(read);
  s.callback_id = next_callback_id_++;
  return CallbackHandle(this, s.callback_id);
}

MetricsRegistry::CallbackHandle& MetricsRegistry::CallbackHandle::operator=(
    CallbackHandle&& o) noexcept {
  if (this != &o) {
    Reset();
    registry_ = o.registry_;
    id_ = o.id_;
    o.registry_ = nullptr;
  }
  return *this;
}

void MetricsRegistry::CallbackHandle::Reset() {
  if (registry_) registry_->RemoveCallback(id_);
  registry_ = nullptr;
}

void MetricsRegistry::RemoveCallback(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, family] : families_) {
    for (auto it = family.series.begin(); it != family.series.end(); ++it) {
      if (it->second.callback_id == id) {
        family.series.erase(it);
        return;
      }
    }
  }
}

double MetricsRegistry::Read(const Series& s) {
  if (s.counter) return static_cast<double>(s.counter->value());
  if (s.gauge) return s.gauge->value();
  if (s.histogram) return static_cast<double>(s.histogram->count());
  if (s.callback) return s.callback();
  return 0;
}

const MetricsRegistry::Series* MetricsRegistry::FindSeries(std::string_view name,
                                                           const Labels& labels) const {
  auto it = families_.find(name);
  if (it == families_.end()) return nullptr;
  auto s = it->second.series.find(RenderLabels(labels));
  return s == it->second.series.end() ? nullptr : &s->second;
}

double MetricsRegistry::Value(std::string_view name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Series* s = FindSeries(name, labels);
  return s ? Read(*s) : 0;
}

std::vector<std::pair<Labels, double>> MetricsRegistry::Values(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<Labels, double>> out;
  auto it = families_.find(name);
  if (it == families_.end()) return out;
  for (const auto& [key, s] : it->second.series) out.emplace_back(s.labels, Read(s));
  return out;
}

const LogLinearHistogram* MetricsRegistry::FindHistogram(std::string_view name,
                                                         const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Series* s = FindSeries(name, labels);
  return s ? s->histogram.get() : nullptr;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (f.series.empty()) continue;
    absl::StrAppend(&out, "# HELP ", name, " ", f.help, "\n# TYPE ", name, " ", f.type, "\n");
    for (const auto& [labels, s] : f.series) {
      if (!s.histogram) {
        absl::StrAppend(&out, name, labels, " ", Num(Read(s)), "\n");
        continue;
      }
      const LogLinearHistogram& h = *s.histogram;
      const uint64_t total = h.count();
      for (double le : f.bounds) {
        Labels with = s.labels;
        with.emplace_back("le", Num(le));
        const double raw = std::floor(le / f.scale + 1e-9);
        const uint64_t n = raw >= static_cast<double>(LogLinearHistogram::kMaxValue)
                               ? total
                               : h.CountAtMost(static_cast<uint64_t>(raw));
        absl::StrAppend(&out, name, "_bucket", RenderLabels(with), " ", n, "\n");
      }
      Labels inf = s.labels;
      inf.emplace_back("le", "+Inf");
      absl::StrAppend(&out, name, "_bucket", RenderLabels(inf), " ", total, "\n");
      absl::StrAppend(&out, name, "_sum", labels, " ", Num(static_cast<double>(h.sum()) * f.scale),
                      "\n");
      absl::StrAppend(&out, name, "_count", labels, " ", total, "\n");
    }
  }
  return out;
}

}  // namespace nf2::pipeline
