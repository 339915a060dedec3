// NetFlow v5 decoding, datagram-level outcomes, the chunk framing and the
// address text, each against hand-built datagrams and their expected flows.v1.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stages/flows/chunks.h"
#include "stages/flows/ip_text.h"
#include "stages/ingest/chunk_stages.h"
#include "stages/netflow/datagram_chunk.h"
#include "tests/unit/netflow/netflow_test_util.h"

namespace nf2::netflow {
namespace {

using nf2::testing::V5Datagram;
using nf2::testing::V5Header;
using nf2::testing::V5Record;
using testing::Decoded;
using testing::DecodeOne;

V5Record WebFlow() {
  V5Record r;
  r.src_port = 443;
  r.dst_port = 51000;
  r.octets = 1500;
  r.packets = 3;
  r.input = 2;
  r.first_ms = 99000;  // 1 s before the export (sys_uptime 100000)
  return r;
}

TEST(NetflowV5, RecordsMapToFlowsV1) {
  Decoder decoder;
  V5Record second;
  second.src[0] = 192;
  second.dst[3] = 200;
  second.proto = 17;
  second.output = 7;
  second.first_ms = 100000;
  const Decoded d = DecodeOne(decoder, V5Datagram(V5Header{}, {WebFlow(), second}));
  EXPECT_EQ(d.outcome, DatagramOutcome::kOk);
  EXPECT_EQ(d.counts.version, 5);
  EXPECT_EQ(d.counts.records, 2u);
  EXPECT_EQ(
      d.json,
      (std::vector<std::string>{
          R"({"ts":1699999999,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","src_port":443,"dst_port":51000,"proto":6,"bytes":1500,"packets":3,"ingress_if":2})",
          R"({"ts":1700000000,"src_ip":"192.0.0.1","dst_ip":"10.0.0.200","src_port":0,"dst_port":0,"proto":17,"bytes":64,"packets":1,"egress_if":7})"}));
}

TEST(NetflowV5, StartTimeUsesNanosecondsOfTheHeader) {
  Decoder decoder;
  V5Header h;
  h.unix_nsecs = 500'000'000;  // export at ...000.5
  V5Record r = WebFlow();
  r.first_ms = 99600;  // 0.4 s before: ...000.1 -> 1700000000
  const Decoded d = DecodeOne(decoder, V5Datagram(h, {r}));
  ASSERT_EQ(d.json.size(), 1u);
  EXPECT_EQ(d.json[0].substr(0, 16), R"({"ts":1700000000)");
}

TEST(NetflowV5, UptimeWrapsModulo32Bits) {
  Decoder decoder;
  V5Header h;
  h.sys_uptime_ms = 1000;  // uptime wrapped after the flow started
  V5Record r = WebFlow();
  r.first_ms = 0xFFFFFC18;  // 1000 ms before the wrap: 2 s before the export
  const Decoded d = DecodeOne(decoder, V5Datagram(h, {r}));
  ASSERT_EQ(d.json.size(), 1u);
  EXPECT_EQ(d.json[0].substr(0, 16), R"({"ts":1699999998)");
}

TEST(NetflowV5, CountDisagreeingWithLengthIsBadLength) {
  Decoder decoder;
  V5Header h;
  h.count_override = 2;
  const Decoded d = DecodeOne(decoder, V5Datagram(h, {WebFlow()}));
  EXPECT_EQ(d.outcome, DatagramOutcome::kBadLength);
  EXPECT_TRUE(d.json.empty());
  std::string extra = V5Datagram(V5Header{}, {WebFlow()}) + "x";
  EXPECT_EQ(DecodeOne(decoder, extra).outcome, DatagramOutcome::kBadLength);
}

