// ingest-sink: a reference implementation of the telemetry API (docs/contract.md §3) for
// demos, integration tests and load tests. The answers are decided in sink_logic.cc; this file
// only wires them to HTTP (cpp-httplib), files and signals.

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "pipeline/signal_watcher.h"
#include "sink_faults.h"
#include "sink_logic.h"
#include "sink_options.h"
#include "sink_stats.h"

namespace ingest_sink {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kJsonType[] = "application/json";
constexpr char kIngestPath[] = "/v1/ingest";
// Where the client's Content-Encoding and Content-Type are kept while cpp-httplib reads the
// body (see ExposeRawBody).
constexpr char kWireEncodingHeader[] = "X-Ingest-Sink-Wire-Encoding";
constexpr char kWireContentTypeHeader[] = "X-Ingest-Sink-Wire-Content-Type";
// cpp-httplib reads bodies up to this size so that our own 413 (with the JSON the contract
// specifies) answers them; only bodies beyond it get the transport's 413.
constexpr uint64_t kMinPayloadCap = kMaxDecompressedBytes;
// Keep-alive lets clients reuse connections like they do with the real API; cpp-httplib's
// default of 5 requests per connection would force constant reconnects under load.
constexpr size_t kKeepAliveMaxRequests = 1000000;

// Appends accepted records to --out. One writer at a time, so lines never interleave.
class RecordLog {
 public:
  RecordLog() = default;
  ~RecordLog() {
    if (file_ != nullptr) std::fclose(file_);
  }
  RecordLog(const RecordLog&) = delete;
  RecordLog& operator=(const RecordLog&) = delete;

  bool Open(const std::string& path) {
    file_ = std::fopen(path.c_str(), "a");
    return file_ != nullptr;
  }

  bool enabled() const { return file_ != nullptr; }

  // Flushed before returning so that a test reading the file after the 202 sees the records.
  void Append(const std::vector<std::string>& lines) {
    if (file_ == nullptr || lines.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& line : lines) {
      std::fwrite(line.data(), 1, line.size(), file_);
      std::fputc('\n', file_);
    }
    if (std::fflush(file_) != 0 && !reported_error_) {
      reported_error_ = true;
      std::cerr << "ingest-sink: writing --out failed; records may be missing\n";
    }
  }

 private:
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  bool reported_error_ = false;
};

// Moves every `name` header of the request to the single header `alias` (values joined with
// ", "), so that cpp-httplib's body reading no longer acts on it. The pre-routing hook that
// calls this only receives a const Request, but the object behind it is cpp-httplib's own
// non-const per-request Request, so modifying it through const_cast is well-defined.
void MoveHeaderAside(const httplib::Request& req, const char* name, const char* alias) {
  auto& headers = const_cast<httplib::Request&>(req).headers;
  headers.erase(alias);
  std::string value;
  for (auto [it, end] = headers.equal_range(name); it != end; ++it) {
    value += (value.empty() ? "" : ", ") + it->second;
  }
  if (headers.erase(name) > 0) headers.emplace(alias, value);
}

// Runs before cpp-httplib reads the body, to make it hand over the bytes as they were sent:
// - The Debian library is built with zlib and would gunzip bodies itself: without any cap on
//   the inflated size (a decompression bomb), with an empty 400 of its own for corrupt data,
//   and losing the size on the wire that the 413 limit is about.
// - It answers 413 to any application/x-www-form-urlencoded body over 8 KiB, which is what
//   `curl --data-binary` sends unless told otherwise; the API reads JSON whatever the type.
void ExposeRawBody(const httplib::Request& req) {
  MoveHeaderAside(req, "Content-Encoding", kWireEncodingHeader);
  MoveHeaderAside(req, "Content-Type", kWireContentTypeHeader);
}

std::string NumericPeer(const sockaddr_storage& addr, socklen_t len, int& port) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof(host), service,
                  sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "";
  }
  port = std::atoi(service);
  return host;
}

// Calls `visit(fd, peer_addr, peer_port)` for each connected socket of this process (the
// sink's accepted connections) until it returns true. cpp-httplib gives handlers no access to
// their socket, so this is how the sink finds them.
template <typename Visitor>
void ForEachConnection(Visitor visit) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&addr), &len) != 0) continue;
    int port = -1;
    const std::string host = NumericPeer(addr, len, port);
    if (visit(static_cast<int>(fd), host, port)) break;
  }
  closedir(dir);
}

