// Big-endian reads from datagram bytes. Callers check lengths first; these
// never look past `p + n`.
#ifndef NF2INGEST_STAGES_NETFLOW_WIRE_H_
#define NF2INGEST_STAGES_NETFLOW_WIRE_H_

#include <cstddef>
#include <cstdint>

namespace nf2::netflow::wire {

inline uint16_t U16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

inline uint32_t U32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

inline uint64_t U64(const uint8_t* p) { return (uint64_t{U32(p)} << 32) | U32(p + 4); }

// An unsigned number of 1 to 8 bytes (reduced-size encoding).
inline uint64_t UN(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace nf2::netflow::wire

#endif  // NF2INGEST_STAGES_NETFLOW_WIRE_H_
