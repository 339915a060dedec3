// NetFlow/IPFIX from exporters no one here wrote, checked against a decoder
// no one here wrote: softflowd (v5, v9, IPFIX in its uptime form and with
// absolute milliseconds) and pmacctd's nfprobe plugin (IPFIX, interfaces set)
// read a pcap this test writes; their datagrams are captured once and
// replayed both to nfdump's nfcapd and to nf2ingest, and every record
// nf2ingest delivers must be a flow nfdump decoded, with the same counters,
// interfaces and a start time within one second.
//
// Also several flowgen exporters sharing template ids with different
// layouts, and what the per-exporter metrics say about them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <map>
#include <ostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/support/netflow_util.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

using Clock = std::chrono::steady_clock;

// ---- A pcap of a few seconds of traffic, written byte by byte ----

constexpr uint32_t kPcapStart = 1700000000;  // 2023-11-14T22:13:20Z

void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void Put32(std::string* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}

void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

std::string Addr(int family, const char* text) {
  std::string bytes(family == AF_INET ? 4 : 16, '\0');
  EXPECT_EQ(inet_pton(family, text, bytes.data()), 1) << text;
  return bytes;
}

uint16_t Checksum(const std::string& bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    sum += (static_cast<uint8_t>(bytes[i]) << 8) | static_cast<uint8_t>(bytes[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::string Ipv4(const char* src, const char* dst, uint8_t proto, const std::string& payload) {
  std::string h;
  Put16(&h, 0x4500);
  Put16(&h, static_cast<uint16_t>(20 + payload.size()));
  Put32(&h, 0x00010000);  // id 1, no fragmentation
  h.push_back(64);
  h.push_back(static_cast<char>(proto));
  Put16(&h, 0);
  h += Addr(AF_INET, src) + Addr(AF_INET, dst);
  const uint16_t sum = Checksum(h);
  h[10] = static_cast<char>(sum >> 8);
  h[11] = static_cast<char>(sum);
  return h + payload;
}

std::string Ipv6(const char* src, const char* dst, uint8_t next, const std::string& payload) {
  std::string h;
  Put32(&h, 0x60000000);
  Put16(&h, static_cast<uint16_t>(payload.size()));
  h.push_back(static_cast<char>(next));
  h.push_back(64);
  return h + Addr(AF_INET6, src) + Addr(AF_INET6, dst) + payload;
}

std::string Tcp(uint16_t sport, uint16_t dport, size_t data) {
  std::string s;
  Put16(&s, sport);
  Put16(&s, dport);
  Put32(&s, 1);
  Put32(&s, 0);
  Put16(&s, 0x5018);  // header length 5 words; PSH+ACK
  Put16(&s, 65535);
  Put32(&s, 0);
  return s + std::string(data, 'x');
}

std::string Udp(uint16_t sport, uint16_t dport, size_t data) {
  std::string s;
  Put16(&s, sport);
  Put16(&s, dport);
  Put16(&s, static_cast<uint16_t>(8 + data));
  Put16(&s, 0);
  return s + std::string(data, 'y');
}

std::string Icmp(uint8_t type, uint16_t seq, size_t data) {
  std::string s;
  s.push_back(static_cast<char>(type));
  s.push_back(0);
  Put16(&s, 0);
  Put16(&s, 1);
  Put16(&s, seq);
  return s + std::string(data, 'p');
}

std::string Ethernet(uint16_t type, const std::string& payload) {
  std::string f("\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
  Put16(&f, type);
  return f + payload;
}

struct Packet {
  uint64_t at_us;  // after kPcapStart
  std::string frame;
};

// Six flows over about four seconds: TCP, UDP and ICMP over IPv4, TCP and
// ICMPv6 over IPv6, and a second UDP flow.
std::vector<Packet> Traffic() {
  std::vector<Packet> p;
  for (uint64_t i = 0; i < 10; ++i) {
    p.push_back(
        {i * 300'000, Ethernet(0x0800, Ipv4("10.0.0.1", "192.0.2.10", 6, Tcp(40000, 443, 100)))});
  }
  for (uint64_t i = 0; i < 5; ++i) {
    p.push_back({100'000 + i * 500'000,
                 Ethernet(0x0800, Ipv4("10.0.0.2", "192.0.2.53", 17, Udp(5353, 53, 50)))});
  }
  for (uint16_t i = 0; i < 3; ++i) {
    p.push_back({200'000 + i * 1'000'000ULL,
                 Ethernet(0x0800, Ipv4("10.0.0.3", "192.0.2.1", 1, Icmp(8, i, 56)))});
  }
  for (uint64_t i = 0; i < 4; ++i) {
    p.push_back({1'200'000 + i * 700'000,
                 Ethernet(0x86dd, Ipv6("2001:db8::1", "2001:db8::2", 6, Tcp(50000, 80, 100)))});
  }
  for (uint16_t i = 0; i < 2; ++i) {
    p.push_back({1'500'000 + i * 1'000'000ULL,
                 Ethernet(0x86dd, Ipv6("2001:db8::3", "2001:db8::4", 58, Icmp(128, i, 20)))});
  }
  for (uint64_t i = 0; i < 7; ++i) {
    p.push_back({300'000 + i * 450'000,
                 Ethernet(0x0800, Ipv4("10.0.0.4", "198.51.100.7", 17, Udp(33000, 123, 48)))});
  }
  std::sort(p.begin(), p.end(), [](const Packet& a, const Packet& b) { return a.at_us < b.at_us; });
  return p;
}

std::string WritePcap() {
  std::string out;
  PutLe32(&out, 0xa1b2c3d4);
  out += std::string("\x02\x00\x04\x00", 4);  // version 2.4
  PutLe32(&out, 0);                           // this zone
  PutLe32(&out, 0);                           // sigfigs
  PutLe32(&out, 65535);                       // snaplen
  PutLe32(&out, 1);                           // Ethernet
  for (const Packet& p : Traffic()) {
    PutLe32(&out, kPcapStart + static_cast<uint32_t>(p.at_us / 1'000'000));
    PutLe32(&out, static_cast<uint32_t>(p.at_us % 1'000'000));
    PutLe32(&out, static_cast<uint32_t>(p.frame.size()));
    PutLe32(&out, static_cast<uint32_t>(p.frame.size()));
    out += p.frame;
  }
  std::string path = TempDir() + "/traffic.pcap";
  WriteFile(path, out);
  return path;
}

// ---- Running the tools ----

std::string Tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/usr/local/sbin/", "/usr/local/bin/"}) {
    if (access((dir + name).c_str(), X_OK) == 0) return dir + name;
  }
  ADD_FAILURE() << name << " is not installed (scripts/install-deps.sh installs it)";
  return name;
}

int BoundUdpSocket(int* port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  return fd;
}

// Runs an exporter (`argv` with "{PORT}" standing for the capture port) to
// its end and returns every datagram it sent.
std::vector<std::string> CaptureExport(std::vector<std::string> argv) {
  int port = 0;
  const int fd = BoundUdpSocket(&port);
  for (std::string& a : argv)
    a = std::regex_replace(a, std::regex("\\{PORT\\}"), std::to_string(port));
  SpawnOptions opts;
  opts.argv = argv;
  opts.stdout_path = TempDir() + "/exporter.out";
  opts.stderr_path = TempDir() + "/exporter.err";
  {
    Process exporter(opts);
    // Both read the pcap, export every flow at its end and exit.
    EXPECT_EQ(exporter.Wait(std::chrono::seconds(60)), 0) << ReadFile(opts.stderr_path);
  }
  std::vector<std::string> datagrams;
  char buf[65536];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0;)
    datagrams.emplace_back(buf, n);
  close(fd);
  EXPECT_FALSE(datagrams.empty()) << ReadFile(opts.stdout_path) << ReadFile(opts.stderr_path);
  return datagrams;
}

// Bytes queued on the loopback UDP socket bound to `port` (/proc/net/udp), or
// -1 when no socket is bound there.
long ReceiveQueue(int port) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  char wanted[16];
  std::snprintf(wanted, sizeof wanted, ":%04X ", port);
  while (std::getline(in, line)) {
    const size_t at = line.find(wanted);
    if (at > 20) continue;  // the local address column (npos is larger too)
    // local rem st tx_queue:rx_queue
    std::istringstream fields(line.substr(line.find(':') + 1));
    std::string local, remote, state, queues;
    fields >> local >> remote >> state >> queues;
    return std::stol(queues.substr(queues.find(':') + 1), nullptr, 16);
  }
  return -1;
}

// Waits (bounded polling of /proc/net/udp) until `done(queue)` holds.
template <typename Fn>
bool PollQueue(int port, Fn done) {
  const auto end = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < end) {
    if (done(ReceiveQueue(port))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// A flow as compared: nfdump's fields or a flows.v1 record's.
struct Flow {
  std::string src, dst;
  uint64_t sport = 0, dport = 0, proto = 0, bytes = 0, packets = 0, in_if = 0, out_if = 0;
  int64_t ts = 0;        // flows.v1: the start, whole seconds
  int64_t first_ms = 0;  // nfdump: first and last, ms
  int64_t last_ms = 0;
  int64_t icmp = -1;  // nfdump: type << 8 | code, for ICMP flows
  std::string Key() const { return src + " " + dst + " " + std::to_string(proto); }
};

uint64_t U(const rapidjson::Value& v, const char* key) {
  return v.HasMember(key) && v[key].IsUint64() ? v[key].GetUint64() : 0;
}

std::string S(const rapidjson::Value& v, const char* a, const char* b) {
  if (v.HasMember(a) && v[a].IsString()) return v[a].GetString();
  if (v.HasMember(b) && v[b].IsString()) return v[b].GetString();
  return "";
}

// "2023-11-14T22:13:20.100" (UTC, as nfdump prints with TZ=UTC) in ms.
int64_t Millis(const rapidjson::Value& v, const char* key) {
  if (!v.HasMember(key) || !v[key].IsString()) return 0;
  std::tm tm{};
  int ms = 0;
  std::sscanf(v[key].GetString(), "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
              &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// A NetFlow v5 datagram of one flow between two addresses no exporter here
// uses: sent after the others, its record in nfcapd's debug output (-E)
// shows nfcapd has processed everything before it. nfcapd drops what it has
// read but not yet processed when it is told to stop.
constexpr char kSentinelSrc[] = "203.0.113.254";

std::string SentinelDatagram() {
  std::string d;
  Put16(&d, 5);
  Put16(&d, 1);
  Put32(&d, 1000);  // uptime
  Put32(&d, kPcapStart);
  Put32(&d, 0);
  Put32(&d, 0);  // sequence
  Put32(&d, 0);  // engine, sampling
  d += Addr(AF_INET, kSentinelSrc) + Addr(AF_INET, "203.0.113.253") + std::string(4, '\0');
  Put32(&d, 0);  // interfaces
  Put32(&d, 1);  // packets
  Put32(&d, 40);
  Put32(&d, 1000);
  Put32(&d, 1000);
  Put32(&d, 0);  // ports
  Put32(&d, 17 << 8);
  Put32(&d, 0);
  Put32(&d, 0);
  return d;
}

// What nfdump's nfcapd makes of the datagrams.
std::vector<Flow> DecodeWithNfdump(const std::vector<std::string>& datagrams) {
  int port = 0;
  close(BoundUdpSocket(&port));       // a port that was free a moment ago
  const std::string dir = TempDir();  // nfcapd's files only: nfdump reads them all
  const std::string logs = TempDir();
  SpawnOptions opts;
  // -E prints each record as it is processed; line-buffered, it can be watched.
  opts.argv = {"/usr/bin/stdbuf",
               "-oL",
               Tool("nfcapd"),
               "-E",
               "-b",
               "127.0.0.1",
               "-p",
               std::to_string(port),
               "-w",
               dir,
               "-t",
               "3600"};
  opts.stdout_path = logs + "/nfcapd.out";
  opts.stderr_path = logs + "/nfcapd.err";
  {
    Process nfcapd(opts);
    EXPECT_TRUE(PollQueue(port, [](long q) { return q >= 0; })) << "nfcapd never bound " << port;
    SendDatagrams(port, datagrams);
    SendDatagrams(port, {SentinelDatagram()});
    EXPECT_TRUE(nfcapd.WaitForText(opts.stdout_path, kSentinelSrc, std::chrono::seconds(20)))
        << "nfcapd did not process the datagrams: " << ReadFile(opts.stdout_path);
    nfcapd.Signal(SIGTERM);
    EXPECT_EQ(nfcapd.Wait(std::chrono::seconds(20)), 0) << ReadFile(opts.stderr_path);
  }
  SpawnOptions dump;
  dump.argv = {Tool("nfdump"), "-R", dir, "-o", "json"};
  dump.env = {{"TZ", "UTC"}};
  dump.stdout_path = logs + "/flows.json";
  dump.stderr_path = logs + "/nfdump.err";
  {
    Process nfdump(dump);
    EXPECT_EQ(nfdump.Wait(std::chrono::seconds(30)), 0) << ReadFile(dump.stderr_path);
  }
  rapidjson::Document doc;
  doc.Parse(ReadFile(dump.stdout_path).c_str());
  std::vector<Flow> flows;
  if (doc.HasParseError() || !doc.IsArray()) {
    ADD_FAILURE() << "nfdump output is not a JSON array: " << ReadFile(dump.stdout_path);
    return flows;
  }
  for (const auto& r : doc.GetArray()) {
    Flow f;
    f.src = S(r, "src4_addr", "src6_addr");
    f.dst = S(r, "dst4_addr", "dst6_addr");
    f.sport = U(r, "src_port");
    f.dport = U(r, "dst_port");
    f.proto = U(r, "proto");
    f.bytes = U(r, "in_bytes");
    f.packets = U(r, "in_packets");
    f.in_if = U(r, "input_snmp");
    f.out_if = U(r, "output_snmp");
    f.first_ms = Millis(r, "first");
    f.last_ms = Millis(r, "last");
    if (r.HasMember("icmp_type")) {
      f.icmp = static_cast<int64_t>(U(r, "icmp_type") << 8 | U(r, "icmp_code"));
    }
    if (f.src != kSentinelSrc) flows.push_back(f);
  }
  return flows;
}

// What nf2ingest delivers for the datagrams.
std::vector<Flow> DecodeWithNf2ingest(const std::vector<std::string>& datagrams, size_t expect) {
  Sink sink;
  Collector collector(sink, {"--udp-sockets=1"});
  SendDatagrams(collector.port(), datagrams);
  EXPECT_EQ(WaitForLineCount(sink.out_path(), expect), expect);
  const RunResult r = collector.Stop();
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  const auto nf = ParseNetflowLine(r.stderr_text);
  EXPECT_EQ(nf.at("ok"), datagrams.size()) << r.stderr_text;
  std::vector<Flow> flows;
  for (const std::string& line : ReadLines(sink.out_path())) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    Flow f;
    f.src = d["src_ip"].GetString();
    f.dst = d["dst_ip"].GetString();
    f.sport = U(d, "src_port");
    f.dport = U(d, "dst_port");
    f.proto = U(d, "proto");
    f.bytes = U(d, "bytes");
    f.packets = U(d, "packets");
    f.in_if = U(d, "ingress_if");
    f.out_if = U(d, "egress_if");
    f.ts = static_cast<int64_t>(U(d, "ts"));
    flows.push_back(f);
  }
  return flows;
}

// Every flow in both, field by field. nfdump 1.7.1 swaps IPFIX
// flowStart/EndSysUpTime, so the start is the earlier of its two times.
void ExpectSameFlows(const std::vector<Flow>& nfdump, const std::vector<Flow>& ours) {
  ASSERT_EQ(ours.size(), nfdump.size());
  std::map<std::string, Flow> by_key;
  for (const Flow& f : nfdump) by_key[f.Key() + " " + std::to_string(f.sport)] = f;
  for (const Flow& o : ours) {
    const bool icmp = o.proto == 1 || o.proto == 58;
    auto it = by_key.find(o.Key() + " " + std::to_string(icmp ? 0 : o.sport));
    ASSERT_NE(it, by_key.end()) << "nfdump has no flow " << o.Key() << " " << o.sport;
    const Flow& n = it->second;
    SCOPED_TRACE(o.Key());
    if (icmp) {
      // nfdump shows ICMP type/code instead of ports; nf2ingest keeps the
      // raw port fields, which some exporters fill with type << 8 | code.
      EXPECT_EQ(o.sport, 0u);
      EXPECT_TRUE(o.dport == 0 || static_cast<int64_t>(o.dport) == n.icmp) << o.dport;
    } else {
      EXPECT_EQ(o.dport, n.dport);
    }
    EXPECT_EQ(o.bytes, n.bytes);
    EXPECT_EQ(o.packets, n.packets);
    EXPECT_EQ(o.in_if, n.in_if);
    EXPECT_EQ(o.out_if, n.out_if);
    const int64_t start_ms = std::min(n.first_ms, n.last_ms);
    EXPECT_LE(std::abs(o.ts * 1000 - start_ms), 1000) << o.ts << " vs " << start_ms;
    // The pcap's own times, not the time of the test: -a / pcap reading works.
    EXPECT_GE(o.ts, kPcapStart - 1);
    EXPECT_LE(o.ts, kPcapStart + 5);
    by_key.erase(it);
  }
}

struct ExporterCase {
  const char* name;
  std::vector<std::string> args;  // after softflowd's common ones
  size_t flows;                   // v5 carries no IPv6 flows
};

// What ctest shows for the parameter: its name, not its bytes.
void PrintTo(const ExporterCase& c, std::ostream* os) { *os << c.name; }

class Softflowd : public ::testing::TestWithParam<ExporterCase> {};

TEST_P(Softflowd, Nf2ingestDeliversWhatNfdumpDecodes) {
  const std::string pcap = WritePcap();
  const std::string dir = pcap.substr(0, pcap.rfind('/'));
  // softflowd 1.1.0 keeps the -r file name in a 16-byte interface-name
  // buffer; a longer path overflows it (it then reads nothing and waits on
  // its control socket), so it runs in the pcap's directory with short names.
  std::vector<std::string> argv = {"/bin/sh",
                                   "-c",
                                   "cd \"$0\" && exec \"$@\"",
                                   dir,
                                   Tool("softflowd"),
                                   "-r",
                                   "traffic.pcap",
                                   "-n",
                                   "127.0.0.1:{PORT}",
                                   "-d",
                                   "-a",
                                   "-p",
                                   "pid",
                                   "-c",
                                   "ctl"};
  for (const auto& a : GetParam().args) argv.push_back(a);
  const auto datagrams = CaptureExport(argv);
  const auto nfdump = DecodeWithNfdump(datagrams);
  ASSERT_EQ(nfdump.size(), GetParam().flows);
  ExpectSameFlows(nfdump, DecodeWithNf2ingest(datagrams, nfdump.size()));
}

INSTANTIATE_TEST_SUITE_P(
    NetflowExporters, Softflowd,
    ::testing::Values(ExporterCase{"v5", {"-v", "5"}, 4}, ExporterCase{"v9", {"-v", "9", "-6"}, 6},
                      ExporterCase{"ipfix_uptime", {"-v", "10", "-6"}, 6},
                      ExporterCase{"ipfix_milli", {"-v", "10", "-6", "-A", "milli"}, 6}),
    [](const ::testing::TestParamInfo<ExporterCase>& c) { return std::string(c.param.name); });

TEST(NetflowExporters, PmacctdNfprobeIpfixWithInterfaces) {
  const std::string pcap = WritePcap();
  const std::string conf = TempDir() + "/pmacctd.conf";
  WriteFile(conf,
            "daemonize: false\n"
            "pcap_savefile: " +
                pcap +
                "\n"
                "plugins: nfprobe[np]\n"
                "nfprobe_receiver[np]: 127.0.0.1:RECEIVER_PORT\n"
                "nfprobe_version[np]: 10\n"
                "nfprobe_direction[np]: in\n"
                "nfprobe_ifindex[np]: 7\n"
                "aggregate[np]: src_host, dst_host, src_port, dst_port, proto\n");
  // The receiver port is only known once the capture socket is bound: a
  // shell writes it into the configuration, then becomes pmacctd (which
  // reads the whole pcap, exports every flow at its end and exits).
  std::vector<std::string> argv = {
      "/bin/sh",      "-c",     "sed -i \"s/RECEIVER_PORT/$1/\" \"$2\" && exec \"$3\" -f \"$2\"",
      "sh",           "{PORT}", conf,
      Tool("pmacctd")};
  const auto datagrams = CaptureExport(argv);
  const auto nfdump = DecodeWithNfdump(datagrams);
  ASSERT_EQ(nfdump.size(), 6u);
  const auto ours = DecodeWithNf2ingest(datagrams, nfdump.size());
  ExpectSameFlows(nfdump, ours);
  for (const Flow& f : ours) EXPECT_EQ(f.in_if, 7u) << f.Key();
}

// ---- Several exporters, one set of template ids ----

double MetricValue(const std::string& text, const std::string& series) {
  for (std::istringstream in(text); !in.eof();) {
    std::string line;
    std::getline(in, line);
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST(NetflowExporters, ExportersSharingTemplateIdsAreKeptApartAndMetered) {
  Sink sink;
  Collector collector(sink, {"--metrics-addr=127.0.0.1:0"});
  const std::string expected = TempDir() + "/expected.jsonl";
  RunFlowgen({"--netflow-v9", collector.target(), "--count=80", "--flows=5", "--exporters=4",
              "--source-port=47400", "--skip-every=5", "--sampling-interval=100",
              "--expected=" + expected});
  const auto want = ReadLines(expected);
  ASSERT_EQ(want.size(), 4u * 16 * 5);  // each exporter skips 4 of its 20 packets
  ASSERT_EQ(WaitForLineCount(sink.out_path(), want.size()), want.size());
  EXPECT_EQ(Sorted(ReadLines(sink.out_path())), Sorted(want));

  std::smatch m;
  const std::string log = ReadFile(collector.stderr_path());
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(serving http://127.0.0.1:(\d+)/metrics)")));
  const std::string url = "http://127.0.0.1:" + m[1].str() + "/metrics";
  // Exporter metrics are refreshed every second: poll until all are there.
  std::string text;
  const auto end = Clock::now() + std::chrono::seconds(10);
  auto series = [](int i, const char* name) {
    return std::string("nf2ingest_netflow_exporter_") + name +
           "{exporter=\"127.0.0.1:" + std::to_string(47400 + i) + "\"}";
  };
  // A scrape may land while an exporter's series are being added, one by
  // one: wait until every exporter has every series and all its flows.
  const char* const names[] = {"flows_total", "datagrams_total", "sequence_gaps",
                               "sampling_interval", "last_seen_seconds"};
  auto complete = [&](const std::string& t) {
    for (int i = 0; i < 4; ++i) {
      if (MetricValue(t, series(i, "flows_total")) != 80) return false;
      for (const char* name : names) {
        if (MetricValue(t, series(i, name)) < 0) return false;
      }
    }
    return true;
  };
  while (Clock::now() < end) {
    text = HttpGet(url, "").second;
    if (complete(text)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(MetricValue(text, series(i, "flows_total")), 80);
    EXPECT_EQ(MetricValue(text, series(i, "datagrams_total")), 16 + 1);  // and one template
    // Packets 5, 10, 15 and 20 were never sent; the last one is no gap
    // yet, since nothing came after it.
    EXPECT_EQ(MetricValue(text, series(i, "sequence_gaps")), 3);
    EXPECT_EQ(MetricValue(text, series(i, "sampling_interval")), 100);
    EXPECT_GT(MetricValue(text, series(i, "last_seen_seconds")), 1.7e9);
  }
  EXPECT_EQ(MetricValue(text, "nf2ingest_netflow_datagrams_total{outcome=\"ok\"}"), 4 * 17);
  EXPECT_EQ(MetricValue(text, "nf2ingest_netflow_kernel_drops_total"), 0);
  EXPECT_EQ(MetricValue(text, "nf2ingest_netflow_templates"), 12);
  const RunResult r = collector.Stop();
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.summary.at("delivered"), want.size());
}

}  // namespace
}  // namespace nf2::testing