// The `close` fault: finds the request's socket by its peer address (the numeric form
// cpp-httplib reports too) and shuts it down. cpp-httplib's own write of the answer then fails
// and it closes the descriptor as usual; we never close it ourselves, which could race with
// descriptor reuse.
bool ShutdownConnection(const std::string& peer_addr, int peer_port) {
  bool found = false;
  ForEachConnection([&](int fd, const std::string& host, int port) {
    if (host != peer_addr || port != peer_port) return false;
    found = shutdown(fd, SHUT_RDWR) == 0;
    return true;
  });
  return found;
}

// Connections with a request between "headers read" (pre-routing) and "answer written"
// (logger). Shutdown leaves these alone so that their answers still reach the client.
class ActiveRequests {
 public:
  void Begin(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    active_.insert(Peer(req.remote_addr, req.remote_port));
  }

  void End(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    // Answers cpp-httplib gives before routing (bad request line) never had a Begin.
    if (auto it = active_.find(Peer(req.remote_addr, req.remote_port)); it != active_.end()) {
      active_.erase(it);
    }
  }

  bool Contains(const std::string& addr, int port) const {
    std::lock_guard<std::mutex> lock(mu_);
    return active_.count(Peer(addr, port)) > 0;
  }

 private:
  static std::string Peer(const std::string& addr, int port) {
    return addr + "|" + std::to_string(port);
  }

  mutable std::mutex mu_;
  std::multiset<std::string> active_;
};

// After stop(), cpp-httplib's workers still wait up to the keep-alive timeout (5 s) on idle
// kept-alive connections before the process can exit. Ending the read side of the idle ones
// wakes those workers at once. Busy connections are left alone: cpp-httplib treats a socket
// whose read side has ended as dead and would not write their answer.
void EndIdleConnections(const ActiveRequests& active) {
  ForEachConnection([&](int fd, const std::string& host, int port) {
    if (!active.Contains(host, port)) shutdown(fd, SHUT_RD);
    return false;
  });
}

