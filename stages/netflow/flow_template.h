// A v9/IPFIX template as the exporter declared it, and the compiled form the
// decoder walks for every data record: only the fields the mapping reads,
// with their offsets, so a record costs a few loads instead of a walk over
// every field. Validation lives here too: a template that cannot describe a
// record fitting in a datagram is refused.
#ifndef NF2INGEST_STAGES_NETFLOW_FLOW_TEMPLATE_H_
#define NF2INGEST_STAGES_NETFLOW_FLOW_TEMPLATE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stages/netflow/record_values.h"

namespace nf2::netflow {

// IPFIX field length meaning "variable length" (RFC 7011 §7).
inline constexpr uint16_t kVariableLength = 65535;
// More fields than this in one template is absurd (the largest real
// templates have a few hundred).
inline constexpr size_t kMaxTemplateFields = 1024;
// A fixed record longer than this fits no datagram.
inline constexpr size_t kMaxRecordLength = 65535 - 20;

struct FieldSpec {
  uint16_t type = 0;  // without the IPFIX enterprise bit
  uint16_t length = 0;
  uint32_t enterprise = 0;  // 0: an IANA field
  bool has_enterprise = false;
};

struct FieldOp {
  Role role = Role::kSkip;
  uint16_t offset = 0;  // fixed-length templates only
  uint16_t length = 0;  // kVariableLength in IPFIX: read from the record
};

struct FlowTemplate {
  uint8_t version = 0;
  bool options = false;
  uint16_t scope_fields = 0;  // options: the first scope_fields fields are scope
  std::vector<FieldSpec> fields;

  // Compiled by Compile().
  std::vector<FieldOp> ops;  // fixed: fields with a role; variable: every field
  bool variable = false;
  uint32_t min_record_length = 0;

  // Assigns roles and offsets; false when the template is absurd (no
  // fields, too many, a zero length, a record longer than any datagram).
  bool Compile();

  // Reads one record at `p` (at most `avail` bytes) into `v`. Returns the
  // record's length, or 0 when a variable-length field runs past `avail`.
  size_t Extract(const uint8_t* p, size_t avail, RecordValues* v) const;
};

// The role of field `type` in a data template (or an options template's
// non-scope part) of `version`.
Role RoleOf(const FieldSpec& field, uint8_t version, bool options);

}  // namespace nf2::netflow

#endif  // NF2INGEST_STAGES_NETFLOW_FLOW_TEMPLATE_H_
