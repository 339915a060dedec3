// The Kafka input against librdkafka's mock cluster (bin/kafka-mock, real
// protocol over loopback) and real nf2ingest processes: one member delivers
// everything; three members share the partitions; kill -9 of a member and a
// replacement joining lose nothing and deliver again no more than the bound
// the README states; SIGTERM then restart delivers nothing twice; a poisoned
// message is one invalid outcome and its offset is committed; with the API
// down the lag grows and nothing is committed; a member paused when the group
// rebalances fetches again; --kafka-start latest skips the backlog; protobuf
// end to end; brokers that cannot be reached are a warning, a setting
// librdkafka refuses exit 2.
//
// Every produced message is identifiable (its `bytes` counter, or the whole
// record), so duplicates are counted, not guessed. Rebalances on the mock are
// held for session.timeout.ms - 1 s: every member runs with 6 s sessions.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// A mock cluster with one topic; produces files on command.
class KafkaMock {
 public:
  explicit KafkaMock(int partitions, bool protobuf = false) {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    control_ = fds[1];
    SpawnOptions o;
    o.argv = {BinPath("kafka-mock"), "--partitions", std::to_string(partitions)};
    if (protobuf) o.argv.emplace_back("--protobuf");
    o.stdin_fd = fds[0];
    process_ = std::make_unique<Process>(o);
    close(fds[0]);
    const auto line = process_->ReadStdoutLine(seconds(20));
    EXPECT_TRUE(line && line->rfind("BOOTSTRAP ", 0) == 0) << line.value_or("(nothing)");
    if (line) bootstrap_ = line->substr(10);
  }
  ~KafkaMock() { close(control_); }
  KafkaMock(const KafkaMock&) = delete;
  KafkaMock& operator=(const KafkaMock&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

  // Produces every line of `path`; returns the messages produced so far.
  uint64_t Produce(const std::string& path) {
    const std::string cmd = "produce " + path + "\n";
    EXPECT_EQ(write(control_, cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
    const auto line = process_->ReadStdoutLine(seconds(60));
    EXPECT_TRUE(line && line->find("errors=0") != std::string::npos) << line.value_or("(none)");
    return line ? std::strtoull(line->c_str() + 9, nullptr, 10) : 0;
  }

 private:
  int control_ = -1;
  std::unique_ptr<Process> process_;
  std::string bootstrap_;
};

// A goflow2 line whose record is recognisable by its `bytes` value.
std::string MessageLine(uint64_t id) {
  return "{\"type\":\"NETFLOW_V5\",\"time_flow_start_ns\":1755245595000000000,\"bytes\":" +
         std::to_string(id) +
         ",\"packets\":1,\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"proto\":\"TCP\","
         "\"src_port\":1,\"dst_port\":2}";
}

// Writes messages [first, first + count) to a file; returns its path.
std::string MessageFile(const std::string& dir, uint64_t first, uint64_t count) {
  std::string text;
  for (uint64_t id = first; id < first + count; ++id) text += MessageLine(id) + "\n";
  std::string path = dir + "/msgs-" + std::to_string(first) + ".jsonl";
  WriteFile(path, text);
  return path;
}

// How many times the sink received each `bytes` id.
std::map<uint64_t, int> ReceivedIds(const Sink& sink) {
  static const std::regex kBytes("\"bytes\":([0-9]+)");
  std::map<uint64_t, int> ids;
  for (const auto& line : ReadLines(sink.out_path())) {
    std::smatch m;
    if (std::regex_search(line, m, kBytes)) ++ids[std::stoull(m[1])];
  }
  return ids;
}

struct Delivery {
  uint64_t unique = 0;
  uint64_t duplicates = 0;
  bool complete = false;  // every id in [1, n] at least once
};

Delivery Count(const Sink& sink, uint64_t n) {
  Delivery d;
  const auto ids = ReceivedIds(sink);
  for (const auto& [id, times] : ids) {
    if (id >= 1 && id <= n) ++d.unique;
    d.duplicates += static_cast<uint64_t>(times - 1);
  }
  d.complete = d.unique == n;
  return d;
}

// Polls (bounded) until the sink has every id in [1, n], or `at_least`
// records when given.
bool WaitForIds(const Sink& sink, uint64_t n, seconds timeout = seconds(90)) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (Count(sink, n).complete) return true;
    poll(nullptr, 0, 50);
  }
  return false;
}

bool WaitForRecordLines(const Sink& sink, size_t n, seconds timeout = seconds(60)) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (ReadLines(sink.out_path()).size() >= n) return true;
    poll(nullptr, 0, 20);
  }
  return false;
}

