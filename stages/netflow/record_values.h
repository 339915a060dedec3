// The fields of one data record that the mapping reads, gathered from v9 or
// IPFIX data (or a v5 record), and the rules of docs/contract.md §6 that turn
// them into a flows.v1 record: which field wins, the time forms, what makes a
// record invalid.
#ifndef NF2INGEST_STAGES_NETFLOW_RECORD_VALUES_H_
#define NF2INGEST_STAGES_NETFLOW_RECORD_VALUES_H_

#include <cstddef>
#include <cstdint>

#include "stages/flows/flow_record.h"

namespace nf2::netflow {

// What a template field means to the mapping (kSkip: nothing).
enum class Role : uint8_t {
  kSkip,
  kSrcV4,  // 8
  kDstV4,  // 12
  kSrcV6,  // 27
  kDstV6,  // 28
  kSrcPort,
  kDstPort,
  kProto,
  kBytes,  // 1
  kBytesOut,
  kBytesTotal,
  kPackets,  // 2
  kPacketsOut,
  kPacketsTotal,
  kInIf,
  kOutIf,
  kUptimeStart,        // 22, milliseconds of uptime
  kStartSeconds,       // 150
  kStartMillis,        // 152
  kStartMicrosNtp,     // 154
  kStartNanosNtp,      // 156
  kStartDeltaMicros,   // 158
  kSystemInit,         // 160, Unix milliseconds
  kSamplingInterval,   // options: 34, 50, 305
  kSamplingAlgorithm,  // options: 35, 49
  kCount
};
inline constexpr size_t kRoleCount = static_cast<size_t>(Role::kCount);

// The header facts a record's times are relative to.
struct ExportContext {
  uint8_t version = 0;
  uint32_t domain = 0;
  uint32_t sys_uptime_ms = 0;  // v5, v9
  uint32_t unix_secs = 0;      // export time (all versions)
  uint32_t unix_nsecs = 0;     // v5
};

struct RecordValues {
  uint32_t present = 0;  // bit per Role
  bool bad_address = false;
  uint8_t src_len = 0;
  uint8_t dst_len = 0;
  const uint8_t* src = nullptr;
  const uint8_t* dst = nullptr;
  uint64_t num[kRoleCount] = {};

  bool has(Role r) const { return (present >> static_cast<unsigned>(r)) & 1; }
  uint64_t get(Role r) const { return num[static_cast<size_t>(r)]; }
  // Stores the field's bytes under its role; lengths the role cannot have
  // are ignored (numbers), or make the record invalid (addresses).
  void Set(Role role, const uint8_t* p, size_t len);
};

// v5/v9 start time: export time minus the uptime elapsed since `first`,
// 32-bit millisecond arithmetic wrapping modulo 2^32. Whole Unix seconds.
uint64_t UptimeRelativeSeconds(const ExportContext& ctx, uint32_t first_ms);

// Fills `out` from the values; false when the record is invalid (no source
// or destination address, or one of the wrong length). `system_init_ms` is
// the exporter's IPFIX uptime base for this domain (0: unknown).
bool BuildFlowRecord(const RecordValues& v, const ExportContext& ctx, uint64_t system_init_ms,
                     FlowRecord* out);

}  // namespace nf2::netflow

#endif  // NF2INGEST_STAGES_NETFLOW_RECORD_VALUES_H_
