// End to end over real processes: flowgen / fixtures → nf2ingest → ingest-sink
// on loopback. What the sink received (its --out file) is compared with what
// must have been sent, record by record.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

TEST(EndToEnd, FixturesArriveExactlyAsTheContractSays) {
  Sink sink;
  RunResult r = RunNf2ingest({FixturePath("goflow2/sample.jsonl")}, EnvFor(sink));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["lines"], 50u);
  EXPECT_EQ(r.summary["delivered"], 45u);
  EXPECT_EQ(r.summary["filtered"], 1u);
  EXPECT_EQ(r.summary["invalid"], 4u);
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())),
            Sorted(ReadLines(FixturePath("goflow2/sample.expected.jsonl"))));
  EXPECT_NE(r.stderr_text.find("Starting NetFlow mapper"), std::string::npos);
  EXPECT_NE(r.stderr_text.find("[INGEST] sent 45 status=202"), std::string::npos) << r.stderr_text;
}

TEST(EndToEnd, FlowgenCorpusWithJunkPrefixesAndGzip) {
  const std::string dir = TempDir();
  Corpus plain =
      MakeCorpus(dir, "plain", {"--count", "30000", "--seed", "7", "--junk-ratio", "0.05"});
  Corpus prefixed =
      MakeCorpus(dir, "prefixed",
                 {"--count", "20000", "--seed", "8", "--junk-ratio", "0.05", "--docker-prefix"});
  Sink sink;
  auto env = EnvFor(sink);
  env["BATCH_SIZE"] = "1000";  // ~200 KB bodies: gzipped (threshold 51200)
  RunResult r = RunNf2ingest({plain.lines, prefixed.lines}, env);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["lines"], 50000u);
  EXPECT_EQ(r.summary["delivered"],
            FlowgenCount(plain.stats, "valid") + FlowgenCount(prefixed.stats, "valid"));
  EXPECT_EQ(r.summary["filtered"],
            FlowgenCount(plain.stats, "filtered") + FlowgenCount(prefixed.stats, "filtered"));
  EXPECT_EQ(r.summary["invalid"],
            FlowgenCount(plain.stats, "invalid") + FlowgenCount(prefixed.stats, "invalid"));
  std::vector<std::string> expected = ReadLines(plain.expected);
  for (auto& l : ReadLines(prefixed.expected)) expected.push_back(l);
  std::vector<std::string> received = ReadLines(sink.out_path());
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(Sorted(received) == Sorted(expected)) << "records differ from flowgen's oracle";
  auto m = sink.Metrics();
  EXPECT_EQ(m["records_processed"], static_cast<double>(expected.size()));
}

TEST(EndToEnd, NoRequestExceedsTheLimitsForAnyBatchSize) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "20000", "--seed", "3"});
  struct Case {
    std::string batch_size, max_records, max_payload, gzip_threshold;
  };
  // Plain bodies capped by bytes; gzip bodies capped by bytes; count caps.
  for (const Case& k :
       {Case{"20000", "10000", "60000", "100000000"}, Case{"5000", "10000", "20000", "1000"},
        Case{"777", "300", "5242880", "51200"}}) {
    SCOPED_TRACE(k.batch_size + "/" + k.max_records + "/" + k.max_payload + "/" + k.gzip_threshold);
    // The sink enforces the same limits: any oversized request shows as 413.
    Sink sink({"--max-records", k.max_records, "--max-body-bytes", k.max_payload});
    auto env = EnvFor(sink);
    env["BATCH_SIZE"] = k.batch_size;
    env["MAX_RECORDS_PER_BATCH"] = k.max_records;
    env["MAX_PAYLOAD_SIZE"] = k.max_payload;
    env["GZIP_THRESHOLD"] = k.gzip_threshold;
    RunResult r = RunNf2ingest({c.lines}, env);
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text.substr(0, 2000);
    ExpectBalanced(r);
    EXPECT_EQ(r.summary["delivered"], 20000u);
    auto m = sink.Metrics();
    EXPECT_EQ(m["status:413"], 0) << "a request exceeded a limit";
    EXPECT_EQ(m["records_processed"], 20000);
    EXPECT_EQ(r.stderr_text.find("HTTP 413"), std::string::npos);
    if (std::stoul(k.batch_size) > std::stoul(k.max_records)) {
      EXPECT_NE(r.stderr_text.find("clamped"), std::string::npos);
    }
  }
}