// One nf2ingest member of the group, logging to its own directory.
class Member {
 public:
  Member(const KafkaMock& kafka, const Sink& sink, std::vector<std::string> extra = {})
      : Member(kafka, EnvFor(sink), std::move(extra)) {}
  Member(const KafkaMock& kafka, const std::map<std::string, std::string>& env,
         std::vector<std::string> extra)
      : dir_(TempDir()) {
    std::vector<std::string> args = {"--kafka-brokers",  kafka.bootstrap(),
                                     "--kafka-option",   "session.timeout.ms=6000",
                                     "--kafka-option",   "heartbeat.interval.ms=500",
                                     "--stats-interval", "0",
                                     "--flush-interval", "0.2"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Process>(Nf2ingestOptions(dir_, args, env));
  }

  Process& process() { return *process_; }
  std::string stderr_path() const { return dir_ + "/stderr"; }
  std::string log() const { return ReadFile(stderr_path()); }
  bool WaitAssigned(seconds timeout = seconds(30)) {
    return process_->WaitForText(stderr_path(), "[KAFKA] assigned partitions", timeout);
  }

  // SIGTERM and the exit code (nullopt if it did not end in time).
  std::optional<int> Stop(seconds timeout = seconds(40)) {
    process_->Signal(SIGTERM);
    return process_->Wait(timeout);
  }

  std::map<std::string, uint64_t> Summary() const { return ParseSummary(log()); }

  // From the [KAFKA] line: committed offsets by partition.
  std::map<int, int64_t> Committed() const {
    std::map<int, int64_t> out;
    std::smatch m;
    const std::string text = log();
    static const std::regex kLine("committed=\\{([^}]*)\\}");
    if (!std::regex_search(text, m, kLine)) return out;
    static const std::regex kEntry("([0-9]+):([0-9]+)");
    const std::string entries = m[1];
    for (std::sregex_iterator it(entries.begin(), entries.end(), kEntry), end; it != end; ++it) {
      out[std::stoi((*it)[1])] = std::stoll((*it)[2]);
    }
    return out;
  }

  uint64_t Revokes() const {
    std::smatch m;
    const std::string text = log();
    static const std::regex kRevoke("revoke:([0-9]+)");
    return std::regex_search(text, m, kRevoke) ? std::stoull(m[1]) : 0;
  }

 private:
  std::string dir_;
  std::unique_ptr<Process> process_;
};

int64_t Sum(const std::map<int, int64_t>& offsets) {
  int64_t total = 0;
  for (const auto& [_, o] : offsets) total += o;
  return total;
}

TEST(Kafka, OneMemberDeliversEveryMessageAndCommitsTheEnd) {
  const std::string dir = TempDir();
  KafkaMock kafka(4);
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1, 2000)), 2000u);
  Sink sink;
  Member member(kafka, sink);
  ASSERT_TRUE(WaitForIds(sink, 2000)) << member.log();
  ASSERT_EQ(member.Stop(), 0) << member.log();
  const Delivery d = Count(sink, 2000);
  EXPECT_EQ(d.duplicates, 0u);
  const auto s = member.Summary();
  EXPECT_EQ(s.at("lines"), 2000u);
  EXPECT_EQ(s.at("delivered"), 2000u);
  const auto committed = member.Committed();
  EXPECT_EQ(committed.size(), 4u) << member.log();
  EXPECT_EQ(Sum(committed), 2000) << member.log();  // 500 per partition, round robin
}

