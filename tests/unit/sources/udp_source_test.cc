// The UDP source on loopback: datagrams come out framed with their sender,
// a lone datagram is not held back waiting for company, a stop ends the run
// after taking what the socket holds, and listen URLs are checked.
#include "stages/sources/udp/udp_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/shutdown.h"
#include "stages/netflow/datagram_chunk.h"
#include "stages/sources/udp/listen_address.h"
#include "tests/support/netflow_util.h"

namespace nf2 {
namespace {

using nf2::testing::SendDatagrams;
using std::chrono::milliseconds;

int PortOf(const std::string& bound) { return std::stoi(bound.substr(bound.rfind(':') + 1)); }

struct Running {
  explicit Running(UdpSourceOptions options) : queue(64), shutdown(std::chrono::seconds(5)) {
    options.listen = {ListenAddress{"127.0.0.1", 0}};
    auto opened = UdpSource::Open(options);
    EXPECT_TRUE(opened.ok()) << opened.status();
    source = *std::move(opened);
    thread = std::thread([this] { status = source->Run(&queue, &shutdown, nullptr); });
  }
  ~Running() {
    if (thread.joinable()) Stop();
  }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  void Stop() {
    shutdown.RequestStop();
    thread.join();
  }
  int port() const { return PortOf(source->bound().at(0)); }

  pipeline::BoundedQueue<LineChunk> queue;
  pipeline::Shutdown shutdown;
  std::unique_ptr<UdpSource> source;
  std::thread thread;
  absl::Status status;
};

std::vector<netflow::DatagramView> Frames(const LineChunk& chunk) {
  std::vector<netflow::DatagramView> out;
  netflow::DatagramReader reader(chunk);
  netflow::DatagramView d;
  while (reader.Next(&d)) out.push_back(d);
  EXPECT_FALSE(reader.malformed());
  return out;
}

TEST(UdpSourceTest, DatagramsComeOutFramedWithTheirSender) {
  Running r({});
  const int sender = SendDatagrams(r.port(), {"first", std::string(1400, 'x'), "third"});
  std::vector<std::string> got;
  while (got.size() < 3) {
    std::unique_ptr<LineChunk> chunk;
    ASSERT_TRUE(r.queue.PopWait(chunk, milliseconds(5000))) << "no chunk";
    ASSERT_TRUE(chunk);
    EXPECT_EQ(chunk->format, ChunkFormat::kDatagrams);
    for (const auto& d : Frames(*chunk)) {
      EXPECT_EQ(d.exporter, netflow::Exporter::FromIpv4(0x7f000001, static_cast<uint16_t>(sender)));
      EXPECT_GT(d.received_unix_ns, uint64_t{1'600'000'000} * 1'000'000'000);
      got.emplace_back(d.bytes);
    }
  }
  EXPECT_EQ(got, (std::vector<std::string>{"first", std::string(1400, 'x'), "third"}));
  r.Stop();
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.source->stats().datagrams, 3u);
  EXPECT_EQ(r.source->stats().bytes, 1410u);
  EXPECT_TRUE(r.shutdown.input_finished());
}

// A quiet exporter's datagram goes out when its chunk has waited max_hold,
// not when the chunk is full.
TEST(UdpSourceTest, ALoneDatagramIsNotHeldBack) {
  UdpSourceOptions options;
  options.max_hold = milliseconds(20);
  Running r(options);
  const auto sent = std::chrono::steady_clock::now();
  SendDatagrams(r.port(), {"alone"});
  std::unique_ptr<LineChunk> chunk;
  ASSERT_TRUE(r.queue.PopWait(chunk, milliseconds(5000)));
  const auto waited = std::chrono::steady_clock::now() - sent;
  EXPECT_LT(waited, milliseconds(500));
  ASSERT_EQ(Frames(*chunk).size(), 1u);
}

TEST(UdpSourceTest, StopTakesWhatTheSocketHolds) {
  UdpSourceOptions options;
  options.max_hold = std::chrono::hours(1);  // only the stop can send the chunk
  Running r(options);
  std::vector<std::string> many(50, "datagram");
  SendDatagrams(r.port(), many);
  r.Stop();
  size_t frames = 0;
  std::unique_ptr<LineChunk> chunk;
  while (r.queue.PopWait(chunk, milliseconds(0)) && chunk) frames += Frames(*chunk).size();
  EXPECT_EQ(frames, 50u);
}

// Exporters that never pause must not hold a stop up: neither the reading
// loop nor the final drain may wait for the socket to run dry.
TEST(UdpSourceTest, AStopEndsTheRunWhileExportersKeepSending) {
  UdpSourceOptions options;
  options.rcvbuf_bytes = 1 << 20;
  Running r(options);
  std::atomic<bool> flooding{true};
  std::thread flood([&] {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(r.port()));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string d(200, 'f');
    while (flooding) sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
  });
  // Consume like the parser pool does, so the source never blocks on the queue.
  std::atomic<bool> consuming{true};
  std::thread consumer([&] {
    std::unique_ptr<LineChunk> chunk;
    while (consuming) r.queue.PopWait(chunk, milliseconds(10));
  });
  while (r.source->stats().datagrams < 10000) std::this_thread::yield();
  const auto asked = std::chrono::steady_clock::now();
  r.shutdown.RequestStop();
  r.thread.join();
  const auto took = std::chrono::steady_clock::now() - asked;
  flooding = false;
  consuming = false;
  flood.join();
  consumer.join();
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(UdpSourceTest, SeveralSocketsShareOnePort) {
  UdpSourceOptions options;
  options.sockets_per_address = 3;
  Running r(options);
  EXPECT_EQ(r.source->bound().size(), 1u);
  EXPECT_GT(r.port(), 0);
  EXPECT_GT(r.source->rcvbuf_granted(), 0);
}

TEST(ListenAddressTest, ParsesHostsAndPorts) {
  auto a = ParseListenUrl("netflow://0.0.0.0:2055");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 2055);
  a = ParseListenUrl("netflow://[2001:db8::1]:4739");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "2001:db8::1");
  EXPECT_EQ(a->ToString(), "[2001:db8::1]:4739");
  for (const char* bad :
       {"udp://1.2.3.4:1", "netflow://1.2.3.4", "netflow://:1", "netflow://[::1]",
        "netflow://::1:2055", "netflow://h:65536", "netflow://h:+1", "netflow://h:"}) {
    EXPECT_FALSE(ParseListenUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace nf2
