// NetFlowV5Generator: deterministic NetFlow v5 export packets (24-byte header + M 48-byte records,
// all big-endian), as a NetFlow v5 exporter sends them to a collector such as goflow2.
#ifndef NF2INGEST_TOOLS_FLOWGEN_NETFLOW_V5_H_
#define NF2INGEST_TOOLS_FLOWGEN_NETFLOW_V5_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "exported_flow.h"
#include "stages/sources/flow_generator.h"

namespace nf2::flowgen {

class NetflowV5Generator {
 public:
  static constexpr size_t kHeaderBytes = 24;
  static constexpr size_t kRecordBytes = 48;
  static constexpr int kMaxFlows = 30;
  static constexpr size_t kMaxPacketBytes = kHeaderBytes + kMaxFlows * kRecordBytes;

  // flows_per_packet must be 1..kMaxFlows.
  NetflowV5Generator(uint64_t seed, int flows_per_packet);

  // Writes the next export packet at `out` (kMaxPacketBytes room) and returns its size.
  // sys_uptime_ms is the exporter's uptime; unix_secs/unix_nsecs the export time. With
  // `expected`, the flows.v1 record of each flow is appended to it.
  size_t BuildPacket(uint8_t* out, uint32_t sys_uptime_ms, uint32_t unix_secs, uint32_t unix_nsecs,
                     std::string* expected = nullptr);

 private:
  Rng rng_;
  int flows_;
  uint32_t flow_sequence_ = 0;
  uint8_t engine_type_;
  uint8_t engine_id_;
};

}  // namespace nf2::flowgen

#endif  // NF2INGEST_TOOLS_FLOWGEN_NETFLOW_V5_H_