TEST(NetflowV5, SequenceGapsCountLostFlowsAndSampling) {
  Decoder decoder;
  V5Header h;
  h.engine_type = 1;
  h.engine_id = 2;
  h.sampling = (1u << 14) | 100;  // mode 1, 1 in 100
  h.flow_sequence = 10;
  DecodeOne(decoder, V5Datagram(h, {WebFlow(), WebFlow()}));
  h.flow_sequence = 12;  // in order
  DecodeOne(decoder, V5Datagram(h, {WebFlow()}));
  h.flow_sequence = 20;  // 7 flows (13-19) missing
  DecodeOne(decoder, V5Datagram(h, {WebFlow()}));
  h.flow_sequence = 14;  // late: flow 14 was not lost after all
  DecodeOne(decoder, V5Datagram(h, {WebFlow()}));
  const DecoderSnapshot snap = decoder.Snapshot();
  ASSERT_EQ(snap.exporters.size(), 1u);
  EXPECT_EQ(snap.exporters[0].datagrams, 4u);
  EXPECT_EQ(snap.exporters[0].flows, 5u);
  EXPECT_EQ(snap.exporters[0].last_seen_unix_ns, testing::kNowNs);
  const DomainStats* dom = testing::FindDomain(snap, 5, 0x0102);
  ASSERT_NE(dom, nullptr);
  EXPECT_EQ(dom->sequence_gaps, 1u);
  EXPECT_EQ(dom->sequence_lost, 6u);
  EXPECT_EQ(dom->sampling_interval, 100u);
  EXPECT_EQ(dom->sampling_algorithm, 1u);
}

TEST(NetflowDatagram, ShortDatagramsAreTruncatedHeaders) {
  Decoder decoder;
  const std::string v5 = V5Datagram(V5Header{}, {WebFlow()});
  const std::string v9 = testing::Message(9, 1700000000, 1, 0, 1000).Build();
  const std::string ipfix = testing::Message(10, 1700000000, 1, 0).Build();
  for (const std::string& d : {std::string(1, '\0'), v5.substr(0, 23), v9.substr(0, 19),
                               ipfix.substr(0, 15), std::string()}) {
    const Decoded r = DecodeOne(decoder, d);
    EXPECT_EQ(r.outcome, DatagramOutcome::kTruncatedHeader) << d.size();
    EXPECT_TRUE(r.json.empty());
  }
}

TEST(NetflowDatagram, UnknownVersionsAreCounted) {
  Decoder decoder;
  for (int version : {1, 7, 8, 11, 0x7b22}) {  // 0x7b22 = '{"': a JSON line
    std::string d = V5Datagram(V5Header{}, {WebFlow()});
    d[0] = static_cast<char>(version >> 8);
    d[1] = static_cast<char>(version);
    EXPECT_EQ(DecodeOne(decoder, d).outcome, DatagramOutcome::kUnknownVersion) << version;
  }
  EXPECT_TRUE(decoder.Snapshot().exporters.empty());
}

TEST(NetflowDatagram, OutcomeNamesAreStableLabels) {
  const std::vector<std::string> names = {
      "ok",      "truncated_header", "unknown_version", "bad_length",
      "bad_set", "bad_template",     "exporter_limit"};
  ASSERT_EQ(names.size(), kDatagramOutcomeCount);
  for (size_t i = 0; i < kDatagramOutcomeCount; ++i) {
    EXPECT_EQ(DatagramOutcomeName(static_cast<DatagramOutcome>(i)), names[i]);
  }
}

TEST(DatagramChunk, FramesRoundTripWithPadding) {
  LineChunk chunk;
  chunk.format = ChunkFormat::kJsonLines;
  chunk.size = 99;  // a recycled chunk
  ResetDatagramChunk(&chunk);
  EXPECT_EQ(chunk.format, ChunkFormat::kDatagrams);
  const Exporter a = Exporter::FromIpv4(0x0A000001, 2055);
  Exporter b;
  b.addr[0] = 0x20;
  b.addr[1] = 0x01;
  b.addr[15] = 1;
  b.port = 4739;
  const std::string big(1500, 'x');
  AppendDatagram(&chunk, a, 11, "first");
  AppendDatagram(&chunk, b, 22, big);
  AppendDatagram(&chunk, a, 33, "");
  EXPECT_EQ(chunk.size, 3 * kDatagramFrameHeader + 5 + 1500);
  EXPECT_GE(chunk.data.size(), chunk.size + kLinePadding);
  DatagramReader reader(chunk);
  DatagramView v;
  ASSERT_TRUE(reader.Next(&v));
  EXPECT_EQ(v.exporter, a);
  EXPECT_EQ(v.received_unix_ns, 11u);
  EXPECT_EQ(v.bytes, "first");
  ASSERT_TRUE(reader.Next(&v));
  EXPECT_EQ(v.exporter, b);
  EXPECT_EQ(v.bytes, big);
  ASSERT_TRUE(reader.Next(&v));
  EXPECT_EQ(v.received_unix_ns, 33u);
  EXPECT_TRUE(v.bytes.empty());
  EXPECT_FALSE(reader.Next(&v));
  EXPECT_FALSE(reader.malformed());
  chunk.size -= 1;  // cut the last frame short
  DatagramReader cut(chunk);
  while (cut.Next(&v)) {
  }
  EXPECT_TRUE(cut.malformed());
}

