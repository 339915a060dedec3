#include "udp_export.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "netflow_v5.h"
#include "pacer.h"
#include "template_export.h"

namespace nf2::flowgen {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr uint64_t kBaseUptimeMs = 3'600'000;  // every exporter has been up for an hour
constexpr size_t kPacketBytes = 4096;

using AddrInfoPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

// The collector's address; nullptr (after saying why) when it does not resolve.
AddrInfoPtr ResolveCollector(const std::string& target) {
  std::string host;
  std::string port;
  SplitTarget(target, &host, &port);
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    std::fprintf(stderr, "flowgen: cannot resolve %s: %s\n", host.c_str(), gai_strerror(rc));
    return {nullptr, &freeaddrinfo};
  }
  return {res, &freeaddrinfo};
}

// Sends one packet, retrying while the kernel is short of buffers or an
// earlier datagram drew an ICMP refusal (the collector may start later).
// False (after saying why) on any other error.
bool SendPacket(int fd, const uint8_t* packet, size_t size, const addrinfo& to,
                const std::string& target) {
  for (;;) {
    if (sendto(fd, packet, size, 0, to.ai_addr, to.ai_addrlen) >= 0) return true;
    if (errno == EINTR || errno == ECONNREFUSED) continue;
    if (errno == ENOBUFS || errno == EAGAIN) {
      const timespec pause = {0, 100'000};
      nanosleep(&pause, nullptr);
      continue;
    }
    std::fprintf(stderr, "flowgen: sendto %s: %s\n", target.c_str(), std::strerror(errno));
    return false;
  }
}

// One simulated router: its own socket (source port), source id, sequence
// numbers and templates.
class Exporter {
 public:
  Exporter(const UdpExportOptions& o, int index, uint64_t start_ns)
      : options_(o), start_ns_(start_ns) {
    const uint64_t seed = o.seed + static_cast<uint64_t>(index) * 0x9e3779b97f4a7c15ULL;
    if (o.version == 5) {
      v5_ = std::make_unique<NetflowV5Generator>(seed, o.flows);
    } else {
      TemplateExportOptions t;
      t.version = o.version == 9 ? ExportVersion::kV9 : ExportVersion::kIpfix;
      t.seed = seed;
      t.flows_per_packet = o.flows;
      t.ipv6_ratio = o.ipv6_ratio;
      t.source_id = static_cast<uint32_t>(index + 1);
      t.sampling_interval = o.sampling_interval;
      t.alternate_layout = index % 2 == 1;
      templated_ = std::make_unique<TemplateExporter>(t);
    }
  }
  ~Exporter() {
    if (fd_ >= 0) close(fd_);
  }
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  bool Open(const addrinfo& to, int index) {
    fd_ = socket(to.ai_family, to.ai_socktype | SOCK_CLOEXEC, to.ai_protocol);
    if (fd_ < 0) {
      std::fprintf(stderr, "flowgen: socket: %s\n", std::strerror(errno));
      return false;
    }
    return options_.source_port == 0 || BindSourcePort(to, options_.source_port + index);
  }

  // The next data packet, preceded by the templates when they are due.
  bool SendNext(const addrinfo& to, std::string* expected) {
    const ExportTime t = Now();
    if (templated_ && TemplatesDue(t)) {
      const size_t size = templated_->BuildTemplatePacket(packet_, t);
      if (!SendPacket(fd_, packet_, size, to, options_.target)) return false;
      ++templates_;
      last_templates_ns_ = t.unix_ns;
    }
    const bool skip = options_.skip_every > 0 && (data_packets_ + 1) % options_.skip_every == 0;
    std::string* const want = skip ? nullptr : expected;
    const size_t size = v5_ ? BuildV5(t, want) : templated_->BuildDataPacket(packet_, t, want);
    ++data_packets_;
    if (skip) {
      ++skipped_;
      return true;
    }
    return SendPacket(fd_, packet_, size, to, options_.target);
  }

  uint64_t templates() const { return templates_; }
  uint64_t skipped() const { return skipped_; }

 private:
  // Sends from `port` on the wildcard address of the collector's family.
  bool BindSourcePort(const addrinfo& to, int port) {
    sockaddr_storage local = {};
    local.ss_family = static_cast<sa_family_t>(to.ai_family);
    if (to.ai_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6&>(local).sin6_port = htons(static_cast<uint16_t>(port));
    } else {
      reinterpret_cast<sockaddr_in&>(local).sin_port = htons(static_cast<uint16_t>(port));
    }
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), to.ai_addrlen) == 0) return true;
    std::fprintf(stderr, "flowgen: cannot send from port %d: %s\n", port, std::strerror(errno));
    return false;
  }

  ExportTime Now() const {
    ExportTime t;
    t.uptime_ms =
        static_cast<uint32_t>(kBaseUptimeMs + (NowNs(CLOCK_MONOTONIC) - start_ns_) / 1'000'000);
    t.unix_ns = NowNs(CLOCK_REALTIME);
    return t;
  }

  bool TemplatesDue(const ExportTime& t) const {
    if (data_packets_ < options_.templates_after) return false;
    if (templates_ == 0) return true;
    if (options_.template_interval_s <= 0) return false;
    return static_cast<double>(t.unix_ns - last_templates_ns_) >=
           options_.template_interval_s * 1e9;
  }

  size_t BuildV5(const ExportTime& t, std::string* expected) {
    return v5_->BuildPacket(packet_, t.uptime_ms,
                            static_cast<uint32_t>(t.unix_ns / 1'000'000'000ULL),
                            static_cast<uint32_t>(t.unix_ns % 1'000'000'000ULL), expected);
  }

  const UdpExportOptions& options_;
  const uint64_t start_ns_;
  int fd_ = -1;
  std::unique_ptr<NetflowV5Generator> v5_;
  std::unique_ptr<TemplateExporter> templated_;
  uint64_t data_packets_ = 0;
  uint64_t templates_ = 0;
  uint64_t skipped_ = 0;
  uint64_t last_templates_ns_ = 0;
  uint8_t packet_[kPacketBytes];
};

// Appends to the --expected file in large writes; false on a write error.
bool FlushExpected(int fd, std::string* pending, bool force) {
  if (fd < 0 || (!force && pending->size() < (1u << 20))) return true;
  const char* p = pending->data();
  size_t left = pending->size();
  while (left > 0) {
    const ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "flowgen: writing the expected records failed: %s\n",
                   std::strerror(errno));
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  pending->clear();
  return true;
}

}  // namespace

bool SplitTarget(const std::string& target, std::string* host, std::string* port) {
  if (!target.empty() && target.front() == '[') {
    const size_t close_bracket = target.find(']');
    if (close_bracket == std::string::npos || close_bracket + 1 >= target.size() ||
        target[close_bracket + 1] != ':') {
      return false;
    }
    *host = target.substr(1, close_bracket - 1);
    *port = target.substr(close_bracket + 2);
  } else {
    const size_t colon = target.rfind(':');
    if (colon == std::string::npos) return false;
    *host = target.substr(0, colon);
    *port = target.substr(colon + 1);
  }
  char* end = nullptr;
  const unsigned long n = std::strtoul(port->c_str(), &end, 10);
  return !host->empty() && !port->empty() && *end == '\0' && n >= 1 && n <= 65535;
}

int RunUdpExport(const UdpExportOptions& o, const volatile std::sig_atomic_t* stop) {
  const AddrInfoPtr to = ResolveCollector(o.target);
  if (!to) return kExitFailure;
  const uint64_t start_ns = NowNs(CLOCK_MONOTONIC);
  std::vector<std::unique_ptr<Exporter>> exporters;
  for (int i = 0; i < o.exporters; ++i) {
    exporters.push_back(std::make_unique<Exporter>(o, i, start_ns));
    if (!exporters.back()->Open(*to, i)) return kExitFailure;
  }
  int expected_fd = -1;
  if (!o.expected_path.empty()) {
    expected_fd = open(o.expected_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (expected_fd < 0) {
      std::fprintf(stderr, "flowgen: cannot open %s: %s\n", o.expected_path.c_str(),
                   std::strerror(errno));
      return kExitFailure;
    }
  }
  std::string expected;
  std::string* const want = expected_fd >= 0 ? &expected : nullptr;
  const uint64_t total = o.count == 0 ? UINT64_MAX : o.count;
  Pacer pacer(o.rate > 0 ? o.rate : 1.0, stop);
  uint64_t packets = 0;
  bool ok = true;
  while (ok && packets < total && !*stop) {
    const uint64_t burst_end = o.rate > 0 ? std::min(total, pacer.WaitForBudget(packets)) : total;
    while (ok && packets < burst_end && !*stop) {
      ok = exporters[packets % exporters.size()]->SendNext(*to, want) &&
           FlushExpected(expected_fd, &expected, false);
      ++packets;
    }
  }
  ok = ok && FlushExpected(expected_fd, &expected, true);
  if (expected_fd >= 0 && close(expected_fd) != 0) ok = false;
  uint64_t templates = 0;
  uint64_t skipped = 0;
  for (const auto& e : exporters) {
    templates += e->templates();
    skipped += e->skipped();
  }
  const uint64_t sent = packets - skipped;
  std::fprintf(stderr,
               "flowgen: packets=%" PRIu64 " flows=%" PRIu64 " templates=%" PRIu64
               " skipped=%" PRIu64 "\n",
               sent, sent * static_cast<uint64_t>(o.flows), templates, skipped);
  return ok ? kExitOk : kExitFailure;
}

}  // namespace nf2::flowgen