TEST(Kafka, ThreeMembersShareThePartitions) {
  const std::string dir = TempDir();
  KafkaMock kafka(6);
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1, 1500)), 1500u);
  Sink sink;
  std::vector<std::unique_ptr<Member>> members;
  members.reserve(3);
  for (int i = 0; i < 3; ++i) members.push_back(std::make_unique<Member>(kafka, sink));
  for (auto& m : members) ASSERT_TRUE(m->WaitAssigned()) << m->log();
  // Once the last one is in, the group settles with everyone owning some.
  ASSERT_TRUE(WaitForIds(sink, 1500));
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1501, 1500)), 3000u);
  ASSERT_TRUE(WaitForIds(sink, 3000));
  uint64_t delivered = 0;
  int members_that_delivered = 0;
  for (auto& m : members) {
    ASSERT_EQ(m->Stop(), 0) << m->log();
    const uint64_t n = m->Summary().at("delivered");
    delivered += n;
    members_that_delivered += n > 0 ? 1 : 0;
  }
  EXPECT_GE(delivered, 3000u);
  EXPECT_GE(members_that_delivered, 2) << "the partitions were not shared";
}

// The bound the README states: each time a member loses partitions without
// a successful commit of what it delivered (killed, or revoked while the
// coordinator refuses commits), at most --kafka-max-uncommitted of its
// messages are delivered again by their next owner.
TEST(Kafka, KillNineAndAReplacementLoseNothingAndRepeatAtMostTheBound) {
  const std::string dir = TempDir();
  constexpr uint64_t kTotal = 6000;
  constexpr uint64_t kMaxUncommitted = 300;
  KafkaMock kafka(4);
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1, kTotal)), kTotal);
  // A slow API keeps the members mid-stream for a few seconds.
  Sink sink({"--latency-ms", "40"});
  const std::vector<std::string> slow = {"--batch-size",
                                         "50",
                                         "--max-in-flight",
                                         "2",
                                         "--kafka-max-uncommitted",
                                         std::to_string(kMaxUncommitted)};
  auto a = std::make_unique<Member>(kafka, sink, slow);
  Member b(kafka, sink, slow);
  ASSERT_TRUE(a->WaitAssigned());
  ASSERT_TRUE(b.WaitAssigned());
  ASSERT_TRUE(WaitForRecordLines(sink, 1500)) << a->log();
  ASSERT_FALSE(a->process().Wait(milliseconds(0))) << "killed a member that had already ended";
  a->process().Signal(SIGKILL);
  ASSERT_TRUE(a->process().Wait(seconds(10)));
  Member c(kafka, sink, slow);
  ASSERT_TRUE(WaitForIds(sink, kTotal, seconds(120))) << b.log() << c.log();
  ASSERT_EQ(b.Stop(), 0) << b.log();
  ASSERT_EQ(c.Stop(), 0) << c.log();
  const Delivery d = Count(sink, kTotal);
  const uint64_t events = 1 + b.Revokes() + c.Revokes();
  EXPECT_LE(d.duplicates, kMaxUncommitted * events) << "events=" << events << "\n"
                                                    << b.log() << c.log();
  std::cerr << "duplicates=" << d.duplicates << " events=" << events << "\n";
}

