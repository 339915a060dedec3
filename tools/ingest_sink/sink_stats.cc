#include "sink_stats.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>

namespace ingest_sink {

SinkStats::SinkStats(Clock::time_point start) : start_(start) {}

int64_t SinkStats::SecondOf(Clock::time_point t) const {
  return std::chrono::duration_cast<std::chrono::seconds>(t - start_).count();
}

void SinkStats::RecordIngest(int status, uint64_t wire_bytes, uint64_t records,
                             Clock::time_point now) {
  const bool accepted = status >= 200 && status < 300;
  std::lock_guard<std::mutex> lock(mu_);
  ++totals_.requests_total;
  totals_.bytes_received += wire_bytes;
  ++totals_.status_counts[status == 0 ? "closed" : std::to_string(status)];
  if (!accepted) return;
  ++totals_.batches_accepted;
  totals_.records_processed += records;
  const int64_t second = std::max<int64_t>(SecondOf(now), 0);
  SecondBucket& bucket = buckets_[static_cast<size_t>(second) % buckets_.size()];
  if (bucket.second != second) bucket = SecondBucket{second, 0};
  bucket.records += records;
}

MetricsSnapshot SinkStats::Snapshot(Clock::time_point now, int window_s) const {
  window_s = std::clamp(window_s, 1, kMaxMetricsWindowS);
  const double uptime_s = std::chrono::duration<double>(now - start_).count();
  const int64_t now_second = SecondOf(now);
  std::lock_guard<std::mutex> lock(mu_);
  MetricsSnapshot snapshot = totals_;
  snapshot.window_s = window_s;
  snapshot.uptime_s = uptime_s;
  uint64_t in_window = 0;
  for (const SecondBucket& bucket : buckets_) {
    if (bucket.second >= 0 && bucket.second > now_second - window_s) in_window += bucket.records;
  }
  // Averaged over the window, or over the uptime while the sink is younger than the window.
  const double span_s = std::max(std::min(static_cast<double>(window_s), uptime_s), 1e-3);
  snapshot.eps = static_cast<double>(in_window) / span_s;
  return snapshot;
}

std::string MetricsJson(const MetricsSnapshot& s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("requests_total");
  w.Uint64(s.requests_total);
  w.Key("records_processed");
  w.Uint64(s.records_processed);
  w.Key("eps");
  w.Double(s.eps);
  w.Key("window");
  w.Int(s.window_s);
  w.Key("bytes_received");
  w.Uint64(s.bytes_received);
  w.Key("batches_accepted");
  w.Uint64(s.batches_accepted);
  w.Key("status_counts");
  w.StartObject();
  for (const auto& [status, count] : s.status_counts) {
    w.Key(status.c_str());
    w.Uint64(count);
  }
  w.EndObject();
  w.Key("uptime_s");
  w.Double(s.uptime_s);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool ParseWindow(const std::string& value, int& window_s) {
  if (value.empty()) {
    window_s = kDefaultMetricsWindowS;
    return true;
  }
  int64_t parsed = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size() || parsed <= 0) return false;
  window_s = static_cast<int>(std::min<int64_t>(parsed, kMaxMetricsWindowS));
  return true;
}

}  // namespace ingest_sink
