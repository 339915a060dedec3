// Every signal that can reach nf2ingest has the effect the README's
// "Stopping" table gives it, at any point of the run: while it reads, and
// before it reads (the start-up health check, a key file that is a FIFO).
// And a closed or reset standard input is an input error, never an endless
// read or a clean exit.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// nf2ingest reading a FIFO that the test holds open: the fixture lines are
// written and consumed, then the test sends signals and sees what happens.
class ReadingFromAFifo {
 public:
  explicit ReadingFromAFifo(const Sink& sink) : dir_(TempDir()) {
    const std::string fifo = dir_ + "/flows.fifo";
    EXPECT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    auto env = EnvFor(sink);
    env["FLUSH_INTERVAL"] = "30";  // only the drain can send the partial batch
    mapper_ = std::make_unique<Process>(Nf2ingestOptions(dir_, {fifo}, env));
    // Opening for writing blocks until nf2ingest has opened the FIFO to read.
    wfd_ = open(fifo.c_str(), O_WRONLY);
    EXPECT_GE(wfd_, 0);
  }
  ~ReadingFromAFifo() {
    if (wfd_ >= 0) close(wfd_);
  }
  ReadingFromAFifo(const ReadingFromAFifo&) = delete;
  ReadingFromAFifo& operator=(const ReadingFromAFifo&) = delete;

  // Writes the 50 fixture lines and waits until nf2ingest has read them all.
  bool WriteFixtureAndWaitConsumed() {
    const auto lines =
        ReadFixtureLines("goflow2/sample.jsonl").value_or(std::vector<std::string>{});
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    if (write(wfd_, all.data(), all.size()) != static_cast<ssize_t>(all.size())) return false;
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    int unread = 1;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ioctl(wfd_, FIONREAD, &unread) != 0) return false;
      if (unread == 0) return true;
      poll(nullptr, 0, 10);
    }
    return false;
  }

  Process& mapper() { return *mapper_; }
  std::string stderr_path() const { return dir_ + "/stderr"; }
  std::string log() const { return ReadFile(stderr_path()); }

 private:
  std::string dir_;
  std::unique_ptr<Process> mapper_;
  int wfd_ = -1;
};

TEST(Signals, SighupDrainsLikeSigterm) {
  Sink sink;
  ReadingFromAFifo run(sink);
  ASSERT_TRUE(run.WriteFixtureAndWaitConsumed());
  run.mapper().Signal(SIGHUP);
  EXPECT_EQ(run.mapper().Wait(seconds(20)), 0) << run.log();  // not 129: killed
  const auto summary = ParseSummary(run.log());
  EXPECT_EQ(summary.count("lines") ? summary.at("lines") : 0, 50u) << run.log();
  EXPECT_EQ(summary.count("delivered") ? summary.at("delivered") : 0, 45u) << run.log();
  EXPECT_EQ(ReadLines(sink.out_path()).size(), 45u);
  EXPECT_NE(run.log().find("received SIGHUP"), std::string::npos) << run.log();
}

TEST(Signals, UserSignalsAreIgnoredAndSigtermStillDrains) {
  Sink sink;
  ReadingFromAFifo run(sink);
  ASSERT_TRUE(run.WriteFixtureAndWaitConsumed());
  run.mapper().Signal(SIGUSR1);
  EXPECT_TRUE(run.mapper().WaitForText(run.stderr_path(), "received SIGUSR1", seconds(5)))
      << run.log();
  run.mapper().Signal(SIGUSR2);
  EXPECT_TRUE(run.mapper().WaitForText(run.stderr_path(), "received SIGUSR2", seconds(5)))
      << run.log();
  EXPECT_FALSE(run.mapper().Wait(milliseconds(0)).has_value()) << "a user signal ended it";
  run.mapper().Signal(SIGTERM);
  EXPECT_EQ(run.mapper().Wait(seconds(20)), 0) << run.log();
  const auto summary = ParseSummary(run.log());
  EXPECT_EQ(summary.count("delivered") ? summary.at("delivered") : 0, 45u) << run.log();
  EXPECT_EQ(ReadLines(sink.out_path()).size(), 45u);
}

