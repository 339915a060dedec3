// HttpSender in process, on its own thread, as IngestPipeline runs it: a test
// thread plays the assembler (a BatchEncoder feeding a small BoundedQueue),
// the sender drains it against a real ingest-sink on loopback. Every test
// checks the ledger (lines = delivered + ... + undelivered) and, where records
// arrive, that the sink got each one exactly once. Meant to run under
// ThreadSanitizer too (NF2_TSAN; scripts/ci-hardening.sh): the feeder, the
// sender and the test thread share the queue, Outcomes, Shutdown and stats().
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/log.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "stages/encode/batch.h"
#include "stages/encode/gzip.h"
#include "stages/flows/flow_record.h"
#include "stages/flows/flow_record_json.h"
#include "stages/sinks/http/http_sender.h"
#include "stages/sinks/http/spool.h"
#include "tests/support/test_util.h"

namespace nf2 {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ReadLines;
using testing::Sink;

// Generous: TSan slows everything (sink included) down several times.
constexpr auto kHang = seconds(90);

void SetIp(IpText* ip, const std::string& text) {
  std::snprintf(ip->text, sizeof ip->text, "%s", text.c_str());
  ip->size = static_cast<uint8_t>(text.size());
}

// A distinct, valid flows.v1 record for each `i`.
std::string RecordJson(uint64_t i) {
  FlowRecord r;
  r.ts = 1755636366 + i;
  r.bytes = 1000 + i;
  r.packets = 1 + i % 7;
  r.src_port = static_cast<uint16_t>(1024 + i % 60000);
  r.dst_port = 443;
  r.proto = 6;
  r.ingress_if = static_cast<uint32_t>(i % 3);
  r.egress_if = 7;
  SetIp(&r.src_ip, "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) +
                       "." + std::to_string(i % 256));
  SetIp(&r.dst_ip, "2001:db8::" + std::to_string(i % 9999 + 1));
  std::string out;
  AppendFlowRecordJson(r, &out);
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

struct SenderSetup {
  std::string api;
  std::vector<size_t> batch_sizes;  // records per batch, in the order fed
  size_t queue_capacity = 2;
  int max_in_flight = 4;
  BatchLimits limits;  // of the feeder's and the splitter's encoders
  std::chrono::steady_clock::duration drain_timeout = seconds(60);
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration retry_initial = absl::Milliseconds(10);
  absl::Duration retry_max = absl::Milliseconds(100);
  // Mark the input finished before feeding (the source read everything and
  // the batches are still on their way), not after.
  bool finish_input_first = false;
  // Called on the test thread while the sender runs (e.g. stop requests).
  std::function<void(pipeline::Shutdown&)> meanwhile;
  // Last word on the sender's options (stores, key, retry_after_max, ...).
  std::function<void(SenderOptions&)> configure;
  // The ledger the sender counts in; null: one local to the run.
  pipeline::MetricsRegistry* metrics = nullptr;
};

struct Result {
  pipeline::OutcomeSnapshot outcomes;
  SenderStats stats;
  std::vector<std::string> sent;  // every record fed, as JSON
  std::chrono::steady_clock::duration run_time{};
  std::chrono::steady_clock::duration after_input_finished{};  // until Run returned
};

// Runs one HttpSender against `s.api` with the batches of `s` fed from a
// second thread, the way IngestPipeline wires them.
Result RunSender(const SenderSetup& s) {
  Result result;
  pipeline::Outcomes outcomes;
  pipeline::Shutdown shutdown(s.drain_timeout);
  std::atomic<uint64_t> next_id{1};
  BatchEncoder splitter(s.limits, "sender-test", MakeGzipCompressor(GzipImpl::kLibdeflate, 1),
                        &next_id);
  pipeline::BoundedQueue<Batch> queue(s.queue_capacity);

  SenderOptions options;
  options.ingest_url = s.api + "/v1/ingest";
  options.key = "TEST_KEY";
  options.run_id = "sendertest";
  options.max_in_flight = s.max_in_flight;
  options.timeout = absl::Seconds(30);
  options.connect_timeout = s.connect_timeout;
  options.retry_initial = s.retry_initial;
  options.retry_max = s.retry_max;
  pipeline::MetricsRegistry local_metrics;
  options.metrics = s.metrics ? s.metrics : &local_metrics;
  if (s.configure) s.configure(options);

  std::vector<std::string> records;
  uint64_t n = 0;
  for (size_t size : s.batch_sizes) {
    for (size_t i = 0; i < size; ++i) records.push_back(RecordJson(n++));
  }
  result.sent = records;

  std::chrono::steady_clock::time_point input_finished_at;
  HttpSender sender(options, &queue, &splitter, &outcomes, &shutdown);
  queue.SetOnPush([&sender] { sender.Wake(); });
  const auto start = std::chrono::steady_clock::now();
  auto run = std::async(std::launch::async, [&] {
    sender.Run();
    return std::chrono::steady_clock::now();
  });
  std::thread feeder([&] {
    // The assembler's side: its own encoder, the shared id counter.
    BatchEncoder encoder(s.limits, "sender-test", MakeGzipCompressor(GzipImpl::kLibdeflate, 1),
                         &next_id);
    if (s.finish_input_first) {
      outcomes.AddLines(records.size());
      input_finished_at = std::chrono::steady_clock::now();
      shutdown.MarkInputFinished();
    }
    size_t next = 0;
    for (size_t size : s.batch_sizes) {
      if (!s.finish_input_first) outcomes.AddLines(size);
      std::unique_ptr<Batch> batch = encoder.Begin();
      for (size_t i = 0; i < size; ++i) encoder.Append(batch.get(), records[next++]);
      std::vector<std::unique_ptr<Batch>> sealed;
      encoder.Seal(std::move(batch), &sealed);
      for (auto& b : sealed) queue.Push(std::move(b));
    }
    if (!s.finish_input_first) {
      input_finished_at = std::chrono::steady_clock::now();
      shutdown.MarkInputFinished();
    }
    queue.Close(1);
  });
  if (s.meanwhile) s.meanwhile(shutdown);
  // Read the live stats while the sender runs (they are shared with it).
  uint64_t last_requests = 0;
  while (run.wait_for(milliseconds(20)) != std::future_status::ready) {
    const SenderStats live = sender.stats();
    EXPECT_GE(live.requests, last_requests);
    last_requests = live.requests;
    if (std::chrono::steady_clock::now() - start > kHang) {
      ADD_FAILURE() << "HttpSender::Run did not return within " << kHang.count() << " s";
      std::fflush(nullptr);
      std::abort();  // the sender thread is stuck; joining would hang
    }
  }
  const auto ended = run.get();
  feeder.join();
  result.run_time = ended - start;
  result.after_input_finished = ended - input_finished_at;
  result.outcomes = outcomes.Snapshot();
  result.stats = sender.stats();
  EXPECT_TRUE(result.outcomes.Balanced()) << result.outcomes.ToString();
  EXPECT_EQ(result.outcomes.lines_read, records.size());
  return result;
}

uint64_t Status(const SenderStats& s, long code) {
  auto it = s.by_status.find(code);
  return it == s.by_status.end() ? 0 : it->second;
}

std::vector<size_t> Repeat(size_t size, size_t times) { return std::vector<size_t>(times, size); }

class SenderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SetLogLevel(LogLevel::kWarn);  // one line per sent batch is noise here
  }
};

