// What --listen adds around the pipeline: the UDP sockets (bound before
// anything else, so an address in use is bad configuration, found at once),
// the one decoder every parser thread shares, the templates file (loaded at
// start so a restart decodes v9/IPFIX data without waiting for the routers'
// next templates; rewritten atomically when templates change and at exit),
// the per-exporter metrics and the [NETFLOW] line.
#ifndef NF2INGEST_TOOLS_NF2INGEST_NETFLOW_COLLECTOR_H_
#define NF2INGEST_TOOLS_NF2INGEST_NETFLOW_COLLECTOR_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/metrics.h"
#include "stages/ingest/chunk_stages.h"
#include "stages/netflow/decoder.h"
#include "stages/sources/udp/udp_source.h"
#include "tools/nf2ingest/config.h"

namespace nf2 {

class NetflowCollector {
 public:
  // Binds the sockets and loads the templates file; on bad configuration
  // prints why (naming the setting) and returns null.
  static std::unique_ptr<NetflowCollector> Open(const Config& cfg);
  ~NetflowCollector();
  NetflowCollector(const NetflowCollector&) = delete;
  NetflowCollector& operator=(const NetflowCollector&) = delete;

  // Hands the pipeline its source and decoder.
  void Attach(PipelineOptions* pipeline);
  // Starts the background work: per-exporter metrics, the templates file.
  void Start(pipeline::MetricsRegistry* registry);
  // Stops it and saves the templates a last time.
  void Finish();

  // "[NETFLOW] datagrams=N ok=N ... kernel_drops=N".
  std::string SummaryLine(const DatagramCounts& counts) const;

 private:
  NetflowCollector(const Config& cfg, std::unique_ptr<UdpSource> source);
  void LoadTemplates();
  void SaveTemplatesIfChanged();
  void RefreshExporterMetrics();
  void ExpireIdlePending();
  void AddTotalSeries();
  void AddExporterSeries(const std::string& exporter);
  void Loop();

  const std::string templates_path_;
  std::unique_ptr<UdpSource> source_;
  netflow::Decoder decoder_;
  pipeline::MetricsRegistry* registry_ = nullptr;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;                                        // guarded by mu_
  std::string saved_templates_;                              // what the file holds; guarded by mu_
  std::map<std::string, netflow::ExporterStats> exporters_;  // by label; guarded by mu_
  netflow::DecoderSnapshot totals_;                          // guarded by mu_ (exporters left out)
  std::vector<pipeline::MetricsRegistry::CallbackHandle> series_;
};

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_NETFLOW_COLLECTOR_H_