TEST(Signals, SecondSigtermStopsAtOnce) {
  // The API never answers: the drain would wait DRAIN_TIMEOUT (60 s); a
  // second SIGTERM ends it now, the records accounted as undelivered.
  int port = 0;
  const int listener = ListenOnLoopback(16, &port);
  ASSERT_GE(listener, 0);
  const std::string dir = TempDir();
  const std::string input = dir + "/in.jsonl";
  WriteFile(input, ReadFixture("goflow2/sample.jsonl").value_or(""));
  const std::string fifo = dir + "/more.fifo";  // keeps input open after the file
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Process mapper(
      Nf2ingestOptions(dir, {input, fifo},
                       {{"API", "http://127.0.0.1:" + std::to_string(port)},
                        {"KEY", "TEST_KEY"},
                        {"TIMEOUT", "6"},  // the start-up health check gives up after 1 + 6/6 s
                        {"CONNECT_TIMEOUT", "1"},
                        {"DRAIN_TIMEOUT", "60"}}));
  const int wfd = open(fifo.c_str(), O_WRONLY);  // nf2ingest is past the health check
  ASSERT_GE(wfd, 0);
  mapper.Signal(SIGTERM);
  ASSERT_TRUE(mapper.WaitForText(dir + "/stderr", "stopping input and draining", seconds(5)));
  mapper.Signal(SIGTERM);
  EXPECT_EQ(mapper.Wait(seconds(10)), 3) << ReadFile(dir + "/stderr");
  close(wfd);
  close(listener);
  RunResult r{3, ReadFile(dir + "/stderr"), ParseSummary(ReadFile(dir + "/stderr"))};
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["delivered"], 0u) << r.stderr_text;
}

