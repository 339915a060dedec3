// flowgen: goflow2 traffic generator for demos, tests and benchmarks.
//
// JSON mode (default) writes goflow2 v2 JSON lines (optionally with junk and container-log
// prefixes) and, with --expected, the flows.v1 record each deliverable line must become.
// --netflow-v5 HOST:PORT sends NetFlow v5 export packets over UDP instead.
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "netflow_v5.h"
#include "pipeline/absl_compat.h"
#include "pipeline/settings.h"
#include "stages/sources/flow_generator.h"

namespace nf2::flowgen {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kHelpHeader[] = R"(usage: flowgen [options]
       flowgen --netflow-v5 HOST:PORT [--count N] [--flows M] [--rate R] [--seed S]

Generates goflow2 traffic for demos, tests and benchmarks.

JSON mode (default) writes goflow2 v2 JSON lines (all 50 keys, goflow2's key order) and at the
end "flowgen: lines=N valid=N filtered=N invalid=N" on stderr. NetFlow v5 mode (--netflow-v5)
sends UDP export packets instead (--count, --flows, --rate, --seed apply) and ends with
"flowgen: packets=N flows=N".

)";

constexpr char kHelpFooter[] = R"(
Flags take "--name=value" or "--name value". Exit status: 0 ok (also when the reader of
stdout goes away), 1 runtime error, 2 bad command line.
)";

volatile std::sig_atomic_t g_stop = 0;

void OnStopSignal(int) { g_stop = 1; }

struct Options {
  uint64_t count = 1000;
  double rate = 0.0;
  uint64_t seed = 1;
  double junk_ratio = 0.0;
  bool docker_prefix = false;
  std::string out_path;
  std::string expected_path;
  std::string netflow_v5;
  int flows = 10;
};

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "flowgen: %s (see --help)\n", message.c_str());
  std::exit(kExitUsage);
}

[[noreturn]] void BadValue(std::string_view flag, std::string_view value, std::string_view want) {
  UsageError("bad value for --" + std::string(flag) + ": '" + std::string(value) + "' (want " +
             std::string(want) + ")");
}

using nf2::BoolInto;
using nf2::DoubleInto;
using nf2::FlagValue;
using nf2::IntInto;
using nf2::LoadedSettings;
using nf2::SettingsTable;
using nf2::StringInto;
using nf2::Uint64Into;

// The rows, in --help order; fields are pointers into `o`.
SettingsTable Table(Options* o) {
  return {
      {"count", "", "N", "1000",
       "lines (packets with --netflow-v5) to write; 0 = endless, until killed or the reader goes "
       "away",
       Uint64Into(&o->count, 0, UINT64_MAX)},
      {"rate", "", "R", "0",
       "lines (packets) per second, paced on an absolute schedule; 0 = as fast as possible",
       DoubleInto(&o->rate, 0, 1e12)},
      {"seed", "", "S", "1", "PRNG seed; the same seed gives byte-identical output",
       Uint64Into(&o->seed, 0, UINT64_MAX)},
      {"junk-ratio", "", "F", "0",
       "fraction 0..1 of junk lines, cycling among: blank line, goflow2 log line, truncated JSON, "
       "invalid UTF-8 in an address, src_addr empty or not an IP, negative or fractional port, "
       "SFLOW_5 record (filtered, not an error)",
       DoubleInto(&o->junk_ratio, 0, 1)},
      {"docker-prefix", "", "", "",
       "prefix every line with a container-log prefix (\"collector-2  | \")",
       BoolInto(&o->docker_prefix), FlagValue::kNone},
      {"out", "", "FILE", "", "write the lines to FILE instead of stdout",
       StringInto(&o->out_path, false)},
      {"expected", "", "FILE", "",
       "also write, one per deliverable line and in the same order, the flows.v1 record the "
       "mapper must produce for it (compact JSON)",
       StringInto(&o->expected_path, false)},
      {"netflow-v5", "", "HOST:PORT", "", "send UDP NetFlow v5 export packets to HOST:PORT",
       StringInto(&o->netflow_v5, false)},
      {"flows", "", "M", "10", "with --netflow-v5: flow records per packet, 1..30",
       IntInto(&o->flows, 1, NetflowV5Generator::kMaxFlows)},
  };
}

