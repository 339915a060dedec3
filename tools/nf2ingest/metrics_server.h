// The operator's window: Prometheus /metrics and /healthz over cpp-httplib,
// on a thread of its own so a slow scraper never touches the pipeline.
#ifndef NF2INGEST_TOOLS_NF2INGEST_METRICS_SERVER_H_
#define NF2INGEST_TOOLS_NF2INGEST_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "pipeline/metrics.h"

namespace httplib {
class Server;
}

namespace nf2 {

class MetricsServer {
 public:
  // healthy() returns whether all is well, and a one-line reason.
  using HealthFn = std::function<std::pair<bool, std::string>()>;

  // Binds host:port (port 0: any free port) and starts serving. A bind
  // failure is an error (the caller treats it as bad configuration).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port,
                                                              pipeline::MetricsRegistry* registry,
                                                              const HealthFn& healthy);
  ~MetricsServer();  // stops and joins
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_METRICS_SERVER_H_
