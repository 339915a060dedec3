#include "stages/sources/udp/udp_socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace nf2 {
namespace {

using AddrInfoPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

absl::StatusOr<AddrInfoPtr> Resolve(const ListenAddress& address) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(address.port);
  if (const int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve ", address.host, ": ", gai_strerror(rc)));
  }
  return AddrInfoPtr(res, &freeaddrinfo);
}

absl::Status Errno(const ListenAddress& address, const char* what) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " ", address.ToString(), ": ", std::strerror(errno)));
}

// The kernel reports twice what it reserves for data (bookkeeping included);
// half of it is what was asked for.
int GrantedRcvbuf(int fd) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &len) != 0) return 0;
  return value / 2;
}

void AskForRcvbuf(int fd, int bytes) {
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it SO_RCVBUF is capped at
  // net.core.rmem_max, which the caller reports.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0) return;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

uint16_t BoundPort(int fd) {
  sockaddr_storage ss = {};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace

absl::StatusOr<OpenedUdpSocket> OpenUdpSocket(const ListenAddress& address, int rcvbuf_bytes) {
  absl::StatusOr<AddrInfoPtr> res = Resolve(address);
  if (!res.ok()) return res.status();
  const addrinfo& ai = **res;
  const int fd = socket(ai.ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(address, "cannot open a UDP socket for");
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0) {
    const absl::Status st = Errno(address, "cannot set socket options on");
    close(fd);
    return st;
  }
  AskForRcvbuf(fd, rcvbuf_bytes);
  if (bind(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    const absl::Status st = Errno(address, "cannot bind");
    close(fd);
    return st;
  }
  return OpenedUdpSocket{fd, BoundPort(fd), GrantedRcvbuf(fd)};
}

}  // namespace nf2