// The rules that span flags: each mode's flags only.
void Validate(const Options& o, const LoadedSettings& loaded) {
  if (!o.netflow_v5.empty()) {
    for (const char* json_only : {"junk-ratio", "docker-prefix", "out", "expected"}) {
      if (loaded.Given(json_only)) {
        UsageError("--" + std::string(json_only) + " does not apply to --netflow-v5");
      }
    }
  } else if (loaded.Given("flows")) {
    UsageError("--flows only applies with --netflow-v5");
  }
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  const SettingsTable table = Table(&o);
  const auto loaded = LoadSettings(table, std::vector<std::string>(argv + 1, argv + argc), nullptr);
  if (!loaded.ok()) UsageError(std::string(loaded.status().message()));
  if (loaded->help) {
    std::fputs(SettingsHelp(table, kHelpHeader, kHelpFooter).c_str(), stdout);
    std::exit(kExitOk);
  }
  Validate(o, *loaded);
  return o;
}

// A handler here rather than the runtime's SignalWatcher (a thread taking blocked signals): the
// stop must interrupt a sleep or a write blocked on a slow reader with EINTR, and only a handler
// running in the blocked thread does that.
void InstallSignalHandlers() {
  std::signal(SIGPIPE, SIG_IGN);  // a closed reader shows up as EPIPE instead
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART, so sleeps and blocked writes see EINTR; SA_RESETHAND, so a second signal
  // kills a process that is stuck writing to a reader that does not read.
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

uint64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// Paces items on an absolute schedule: item i is due at start + i / rate.
class Pacer {
 public:
  explicit Pacer(double rate) : rate_(rate), start_ns_(NowNs(CLOCK_MONOTONIC)) {}

  // Sleeps until item `done` is due, then returns how many items should have been emitted by now
  // (more than `done`). Returns `done` early when a stop signal arrives.
  uint64_t WaitForBudget(uint64_t done) {
    const uint64_t deadline = start_ns_ + OffsetNs(done);
    timespec ts;
    ts.tv_sec = static_cast<time_t>(deadline / 1'000'000'000ULL);
    ts.tv_nsec = static_cast<long>(deadline % 1'000'000'000ULL);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
      if (g_stop) return done;
    }
    const long double elapsed = static_cast<long double>(NowNs(CLOCK_MONOTONIC) - start_ns_);
    const uint64_t due = static_cast<uint64_t>(elapsed * rate_ / 1e9L) + 1;
    return due > done ? due : done + 1;
  }

 private:
  uint64_t OffsetNs(uint64_t i) const {
    return static_cast<uint64_t>(static_cast<long double>(i) * 1e9L / rate_);
  }

  long double rate_;
  uint64_t start_ns_;
};

enum class WriteResult { kOk, kClosed };

// Writes everything; kClosed when the reader went away (EPIPE). Exits on other errors.
WriteResult WriteAll(int fd, const char* data, size_t size, const std::string& name) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return WriteResult::kClosed;
      std::fprintf(stderr, "flowgen: write to %s failed: %s\n", name.c_str(), std::strerror(errno));
      std::exit(kExitFailure);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return WriteResult::kOk;
}

int OpenOutput(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "flowgen: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    std::exit(kExitFailure);
  }
  return fd;
}

// How far the current burst goes: everything that is due by now when paced,
// otherwise the whole run at once.
uint64_t NextBurstEnd(const Options& o, Pacer& pacer, uint64_t done, uint64_t total) {
  uint64_t burst_end = total;
  if (o.rate > 0) {
    const uint64_t due = pacer.WaitForBudget(done);
    if (due < burst_end) burst_end = due;
  }
  return burst_end;
}

// The JSON lines and (with --expected) their flows.v1 records, each gathered
// in a large buffer so a write carries many lines.
struct JsonOutputs {
  static constexpr size_t kBufBytes = 1 << 20;

  int out_fd = STDOUT_FILENO;
  std::string out_name;
  int expected_fd = -1;
  std::string expected_name;
  std::unique_ptr<char[]> buf{new char[kBufBytes]};
  std::unique_ptr<char[]> expected_buf{new char[kBufBytes]};
  char* const buf_limit = buf.get() + kBufBytes - FlowGenerator::kMaxLineBytes;
  char* const expected_limit = expected_buf.get() + kBufBytes - FlowGenerator::kMaxExpectedBytes;
  char* p = buf.get();
  char* e = expected_buf.get();

  // Where the generator appends expected records, or nullptr without --expected.
  char** expected() { return expected_fd >= 0 ? &e : nullptr; }
  // True when either buffer may not have room for one more line.
  bool Full() const { return p > buf_limit || e > expected_limit; }

