// Delivery you can trust: the failure matrix of docs/contract.md §3, shutdown,
// the disk spool and the dead-letter store, over real processes on loopback.
// Every test checks the accounting identity of the [SUMMARY] line.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "stages/sinks/http/spool.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

using std::chrono::seconds;

std::vector<std::string> FilesIn(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        out.push_back(std::string(dir).append("/").append(name));
      }
    }
    closedir(d);
  }
  return out;
}

// Records held by the batch files of a spool or dead-letter directory.
uint64_t RecordsStoredIn(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& path : FilesIn(dir, ".nf2b")) {
    auto stored = DecodeBatchFile(ReadFile(path));
    if (stored.ok()) n += stored->batch.records();
  }
  return n;
}

void ExpectExactlyOnce(const Sink& sink, const Corpus& c) {
  const auto received = ReadLines(sink.out_path());
  const std::set<std::string> unique(received.begin(), received.end());
  EXPECT_EQ(unique.size(), received.size()) << "a record arrived twice";
  EXPECT_TRUE(Sorted(received) == Sorted(ReadLines(c.expected)))
      << "received " << received.size() << " records";
}

TEST(FailureMatrix, EveryRecordArrivesOnceThroughEveryKindOfFailure) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "4000", "--seed", "21"});
  // 429 and 503 without Retry-After, then with it; 500, 502, a connection
  // closed without an answer (five times: curl itself re-sends once when a
  // reused connection dies, but not on a fresh one), and a slow answer.
  for (const char* retry_after : {"0", "1"}) {
    SCOPED_TRACE(std::string("retry-after=") + retry_after);
    Sink sink({"--script", "429,503,500,502,close,close,close,close,close,slow,429,503",
               "--retry-after", retry_after});
    auto env = EnvFor(sink);
    env["BATCH_SIZE"] = "500";
    RunResult r = RunNf2ingest({c.lines}, env);
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    ExpectBalanced(r);
    EXPECT_EQ(r.summary["delivered"], 4000u);
    for (const char* what : {"HTTP 429", "HTTP 503", "HTTP 500", "HTTP 502", "Request failed"}) {
      EXPECT_NE(r.stderr_text.find(what), std::string::npos) << what << " missing from:\n"
                                                             << r.stderr_text;
    }
    ExpectExactlyOnce(sink, c);
  }
}

TEST(FailureMatrix, RetryAfterIsHonoured) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "10", "--seed", "4"});
  Sink sink({"--script", "503", "--retry-after", "2"});
  auto env = EnvFor(sink);
  env["RETRY_MAX"] = "2";  // a Retry-After is obeyed up to RETRY_MAX by default
  const auto start = std::chrono::steady_clock::now();
  RunResult r = RunNf2ingest({c.lines}, env);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.summary["delivered"], 10u);
  // Backoff alone would retry within RETRY_INITIAL (0.05 s).
  EXPECT_GE(elapsed, std::chrono::milliseconds(1900)) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("retry in 2s"), std::string::npos) << r.stderr_text;
}

TEST(FailureMatrix, PermanentRejectionsGoToTheDeadLetterStoreAndReplay) {
  const std::string dir = TempDir();
  const std::string dead = dir + "/dead";
  Corpus c = MakeCorpus(dir, "c", {"--count", "1000", "--seed", "6"});
  {
    Sink sink({"--script", "400"});
    auto env = EnvFor(sink);
    env["BATCH_SIZE"] = "250";
    env["MAX_IN_FLIGHT"] = "1";  // the scripted 400 hits the first batch
    env["DEAD_LETTER_DIR"] = dead;
    RunResult r = RunNf2ingest({c.lines}, env);
    EXPECT_EQ(r.exit_code, 3) << r.stderr_text;
    ExpectBalanced(r);
    EXPECT_EQ(r.summary["rejected"], 250u);
    EXPECT_EQ(r.summary["delivered"], 750u);
    EXPECT_EQ(RecordsStoredIn(dead), 250u);
    // The API's answer is kept with the batch.
    auto files = FilesIn(dead, ".nf2b");
    ASSERT_EQ(files.size(), 1u);
    auto stored = DecodeBatchFile(ReadFile(files[0]));
    ASSERT_TRUE(stored.ok());
    EXPECT_NE(stored->note.find("HTTP 400"), std::string::npos) << stored->note;
    EXPECT_NE(stored->note.find("invalid_json"), std::string::npos) << stored->note;
  }
  // Once the API accepts them, --replay sends the rejected records.
  Sink sink;
  RunResult r = RunNf2ingest({"--replay", dead}, EnvFor(sink));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(ReadLines(sink.out_path()).size(), 250u);
  EXPECT_EQ(RecordsStoredIn(dead), 0u);
  EXPECT_NE(r.stderr_text.find("[REPLAY] records from earlier runs: delivered=250"),
            std::string::npos)
      << r.stderr_text;
}

