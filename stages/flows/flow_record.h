// One flows.v1 record, as the parser produces it and the mapper serializes it.
// Fixed-size and allocation-free so chunks of them can be reused.
#ifndef NF2INGEST_STAGES_FLOWS_FLOW_RECORD_H_
#define NF2INGEST_STAGES_FLOWS_FLOW_RECORD_H_

#include <cstdint>
#include <string_view>

namespace nf2 {

// Longest textual IP address we accept (an IPv4-mapped IPv6 address).
inline constexpr size_t kMaxIpText = 45;

struct IpText {
  char text[kMaxIpText + 1] = {};
  uint8_t size = 0;
  std::string_view view() const { return {text, size}; }
};

struct FlowRecord {
  uint64_t ts = 0;  // seconds since the epoch
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint32_t ingress_if = 0;  // 0 = absent from the output
  uint32_t egress_if = 0;   // 0 = absent from the output
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t proto = 0;
  IpText src_ip;
  IpText dst_ip;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_FLOWS_FLOW_RECORD_H_
