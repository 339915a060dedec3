#include "stages/sources/flow_generator.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace nf2::flowgen {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000ULL;
constexpr uint64_t kMaxU64 = ~0ULL;
constexpr uint64_t kMaxU32 = 0xffffffffULL;
constexpr uint64_t kTwoTo53 = 1ULL << 53;

template <size_t N>
inline char* Put(char* p, const char (&s)[N]) {
  std::memcpy(p, s, N - 1);
  return p + N - 1;
}

inline char* Put(char* p, std::string_view s) { return std::copy(s.begin(), s.end(), p); }

inline char* PutU64(char* p, uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }

inline char* Put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

size_t FormatIpv4(uint32_t a, char* out) {
  char* p = out;
  p = PutU64(p, a >> 24);
  *p++ = '.';
  p = PutU64(p, (a >> 16) & 0xff);
  *p++ = '.';
  p = PutU64(p, (a >> 8) & 0xff);
  *p++ = '.';
  p = PutU64(p, a & 0xff);
  return static_cast<size_t>(p - out);
}

// RFC 5952 text: lowercase, no leading zeros, the longest run (first on ties) of two or more zero
// groups shortened to "::". This is also what inet_ntop prints for these (non-v4-mapped) addresses.
size_t FormatIpv6(const uint16_t (&g)[8], char* out) {
  int best_start = -1;
  int best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best_start = -1;
  char* p = out;
  for (int i = 0; i < 8;) {
    if (i == best_start) {
      *p++ = ':';
      *p++ = ':';
      i += best_len;
      continue;
    }
    if (i > 0 && i != best_start + best_len) *p++ = ':';
    p = std::to_chars(p, p + 4, g[i], 16).ptr;
    ++i;
  }
  return static_cast<size_t>(p - out);
}

constexpr std::string_view kTypes[] = {"NETFLOW_V5", "NETFLOW_V9", "IPFIX"};
constexpr std::string_view kSamplers[] = {"192.168.65.1", "10.20.0.1", "172.18.0.254"};
constexpr std::string_view kInvalidPrefix = "invalid Prefix";
constexpr uint16_t kServicePorts[] = {443, 80,  53,  22,  123,  8080, 3306, 5432,
                                      25,  993, 161, 514, 2055, 6379, 853};
constexpr uint8_t kIcmpTypeCodes[][2] = {{8, 0}, {0, 0}, {3, 3}, {11, 0}, {3, 1}};
constexpr uint8_t kIcmp6TypeCodes[][2] = {{128, 0}, {129, 0}, {135, 0}, {136, 0}, {1, 4}};
constexpr size_t kIpv6IcmpIndex = 5;  // kProtos entry used for ICMP over IPv6

// Junk ingredients. None of the addresses below is a valid IPv4/IPv6 address.
constexpr std::string_view kBadAddresses[] = {
    "not-an-ip", "256.10.1.1", "10.0.0", "1.2.3.4.5", "2001:db8::g1", "2001:db8:::1", "localhost",
};
constexpr std::string_view kBadPorts[] = {"-1", "-443", "-65535", "53.5", "443.25", "0.5", "-80.5"};
constexpr std::string_view kBadUtf8[] = {
    "\xff",          // never valid
    "\xc3\x28",      // bad continuation byte
    "\xed\xa0\x80",  // UTF-16 surrogate
    "\xe2\x82",      // truncated sequence
    "\xc0\xaf",      // overlong '/'
    "\xfe\xfe",      // never valid
};
constexpr std::string_view kLogMessages[] = {
    R"(level=info msg="starting GoFlow2")",
    // One message, split over two lines.
    // NOLINTNEXTLINE(bugprone-suspicious-missing-comma)
    R"(level=info msg="starting collection" blocking=false count=1 hostname= port=2055 )"
    R"(queue_size=1000000 scheme=netflow workers=2)",
    R"(level=warning msg="error processing packet" error="netflow: template 260 not found")",
    R"(level=error msg="error decoding packet" error="sflow: unknown version 4")",
    R"(level=info msg="starting HTTP server" addr=":8080")",
};

template <typename T, size_t N>
constexpr size_t Size(const T (&)[N]) {
  return N;
}

}  // namespace