TEST_F(SenderTest, DeliversEveryRecordExactlyOnce) {
  Sink sink;
  SenderSetup s;
  s.api = sink.url();
  // Sizes from 1 to 97 records; bodies above 4000 bytes are gzipped, so
  // plain and gzipped requests both go out.
  for (size_t i = 0; i < 24; ++i) s.batch_sizes.push_back(1 + (i * 37) % 97);
  s.limits.gzip_threshold = 4000;
  s.queue_capacity = 2;  // the feeder waits for the sender most of the time
  s.max_in_flight = 3;
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.delivered, r.sent.size()) << r.outcomes.ToString();
  EXPECT_EQ(r.outcomes.undelivered + r.outcomes.rejected, 0u);
  EXPECT_EQ(r.stats.requests, s.batch_sizes.size());
  EXPECT_EQ(Status(r.stats, 202), s.batch_sizes.size());
  EXPECT_EQ(r.stats.retries, 0u);
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(r.sent));
  EXPECT_EQ(sink.Metrics()["records_processed"], static_cast<double>(r.sent.size()));
}

TEST_F(SenderTest, RetriesThrough503And500) {
  Sink sink({"--script", "503,500", "--retry-after", "0"});
  SenderSetup s;
  s.api = sink.url();
  s.batch_sizes = Repeat(50, 4);
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.delivered, 200u) << r.outcomes.ToString();
  EXPECT_EQ(Status(r.stats, 503), 1u);
  EXPECT_EQ(Status(r.stats, 500), 1u);
  EXPECT_EQ(Status(r.stats, 202), 4u);
  EXPECT_EQ(r.stats.retries, 2u);
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(r.sent)) << "lost or duplicated records";
}

