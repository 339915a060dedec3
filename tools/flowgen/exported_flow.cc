#include "exported_flow.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "stages/flows/flow_record.h"
#include "stages/flows/flow_record_json.h"

namespace nf2::flowgen {
namespace {

uint8_t DrawProto(Rng& rng) {
  const uint64_t r = rng.Below(100);
  if (r < 60) return 6;
  if (r < 88) return 17;
  if (r < 95) return 1;
  if (r < 98) return 58;  // ICMPv6 shows up on IPv4 too here: a decoder must not care
  return 47;
}

void DrawAddress(Rng& rng, bool v6, std::array<uint8_t, 16>* addr) {
  const uint64_t a = rng.Next();
  const uint64_t b = rng.Next();
  for (int i = 0; i < 8; ++i) {
    (*addr)[i] = static_cast<uint8_t>(a >> (8 * i));
    (*addr)[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  if (v6) {
    (*addr)[0] = 0x20;  // global unicast 2001:db8::/32, the documentation prefix
    (*addr)[1] = 0x01;
    (*addr)[2] = 0x0d;
    (*addr)[3] = 0xb8;
  } else if ((b & 1) != 0) {
    (*addr)[0] = 10;  // half the IPv4 sources in 10/8
  }
}

void FormatAddress(const std::array<uint8_t, 16>& addr, bool v6, IpText* out) {
  inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), out->text, sizeof out->text);
  out->size = static_cast<uint8_t>(std::char_traits<char>::length(out->text));
}

}  // namespace

uint16_t DrawServicePort(Rng& rng) {
  constexpr uint16_t kServicePorts[] = {443, 80, 53, 22, 123, 8080, 25, 3306};
  return rng.Chance(700) ? kServicePorts[rng.Below(8)] : static_cast<uint16_t>(rng.Below(65536));
}

ExportedFlow DrawFlow(Rng& rng, uint32_t uptime_ms, double ipv6_ratio) {
  ExportedFlow f;
  f.v6 = static_cast<double>(rng.Below(1'000'000)) < ipv6_ratio * 1e6;
  DrawAddress(rng, f.v6, &f.src);
  DrawAddress(rng, f.v6, &f.dst);
  f.proto = DrawProto(rng);
  if (f.proto == 6 || f.proto == 17) {
    f.src_port = static_cast<uint16_t>(rng.Range(1024, 65535));
    f.dst_port = DrawServicePort(rng);
  }
  f.packets = rng.Range(1, 50'000);
  f.bytes = f.packets * rng.Range(40, 1500);
  f.in_if = static_cast<uint32_t>(rng.Below(64));  // 0 sometimes: omitted from flows.v1
  f.out_if = static_cast<uint32_t>(rng.Below(100'000));
  const auto age = static_cast<uint32_t>(rng.Range(1000, 10000));
  f.first_ms = uptime_ms > age ? uptime_ms - age : 0;
  f.last_ms = f.first_ms + static_cast<uint32_t>(rng.Below(uptime_ms - f.first_ms + 1));
  return f;
}

void AppendExpected(const ExportedFlow& flow, uint64_t ts_s, std::string* out) {
  FlowRecord rec;
  rec.ts = ts_s;
  FormatAddress(flow.src, flow.v6, &rec.src_ip);
  FormatAddress(flow.dst, flow.v6, &rec.dst_ip);
  rec.src_port = flow.src_port;
  rec.dst_port = flow.dst_port;
  rec.proto = flow.proto;
  rec.bytes = flow.bytes;
  rec.packets = flow.packets;
  rec.ingress_if = flow.in_if;
  rec.egress_if = flow.out_if;
  AppendFlowRecordJson(rec, out);
  out->push_back('\n');
}

uint64_t UptimeToUnixSeconds(uint64_t export_ns, uint32_t uptime_ms, uint32_t at_ms) {
  const uint32_t before_ms = uptime_ms - at_ms;  // wraps modulo 2^32 like the exporter's clock
  return (export_ns - static_cast<uint64_t>(before_ms) * 1'000'000ULL) / 1'000'000'000ULL;
}

}  // namespace nf2::flowgen
