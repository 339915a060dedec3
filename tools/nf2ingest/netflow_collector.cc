#include "tools/nf2ingest/netflow_collector.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/absl_compat.h"
#include "pipeline/log.h"
#include "stages/sources/checkpoint.h"

namespace nf2 {
namespace {

// How often exporter metrics are refreshed and the templates file looked at:
// often enough for a scrape, rarely enough that a template storm costs at
// most one small write every few seconds.
constexpr auto kRefreshEvery = std::chrono::seconds(1);
constexpr int kSaveEveryRefreshes = 3;

// The receive buffer the kernel granted, and how to raise its cap if it
// gave less than asked.
void ReportRcvbuf(const UdpSourceOptions& asked, const UdpSource& source) {
  if (source.rcvbuf_granted() >= asked.rcvbuf_bytes) return;
  LogWarn(absl::StrCat(
      "[NETFLOW] the kernel granted a receive buffer of ", source.rcvbuf_granted(),
      " bytes per socket, not the ", asked.rcvbuf_bytes,
      " asked for (--udp-rcvbuf / UDP_RCVBUF): bursts beyond it are dropped. Raise the cap with "
      "`sysctl -w net.core.rmem_max=",
      asked.rcvbuf_bytes, "` (or give nf2ingest CAP_NET_ADMIN)"));
}

// The file's text; nullopt with *error set when it exists but cannot be read.
std::optional<std::string> ReadWholeFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno != ENOENT) *error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

uint64_t SequenceGaps(const netflow::ExporterStats& e) {
  uint64_t gaps = 0;
  for (const auto& d : e.domains) gaps += d.sequence_gaps;
  return gaps;
}

// The largest sampling interval any of the exporter's domains reported.
uint64_t SamplingInterval(const netflow::ExporterStats& e) {
  uint64_t interval = 0;
  for (const auto& d : e.domains) interval = std::max(interval, d.sampling_interval);
  return interval;
}

}  // namespace

std::unique_ptr<NetflowCollector> NetflowCollector::Open(const Config& cfg) {
  absl::StatusOr<std::unique_ptr<UdpSource>> source = UdpSource::Open(cfg.udp);
  if (!source.ok()) {
    std::vector<std::string> urls;
    for (const ListenAddress& a : cfg.udp.listen) urls.push_back("netflow://" + a.ToString());
    std::fprintf(stderr, "nf2ingest: invalid setting --listen / LISTEN='%s': %s\n",
                 absl::StrJoin(urls, ",").c_str(), std::string(source.status().message()).c_str());
    return nullptr;
  }
  std::unique_ptr<NetflowCollector> collector(new NetflowCollector(cfg, *std::move(source)));
  LogInfo(absl::StrCat("[NETFLOW] listening on ", absl::StrJoin(collector->source_->bound(), ", "),
                       " (", cfg.udp.sockets_per_address, " sockets each, receive buffer ",
                       collector->source_->rcvbuf_granted(), " bytes)"));
  ReportRcvbuf(cfg.udp, *collector->source_);
  collector->LoadTemplates();
  return collector;
}

NetflowCollector::NetflowCollector(const Config& cfg, std::unique_ptr<UdpSource> source)
    : templates_path_(cfg.templates_path), source_(std::move(source)) {}

NetflowCollector::~NetflowCollector() { Finish(); }

void NetflowCollector::Attach(PipelineOptions* pipeline) {
  pipeline->udp = source_.get();
  pipeline->netflow = &decoder_;
}

// A file that cannot be used costs only the wait for the routers' next
// templates, so it is a warning, never a reason not to start.
void NetflowCollector::LoadTemplates() {
  if (templates_path_.empty()) return;
  std::string error;
  const std::optional<std::string> text = ReadWholeFile(templates_path_, &error);
  if (!text) {
    if (!error.empty()) {
      LogWarn(absl::StrCat("[NETFLOW] cannot read the templates file ", templates_path_, " (",
                           error, "): starting without templates"));
    }
    return;
  }
  if (absl::Status st = decoder_.LoadTemplates(*text); !st.ok()) {
    LogWarn(absl::StrCat("[NETFLOW] the templates file ", templates_path_,
                         " is unusable: starting without templates (", st.message(), ")"));
    return;
  }
  saved_templates_ = *text;
  LogInfo(absl::StrCat("[NETFLOW] loaded ", decoder_.Snapshot().templates_known, " templates from ",
                       templates_path_));
}

void NetflowCollector::SaveTemplatesIfChanged() {
  if (templates_path_.empty()) return;
  std::string text = decoder_.SaveTemplates();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (text == saved_templates_) return;
  }
  if (absl::Status st = checkpoint::WriteAtomically(templates_path_, text); !st.ok()) {
    LogWarn(absl::StrCat("[NETFLOW] cannot write the templates file ", templates_path_, ": ",
                         st.message()));
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  saved_templates_ = std::move(text);
}

void NetflowCollector::Start(pipeline::MetricsRegistry* registry) {
  registry_ = registry;
  if (registry_) AddTotalSeries();
  thread_ = std::thread([this] { Loop(); });
}