// --replay of an entry the API splits: both halves are delivered and the
// entry is removed, so the next replay does not send it again.
TEST(FailureMatrix, ReplayThroughA413SplitRemovesTheEntryOnce) {
  const std::string dir = TempDir();
  const std::string dead = dir + "/dead";
  Corpus c = MakeCorpus(dir, "c", {"--count", "200", "--seed", "12"});
  {
    Sink sink({"--script", "400"});
    auto env = EnvFor(sink);
    env["BATCH_SIZE"] = "200";
    env["DEAD_LETTER_DIR"] = dead;
    RunResult r = RunNf2ingest({c.lines}, env);
    EXPECT_EQ(r.exit_code, 3) << r.stderr_text;
    ASSERT_EQ(RecordsStoredIn(dead), 200u);
  }
  Sink sink({"--max-records", "60"});  // 200 -> 2x100 -> 4x50
  RunResult r = RunNf2ingest({"--replay", dead}, EnvFor(sink));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(RecordsStoredIn(dead), 0u) << "the split entry was left for the next replay";
  ExpectExactlyOnce(sink, c);
  EXPECT_NE(r.stderr_text.find("[REPLAY] records from earlier runs: delivered=200"),
            std::string::npos)
      << r.stderr_text;
  RunResult again = RunNf2ingest({"--replay", dead}, EnvFor(sink));
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(ReadLines(sink.out_path()).size(), 200u) << "the next replay sent records again";
}

TEST(FailureMatrix, ASingleRecordStillTooLargeIsDeadLettered) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "20", "--seed", "9"});
  Sink sink({"--max-body-bytes", "150"});  // smaller than any request
  auto env = EnvFor(sink);
  env["DEAD_LETTER_DIR"] = dir + "/dead";
  RunResult r = RunNf2ingest({c.lines}, env);
  EXPECT_EQ(r.exit_code, 3);
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["rejected"], 20u) << r.stderr_text;
  EXPECT_EQ(RecordsStoredIn(dir + "/dead"), 20u);
  EXPECT_EQ(FilesIn(dir + "/dead", ".nf2b").size(), 20u);  // split down to one record each
}

TEST(Auth, AWrongKeyEndsTheRunAtOnceWithoutPrintingIt) {
  const std::string secret = "wrong-key-0123456789-do-not-print";
  Sink sink;
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "100"});
  auto env = EnvFor(sink);
  env["KEY"] = secret;
  env["LOG_LEVEL"] = "DEBUG";
  const auto start = std::chrono::steady_clock::now();
  RunResult r = RunNf2ingest({c.lines}, env);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_EQ(r.exit_code, 4) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("refused the key"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.find(secret), std::string::npos) << "the key leaked";
  EXPECT_EQ(sink.Metrics()["records_processed"], 0);
}

TEST(Auth, AnUnreachableApiAtStartIsOnlyAWarning) {
  // The API comes up after nf2ingest started: a FIFO holds the input until
  // the sink is there.
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "300", "--seed", "12"});
  RunResult r = RunNf2ingest({c.lines}, {{"API", "http://127.0.0.1:9"},
                                         {"DRAIN_TIMEOUT", "0.5"},
                                         {"RETRY_INITIAL", "0.05"},
                                         {"RETRY_MAX", "0.1"}});
  EXPECT_NE(r.stderr_text.find("health check failed (carrying on"), std::string::npos)
      << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["undelivered"], 300u);
  EXPECT_EQ(r.exit_code, 3);
}

