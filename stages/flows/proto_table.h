// IANA protocol names, as goflow2 renders them, to protocol numbers.
#ifndef NF2INGEST_STAGES_FLOWS_PROTO_TABLE_H_
#define NF2INGEST_STAGES_FLOWS_PROTO_TABLE_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace nf2 {

// The number of an IANA protocol keyword (case-sensitive, as goflow2 writes
// it, including older goflow2 spellings such as "ICMPv6"), or nullopt.
std::optional<uint8_t> ProtoNumberFromName(std::string_view name);

// The keyword goflow2 renders for `number` ("unassigned" where IANA has none).
std::string_view ProtoNameFromNumber(uint8_t number);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_FLOWS_PROTO_TABLE_H_