// cpp-httplib's default sets SO_REUSEPORT, which lets a second sink bind a port that is in
// use and silently share its traffic; a busy port must be an error instead. SO_REUSEADDR
// alone still allows restarting on a port whose old connections are in TIME_WAIT.
void ReuseAddressOnly(int sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

std::string UrlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

class SinkServer {
 public:
  SinkServer(const SinkOptions& options, std::string key, RecordLog& log)
      : options_(options),
        key_(std::move(key)),
        log_(log),
        payload_cap_(std::max(kMinPayloadCap, options.ingest.max_body_bytes)),
        faults_(MakeFaultConfig(options)),
        stats_(Clock::now()) {
    Configure();
  }

  // Binds the listening socket; returns the real port, or -1.
  int Bind() {
    if (options_.port == 0) return server_.bind_to_any_port(options_.host);
    return server_.bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }

  bool Run() { return server_.listen_after_bind(); }
  bool running() const { return server_.is_running(); }
  // Stops accepting, lets requests being handled finish and drops idle connections.
  void Stop() {
    server_.stop();
    EndIdleConnections(active_);
  }

  MetricsSnapshot Totals() const { return stats_.Snapshot(Clock::now(), kDefaultMetricsWindowS); }

 private:
  static FaultConfig MakeFaultConfig(const SinkOptions& options) {
    FaultConfig config;
    config.script = options.script;
    config.fail_rate = options.fail_rate;
    config.fail_status = options.fail_status;
    config.seed = options.seed ? *options.seed : std::random_device()();
    config.rate_limit_per_min = options.ingest.rate_limit_per_min;
    return config;
  }

  void Configure() {
    // With --capacity, every client connection needs a thread to be told 503;
    // cpp-httplib holds a thread per kept-alive connection.
    const int threads = options_.ingest.MaxCapacity() > 0
                            ? std::max(options_.threads, options_.ingest.MaxCapacity() + 128)
                            : options_.threads;
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_.set_payload_max_length(payload_cap_);
    server_.set_keep_alive_max_count(kKeepAliveMaxRequests);
    // Small JSON answers on kept-alive connections would otherwise wait on Nagle + delayed ACK.
    server_.set_tcp_nodelay(true);
    server_.set_socket_options(ReuseAddressOnly);
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      active_.Begin(req);
      ExposeRawBody(req);
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // Called once the answer has been written.
    server_.set_logger(
        [this](const httplib::Request& req, const httplib::Response&) { active_.End(req); });
    server_.Post(kIngestPath, [this](const httplib::Request& req, httplib::Response& res) {
      HandleIngest(req, res, req.body.size());
    });
    server_.Get("/v1/health", [this](const httplib::Request& req, httplib::Response& res) {
      HandleHealth(req, res);
    });
    server_.Get("/v1/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      HandleMetrics(req, res);
    });
    server_.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) {
          return HandleError(req, res);
        }));
  }

  bool Authorized(const httplib::Request& req) const {
    return IsAuthorized(req.get_header_value("Authorization"), key_);
  }

  static void Reply(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body, kJsonType);
  }

  // `wire_size` is the body's size, or its Content-Length when cpp-httplib refused to read it.
  void HandleIngest(const httplib::Request& req, httplib::Response& res, uint64_t wire_size) {
    const int capacity = options_.ingest.CapacityAt(Clock::now() - started_);
    if (capacity > 0 && in_service_.fetch_add(1) >= capacity) {
      in_service_.fetch_sub(1);
      const IngestAnswer busy = FaultAnswer(503, options_.ingest, wire_size);
      stats_.RecordIngest(busy.status, wire_size, 0, Clock::now());
      Reply(res, busy.status, busy.body);
      if (busy.retry_after_s > 0) res.set_header("Retry-After", std::to_string(busy.retry_after_s));
      return;
    }
    Serve(req, res, wire_size);
    if (capacity > 0) in_service_.fetch_sub(1);
  }

  void Serve(const httplib::Request& req, httplib::Response& res, uint64_t wire_size) {
    const std::string authorization = req.get_header_value("Authorization");
    const std::string encoding = req.get_header_value(kWireEncodingHeader);
    const std::string batch_records = req.get_header_value("X-Batch-Records");
    IngestRequest request;
    request.authorization = authorization;
    request.content_encoding = encoding;
    request.body = req.body;
    request.batch_records = batch_records;
    request.wire_size = wire_size;
    IngestAnswer answer = DecideIngest(
        request, key_, options_.ingest, [this] { return faults_.Next(Clock::now()); },
        log_.enabled());
    if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    log_.Append(answer.record_lines);
    stats_.RecordIngest(answer.status, wire_size, answer.records_processed, Clock::now());
    if (answer.status == 0) {
      if (ShutdownConnection(req.remote_addr, req.remote_port)) {
        active_.End(req);  // Nothing will be written, so the logger may never see it.
      } else {
        // Could not find the socket (no /proc?): 502 is the closest observable substitute.
        Reply(res, 502, ErrorBody("bad_gateway"));
      }
      return;
    }
    Reply(res, answer.status, answer.body);
    if (answer.retry_after_s > 0) {
      res.set_header("Retry-After", std::to_string(answer.retry_after_s));
    }
  }

  void HandleHealth(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req)) return Reply(res, 401, UnauthorizedBody());
    Reply(res, 200, R"({"status":"ok"})");
  }

  void HandleMetrics(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req)) return Reply(res, 401, UnauthorizedBody());
    int window_s = kDefaultMetricsWindowS;
    if (!ParseWindow(req.get_param_value("window"), window_s)) {
      return Reply(res, 400, ErrorBody("invalid_window"));
    }
    Reply(res, 200, MetricsJson(stats_.Snapshot(Clock::now(), window_s)));
  }

  // Gives answers cpp-httplib produced itself (unknown path, body over the payload cap, bad
  // request line) the JSON bodies clients expect. Our handlers' answers already have a body.
  httplib::Server::HandlerResponse HandleError(const httplib::Request& req,
                                               httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413 && req.path == kIngestPath) {
      // Same checks as any ingest request. The body was skipped for being over the payload cap,
      // so its declared length (or, if it had none, "more than the cap") is the size.
      const uint64_t declared = req.get_header_value<uint64_t>("Content-Length");
      HandleIngest(req, res, std::max(declared, payload_cap_ + 1));
      return httplib::Server::HandlerResponse::Handled;
    }
    Reply(res, res.status, ErrorBody(res.status == 404 ? "not_found" : "http_error"));
    return httplib::Server::HandlerResponse::Handled;
  }

  const SinkOptions& options_;
  const std::string key_;
  RecordLog& log_;
  const uint64_t payload_cap_;  // Largest body cpp-httplib reads for us.
  FaultInjector faults_;
  SinkStats stats_;
  ActiveRequests active_;
  const Clock::time_point started_ = Clock::now();  // for --capacity-schedule
  std::atomic<int> in_service_{0};                  // ingest requests being served (--capacity)
  httplib::Server server_;
};

