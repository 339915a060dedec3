// One flow as flowgen exports it over NetFlow/IPFIX, and the flows.v1 record
// a collector must deliver for it (flowgen --expected), so tests can compare
// what arrived with what was sent, field by field.
#ifndef NF2INGEST_TOOLS_FLOWGEN_EXPORTED_FLOW_H_
#define NF2INGEST_TOOLS_FLOWGEN_EXPORTED_FLOW_H_

#include <array>
#include <cstdint>
#include <string>

#include "stages/sources/flow_generator.h"

namespace nf2::flowgen {

struct ExportedFlow {
  bool v6 = false;
  std::array<uint8_t, 16> src{};  // IPv4 in the first 4 bytes
  std::array<uint8_t, 16> dst{};
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t proto = 0;
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint32_t in_if = 0;
  uint32_t out_if = 0;
  uint32_t first_ms = 0;  // exporter uptime at the flow's first and last packet
  uint32_t last_ms = 0;
};

// A destination port: most often a well-known service, else any.
uint16_t DrawServicePort(Rng& rng);

// A random flow as an edge router sees it: mostly TCP and UDP to well-known
// services, `ipv6_ratio` of them IPv6, started 1-10 s before `uptime_ms`.
ExportedFlow DrawFlow(Rng& rng, uint32_t uptime_ms, double ipv6_ratio);

// Appends the flow's flows.v1 record (compact JSON, then '\n') with start
// time `ts_s` (Unix seconds).
void AppendExpected(const ExportedFlow& flow, uint64_t ts_s, std::string* out);

// Unix seconds of an uptime-relative time: the export time (ns) less how
// long before the export the exporter's uptime was `at_ms` (32-bit wrap).
uint64_t UptimeToUnixSeconds(uint64_t export_ns, uint32_t uptime_ms, uint32_t at_ms);

}  // namespace nf2::flowgen

#endif  // NF2INGEST_TOOLS_FLOWGEN_EXPORTED_FLOW_H_