TEST(EndToEnd, A413SplitsTheBatchAndLosesNothing) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "5000", "--seed", "11"});
  Sink sink({"--max-records", "300"});  // the API is stricter than our limits
  auto env = EnvFor(sink);
  env["BATCH_SIZE"] = "2500";
  RunResult r = RunNf2ingest({c.lines}, env);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text.substr(0, 2000);
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["delivered"], 5000u);
  EXPECT_NE(r.stderr_text.find("HTTP 413"), std::string::npos);
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(ReadLines(c.expected)));
}

TEST(EndToEnd, RetriesThroughServerErrorsAndRateLimits) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "3000", "--seed", "5"});
  Sink sink({"--script", "503,429,500,502,504,429", "--retry-after", "1"});
  auto env = EnvFor(sink);
  env["BATCH_SIZE"] = "500";
  RunResult r = RunNf2ingest({c.lines}, env);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["delivered"], 3000u);
  EXPECT_NE(r.stderr_text.find("[INGEST][ERR] HTTP 503"), std::string::npos);
  // Exactly once: the sink saw every record once, despite the retries.
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(ReadLines(c.expected)));
}

TEST(EndToEnd, ConnectionRefusedIsRetriedThenReportedUndelivered) {
  // Nothing listens on this port: every attempt fails; the drain deadline
  // ends the run, and every record is accounted as undelivered (exit 3).
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "100", "--seed", "2"});
  RunResult r = RunNf2ingest({c.lines}, {{"API", "http://127.0.0.1:9"},
                                         {"RETRY_INITIAL", "0.05"},
                                         {"RETRY_MAX", "0.2"},
                                         {"DRAIN_TIMEOUT", "1"}});
  EXPECT_EQ(r.exit_code, 3) << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["undelivered"], 100u);
  EXPECT_NE(r.stderr_text.find("[INGEST][ERR] Request failed"), std::string::npos);
}

TEST(EndToEnd, BadSettingsStopBeforeReadingAndNameTheSetting) {
  struct Case {
    std::map<std::string, std::string> env;
    std::vector<std::string> args;
    std::string must_mention;
  };
  const std::vector<Case> cases = {
      {{{"BATCH_SIZE", "abc"}}, {}, "BATCH_SIZE"},
      {{{"BATCH_SIZE", "0"}}, {}, "BATCH_SIZE"},
      {{{"BATCH_SIZE", "-5"}}, {}, "BATCH_SIZE"},
      {{}, {"--batch-size=ten"}, "--batch-size"},
      {{{"MAX_RECORDS_PER_BATCH", "0"}}, {}, "MAX_RECORDS_PER_BATCH"},
      {{{"MAX_PAYLOAD_SIZE", "100"}}, {}, "MAX_PAYLOAD_SIZE"},
      {{{"MAX_PAYLOAD_SIZE", "-1"}}, {}, "MAX_PAYLOAD_SIZE"},
      {{{"FLUSH_INTERVAL", "soon"}}, {}, "FLUSH_INTERVAL"},
      {{{"GZIP_THRESHOLD", "-1"}}, {}, "GZIP_THRESHOLD"},
      {{{"API", "ftp://example"}}, {}, "API"},
      {{{"API", "telemetry-api:8080"}}, {}, "API"},
      {{{"LOG_LEVEL", "LOUD"}}, {}, "LOG_LEVEL"},
      {{}, {"--no-such-flag"}, "--no-such-flag"},
      {{}, {"--key", "abc"}, "--key-file"},
  };
  // A sink that must see no request at all.
  Sink sink;
  const std::string input = FixturePath("goflow2/sample.jsonl");
  for (const Case& c : cases) {
    auto env = c.env;
    if (!env.count("API")) env["API"] = sink.url();
    RunResult r = RunNf2ingest(c.args, env, input, seconds(20));
    EXPECT_EQ(r.exit_code, 2) << c.must_mention << ": " << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(c.must_mention), std::string::npos)
        << "message does not name " << c.must_mention << ": " << r.stderr_text;
    EXPECT_TRUE(r.summary.empty()) << "it read input: " << r.stderr_text;
  }
  EXPECT_EQ(sink.Metrics()["requests_total"], 0);
}