TEST(Kafka, SigtermThenRestartDeliversNothingTwice) {
  const std::string dir = TempDir();
  constexpr uint64_t kTotal = 4000;
  KafkaMock kafka(4);
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1, kTotal)), kTotal);
  Sink sink({"--latency-ms", "40"});
  const std::vector<std::string> slow = {
      "--batch-size", "50", "--max-in-flight", "2", "--kafka-max-uncommitted", "300"};
  {
    Member first(kafka, sink, slow);
    ASSERT_TRUE(WaitForRecordLines(sink, 1000)) << first.log();
    ASSERT_EQ(first.Stop(), 0) << first.log();
    EXPECT_LT(first.Summary().at("delivered"), kTotal) << "stopped too late to test a restart";
    EXPECT_EQ(Sum(first.Committed()), static_cast<int64_t>(first.Summary().at("delivered")))
        << first.log();
  }
  Member second(kafka, sink, slow);
  ASSERT_TRUE(second.WaitAssigned()) << second.log();
  ASSERT_TRUE(WaitForIds(sink, kTotal)) << second.log();
  ASSERT_EQ(second.Stop(), 0) << second.log();
  EXPECT_EQ(Count(sink, kTotal).duplicates, 0u);
}

TEST(Kafka, PoisonedMessageIsOneInvalidAndItsOffsetIsCommitted) {
  const std::string dir = TempDir();
  std::string text;
  for (uint64_t id = 1; id <= 500; ++id) {
    text += (id == 250 ? std::string("not json {\"bytes\":250") : MessageLine(id)) + "\n";
  }
  WriteFile(dir + "/poisoned.jsonl", text);
  KafkaMock kafka(1);
  ASSERT_EQ(kafka.Produce(dir + "/poisoned.jsonl"), 500u);
  Sink sink;
  Member member(kafka, sink);
  ASSERT_TRUE(WaitForRecordLines(sink, 499)) << member.log();
  ASSERT_EQ(member.Stop(), 0) << member.log();
  const auto s = member.Summary();
  EXPECT_EQ(s.at("invalid"), 1u);
  EXPECT_EQ(s.at("delivered"), 499u);
  EXPECT_EQ(member.Committed(), (std::map<int, int64_t>{{0, 500}})) << member.log();
  EXPECT_EQ(Count(sink, 500).unique, 499u);
}

// The sum of a metric's series on /metrics.
double MetricSum(int port, const std::string& name) {
  const auto [status, body] = HttpGet("http://127.0.0.1:" + std::to_string(port) + "/metrics", "");
  if (status != 200) return -1;
  double sum = 0;
  const std::regex line("^" + name + "(\\{[^}]*\\})? ([0-9.e+]+)$", std::regex::multiline);
  for (std::sregex_iterator it(body.begin(), body.end(), line), end; it != end; ++it) {
    sum += std::stod((*it)[2]);
  }
  return sum;
}

// Environment for a member whose API (at `port`) is not up yet: quick retries.
std::map<std::string, std::string> DownApiEnv(int port) {
  return {{"API", "http://127.0.0.1:" + std::to_string(port)},
          {"KEY", "TEST_KEY"},
          {"RETRY_INITIAL", "0.05"},
          {"RETRY_MAX", "0.3"}};
}

bool WaitForMetric(int port, const std::string& name, double value, seconds timeout,
                   bool at_least = false) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    const double now = MetricSum(port, name);
    if (now == value || (at_least && now > value)) return true;
    poll(nullptr, 0, 50);
  }
  return false;
}

TEST(Kafka, ApiDownLagGrowsAndNothingIsCommittedPastDelivery) {
  const std::string dir = TempDir();
  KafkaMock kafka(4);
  const HeldPort api;  // the API is down until the sink starts on it
  const int api_port = api.port();
  const HeldPort metrics;  // the member's metrics server binds it with SO_REUSEADDR
  const int metrics_port = metrics.port();
  const auto env = DownApiEnv(api_port);
  Member member(kafka, env, {"--metrics-addr", "127.0.0.1:" + std::to_string(metrics_port)});
  ASSERT_TRUE(member.WaitAssigned()) << member.log();
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1, 1000)), 1000u);
  ASSERT_TRUE(WaitForMetric(metrics_port, "nf2ingest_kafka_consumer_lag", 1000, seconds(20)))
      << member.log();
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1001, 1000)), 2000u);
  ASSERT_TRUE(WaitForMetric(metrics_port, "nf2ingest_kafka_consumer_lag", 2000, seconds(20)))
      << member.log();
  EXPECT_EQ(MetricSum(metrics_port, "nf2ingest_kafka_committed_offset"), 0) << member.log();
  Sink sink({"--port", std::to_string(api_port)});  // the API comes up
  ASSERT_TRUE(WaitForIds(sink, 2000)) << member.log();
  EXPECT_TRUE(WaitForMetric(metrics_port, "nf2ingest_kafka_committed_offset", 2000, seconds(10)));
  EXPECT_TRUE(WaitForMetric(metrics_port, "nf2ingest_kafka_consumer_lag", 0, seconds(10)));
  ASSERT_EQ(member.Stop(), 0) << member.log();
}

