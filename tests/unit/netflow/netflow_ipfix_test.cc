// IPFIX: each start-time form, variable-length and enterprise fields,
// padding, withdrawal, the message length, truncated sets and absurd
// templates, against hand-built messages and expected flows.v1.
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
constexpr uint64_t kNtpEra = 2208988800ull;

Message Ipfix(uint32_t sequence = 0, uint32_t domain = 1) {
  return Message(10, kExport, sequence, domain);
}

Bytes Addresses() { return Bytes().ipv4(10, 0, 0, 1).ipv4(10, 0, 0, 2); }

// ts of a single record whose template is 8, 12 and `time`.
std::string TsOf(Decoder& decoder, const std::vector<Field>& time, const std::string& value) {
  std::vector<Field> fields = {{8, 4}, {12, 4}};
  fields.insert(fields.end(), time.begin(), time.end());
  const Decoded r = DecodeOne(
      decoder, Ipfix().Template(400, fields).Data(400, Addresses().raw(value).str()).Build());
  if (r.json.size() != 1) return "no record";
  const size_t comma = r.json[0].find(',');
  return r.json[0].substr(6, comma - 6);
}

TEST(Ipfix, EveryStartTimeForm) {
  Decoder d;
  EXPECT_EQ(TsOf(d, {{150, 4}}, Bytes().u32(1700000500).str()), "1700000500");
  EXPECT_EQ(TsOf(d, {{152, 8}}, Bytes().u64(1700000500999).str()), "1700000500");
  EXPECT_EQ(TsOf(d, {{154, 8}}, Bytes().u32(1700000600 + kNtpEra).u32(0xFFFFFFFF).str()),
            "1700000600");
  EXPECT_EQ(TsOf(d, {{156, 8}}, Bytes().u32(1700000700 + kNtpEra).u32(0x80000000).str()),
            "1700000700");
  // 2.5 s before the export time.
  EXPECT_EQ(TsOf(d, {{158, 4}}, Bytes().u32(2'500'000).str()), "1699999997");
  // Uptime-relative with the base in the same record.
  EXPECT_EQ(TsOf(d, {{160, 8}, {22, 4}}, Bytes().u64(1699990000000).u32(12'345'000).str()),
            "1700002345");
  // No base known: the export time; no start field at all: the export time.
  EXPECT_EQ(TsOf(d, {{22, 4}}, Bytes().u32(12'345'000).str()), "1700000000");
  EXPECT_EQ(TsOf(d, {{1, 4}}, Bytes().u32(1).str()), "1700000000");
}

TEST(Ipfix, UptimeBaseFromOptionsDataPerDomain) {
  Decoder decoder;
  const std::string options = Ipfix(0, 1)
                                  .OptionsTemplate(500, {{149, 4}}, {{160, 8}, {305, 4}})
                                  .Data(500, Bytes().u32(1).u64(1699990000000).u32(64).str())
                                  .Build();
  const Decoded o = DecodeOne(decoder, options);
  EXPECT_EQ(o.counts.options_records, 1u);
  const std::string data = Bytes().ipv4(10, 0, 0, 1).ipv4(10, 0, 0, 2).u32(12'345'000).str();
  const Decoded r = DecodeOne(
      decoder, Ipfix(1, 1).Template(400, {{8, 4}, {12, 4}, {22, 4}}).Data(400, data).Build());
  ASSERT_EQ(r.json.size(), 1u);
  EXPECT_EQ(r.json[0].substr(0, 16), R"({"ts":1700002345)");
  // Another observation domain has no base.
  const Decoded other = DecodeOne(
      decoder, Ipfix(0, 2).Template(400, {{8, 4}, {12, 4}, {22, 4}}).Data(400, data).Build());
  EXPECT_EQ(other.json.at(0).substr(0, 16), R"({"ts":1700000000)");
  // softflowd's form: selectorAlgorithm (304) and samplingPacketInterval (305).
  DecodeOne(decoder, Ipfix(2, 1)
                         .OptionsTemplate(501, {{143, 4}}, {{304, 2}, {305, 4}})
                         .Data(501, Bytes().u32(1).u16(1).u32(128).str())
                         .Build());
  const DecoderSnapshot snap = decoder.Snapshot();
  EXPECT_EQ(testing::FindDomain(snap, 10, 1)->sampling_interval, 128u);
  EXPECT_EQ(testing::FindDomain(snap, 10, 1)->sampling_algorithm, 1u);
}