// Turns a stop signal into a server stop, in normal code on the signal watcher's thread. A
// signal can arrive before the server listens (even before it exists); cpp-httplib ignores stop()
// until it is listening, so the stop is retried until it takes effect or the server has ended.
class ServerStopper {
 public:
  void OnSignal() {
    signalled_ = true;
    while (!done_) {
      SinkServer* server = server_.load();
      if (server && server->running()) {
        server->Stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void Serving(SinkServer* server) { server_ = server; }
  void Done() {
    done_ = true;
    server_ = nullptr;
  }
  bool signalled() const { return signalled_; }

 private:
  std::atomic<SinkServer*> server_{nullptr};
  std::atomic<bool> done_{false};
  std::atomic<bool> signalled_{false};
};

int Serve(const SinkOptions& options, ServerStopper& stopper) {
  std::string error;
  const std::optional<std::string> key = ResolveKey(options.key_file, std::getenv("KEY"), error);
  if (!key) {
    std::cerr << "ingest-sink: " << error << "\n";
    return 2;
  }
  RecordLog log;
  if (!options.out_path.empty() && !log.Open(options.out_path)) {
    std::cerr << "ingest-sink: --out: cannot open '" << options.out_path << "' for appending\n";
    return 2;
  }
  SinkServer server(options, *key, log);
  const int port = server.Bind();
  if (port <= 0) {
    std::cerr << "ingest-sink: cannot listen on " << options.host << ":" << options.port << "\n";
    return 1;
  }
  std::cout << "ingest-sink listening on http://" << UrlHost(options.host) << ":" << port
            << std::endl;
  stopper.Serving(&server);
  server.Run();
  stopper.Done();
  const MetricsSnapshot totals = server.Totals();
  std::cerr << "ingest-sink: requests=" << totals.requests_total
            << " records=" << totals.records_processed << std::endl;
  return stopper.signalled() ? 0 : 1;
}

// SIGINT, SIGTERM and SIGHUP stop the server; the watcher starts before any other thread so
// that every thread inherits the blocked signals.
int Run(const SinkOptions& options) {
  ServerStopper stopper;
  auto watcher = nf2::pipeline::SignalWatcher::Start(
      {SIGINT, SIGTERM, SIGHUP},
      [&stopper](const nf2::pipeline::SignalEvent&) { stopper.OnSignal(); });
  if (!watcher.ok()) {
    std::cerr << "ingest-sink: cannot watch signals: " << watcher.status().message() << "\n";
    return 1;
  }
  const int code = Serve(options, stopper);
  stopper.Done();  // a signal callback still waiting for the server gives up
  return code;
}

}  // namespace
}  // namespace ingest_sink

int main(int argc, char** argv) {
  using ingest_sink::ParsedCommandLine;
  // A client that disconnects must not kill the sink when an answer is written to it.
  signal(SIGPIPE, SIG_IGN);
  const ParsedCommandLine parsed =
      ingest_sink::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
  switch (parsed.kind) {
    case ParsedCommandLine::Kind::kHelp:
      std::cout << ingest_sink::HelpText();
      return 0;
    case ParsedCommandLine::Kind::kError:
      std::cerr << "ingest-sink: " << parsed.error << "\n";
      return 2;
    case ParsedCommandLine::Kind::kRun:
      break;
  }
  return ingest_sink::Run(parsed.options);
}