// Writes `lines` to a FIFO from a thread, line by line, until told to stop.
class FifoWriter {
 public:
  FifoWriter(const std::string& path, std::vector<std::string> lines)
      : thread_([this, path, lines = std::move(lines)] {
          // The reader may go first: a write then fails with EPIPE instead
          // of killing the test.
          signal(SIGPIPE, SIG_IGN);
          int fd = open(path.c_str(), O_WRONLY);
          if (fd < 0) return;
          for (const auto& l : lines) {
            if (stop_) break;
            std::string line = l + "\n";
            if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) break;
            ++written_;
          }
          close(fd);
        }) {}
  ~FifoWriter() {
    stop_ = true;
    thread_.join();
  }
  FifoWriter(const FifoWriter&) = delete;
  FifoWriter& operator=(const FifoWriter&) = delete;
  uint64_t written() const { return written_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> written_{0};
  std::thread thread_;
};

TEST(Shutdown, SigtermInTheMiddleOfAStreamDeliversEverythingRead) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "200000", "--seed", "13"});
  const std::string fifo = dir + "/in.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Sink sink({"--latency-ms", "5"});
  auto env = EnvFor(sink);
  env["BATCH_SIZE"] = "1000";
  SpawnOptions opts = Nf2ingestOptions(dir, {fifo}, env);
  Process mapper(opts);
  FifoWriter writer(fifo, ReadLines(c.lines));
  // Let part of the stream through, then stop it while lines keep coming.
  const auto start = std::chrono::steady_clock::now();
  while (sink.Metrics()["records_processed"] < 20000 &&
         std::chrono::steady_clock::now() - start < seconds(30)) {
    poll(nullptr, 0, 20);
  }
  mapper.Signal(SIGTERM);
  EXPECT_EQ(mapper.Wait(seconds(40)), 0) << ReadFile(dir + "/stderr");
  const auto summary = ParseSummary(ReadFile(dir + "/stderr"));
  ASSERT_FALSE(summary.empty());
  EXPECT_GT(summary.at("lines"), 20000u);
  EXPECT_LT(summary.at("lines"), 200000u) << "the stream was not interrupted";
  // The signal may land in the middle of a line: the part already read is
  // a line of its own, truncated JSON, counted invalid. Nothing else is lost.
  EXPECT_LE(summary.at("invalid"), 1u);
  EXPECT_EQ(summary.at("delivered") + summary.at("invalid"), summary.at("lines"));
  const auto received = ReadLines(sink.out_path());
  EXPECT_EQ(received.size(), summary.at("delivered"));
  // What arrived is exactly the first `delivered` records of the stream.
  auto expected = ReadLines(c.expected);
  expected.resize(summary.at("delivered"));
  EXPECT_TRUE(Sorted(received) == Sorted(expected));
}

