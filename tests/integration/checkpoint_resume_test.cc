// Resuming after a crash (--checkpoint-file) and following growing, rotated
// and truncated files (--follow), over real processes on loopback: kill -9
// at random moments loses nothing and resends no more than the bound the
// README states; rotation, copytruncate and a stop + restart while the file
// grows deliver every line exactly once; a corrupt checkpoint is a warning.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

using std::chrono::seconds;

// Lines [first, last) of `lines`, each with its newline.
std::string Join(const std::vector<std::string>& lines, size_t first, size_t last) {
  std::string out;
  for (size_t i = first; i < last; ++i) out += lines[i] + "\n";
  return out;
}

void Append(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
}

// Polls the sink until it has processed at least `n` records (true), or
// the deadline passes or `mapper` exits (false).
bool WaitForRecords(Sink& sink, double n, Process* mapper = nullptr,
                    std::chrono::seconds timeout = seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (sink.Metrics()["records_processed"] >= n) return true;
    if (mapper && mapper->Wait(std::chrono::milliseconds(0))) return false;
    poll(nullptr, 0, 20);
  }
  return false;
}

void ExpectExactlyOnce(const Sink& sink, const std::vector<std::string>& expected) {
  const auto received = ReadLines(sink.out_path());
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(Sorted(received) == Sorted(expected))
      << "received " << received.size() << " records, expected " << expected.size();
}

std::map<std::string, std::string> FollowEnv(const Sink& sink) {
  auto env = EnvFor(sink);
  env["BATCH_SIZE"] = "100";
  env["FLUSH_INTERVAL"] = "0.05";
  return env;
}

// The acked offset of the one entry of a checkpoint file (0 when none).
uint64_t CheckpointOffset(const std::string& path) {
  const auto lines = ReadLines(path);
  if (lines.size() < 3) return 0;
  return std::strtoull(lines[1].c_str(), nullptr, 10);
}

// kill -9 three times at random moments of one 200 000-line file against a
// slow API, restarting with the same checkpoint each time.
//
// The bound (README, "Resuming after a crash"): each crash resends at most
//   the lines read but not acknowledged: chunks (3 queues of QUEUE_CHUNKS,
//     one per worker, one being pushed) of at most CHUNK_BYTES / shortest
//     line lines, and batches (the batch queue of MAX_IN_FLIGHT +
//     ASSEMBLER_THREADS, MAX_IN_FLIGHT requests, one open per assembler, one
//     in the sender's hand) of BATCH_SIZE records;
//   plus the lines acknowledged after the last checkpoint write: at most the
//     API's throughput (MAX_IN_FLIGHT * BATCH_SIZE per --latency-ms) over one
//     write interval (200 ms) plus the write itself (allowed 300 ms here).
TEST(Checkpoint, KillNineThreeTimesLosesNothingAndResendsAtMostTheBound) {
  const std::string dir = TempDir();
  const uint64_t kLines = 200000;
  Corpus c = MakeCorpus(dir, "c", {"--count", std::to_string(kLines), "--seed", "17"});
  const int kLatencyMs = 50, kInFlight = 4, kBatch = 200, kQueue = 2, kChunkBytes = 65536;
  Sink sink({"--latency-ms", std::to_string(kLatencyMs)});
  auto env = EnvFor(sink);
  env["BATCH_SIZE"] = std::to_string(kBatch);
  env["MAX_IN_FLIGHT"] = std::to_string(kInFlight);
  env["QUEUE_CHUNKS"] = std::to_string(kQueue);
  env["CHUNK_BYTES"] = std::to_string(kChunkBytes);
  env["PARSER_THREADS"] = env["MAPPER_THREADS"] = env["ASSEMBLER_THREADS"] = "1";
  env["LOG_LEVEL"] = "WARN";
  const std::string ck = dir + "/checkpoint";

  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("kill moments seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> share(0.05, 0.25);
  double target = 0;
  uint64_t last_offset = 0;
  for (int kill = 0; kill < 3; ++kill) {
    target += kLines * share(rng);
    const std::string run_dir = TempDir();
    Process mapper(Nf2ingestOptions(run_dir, {"--checkpoint-file", ck, c.lines}, env));
    ASSERT_TRUE(WaitForRecords(sink, target, &mapper)) << ReadFile(run_dir + "/stderr");
    mapper.Signal(SIGKILL);
    ASSERT_EQ(mapper.Wait(seconds(10)), 128 + SIGKILL);
    const uint64_t offset = CheckpointOffset(ck);
    EXPECT_GT(offset, last_offset) << "kill " << kill << ": the checkpoint did not move";
    last_offset = offset;
  }
  RunResult r = RunNf2ingest({"--checkpoint-file", ck, c.lines}, env, "", seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  ExpectBalanced(r);
  EXPECT_LT(r.summary["lines"], kLines) << "the last run did not resume";

  // Every record at least once.
  std::map<std::string, int64_t> count;
  for (const auto& rec : ReadLines(sink.out_path())) ++count[rec];
  uint64_t missing = 0;
  for (const auto& rec : ReadLines(c.expected)) {
    if (--count[rec] < 0) ++missing;
  }
  EXPECT_EQ(missing, 0u);
  uint64_t duplicates = 0;
  for (const auto& [rec, n] : count) duplicates += n > 0 ? n : 0;

  size_t shortest = SIZE_MAX;
  for (const auto& line : ReadLines(c.lines)) shortest = std::min(shortest, line.size() + 1);
  const uint64_t chunk_lines = kChunkBytes / shortest + 1;
  const uint64_t chunks = 3 * kQueue + 3 + 1;
  const uint64_t batches = (kInFlight + 1) + kInFlight + 1 + 1;
  const uint64_t per_second = kInFlight * kBatch * 1000 / kLatencyMs;
  const uint64_t per_crash = chunks * chunk_lines + batches * kBatch + per_second * 500 / 1000;
  EXPECT_LE(duplicates, 3 * per_crash);
  std::cout << "duplicates after 3 kills: " << duplicates << " (bound " << 3 * per_crash << ")\n";
}

TEST(Checkpoint, CorruptFileIsAWarningAndEveryInputStartsAtTheTop) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "500", "--seed", "3"});
  const std::string ck = dir + "/checkpoint";
  WriteFile(ck, "nf2ingest-checkpoint 1\n12 not a valid entry\n");
  Sink sink;
  RunResult r = RunNf2ingest({"--checkpoint-file", ck, c.lines}, EnvFor(sink));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("WARN [CHECKPOINT] checkpoint file corrupt"), std::string::npos)
      << r.stderr_text;
  EXPECT_EQ(r.summary["delivered"], 500u);
  EXPECT_EQ(ReadFile(ck + ".corrupt"), "nf2ingest-checkpoint 1\n12 not a valid entry\n");
  EXPECT_NE(r.stderr_text.find("[CHECKPOINT] " + c.lines + " offset="), std::string::npos);
  // The new checkpoint is whole: a second run resumes at the end.
  RunResult again = RunNf2ingest({"--checkpoint-file", ck, c.lines}, EnvFor(sink));
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(again.summary["lines"], 0u) << again.stderr_text;
}

