// NetFlow/IPFIX datagrams travel through the pipeline in the same LineChunks
// as JSON lines (format kDatagrams), each framed with who sent it and when,
// because the decoder needs the exporter to find its templates and the
// receive time to age data that waits for a template.
//
// Frame layout, repeated up to `size`:
//   exporter address (16 bytes; IPv4 as v4-mapped IPv6), exporter port (u16),
//   received time (u64, Unix ns), datagram length (u16), datagram bytes.
// Integers are in host byte order: a chunk never leaves the process.
#ifndef NF2INGEST_STAGES_NETFLOW_DATAGRAM_CHUNK_H_
#define NF2INGEST_STAGES_NETFLOW_DATAGRAM_CHUNK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stages/flows/chunks.h"

namespace nf2::netflow {

// Who sent a datagram: the UDP source address and port.
struct Exporter {
  std::array<uint8_t, 16> addr{};  // IPv4 as ::ffff:a.b.c.d
  uint16_t port = 0;

  // An IPv4 exporter; `ipv4` and `port` in host byte order.
  static Exporter FromIpv4(uint32_t ipv4, uint16_t port);
  bool is_ipv4() const;

  // "192.0.2.1:2055", or "[2001:db8::1]:2055".
  std::string ToString() const;
  // The address alone, as flows.v1 prints addresses.
  std::string AddressText() const;

  friend bool operator==(const Exporter& a, const Exporter& b) {
    return a.port == b.port && a.addr == b.addr;
  }
  friend bool operator!=(const Exporter& a, const Exporter& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const Exporter& e) {
    return H::combine(H::combine_contiguous(std::move(h), e.addr.data(), e.addr.size()), e.port);
  }
};

// A cheap hash for std containers and shard selection.
struct ExporterHash {
  size_t operator()(const Exporter& e) const;
};

// Bytes each frame adds in front of its datagram.
inline constexpr size_t kDatagramFrameHeader = 16 + 2 + 8 + 2;
// The largest datagram a frame can carry (a UDP payload fits).
inline constexpr size_t kMaxDatagramBytes = 65535;

// Makes `chunk` an empty datagram chunk (size 0, format kDatagrams); keeps
// its memory. Chunks are recycled, so a source calls this before filling one.
void ResetDatagramChunk(LineChunk* chunk);

// Appends one framed datagram after `chunk->size` and keeps kLinePadding
// readable bytes after the new size. `bytes` longer than kMaxDatagramBytes
// are cut (a UDP payload never is).
void AppendDatagram(LineChunk* chunk, const Exporter& exporter, uint64_t received_unix_ns,
                    std::string_view bytes);

// One framed datagram, pointing into its chunk.
struct DatagramView {
  Exporter exporter;
  uint64_t received_unix_ns = 0;
  std::string_view bytes;
};

// Walks the frames of a datagram chunk. A frame cut short by the end of the
// chunk (never written by AppendDatagram) ends the walk and sets malformed().
class DatagramReader {
 public:
  explicit DatagramReader(const LineChunk& chunk) : data_(chunk.lines()) {}
  bool Next(DatagramView* out);
  bool malformed() const { return malformed_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool malformed_ = false;
};

}  // namespace nf2::netflow

#endif  // NF2INGEST_STAGES_NETFLOW_DATAGRAM_CHUNK_H_