TEST_F(SenderTest, RetryAfterOn503IsHonoured) {
  Sink sink({"--script", "503", "--retry-after", "1"});
  SenderSetup s;
  s.api = sink.url();
  s.batch_sizes = {20};
  s.retry_max = absl::Milliseconds(20);  // backoff alone would retry far sooner
  s.configure = [](SenderOptions& o) { o.retry_after_max = absl::Seconds(5); };
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.delivered, 20u) << r.outcomes.ToString();
  EXPECT_EQ(Status(r.stats, 503), 1u);
  EXPECT_GE(r.run_time, milliseconds(900)) << "Retry-After: 1 was not waited for";
}

TEST_F(SenderTest, SplitsABatchTheApiFindsTooLarge) {
  Sink sink({"--max-records", "10"});
  SenderSetup s;
  s.api = sink.url();
  s.batch_sizes = {100};  // our limit is 10000: only the API's 413 splits it
  s.limits.gzip_threshold = 2000;
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.delivered, 100u) << r.outcomes.ToString();
  EXPECT_EQ(r.outcomes.rejected, 0u);
  // 100 -> 2x50 -> 4x25 -> 8x12..13 -> 16x6..7: 15 refusals, 16 deliveries.
  EXPECT_EQ(r.stats.splits, 15u);
  EXPECT_EQ(Status(r.stats, 413), 15u);
  EXPECT_EQ(Status(r.stats, 202), 16u);
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(r.sent)) << "lost or duplicated records";
}

TEST_F(SenderTest, A400IsRejectedAndNotRetried) {
  Sink sink({"--script", "400"});
  SenderSetup s;
  s.api = sink.url();
  s.batch_sizes = {25, 25};  // whichever arrives first is refused
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.rejected, 25u) << r.outcomes.ToString();
  EXPECT_EQ(r.outcomes.delivered, 25u);
  EXPECT_EQ(Status(r.stats, 400), 1u);
  EXPECT_EQ(r.stats.retries, 0u);
  EXPECT_EQ(r.stats.requests, 2u);
  const std::vector<std::string> got = ReadLines(sink.out_path());
  EXPECT_EQ(got.size(), 25u);
  const std::vector<std::string> sent = Sorted(r.sent);
  for (const auto& line : got) {
    EXPECT_TRUE(std::binary_search(sent.begin(), sent.end(), line)) << line;
  }
}

