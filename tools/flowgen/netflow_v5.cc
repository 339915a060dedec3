#include "netflow_v5.h"

namespace nf2::flowgen {
namespace {

inline uint8_t* Put8(uint8_t* p, uint32_t v) {
  *p = static_cast<uint8_t>(v);
  return p + 1;
}

inline uint8_t* Put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}

inline uint8_t* Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
  return p + 4;
}

constexpr uint16_t kServicePorts[] = {443, 80, 53, 22, 123, 8080, 25, 3306};

}  // namespace

NetflowV5Generator::NetflowV5Generator(uint64_t seed, int flows_per_packet)
    : rng_(seed),
      flows_(flows_per_packet),
      // In declaration order: the same two draws as always, type first.
      engine_type_(static_cast<uint8_t>(rng_.Below(2))),
      engine_id_(static_cast<uint8_t>(rng_.Below(256))) {}

size_t NetflowV5Generator::BuildPacket(uint8_t* out, uint32_t sys_uptime_ms, uint32_t unix_secs,
                                       uint32_t unix_nsecs) {
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

  for (int i = 0; i < flows_; ++i) {
    const uint64_t a = rng_.Next();
    const uint64_t b = rng_.Next();
    auto src = static_cast<uint32_t>(a);
    auto dst = static_cast<uint32_t>(a >> 32);
    if (b & 1) src = 0x0a000000 | (src & 0x00ffffff);  // half the sources in 10/8
    const uint64_t r = rng_.Below(100);
    const uint32_t proto = r < 60 ? 6 : r < 90 ? 17 : r < 95 ? 1 : r < 97 ? 47 : r < 98 ? 50 : 132;
    uint32_t src_port = 0;
    uint32_t dst_port = 0;
    if (proto == 6 || proto == 17 || proto == 132) {
      src_port = static_cast<uint32_t>(rng_.Range(1024, 65535));
      dst_port = rng_.Chance(700) ? kServicePorts[rng_.Below(8)]
                                  : static_cast<uint32_t>(rng_.Below(65536));
    }
    const auto packets = static_cast<uint32_t>(rng_.Range(1, 5000));
    const uint32_t octets = packets * static_cast<uint32_t>(rng_.Range(40, 1500));
    const auto age = static_cast<uint32_t>(rng_.Range(1000, 10000));
    const uint32_t first = sys_uptime_ms > age ? sys_uptime_ms - age : 0;
    const uint32_t last = first + static_cast<uint32_t>(rng_.Below(sys_uptime_ms - first + 1));

    p = Put32(p, src);
    p = Put32(p, dst);
    p = Put32(p, static_cast<uint32_t>(b >> 32));         // nexthop
    p = Put16(p, static_cast<uint32_t>(rng_.Below(64)));  // input
    p = Put16(p, static_cast<uint32_t>(rng_.Below(64)));  // output
    p = Put32(p, packets);
    p = Put32(p, octets);
    p = Put32(p, first);
    p = Put32(p, last);
    p = Put16(p, src_port);
    p = Put16(p, dst_port);
    p = Put8(p, 0);                                                        // pad1
    p = Put8(p, proto == 6 ? static_cast<uint32_t>((b >> 8) & 0x3f) : 0);  // tcp_flags
    p = Put8(p, proto);
    p = Put8(p, static_cast<uint32_t>(b >> 16));            // tos
    p = Put16(p, static_cast<uint32_t>(b >> 24));           // src_as
    p = Put16(p, static_cast<uint32_t>(b >> 40));           // dst_as
    p = Put8(p, static_cast<uint32_t>(rng_.Range(8, 32)));  // src_mask
    p = Put8(p, static_cast<uint32_t>(rng_.Range(8, 32)));  // dst_mask
    p = Put16(p, 0);                                        // pad2
  }
  return static_cast<size_t>(p - out);
}

}  // namespace nf2::flowgen
