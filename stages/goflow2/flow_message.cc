#include "stages/goflow2/flow_message.h"

#include <cstring>
#include <limits>

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

inline bool ReadVarint(const Byte** p, const Byte* end, uint64_t* out) {
  if (*p < end && **p < 0x80) {
    *out = **p;
    ++*p;
    return true;
  }
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

// proto3 parsers keep the low 32 bits of a varint read into a 32-bit field.
uint32_t Low32(uint64_t v) { return static_cast<uint32_t>(v); }

void StoreVarint(uint64_t number, uint64_t v, FlowMessageFields* f) {
  switch (number) {
    case kType:
      f->type = Low32(v);
      break;
    case kBytes:
      f->bytes = v;
      break;
    case kPackets:
      f->packets = v;
      break;
    case kInIf:
      f->in_if = Low32(v);
      break;
    case kOutIf:
      f->out_if = Low32(v);
      break;
    case kProto:
      f->proto = Low32(v);
      break;
    case kSrcPort:
      f->src_port = Low32(v);
      break;
    case kDstPort:
      f->dst_port = Low32(v);
      break;
    case kTimeReceivedNs:
      f->time_received_ns = v;
      break;
    case kTimeFlowStartNs:
      f->time_flow_start_ns = v;
      break;
    default:  // checked for its wire type, not used by the mapping
      break;
  }
}

void StoreBytes(uint64_t number, std::string_view bytes, FlowMessageFields* f) {
  if (number == kSrcAddr) {
    f->src_addr = bytes;
  } else if (number == kDstAddr) {
    f->dst_addr = bytes;
  }
}

// One field (tag already read) into `f`.
std::string_view ReadField(uint64_t number, int wire_type, const Byte** p, const Byte* end,
                           FlowMessageFields* f) {
  const int expected = ExpectedWireType(number);
  if (expected == kNotMapped) return SkipValue(wire_type, p, end);
  if (wire_type != expected) return kWrongWireType;
  if (wire_type == kLengthDelimited) {
    std::string_view bytes;
    const std::string_view error = ReadLengthDelimited(p, end, &bytes);
    if (error.empty()) StoreBytes(number, bytes, f);
    return error;
  }
  uint64_t v = 0;
  if (!ReadVarint(p, end, &v)) return kBadVarint;
  StoreVarint(number, v, f);
  return {};
}

char* AppendDecimalByte(char* p, unsigned v) {
  if (v >= 100) {
    *p++ = static_cast<char>('0' + v / 100);
    v %= 100;
    *p++ = static_cast<char>('0' + v / 10);
  } else if (v >= 10) {
    *p++ = static_cast<char>('0' + v / 10);
  }
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

char* AppendIpv4(char* p, const Byte* b) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *p++ = '.';
    p = AppendDecimalByte(p, b[i]);
  }
  return p;
}

// A 16-bit group in lowercase hex without leading zeros.
char* AppendHexGroup(char* p, unsigned v) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned digit = (v >> shift) & 0xf;
    if (digit != 0 || started || shift == 0) {
      *p++ = kHex[digit];
      started = true;
    }
  }
  return p;
}

bool IsIpv4Mapped(const Byte* b) {
  static constexpr Byte kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b, kPrefix, sizeof kPrefix) == 0;
}

// RFC 5952 as Go's netip.Addr.String: the longest run of two or more zero
// groups (the first of equal runs) becomes "::"; no other embedded IPv4 form
// than the mapped one.
char* AppendIpv6(char* p, const Byte* b) {
  if (IsIpv4Mapped(b)) {
    std::memcpy(p, "::ffff:", 7);
    return AppendIpv4(p + 7, b + 12);
  }
  unsigned groups[8];
  for (int i = 0; i < 8; ++i) groups[i] = (static_cast<unsigned>(b[2 * i]) << 8) | b[2 * i + 1];
  int zero_start = -1, zero_len = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > zero_len) zero_start = i, zero_len = j - i;
    i = j == i ? i + 1 : j;
  }
  for (int i = 0; i < 8; ++i) {
    if (i == zero_start) {
      *p++ = ':';
      *p++ = ':';
      i += zero_len - 1;
      continue;
    }
    if (i > 0 && p[-1] != ':') *p++ = ':';  // none right after "::"
    p = AppendHexGroup(p, groups[i]);
  }
  return p;
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
    const uint64_t number = tag >> 3;
    if (number == 0 || number > kMaxFieldNumber) return kBadFieldNumber;
    const std::string_view error = ReadField(number, static_cast<int>(tag & 7), &p, end, fields);
    if (!error.empty()) return error;
  }
  return {};
}

bool FormatIpBytes(std::string_view bytes, IpText* out) {
  const Byte* b = reinterpret_cast<const Byte*>(bytes.data());
  char* const start = out->text;
  char* end = nullptr;
  if (bytes.size() == 4) {
    end = AppendIpv4(start, b);
  } else if (bytes.size() == 16) {
    end = AppendIpv6(start, b);
  } else {
    return false;
  }
  out->size = static_cast<uint8_t>(end - start);
  return true;
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
  FlowRecord rec;
  if (!FormatIpBytes(f.src_addr, &rec.src_ip)) {
    r.error = "src_addr is not 4 or 16 bytes";
  } else if (!FormatIpBytes(f.dst_addr, &rec.dst_ip)) {
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
  rec.ts = ns / 1'000'000'000ull;
  rec.bytes = f.bytes;
  rec.packets = f.packets;
  rec.ingress_if = f.in_if;
  rec.egress_if = f.out_if;
  rec.src_port = static_cast<uint16_t>(f.src_port);
  rec.dst_port = static_cast<uint16_t>(f.dst_port);
  rec.proto = static_cast<uint8_t>(f.proto);
  *out = rec;
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