  // Both files always hold whole lines up to the same input line. False when
  // a reader went away.
  bool Flush() {
    if (WriteAll(out_fd, buf.get(), static_cast<size_t>(p - buf.get()), out_name) !=
        WriteResult::kOk) {
      return false;
    }
    p = buf.get();
    if (expected_fd >= 0) {
      if (WriteAll(expected_fd, expected_buf.get(), static_cast<size_t>(e - expected_buf.get()),
                   expected_name) != WriteResult::kOk) {
        return false;
      }
      e = expected_buf.get();
    }
    return true;
  }
};

void OpenJsonOutputs(const Options& o, JsonOutputs& outputs) {
  outputs.out_fd = o.out_path.empty() ? STDOUT_FILENO : OpenOutput(o.out_path);
  outputs.out_name = o.out_path.empty() ? "stdout" : o.out_path;
  outputs.expected_fd = o.expected_path.empty() ? -1 : OpenOutput(o.expected_path);
  outputs.expected_name = o.expected_path;
}

// Closes what flowgen opened; false (after saying why) when a close fails,
// which may mean the data never reached the file.
bool CloseJsonOutputs(const JsonOutputs& outputs) {
  if (outputs.expected_fd >= 0 && close(outputs.expected_fd) != 0) {
    std::fprintf(stderr, "flowgen: closing %s failed: %s\n", outputs.expected_name.c_str(),
                 std::strerror(errno));
    return false;
  }
  if (outputs.out_fd != STDOUT_FILENO && close(outputs.out_fd) != 0) {
    std::fprintf(stderr, "flowgen: closing %s failed: %s\n", outputs.out_name.c_str(),
                 std::strerror(errno));
    return false;
  }
  return true;
}

struct JsonTally {
  uint64_t lines = 0;
  uint64_t counts[3] = {0, 0, 0};  // by LineKind
};

// Generates lines until `lines` reaches burst_end (or a stop signal arrives
// at a flush). False when the reader went away.
bool WriteBurst(FlowGenerator& gen, JsonOutputs& outputs, uint64_t burst_end, JsonTally& tally) {
  char** const expected = outputs.expected();
  while (tally.lines < burst_end) {
    outputs.p = gen.WriteLine(outputs.p, expected);
    ++tally.counts[static_cast<int>(gen.last_kind())];
    ++tally.lines;
    if (outputs.Full()) {
      if (!outputs.Flush()) return false;
      if (g_stop) break;
    }
  }
  return true;
}

// Writes the whole run; false when the reader went away.
bool GenerateJson(const Options& o, JsonOutputs& outputs, JsonTally& tally) {
  GeneratorOptions gen_options;
  gen_options.seed = o.seed;
  gen_options.junk_ratio = o.junk_ratio;
  gen_options.docker_prefix = o.docker_prefix;
  FlowGenerator gen(gen_options);
  const uint64_t total = o.count == 0 ? UINT64_MAX : o.count;
  Pacer pacer(o.rate > 0 ? o.rate : 1.0);

  while (tally.lines < total && !g_stop) {
    const uint64_t burst_end = NextBurstEnd(o, pacer, tally.lines, total);
    if (!WriteBurst(gen, outputs, burst_end, tally)) return false;
    if (o.rate > 0 && !outputs.Flush()) return false;
  }
  return outputs.Flush();
}

int RunJson(const Options& o) {
  JsonOutputs outputs;
  OpenJsonOutputs(o, outputs);
  JsonTally tally;
  if (!GenerateJson(o, outputs, tally)) return kExitOk;  // the reader went away: stop quietly
  if (!CloseJsonOutputs(outputs)) return kExitFailure;
  std::fprintf(stderr,
               "flowgen: lines=%" PRIu64 " valid=%" PRIu64 " filtered=%" PRIu64 " invalid=%" PRIu64
               "\n",
               tally.lines, tally.counts[static_cast<int>(LineKind::kValid)],
               tally.counts[static_cast<int>(LineKind::kFiltered)],
               tally.counts[static_cast<int>(LineKind::kInvalid)]);
  return kExitOk;
}

struct HostPort {
  std::string host;
  std::string port;
};

