// Address text for flows.v1 written straight from wire bytes, the way
// goflow2 (Go's net.IP) prints it, so records from datagrams and from
// goflow2 JSON carry the same text: dotted IPv4, RFC 5952 IPv6 (lower case,
// longest run of two or more zero groups shortened, the first on a tie), and
// IPv4-mapped IPv6 as plain dotted IPv4. No allocation.
#ifndef NF2INGEST_STAGES_NETFLOW_IP_FORMAT_H_
#define NF2INGEST_STAGES_NETFLOW_IP_FORMAT_H_

#include <cstdint>

#include "stages/flows/flow_record.h"

namespace nf2::netflow {

void FormatIpv4(const uint8_t* bytes, IpText* out);
void FormatIpv6(const uint8_t* bytes, IpText* out);

}  // namespace nf2::netflow

#endif  // NF2INGEST_STAGES_NETFLOW_IP_FORMAT_H_
