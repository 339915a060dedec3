#include "stages/flows/flow_record_json.h"

#include <charconv>
#include <cstring>
#include <limits>

namespace nf2 {
namespace {

constexpr char kTs[] = "{\"ts\":";
constexpr char kSrcIp[] = R"(,"src_ip":")";
constexpr char kDstIp[] = R"(","dst_ip":")";
constexpr char kSrcPort[] = R"(","src_port":)";
constexpr char kDstPort[] = ",\"dst_port\":";
constexpr char kProto[] = ",\"proto\":";
constexpr char kBytes[] = ",\"bytes\":";
constexpr char kPackets[] = ",\"packets\":";
constexpr char kIngress[] = ",\"ingress_if\":";
constexpr char kEgress[] = ",\"egress_if\":";

template <size_t N>
char* Put(char* p, const char (&lit)[N]) {
  std::memcpy(p, lit, N - 1);
  return p + N - 1;
}

char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

char* PutUint(char* p, uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }

}  // namespace

size_t MaxFlowRecordJsonSize() {
  FlowRecord widest;
  widest.ts = std::numeric_limits<uint64_t>::max() / 1'000'000'000ull;
  widest.bytes = widest.packets = std::numeric_limits<uint64_t>::max();
  widest.ingress_if = widest.egress_if = std::numeric_limits<uint32_t>::max();
  widest.src_port = widest.dst_port = 65535;
  widest.proto = 255;
  widest.src_ip.size = widest.dst_ip.size = kMaxIpText;
  std::string out;
  AppendFlowRecordJson(widest, &out);
  return out.size();
}

void AppendFlowRecordJson(const FlowRecord& rec, std::string* out) {
  // Fixed keys plus the widest values fit in 320 bytes: write on the stack,
  // then append once (no zero-filling of the output's spare room).
  char buf[320];
  char* p = buf;
  p = Put(p, kTs);
  p = PutUint(p, rec.ts);
  p = Put(p, kSrcIp);
  p = Put(p, rec.src_ip.view());
  p = Put(p, kDstIp);
  p = Put(p, rec.dst_ip.view());
  p = Put(p, kSrcPort);
  p = PutUint(p, rec.src_port);
  p = Put(p, kDstPort);
  p = PutUint(p, rec.dst_port);
  p = Put(p, kProto);
  p = PutUint(p, rec.proto);
  p = Put(p, kBytes);
  p = PutUint(p, rec.bytes);
  p = Put(p, kPackets);
  p = PutUint(p, rec.packets);
  if (rec.ingress_if != 0) {
    p = Put(p, kIngress);
    p = PutUint(p, rec.ingress_if);
  }
  if (rec.egress_if != 0) {
    p = Put(p, kEgress);
    p = PutUint(p, rec.egress_if);
  }
  *p++ = '}';
  out->append(buf, static_cast<size_t>(p - buf));
}

}  // namespace nf2
