// libFuzzer target for the NetFlow/IPFIX decoder: whatever bytes arrive over
// UDP, decoding must not crash, read out of bounds, or produce a record the
// serializer cannot write, and the state it keeps must stay saveable and
// loadable. Any crash, sanitizer report or broken invariant (abort) is a
// finding.
//
// The input is a sequence of datagrams, each preceded by its length (u16,
// big-endian; a length past the end takes what is left), so one input can
// define a template and then use it. The decoder lives across inputs, as it
// does in nf2ingest, with small limits so its state stays bounded; every
// datagram is 10 s after the previous one, so waiting data expires too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "stages/flows/flow_record_json.h"
#include "stages/netflow/decoder.h"

namespace {

using nf2::netflow::Decoder;
using nf2::netflow::DecoderOptions;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "netflow decoder invariant broken: %s\n", what);
    std::abort();
  }
}

Decoder& SharedDecoder() {
  static Decoder* decoder = [] {
    DecoderOptions o;
    o.max_pending_sets = 8;
    o.max_pending_bytes = 1 << 20;
    o.max_templates_per_exporter = 64;
    o.max_exporters = 4;
    return new Decoder(o);
  }();
  return *decoder;
}

void DecodeOne(Decoder& decoder, std::string_view datagram, uint64_t now_ns, uint16_t port) {
  static std::vector<nf2::FlowRecord> out;
  out.clear();
  nf2::netflow::DecodeCounts counts;
  const auto exporter = nf2::netflow::Exporter::FromIpv4(0x7f000001, port);
  const auto outcome = decoder.Decode(exporter, now_ns, datagram, &out, &counts);
  Check(static_cast<size_t>(outcome) < nf2::netflow::kDatagramOutcomeCount, "outcome in range");
  Check(counts.records == out.size(), "records counted = records returned");
  std::string json;
  for (const nf2::FlowRecord& r : out) {
    json.clear();
    nf2::AppendFlowRecordJson(r, &json);
    Check(json.size() <= nf2::MaxFlowRecordJsonSize(), "record fits MaxFlowRecordJsonSize");
    Check(r.src_ip.size > 0 && r.dst_ip.size > 0, "records have both addresses");
  }
}

void CheckPersistence(const Decoder& decoder, std::string_view input) {
  Decoder fresh;
  Check(fresh.LoadTemplates(decoder.SaveTemplates()).ok(), "saved templates load");
  (void)fresh.LoadTemplates(input);  // arbitrary bytes: an error, never a crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t now_ns = 1'700'000'000'000'000'000ull;
  static uint64_t inputs = 0;
  Decoder& decoder = SharedDecoder();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  uint16_t port = 0;
  while (rest.size() >= 2) {
    const size_t length = (static_cast<uint8_t>(rest[0]) << 8) | static_cast<uint8_t>(rest[1]);
    rest.remove_prefix(2);
    const std::string_view datagram = rest.substr(0, length);
    rest.remove_prefix(datagram.size());
    now_ns += 10'000'000'000ull;
    DecodeOne(decoder, datagram, now_ns, static_cast<uint16_t>(2055 + (port++ % 2)));
  }
  if (++inputs % 64 == 0)
    CheckPersistence(decoder, std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
