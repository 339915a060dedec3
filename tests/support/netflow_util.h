// Helpers for the NetFlow/IPFIX tests: nf2ingest --listen as a running
// collector (with the port it bound), flowgen's NetFlow modes, and the
// counts of the [NETFLOW] line. Waits are bounded and on observable state.
#ifndef NF2INGEST_TESTS_SUPPORT_NETFLOW_UTIL_H_
#define NF2INGEST_TESTS_SUPPORT_NETFLOW_UTIL_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_util.h"

namespace nf2::testing {

// nf2ingest --listen netflow://HOST:0 (or the addresses in `args`) feeding `sink`.
class Collector {
 public:
  // `listen_host` as in a URL ("127.0.0.1", "[::1]"); `port` 0: any free port.
  Collector(const Sink& sink, const std::vector<std::string>& args,
            const std::string& listen_host = "127.0.0.1", int port = 0,
            const std::map<std::string, std::string>& env = {});
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  int port() const { return port_; }
  // "HOST:PORT" for flowgen.
  std::string target() const { return host_ + ":" + std::to_string(port_); }
  Process& process() { return *process_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // SIGTERM, then the exit code and the summary (fails the test on timeout).
  RunResult Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  std::unique_ptr<Process> process_;
  std::string host_;
  int port_ = 0;
  std::string stderr_path_;
};

// Runs flowgen to its end with `args`; returns its stderr (its stats line).
std::string RunFlowgen(const std::vector<std::string>& args);

// How many lines `path` holds, waiting (bounded) until it holds `n`.
size_t WaitForLineCount(const std::string& path, size_t n,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The key=value counts of the last "[NETFLOW] ..." line of a log.
std::map<std::string, uint64_t> ParseNetflowLine(const std::string& log);

// Sends `datagram` over UDP to 127.0.0.1:port (or [::1] when `v6`).
void SendDatagram(int port, const std::string& datagram, bool v6 = false);

// Sends `datagrams` in order to 127.0.0.1:port from one socket of their own
// (so one exporter, as captured); returns the sender's port.
int SendDatagrams(int port, const std::vector<std::string>& datagrams);

}  // namespace nf2::testing

#endif  // NF2INGEST_TESTS_SUPPORT_NETFLOW_UTIL_H_