// Weights are per mille and add up to 1000.
const FlowGenerator::Proto FlowGenerator::kProtos[] = {
    {"TCP", 6, 560},  {"UDP", 17, 300},      {"ICMP", 1, 50},  {"GRE", 47, 12},
    {"ESP", 50, 12},  {"IPv6-ICMP", 58, 10}, {"SCTP", 132, 8}, {"OSPFIGP", 89, 8},
    {"HOPOPT", 0, 8}, {"ICMPv6", 58, 6},     {"", 17, 8},      {"", 6, 8},
    {"", 47, 4},      {"", 132, 3},          {"", 115, 3},
};
const size_t FlowGenerator::kNumProtos = Size(FlowGenerator::kProtos);

Rng::Rng(uint64_t seed) : s_{} {
  uint64_t x = seed;
  for (uint64_t& s : s_) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    s = z ^ (z >> 31);
  }
}

FlowGenerator::FlowGenerator(const GeneratorOptions& options)
    : rng_(options.seed),
      junk_ratio_(options.junk_ratio),
      docker_prefix_(options.docker_prefix),
      // Around 2025-08-19, like the fixture, shifted by up to a day per seed.
      clock_ns_(1'755'600'000 * kNsPerSec + rng_.Below(86'400 * kNsPerSec)) {}

const FlowGenerator::Proto* FlowGenerator::PickProto() {
  uint64_t r = rng_.Below(1000);
  for (const auto& proto : kProtos) {
    if (r < proto.weight) return &proto;
    r -= proto.weight;
  }
  return &kProtos[0];
}

void FlowGenerator::PickPorts(Flow& f) {
  const uint8_t n = f.proto->number;
  if (n != 6 && n != 17 && n != 132) {
    f.src_port = 0;
    f.dst_port = 0;
    return;
  }
  auto service = [this]() -> uint32_t {
    // 443/80/53/22 most of the time.
    const size_t i = rng_.Chance(750) ? rng_.Below(4) : rng_.Below(Size(kServicePorts));
    return kServicePorts[i];
  };
  const uint64_t r = rng_.Below(1000);
  if (r < 650) {
    f.src_port = static_cast<uint32_t>(rng_.Range(1024, 65535));
    f.dst_port = service();
  } else if (r < 800) {
    f.src_port = service();
    f.dst_port = static_cast<uint32_t>(rng_.Range(1024, 65535));
  } else if (r < 990) {
    f.src_port = static_cast<uint32_t>(rng_.Below(65536));
    f.dst_port = static_cast<uint32_t>(rng_.Below(65536));
  } else {
    const uint32_t edge = rng_.Chance(500) ? 0 : 65535;
    const auto other = static_cast<uint32_t>(rng_.Below(65536));
    const bool src = rng_.Chance(500);
    f.src_port = src ? edge : other;
    f.dst_port = src ? other : edge;
  }
}

void FlowGenerator::MakeIpv4(char* out, size_t& len) {
  len = FormatIpv4(static_cast<uint32_t>(rng_.Next() >> 32), out);
}

void FlowGenerator::MakeIpv6(char* out, size_t& len) {
  uint16_t g[8] = {};
  const uint64_t a = rng_.Next();
  const uint64_t b = rng_.Next();
  switch (rng_.Below(4)) {
    case 0:  // like the fixture: 2001:X:random...
      g[0] = 0x2001;
      g[1] = static_cast<uint16_t>(rng_.Below(16));
      for (int i = 2; i < 8; ++i) g[i] = static_cast<uint16_t>((i < 6 ? a : b) >> (16 * (i % 4)));
      break;
    case 1:  // documentation style: 2001:db8:X::Y, 2001:db8:0:N::Y
      g[0] = 0x2001;
      g[1] = 0x0db8;
      if (a & 1) {
        g[2] = static_cast<uint16_t>((a >> 8) & 0xff);
      } else {
        g[3] = static_cast<uint16_t>(1 + ((a >> 8) & 0xf));
      }
      g[7] = static_cast<uint16_t>(1 + ((b & 0xffff) % 0xffff));
      break;
    case 2:  // provider style: 2a00:1450:4001:81c::200e
      g[0] = static_cast<uint16_t>(0x2a00 + (a & 0xff));
      g[1] = static_cast<uint16_t>(a >> 16);
      g[2] = static_cast<uint16_t>(a >> 32);
      g[3] = static_cast<uint16_t>(a >> 48);
      g[7] = static_cast<uint16_t>(b);
      if (b & (1ULL << 20)) g[6] = static_cast<uint16_t>(b >> 32);
      break;
    default:  // ULA or link-local with a random interface id
      g[0] = (a & 1) ? 0xfe80 : static_cast<uint16_t>(0xfd00 + ((a >> 8) & 0xff));
      if (g[0] != 0xfe80) g[1] = static_cast<uint16_t>(a >> 16);
      for (int i = 4; i < 8; ++i) g[i] = static_cast<uint16_t>(b >> (16 * (i - 4)));
      break;
  }
  len = FormatIpv6(g, out);
}

