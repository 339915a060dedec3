// Big-endian writers for the export packets flowgen builds (NetFlow and
// IPFIX numbers are all in network order).
#ifndef NF2INGEST_TOOLS_FLOWGEN_WIRE_H_
#define NF2INGEST_TOOLS_FLOWGEN_WIRE_H_

#include <cstdint>
#include <cstring>

namespace nf2::flowgen {

inline uint8_t* Put8(uint8_t* p, uint32_t v) {
  *p = static_cast<uint8_t>(v);
  return p + 1;
}

inline uint8_t* Put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}

inline uint8_t* Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
  return p + 4;
}

inline uint8_t* Put64(uint8_t* p, uint64_t v) {
  p = Put32(p, static_cast<uint32_t>(v >> 32));
  return Put32(p, static_cast<uint32_t>(v));
}

inline uint8_t* PutBytes(uint8_t* p, const uint8_t* bytes, size_t n) {
  std::memcpy(p, bytes, n);
  return p + n;
}

}  // namespace nf2::flowgen

#endif  // NF2INGEST_TOOLS_FLOWGEN_WIRE_H_
