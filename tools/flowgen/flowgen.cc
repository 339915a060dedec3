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
#include "pacer.h"
#include "pipeline/absl_compat.h"
#include "pipeline/settings.h"
#include "stages/sources/flow_generator.h"
#include "template_export.h"
#include "udp_export.h"

namespace nf2::flowgen {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kHelpHeader[] = R"(usage: flowgen [options]
       flowgen --netflow-v5|--netflow-v9|--ipfix HOST:PORT [--count N] [--flows M] [--rate R]
               [--exporters E] [--expected FILE] ...

Generates goflow2 traffic for demos, tests and benchmarks.

JSON mode (default) writes goflow2 v2 JSON lines (all 50 keys, goflow2's key order) and at the
end "flowgen: lines=N valid=N filtered=N invalid=N" on stderr. The NetFlow modes send UDP export
packets instead (v5; v9 or IPFIX with templates, an options template carrying the sampling
interval, IPv4 and IPv6 flows) from --exporters simulated routers, each with its own source port
and source id / observation domain and all with the same template ids, and end with
"flowgen: packets=N flows=N templates=N". --count and --rate count data packets over all
exporters; --flow-rate sets --rate from flows per second.

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
  std::string netflow_v9;
  std::string ipfix;
  int flows = 10;
  double flow_rate = 0;
  UdpExportOptions udp;  // the NetFlow-only settings
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
      {"netflow-v9", "", "HOST:PORT", "", "send UDP NetFlow v9 export packets to HOST:PORT",
       StringInto(&o->netflow_v9, false)},
      {"ipfix", "", "HOST:PORT", "", "send UDP IPFIX messages to HOST:PORT",
       StringInto(&o->ipfix, false)},
      {"flows", "", "M", "10", "NetFlow modes: flow records per data packet, 1..30",
       IntInto(&o->flows, 1, NetflowV5Generator::kMaxFlows)},
      {"flow-rate", "", "R", "0", "NetFlow modes: flow records per second (sets --rate)",
       DoubleInto(&o->flow_rate, 0, 1e12)},
      {"exporters", "", "E", "1", "NetFlow modes: simulated exporters, 1..1000",
       IntInto(&o->udp.exporters, 1, 1000)},
      {"ipv6-ratio", "", "F", "0.25", "v9/IPFIX: fraction 0..1 of IPv6 flows",
       DoubleInto(&o->udp.ipv6_ratio, 0, 1)},
      {"template-interval", "", "SECONDS", "1",
       "v9/IPFIX: seconds between template resends per exporter (0: only once)",
       DoubleInto(&o->udp.template_interval_s, 0, 1e9)},
      {"templates-after", "", "N", "0",
       "v9/IPFIX: data packets each exporter sends before its first templates (data before "
       "template)",
       Uint64Into(&o->udp.templates_after, 0, UINT64_MAX)},
      {"source-port", "", "PORT", "0",
       "NetFlow modes: exporter i sends from PORT + i, so a restarted flowgen is the same "
       "exporter (0: any port)",
       IntInto(&o->udp.source_port, 0, 65535)},
      {"skip-every", "", "N", "0",
       "NetFlow modes: build but do not send every Nth data packet of each exporter (lost "
       "export packets: sequence gaps); 0 = none",
       Uint64Into(&o->udp.skip_every, 0, UINT64_MAX)},
      {"sampling-interval", "", "N", "1",
       "v9/IPFIX: the sampling interval the options record carries",
       IntInto(&o->udp.sampling_interval, 1, UINT32_MAX)},
  };
}

constexpr const char* kNetflowOnly[] = {
    "flows",           "flow-rate",         "exporters",   "ipv6-ratio", "template-interval",
    "templates-after", "sampling-interval", "source-port", "skip-every"};

// The NetFlow mode chosen (at most one), filling o->udp.
bool ChooseNetflowMode(Options* o) {
  const std::pair<int, const std::string*> modes[] = {
      {5, &o->netflow_v5}, {9, &o->netflow_v9}, {10, &o->ipfix}};
  int chosen = 0;
  for (const auto& [version, target] : modes) {
    if (target->empty()) continue;
    if (chosen++ > 0) UsageError("--netflow-v5, --netflow-v9 and --ipfix exclude each other");
    std::string host;
    std::string port;
    if (!SplitTarget(*target, &host, &port)) {
      BadValue(version == 5   ? "netflow-v5"
               : version == 9 ? "netflow-v9"
                              : "ipfix",
               *target, "HOST:PORT with a port 1..65535");
    }
    o->udp.version = version;
    o->udp.target = *target;
  }
  return chosen > 0;
}

// The rules that span flags: each mode's flags only.
void Validate(Options* o, const LoadedSettings& loaded) {
  if (ChooseNetflowMode(o)) {
    for (const char* json_only : {"junk-ratio", "docker-prefix", "out"}) {
      if (loaded.Given(json_only)) {
        UsageError("--" + std::string(json_only) + " does not apply to the NetFlow modes");
      }
    }
    UdpExportOptions& u = o->udp;
    u.count = o->count;
    u.rate = o->flow_rate > 0 ? o->flow_rate / o->flows : o->rate;
    u.seed = o->seed;
    u.flows = o->flows;
    u.expected_path = o->expected_path;
    return;
  }
  for (const char* netflow_only : kNetflowOnly) {
    if (loaded.Given(netflow_only)) {
      UsageError("--" + std::string(netflow_only) + " only applies to the NetFlow modes");
    }
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
  Validate(&o, *loaded);
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
  Pacer pacer(o.rate > 0 ? o.rate : 1.0, &g_stop);

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

}  // namespace
}  // namespace nf2::flowgen

int main(int argc, char** argv) {
  const nf2::flowgen::Options options = nf2::flowgen::ParseArgs(argc, argv);
  nf2::flowgen::InstallSignalHandlers();
  if (options.udp.target.empty()) return nf2::flowgen::RunJson(options);
  return nf2::flowgen::RunUdpExport(options.udp, &nf2::flowgen::g_stop);
}
