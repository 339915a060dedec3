#include "template_export.h"

#include <algorithm>

#include "wire.h"

namespace nf2::flowgen {
namespace {

struct Field {
  uint16_t type;
  uint16_t length;
};

// The IPv4 and IPv6 flow templates differ in the addresses only; v9 carries
// times as uptime (FIRST/LAST_SWITCHED), IPFIX as absolute milliseconds.
constexpr Field kCommonFields[] = {{7, 2}, {11, 2}, {4, 1}, {1, 8}, {2, 8}, {10, 4}, {14, 4}};
constexpr Field kV9Times[] = {{22, 4}, {21, 4}};
constexpr Field kIpfixTimes[] = {{152, 8}, {153, 8}};
constexpr uint16_t kFieldCount = 2 + std::size(kCommonFields) + 2;

constexpr uint16_t kV9TemplateSet = 0;
constexpr uint16_t kV9OptionsSet = 1;
constexpr uint16_t kIpfixTemplateSet = 2;
constexpr uint16_t kIpfixOptionsSet = 3;

uint8_t* PutField(uint8_t* p, Field f) { return Put16(Put16(p, f.type), f.length); }

// Sets are padded to a multiple of four bytes; the length covers the padding.
uint8_t* CloseSet(uint8_t* set_start, uint8_t* p) {
  while ((p - set_start) % 4 != 0) p = Put8(p, 0);
  Put16(set_start + 2, static_cast<uint32_t>(p - set_start));
  return p;
}

}  // namespace

TemplateExporter::TemplateExporter(const TemplateExportOptions& options)
    : options_(options), rng_(options.seed) {
  options_.flows_per_packet = std::clamp(options_.flows_per_packet, 1, kMaxFlows);
}

uint8_t* TemplateExporter::PutHeader(uint8_t* p, const ExportTime& t, uint16_t records) {
  const auto unix_secs = static_cast<uint32_t>(t.unix_ns / 1'000'000'000ULL);
  p = Put16(p, static_cast<uint32_t>(options_.version));
  if (ipfix()) {
    p = Put16(p, 0);  // total length, set by Finish
    p = Put32(p, unix_secs);
    p = Put32(p, sequence_);
  } else {
    p = Put16(p, records);
    p = Put32(p, t.uptime_ms);
    p = Put32(p, unix_secs);
    p = Put32(p, sequence_++);
  }
  return Put32(p, options_.source_id);
}

uint8_t* TemplateExporter::PutFlowFields(uint8_t* p, bool v6) const {
  const Field src = {static_cast<uint16_t>(v6 ? 27 : 8), static_cast<uint16_t>(v6 ? 16 : 4)};
  const Field dst = {static_cast<uint16_t>(v6 ? 28 : 12), src.length};
  const bool alt = options_.alternate_layout;
  p = PutField(p, alt ? dst : src);
  p = PutField(p, alt ? src : dst);
  for (Field f : kCommonFields) {
    if (alt && (f.type == 1 || f.type == 2)) f.length = 4;
    p = PutField(p, f);
  }
  for (const Field f : ipfix() ? kIpfixTimes : kV9Times) p = PutField(p, f);
  return p;
}

uint8_t* TemplateExporter::PutTemplates(uint8_t* p) const {
  uint8_t* set = p;
  p = Put16(p, ipfix() ? kIpfixTemplateSet : kV9TemplateSet);
  p = Put16(p, 0);
  for (const bool v6 : {false, true}) {
    p = Put16(p, v6 ? kIpv6Template : kIpv4Template);
    p = Put16(p, kFieldCount);
    p = PutFlowFields(p, v6);
  }
  return CloseSet(set, p);
}

// v9: scope System (1) and SAMPLING_INTERVAL (34), SAMPLING_ALGORITHM (35);
// IPFIX: scope observationDomainId (149) and samplingPacketInterval (305).
uint8_t* TemplateExporter::PutOptionsTemplate(uint8_t* p) const {
  uint8_t* set = p;
  p = Put16(p, ipfix() ? kIpfixOptionsSet : kV9OptionsSet);
  p = Put16(p, 0);
  p = Put16(p, kSamplingTemplate);
  if (ipfix()) {
    p = Put16(p, 2);  // fields
    p = Put16(p, 1);  // of which scope fields
    p = PutField(p, {149, 4});
    p = PutField(p, {305, 4});
  } else {
    p = Put16(p, 4);  // scope bytes
    p = Put16(p, 8);  // option bytes
    p = PutField(p, {1, 4});
    p = PutField(p, {34, 4});
    p = PutField(p, {35, 1});
  }
  return CloseSet(set, p);
}

uint8_t* TemplateExporter::PutSamplingData(uint8_t* p) const {
  uint8_t* set = p;
  p = Put16(p, kSamplingTemplate);
  p = Put16(p, 0);
  p = Put32(p, options_.source_id);
  p = Put32(p, options_.sampling_interval);
  if (!ipfix()) p = Put8(p, 2);  // random 1-out-of-N
  return CloseSet(set, p);
}

size_t TemplateExporter::BuildTemplatePacket(uint8_t* out, const ExportTime& t) {
  uint8_t* p = PutHeader(out, t, 4);  // two templates, one options template, its record
  p = PutTemplates(p);
  p = PutOptionsTemplate(p);
  p = PutSamplingData(p);
  if (ipfix()) ++sequence_;  // the options record is a data record
  Finish(out, p);
  return static_cast<size_t>(p - out);
}

uint8_t* TemplateExporter::PutRecord(uint8_t* p, const ExportedFlow& f, const ExportTime& t) const {
  const size_t addr_bytes = f.v6 ? 16 : 4;
  const bool alt = options_.alternate_layout;
  p = PutBytes(p, (alt ? f.dst : f.src).data(), addr_bytes);
  p = PutBytes(p, (alt ? f.src : f.dst).data(), addr_bytes);
  p = Put16(p, f.src_port);
  p = Put16(p, f.dst_port);
  p = Put8(p, f.proto);
  p = alt ? Put32(p, static_cast<uint32_t>(f.bytes)) : Put64(p, f.bytes);
  p = alt ? Put32(p, static_cast<uint32_t>(f.packets)) : Put64(p, f.packets);
  p = Put32(p, f.in_if);
  p = Put32(p, f.out_if);
  if (!ipfix()) return Put32(Put32(p, f.first_ms), f.last_ms);
  const uint64_t export_ms = t.unix_ns / 1'000'000ULL;
  p = Put64(p, export_ms - (t.uptime_ms - f.first_ms));
  return Put64(p, export_ms - (t.uptime_ms - f.last_ms));
}

uint8_t* TemplateExporter::PutDataSet(uint8_t* p, bool v6, const ExportedFlow* flows, int n) const {
  uint8_t* set = p;
  p = Put16(p, v6 ? kIpv6Template : kIpv4Template);
  p = Put16(p, 0);
  bool any = false;
  for (int i = 0; i < n; ++i) {
    if (flows[i].v6 != v6) continue;
    p = PutRecord(p, flows[i], now_);
    any = true;
  }
  return any ? CloseSet(set, p) : set;
}

uint64_t TemplateExporter::StartSeconds(const ExportedFlow& f, const ExportTime& t) const {
  if (ipfix()) return (t.unix_ns / 1'000'000ULL - (t.uptime_ms - f.first_ms)) / 1000;
  // v9 headers carry whole seconds: the start is counted back from those.
  const uint64_t header_ns = t.unix_ns / 1'000'000'000ULL * 1'000'000'000ULL;
  return UptimeToUnixSeconds(header_ns, t.uptime_ms, f.first_ms);
}

size_t TemplateExporter::BuildDataPacket(uint8_t* out, const ExportTime& t, std::string* expected) {
  ExportedFlow flows[kMaxFlows];
  const int n = options_.flows_per_packet;
  for (int i = 0; i < n; ++i) {
    flows[i] = DrawFlow(rng_, t.uptime_ms, options_.ipv6_ratio);
    if (options_.alternate_layout) flows[i].bytes &= 0xffffffffULL;
    if (expected) AppendExpected(flows[i], StartSeconds(flows[i], t), expected);
  }
  now_ = t;
  uint8_t* p = PutHeader(out, t, static_cast<uint16_t>(n));
  p = PutDataSet(p, false, flows, n);
  p = PutDataSet(p, true, flows, n);
  if (ipfix()) sequence_ += static_cast<uint32_t>(n);
  Finish(out, p);
  return static_cast<size_t>(p - out);
}

void TemplateExporter::Finish(uint8_t* packet, uint8_t* end) const {
  if (ipfix()) Put16(packet + 2, static_cast<uint32_t>(end - packet));
}

}  // namespace nf2::flowgen