// Nothing listens on the discard port: every attempt fails at once and is
// retried until the drain deadline; then everything held, and everything
// still queued behind it, is undelivered.
TEST_F(SenderTest, DrainDeadlineWithAnUnreachableApiCountsUndelivered) {
  SenderSetup s;
  s.api = "http://127.0.0.1:9";
  s.batch_sizes = Repeat(10, 8);
  s.queue_capacity = 2;
  s.max_in_flight = 2;  // 2 held + 2 queued: the feeder is blocked at the deadline
  s.drain_timeout = milliseconds(1500);
  s.connect_timeout = absl::Seconds(1);
  s.finish_input_first = true;
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.undelivered, 80u) << r.outcomes.ToString();
  EXPECT_EQ(r.outcomes.delivered, 0u);
  EXPECT_GT(Status(r.stats, 0), 0u) << "no failed attempt recorded";
  EXPECT_GT(r.stats.retries, 0u);
  EXPECT_GE(r.after_input_finished, milliseconds(1500)) << "gave up before the deadline";
  EXPECT_LT(r.after_input_finished, seconds(30)) << "kept going long after the deadline";
}

// A second stop request ends the wait at once, however far the deadline is.
TEST_F(SenderTest, SecondStopRequestStopsNow) {
  SenderSetup s;
  s.api = "http://127.0.0.1:9";
  s.batch_sizes = Repeat(10, 3);
  s.drain_timeout = seconds(600);
  s.connect_timeout = absl::Seconds(1);
  s.finish_input_first = true;
  s.meanwhile = [](pipeline::Shutdown& shutdown) {
    shutdown.RequestStop();
    shutdown.RequestStop();
  };
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.undelivered, 30u) << r.outcomes.ToString();
  EXPECT_LT(r.run_time, seconds(60));
}

// Five answers ask for a day's wait. The wait is capped at retry_after_max,
// and the parked batches give up their request slots: the rest is delivered
// while they wait (before, they filled every slot and nothing moved).
TEST_F(SenderTest, AHugeRetryAfterIsCappedAndParkedBatchesFreeTheirSlots) {
  Sink sink({"--script", "503,503,503,503,503", "--retry-after", "86400"});
  SenderSetup s;
  s.api = sink.url();
  s.batch_sizes = Repeat(10, 20);
  s.max_in_flight = 4;
  s.drain_timeout = seconds(60);
  const auto cap = seconds(8);
  s.configure = [&](SenderOptions& o) { o.retry_after_max = absl::Seconds(8); };
  std::chrono::steady_clock::duration others_took{};
  s.meanwhile = [&](pipeline::Shutdown&) {
    const auto start = std::chrono::steady_clock::now();
    while (sink.Metrics()["records_processed"] < 150 &&
           std::chrono::steady_clock::now() - start < cap) {
      std::this_thread::yield();  // bounded polling of the sink's count
    }
    others_took = std::chrono::steady_clock::now() - start;
  };
  Result r = RunSender(s);
  EXPECT_LT(others_took, cap) << "the other batches waited for the parked ones";
  EXPECT_EQ(r.outcomes.delivered, 200u) << r.outcomes.ToString();
  EXPECT_EQ(Status(r.stats, 503), 5u);
  EXPECT_GE(r.run_time, seconds(7)) << "Retry-After was not obeyed up to the cap";
  EXPECT_LT(r.run_time, seconds(40)) << "Retry-After was not capped";
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(r.sent)) << "lost or duplicated records";
}

// After the end of the input, a slow API that answers every request is not
// cut short by the drain timeout: only a drain without any success ends.
TEST_F(SenderTest, DrainAfterEndOfInputGoesOnWhileTheApiMakesProgress) {
  Sink sink({"--latency-ms", "250"});
  SenderSetup s;
  s.api = sink.url();
  s.batch_sizes = Repeat(10, 12);  // ~3 s at one request in flight
  s.max_in_flight = 1;
  s.queue_capacity = 1;
  s.drain_timeout = milliseconds(1000);
  s.finish_input_first = true;
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.delivered, 120u) << r.outcomes.ToString();
  EXPECT_EQ(r.outcomes.undelivered, 0u);
  EXPECT_GT(r.after_input_finished, milliseconds(1000)) << "the API was not that slow";
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(r.sent));
}