TEST(DatagramChunk, ExporterText) {
  EXPECT_EQ(Exporter::FromIpv4(0xC0000201, 2055).ToString(), "192.0.2.1:2055");
  Exporter v6;
  v6.addr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  v6.port = 9995;
  EXPECT_EQ(v6.ToString(), "[2001:db8::1]:9995");
  EXPECT_FALSE(v6.is_ipv4());
  EXPECT_NE(ExporterHash()(v6), ExporterHash()(Exporter::FromIpv4(0xC0000201, 9995)));
}

TEST(ParseDatagramChunk, CountsFlowsRecordsInvalidAndOutcomes) {
  Decoder decoder;
  LineChunk chunk;
  ResetDatagramChunk(&chunk);
  const Exporter e = testing::TestExporter();
  AppendDatagram(&chunk, e, testing::kNowNs, V5Datagram(V5Header{}, {WebFlow(), WebFlow()}));
  AppendDatagram(&chunk, e, testing::kNowNs, std::string_view("\x00\x07garbage", 9));
  // IPFIX: one record without a destination address.
  const std::string ipfix = testing::Message(10, 1700000000, 0, 1)
                                .Template(256, {{8, 4}})
                                .Data(256, testing::Bytes().ipv4(10, 1, 1, 1).str())
                                .Build();
  AppendDatagram(&chunk, e, testing::kNowNs, ipfix);
  RecordChunk out;
  ParseCounts counts;
  DatagramCounts datagrams;
  int bad = 0;
  ParseDatagramChunk(decoder, chunk, &out, &counts, &datagrams,
                     [&bad](const Exporter&, DatagramOutcome) { ++bad; });
  EXPECT_EQ(out.records.size(), 2u);
  EXPECT_EQ(counts.lines, 3u);
  EXPECT_EQ(counts.records, 2u);
  EXPECT_EQ(counts.invalid, 1u);
  EXPECT_EQ(datagrams.by_outcome[static_cast<size_t>(DatagramOutcome::kOk)], 2u);
  EXPECT_EQ(datagrams.by_outcome[static_cast<size_t>(DatagramOutcome::kUnknownVersion)], 1u);
  EXPECT_EQ(datagrams.v5, 1u);
  EXPECT_EQ(datagrams.ipfix, 1u);
  EXPECT_EQ(bad, 1);
}

std::string V6Text(std::initializer_list<uint16_t> groups) {
  const std::string bytes = testing::Bytes().ipv6(groups).str();
  IpText t;
  FormatIpv6(reinterpret_cast<const uint8_t*>(bytes.data()), &t);
  return std::string(t.view());
}

TEST(IpText, Ipv6FollowsRfc5952AndGo) {
  EXPECT_EQ(V6Text({0, 0, 0, 0, 0, 0, 0, 0}), "::");
  EXPECT_EQ(V6Text({0, 0, 0, 0, 0, 0, 0, 1}), "::1");
  EXPECT_EQ(V6Text({1, 0, 0, 0, 0, 0, 0, 0}), "1::");
  EXPECT_EQ(V6Text({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}), "2001:db8::1");
  EXPECT_EQ(V6Text({0x2001, 0xdb8, 0, 1, 1, 1, 1, 1}), "2001:db8:0:1:1:1:1:1");
  EXPECT_EQ(V6Text({1, 0, 0, 2, 0, 0, 0, 3}), "1:0:0:2::3");
  EXPECT_EQ(V6Text({1, 0, 0, 2, 3, 0, 0, 4}), "1::2:3:0:0:4");
  EXPECT_EQ(V6Text({0xFE80, 0, 0, 0, 0xABCD, 0xEF, 0x1234, 0xffff}), "fe80::abcd:ef:1234:ffff");
  EXPECT_EQ(V6Text({0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(V6Text({0, 0, 0, 0, 0, 0xffff, 0xC000, 0x0201}), "::ffff:192.0.2.1");  // as Go netip
  EXPECT_EQ(V6Text({0, 0, 0, 0, 0, 0, 0xC000, 0x0201}), "::c000:201");
}

TEST(IpText, Ipv4) {
  const uint8_t b[4] = {0, 10, 100, 255};
  IpText t;
  FormatIpv4(b, &t);
  EXPECT_EQ(t.view(), "0.10.100.255");
}

}  // namespace
}  // namespace nf2::netflow
