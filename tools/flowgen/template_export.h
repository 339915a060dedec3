// NetFlow v9 and IPFIX export packets, as a router with templates sends
// them: a template for IPv4 flows, one for IPv6 flows, an options template
// with the sampling interval and its data, and data packets that mix both
// flow templates. Every exporter uses the same template ids, so a collector
// that does not scope templates by exporter and source id / observation
// domain decodes one exporter's data with another's template.
#ifndef NF2INGEST_TOOLS_FLOWGEN_TEMPLATE_EXPORT_H_
#define NF2INGEST_TOOLS_FLOWGEN_TEMPLATE_EXPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "exported_flow.h"
#include "stages/sources/flow_generator.h"

namespace nf2::flowgen {

enum class ExportVersion : uint16_t { kV9 = 9, kIpfix = 10 };

struct TemplateExportOptions {
  ExportVersion version = ExportVersion::kV9;
  uint64_t seed = 1;
  int flows_per_packet = 10;  // 1..kMaxFlows
  double ipv6_ratio = 0.25;
  uint32_t source_id = 0;  // v9 source id / IPFIX observation domain
  uint32_t sampling_interval = 1;
  // The same template ids with another layout: destination before source,
  // 4-byte counters. A collector that mixes up exporters' templates then
  // decodes garbage instead of quietly getting it right.
  bool alternate_layout = false;
};

// The exporter's clock at the moment a packet is built.
struct ExportTime {
  uint32_t uptime_ms = 0;
  uint64_t unix_ns = 0;
};

class TemplateExporter {
 public:
  static constexpr int kMaxFlows = 30;
  static constexpr size_t kMaxPacketBytes = 4096;
  static constexpr uint16_t kIpv4Template = 256;
  static constexpr uint16_t kIpv6Template = 257;
  static constexpr uint16_t kSamplingTemplate = 258;

  explicit TemplateExporter(const TemplateExportOptions& options);

  // The three templates and the sampling options record, in one packet.
  size_t BuildTemplatePacket(uint8_t* out, const ExportTime& t);
  // `flows_per_packet` flows; with `expected`, their flows.v1 records too.
  size_t BuildDataPacket(uint8_t* out, const ExportTime& t, std::string* expected);

 private:
  uint8_t* PutHeader(uint8_t* p, const ExportTime& t, uint16_t records);
  uint8_t* PutTemplates(uint8_t* p) const;
  uint8_t* PutOptionsTemplate(uint8_t* p) const;
  uint8_t* PutSamplingData(uint8_t* p) const;
  uint8_t* PutDataSet(uint8_t* p, bool v6, const ExportedFlow* flows, int n) const;
  uint8_t* PutRecord(uint8_t* p, const ExportedFlow& f, const ExportTime& t) const;
  uint8_t* PutFlowFields(uint8_t* p, bool v6) const;
  uint64_t StartSeconds(const ExportedFlow& f, const ExportTime& t) const;
  void Finish(uint8_t* packet, uint8_t* end) const;
  bool ipfix() const { return options_.version == ExportVersion::kIpfix; }

  TemplateExportOptions options_;
  Rng rng_;
  uint32_t sequence_ = 0;  // v9: packets sent; IPFIX: data records sent
  ExportTime now_;         // of the packet being built
};

}  // namespace nf2::flowgen

#endif  // NF2INGEST_TOOLS_FLOWGEN_TEMPLATE_EXPORT_H_