// Captures what this process writes to stderr (the log) while alive.
class StderrCapture {
 public:
  StderrCapture() : path_(testing::TempDir() + "/stderr") {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  ~StderrCapture() { Restore(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  std::string Text() {
    Restore();
    return testing::ReadFile(path_);
  }

 private:
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

// A server that refuses every POST with 400 and echoes the Authorization
// header back in its answer: raw, JSON-escaped, and raw again where a
// 300-byte log snippet cuts through it.
class EchoingServer {
 public:
  EchoingServer() {
    listen_fd_ = testing::ListenOnLoopback(8, &port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~EchoingServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }
  EchoingServer(const EchoingServer&) = delete;
  EchoingServer& operator=(const EchoingServer&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    while (true) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      Answer(fd);
      close(fd);
    }
  }
  static void Answer(int fd) {
    std::string request;
    char buf[65536];
    size_t body_at = std::string::npos;
    size_t want = 0;
    while (body_at == std::string::npos || request.size() < body_at + want) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return;
      request.append(buf, static_cast<size_t>(n));
      if (body_at == std::string::npos &&
          (body_at = request.find("\r\n\r\n")) != std::string::npos) {
        body_at += 4;
        want = std::stoul(Header(request, "content-length:"));
      }
    }
    const std::string key = Header(request, "authorization:").substr(7);  // after "Bearer "
    std::string escaped;
    for (char c : key) {
      if (c == '"' || c == '\\') escaped.push_back('\\');
      escaped.push_back(c);
    }
    std::string body = "{\"error\":\"bad_key_echo\",\"got\":\"" + escaped + "\",\"pad\":\"";
    body.append(297 - body.size(), 'x');  // the raw key below straddles byte 300
    body += key + "\"}";
    const std::string answer =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
        "Connection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    if (write(fd, answer.data(), answer.size()) < 0) return;
  }
  static std::string Header(const std::string& request, const std::string& lower_name) {
    std::string lower = request;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const size_t at = lower.find(lower_name);
    if (at == std::string::npos) return "0";
    size_t from = at + lower_name.size();
    while (request[from] == ' ') ++from;
    return request.substr(from, request.find("\r\n", from) - from);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// An API that echoes the key: neither the log nor the dead-letter file may
// show any of it, even a key shorter than six characters with a quote in it.
TEST_F(SenderTest, AKeyEchoedByTheApiReachesNeitherTheLogNorTheDeadLetters) {
  EchoingServer server;
  const std::string key = "k\"3/y";
  const std::string dir = testing::TempDir();
  auto dead = BatchStore::Open(dir + "/dead", 0);
  ASSERT_TRUE(dead.ok()) << dead.status();
  SenderSetup s;
  s.api = server.url();
  s.batch_sizes = {5};
  s.configure = [&](SenderOptions& o) {
    o.key = key;
    o.dead_letters = dead->get();
  };
  std::string log;
  Result r;
  {
    StderrCapture capture;
    r = RunSender(s);
    log = capture.Text();
  }
  EXPECT_EQ(r.outcomes.rejected, 5u) << r.outcomes.ToString();
  ASSERT_EQ((*dead)->count(), 1u);
  auto stored = (*dead)->Read((*dead)->Ids().front());
  ASSERT_TRUE(stored.ok()) << stored.status();
  const std::string& note = stored->note;
  EXPECT_NE(note.find("bad_key_echo"), std::string::npos) << note;
  EXPECT_NE(log.find("bad_key_echo"), std::string::npos) << log;
  for (const std::string& part : {key, std::string("k\\\"3/y"), std::string("k\"3")}) {
    EXPECT_EQ(note.find(part), std::string::npos) << "dead letter holds " << part << ": " << note;
    EXPECT_EQ(log.find(part), std::string::npos) << "log holds " << part << ": " << log;
  }
}

// --durable on a full disk with a healthy API: every batch is sent from
// memory, and the failure is counted and logged (before, nothing was sent).
ssize_t NoSpaceLeft(int, const void*, size_t) {
  errno = ENOSPC;
  return -1;
}

TEST_F(SenderTest, DurableOnAFullDiskSendsFromMemoryAndSaysSo) {
  Sink sink;
  const std::string dir = testing::TempDir() + "/spool";
  auto spool = BatchStore::Open(dir, 0);
  ASSERT_TRUE(spool.ok()) << spool.status();
  (*spool)->SetWriteFunctionForTesting(&NoSpaceLeft);
  pipeline::MetricsRegistry registry;
  SenderSetup s;
  s.api = sink.url();
  s.batch_sizes = Repeat(10, 6);
  s.drain_timeout = seconds(5);
  s.finish_input_first = true;
  s.metrics = &registry;
  s.configure = [&](SenderOptions& o) {
    o.spool = spool->get();
    o.durable = true;
  };
  std::string log;
  Result r;
  {
    StderrCapture capture;
    r = RunSender(s);
    log = capture.Text();
  }
  EXPECT_EQ(r.outcomes.delivered, 60u) << r.outcomes.ToString();
  EXPECT_EQ(registry.Value(kSpoolWriteErrorsMetric), 6.0);
  EXPECT_EQ(registry.Value(kSpoolWriteFailingMetric), 1.0);
  EXPECT_EQ(r.stats.spool_write_errors, 6u);
  EXPECT_NE(log.find("cannot write batch"), std::string::npos) << log;
  EXPECT_NE(log.find(dir), std::string::npos) << log;
  EXPECT_NE(log.find("bytes free"), std::string::npos) << log;
  EXPECT_EQ((*spool)->count(), 0u);
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(r.sent));
}

// During an outage a full disk holds the input back as a full spool does, but
// the log says why (before, it said nothing and looked like a full spool).
TEST_F(SenderTest, AFullDiskDuringAnOutageHoldsTheInputBackAndSaysSo) {
  const std::string dir = testing::TempDir() + "/spool";
  auto spool = BatchStore::Open(dir, 0);
  ASSERT_TRUE(spool.ok()) << spool.status();
  (*spool)->SetWriteFunctionForTesting(&NoSpaceLeft);
  pipeline::MetricsRegistry registry;
  SenderSetup s;
  s.api = "http://127.0.0.1:9";
  s.batch_sizes = Repeat(10, 6);
  s.max_in_flight = 1;
  s.drain_timeout = milliseconds(1500);
  s.connect_timeout = absl::Seconds(1);
  s.finish_input_first = true;
  s.metrics = &registry;
  s.configure = [&](SenderOptions& o) {
    o.spool = spool->get();
    o.retry_max_duration = absl::ZeroDuration();  // an outage from the first failure
  };
  std::string log;
  Result r;
  {
    StderrCapture capture;
    r = RunSender(s);
    log = capture.Text();
  }
  EXPECT_EQ(r.outcomes.undelivered, 60u) << r.outcomes.ToString();
  EXPECT_GT(registry.Value(kSpoolWriteErrorsMetric), 0.0);
  EXPECT_EQ(registry.Value(kSpoolWriteFailingMetric), 1.0);
  EXPECT_NE(log.find("input held back until space frees up"), std::string::npos) << log;
  EXPECT_NE(log.find(dir), std::string::npos) << log;
}

// The [STATS] view and the Prometheus text come from the same series.
TEST_F(SenderTest, StatsAreAViewOfTheRegistry) {
  Sink sink({"--script", "503,500", "--retry-after", "0", "--max-records", "10"});
  pipeline::MetricsRegistry registry;
  SenderSetup s;
  s.api = sink.url();
  s.batch_sizes = {20, 5};
  s.max_in_flight = 1;
  s.metrics = &registry;
  Result r = RunSender(s);
  EXPECT_EQ(r.outcomes.delivered, 25u) << r.outcomes.ToString();
  const SenderStats view = SenderStatsFrom(registry);
  EXPECT_EQ(view.requests, r.stats.requests);
  EXPECT_EQ(view.retries, 2u);
  EXPECT_EQ(view.splits, 1u);
  EXPECT_EQ(Status(view, 413), 1u);
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("nf2ingest_requests_total{code=\"503\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("nf2ingest_retries_total{reason=\"http_500\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("nf2ingest_batch_splits_total 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace nf2