// HOST:PORT or [IPV6]:PORT; a usage error (exit 2) otherwise.
HostPort ParseHostPort(const std::string& target) {
  HostPort hp;
  if (!target.empty() && target.front() == '[') {
    const size_t close_bracket = target.find(']');
    if (close_bracket == std::string::npos || close_bracket + 1 >= target.size() ||
        target[close_bracket + 1] != ':') {
      BadValue("netflow-v5", target, "HOST:PORT");
    }
    hp.host = target.substr(1, close_bracket - 1);
    hp.port = target.substr(close_bracket + 2);
  } else {
    const size_t colon = target.rfind(':');
    if (colon == std::string::npos) BadValue("netflow-v5", target, "HOST:PORT");
    hp.host = target.substr(0, colon);
    hp.port = target.substr(colon + 1);
  }
  uint64_t port_number = 0;
  if (hp.host.empty() || !absl::SimpleAtoi(nf2::Av(hp.port), &port_number) || port_number == 0 ||
      port_number > 65535) {
    BadValue("netflow-v5", target, "HOST:PORT with a port 1..65535");
  }
  return hp;
}

using AddrInfoPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

// The collector's address; nullptr (after saying why) when it does not resolve.
AddrInfoPtr ResolveCollector(const HostPort& hp) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &res); rc != 0) {
    std::fprintf(stderr, "flowgen: cannot resolve %s: %s\n", hp.host.c_str(), gai_strerror(rc));
    return {nullptr, &freeaddrinfo};
  }
  return {res, &freeaddrinfo};
}

// Sends one packet, retrying while the kernel is short of buffers or an
// earlier datagram drew an ICMP refusal (the collector may start later).
// False (after saying why) on any other error.
bool SendPacket(int fd, const uint8_t* packet, size_t size, const addrinfo& to,
                const std::string& target) {
  for (;;) {
    if (sendto(fd, packet, size, 0, to.ai_addr, to.ai_addrlen) >= 0) return true;
    if (errno == EINTR || errno == ECONNREFUSED) continue;
    if (errno == ENOBUFS || errno == EAGAIN) {
      const timespec pause = {0, 100'000};
      nanosleep(&pause, nullptr);
      continue;
    }
    std::fprintf(stderr, "flowgen: sendto %s: %s\n", target.c_str(), std::strerror(errno));
    return false;
  }
}

// The next packet, stamped with the exporter's uptime and the wall clock now.
size_t BuildStampedPacket(NetflowV5Generator& gen, uint8_t* packet, uint64_t start_ns) {
  constexpr uint64_t kBaseUptimeMs = 3'600'000;  // the exporter has been up for an hour
  const uint64_t uptime_ms = kBaseUptimeMs + (NowNs(CLOCK_MONOTONIC) - start_ns) / 1'000'000;
  const uint64_t now_ns = NowNs(CLOCK_REALTIME);
  return gen.BuildPacket(packet, static_cast<uint32_t>(uptime_ms),
                         static_cast<uint32_t>(now_ns / 1'000'000'000ULL),
                         static_cast<uint32_t>(now_ns % 1'000'000'000ULL));
}

int RunNetflowV5(const Options& o) {
  const std::string& target = o.netflow_v5;
  const HostPort hp = ParseHostPort(target);
  const AddrInfoPtr res = ResolveCollector(hp);
  if (!res) return kExitFailure;
  const int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  if (fd < 0) {
    std::fprintf(stderr, "flowgen: socket: %s\n", std::strerror(errno));
    return kExitFailure;
  }

  NetflowV5Generator gen(o.seed, o.flows);
  uint8_t packet[NetflowV5Generator::kMaxPacketBytes];
  const uint64_t start_ns = NowNs(CLOCK_MONOTONIC);
  const uint64_t total = o.count == 0 ? UINT64_MAX : o.count;
  Pacer pacer(o.rate > 0 ? o.rate : 1.0);
  uint64_t packets = 0;

  while (packets < total && !g_stop) {
    const uint64_t burst_end = NextBurstEnd(o, pacer, packets, total);
    while (packets < burst_end && !g_stop) {
      const size_t size = BuildStampedPacket(gen, packet, start_ns);
      if (!SendPacket(fd, packet, size, *res, target)) {
        close(fd);
        return kExitFailure;
      }
      ++packets;
    }
  }
  close(fd);
  std::fprintf(stderr, "flowgen: packets=%" PRIu64 " flows=%" PRIu64 "\n", packets,
               packets * static_cast<uint64_t>(o.flows));
  return kExitOk;
}

}  // namespace
}  // namespace nf2::flowgen

int main(int argc, char** argv) {
  const nf2::flowgen::Options options = nf2::flowgen::ParseArgs(argc, argv);
  nf2::flowgen::InstallSignalHandlers();
  return options.netflow_v5.empty() ? nf2::flowgen::RunJson(options)
                                    : nf2::flowgen::RunNetflowV5(options);
}
