#include "tools/nf2ingest/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace nf2 {
namespace {

using Clock = std::chrono::steady_clock;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Service Unavailable";
  }
}

std::string Serialize(const MetricsReply& a, bool head_only) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", a.status, " ", Reason(a.status), "\r\nContent-Type: ", a.content_type,
      "\r\nContent-Length: ", a.body.size(), "\r\nConnection: close\r\n\r\n");
  if (!head_only) out += a.body;
  return out;
}

MetricsReply Plain(int status, std::string body) {
  return MetricsReply{status, "text/plain", std::move(body)};
}

// A listening TCP socket on host:port, non-blocking; port 0 picks one.
absl::StatusOr<int> Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc =
      getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen on ", host, ":", port, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen on ", host, ":", port, " (in use, or not a local address)"));
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

}  // namespace

std::optional<MetricsReply> MetricsServer::Answer(std::string_view request_head,
                                                  pipeline::MetricsRegistry& registry,
                                                  const HealthFn& healthy) {
  if (request_head.find("\r\n\r\n") == std::string_view::npos &&
      request_head.find("\n\n") == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view line = request_head.substr(0, request_head.find_first_of("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Plain(400, "bad request\n");
  const std::string_view method = line.substr(0, sp1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  path = path.substr(0, path.find('?'));
  if (method != "GET" && method != "HEAD") return Plain(405, "GET only\n");
  if (path == "/metrics") {
    return MetricsReply{200, "text/plain; version=0.0.4; charset=utf-8",
                        registry.RenderPrometheus()};
  }
  if (path == "/healthz") {
    auto [ok, why] = healthy();
    return Plain(ok ? 200 : 503, why + "\n");
  }
  return Plain(404, "not found: /metrics and /healthz are served here\n");
}

// The poll loop: the listening socket, a private eventfd that asks it to
// stop, and the open connections, each with its deadline.
class MetricsServer::Loop {
 public:
  Loop(int listen_fd, pipeline::MetricsRegistry* registry, HealthFn healthy, Limits limits)
      : listen_fd_(listen_fd),
        stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        registry_(registry),
        healthy_(std::move(healthy)),
        limits_(limits) {}
  ~Loop() {
    for (const Connection& c : connections_) close(c.fd);
    close(listen_fd_);
    if (stop_fd_ >= 0) close(stop_fd_);
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  bool ok() const { return stop_fd_ >= 0; }
  void Stop() {
    const uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
  }

  void Run() {
    std::vector<pollfd> fds;
    while (true) {
      DropExpired();
      fds.assign({{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}});
      for (const Connection& c : connections_) {
        fds.push_back({c.fd, static_cast<short>(c.answer.empty() ? POLLIN : POLLOUT), 0});
      }
      if (poll(fds.data(), fds.size(), NextTimeoutMs()) < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) return;
      // Connections first: Accept may add to the list the fds were built from.
      for (size_t i = fds.size(); i-- > 2;) {
        if (fds[i].revents != 0) Service(i - 2);
      }
      if (fds[1].revents & POLLIN) Accept();
    }
  }

 private:
  struct Connection {
    int fd = -1;
    Clock::time_point deadline;
    std::string request;
    std::string answer;  // empty until the request is complete
    size_t sent = 0;
  };

  void Accept() {
    while (true) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (connections_.size() >= limits_.max_connections) {
        close(fd);
        continue;
      }
      connections_.push_back(Connection{fd, Clock::now() + limits_.connection_deadline, {}, {}, 0});
    }
  }

  // Reads or writes what the connection is ready for; closes it when done or broken.
  void Service(size_t index) {
    Connection& c = connections_[index];
    const bool keep = c.answer.empty() ? ReadRequest(c) : WriteAnswer(c);
    if (!keep) CloseAt(index);
  }

  bool ReadRequest(Connection& c) {
    char buf[2048];
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
    if (n > 0) c.request.append(buf, static_cast<size_t>(n));
    if (c.request.size() > limits_.max_request_bytes) {
      c.answer = Serialize(Plain(431, "request too large\n"), false);
      return WriteAnswer(c);
    }
    std::optional<MetricsReply> answer = Answer(c.request, *registry_, healthy_);
    if (!answer) return true;
    c.answer = Serialize(*answer, c.request.rfind("HEAD ", 0) == 0);
    return WriteAnswer(c);
  }

  static bool WriteAnswer(Connection& c) {
    while (c.sent < c.answer.size()) {
      const ssize_t n =
          send(c.fd, c.answer.data() + c.sent, c.answer.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      c.sent += static_cast<size_t>(n);
    }
    return false;  // answered: close
  }

  void CloseAt(size_t index) {
    close(connections_[index].fd);
    connections_.erase(connections_.begin() + static_cast<std::ptrdiff_t>(index));
  }

  void DropExpired() {
    const Clock::time_point now = Clock::now();
    for (size_t i = connections_.size(); i-- > 0;) {
      if (connections_[i].deadline <= now) CloseAt(i);
    }
  }

  int NextTimeoutMs() const {
    if (connections_.empty()) return -1;
    Clock::time_point first = connections_.front().deadline;
    for (const Connection& c : connections_) first = std::min(first, c.deadline);
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(first - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, wait.count()));
  }

  const int listen_fd_;
  const int stop_fd_;
  pipeline::MetricsRegistry* const registry_;
  const HealthFn healthy_;
  const Limits limits_;
  std::vector<Connection> connections_;
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& host, int port, pipeline::MetricsRegistry* registry, HealthFn healthy) {
  return Start(host, port, registry, std::move(healthy), Limits{});
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& host, int port, pipeline::MetricsRegistry* registry, HealthFn healthy,
    Limits limits) {
  absl::StatusOr<int> fd = Listen(host, port);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->port_ = BoundPort(*fd);
  s->loop_ = std::make_unique<Loop>(*fd, registry, std::move(healthy), limits);
  if (!s->loop_->ok()) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  Loop* loop = s->loop_.get();
  s->thread_ = std::thread([loop] { loop->Run(); });
  return s;
}

MetricsServer::~MetricsServer() {
  if (loop_) loop_->Stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace nf2
