// Where --listen points: netflow://HOST:PORT, checked before anything is
// bound, so a typo is bad configuration (exit 2) rather than a socket error
// after the API check.
#ifndef NF2INGEST_STAGES_SOURCES_UDP_LISTEN_ADDRESS_H_
#define NF2INGEST_STAGES_SOURCES_UDP_LISTEN_ADDRESS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace nf2 {

struct ListenAddress {
  std::string host;   // a name or a numeric address, IPv6 without its brackets
  uint16_t port = 0;  // 0: any free port (the bound one is logged)

  // "HOST:PORT", or "[HOST]:PORT" for an IPv6 address.
  std::string ToString() const;
};

// Parses "netflow://HOST:PORT" (IPv6 as "netflow://[::1]:2055"). The error
// says what is wrong, without naming the setting (the caller does).
absl::StatusOr<ListenAddress> ParseListenUrl(std::string_view url);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_UDP_LISTEN_ADDRESS_H_