// The decoder's totals, read from the latest snapshot when scraped.
void NetflowCollector::AddTotalSeries() {
  struct Row {
    const char* name;
    const char* help;
    const char* type;
    uint64_t (*read)(const netflow::DecoderSnapshot&);
  };
  static constexpr Row kRows[] = {
      {"nf2ingest_netflow_templates", "NetFlow v9/IPFIX templates known.", "gauge",
       [](const netflow::DecoderSnapshot& s) { return s.templates_known; }},
      {"nf2ingest_netflow_pending_sets", "Data sets waiting for their template.", "gauge",
       [](const netflow::DecoderSnapshot& s) { return s.pending_sets; }},
      {"nf2ingest_netflow_expired_sets_total",
       "Data sets dropped while waiting for their template (too old, or too many).", "counter",
       [](const netflow::DecoderSnapshot& s) { return s.pending_expired + s.pending_dropped; }},
  };
  for (const Row& row : kRows) {
    series_.push_back(registry_->AddCallback(row.name, row.help, row.type, {}, [this, row] {
      std::lock_guard<std::mutex> lock(mu_);
      return static_cast<double>(row.read(totals_));
    }));
  }
}

void NetflowCollector::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (int round = 1; !stop_; ++round) {
    wake_.wait_for(lock, kRefreshEvery, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    ExpireIdlePending();
    RefreshExporterMetrics();
    if (round % kSaveEveryRefreshes == 0) SaveTemplatesIfChanged();
    lock.lock();
  }
}

void NetflowCollector::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  RefreshExporterMetrics();
  SaveTemplatesIfChanged();
}

// Decoding expires an exporter's old waiting data only when that exporter
// sends again; this catches the exporters that went silent.
void NetflowCollector::ExpireIdlePending() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const uint64_t now_ns =
      static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(now.tv_nsec);
  decoder_.ExpirePending(now_ns);  // counted in the decoder's totals
}

// Exporters come and go while running: each new one gets its series once;
// values are read from the latest snapshot when scraped.
void NetflowCollector::RefreshExporterMetrics() {
  netflow::DecoderSnapshot snapshot = decoder_.Snapshot();
  std::vector<std::string> added;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (netflow::ExporterStats& e : snapshot.exporters) {
      std::string label = e.exporter.ToString();
      if (exporters_.find(label) == exporters_.end()) added.push_back(label);
      exporters_[std::move(label)] = std::move(e);
    }
    snapshot.exporters.clear();
    totals_ = std::move(snapshot);
  }
  // Registering takes the registry's lock, which a scrape holds while it
  // reads ours: never hold both.
  for (const std::string& label : added) AddExporterSeries(label);
}

void NetflowCollector::AddExporterSeries(const std::string& exporter) {
  if (!registry_) return;
  using Read = uint64_t (*)(const netflow::ExporterStats&);
  struct Row {
    const char* name;
    const char* help;
    const char* type;
    Read read;
    double scale;
  };
  static constexpr Row kRows[] = {
      {"nf2ingest_netflow_exporter_datagrams_total", "Datagrams decoded per exporter.", "counter",
       [](const netflow::ExporterStats& e) { return e.datagrams; }, 1},
      {"nf2ingest_netflow_exporter_flows_total", "Flow records per exporter.", "counter",
       [](const netflow::ExporterStats& e) { return e.flows; }, 1},
      // A gauge, not a counter: a datagram that arrives late (two parser
      // threads may decode one exporter out of order) fills its gap again.
      {"nf2ingest_netflow_exporter_sequence_gaps",
       "Sequence number jumps per exporter not filled by late datagrams (export packets lost "
       "on the way).",
       "gauge", SequenceGaps, 1},
      {"nf2ingest_netflow_exporter_last_seen_seconds",
       "When the exporter's last datagram arrived (Unix seconds).", "gauge",
       [](const netflow::ExporterStats& e) { return e.last_seen_unix_ns; }, 1e-9},
      {"nf2ingest_netflow_exporter_sampling_interval",
       "Sampling interval the exporter reports (1 in N; 0: not reported). Bytes and packets are "
       "not scaled by it.",
       "gauge", SamplingInterval, 1},
  };
  for (const Row& row : kRows) {
    series_.push_back(registry_->AddCallback(
        row.name, row.help, row.type, {{"exporter", exporter}}, [this, exporter, row] {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = exporters_.find(exporter);
          return it == exporters_.end() ? 0.0
                                        : static_cast<double>(row.read(it->second)) * row.scale;
        }));
  }
}

std::string NetflowCollector::SummaryLine(const DatagramCounts& counts) const {
  const UdpSourceStats udp = source_->stats();
  std::string line = absl::StrCat("[NETFLOW] datagrams=", udp.datagrams);
  for (size_t i = 0; i < counts.by_outcome.size(); ++i) {
    absl::StrAppend(&line, " ",
                    Av(netflow::DatagramOutcomeName(static_cast<netflow::DatagramOutcome>(i))), "=",
                    counts.by_outcome[i]);
  }
  const netflow::DecoderSnapshot snapshot = decoder_.Snapshot();
  absl::StrAppend(&line, " v5=", counts.v5, " v9=", counts.v9, " ipfix=", counts.ipfix,
                  " options_records=", counts.options_records,
                  " templates=", snapshot.templates_known, " exporters=", snapshot.exporters.size(),
                  " pending_sets=", snapshot.pending_sets,
                  " expired_sets=", snapshot.pending_expired + snapshot.pending_dropped,
                  " too_large=", udp.truncated, " kernel_drops=", udp.kernel_drops);
  return line;
}

}  // namespace nf2