TEST(Checkpoint, FollowAndCheckpointNeedFileInputs) {
  Sink sink;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--follow", "-"},
        std::vector<std::string>{"--checkpoint-file", "/tmp/x", "-"},
        std::vector<std::string>{"--follow", "--generate", "100"}}) {
    RunResult r = RunNf2ingest(args, EnvFor(sink));
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("needs input files"), std::string::npos) << r.stderr_text;
  }
}

TEST(Follow, RenameRotationFinishesTheOldFileThenReadsTheNewOne) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "3000", "--seed", "31"});
  const auto lines = ReadLines(c.lines);
  const std::string path = dir + "/flows.json";
  Sink sink;
  SpawnOptions opts =
      Nf2ingestOptions(dir, {"--follow", "--checkpoint-file", dir + "/ck", path}, FollowEnv(sink));
  Process mapper(opts);  // the file does not exist yet: waited for
  ASSERT_TRUE(mapper.WaitForText(dir + "/stderr", "does not exist yet", seconds(20)));
  Append(path, Join(lines, 0, 1000));
  ASSERT_TRUE(WaitForRecords(sink, 1000, &mapper)) << ReadFile(dir + "/stderr");
  Append(path, Join(lines, 1000, 1500));
  ASSERT_TRUE(WaitForRecords(sink, 1500, &mapper));
  ASSERT_EQ(rename(path.c_str(), (path + ".1").c_str()), 0);
  Append(path + ".1", Join(lines, 1500, 2000));  // the writer has not reopened yet
  Append(path, Join(lines, 2000, 3000));         // now it has
  ASSERT_TRUE(WaitForRecords(sink, 3000, &mapper)) << ReadFile(dir + "/stderr");
  mapper.Signal(SIGTERM);
  EXPECT_EQ(mapper.Wait(seconds(30)), 0) << ReadFile(dir + "/stderr");
  EXPECT_NE(ReadFile(dir + "/stderr").find("was rotated"), std::string::npos);
  ExpectExactlyOnce(sink, ReadLines(c.expected));
}

