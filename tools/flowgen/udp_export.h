// flowgen's NetFlow modes: v5, v9 or IPFIX export packets from one or more
// simulated exporters (each its own UDP socket, so its own source port, and
// its own source id / observation domain; odd-numbered ones lay their
// templates out differently under the same ids) to a collector, paced, with
// templates resent on a timer as routers do.
#ifndef NF2INGEST_TOOLS_FLOWGEN_UDP_EXPORT_H_
#define NF2INGEST_TOOLS_FLOWGEN_UDP_EXPORT_H_

#include <csignal>
#include <cstdint>
#include <string>

namespace nf2::flowgen {

struct UdpExportOptions {
  int version = 5;        // 5, 9 or 10 (IPFIX)
  std::string target;     // HOST:PORT or [V6]:PORT
  uint64_t count = 1000;  // data packets over all exporters; 0 = endless
  double rate = 0;        // data packets per second over all exporters; 0 = flat out
  uint64_t seed = 1;
  int flows = 10;  // flow records per data packet
  int exporters = 1;
  double ipv6_ratio = 0.25;        // v9/IPFIX only
  double template_interval_s = 1;  // 0: templates only once
  uint64_t templates_after = 0;    // data packets each exporter sends before its first templates
  uint32_t sampling_interval = 1;
  std::string expected_path;  // flows.v1 record of every flow sent, one per line
  // Exporter i sends from this port + i (0: any port). A collector keys
  // templates by exporter address and port, so a restarted flowgen is the
  // same router again only with fixed ports.
  int source_port = 0;
  // Every Nth data packet of each exporter is built (and its sequence number
  // spent) but not sent: lost export packets (0: none).
  uint64_t skip_every = 0;
};

// Splits "HOST:PORT" or "[V6]:PORT"; false unless the port is 1..65535.
bool SplitTarget(const std::string& target, std::string* host, std::string* port);

// Sends everything; the process exit status (0 ok, 1 runtime error). Prints
// "flowgen: packets=N flows=N templates=N" at the end.
int RunUdpExport(const UdpExportOptions& options, const volatile std::sig_atomic_t* stop);

}  // namespace nf2::flowgen

#endif  // NF2INGEST_TOOLS_FLOWGEN_UDP_EXPORT_H_
