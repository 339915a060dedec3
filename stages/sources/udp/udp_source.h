// The NetFlow/IPFIX input: UDP datagrams from exporters, read in batches
// (recvmmsg) by one thread per socket and handed to the parser pool in
// ChunkFormat::kDatagrams chunks, each datagram framed with its exporter's
// address and the time it was read.
//
// UDP cannot be paused: when the pipeline is slower than the routers the
// lines queue fills, the readers block on it, the kernel's receive buffer
// absorbs what it can and then drops. Those drops are counted from
// SO_RXQ_OVFL and reported, never hidden. A chunk goes out when it is full
// or when its first datagram has waited `max_hold`, so a quiet exporter's
// flows are not held back waiting for company.
#ifndef NF2INGEST_STAGES_SOURCES_UDP_UDP_SOURCE_H_
#define NF2INGEST_STAGES_SOURCES_UDP_UDP_SOURCE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/recycler.h"
#include "pipeline/shutdown.h"
#include "stages/flows/chunks.h"
#include "stages/sources/udp/listen_address.h"

namespace nf2 {

struct UdpSourceOptions {
  std::vector<ListenAddress> listen;
  int sockets_per_address = 1;  // SO_REUSEPORT sockets (and reader threads) per address
  int rcvbuf_bytes = 32 << 20;  // SO_RCVBUF asked for each socket
  size_t chunk_bytes = 1 << 20;
  std::chrono::milliseconds max_hold{20};  // longest a datagram waits in a partial chunk
};

struct UdpSourceStats {
  uint64_t datagrams = 0;     // handed to the pipeline
  uint64_t bytes = 0;         // their payload bytes
  uint64_t kernel_drops = 0;  // dropped by the kernel for want of buffer (SO_RXQ_OVFL)
  uint64_t truncated = 0;     // larger than the read buffer: dropped
};

class UdpSource {
 public:
  // Binds every socket (a failure names the address); nothing is read yet.
  static absl::StatusOr<std::unique_ptr<UdpSource>> Open(const UdpSourceOptions& options);
  ~UdpSource();
  UdpSource(const UdpSource&) = delete;
  UdpSource& operator=(const UdpSource&) = delete;

  // "HOST:PORT" of each address as bound (a port of 0 replaced by the real one).
  const std::vector<std::string>& bound() const { return bound_; }
  // The smallest receive buffer the kernel granted, in bytes.
  int rcvbuf_granted() const { return rcvbuf_granted_; }

  // Reads until a stop request, then takes what the sockets already hold and
  // ends (marking the input finished). Does not close the queue.
  absl::Status Run(pipeline::BoundedQueue<LineChunk>* out, pipeline::Shutdown* shutdown,
                   pipeline::Recycler<LineChunk>* recycler);

  // Safe to call from any thread at any time.
  UdpSourceStats stats() const;

 private:
  class Reader;
  explicit UdpSource(UdpSourceOptions options) : options_(std::move(options)) {}

  UdpSourceOptions options_;
  std::vector<int> fds_;
  std::vector<std::string> bound_;
  int rcvbuf_granted_ = 0;
  // One slot per socket, written by its reader.
  struct Counters {
    std::atomic<uint64_t> datagrams{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> kernel_drops{0};  // the socket's running SO_RXQ_OVFL count
    std::atomic<uint64_t> truncated{0};
  };
  std::unique_ptr<Counters[]> counters_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_UDP_UDP_SOURCE_H_
