#include "stages/sources/udp/listen_address.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"

namespace nf2 {
namespace {

constexpr std::string_view kScheme = "netflow://";

// Splits "HOST:PORT" or "[V6]:PORT"; false when the shape is wrong.
bool SplitHostPort(std::string_view rest, std::string_view* host, std::string_view* port) {
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return false;
    }
    *host = rest.substr(1, close - 1);
    *port = rest.substr(close + 2);
    return true;
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return false;
  *host = rest.substr(0, colon);
  *port = rest.substr(colon + 1);
  // An unbracketed IPv6 address would be ambiguous.
  return host->find(':') == std::string_view::npos;
}

}  // namespace

std::string ListenAddress::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<ListenAddress> ParseListenUrl(std::string_view url) {
  if (!absl::StartsWith(Av(url), Av(kScheme))) {
    return absl::InvalidArgumentError(
        "not a netflow://HOST:PORT URL (e.g. netflow://0.0.0.0:2055 or netflow://[::]:2055)");
  }
  std::string_view host;
  std::string_view port;
  if (!SplitHostPort(url.substr(kScheme.size()), &host, &port)) {
    return absl::InvalidArgumentError(
        "not HOST:PORT after netflow:// (IPv6 addresses go in brackets: [::1]:2055)");
  }
  if (host.empty()) {
    return absl::InvalidArgumentError("no host (0.0.0.0 or [::] listens on every address)");
  }
  int number = -1;
  if (!absl::SimpleAtoi(Av(port), &number) || number < 0 || number > 65535 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return absl::InvalidArgumentError("the port must be 0..65535 (0: any free port)");
  }
  ListenAddress out;
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(number);
  return out;
}

}  // namespace nf2
