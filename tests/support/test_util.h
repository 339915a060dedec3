// Helpers for tests that run the real programs: spawn, wait with a deadline,
// talk HTTP to loopback, read files. No sleeps: waits are on descriptors.
// Every child dies with the test process (PR_SET_PDEATHSIG), so a test that
// crashes or times out leaves no server or nf2ingest behind.
#ifndef NF2INGEST_TESTS_TEST_UTIL_H_
#define NF2INGEST_TESTS_TEST_UTIL_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nf2::testing {

std::string BinPath(const std::string& name);  // <build>/bin/name
std::string TempDir();                         // a fresh directory per call

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
std::vector<std::string> ReadLines(const std::string& path);

struct SpawnOptions {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to (or replacing) the test's environment
  std::string stdin_path;                  // empty: /dev/null
  bool close_stdin = false;                // start the child with descriptor 0 closed
  int stdin_fd = -1;                       // >= 0: this descriptor (a socket...) as stdin
  std::string stdout_path;                 // empty: a pipe readable with ReadStdoutLine
  std::string stderr_path;                 // empty: inherit
};

class Process {
 public:
  explicit Process(const SpawnOptions& options);
  ~Process();  // kills (SIGKILL) and reaps if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // One line of the child's stdout (pipe mode), or nullopt on EOF/timeout.
  std::optional<std::string> ReadStdoutLine(std::chrono::milliseconds timeout);
  // Exit code (128+signal if killed), or nullopt if still running at timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  void Signal(int sig);
  // Waits until `path` (e.g. the child's stderr file) contains `text`;
  // false if the deadline passes or the child exits first without it.
  bool WaitForText(const std::string& path, const std::string& text,
                   std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
  std::optional<int> exit_code_;
};

// A running ingest-sink on 127.0.0.1 with a free port.
class Sink {
 public:
  explicit Sink(const std::vector<std::string>& extra_args = {},
                std::map<std::string, std::string> env = {});
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& out_path() const { return out_path_; }
  // GET /v1/metrics, parsed to the numeric fields at the top level, plus
  // "status:<code>" entries from status_counts.
  std::map<std::string, double> Metrics();
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
  std::string out_path_;
};

struct RunResult {
  int exit_code = -1;
  std::string stderr_text;
  std::map<std::string, uint64_t> summary;  // from the [SUMMARY] line
};

// Options to run nf2ingest with `args` and `env`, its stdout and stderr
// going to `dir`/stdout and `dir`/stderr.
SpawnOptions Nf2ingestOptions(const std::string& dir, const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env);

// Runs nf2ingest to completion (fails the test after `timeout`).
RunResult RunNf2ingest(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env,
                       const std::string& stdin_path = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Parses "[SUMMARY] lines=N delivered=N ..." from a log text.
std::map<std::string, uint64_t> ParseSummary(const std::string& log);

// A flowgen corpus: the lines, the records they must become, and flowgen's
// "flowgen: lines=N valid=N filtered=N invalid=N" line.
struct Corpus {
  std::string lines;
  std::string expected;
  std::string stats;
};
Corpus MakeCorpus(const std::string& dir, const std::string& name,
                  const std::vector<std::string>& args);
// A count from flowgen's stats line, e.g. FlowgenCount(c.stats, "valid").
uint64_t FlowgenCount(const std::string& stats, const std::string& key);

std::vector<std::string> Sorted(std::vector<std::string> v);

// Environment for nf2ingest pointed at `sink`, with quick retries.
std::map<std::string, std::string> EnvFor(const Sink& sink);

// Checks that the [SUMMARY] outcomes add up to the lines read.
void ExpectBalanced(const RunResult& r);

// Loopback TCP for tests that play a server or a client themselves: a
// listening socket on 127.0.0.1 with a free port (its port in *port), and
// whether something accepts connections on a port.
int ListenOnLoopback(int backlog, int* port);
bool LoopbackAccepts(int port);

// A loopback port for a server the test starts later (an API that is down
// at first, nginx, a metrics server). Held bound with SO_REUSEADDR but not
// listening: connects to it are refused, and no outgoing connection can take
// it as its ephemeral port meanwhile (connect() skips bound ports; a
// connection from the port to itself would otherwise keep it). ingest-sink,
// nginx and the metrics server bind with SO_REUSEADDR too, so they can start
// while it is held.
class HeldPort {
 public:
  HeldPort();
  ~HeldPort();
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// HTTP GET with a Bearer key; returns status and body.
std::pair<long, std::string> HttpGet(const std::string& url, const std::string& key);

}  // namespace nf2::testing

#endif  // NF2INGEST_TESTS_TEST_UTIL_H_
