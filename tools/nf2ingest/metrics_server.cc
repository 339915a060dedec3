#include "tools/nf2ingest/metrics_server.h"

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace nf2 {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& host, int port, pipeline::MetricsRegistry* registry,
    const HealthFn& healthy) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->server_ = std::make_unique<httplib::Server>();
  s->server_->Get("/metrics", [registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry->RenderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s->server_->Get("/healthz", [healthy](const httplib::Request&, httplib::Response& res) {
    auto [ok, why] = healthy();
    res.status = ok ? 200 : 503;
    res.set_content(why + "\n", "text/plain");
  });
  // Two threads: a scrape and a health probe never wait for each other.
  s->server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  if (port == 0) {
    s->port_ = s->server_->bind_to_any_port(host);
    if (s->port_ < 0) {
      return absl::InvalidArgumentError(absl::StrCat("cannot listen on ", host, ":0"));
    }
  } else {
    if (!s->server_->bind_to_port(host, port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot listen on ", host, ":", port, " (in use, or not a local address)"));
    }
    s->port_ = port;
  }
  httplib::Server* server = s->server_.get();
  s->thread_ = std::thread([server] { server->listen_after_bind(); });
  return s;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace nf2
