#include "stages/goflow2/flow_message.h"

#include <cstring>
#include <limits>

#include "stages/flows/ip_text.h"

namespace nf2 {
namespace {

using Byte = unsigned char;

// Protobuf wire types. Groups (3, 4) are proto2-only; proto3, and so
// goflow2, never writes them, and a frame holding one is invalid.
enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };
constexpr int kNotMapped = -1;
constexpr uint64_t kMaxFieldNumber = (uint64_t{1} << 29) - 1;

constexpr std::string_view kBadVarint = "bad varint";
constexpr std::string_view kPastEnd = "a field runs past the end of the message";
constexpr std::string_view kBadFieldNumber = "bad field number";
constexpr std::string_view kBadWireType = "unsupported wire type";
constexpr std::string_view kWrongWireType = "a known field has the wrong wire type";

// Field numbers of flowpb.FlowMessage (docs/contract.md §5).
enum FieldNumber : uint64_t {
  kType = 1,
  kSamplingRate = 3,
  kSequenceNum = 4,
  kSrcAddr = 6,
  kDstAddr = 7,
  kBytes = 9,
  kPackets = 10,
  kSamplerAddress = 11,
  kInIf = 18,
  kOutIf = 19,
  kProto = 20,
  kSrcPort = 21,
  kDstPort = 22,
  kEtype = 30,
  kTimeReceivedNs = 110,
  kTimeFlowStartNs = 111,
  kTimeFlowEndNs = 112,
};

// Go's protowire rules: at most 10 bytes, the 10th holding only bit 63.
// Over-long encodings of small values (0x80 0x00) are accepted, as there.
bool ReadVarintSlow(const Byte** p, const Byte* end, uint64_t* out) {
  uint64_t v = 0;
  const Byte* q = *p;
  for (int shift = 0; shift < 70; shift += 7) {
    if (q == end) return false;
    const Byte b = *q++;
    if (shift == 63 && b > 1) return false;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      *out = v;
      *p = q;
      return true;
    }
  }
  return false;
}

// The same with ten bytes known to be readable: no bounds check per byte.
// goflow2's nanosecond times take nine bytes each, so this is the hot loop.
inline bool ReadVarintUnchecked(const Byte** p, uint64_t* out) {
  const Byte* q = *p;
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    const Byte b = q[i];
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      if (i == 9 && b > 1) return false;
      *out = v;
      *p = q + i + 1;
      return true;
    }
  }
  return false;
}

inline bool ReadVarint(const Byte** p, const Byte* end, uint64_t* out) {
  if (*p < end && **p < 0x80) {
    *out = **p;
    ++*p;
    return true;
  }
  if (end - *p >= 10) return ReadVarintUnchecked(p, out);
  return ReadVarintSlow(p, end, out);
}

// A length-delimited value: its length, then that many bytes.
std::string_view ReadLengthDelimited(const Byte** p, const Byte* end, std::string_view* out) {
  uint64_t length = 0;
  if (!ReadVarint(p, end, &length)) return kBadVarint;
  if (length > static_cast<uint64_t>(end - *p)) return kPastEnd;
  *out = std::string_view(reinterpret_cast<const char*>(*p), length);
  *p += length;
  return {};
}

std::string_view SkipValue(int wire_type, const Byte** p, const Byte* end) {
  uint64_t ignored = 0;
  std::string_view bytes;
  size_t fixed = 0;
  switch (wire_type) {
    case kVarint:
      return ReadVarint(p, end, &ignored) ? std::string_view() : kBadVarint;
    case kLengthDelimited:
      return ReadLengthDelimited(p, end, &bytes);
    case kFixed64:
      fixed = 8;
      break;
    case kFixed32:
      fixed = 4;
      break;
    default:
      return kBadWireType;
  }
  if (fixed > static_cast<size_t>(end - *p)) return kPastEnd;
  *p += fixed;
  return {};
}

// The wire type of a FlowMessage field the contract lists, or kNotMapped for
// the others (skipped whatever their wire type).
int ExpectedWireType(uint64_t number) {
  switch (number) {
    case kSrcAddr:
    case kDstAddr:
    case kSamplerAddress:
      return kLengthDelimited;
    case kType:
    case kSamplingRate:
    case kSequenceNum:
    case kBytes:
    case kPackets:
    case kInIf:
    case kOutIf:
    case kProto:
    case kSrcPort:
    case kDstPort:
    case kEtype:
    case kTimeReceivedNs:
    case kTimeFlowStartNs:
    case kTimeFlowEndNs:
      return kVarint;
    default:
      return kNotMapped;
  }
}