// librdkafka keeps a partition paused across a revoke and a re-assignment:
// a member that had paused fetching (its pipeline full, here because the API
// is down) when a second member joined must fetch the partitions it gets
// back, or they stall for good.
TEST(Kafka, MemberPausedDuringARebalanceFetchesItsPartitionsAgain) {
  const std::string dir = TempDir();
  constexpr uint64_t kTotal = 2000;
  KafkaMock kafka(4);
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1, kTotal)), kTotal);
  const HeldPort api;  // the API is down until the sink starts on it
  const int api_port = api.port();
  const HeldPort metrics;  // the member's metrics server binds it with SO_REUSEADDR
  const int metrics_port = metrics.port();
  const auto env = DownApiEnv(api_port);
  const std::vector<std::string> small = {"--kafka-max-uncommitted", "200",
                                          "--kafka-revoke-timeout", "1"};
  std::vector<std::string> first_args = small;
  first_args.insert(first_args.end(),
                    {"--metrics-addr", "127.0.0.1:" + std::to_string(metrics_port)});
  Member first(kafka, env, first_args);
  ASSERT_TRUE(first.WaitAssigned()) << first.log();
  ASSERT_TRUE(WaitForMetric(metrics_port, "nf2ingest_kafka_fetch_paused", 1, seconds(30)))
      << first.log();
  Member second(kafka, env, small);
  ASSERT_TRUE(second.WaitAssigned()) << second.log();
  ASSERT_TRUE(WaitForMetric(metrics_port, "nf2ingest_kafka_rebalances_total", 3, seconds(30),
                            /*at_least=*/true))
      << "the first member did not take part in a second assignment\n"
      << first.log();
  Sink sink({"--port", std::to_string(api_port)});  // the API comes up
  ASSERT_TRUE(WaitForIds(sink, kTotal, seconds(60))) << first.log() << second.log();
  ASSERT_EQ(first.Stop(), 0) << first.log();
  ASSERT_EQ(second.Stop(), 0) << second.log();
  EXPECT_GT(first.Summary().at("delivered"), 0u) << first.log();
  EXPECT_GT(second.Summary().at("delivered"), 0u) << second.log();
}

// A new group with --kafka-start latest skips what the topic held before
// it joined. When exactly its start offsets are looked up is librdkafka's
// business, so messages are produced in small rounds until one arrives; the
// messages from before the start must never arrive, the last round must.
TEST(Kafka, StartLatestSkipsWhatWasThereBefore) {
  const std::string dir = TempDir();
  constexpr uint64_t kBefore = 500;
  constexpr uint64_t kRound = 100;
  KafkaMock kafka(2);
  ASSERT_EQ(kafka.Produce(MessageFile(dir, 1, kBefore)), kBefore);
  Sink sink;
  Member member(kafka, sink, {"--kafka-start", "latest"});
  ASSERT_TRUE(member.WaitAssigned()) << member.log();
  uint64_t produced = kBefore;
  bool arrived = false;
  for (int round = 0; round < 10 && !arrived; ++round) {
    produced = kafka.Produce(MessageFile(dir, produced + 1, kRound));
    arrived = WaitForRecordLines(sink, 1, seconds(3));
  }
  ASSERT_TRUE(arrived) << member.log();
  const uint64_t last_first = produced + 1;
  ASSERT_EQ(kafka.Produce(MessageFile(dir, last_first, kRound)), produced + kRound);
  const auto last_round_arrived = [&] {
    const auto ids = ReceivedIds(sink);
    for (uint64_t id = last_first; id < last_first + kRound; ++id) {
      if (ids.count(id) == 0) return false;
    }
    return true;
  };
  const auto deadline = Clock::now() + seconds(30);
  while (!last_round_arrived() && Clock::now() < deadline) poll(nullptr, 0, 50);
  ASSERT_TRUE(last_round_arrived()) << member.log();
  ASSERT_EQ(member.Stop(), 0) << member.log();
  const auto ids = ReceivedIds(sink);
  ASSERT_FALSE(ids.empty());
  EXPECT_GT(ids.begin()->first, kBefore) << "a message produced before the group started arrived";
}