TEST(Follow, CopytruncateRestartsAtTheTop) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "3000", "--seed", "37"});
  const auto lines = ReadLines(c.lines);
  const std::string path = dir + "/flows.json";
  Append(path, Join(lines, 0, 500));
  Sink sink;
  Process mapper(
      Nf2ingestOptions(dir, {"--follow", "--checkpoint-file", dir + "/ck", path}, FollowEnv(sink)));
  ASSERT_TRUE(WaitForRecords(sink, 500, &mapper)) << ReadFile(dir + "/stderr");
  // logrotate's copytruncate, then the writer goes on at once: the new
  // content outgrows the old before the follower looks (it is stopped
  // meanwhile, so that it cannot look earlier): only the changed first bytes
  // tell.
  mapper.Signal(SIGSTOP);
  WriteFile(path + ".1", ReadFile(path));
  ASSERT_EQ(truncate(path.c_str(), 0), 0);
  Append(path, Join(lines, 500, 2500));
  mapper.Signal(SIGCONT);
  ASSERT_TRUE(WaitForRecords(sink, 2500, &mapper)) << ReadFile(dir + "/stderr");
  Append(path, Join(lines, 2500, 3000));
  ASSERT_TRUE(WaitForRecords(sink, 3000, &mapper)) << ReadFile(dir + "/stderr");
  mapper.Signal(SIGTERM);
  EXPECT_EQ(mapper.Wait(seconds(30)), 0) << ReadFile(dir + "/stderr");
  EXPECT_NE(ReadFile(dir + "/stderr").find("was truncated"), std::string::npos);
  ExpectExactlyOnce(sink, ReadLines(c.expected));
}

// Appends the lines a few at a time, paced (a writer at work, not a
// synchronisation); the lines from `hold_at` on wait until Release(), so a
// test can be sure the file still grows after a moment of its choosing.
class GrowingFile {
 public:
  GrowingFile(std::string path, std::vector<std::string> lines, size_t hold_at)
      : path_(std::move(path)), lines_(std::move(lines)), hold_at_(hold_at) {
    thread_ = std::thread([this] { Write(); });
  }
  ~GrowingFile() {
    Release();
    thread_.join();
  }
  GrowingFile(const GrowingFile&) = delete;
  GrowingFile& operator=(const GrowingFile&) = delete;
  void Release() {
    if (!released_) {
      released_ = true;
      release_.set_value();
    }
  }

 private:
  void Write() {
    auto go_on = release_.get_future();
    for (size_t i = 0; i < lines_.size(); i += 7) {
      if (i >= hold_at_) go_on.wait();  // returns at once once released
      Append(path_, Join(lines_, i, std::min(lines_.size(), i + 7)));
      poll(nullptr, 0, 1);
    }
  }
  std::string path_;
  std::vector<std::string> lines_;
  size_t hold_at_;
  bool released_ = false;
  std::promise<void> release_;
  std::thread thread_;
};

TEST(Follow, StopAndRestartWhileTheFileGrowsReadsEveryLineOnce) {
  const std::string dir = TempDir();
  Corpus c = MakeCorpus(dir, "c", {"--count", "4000", "--seed", "41"});
  const auto lines = ReadLines(c.lines);
  const std::string path = dir + "/flows.json";
  const std::string ck = dir + "/ck";
  Append(path, Join(lines, 0, 300));
  Sink sink;
  {
    // Lines 300.. are written while the first run reads; from 3000 on only
    // after it has stopped, on into the second run.
    GrowingFile writer(path, std::vector<std::string>(lines.begin() + 300, lines.end()),
                       3000 - 300);
    const std::string first = TempDir();
    Process a(
        Nf2ingestOptions(first, {"--follow", "--checkpoint-file", ck, path}, FollowEnv(sink)));
    ASSERT_TRUE(WaitForRecords(sink, 800, &a)) << ReadFile(first + "/stderr");
    a.Signal(SIGTERM);
    ASSERT_EQ(a.Wait(seconds(30)), 0) << ReadFile(first + "/stderr");
    EXPECT_LE(sink.Metrics()["records_processed"], 3000 + 7);
    writer.Release();
    const std::string second = TempDir();
    Process b(
        Nf2ingestOptions(second, {"--follow", "--checkpoint-file", ck, path}, FollowEnv(sink)));
    ASSERT_TRUE(WaitForRecords(sink, 4000, &b)) << ReadFile(second + "/stderr");
    EXPECT_NE(ReadFile(second + "/stderr").find("resuming at byte"), std::string::npos);
    b.Signal(SIGTERM);
    ASSERT_EQ(b.Wait(seconds(30)), 0) << ReadFile(second + "/stderr");
  }
  ExpectExactlyOnce(sink, ReadLines(c.expected));
}

}  // namespace
}  // namespace nf2::testing