constexpr uint64_t TagOf(uint64_t number, int wire_type) {
  return (number << 3) | static_cast<uint64_t>(wire_type);
}

std::string_view ReadU64(const Byte** p, const Byte* end, uint64_t* out) {
  return ReadVarint(p, end, out) ? std::string_view() : kBadVarint;
}

// proto3 parsers keep the low 32 bits of a varint read into a 32-bit field.
std::string_view ReadU32(const Byte** p, const Byte* end, uint32_t* out) {
  uint64_t v = 0;
  if (!ReadVarint(p, end, &v)) return kBadVarint;
  *out = static_cast<uint32_t>(v);
  return {};
}

// Any field but the used ones in their own wire type: a field number out of
// range, a known field in the wrong wire type, or a field to skip.
std::string_view ReadOtherField(uint64_t tag, const Byte** p, const Byte* end) {
  const uint64_t number = tag >> 3;
  const int wire_type = static_cast<int>(tag & 7);
  if (number == 0 || number > kMaxFieldNumber) return kBadFieldNumber;
  const int expected = ExpectedWireType(number);
  if (expected != kNotMapped && wire_type != expected) return kWrongWireType;
  return SkipValue(wire_type, p, end);
}

// One field, tag already read. The fields the mapping uses are dispatched on
// the whole tag at once: one jump per field, the hot path of the decoder.
std::string_view ReadField(uint64_t tag, const Byte** p, const Byte* end, FlowMessageFields* f) {
  switch (tag) {
    case TagOf(kType, kVarint):
      return ReadU32(p, end, &f->type);
    case TagOf(kSrcAddr, kLengthDelimited):
      return ReadLengthDelimited(p, end, &f->src_addr);
    case TagOf(kDstAddr, kLengthDelimited):
      return ReadLengthDelimited(p, end, &f->dst_addr);
    case TagOf(kBytes, kVarint):
      return ReadU64(p, end, &f->bytes);
    case TagOf(kPackets, kVarint):
      return ReadU64(p, end, &f->packets);
    case TagOf(kInIf, kVarint):
      return ReadU32(p, end, &f->in_if);
    case TagOf(kOutIf, kVarint):
      return ReadU32(p, end, &f->out_if);
    case TagOf(kProto, kVarint):
      return ReadU32(p, end, &f->proto);
    case TagOf(kSrcPort, kVarint):
      return ReadU32(p, end, &f->src_port);
    case TagOf(kDstPort, kVarint):
      return ReadU32(p, end, &f->dst_port);
    case TagOf(kTimeReceivedNs, kVarint):
      return ReadU64(p, end, &f->time_received_ns);
    case TagOf(kTimeFlowStartNs, kVarint):
      return ReadU64(p, end, &f->time_flow_start_ns);
    default:
      return ReadOtherField(tag, p, end);
  }
}

bool IsMappedType(uint32_t type) { return type >= 2 && type <= 4; }  // NETFLOW_V5, _V9, IPFIX

}  // namespace

std::string_view DecodeFlowMessageFields(std::string_view message, FlowMessageFields* fields) {
  *fields = FlowMessageFields();
  const Byte* p = reinterpret_cast<const Byte*>(message.data());
  const Byte* const end = p + message.size();
  while (p < end) {
    uint64_t tag = 0;
    if (!ReadVarint(&p, end, &tag)) return kBadVarint;
    const std::string_view error = ReadField(tag, &p, end, fields);
    if (!error.empty()) return error;
  }
  return {};
}

