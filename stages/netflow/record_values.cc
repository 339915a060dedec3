#include "stages/netflow/record_values.h"

#include "stages/flows/ip_text.h"
#include "stages/netflow/wire.h"

namespace nf2::netflow {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000ull;
// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
constexpr uint64_t kNtpToUnix = 2'208'988'800ull;

uint64_t NtpSeconds(uint64_t ntp) {
  const uint64_t secs = ntp >> 32;
  return secs > kNtpToUnix ? secs - kNtpToUnix : 0;
}

uint64_t SecondsBefore(uint64_t unix_ns, uint64_t back_ns) {
  return unix_ns > back_ns ? (unix_ns - back_ns) / kNsPerSec : 0;
}

uint64_t FirstOf(const RecordValues& v, Role a, Role b, Role c) {
  if (v.has(a)) return v.get(a);
  if (v.has(b)) return v.get(b);
  return v.has(c) ? v.get(c) : 0;
}

uint64_t V9StartSeconds(const RecordValues& v, const ExportContext& ctx) {
  if (v.has(Role::kStartMillis)) return v.get(Role::kStartMillis) / 1000;
  if (v.has(Role::kUptimeStart)) {
    return UptimeRelativeSeconds(ctx, static_cast<uint32_t>(v.get(Role::kUptimeStart)));
  }
  return ctx.unix_secs;
}

uint64_t IpfixStartSeconds(const RecordValues& v, const ExportContext& ctx,
                           uint64_t system_init_ms) {
  if (v.has(Role::kStartSeconds)) return v.get(Role::kStartSeconds);
  if (v.has(Role::kStartMillis)) return v.get(Role::kStartMillis) / 1000;
  if (v.has(Role::kStartMicrosNtp)) return NtpSeconds(v.get(Role::kStartMicrosNtp));
  if (v.has(Role::kStartNanosNtp)) return NtpSeconds(v.get(Role::kStartNanosNtp));
  if (v.has(Role::kStartDeltaMicros)) {
    const uint64_t delta = v.get(Role::kStartDeltaMicros);
    const uint64_t back_ns = delta > UINT64_MAX / 1000 ? UINT64_MAX : delta * 1000;
    return SecondsBefore(uint64_t{ctx.unix_secs} * kNsPerSec, back_ns);
  }
  const uint64_t base = v.has(Role::kSystemInit) ? v.get(Role::kSystemInit) : system_init_ms;
  if (v.has(Role::kUptimeStart) && base != 0) return (base + v.get(Role::kUptimeStart)) / 1000;
  return ctx.unix_secs;
}

void PutAddress(const uint8_t* p, uint8_t len, IpText* out) {
  if (len == 4) {
    FormatIpv4(p, out);
  } else {
    FormatIpv6(p, out);
  }
}

}  // namespace

uint64_t UptimeRelativeSeconds(const ExportContext& ctx, uint32_t first_ms) {
  const uint32_t elapsed_ms = ctx.sys_uptime_ms - first_ms;  // wraps modulo 2^32
  const uint64_t export_ns = uint64_t{ctx.unix_secs} * kNsPerSec + ctx.unix_nsecs;
  return SecondsBefore(export_ns, uint64_t{elapsed_ms} * 1'000'000ull);
}

bool BuildFlowRecord(const RecordValues& v, const ExportContext& ctx, uint64_t system_init_ms,
                     FlowRecord* out) {
  if (v.bad_address || v.src == nullptr || v.dst == nullptr) return false;
  PutAddress(v.src, v.src_len, &out->src_ip);
  PutAddress(v.dst, v.dst_len, &out->dst_ip);
  out->ts = ctx.version == 10 ? IpfixStartSeconds(v, ctx, system_init_ms) : V9StartSeconds(v, ctx);
  out->bytes = FirstOf(v, Role::kBytes, Role::kBytesOut, Role::kBytesTotal);
  out->packets = FirstOf(v, Role::kPackets, Role::kPacketsOut, Role::kPacketsTotal);
  out->src_port = static_cast<uint16_t>(v.get(Role::kSrcPort));
  out->dst_port = static_cast<uint16_t>(v.get(Role::kDstPort));
  out->proto = static_cast<uint8_t>(v.get(Role::kProto));
  out->ingress_if = static_cast<uint32_t>(v.get(Role::kInIf));
  out->egress_if = static_cast<uint32_t>(v.get(Role::kOutIf));
  return true;
}

}  // namespace nf2::netflow
