// The operator's window: Prometheus /metrics and /healthz on a thread of its
// own, so a slow scraper never touches the pipeline.
//
// One poll loop serves every connection: a client that trickles its request
// a byte at a time cannot hold a worker thread, cannot keep /healthz from
// answering, and cannot delay exit. Each connection gets a fixed deadline for
// its whole request and answer; the server answers one request per
// connection (Connection: close), which Prometheus and health probes accept.
#ifndef NF2INGEST_TOOLS_NF2INGEST_METRICS_SERVER_H_
#define NF2INGEST_TOOLS_NF2INGEST_METRICS_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "pipeline/metrics.h"

namespace nf2 {

// What the server does with one request, without sockets: the pure core.
struct MetricsReply {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

class MetricsServer {
 public:
  // healthy() returns whether all is well, and a one-line reason.
  using HealthFn = std::function<std::pair<bool, std::string>()>;

  struct Limits {
    // A connection that has not sent its whole request and taken its whole
    // answer within this time is closed.
    std::chrono::milliseconds connection_deadline{2000};
    size_t max_request_bytes = 8192;  // request line and headers
    size_t max_connections = 64;      // further ones are closed at once
  };

  // Binds host:port (port 0: any free port) and starts serving. A bind
  // failure is an error (the caller treats it as bad configuration).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port,
                                                              pipeline::MetricsRegistry* registry,
                                                              HealthFn healthy);
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port,
                                                              pipeline::MetricsRegistry* registry,
                                                              HealthFn healthy, Limits limits);
  ~MetricsServer();  // stops at once (slow clients are dropped) and joins
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

  // The answer to `request_head` (request line and headers), or nullopt while
  // the head is incomplete.
  static std::optional<MetricsReply> Answer(std::string_view request_head,
                                            pipeline::MetricsRegistry& registry,
                                            const HealthFn& healthy);

 private:
  class Loop;
  MetricsServer() = default;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_METRICS_SERVER_H_
