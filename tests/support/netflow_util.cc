#include "tests/support/netflow_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

namespace nf2::testing {

Collector::Collector(const Sink& sink, const std::vector<std::string>& args,
                     const std::string& listen_host, int port,
                     const std::map<std::string, std::string>& env)
    : host_(listen_host) {
  const std::string dir = TempDir();
  std::map<std::string, std::string> full_env = EnvFor(sink);
  full_env["FLUSH_INTERVAL"] = "0.2";
  full_env["STATS_INTERVAL"] = "0";
  for (const auto& [k, v] : env) full_env[k] = v;
  std::vector<std::string> argv = {"--listen",
                                   "netflow://" + listen_host + ":" + std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions opts = Nf2ingestOptions(dir, argv, full_env);
  stderr_path_ = opts.stderr_path;
  process_ = std::make_unique<Process>(opts);
  // The end of the "[NETFLOW] listening on ..." line: the whole line is there.
  if (!process_->WaitForText(stderr_path_, " sockets each, receive buffer ",
                             std::chrono::seconds(20))) {
    ADD_FAILURE() << "nf2ingest did not start listening: " << ReadFile(stderr_path_);
    return;
  }
  static const std::regex re(R"(\[NETFLOW\] listening on (\S+):(\d+)[ ,])");
  std::smatch m;
  const std::string log = ReadFile(stderr_path_);
  if (std::regex_search(log, m, re)) port_ = std::stoi(m[2]);
  EXPECT_GT(port_, 0) << log;
}

Collector::~Collector() = default;

RunResult Collector::Stop(std::chrono::milliseconds timeout) {
  RunResult r;
  process_->Signal(SIGTERM);
  std::optional<int> code = process_->Wait(timeout);
  if (!code) {
    ADD_FAILURE() << "nf2ingest did not stop after SIGTERM";
    process_->Signal(SIGKILL);
    code = process_->Wait(std::chrono::seconds(10));
  }
  r.exit_code = code.value_or(-1);
  r.stderr_text = ReadFile(stderr_path_);
  r.summary = ParseSummary(r.stderr_text);
  return r;
}

std::string RunFlowgen(const std::vector<std::string>& args) {
  const std::string dir = TempDir();
  SpawnOptions opts;
  opts.argv = {BinPath("flowgen")};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.stderr_path = dir + "/flowgen.stderr";
  opts.stdout_path = dir + "/flowgen.stdout";
  Process p(opts);
  const std::optional<int> code = p.Wait(std::chrono::seconds(60));
  EXPECT_EQ(code, 0) << ReadFile(opts.stderr_path);
  return ReadFile(opts.stderr_path);
}

size_t WaitForLineCount(const std::string& path, size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t count = ReadLines(path).size();
  while (count < n && std::chrono::steady_clock::now() < deadline) {
    // Bounded polling of the sink's output file; the pause only paces it.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    count = ReadLines(path).size();
  }
  return count;
}

std::map<std::string, uint64_t> ParseNetflowLine(const std::string& log) {
  std::map<std::string, uint64_t> out;
  const size_t at = log.rfind("[NETFLOW] datagrams=");
  if (at == std::string::npos) return out;
  std::istringstream fields(log.substr(at + 10, log.find('\n', at) - at - 10));
  std::string field;
  while (fields >> field) {
    const size_t eq = field.find('=');
    if (eq != std::string::npos) out[field.substr(0, eq)] = std::stoull(field.substr(eq + 1));
  }
  return out;
}

void SendDatagram(int port, const std::string& datagram, bool v6) {
  if (!v6) {
    SendDatagrams(port, {datagram});
    return;
  }
  const int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_port = htons(static_cast<uint16_t>(port));
  to.sin6_addr = in6addr_loopback;
  const ssize_t sent =
      sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  close(fd);
  EXPECT_EQ(sent, static_cast<ssize_t>(datagram.size()));
}

int SendDatagrams(int port, const std::vector<std::string>& datagrams) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (const std::string& d : datagrams) {
    EXPECT_EQ(sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(d.size()));
  }
  sockaddr_in self{};
  socklen_t len = sizeof self;
  getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len);
  close(fd);
  return ntohs(self.sin_port);
}

}  // namespace nf2::testing
