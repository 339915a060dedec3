#include "stages/netflow/flow_template.h"

#include "stages/netflow/wire.h"

namespace nf2::netflow {
namespace {

Role DataRole(uint16_t type, uint8_t version) {
  switch (type) {
    case 8:
      return Role::kSrcV4;
    case 12:
      return Role::kDstV4;
    case 27:
      return Role::kSrcV6;
    case 28:
      return Role::kDstV6;
    case 7:
      return Role::kSrcPort;
    case 11:
      return Role::kDstPort;
    case 4:
      return Role::kProto;
    case 1:
      return Role::kBytes;
    case 23:
      return Role::kBytesOut;
    case 85:
      return Role::kBytesTotal;
    case 2:
      return Role::kPackets;
    case 24:
      return Role::kPacketsOut;
    case 86:
      return Role::kPacketsTotal;
    case 10:
      return Role::kInIf;
    case 14:
      return Role::kOutIf;
    case 22:
      return Role::kUptimeStart;
    case 152:
      return Role::kStartMillis;
    default:
      break;
  }
  if (version != 10) return Role::kSkip;
  switch (type) {
    case 150:
      return Role::kStartSeconds;
    case 154:
      return Role::kStartMicrosNtp;
    case 156:
      return Role::kStartNanosNtp;
    case 158:
      return Role::kStartDeltaMicros;
    case 160:
      return Role::kSystemInit;
    default:
      return Role::kSkip;
  }
}

Role OptionRole(uint16_t type) {
  switch (type) {
    case 34:
    case 50:
    case 305:
      return Role::kSamplingInterval;
    case 35:
    case 49:
    case 304:  // IPFIX selectorAlgorithm (RFC 5477), as softflowd sends
      return Role::kSamplingAlgorithm;
    case 160:
      return Role::kSystemInit;
    default:
      return Role::kSkip;
  }
}

// Length of the variable-length field at `p` (RFC 7011 §7): one byte, or
// 255 then two bytes. Sets *header to the bytes the length itself takes;
// false when those run past `avail`.
bool VariableLength(const uint8_t* p, size_t avail, size_t* header, size_t* length) {
  if (avail < 1) return false;
  if (p[0] < 255) {
    *header = 1;
    *length = p[0];
    return true;
  }
  if (avail < 3) return false;
  *header = 3;
  *length = wire::U16(p + 1);
  return true;
}

}  // namespace

Role RoleOf(const FieldSpec& field, uint8_t version, bool options) {
  if (field.has_enterprise) return Role::kSkip;
  return options ? OptionRole(field.type) : DataRole(field.type, version);
}

bool FlowTemplate::Compile() {
  ops.clear();
  variable = false;
  if (fields.empty() || fields.size() > kMaxTemplateFields || scope_fields > fields.size()) {
    return false;
  }
  size_t length = 0;
  for (const FieldSpec& f : fields) {
    if (f.length == 0) return false;
    const bool var = version == 10 && f.length == kVariableLength;
    variable |= var;
    length += var ? 1 : f.length;
  }
  if (length > kMaxRecordLength) return false;
  min_record_length = static_cast<uint32_t>(length);
  size_t offset = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& f = fields[i];
    const bool scope = options && i < scope_fields;
    const Role role = scope ? Role::kSkip : RoleOf(f, version, options);
    if (variable || role != Role::kSkip) {
      ops.push_back({role, static_cast<uint16_t>(offset), f.length});
    }
    offset += f.length;
  }
  return true;
}

size_t FlowTemplate::Extract(const uint8_t* p, size_t avail, RecordValues* v) const {
  if (!variable) {
    for (const FieldOp& op : ops) v->Set(op.role, p + op.offset, op.length);
    return min_record_length;
  }
  size_t pos = 0;
  for (const FieldOp& op : ops) {
    size_t header = 0;
    size_t length = op.length;
    if (op.length == kVariableLength && !VariableLength(p + pos, avail - pos, &header, &length)) {
      return 0;
    }
    if (avail - pos - header < length) return 0;
    v->Set(op.role, p + pos + header, length);
    pos += header + length;
  }
  return pos;
}

}  // namespace nf2::netflow