// A TCP listener that the test never accept()s from: connections complete in
// the kernel, requests are never answered.
class SilentServer {
 public:
  SilentServer() { fd_ = ListenOnLoopback(16, &port_); }
  ~SilentServer() { close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // A connection waits in the backlog: the client is in its request.
  bool WaitForConnection(milliseconds timeout) {
    pollfd pfd{fd_, POLLIN, 0};
    return poll(&pfd, 1, static_cast<int>(timeout.count())) == 1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A stop before the pipeline starts ends the program at once: exit 0 (nothing
// was read, nothing is lost) and a [SUMMARY] of zeros.
void ExpectPromptEmptyExit(Process& p, const std::string& stderr_path) {
  const auto start = std::chrono::steady_clock::now();
  const auto code = p.Wait(seconds(3));
  const std::string log = ReadFile(stderr_path);
  ASSERT_TRUE(code.has_value()) << "still running 3 s after SIGTERM:\n" << log;
  EXPECT_EQ(*code, 0) << log;
  EXPECT_LE(std::chrono::steady_clock::now() - start, seconds(3));
  const auto summary = ParseSummary(log);
  ASSERT_FALSE(summary.empty()) << log;
  EXPECT_EQ(summary.at("lines"), 0u) << log;
  EXPECT_NE(log.find("received SIGTERM before any input was read"), std::string::npos) << log;
}

TEST(Signals, SigtermDuringTheStartupHealthCheckEndsPromptly) {
  SilentServer api;
  const std::string dir = TempDir();
  Process mapper(Nf2ingestOptions(
      dir, {FixturePath("goflow2/sample.jsonl")},
      {{"API", api.url()}, {"KEY", "TEST_KEY"}, {"TIMEOUT", "60"}, {"CONNECT_TIMEOUT", "60"}}));
  ASSERT_TRUE(api.WaitForConnection(seconds(10))) << ReadFile(dir + "/stderr");
  mapper.Signal(SIGTERM);
  ExpectPromptEmptyExit(mapper, dir + "/stderr");
}

TEST(Signals, SigtermWhileTheKeyFileFifoHasNoDataEndsPromptly) {
  const std::string dir = TempDir();
  const std::string key_fifo = dir + "/key.fifo";
  ASSERT_EQ(mkfifo(key_fifo.c_str(), 0600), 0);
  SilentServer api;  // never reached
  Process mapper(Nf2ingestOptions(dir, {"--key-file", key_fifo}, {{"API", api.url()}}));
  // A non-blocking open for writing fails (ENXIO) until nf2ingest opens the
  // FIFO to read the key; then it waits in read() for a key that never comes.
  int wfd = -1;
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (wfd < 0 && std::chrono::steady_clock::now() < deadline) {
    wfd = open(key_fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (wfd < 0) poll(nullptr, 0, 10);
  }
  ASSERT_GE(wfd, 0) << "nf2ingest never opened the key file";
  mapper.Signal(SIGTERM);
  ExpectPromptEmptyExit(mapper, dir + "/stderr");
  close(wfd);
}

TEST(Signals, AResetSocketOnStdinIsAnInputError) {
  // stdin is the accepted end of a loopback TCP connection; the test's end
  // sends the fixture, waits until it has been delivered, then resets.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), len), 0);
  const int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);
  close(listener);

  Sink sink;
  const std::string dir = TempDir();
  auto env = EnvFor(sink);
  env["FLUSH_INTERVAL"] = "0.1";
  SpawnOptions opts = Nf2ingestOptions(dir, {}, env);
  opts.stdin_fd = accepted;
  Process mapper(opts);
  close(accepted);
  const std::string all = ReadFixture("goflow2/sample.jsonl").value_or("");
  ASSERT_EQ(write(client, all.data(), all.size()), static_cast<ssize_t>(all.size()));
  double delivered = 0;
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (delivered < 45 && std::chrono::steady_clock::now() < deadline) {
    delivered = sink.Metrics()["records_processed"];
    if (delivered < 45) poll(nullptr, 0, 20);
  }
  ASSERT_EQ(delivered, 45) << ReadFile(dir + "/stderr");
  const linger reset{1, 0};  // close() sends RST instead of FIN
  ASSERT_EQ(setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
  close(client);
  const auto code = mapper.Wait(seconds(20));
  const std::string log = ReadFile(dir + "/stderr");
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("cannot read input stdin: Connection reset by peer"), std::string::npos)
      << log;
  EXPECT_EQ(ParseSummary(log)["delivered"], 45u) << log;
}

TEST(Signals, ClosedStdinIsAnInputErrorNotAnEndlessRead) {
  Sink sink;
  const std::string dir = TempDir();
  SpawnOptions opts = Nf2ingestOptions(dir, {}, EnvFor(sink));
  opts.close_stdin = true;
  Process mapper(opts);
  const auto code = mapper.Wait(seconds(20));
  const std::string log = ReadFile(dir + "/stderr");
  ASSERT_TRUE(code.has_value()) << "still reading 20 s later:\n" << log;
  EXPECT_EQ(*code, 1) << log;
  EXPECT_NE(log.find("cannot read input stdin"), std::string::npos) << log;
  EXPECT_EQ(ParseSummary(log)["lines"], 0u) << log;
}

TEST(Signals, ClosedStdinDoesNotMatterWhenFilesAreNamed) {
  Sink sink;
  const std::string dir = TempDir();
  SpawnOptions opts = Nf2ingestOptions(dir, {FixturePath("goflow2/sample.jsonl")}, EnvFor(sink));
  opts.close_stdin = true;
  Process mapper(opts);
  EXPECT_EQ(mapper.Wait(seconds(20)), 0) << ReadFile(dir + "/stderr");
  EXPECT_EQ(ParseSummary(ReadFile(dir + "/stderr"))["delivered"], 45u);
}

}  // namespace
}  // namespace nf2::testing
