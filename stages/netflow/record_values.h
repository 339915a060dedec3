// The fields of one data record that the mapping reads, gathered from v9 or
// IPFIX data (or a v5 record), and the rules of docs/contract.md §6 that turn
// them into a flows.v1 record: which field wins, the time forms, what makes a
// record invalid.
#ifndef NF2INGEST_STAGES_NETFLOW_RECORD_VALUES_H_
#define NF2INGEST_STAGES_NETFLOW_RECORD_VALUES_H_

#include <cstddef>
#include <cstdint>

#include "stages/flows/flow_record.h"
#include "stages/netflow/wire.h"

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
  kSamplingAlgorithm,  // options: 35, 49, 304
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
  // Only entries whose bit is in `present` are written: not zeroing the rest
  // saves a 200-byte clear per record.
  uint64_t num[kRoleCount];  // NOLINT(cppcoreguidelines-pro-type-member-init)

  bool has(Role r) const { return (present >> static_cast<unsigned>(r)) & 1; }
  // The value, 0 when absent.
  uint64_t get(Role r) const { return has(r) ? num[static_cast<size_t>(r)] : 0; }
  // Stores the field's bytes under its role; lengths the role cannot have
  // are ignored (numbers), or make the record invalid (addresses). Inline:
  // it runs for every field of every record.
  void Set(Role role, const uint8_t* p, size_t len);
};

namespace internal {
// The address length of an address role, 0 for other roles.
inline size_t AddressLength(Role r) {
  switch (r) {
    case Role::kSrcV4:
    case Role::kDstV4:
      return 4;
    case Role::kSrcV6:
    case Role::kDstV6:
      return 16;
    default:
      return 0;
  }
}

// The widest number a role holds, in bytes (wider fields are ignored).
inline size_t MaxNumberBytes(Role r) {
  switch (r) {
    case Role::kSrcPort:
    case Role::kDstPort:
      return 2;
    case Role::kProto:
      return 1;
    case Role::kInIf:
    case Role::kOutIf:
    case Role::kUptimeStart:
      return 4;
    default:
      return 8;
  }
}

}  // namespace internal

inline void RecordValues::Set(Role role, const uint8_t* p, size_t len) {
  if (role == Role::kSkip) return;
  if (const size_t want = internal::AddressLength(role); want != 0) {
    if (len != want) {
      bad_address = true;
      return;
    }
    const bool source = role == Role::kSrcV4 || role == Role::kSrcV6;
    (source ? src : dst) = p;
    (source ? src_len : dst_len) = static_cast<uint8_t>(len);
    return;
  }
  if (len == 0 || len > internal::MaxNumberBytes(role)) return;
  num[static_cast<size_t>(role)] = wire::UN(p, len);
  present |= 1u << static_cast<unsigned>(role);
}

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
