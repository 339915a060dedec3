// Shared by the NetFlow decoder tests: decode one datagram and see the
// records as flows.v1 JSON, the form the API receives.
#ifndef NF2INGEST_TESTS_UNIT_NETFLOW_NETFLOW_TEST_UTIL_H_
#define NF2INGEST_TESTS_UNIT_NETFLOW_NETFLOW_TEST_UTIL_H_

#include <string>
#include <vector>

#include "stages/flows/flow_record_json.h"
#include "stages/netflow/decoder.h"
#include "tests/support/netflow_datagrams.h"

namespace nf2::netflow::testing {

using nf2::testing::Bytes;
using nf2::testing::Field;
using nf2::testing::Message;

inline constexpr uint64_t kNowNs = 1'700'000'100'000'000'000ull;

inline Exporter TestExporter(uint16_t port = 2055) {
  return Exporter::FromIpv4(0xC0000201, port);  // 192.0.2.1
}

struct Decoded {
  DatagramOutcome outcome = DatagramOutcome::kOk;
  DecodeCounts counts;
  std::vector<std::string> json;
};

inline Decoded DecodeOne(Decoder& decoder, const std::string& datagram, uint64_t now_ns = kNowNs,
                         const Exporter& exporter = TestExporter()) {
  Decoded d;
  std::vector<FlowRecord> records;
  d.outcome = decoder.Decode(exporter, now_ns, datagram, &records, &d.counts);
  for (const FlowRecord& r : records) {
    std::string json;
    AppendFlowRecordJson(r, &json);
    d.json.push_back(json);
  }
  return d;
}

inline const DomainStats* FindDomain(const DecoderSnapshot& snap, uint8_t version,
                                     uint32_t domain) {
  for (const ExporterStats& e : snap.exporters) {
    for (const DomainStats& d : e.domains) {
      if (d.version == version && d.domain == domain) return &d;
    }
  }
  return nullptr;
}

}  // namespace nf2::netflow::testing

#endif  // NF2INGEST_TESTS_UNIT_NETFLOW_NETFLOW_TEST_UTIL_H_