void FlowGenerator::MakeMac(char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng_.Next();
  for (int i = 0; i < 6; ++i) {
    out[3 * i] = kHex[(v >> 4) & 0xf];
    out[3 * i + 1] = kHex[v & 0xf];
    if (i < 5) out[3 * i + 2] = ':';
    v >>= 8;
  }
}

uint64_t FlowGenerator::PickCounter(bool big, uint64_t small_max) {
  if (big) return rng_.Chance(125) ? kMaxU64 : rng_.Range(kTwoTo53 + 1, kMaxU64);
  return rng_.Chance(500) ? rng_.Range(1, 20) : rng_.Range(1, small_max);
}

uint64_t FlowGenerator::PickInterface() {
  const uint64_t r = rng_.Below(100);
  if (r < 50) return 0;
  if (r < 92) return rng_.Range(1, 70'000);
  if (r < 99) return rng_.Range(1, kMaxU32);
  return kMaxU32;
}

void FlowGenerator::MakeFlow(Flow& f) {
  f.type = kTypes[rng_.Below(Size(kTypes))];
  f.time_received_ns = clock_ns_;
  f.sequence_num = rng_.Next() >> 32;
  f.sampler_address = kSamplers[rng_.Below(Size(kSamplers))];
  MakeTimes(f);
  MakeCounters(f);
  MakeEndpoints(f);
  MakeHeaderFields(f);
  MakeRouting(f);
}

// Flows start a few seconds before they are received; some much earlier; 2% carry no start.
void FlowGenerator::MakeTimes(Flow& f) {
  const uint64_t duration_ns = rng_.Below(kNsPerSec + 1);
  if (rng_.Chance(20)) {
    f.time_flow_start_ns = 0;
    f.time_flow_end_ns = clock_ns_ - duration_ns;
  } else {
    const uint64_t age_ns = rng_.Chance(30) ? rng_.Range(10 * kNsPerSec, 3600 * kNsPerSec)
                                            : rng_.Range(kNsPerSec, 10 * kNsPerSec);
    f.time_flow_start_ns = clock_ns_ - age_ns;
    f.time_flow_end_ns = f.time_flow_start_ns + std::min(duration_ns, age_ns);
  }
}

// About 1% of the records carry counters above 2^53.
void FlowGenerator::MakeCounters(Flow& f) {
  const bool big = rng_.Chance(10);
  if (big) {
    f.bytes = PickCounter(true, 0);
    f.packets = PickCounter(rng_.Chance(500), 5000);
  } else {
    f.packets = PickCounter(false, 5000);
    f.bytes = f.packets * rng_.Range(40, 1500);
  }
}

// Addresses, protocol, ports, interfaces and MACs.
void FlowGenerator::MakeEndpoints(Flow& f) {
  f.ipv6 = rng_.Chance(100);
  if (f.ipv6) {
    MakeIpv6(f.src_addr, f.src_addr_len);
    MakeIpv6(f.dst_addr, f.dst_addr_len);
  } else {
    MakeIpv4(f.src_addr, f.src_addr_len);
    MakeIpv4(f.dst_addr, f.dst_addr_len);
  }
  f.proto = PickProto();
  if (f.ipv6 && f.proto->number == 1) f.proto = &kProtos[kIpv6IcmpIndex];
  PickPorts(f);
  f.src_port_raw = {};
  f.dst_port_raw = {};
  f.in_if = PickInterface();
  f.out_if = PickInterface();
  if (rng_.Chance(200)) {
    MakeMac(f.src_mac);
    MakeMac(f.dst_mac);
  } else {
    std::memcpy(f.src_mac, "00:00:00:00:00:00", 17);
    std::memcpy(f.dst_mac, "00:00:00:00:00:00", 17);
  }
}

// TOS, TCP flags, ICMP type and code, the IPv6 flow label.
void FlowGenerator::MakeHeaderFields(Flow& f) {
  const uint64_t bits = rng_.Next();
  f.ip_tos = bits & 0xff;
  f.tcp_flags = f.proto->number == 6 ? (bits >> 8) & 0x3f : 0;
  f.icmp_type = 0;
  f.icmp_code = 0;
  if (f.proto->number == 1 || f.proto->number == 58) {
    const auto& tc = f.proto->number == 1 ? kIcmpTypeCodes[(bits >> 16) % Size(kIcmpTypeCodes)]
                                          : kIcmp6TypeCodes[(bits >> 16) % Size(kIcmp6TypeCodes)];
    f.icmp_type = tc[0];
    f.icmp_code = tc[1];
  }
  f.ipv6_flow_label = (f.ipv6 && (bits & (1ULL << 24))) ? (bits >> 32) & 0xfffff : 0;
}

// AS numbers, the next hop and, for 1% of IPv4 flows, a routed source prefix.
void FlowGenerator::MakeRouting(Flow& f) {
  const uint64_t as_bits = rng_.Next();
  f.src_as = as_bits & 0xffff;
  f.dst_as = (as_bits >> 16) & 0xffff;
  const auto next_hop = static_cast<uint32_t>(as_bits >> 32);
  f.next_hop_len = FormatIpv4(next_hop, f.next_hop);

  std::memcpy(f.src_net, kInvalidPrefix.data(), kInvalidPrefix.size());
  f.src_net_len = kInvalidPrefix.size();
  std::memcpy(f.dst_net, kInvalidPrefix.data(), kInvalidPrefix.size());
  f.dst_net_len = kInvalidPrefix.size();
  if (!f.ipv6 && rng_.Chance(100)) {
    // A routed prefix for the next hop, e.g. "4.0.0.0/6" as in the fixture.
    const auto bits_len = static_cast<unsigned>(rng_.Range(6, 24));
    const uint32_t net = next_hop & ~((1U << (32 - bits_len)) - 1);
    char* p = f.src_net + FormatIpv4(net, f.src_net);
    *p++ = '/';
    p = PutU64(p, bits_len);
    f.src_net_len = static_cast<size_t>(p - f.src_net);
  }
}

char* FlowGenerator::WriteRecord(char* p, const Flow& f) const {
  p = Put(p, R"({"type":")");
  p = Put(p, f.type);
  p = Put(p, R"(","time_received_ns":)");
  p = PutU64(p, f.time_received_ns);
  p = Put(p, R"(,"sequence_num":)");
  p = PutU64(p, f.sequence_num);
  p = Put(p, R"(,"sampling_rate":0,"sampler_address":")");
  p = Put(p, f.sampler_address);
  p = Put(p, R"(","time_flow_start_ns":)");
  p = PutU64(p, f.time_flow_start_ns);
  p = Put(p, R"(,"time_flow_end_ns":)");
  p = PutU64(p, f.time_flow_end_ns);
  p = Put(p, R"(,"bytes":)");
  p = PutU64(p, f.bytes);
  p = Put(p, R"(,"packets":)");
  p = PutU64(p, f.packets);
  p = Put(p, R"(,"src_addr":")");
  p = Put(p, std::string_view(f.src_addr, f.src_addr_len));
  p = Put(p, R"(","dst_addr":")");
  p = Put(p, std::string_view(f.dst_addr, f.dst_addr_len));
  p = Put(p, f.ipv6 ? std::string_view(R"(","etype":"IPv6","proto":)")
                    : std::string_view(R"(","etype":"IPv4","proto":)"));
  if (f.proto->name.empty()) {
    p = PutU64(p, f.proto->number);
  } else {
    *p++ = '"';
    p = Put(p, f.proto->name);
    *p++ = '"';
  }
  p = Put(p, R"(,"src_port":)");
  p = f.src_port_raw.empty() ? PutU64(p, f.src_port) : Put(p, f.src_port_raw);
  p = Put(p, R"(,"dst_port":)");
  p = f.dst_port_raw.empty() ? PutU64(p, f.dst_port) : Put(p, f.dst_port_raw);
  p = Put(p, R"(,"in_if":)");
  p = PutU64(p, f.in_if);
  p = Put(p, R"(,"out_if":)");
  p = PutU64(p, f.out_if);
  return WriteRecordTail(p, f);
}

// The fields after out_if, in goflow2's order.
char* FlowGenerator::WriteRecordTail(char* p, const Flow& f) {
  p = Put(p, R"(,"src_mac":")");
  p = Put(p, std::string_view(f.src_mac, sizeof(f.src_mac)));
  p = Put(p, R"(","dst_mac":")");
  p = Put(p, std::string_view(f.dst_mac, sizeof(f.dst_mac)));
  p = Put(p, R"(","src_vlan":0,"dst_vlan":0,"vlan_id":0,"ip_tos":)");
  p = PutU64(p, f.ip_tos);
  p = Put(p, R"(,"forwarding_status":0,"ip_ttl":0,"ip_flags":0,"tcp_flags":)");
  p = PutU64(p, f.tcp_flags);
  p = Put(p, R"(,"icmp_type":)");
  p = PutU64(p, f.icmp_type);
  p = Put(p, R"(,"icmp_code":)");
  p = PutU64(p, f.icmp_code);
  p = Put(p, R"(,"ipv6_flow_label":)");
  p = PutU64(p, f.ipv6_flow_label);
  p = Put(p, R"(,"fragment_id":0,"fragment_offset":0,"src_as":)");
  p = PutU64(p, f.src_as);
  p = Put(p, R"(,"dst_as":)");
  p = PutU64(p, f.dst_as);
  p = Put(p, R"(,"next_hop":")");
  p = Put(p, std::string_view(f.next_hop, f.next_hop_len));
  p = Put(p, R"(","next_hop_as":0,"src_net":")");
  p = Put(p, std::string_view(f.src_net, f.src_net_len));
  p = Put(p, R"(","dst_net":")");
  p = Put(p, std::string_view(f.dst_net, f.dst_net_len));
  p = Put(
      p, R"(","bgp_next_hop":"","bgp_communities":[],"as_path":[],"mpls_ttl":[],"mpls_label":[],)"
         R"("mpls_ip":[],"observation_domain_id":0,"observation_point_id":0,"layer_stack":[],)"
         R"("layer_size":[],"ipv6_routing_header_addresses":[],"ipv6_routing_header_seg_left":0})");
  return p;
}

char* FlowGenerator::WriteExpected(char* p, const Flow& f) {
  const uint64_t ts_ns = f.time_flow_start_ns != 0 ? f.time_flow_start_ns : f.time_received_ns;
  p = Put(p, R"({"ts":)");
  p = PutU64(p, ts_ns / kNsPerSec);
  p = Put(p, R"(,"src_ip":")");
  p = Put(p, std::string_view(f.src_addr, f.src_addr_len));
  p = Put(p, R"(","dst_ip":")");
  p = Put(p, std::string_view(f.dst_addr, f.dst_addr_len));
  p = Put(p, R"(","src_port":)");
  p = PutU64(p, f.src_port);
  p = Put(p, R"(,"dst_port":)");
  p = PutU64(p, f.dst_port);
  p = Put(p, R"(,"proto":)");
  p = PutU64(p, f.proto->number);
  p = Put(p, R"(,"bytes":)");
  p = PutU64(p, f.bytes);
  p = Put(p, R"(,"packets":)");
  p = PutU64(p, f.packets);
  if (f.in_if != 0) {
    p = Put(p, R"(,"ingress_if":)");
    p = PutU64(p, f.in_if);
  }
  if (f.out_if != 0) {
    p = Put(p, R"(,"egress_if":)");
    p = PutU64(p, f.out_if);
  }
  *p++ = '}';
  *p++ = '\n';
  return p;
}

char* FlowGenerator::WriteLogLine(char* p) {
  // time="2025-08-22T00:54:01Z", from the simulated clock (civil_from_days, H. Hinnant).
  const uint64_t secs = clock_ns_ / kNsPerSec;
  const uint64_t z = secs / 86'400 + 719'468;
  const uint64_t sod = secs % 86'400;
  const uint64_t era = z / 146'097;
  const uint64_t doe = z - era * 146'097;
  const uint64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint64_t mp = (5 * doy + 2) / 153;
  const auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  const uint64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  p = Put(p, "time=\"");
  p = PutU64(p, year);
  *p++ = '-';
  p = Put2(p, month);
  *p++ = '-';
  p = Put2(p, day);
  *p++ = 'T';
  p = Put2(p, static_cast<unsigned>(sod / 3600));
  *p++ = ':';
  p = Put2(p, static_cast<unsigned>(sod / 60 % 60));
  *p++ = ':';
  p = Put2(p, static_cast<unsigned>(sod % 60));
  p = Put(p, "Z\" ");
  return Put(p, kLogMessages[rng_.Below(Size(kLogMessages))]);
}

char* FlowGenerator::WriteJunk(char* p, Junk kind) {
  const uint32_t variant = junk_variant_++;
  Flow f;
  switch (kind) {
    case Junk::kBlank:
      return Put(p, (variant & 1) ? std::string_view(" \r") : std::string_view());
    case Junk::kLogLine:
      return WriteLogLine(p);
    case Junk::kTruncated: {
      MakeFlow(f);
      char* end = WriteRecord(p, f);
      // Keep 1 .. size-1 bytes: never the closing brace.
      return p + rng_.Range(1, static_cast<uint64_t>(end - p) - 1);
    }
    case Junk::kBadUtf8: {
      MakeFlow(f);
      // Inside an address, so the line is refused whether or not the mapper checks UTF-8
      // in fields it does not use.
      char* addr = (variant & 1) ? f.dst_addr : f.src_addr;
      size_t& len = (variant & 1) ? f.dst_addr_len : f.src_addr_len;
      const std::string_view bad = kBadUtf8[rng_.Below(Size(kBadUtf8))];
      const size_t at = rng_.Below(len + 1);
      std::memmove(addr + at + bad.size(), addr + at, len - at);
      std::memcpy(addr + at, bad.data(), bad.size());
      len += bad.size();
      return WriteRecord(p, f);
    }
    case Junk::kBadAddress: {
      MakeFlow(f);
      // src_addr "" or a string that is not an IP address.
      const std::string_view bad =
          (variant & 1) ? kBadAddresses[rng_.Below(Size(kBadAddresses))] : std::string_view("");
      std::copy(bad.begin(), bad.end(), f.src_addr);
      f.src_addr_len = bad.size();
      return WriteRecord(p, f);
    }
    case Junk::kBadPort: {
      MakeFlow(f);
      const std::string_view bad = kBadPorts[rng_.Below(Size(kBadPorts))];
      if (variant & 1) {
        f.dst_port_raw = bad;
      } else {
        f.src_port_raw = bad;
      }
      return WriteRecord(p, f);
    }
    case Junk::kSflow:
    case Junk::kCount:
      break;
  }
  MakeFlow(f);
  f.type = "SFLOW_5";
  return WriteRecord(p, f);
}

char* FlowGenerator::WriteLine(char* out, char** expected) {
  clock_ns_ += 1 + rng_.Below(2'000'000);  // ~1 ms between lines on average
  char* p = out;
  if (docker_prefix_) {
    p = Put(p, "collector-");
    *p++ = static_cast<char>('1' + rng_.Below(3));
    p = Put(p, "  | ");
  }
  if (junk_ratio_ > 0 && rng_.Unit() < junk_ratio_) {
    const Junk kind = static_cast<Junk>(next_junk_);
    next_junk_ = (next_junk_ + 1) % static_cast<uint32_t>(Junk::kCount);
    p = WriteJunk(p, kind);
    last_kind_ = kind == Junk::kSflow ? LineKind::kFiltered : LineKind::kInvalid;
  } else {
    Flow f;
    MakeFlow(f);
    p = WriteRecord(p, f);
    if (expected != nullptr) *expected = WriteExpected(*expected, f);
    last_kind_ = LineKind::kValid;
  }
  *p++ = '\n';
  return p;
}

void FlowGenerator::AppendLine(std::string& out, std::string* expected) {
  const size_t old = out.size();
  out.resize(old + kMaxLineBytes);
  char* end = nullptr;
  if (expected != nullptr) {
    const size_t old_expected = expected->size();
    expected->resize(old_expected + kMaxExpectedBytes);
    char* e = expected->data() + old_expected;
    end = WriteLine(out.data() + old, &e);
    expected->resize(static_cast<size_t>(e - expected->data()));
  } else {
    end = WriteLine(out.data() + old, nullptr);
  }
  out.resize(static_cast<size_t>(end - out.data()));
}

}  // namespace nf2::flowgen