TEST(Spool, KillDashNineWhileTheApiIsDownThenRestartDeliversEverything) {
  const std::string dir = TempDir();
  const std::string spool = dir + "/spool";
  Corpus c = MakeCorpus(dir, "c", {"--count", "20000", "--seed", "14"});
  {
    SpawnOptions opts;
    opts.argv = {BinPath("nf2ingest"), c.lines};
    opts.env = {{"API", "http://127.0.0.1:9"}, {"SPOOL_DIR", spool},      {"DURABLE", "true"},
                {"RETRY_MAX_DURATION", "1"},   {"RETRY_INITIAL", "0.05"}, {"RETRY_MAX", "0.2"}};
    opts.stdout_path = dir + "/stdout1";
    opts.stderr_path = dir + "/stderr1";
    Process mapper(opts);
    // Wait until every record is in a batch on disk, then kill -9.
    const auto start = std::chrono::steady_clock::now();
    while (RecordsStoredIn(spool) < 20000 &&
           std::chrono::steady_clock::now() - start < seconds(30)) {
      poll(nullptr, 0, 50);
    }
    ASSERT_EQ(RecordsStoredIn(spool), 20000u) << ReadFile(dir + "/stderr1");
    mapper.Signal(SIGKILL);
    EXPECT_EQ(mapper.Wait(seconds(10)), 128 + SIGKILL);
  }
  // The API is up now; a run with no input delivers what the spool holds.
  Sink sink;
  auto env = EnvFor(sink);
  env["SPOOL_DIR"] = spool;
  RunResult r = RunNf2ingest({"/dev/null"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(RecordsStoredIn(spool), 0u);
  ExpectExactlyOnce(sink, c);
}

TEST(Spool, UndeliveredAtTheDeadlineIsSpooledAndSentNextTime) {
  const std::string dir = TempDir();
  const std::string spool = dir + "/spool";
  Corpus c = MakeCorpus(dir, "c", {"--count", "3000", "--seed", "15"});
  RunResult down = RunNf2ingest({c.lines}, {{"API", "http://127.0.0.1:9"},
                                            {"SPOOL_DIR", spool},
                                            {"DRAIN_TIMEOUT", "1"},
                                            {"RETRY_INITIAL", "0.05"},
                                            {"RETRY_MAX", "0.2"}});
  EXPECT_EQ(down.exit_code, 3) << down.stderr_text;
  ExpectBalanced(down);
  EXPECT_EQ(down.summary["spooled"], 3000u);
  EXPECT_EQ(RecordsStoredIn(spool), 3000u);
  Sink sink;
  auto env = EnvFor(sink);
  env["SPOOL_DIR"] = spool;
  RunResult up = RunNf2ingest({"/dev/null"}, env);
  EXPECT_EQ(up.exit_code, 0) << up.stderr_text;
  ExpectExactlyOnce(sink, c);
}

TEST(Spool, CorruptFilesAreMovedAsideAndTheRestIsDelivered) {
  const std::string dir = TempDir();
  const std::string spool = dir + "/spool";
  Corpus c = MakeCorpus(dir, "c", {"--count", "1000", "--seed", "16"});
  RunResult down = RunNf2ingest({c.lines}, {{"API", "http://127.0.0.1:9"},
                                            {"SPOOL_DIR", spool},
                                            {"BATCH_SIZE", "100"},
                                            {"DRAIN_TIMEOUT", "1"},
                                            {"RETRY_INITIAL", "0.05"},
                                            {"RETRY_MAX", "0.2"}});
  ASSERT_EQ(down.summary["spooled"], 1000u) << down.stderr_text;
  auto files = FilesIn(spool, ".nf2b");
  ASSERT_GE(files.size(), 3u);
  // Tear one file (as a crash mid-write would), flip a byte in another, and
  // add one that is pure garbage.
  std::sort(files.begin(), files.end());
  const uint64_t torn = DecodeBatchFile(ReadFile(files[0]))->batch.records();
  const uint64_t flipped = DecodeBatchFile(ReadFile(files[1]))->batch.records();
  std::string t = ReadFile(files[0]);
  WriteFile(files[0], t.substr(0, t.size() / 2));
  std::string f = ReadFile(files[1]);
  f[f.size() / 2] ^= 0x20;
  WriteFile(files[1], f);
  WriteFile(spool + "/batch-00000000000000099999.nf2b", "not a batch at all");

  Sink sink;
  auto env = EnvFor(sink);
  env["SPOOL_DIR"] = spool;
  RunResult up = RunNf2ingest({"/dev/null"}, env);
  EXPECT_EQ(up.exit_code, 0) << up.stderr_text;
  EXPECT_EQ(ReadLines(sink.out_path()).size(), 1000u - torn - flipped);
  EXPECT_EQ(FilesIn(spool, ".corrupt").size(), 3u) << up.stderr_text;
  EXPECT_NE(up.stderr_text.find("corrupt"), std::string::npos) << up.stderr_text;
}

TEST(Memory, AStalledApiHoldsTheInputInBoundedMemoryAndSigtermEndsInTime) {
  const std::string dir = TempDir();
  const std::string fifo = dir + "/in.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // Accepts connections, never answers (within the test's lifetime).
  Sink sink({"--latency-ms", "600000", "--threads", "16"});
  SpawnOptions gen;
  gen.argv = {BinPath("flowgen"), "--count", "0", "--seed", "17", "--out", fifo};
  gen.stdout_path = dir + "/gen.stdout";
  gen.stderr_path = dir + "/gen.stderr";
  Process generator(gen);  // endless: gigabytes wait behind the API
  SpawnOptions opts;
  opts.argv = {BinPath("nf2ingest"), fifo};
  opts.env = EnvFor(sink);
  opts.env["DRAIN_TIMEOUT"] = "2";
  opts.env["BATCH_SIZE"] = "5000";
  opts.stdout_path = dir + "/stdout";
  opts.stderr_path = dir + "/stderr";
  Process mapper(opts);
  // Watch its peak RSS while the input keeps pressing for 4 s.
  uint64_t peak_kb = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < seconds(4)) {
    std::ifstream status("/proc/" + std::to_string(mapper.pid()) + "/status");
    std::string key;
    uint64_t kb;
    while (status >> key) {
      if (key == "VmHWM:" && status >> kb) peak_kb = std::max(peak_kb, kb);
    }
    poll(nullptr, 0, 100);
  }
  EXPECT_GT(peak_kb, 0u);
  EXPECT_LT(peak_kb, 256u * 1024) << "peak RSS " << peak_kb << " KiB";
  RecordProperty("peak_rss_kib", std::to_string(peak_kb));
  const auto stop = std::chrono::steady_clock::now();
  mapper.Signal(SIGTERM);
  auto code = mapper.Wait(seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - stop, seconds(4)) << "drain deadline is 2 s";
  EXPECT_EQ(code, 3);
  RunResult r;
  r.stderr_text = ReadFile(dir + "/stderr");
  r.summary = ParseSummary(r.stderr_text);
  ExpectBalanced(r);
  EXPECT_GT(r.summary["undelivered"], 0u);
  EXPECT_EQ(r.summary["delivered"], 0u);
}

}  // namespace
}  // namespace nf2::testing

