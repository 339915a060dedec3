// NetFlow v9: templates, options templates, data before its template, field
// rules and times, each against hand-built datagrams and expected flows.v1.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/netflow/netflow_test_util.h"

namespace nf2::netflow {
namespace {

using testing::Bytes;
using testing::Decoded;
using testing::DecodeOne;
using testing::Field;
using testing::Message;

constexpr uint32_t kExport = 1700000000;
constexpr uint32_t kUptime = 100000;

const std::vector<Field> kV4Fields = {{8, 4}, {12, 4}, {7, 2},  {11, 2}, {4, 1}, {1, 4},
                                      {2, 4}, {10, 2}, {14, 2}, {22, 4}, {21, 4}};

std::string V4Record(uint8_t last_octet, uint32_t first_ms) {
  return Bytes()
      .ipv4(10, 1, 0, last_octet)
      .ipv4(10, 2, 0, 2)
      .u16(1234)
      .u16(53)
      .u8(17)
      .u32(4000)
      .u32(10)
      .u16(3)
      .u16(4)
      .u32(first_ms)
      .u32(99000)
      .str();
}

Message V9(uint32_t sequence = 1, uint32_t source_id = 0) {
  return Message(9, kExport, sequence, source_id, kUptime);
}

TEST(NetflowV9, TemplateThenDataMapToFlowsV1) {
  Decoder decoder;
  const std::string d =
      V9().Template(256, kV4Fields).Data(256, V4Record(1, 95000) + V4Record(9, 100000), 3).Build();
  const Decoded r = DecodeOne(decoder, d);
  EXPECT_EQ(r.outcome, DatagramOutcome::kOk);
  EXPECT_EQ(r.counts.version, 9);
  EXPECT_EQ(
      r.json,
      (std::vector<std::string>{
          R"({"ts":1699999995,"src_ip":"10.1.0.1","dst_ip":"10.2.0.2","src_port":1234,"dst_port":53,"proto":17,"bytes":4000,"packets":10,"ingress_if":3,"egress_if":4})",
          R"({"ts":1700000000,"src_ip":"10.1.0.9","dst_ip":"10.2.0.2","src_port":1234,"dst_port":53,"proto":17,"bytes":4000,"packets":10,"ingress_if":3,"egress_if":4})"}));
  EXPECT_EQ(decoder.Snapshot().templates_known, 1u);
  // The template stays: a later datagram with data only decodes too.
  EXPECT_EQ(DecodeOne(decoder, V9(2).Data(256, V4Record(1, 95000)).Build()).json.size(), 1u);
}

TEST(NetflowV9, FirstSwitchedBeforeUptimeWrap) {
  Decoder decoder;
  const std::string d = Message(9, kExport, 1, 0, 500)
                            .Template(256, kV4Fields)
                            .Data(256, V4Record(1, 0xFFFFFE0C))
                            .Build();
  const Decoded r = DecodeOne(decoder, d);  // 500 ms before the wrap: 1 s before the export
  ASSERT_EQ(r.json.size(), 1u);
  EXPECT_EQ(r.json[0].substr(0, 16), R"({"ts":1699999999)");
}

TEST(NetflowV9, AbsoluteStartMillisecondsWin) {
  Decoder decoder;
  const std::string d =
      V9().Template(256, {{8, 4}, {12, 4}, {22, 4}, {152, 8}})
          .Data(256, Bytes().ipv4(1, 1, 1, 1).ipv4(2, 2, 2, 2).u32(1).u64(1700000123999).str())
          .Build();
  const Decoded r = DecodeOne(decoder, d);
  ASSERT_EQ(r.json.size(), 1u);
  EXPECT_EQ(r.json[0].substr(0, 16), R"({"ts":1700000123)");
}

TEST(NetflowV9, NoStartFieldMeansExportTime) {
  Decoder decoder;
  const std::string d = V9().Template(256, {{8, 4}, {12, 4}})
                            .Data(256, Bytes().ipv4(1, 1, 1, 1).ipv4(2, 2, 2, 2).str())
                            .Build();
  EXPECT_EQ(
      DecodeOne(decoder, d).json,
      std::vector<std::string>{
          R"({"ts":1700000000,"src_ip":"1.1.1.1","dst_ip":"2.2.2.2","src_port":0,"dst_port":0,"proto":0,"bytes":0,"packets":0})"});
}

TEST(NetflowV9, OptionsDataRecordsSamplingAndIsNoFlow) {
  Decoder decoder;
  const std::string d = V9(1, 7)
                            .OptionsTemplate(300, {{1, 4}}, {{34, 4}, {35, 1}})
                            .Data(300, Bytes().u32(0).u32(100).u8(2).str(), 3)
                            .Build();
  const Decoded r = DecodeOne(decoder, d);
  EXPECT_EQ(r.outcome, DatagramOutcome::kOk);
  EXPECT_TRUE(r.json.empty());
  EXPECT_EQ(r.counts.options_records, 1u);
  EXPECT_EQ(r.counts.invalid, 0u);
  const DecoderSnapshot snap = decoder.Snapshot();
  const DomainStats* dom = testing::FindDomain(snap, 9, 7);
  ASSERT_NE(dom, nullptr);
  EXPECT_EQ(dom->sampling_interval, 100u);
  EXPECT_EQ(dom->sampling_algorithm, 2u);
  EXPECT_EQ(snap.exporters[0].flows, 0u);
  // The scope field (type 1 = System in v9 scope) is not read as bytes, and
  // the sampler fields 49/50 are read too.
  const std::string sampler = V9(2, 7)
                                  .OptionsTemplate(301, {{1, 4}}, {{48, 1}, {49, 1}, {50, 4}})
                                  .Data(301, Bytes().u32(9).u8(1).u8(1).u32(1000).str())
                                  .Build();
  DecodeOne(decoder, sampler);
  EXPECT_EQ(testing::FindDomain(decoder.Snapshot(), 9, 7)->sampling_interval, 1000u);
}

TEST(NetflowV9, DataBeforeTemplateIsDecodedWhenTheTemplateArrives) {
  Decoder decoder;
  const Decoded early = DecodeOne(decoder, V9(1).Data(256, V4Record(1, 95000)).Build());
  EXPECT_EQ(early.outcome, DatagramOutcome::kOk);
  EXPECT_TRUE(early.json.empty());
  EXPECT_EQ(early.counts.pending, 1u);
  EXPECT_EQ(decoder.Snapshot().pending_sets, 1u);
  const Decoded later =
      DecodeOne(decoder, V9(2).Template(256, kV4Fields).Build(), testing::kNowNs + 1'000'000'000);
  ASSERT_EQ(later.json.size(), 1u);
  EXPECT_EQ(later.counts.records, 1u);
  // Times come from the datagram that carried the data.
  EXPECT_EQ(later.json[0].substr(0, 16), R"({"ts":1699999995)");
  EXPECT_EQ(decoder.Snapshot().pending_sets, 0u);
  EXPECT_EQ(decoder.Snapshot().exporters[0].flows, 1u);
}

TEST(NetflowV9, DataWaitingTooLongExpires) {
  Decoder decoder;
  DecodeOne(decoder, V9(1).Data(256, V4Record(1, 95000)).Build());
  const Decoded later =
      DecodeOne(decoder, V9(2).Template(256, kV4Fields).Build(), testing::kNowNs + 61'000'000'000);
  EXPECT_TRUE(later.json.empty());
  EXPECT_EQ(later.counts.expired, 1u);
  const DecoderSnapshot snap = decoder.Snapshot();
  EXPECT_EQ(snap.pending_expired, 1u);
  EXPECT_EQ(snap.pending_sets, 0u);
}

TEST(NetflowV9, ExpirePendingSweepsSilentExporters) {
  Decoder decoder;
  DecodeOne(decoder, V9(1).Data(256, V4Record(1, 95000)).Build());
  EXPECT_EQ(decoder.ExpirePending(testing::kNowNs + 59'000'000'000), 0u);
  EXPECT_EQ(decoder.ExpirePending(testing::kNowNs + 61'000'000'000), 1u);
  const DecoderSnapshot snap = decoder.Snapshot();
  EXPECT_EQ(snap.pending_sets, 0u);
  EXPECT_EQ(snap.pending_expired, 1u);
  EXPECT_EQ(snap.exporters.at(0).pending_sets, 0u);
}

TEST(NetflowV9, WaitingDataIsBoundedPerExporter) {
  DecoderOptions options;
  options.max_pending_sets = 2;
  Decoder decoder(options);
  for (uint8_t i = 1; i <= 3; ++i) DecodeOne(decoder, V9(i).Data(256, V4Record(i, 95000)).Build());
  EXPECT_EQ(decoder.Snapshot().pending_dropped, 1u);
  const Decoded later = DecodeOne(decoder, V9(4).Template(256, kV4Fields).Build());
  ASSERT_EQ(later.json.size(), 2u);  // the oldest was pushed out
  EXPECT_NE(later.json[0].find(R"("src_ip":"10.1.0.2")"), std::string::npos);
}

TEST(NetflowV9, RedefinedTemplateReplacesTheOldOne) {
  Decoder decoder;
  DecodeOne(decoder, V9(1).Template(256, {{8, 4}, {12, 4}, {1, 4}}).Build());
  const std::string v6 = Bytes()
                             .ipv6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1})
                             .ipv6({0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001})
                             .u32(77)
                             .str();
  const Decoded r =
      DecodeOne(decoder, V9(2).Template(256, {{27, 16}, {28, 16}, {2, 4}}).Data(256, v6).Build());
  EXPECT_EQ(
      r.json,
      std::vector<std::string>{
          R"({"ts":1700000000,"src_ip":"2001:db8::1","dst_ip":"::ffff:10.0.0.1","src_port":0,"dst_port":0,"proto":0,"bytes":0,"packets":77})"});
  EXPECT_EQ(decoder.Snapshot().templates_known, 1u);
}

TEST(NetflowV9, TemplatesAreScopedByExporterAndSourceId) {
  Decoder decoder;
  DecodeOne(decoder, V9(1, 0).Template(256, {{8, 4}, {12, 4}, {7, 2}}).Build());
  DecodeOne(decoder, V9(1, 0).Template(256, {{8, 4}, {12, 4}, {11, 2}}).Build(), testing::kNowNs,
            testing::TestExporter(2056));
  const std::string data = Bytes().ipv4(1, 1, 1, 1).ipv4(2, 2, 2, 2).u16(80).str();
  EXPECT_NE(DecodeOne(decoder, V9(2, 0).Data(256, data).Build())
                .json.at(0)
                .find(R"("src_port":80,"dst_port":0)"),
            std::string::npos);
  EXPECT_NE(DecodeOne(decoder, V9(2, 0).Data(256, data).Build(), testing::kNowNs,
                      testing::TestExporter(2056))
                .json.at(0)
                .find(R"("src_port":0,"dst_port":80)"),
            std::string::npos);
  // Another source id of the first exporter has no template 256.
  EXPECT_EQ(DecodeOne(decoder, V9(1, 5).Data(256, data).Build()).counts.pending, 1u);
}

TEST(NetflowV9, SequenceCountsLostExportPackets) {
  Decoder decoder;
  for (uint32_t seq : {1u, 2u, 4u, 5u})
    DecodeOne(decoder, V9(seq, 3).Template(256, {{8, 4}, {12, 4}}).Build());
  const DecoderSnapshot snap = decoder.Snapshot();
  const DomainStats* dom = testing::FindDomain(snap, 9, 3);
  ASSERT_NE(dom, nullptr);
  EXPECT_EQ(dom->sequence_gaps, 1u);
  EXPECT_EQ(dom->sequence_lost, 1u);
}

TEST(NetflowV9, LateDatagramsFillTheirGap) {
  // Two parser threads may decode consecutive chunks of one exporter out of
  // order: packets 3 and 4 decoded after 5 and 6 are no loss.
  Decoder decoder;
  for (uint32_t seq : {1u, 2u, 5u, 6u, 3u, 4u, 7u}) {
    DecodeOne(decoder, V9(seq, 3).Template(256, {{8, 4}, {12, 4}}).Build());
  }
  DecoderSnapshot snap = decoder.Snapshot();
  EXPECT_EQ(testing::FindDomain(snap, 9, 3)->sequence_gaps, 0u);
  EXPECT_EQ(testing::FindDomain(snap, 9, 3)->sequence_lost, 0u);
  // Half filled: 9 and 10 never come.
  for (uint32_t seq : {11u, 8u, 12u}) {
    DecodeOne(decoder, V9(seq, 3).Template(256, {{8, 4}, {12, 4}}).Build());
  }
  snap = decoder.Snapshot();
  EXPECT_EQ(testing::FindDomain(snap, 9, 3)->sequence_gaps, 1u);
  EXPECT_EQ(testing::FindDomain(snap, 9, 3)->sequence_lost, 2u);
}

TEST(NetflowV9, CounterFallbacksAndWidths) {
  Decoder decoder;
  // bytes from OUT_BYTES (23) and packets from 86 when 1 and 2 are absent;
  // 8-byte and 3-byte numbers; 1-byte and 4-byte interfaces; an ICMP type
  // (32) never becomes a port.
  const std::string d =
      V9().Template(256, {{8, 4}, {12, 4}, {23, 8}, {86, 3}, {10, 1}, {14, 4}, {32, 2}, {4, 1}})
          .Data(256, Bytes()
                         .ipv4(1, 1, 1, 1)
                         .ipv4(2, 2, 2, 2)
                         .u64(1ull << 40)
                         .Put(70000, 3)
                         .u8(5)
                         .u32(4000000000u)
                         .u16(0x0800)
                         .u8(1)
                         .str())
          .Build();
  EXPECT_EQ(
      DecodeOne(decoder, d).json,
      std::vector<std::string>{
          R"({"ts":1700000000,"src_ip":"1.1.1.1","dst_ip":"2.2.2.2","src_port":0,"dst_port":0,"proto":1,"bytes":1099511627776,"packets":70000,"ingress_if":5,"egress_if":4000000000})"});
  // 1 wins over 23 and 85, 2 over 24; a 9-byte counter is not a number.
  const std::string both =
      V9(2)
          .Template(257, {{8, 4}, {12, 4}, {85, 4}, {23, 4}, {1, 4}, {24, 4}, {2, 4}, {7, 9}})
          .Data(257, Bytes()
                         .ipv4(1, 1, 1, 1)
                         .ipv4(2, 2, 2, 2)
                         .u32(85)
                         .u32(23)
                         .u32(1)
                         .u32(24)
                         .u32(2)
                         .zeros(8)
                         .u8(80)
                         .str())
          .Build();
  EXPECT_NE(DecodeOne(decoder, both)
                .json.at(0)
                .find(R"("src_port":0,"dst_port":0,"proto":0,"bytes":1,"packets":2})"),
            std::string::npos);
}

TEST(NetflowV9, RecordsWithoutUsableAddressesAreInvalid) {
  Decoder decoder;
  const std::string d =
      V9().Templates(
              {{256, {{8, 4}, {1, 4}}}, {257, {{8, 16}, {12, 4}}}, {258, {{27, 4}, {12, 4}}}})
          .Data(256, Bytes().ipv4(1, 1, 1, 1).u32(5).str())
          .Data(257, Bytes().zeros(16).ipv4(2, 2, 2, 2).str())
          .Data(258, Bytes().ipv4(1, 1, 1, 1).ipv4(2, 2, 2, 2).str())
          .Build();
  const Decoded r = DecodeOne(decoder, d);
  EXPECT_EQ(r.outcome, DatagramOutcome::kOk);
  EXPECT_TRUE(r.json.empty());
  EXPECT_EQ(r.counts.invalid, 3u);
  EXPECT_EQ(decoder.Snapshot().exporters[0].flows, 3u);
}

TEST(NetflowV9, AbsurdTemplatesAreRefused) {
  Decoder decoder;
  const std::vector<std::string> bad = {
      V9().RawSet(0, Bytes().u16(256).u16(2000).zeros(8000).str()).Build(),  // too many fields
      V9().Template(256, {{8, 4}, {12, 0}}).Build(),                         // zero length
      V9().Template(100, {{8, 4}, {12, 4}}).Build(),                         // reserved id
      V9().Template(256, {{8, 40000}, {12, 40000}}).Build(),                 // record > datagram
      V9().RawSet(0, Bytes().u16(256).u16(0).str()).Build(),                 // no fields
      V9().RawSet(1, Bytes().u16(300).u16(3).u16(4).u16(34).u16(4).zeros(3).str())
          .Build(),  // scope not a multiple of 4
  };
  for (const std::string& d : bad)
    EXPECT_EQ(DecodeOne(decoder, d).outcome, DatagramOutcome::kBadTemplate);
  EXPECT_EQ(decoder.Snapshot().templates_known, 0u);
}

TEST(NetflowV9, SetsRunningPastTheDatagramAreBadSets) {
  Decoder decoder;
  const std::string good = V9().Template(256, {{8, 4}, {12, 4}})
                               .Data(256, Bytes().ipv4(1, 1, 1, 1).ipv4(2, 2, 2, 2).str())
                               .Build();
  // A set claiming more bytes than are left: the good one before it still counts.
  const Decoded r = DecodeOne(decoder, good + std::string("\x01\x00\x00\x40\x00", 5));
  EXPECT_EQ(r.outcome, DatagramOutcome::kBadSet);
  EXPECT_EQ(r.json.size(), 1u);
  EXPECT_EQ(DecodeOne(decoder, V9().Trailer(std::string("\x01\x00\x00\x02", 4)).Build()).outcome,
            DatagramOutcome::kBadSet);
  // A template whose fields run past its set.
  EXPECT_EQ(DecodeOne(decoder, V9().RawSet(0, Bytes().u16(260).u16(3).u16(8).u16(4).str()).Build())
                .outcome,
            DatagramOutcome::kBadSet);
  // Fewer than four bytes after the last set are padding.
  EXPECT_EQ(DecodeOne(decoder, good + std::string(3, '\0')).outcome, DatagramOutcome::kOk);
}

}  // namespace
}  // namespace nf2::netflow