TEST(Ipfix, VariableLengthFields) {
  Decoder decoder;
  const std::string name(300, 'n');
  const std::string records = Bytes()
                                  .raw(Addresses().str())
                                  .u8(4)
                                  .raw("eth0")
                                  .u64(1000)
                                  .raw(Addresses().str())
                                  .u8(255)
                                  .u16(300)
                                  .raw(name)
                                  .u64(2000)
                                  .str();
  const Decoded r = DecodeOne(
      decoder,
      Ipfix().Template(400, {{8, 4}, {12, 4}, {82, 65535}, {1, 8}}).Data(400, records, 2).Build());
  EXPECT_EQ(r.outcome, DatagramOutcome::kOk);
  ASSERT_EQ(r.json.size(), 2u);
  EXPECT_NE(r.json[0].find(R"("bytes":1000,)"), std::string::npos);
  EXPECT_NE(r.json[1].find(R"("bytes":2000,)"), std::string::npos);
  // A variable-length address: length 4 is an IPv4 address; another length is invalid.
  const std::string var_addr =
      Bytes().u8(4).ipv4(1, 2, 3, 4).ipv4(5, 6, 7, 8).u8(3).raw("abc").ipv4(5, 6, 7, 8).str();
  const Decoded v =
      DecodeOne(decoder, Ipfix().Template(401, {{8, 65535}, {12, 4}}).Data(401, var_addr).Build());
  EXPECT_EQ(v.json.size(), 1u);
  EXPECT_EQ(v.counts.invalid, 1u);
  // A length running past the set.
  const Decoded cut =
      DecodeOne(decoder, Ipfix().Data(400, Addresses().u8(200).raw("ten bytes!").str()).Build());
  EXPECT_EQ(cut.outcome, DatagramOutcome::kBadSet);
  EXPECT_TRUE(cut.json.empty());
}

TEST(Ipfix, EnterpriseFieldsAreSkipped) {
  Decoder decoder;
  // Enterprise field 1 of PEN 29305 is not octetDeltaCount.
  const std::string d =
      Ipfix()
          .Template(400, {{8, 4}, {1000, 4, 9}, {12, 4}, {1, 8, 29305}, {1, 4}, {7, 65535, 1}})
          .Data(400, Bytes()
                         .ipv4(1, 1, 1, 1)
                         .u32(0xdeadbeef)
                         .ipv4(2, 2, 2, 2)
                         .u64(999)
                         .u32(42)
                         .u8(2)
                         .u16(80)
                         .str())
          .Build();
  EXPECT_EQ(
      DecodeOne(decoder, d).json,
      std::vector<std::string>{
          R"({"ts":1700000000,"src_ip":"1.1.1.1","dst_ip":"2.2.2.2","src_port":0,"dst_port":0,"proto":0,"bytes":42,"packets":0})"});
}

TEST(Ipfix, PaddingAfterRecordsAndTemplates) {
  Decoder decoder;
  const std::string tmpl = Bytes().u16(400).u16(2).u16(8).u16(4).u16(12).u16(4).zeros(3).str();
  const Decoded r = DecodeOne(
      decoder,
      Ipfix().RawSet(2, tmpl).Data(400, Addresses().raw(Addresses().str()).str(), 7).Build());
  EXPECT_EQ(r.outcome, DatagramOutcome::kOk);
  EXPECT_EQ(r.json.size(), 2u);
}

TEST(Ipfix, WithdrawalForgetsTemplates) {
  Decoder decoder;
  DecodeOne(decoder,
            Ipfix().Templates({{400, {{8, 4}, {12, 4}}}, {401, {{8, 4}, {12, 4}}}}).Build());
  EXPECT_EQ(decoder.Snapshot().templates_known, 2u);
  const Decoded w = DecodeOne(
      decoder,
      Ipfix(0).Withdraw(400).Data(400, Addresses().str()).Data(401, Addresses().str()).Build());
  EXPECT_EQ(w.json.size(), 1u);
  EXPECT_EQ(w.counts.pending, 1u);
  EXPECT_EQ(decoder.Snapshot().templates_known, 1u);
  // Id 2: every template of the domain.
  DecodeOne(decoder, Ipfix(0).Withdraw(2).Build());
  EXPECT_EQ(decoder.Snapshot().templates_known, 0u);
}

TEST(Ipfix, MessageLengthBoundsTheSets) {
  Decoder decoder;
  std::string d = Ipfix().Template(400, {{8, 4}, {12, 4}}).Data(400, Addresses().str()).Build();
  EXPECT_EQ(DecodeOne(decoder, d + "trailing bytes").json.size(), 1u);
  std::string longer = d;
  longer[3] = static_cast<char>(longer[3] + 1);  // one byte more than sent
  EXPECT_EQ(DecodeOne(decoder, longer).outcome, DatagramOutcome::kBadLength);
  std::string shorter = d;
  shorter[2] = 0;
  shorter[3] = 8;  // shorter than its own header
  EXPECT_EQ(DecodeOne(decoder, shorter).outcome, DatagramOutcome::kBadLength);
}

