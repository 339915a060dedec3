#include "stages/goflow2/record_builder.h"

#include <arpa/inet.h>

#include <cstring>
#include <limits>

#include "stages/flows/proto_table.h"

namespace nf2 {
namespace {

constexpr uint32_t Bit(Field f) { return 1u << static_cast<int>(f); }

// Dotted-quad IPv4 exactly as inet_pton(AF_INET) accepts it: four decimal
// parts 0..255, no leading zeros. Most flows are IPv4; this skips the copy
// and the libc call for them.
bool IsIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    const size_t start = i;
    unsigned value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    const size_t digits = i - start;
    if (digits == 0 || value > 255 || (digits > 1 && s[start] == '0')) return false;
    if (++parts == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

// A textual IP address exactly as inet_pton accepts it (no zone ids), without
// allocating.
bool IsIpAddress(std::string_view s) {
  if (s.empty() || s.size() > kMaxIpText) return false;
  if (s.find(':') == std::string_view::npos) return IsIpv4(s);
  char buf[kMaxIpText + 1];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET6, buf, addr) == 1;
}

bool ParseDecimalUint(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Field RecordBuilder::LookupCandidate(std::string_view key) {
  for (const MappedKey& k : kMappedKeys) {
    if (k.name == key) return k.field;
  }
  return Field::kNone;
}

void RecordBuilder::Reset() {
  present_ = 0;
  errors_ = 0;
  type_ = TypeKind::kAbsent;
  unknown_proto_ = false;
  time_flow_start_ns_ = 0;
  time_received_ns_ = 0;
  rec_ = FlowRecord();
}

void RecordBuilder::SetError(Field field, std::string_view why) {
  errors_ |= Bit(field);
  first_error_[static_cast<int>(field)] = why;
}

void RecordBuilder::ClearError(Field field) { errors_ &= ~Bit(field); }

void RecordBuilder::OnUnsigned(Field field, uint64_t value) {
  if (field == Field::kNone) return;
  present_ |= Bit(field);
  ClearError(field);
  switch (field) {
    case Field::kTimeFlowStartNs:
      time_flow_start_ns_ = value;
      break;
    case Field::kTimeReceivedNs:
      time_received_ns_ = value;
      break;
    case Field::kBytes:
      rec_.bytes = value;
      break;
    case Field::kPackets:
      rec_.packets = value;
      break;
    case Field::kSrcPort:
    case Field::kDstPort:
      if (value > 65535) {
        SetError(field, field == Field::kSrcPort ? "src_port out of range 0..65535"
                                                 : "dst_port out of range 0..65535");
      } else {
        (field == Field::kSrcPort ? rec_.src_port : rec_.dst_port) = static_cast<uint16_t>(value);
      }
      break;
    case Field::kProto:
      if (value > 255) {
        SetError(field, "proto out of range 0..255");
      } else {
        rec_.proto = static_cast<uint8_t>(value);
        unknown_proto_ = false;
      }
      break;
    case Field::kInIf:
    case Field::kOutIf:
      if (value > std::numeric_limits<uint32_t>::max()) {
        SetError(field, field == Field::kInIf ? "in_if out of range 0..2^32-1"
                                              : "out_if out of range 0..2^32-1");
      } else {
        (field == Field::kInIf ? rec_.ingress_if : rec_.egress_if) = static_cast<uint32_t>(value);
      }
      break;
    case Field::kType:
      SetError(field, "type is not a string");
      break;
    case Field::kSrcAddr:
      SetError(field, "src_addr is not a string");
      break;
    case Field::kDstAddr:
      SetError(field, "dst_addr is not a string");
      break;
    default:
      break;
  }
}

void RecordBuilder::SetAddress(Field field, IpText* slot, std::string_view value) {
  const bool src = field == Field::kSrcAddr;
  if (value.empty()) {
    SetError(field, src ? "src_addr is empty" : "dst_addr is empty");
    return;
  }
  if (!IsIpAddress(value)) {
    SetError(field, src ? "src_addr is not an IP address" : "dst_addr is not an IP address");
    return;
  }
  std::memcpy(slot->text, value.data(), value.size());
  slot->size = static_cast<uint8_t>(value.size());
}

void RecordBuilder::OnString(Field field, std::string_view value) {
  if (field == Field::kNone) return;
  present_ |= Bit(field);
  ClearError(field);
  switch (field) {
    case Field::kType:
      type_ = (value == "NETFLOW_V5" || value == "NETFLOW_V9" || value == "IPFIX")
                  ? TypeKind::kMapped
                  : TypeKind::kOther;
      break;
    case Field::kSrcAddr:
      SetAddress(field, &rec_.src_ip, value);
      break;
    case Field::kDstAddr:
      SetAddress(field, &rec_.dst_ip, value);
      break;
    case Field::kProto: {
      uint64_t number = 0;
      if (ParseDecimalUint(value, &number)) {  // goflow2 with custom mappings
        OnUnsigned(field, number);
        return;
      }
      auto known = ProtoNumberFromName(value);
      rec_.proto = known.value_or(0);
      unknown_proto_ = !known.has_value();
      break;
    }
    default:
      SetError(field, "a numeric field holds a string");
      break;
  }
}

void RecordBuilder::OnOther(Field field) {
  if (field == Field::kNone) return;
  present_ |= Bit(field);
  switch (field) {
    case Field::kType:
      SetError(field, "type is not a string");
      break;
    case Field::kSrcAddr:
    case Field::kDstAddr:
      SetError(field,
               field == Field::kSrcAddr ? "src_addr is not a string" : "dst_addr is not a string");
      break;
    default:
      SetError(field, "a numeric field is not a non-negative integer in range");
      break;
  }
}

ParseResult RecordBuilder::Finish(FlowRecord* out) {
  ParseResult r;
  if (errors_ & Bit(Field::kType)) {
    r.error = first_error_[static_cast<int>(Field::kType)];
    return r;
  }
  // Records of other types (sFlow) are not NetFlow: filtered, not invalid.
  if (type_ == TypeKind::kOther) {
    r.verdict = LineVerdict::kFiltered;
    return r;
  }
  if (!(present_ & Bit(Field::kSrcAddr))) {
    r.error = "src_addr is missing";
    return r;
  }
  if (!(present_ & Bit(Field::kDstAddr))) {
    r.error = "dst_addr is missing";
    return r;
  }
  if (errors_) {
    for (int f = 0; f < static_cast<int>(Field::kCount); ++f) {
      if (errors_ & (1u << f)) {
        r.error = first_error_[f];
        break;
      }
    }
    return r;
  }
  const uint64_t ns = time_flow_start_ns_ != 0 ? time_flow_start_ns_ : time_received_ns_;
  rec_.ts = ns / 1'000'000'000ull;
  *out = rec_;
  r.verdict = LineVerdict::kRecord;
  r.unknown_proto = unknown_proto_;
  return r;
}

}  // namespace nf2
