#include "netflow_v5.h"

#include "wire.h"

namespace nf2::flowgen {
namespace {

// The protocol mix of a typical edge router: mostly TCP, then UDP, a little
// ICMP, GRE, ESP and SCTP.
uint32_t PickProto(Rng& rng) {
  const uint64_t r = rng.Below(100);
  if (r < 60) return 6;
  if (r < 90) return 17;
  if (r < 95) return 1;
  if (r < 97) return 47;
  if (r < 98) return 50;
  return 132;
}

struct Ports {
  uint32_t src = 0;
  uint32_t dst = 0;
};

// Only TCP, UDP and SCTP carry ports; most destinations are a well-known service.
Ports PickPorts(Rng& rng, uint32_t proto) {
  Ports ports;
  if (proto == 6 || proto == 17 || proto == 132) {
    ports.src = static_cast<uint32_t>(rng.Range(1024, 65535));
    ports.dst = DrawServicePort(rng);
  }
  return ports;
}

// One 48-byte flow record; the draws from `rng` keep their order, so a seed
// always gives the same packets.
uint8_t* WriteRecord(uint8_t* p, Rng& rng, uint32_t sys_uptime_ms, ExportedFlow* flow) {
  const uint64_t a = rng.Next();
  const uint64_t b = rng.Next();
  auto src = static_cast<uint32_t>(a);
  auto dst = static_cast<uint32_t>(a >> 32);
  if (b & 1) src = 0x0a000000 | (src & 0x00ffffff);  // half the sources in 10/8
  const uint32_t proto = PickProto(rng);
  const Ports ports = PickPorts(rng, proto);
  const auto packets = static_cast<uint32_t>(rng.Range(1, 5000));
  const uint32_t octets = packets * static_cast<uint32_t>(rng.Range(40, 1500));
  const auto age = static_cast<uint32_t>(rng.Range(1000, 10000));
  const uint32_t first = sys_uptime_ms > age ? sys_uptime_ms - age : 0;
  const uint32_t last = first + static_cast<uint32_t>(rng.Below(sys_uptime_ms - first + 1));

  const auto input = static_cast<uint32_t>(rng.Below(64));
  const auto output = static_cast<uint32_t>(rng.Below(64));
  *flow = {false,
           {},
           {},
           static_cast<uint16_t>(ports.src),
           static_cast<uint16_t>(ports.dst),
           static_cast<uint8_t>(proto),
           octets,
           packets,
           input,
           output,
           first,
           last};
  Put32(flow->src.data(), src);
  Put32(flow->dst.data(), dst);

  p = Put32(p, src);
  p = Put32(p, dst);
  p = Put32(p, static_cast<uint32_t>(b >> 32));  // nexthop
  p = Put16(p, input);
  p = Put16(p, output);
  p = Put32(p, packets);
  p = Put32(p, octets);
  p = Put32(p, first);
  p = Put32(p, last);
  p = Put16(p, ports.src);
  p = Put16(p, ports.dst);
  p = Put8(p, 0);                                                        // pad1
  p = Put8(p, proto == 6 ? static_cast<uint32_t>((b >> 8) & 0x3f) : 0);  // tcp_flags
  p = Put8(p, proto);
  p = Put8(p, static_cast<uint32_t>(b >> 16));           // tos
  p = Put16(p, static_cast<uint32_t>(b >> 24));          // src_as
  p = Put16(p, static_cast<uint32_t>(b >> 40));          // dst_as
  p = Put8(p, static_cast<uint32_t>(rng.Range(8, 32)));  // src_mask
  p = Put8(p, static_cast<uint32_t>(rng.Range(8, 32)));  // dst_mask
  p = Put16(p, 0);                                       // pad2
  return p;
}

}  // namespace

NetflowV5Generator::NetflowV5Generator(uint64_t seed, int flows_per_packet)
    : rng_(seed),
      flows_(flows_per_packet),
      // In declaration order: the same two draws as always, type first.
      engine_type_(static_cast<uint8_t>(rng_.Below(2))),
      engine_id_(static_cast<uint8_t>(rng_.Below(256))) {}

size_t NetflowV5Generator::BuildPacket(uint8_t* out, uint32_t sys_uptime_ms, uint32_t unix_secs,
                                       uint32_t unix_nsecs, std::string* expected) {
  uint8_t* p = out;
  p = Put16(p, 5);
  p = Put16(p, static_cast<uint32_t>(flows_));
  p = Put32(p, sys_uptime_ms);
  p = Put32(p, unix_secs);
  p = Put32(p, unix_nsecs);
  p = Put32(p, flow_sequence_);
  p = Put8(p, engine_type_);
  p = Put8(p, engine_id_);
  p = Put16(p, 0);  // sampling: mode 0, interval 0 (unsampled)
  flow_sequence_ += static_cast<uint32_t>(flows_);
  const uint64_t export_ns = uint64_t{unix_secs} * 1'000'000'000ULL + unix_nsecs;
  for (int i = 0; i < flows_; ++i) {
    ExportedFlow flow;
    p = WriteRecord(p, rng_, sys_uptime_ms, &flow);
    if (expected)
      AppendExpected(flow, UptimeToUnixSeconds(export_ns, sys_uptime_ms, flow.first_ms), expected);
  }
  return static_cast<size_t>(p - out);
}

}  // namespace nf2::flowgen
