// The metrics registry (the only global mutable state docs/architecture.md §3
// allows) and its instruments: counters, gauges, callback gauges and a
// log-linear histogram. Rendering is the Prometheus text format, which is
// only text: serving it over HTTP is the tools' business.
//
// Instruments are recorded per batch or per request, never per record; every
// update is a relaxed atomic, so recording costs a few nanoseconds and never
// takes a lock. Lookups by name and labels do take the registry's mutex:
// callers resolve the instruments they use once and keep the pointers.
#ifndef NF2INGEST_PIPELINE_METRICS_H_
#define NF2INGEST_PIPELINE_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nf2::pipeline {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

struct Percentiles {
  uint64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

// A histogram of unsigned integers with log-linear buckets (as HdrHistogram):
// values below 2^kSubBits are exact, larger ones fall in buckets 1/2^kSubBits
// of their power of two wide, so any percentile is within 1% of the true
// value. Every value is counted (no sampling); values above kMaxValue are
// counted in the last bucket and still raise max(). Lock-free and
// thread-safe; memory is fixed (~40 KB).
class LogLinearHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr int kMaxBits = 40;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << kMaxBits) - 1;
  static constexpr size_t kBuckets = static_cast<size_t>(kMaxBits - kSubBits + 1) << kSubBits;

  LogLinearHistogram() : buckets_(new std::atomic<uint64_t>[kBuckets]) {
    for (size_t i = 0; i < kBuckets; ++i) buckets_[i].store(0, std::memory_order_relaxed);
  }

  void Record(uint64_t value);

  uint64_t count() const;
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  // The smallest bucket bound at or above which q (0..1] of the values lie,
  // capped at max(); 0 when empty. Never below the true percentile.
  uint64_t Percentile(double q) const;
  Percentiles Summary() const;
  // How many values are <= `bound` (exact at bucket edges; a bucket that
  // straddles `bound` is left out, an undercount of at most 1%).
  uint64_t CountAtMost(uint64_t bound) const;

  // For a window of time: take a snapshot at its start, and SummarySince()
  // later gives the percentiles of the values recorded in between (max is
  // the top of the highest bucket hit, within 1%, capped at max()).
  using Snapshot = std::vector<uint64_t>;
  Snapshot TakeSnapshot() const;
  Percentiles SummarySince(const Snapshot& before, uint64_t* count = nullptr) const;

  static size_t BucketOf(uint64_t value);
  static uint64_t BucketHighest(size_t index);  // the largest value in it

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> max_{0};
};

class MetricsRegistry {
 public:
  // The process-wide registry.
  static MetricsRegistry& Global();

  // An instrument, created on first use; the pointer stays valid for the
  // registry's life. The same name must keep the same type.
  Counter* GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge* GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // Values are recorded in integer units; `scale` converts them to the
  // exported unit (1e-6 for microseconds exported as seconds), and `bounds`
  // are the Prometheus `le` bounds in the exported unit.
  LogLinearHistogram* GetHistogram(std::string_view name, std::string_view help,
                                   const Labels& labels, double scale, std::vector<double> bounds);

  // A value read when sampled (queue depth, outcome totals). `type` is
  // "gauge" or "counter". The callback is removed when the handle dies, so it
  // never outlives what it reads.
  class CallbackHandle {
   public:
    CallbackHandle() = default;
    CallbackHandle(MetricsRegistry* registry, uint64_t id) : registry_(registry), id_(id) {}
    CallbackHandle(CallbackHandle&& o) noexcept : registry_(o.registry_), id_(o.id_) {
      o.registry_ = nullptr;
    }
    CallbackHandle& operator=(CallbackHandle&& o) noexcept;
    CallbackHandle(const CallbackHandle&) = delete;
    CallbackHandle& operator=(const CallbackHandle&) = delete;
    ~CallbackHandle() { Reset(); }
    void Reset();

   private:
    MetricsRegistry* registry_ = nullptr;
    uint64_t id_ = 0;
  };
  [[nodiscard]] CallbackHandle AddCallback(std::string_view name, std::string_view help,
                                           std::string_view type, const Labels& labels,
                                           std::function<double()> read);

  // The current value of one series (a histogram's count), 0 if absent.
  double Value(std::string_view name, const Labels& labels = {}) const;
  // Every series of a family, by labels.
  std::vector<std::pair<Labels, double>> Values(std::string_view name) const;
  // The histogram of a series, or null.
  const LogLinearHistogram* FindHistogram(std::string_view name, const Labels& labels) const;

  // The Prometheus text exposition format (version 0.0.4).
  std::string RenderPrometheus() const;

 private:
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<LogLinearHistogram> histogram;
    std::function<double()> callback;
    uint64_t callback_id = 0;
  };
  struct Family {
    std::string help;
    std::string type;
    double scale = 1;
    std::vector<double> bounds;
    std::map<std::string, Series> series;  // by rendered labels
  };

  Series& SeriesFor(std::string_view name, std::string_view help, std::string_view type,
                    const Labels& labels);
  const Series* FindSeries(std::string_view name, const Labels& labels) const;
  static double Read(const Series& s);
  void RemoveCallback(uint64_t id);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  uint64_t next_callback_id_ = 1;
};

// `name{k="v",...}` label text (empty for no labels), escaped.
std::string RenderLabels(const Labels& labels);

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_METRICS_H_
