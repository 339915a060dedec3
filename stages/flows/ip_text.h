// Address text for flows.v1 written straight from wire bytes (NetFlow and
// IPFIX fields, goflow2 protobuf addresses), the way goflow2 prints them (Go's
// netip.Addr.String), so records from every input carry the same text: dotted
// IPv4, RFC 5952 IPv6 (lower case, the longest run of two or more zero groups
// shortened, the first on a tie, no embedded IPv4 form), and IPv4-mapped IPv6
// as ::ffff:a.b.c.d. Table-driven and allocation-free: it sits on the hot
// path of every binary decoder.
#ifndef NF2INGEST_STAGES_FLOWS_IP_TEXT_H_
#define NF2INGEST_STAGES_FLOWS_IP_TEXT_H_

#include <cstdint>
#include <string_view>

#include "stages/flows/flow_record.h"

namespace nf2 {

// Whether 16 address bytes are an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
bool IsIpv4Mapped(const uint8_t* bytes);

void FormatIpv4(const uint8_t* bytes, IpText* out);
void FormatIpv6(const uint8_t* bytes, IpText* out);

// 4 bytes as IPv4, 16 as IPv6. False, and `out` untouched, for any other
// length.
bool FormatIpBytes(std::string_view bytes, IpText* out);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_FLOWS_IP_TEXT_H_