namespace nf2::testing {
namespace {

TEST(Proxy, BehindNginxWithASmallBodyLimitBatchesAreSplitUntilTheyPass) {
  const std::string nginx = "/usr/sbin/nginx";
  ASSERT_EQ(access(nginx.c_str(), X_OK), 0) << "nginx is missing: run scripts/install-deps.sh";
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "20000", "--seed", "18"});
  Sink sink;
  const HeldPort held;  // nginx binds it with SO_REUSEADDR
  const int port = held.port();
  WriteFile(dir + "/nginx.conf",
            "user root;\nworker_processes 1;\npid " + dir + "/nginx.pid;\nerror_log " + dir +
                "/error.log;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path " +
                dir + "/body;\n  proxy_temp_path " + dir + "/proxy;\n  fastcgi_temp_path " + dir +
                "/fcgi;\n  uwsgi_temp_path " + dir + "/uwsgi;\n  scgi_temp_path " + dir +
                "/scgi;\n  server {\n    listen 127.0.0.1:" + std::to_string(port) +
                ";\n    client_max_body_size 64k;\n    location / {\n      proxy_pass " +
                sink.url() +
                ";\n      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"
                "    }\n  }\n}\n");
  SpawnOptions opts;
  opts.argv = {nginx, "-p", dir, "-c", dir + "/nginx.conf", "-g", "daemon off;"};
  opts.stdout_path = dir + "/nginx.stdout";
  opts.stderr_path = dir + "/nginx.stderr";
  Process proxy(opts);
  const auto start = std::chrono::steady_clock::now();
  while (!LoopbackAccepts(port) && std::chrono::steady_clock::now() - start < seconds(10)) {
    ASSERT_FALSE(proxy.Wait(std::chrono::milliseconds(20)).has_value())
        << "nginx exited: " << ReadFile(dir + "/nginx.stderr") << ReadFile(dir + "/error.log");
  }
  ASSERT_TRUE(LoopbackAccepts(port));

  auto env = EnvFor(sink);
  env["API"] = "http://127.0.0.1:" + std::to_string(port);
  env["BATCH_SIZE"] = "5000";  // ~1 MB of JSON, ~150 KB gzipped: over nginx's 64 KB
  RunResult r = RunNf2ingest({c.lines}, env);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text.substr(0, 3000);
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["delivered"], 20000u);
  EXPECT_NE(r.stderr_text.find("HTTP 413"), std::string::npos);
  EXPECT_NE(r.stderr_text.find("413 Request Entity Too Large"), std::string::npos)
      << "expected nginx's HTML answer in the log";
  ExpectExactlyOnce(sink, c);
  proxy.Signal(SIGQUIT);
  proxy.Wait(seconds(10));
}

}  // namespace
}  // namespace nf2::testing