TEST(Kafka, ProtobufMessagesBecomeTheRecordsOfTheirJsonLines) {
  const std::string dir = TempDir();
  const Corpus corpus = MakeCorpus(dir, "flows", {"--count", "3000", "--seed", "11"});
  KafkaMock kafka(3, /*protobuf=*/true);
  ASSERT_EQ(kafka.Produce(corpus.lines), 3000u);
  Sink sink;
  Member member(kafka, sink, {"--kafka-format", "protobuf"});
  const auto expected = ReadLines(corpus.expected);
  ASSERT_TRUE(WaitForRecordLines(sink, expected.size())) << member.log();
  ASSERT_EQ(member.Stop(), 0) << member.log();
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(expected));
  const auto s = member.Summary();
  EXPECT_EQ(s.at("lines"), 3000u);
  EXPECT_EQ(s.at("delivered"), FlowgenCount(corpus.stats, "valid"));
  EXPECT_EQ(Sum(member.Committed()), 3000);
}

TEST(Kafka, BrokersDownAreAWarningNotAnExit) {
  Sink sink;
  const HeldPort nobody;
  const std::string brokers = "127.0.0.1:" + std::to_string(nobody.port());
  const std::string dir = TempDir();
  Process member(
      Nf2ingestOptions(dir, {"--kafka-brokers", brokers, "--stats-interval", "0"}, EnvFor(sink)));
  ASSERT_TRUE(member.WaitForText(dir + "/stderr", "[KAFKA] consumer error", seconds(30)))
      << ReadFile(dir + "/stderr");
  EXPECT_FALSE(member.Wait(milliseconds(0))) << "ended while the brokers were down";
  member.Signal(SIGTERM);
  EXPECT_EQ(member.Wait(seconds(30)), 0) << ReadFile(dir + "/stderr");
}

TEST(Kafka, BadKafkaSettingsExitTwoNamingTheSetting) {
  const std::string dir = TempDir();
  Sink sink;
  auto env = EnvFor(sink);
  auto run = [&](const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& e) {
    return RunNf2ingest(args, e, "", seconds(20));
  };
  RunResult r =
      run({"--kafka-brokers", "127.0.0.1:9", "--kafka-option", "fetch.wait.max.ms=x"}, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("fetch.wait.max.ms"), std::string::npos) << r.stderr_text;
  r = run({"--kafka-brokers", "127.0.0.1:9", "--kafka-option", "sasl.password=hunter2"}, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.stderr_text.find("hunter2"), std::string::npos) << r.stderr_text;
  auto secret_env = env;
  secret_env["KAFKA_OPTIONS"] = "sasl.password=hunter2,no.such.key=1";
  r = run({"--kafka-brokers", "127.0.0.1:9"}, secret_env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("no.such.key"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.find("hunter2"), std::string::npos) << r.stderr_text;
  r = run({"--kafka-brokers", "127.0.0.1:9", "--generate", "100"}, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("--generate"), std::string::npos) << r.stderr_text;
  r = run({"--kafka-brokers", "127.0.0.1:9", dir + "/input.jsonl"}, env);
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace nf2::testing
