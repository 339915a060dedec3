// Opening the UDP sockets NetFlow exporters send to: resolve, bind with
// SO_REUSEPORT (several sockets per address let the kernel spread exporters
// over reader threads), ask for a large receive buffer (bursts from many
// routers at once are absorbed there, not dropped) and turn on SO_RXQ_OVFL
// so the kernel reports what it had to drop.
#ifndef NF2INGEST_STAGES_SOURCES_UDP_UDP_SOCKET_H_
#define NF2INGEST_STAGES_SOURCES_UDP_UDP_SOCKET_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "stages/sources/udp/listen_address.h"

namespace nf2 {

struct OpenedUdpSocket {
  int fd = -1;
  uint16_t port = 0;     // the bound port (the one asked for, or the kernel's pick for 0)
  int rcvbuf_bytes = 0;  // what the kernel granted (as it reports it, halved back)
};

// Binds one non-blocking, close-on-exec socket to `address` (port 0 is the
// kernel's pick). `rcvbuf_bytes` is asked for with SO_RCVBUFFORCE first
// (which works for root beyond net.core.rmem_max), then SO_RCVBUF.
absl::StatusOr<OpenedUdpSocket> OpenUdpSocket(const ListenAddress& address, int rcvbuf_bytes);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_UDP_UDP_SOCKET_H_