// Readable inputs are still delivered; any input that could not be opened or
// read makes the exit code 1 and is named in the log.
TEST(EndToEnd, InputsThatCannotBeReadAreNamedAndTheOthersDelivered) {
  const std::string dir = TempDir();  // a directory: open() works, read() fails
  const std::string missing = dir + "/no-such-input.jsonl";
  Sink sink;
  RunResult r = RunNf2ingest({missing, FixturePath("goflow2/sample.jsonl"), dir}, EnvFor(sink));
  EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_EQ(r.summary["delivered"], 45u) << r.stderr_text;
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())),
            Sorted(ReadLines(FixturePath("goflow2/sample.expected.jsonl"))));
  EXPECT_NE(r.stderr_text.find("cannot open input " + missing), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("cannot read input " + dir + ": Is a directory"), std::string::npos)
      << r.stderr_text;
}

TEST(EndToEnd, ADirectoryAloneIsAnInputError) {
  Sink sink;
  RunResult r = RunNf2ingest({TempDir()}, EnvFor(sink));
  EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
  EXPECT_EQ(r.summary["lines"], 0u) << r.stderr_text;
}

TEST(EndToEnd, LinesWrittenToAnOpenFifoArriveWithinTheFlushInterval) {
  const std::string dir = TempDir();
  const std::string fifo = dir + "/flows.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Sink sink;
  auto env = EnvFor(sink);
  env["FLUSH_INTERVAL"] = "1";
  SpawnOptions opts = Nf2ingestOptions(dir, {fifo}, env);
  Process mapper(opts);
  // Opening for writing blocks until nf2ingest has opened the FIFO to read.
  int wfd = open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(wfd, 0);
  const auto lines = ReadFixtureLines("goflow2/sample.jsonl").value_or(std::vector<std::string>{});
  ASSERT_GE(lines.size(), 3u);
  std::string three = lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n";
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(write(wfd, three.data(), three.size()), static_cast<ssize_t>(three.size()));
  // Watch the sink until the three records are there, or 2 s (FLUSH_INTERVAL
  // + 1 s) have passed, while the FIFO stays open.
  double got = 0;
  while (std::chrono::steady_clock::now() - start < seconds(2)) {
    got = sink.Metrics()["records_processed"];
    if (got >= 3) break;
    poll(nullptr, 0, 20);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(got, 3) << "after " << std::chrono::duration_cast<milliseconds>(elapsed).count()
                    << " ms";
  EXPECT_LE(elapsed, seconds(2));
  close(wfd);  // EOF: nf2ingest ends
  EXPECT_EQ(mapper.Wait(seconds(20)), 0);
  auto summary = ParseSummary(ReadFile(dir + "/stderr"));
  EXPECT_EQ(summary["lines"], 3u);
  EXPECT_EQ(summary["delivered"], 3u);
}

TEST(EndToEnd, SigtermDrainsWhatWasRead) {
  Sink sink;
  const std::string dir = TempDir();
  const std::string fifo = dir + "/flows.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto env = EnvFor(sink);
  env["FLUSH_INTERVAL"] = "30";  // only the drain can send the partial batch
  SpawnOptions opts = Nf2ingestOptions(dir, {fifo}, env);
  Process mapper(opts);
  int wfd = open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(wfd, 0);
  const auto lines = ReadFixtureLines("goflow2/sample.jsonl").value_or(std::vector<std::string>{});
  ASSERT_GE(lines.size(), 3u);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  ASSERT_EQ(write(wfd, all.data(), all.size()), static_cast<ssize_t>(all.size()));
  // Wait until nf2ingest has consumed the FIFO (nothing left unread), then stop it.
  const auto start = std::chrono::steady_clock::now();
  int unread = 1;
  while (std::chrono::steady_clock::now() - start < seconds(10)) {
    ASSERT_EQ(ioctl(wfd, FIONREAD, &unread), 0);
    if (unread == 0) break;
    poll(nullptr, 0, 10);
  }
  ASSERT_EQ(unread, 0);
  mapper.Signal(SIGTERM);
  EXPECT_EQ(mapper.Wait(seconds(20)), 0);
  close(wfd);
  const std::string log = ReadFile(dir + "/stderr");
  auto summary = ParseSummary(log);
  EXPECT_EQ(summary["lines"], 50u) << log;
  EXPECT_EQ(summary["delivered"], 45u) << log;
  EXPECT_EQ(ReadLines(sink.out_path()).size(), 45u);
}

}  // namespace
}  // namespace nf2::testing