TEST(Ipfix, TruncatedSetsAndAbsurdTemplates) {
  Decoder decoder;
  EXPECT_EQ(
      DecodeOne(decoder, Ipfix().RawSet(2, Bytes().u16(400).u16(2).u16(8).u16(4).str()).Build())
          .outcome,
      DatagramOutcome::kBadSet);
  EXPECT_EQ(
      DecodeOne(decoder,
                Ipfix().RawSet(2, Bytes().u16(400).u16(1).u16(0x8008).u16(4).u16(0).str()).Build())
          .outcome,
      DatagramOutcome::kBadSet);
  EXPECT_EQ(DecodeOne(decoder, Ipfix().RawSet(3, Bytes().u16(400).u16(2).str()).Build()).outcome,
            DatagramOutcome::kBadSet);
  EXPECT_EQ(DecodeOne(decoder, Ipfix().Trailer(std::string("\x01\x90\x00\x03", 4)).Build()).outcome,
            DatagramOutcome::kBadSet);
  EXPECT_EQ(
      DecodeOne(decoder, Ipfix().RawSet(2, Bytes().u16(400).u16(5000).zeros(20000).str()).Build())
          .outcome,
      DatagramOutcome::kBadTemplate);
  EXPECT_EQ(DecodeOne(decoder, Ipfix().Template(400, {{8, 4}, {12, 0}}).Build()).outcome,
            DatagramOutcome::kBadTemplate);
  EXPECT_EQ(DecodeOne(decoder, Ipfix().Template(255, {{8, 4}}).Build()).outcome,
            DatagramOutcome::kBadTemplate);
  EXPECT_EQ(
      DecodeOne(decoder,
                Ipfix().RawSet(3, Bytes().u16(500).u16(1).u16(2).u16(160).u16(8).str()).Build())
          .outcome,
      DatagramOutcome::kBadTemplate);
  EXPECT_EQ(DecodeOne(decoder, Ipfix().Withdraw(17).Build()).outcome,
            DatagramOutcome::kBadTemplate);
  EXPECT_EQ(decoder.Snapshot().templates_known, 0u);
}

TEST(Ipfix, SequenceCountsDataRecords) {
  Decoder decoder;
  const std::string two = Addresses().raw(Addresses().str()).str();
  DecodeOne(decoder, Ipfix(100).Template(400, {{8, 4}, {12, 4}}).Data(400, two).Build());
  DecodeOne(decoder, Ipfix(102).Data(400, two).Build());  // in order
  DecodeOne(decoder, Ipfix(110).Data(400, two).Build());  // 6 records lost
  DecodeOne(decoder, Ipfix(112).Data(999, two).Build());  // unknown template: count unknown
  DecodeOne(decoder, Ipfix(150).Data(400, two).Build());  // not judged
  const DecoderSnapshot snap = decoder.Snapshot();
  const DomainStats* dom = testing::FindDomain(snap, 10, 1);
  ASSERT_NE(dom, nullptr);
  EXPECT_EQ(dom->sequence_gaps, 1u);
  EXPECT_EQ(dom->sequence_lost, 6u);
}

TEST(Ipfix, LimitsOnTemplatesAndExporters) {
  DecoderOptions options;
  options.max_templates_per_exporter = 1;
  options.max_exporters = 1;
  Decoder decoder(options);
  EXPECT_EQ(DecodeOne(decoder, Ipfix().Template(400, {{8, 4}, {12, 4}}).Build()).outcome,
            DatagramOutcome::kOk);
  EXPECT_EQ(DecodeOne(decoder, Ipfix().Template(401, {{8, 4}, {12, 4}}).Build()).outcome,
            DatagramOutcome::kBadTemplate);
  EXPECT_EQ(DecodeOne(decoder, Ipfix().Template(400, {{8, 4}, {12, 4}, {1, 4}}).Build()).outcome,
            DatagramOutcome::kOk);
  const Exporter other = testing::TestExporter(9999);
  EXPECT_EQ(
      DecodeOne(decoder, Ipfix().Template(400, {{8, 4}}).Build(), testing::kNowNs, other).outcome,
      DatagramOutcome::kExporterLimit);
  const std::string v5 =
      nf2::testing::V5Datagram(nf2::testing::V5Header{}, {nf2::testing::V5Record{}});
  EXPECT_EQ(DecodeOne(decoder, v5, testing::kNowNs, other).json.size(), 1u);
}

}  // namespace
}  // namespace nf2::netflow