// The checks in the order RecordBuilder::Finish makes them, with its reasons,
// so a message and its JSON line fail for the same stated cause.
ParseResult MapFlowMessage(const FlowMessageFields& f, FlowRecord* out) {
  ParseResult r;
  if (!IsMappedType(f.type)) {  // FLOWUNKNOWN (an empty message too), SFLOW_5, unknown values
    r.verdict = LineVerdict::kFiltered;
    return r;
  }
  // goflow2 renders absent (empty) address bytes as "": the JSON line fails too.
  if (f.src_addr.empty()) {
    r.error = "src_addr is missing";
    return r;
  }
  if (f.dst_addr.empty()) {
    r.error = "dst_addr is missing";
    return r;
  }
  if (!FormatIpBytes(f.src_addr, &out->src_ip)) {
    r.error = "src_addr is not 4 or 16 bytes";
  } else if (!FormatIpBytes(f.dst_addr, &out->dst_ip)) {
    r.error = "dst_addr is not 4 or 16 bytes";
  } else if (f.src_port > 65535) {
    r.error = "src_port out of range 0..65535";
  } else if (f.dst_port > 65535) {
    r.error = "dst_port out of range 0..65535";
  } else if (f.proto > 255) {
    r.error = "proto out of range 0..255";
  }
  if (!r.error.empty()) return r;
  const uint64_t ns = f.time_flow_start_ns != 0 ? f.time_flow_start_ns : f.time_received_ns;
  out->ts = ns / 1'000'000'000ull;
  out->bytes = f.bytes;
  out->packets = f.packets;
  out->ingress_if = f.in_if;
  out->egress_if = f.out_if;
  out->src_port = static_cast<uint16_t>(f.src_port);
  out->dst_port = static_cast<uint16_t>(f.dst_port);
  out->proto = static_cast<uint8_t>(f.proto);
  r.verdict = LineVerdict::kRecord;
  return r;
}

ParseResult DecodeFlowMessage(std::string_view message, FlowRecord* out) {
  FlowMessageFields fields;
  const std::string_view error = DecodeFlowMessageFields(message, &fields);
  if (!error.empty()) {
    ParseResult r;
    r.error = error;
    return r;
  }
  return MapFlowMessage(fields, out);
}

void StartFramedChunk(LineChunk* chunk) {
  chunk->size = 0;
  chunk->format = ChunkFormat::kDelimitedProtobuf;
}

bool AppendFramedValue(LineChunk* chunk, std::string_view value) {
  if (value.size() > std::numeric_limits<uint32_t>::max()) return false;
  chunk->format = ChunkFormat::kDelimitedProtobuf;
  const size_t need = chunk->size + FramedValueBytes(value.size()) + kLinePadding;
  if (chunk->data.size() < need) chunk->data.resize(need);
  char* p = chunk->data.data() + chunk->size;
  const auto n = static_cast<uint32_t>(value.size());
  for (size_t i = 0; i < kFramedValueHeaderBytes; ++i) {
    p[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  if (!value.empty()) std::memcpy(p + kFramedValueHeaderBytes, value.data(), value.size());
  chunk->size += FramedValueBytes(value.size());
  return true;
}

bool FramedValueReader::Next(std::string_view* value) {
  if (rest_.empty()) return false;
  uint32_t n = 0;
  if (rest_.size() >= kFramedValueHeaderBytes) {
    const auto* b = reinterpret_cast<const Byte*>(rest_.data());
    n = b[0] | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
  }
  if (rest_.size() < kFramedValueHeaderBytes || n > rest_.size() - kFramedValueHeaderBytes) {
    *value = rest_;
    rest_ = {};
    truncated_ = true;
    return true;
  }
  *value = rest_.substr(kFramedValueHeaderBytes, n);
  rest_.remove_prefix(FramedValueBytes(n));
  truncated_ = false;
  return true;
}

DelimitedMessageReader::Step DelimitedMessageReader::Next(std::string_view* message) {
  if (done_) return Step::kEnd;
  if (rest_.empty()) {
    done_ = true;
    if (!empty_) return Step::kEnd;
    error_ = "empty message value";
    return Step::kBadFraming;
  }
  const Byte* p = reinterpret_cast<const Byte*>(rest_.data());
  const Byte* const end = p + rest_.size();
  const std::string_view error = ReadLengthDelimited(&p, end, message);
  if (!error.empty()) {
    done_ = true;
    error_ = error == kBadVarint ? "bad message length varint" : "message length past the end";
    return Step::kBadFraming;
  }
  rest_.remove_prefix(static_cast<size_t>(p - reinterpret_cast<const Byte*>(rest_.data())));
  return Step::kMessage;
}

}  // namespace nf2
