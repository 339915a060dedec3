// docs/contract.md §5: a goflow2 FlowMessage (protobuf, `-format=bin`) must
// become the same record, with the same verdict, as the JSON line goflow2
// writes for the same flow. The messages are built here by a small encoder of
// the protobuf wire format, independent of the decoder under test; the framed
// Kafka-value chunks go through ParseDelimitedProtobufChunk as the parser pool
// runs it.
#include "stages/goflow2/flow_message.h"

#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "stages/flows/flow_record.h"
#include "stages/flows/flow_record_json.h"
#include "stages/flows/ip_text.h"
#include "stages/flows/proto_table.h"
#include "stages/goflow2/line_parser.h"
#include "stages/ingest/chunk_stages.h"
#include "tests/support/fixtures.h"

namespace nf2 {
namespace {

// --- a protobuf wire-format writer -------------------------------------------

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string Tag(uint64_t field, int wire_type) {
  return Varint((field << 3) | static_cast<uint64_t>(wire_type));
}

class Message {
 public:
  // A varint field; proto3 leaves zero out, as goflow2 does.
  Message& U(uint64_t field, uint64_t v) {
    if (v != 0) bytes_ += Tag(field, 0) + Varint(v);
    return *this;
  }
  // A bytes field; empty is left out.
  Message& B(uint64_t field, std::string_view b) {
    if (!b.empty()) bytes_ += Tag(field, 2) + Varint(b.size()) + std::string(b);
    return *this;
  }
  Message& Fixed64(uint64_t field) {
    bytes_ += Tag(field, 1) + std::string(8, '\x07');
    return *this;
  }
  Message& Fixed32(uint64_t field) {
    bytes_ += Tag(field, 5) + std::string(4, '\x05');
    return *this;
  }
  Message& Raw(std::string_view raw) {
    bytes_ += raw;
    return *this;
  }
  const std::string& bytes() const { return bytes_; }
  // As goflow2 writes it to Kafka: the length as a varint, then the message.
  std::string Delimited() const { return Varint(bytes_.size()) + bytes_; }

 private:
  std::string bytes_;
};

// flowpb.FlowMessage field numbers (docs/contract.md §5).
enum : uint64_t {
  kType = 1,
  kSamplingRate = 3,
  kSequenceNum = 4,
  kSrcAddr = 6,
  kDstAddr = 7,
  kBytes = 9,
  kPackets = 10,
  kSamplerAddress = 11,
  kNextHop = 12,
  kSrcAs = 14,
  kInIf = 18,
  kOutIf = 19,
  kProto = 20,
  kSrcPort = 21,
  kDstPort = 22,
  kTcpFlags = 26,
  kSrcMac = 27,
  kEtype = 30,
  kAsPath = 102,
  kTimeReceivedNs = 110,
  kTimeFlowStartNs = 111,
  kTimeFlowEndNs = 112,
};

std::string AddrBytes(const std::string& text) {
  unsigned char buf[16];
  if (text.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, text.c_str(), buf) != 1) return "";
    return std::string(reinterpret_cast<char*>(buf), 4);
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) != 1) return "";
  return std::string(reinterpret_cast<char*>(buf), 16);
}

// --- JSON line -> the FlowMessage goflow2 would have sent instead ------------

uint64_t TypeNumber(std::string_view name) {
  static const std::pair<std::string_view, uint64_t> kTypes[] = {
      {"FLOWUNKNOWN", 0}, {"SFLOW_5", 1}, {"NETFLOW_V5", 2}, {"NETFLOW_V9", 3}, {"IPFIX", 4}};
  for (const auto& [n, v] : kTypes) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no FlowType for " << name;
  return 0;
}

uint64_t U64(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsUint64() ? it->value.GetUint64() : 0;
}

std::string Str(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// goflow2 writes the IANA name; a name without a number (goflow2 prints
// "unassigned" for 146-252) is what the JSON path maps to 0.
uint64_t ProtoNumber(const rapidjson::Value& obj) {
  auto it = obj.FindMember("proto");
  if (it == obj.MemberEnd()) return 0;
  if (it->value.IsUint64()) return it->value.GetUint64();
  const std::string name = it->value.GetString();
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    return std::stoull(name);
  }
  return ProtoNumberFromName(name).value_or(0);
}

// The FlowMessage for a goflow2 JSON object, with the fields goflow2 fills
// that the mapping skips (MACs, AS path, a custom field above 1000).
std::optional<std::string> MessageForJson(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  Message m;
  m.U(kType, doc.HasMember("type") ? TypeNumber(Str(doc, "type")) : 2)
      .U(kTimeReceivedNs, U64(doc, "time_received_ns"))
      .U(kSequenceNum, U64(doc, "sequence_num"))
      .U(kSamplingRate, U64(doc, "sampling_rate"))
      .B(kSamplerAddress, AddrBytes(Str(doc, "sampler_address")))
      .U(kTimeFlowStartNs, U64(doc, "time_flow_start_ns"))
      .U(kTimeFlowEndNs, U64(doc, "time_flow_end_ns"))
      .U(kBytes, U64(doc, "bytes"))
      .U(kPackets, U64(doc, "packets"))
      .B(kSrcAddr, AddrBytes(Str(doc, "src_addr")))
      .B(kDstAddr, AddrBytes(Str(doc, "dst_addr")))
      .U(kEtype, Str(doc, "etype") == "IPv6" ? 0x86dd : 0x800)
      .U(kProto, ProtoNumber(doc))
      .U(kSrcPort, U64(doc, "src_port"))
      .U(kDstPort, U64(doc, "dst_port"))
      .U(kInIf, U64(doc, "in_if"))
      .U(kOutIf, U64(doc, "out_if"))
      .U(kSrcMac, 0x0242ac110002)
      .U(kSrcAs, U64(doc, "src_as"))
      .B(kNextHop, AddrBytes(Str(doc, "next_hop")))
      .U(kTcpFlags, U64(doc, "tcp_flags"))
      .B(kAsPath, Varint(64512) + Varint(13335))  // packed repeated uint32
      .U(1001, 7)
      .B(1002, "custom");
  return m.bytes();
}

// --- outcomes ----------------------------------------------------------------

struct Outcome {
  ParseResult result;
  std::string json;  // the serialized record when the verdict is kRecord
};

Outcome FromJson(LineParser& parser, std::string_view line) {
  Outcome o;
  FlowRecord rec;
  o.result = ParseGoflow2LineCopy(parser, line, &rec);
  if (o.result.verdict == LineVerdict::kRecord) AppendFlowRecordJson(rec, &o.json);
  return o;
}

Outcome FromMessage(std::string_view message) {
  Outcome o;
  FlowRecord rec;
  o.result = DecodeFlowMessage(message, &rec);
  if (o.result.verdict == LineVerdict::kRecord) AppendFlowRecordJson(rec, &o.json);
  return o;
}

const char* VerdictName(LineVerdict v) {
  switch (v) {
    case LineVerdict::kRecord:
      return "record";
    case LineVerdict::kFiltered:
      return "filtered";
    case LineVerdict::kInvalid:
      return "invalid";
  }
  return "?";
}

void ExpectSameOutcome(std::string_view line, const Outcome& want, const Outcome& got) {
  EXPECT_STREQ(VerdictName(got.result.verdict), VerdictName(want.result.verdict))
      << "line: " << line << "\nJSON error: " << want.result.error
      << "\nprotobuf error: " << got.result.error;
  EXPECT_EQ(got.json, want.json) << "line: " << line;
}

std::string Invalid(std::string_view message) {
  const Outcome o = FromMessage(message);
  EXPECT_EQ(o.result.verdict, LineVerdict::kInvalid) << "record: " << o.json;
  return std::string(o.result.error);
}

// A valid message to start from: NETFLOW_V9, 10.0.0.1:1234 -> 10.0.0.2:80 TCP.
Message Base() {
  Message m;
  m.U(kType, 3)
      .U(kTimeFlowStartNs, 1755245595022470127ull)
      .U(kBytes, 66)
      .U(kPackets, 3)
      .B(kSrcAddr, AddrBytes("10.0.0.1"))
      .B(kDstAddr, AddrBytes("10.0.0.2"))
      .U(kProto, 6)
      .U(kSrcPort, 1234)
      .U(kDstPort, 80);
  return m;
}

constexpr char kBaseRecord[] =
    R"({"ts":1755245595,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","src_port":1234,)"
    R"("dst_port":80,"proto":6,"bytes":66,"packets":3})";

// --- JSON -> FlowMessage: the same records -----------------------------------

// Lines beyond the fixture: IPv6 forms, IPv4-mapped, missing and zero
// fields, counters at their maximum, types and ranges at their edges. Two
// lines are split into adjacent literals to fit the line width.
// NOLINTBEGIN(bugprone-suspicious-missing-comma)
const char* const kEdgeLines[] = {
    R"({"type":"IPFIX","src_addr":"2001:db8::1","dst_addr":"::ffff:10.1.2.3","proto":"TCP"})",
    R"({"type":"IPFIX","src_addr":"::","dst_addr":"::1","proto":"UDP","src_port":65535})",
    R"({"type":"IPFIX","src_addr":"1::","dst_addr":"fe80::1:0:0:1","in_if":4294967295})",
    R"({"type":"IPFIX","src_addr":"2001:0:0:1::1","dst_addr":"1:0:2:0:3:0:4:0"})",
    R"({"type":"IPFIX","src_addr":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff","dst_addr":"::ffff:0.0.0.0"})",
    R"({"type":"NETFLOW_V5","src_addr":"0.0.0.0","dst_addr":"255.255.255.255"})",
    R"({"src_addr":"10.0.0.1","dst_addr":"10.0.0.2"})",
    R"({"type":"NETFLOW_V9","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","bytes":0,"packets":0,)"
    R"("src_port":0,"dst_port":0,"proto":0,"in_if":0,"out_if":0,"time_flow_start_ns":0})",
    R"({"type":"NETFLOW_V9","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","bytes":18446744073709551615,)"
    R"("packets":18446744073709551615,"time_flow_start_ns":18446744073709551615,"out_if":4294967295})",
    R"({"type":"NETFLOW_V9","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","time_received_ns":1999999999999999999})",
    R"({"type":"NETFLOW_V9","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","proto":255,"src_port":70000})",
    R"({"type":"NETFLOW_V9","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","dst_port":65536})",
    R"({"type":"NETFLOW_V9","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","proto":256})",
    R"({"type":"NETFLOW_V9","dst_addr":"10.0.0.2"})",
    R"({"type":"NETFLOW_V9","src_addr":"10.0.0.2"})",
    R"({"type":"SFLOW_5","src_addr":"10.0.0.1","dst_addr":"10.0.0.2"})",
    R"({"type":"SFLOW_5"})",
    R"({"type":"FLOWUNKNOWN","src_addr":"10.0.0.1","dst_addr":"10.0.0.2"})",
};
// NOLINTEND(bugprone-suspicious-missing-comma)

std::vector<std::string> EquivalenceLines() {
  std::vector<std::string> lines =
      testing::ReadFixtureLines("goflow2/sample.jsonl").value_or(std::vector<std::string>{});
  for (const char* l : kEdgeLines) lines.emplace_back(l);
  return lines;
}

TEST(FlowMessageTest, SameRecordsAsTheJsonLines) {
  const std::vector<std::string> lines = EquivalenceLines();
  ASSERT_GE(lines.size(), 50u + std::size(kEdgeLines));
  auto parser = MakeLineParser(JsonParserKind::kSimdjson);
  int compared = 0, records = 0, filtered = 0, invalid = 0;
  for (const std::string& line : lines) {
    const std::string_view json = StripLine(line);
    const std::optional<std::string> message = MessageForJson(json);
    if (!message) continue;  // not a goflow2 object: nothing goflow2 would send
    ++compared;
    const Outcome want = FromJson(*parser, line);
    const Outcome got = FromMessage(*message);
    ExpectSameOutcome(line, want, got);
    records += got.result.verdict == LineVerdict::kRecord;
    filtered += got.result.verdict == LineVerdict::kFiltered;
    invalid += got.result.verdict == LineVerdict::kInvalid;
  }
  // Every verdict must have been exercised for the comparison to mean anything.
  EXPECT_GE(compared, 60);
  EXPECT_GE(records, 50);
  EXPECT_GE(filtered, 3);
  EXPECT_GE(invalid, 5);
}

TEST(FlowMessageTest, ContractExampleBytesIdentical) {
  auto fixture = testing::ReadFixtureLines("goflow2/sample.jsonl");
  auto expected = testing::ReadFixtureLines("goflow2/sample.expected.jsonl");
  ASSERT_TRUE(fixture && expected);
  const std::optional<std::string> message = MessageForJson((*fixture)[0]);
  ASSERT_TRUE(message);
  EXPECT_EQ(FromMessage(*message).json, (*expected)[0]);
}

// --- FlowMessage -> JSON: random messages, their goflow2 lines ---------------

// The address text goflow2 prints. inet_ntop agrees with Go's netip except
// for IPv4-compatible addresses (::a.b.c.d), which the generator avoids.
std::string AddrText(const std::string& bytes) {
  char buf[INET6_ADDRSTRLEN];
  const int family = bytes.size() == 4 ? AF_INET : AF_INET6;
  return inet_ntop(family, bytes.data(), buf, sizeof buf) ? buf : "?";
}

std::string RandomAddr(std::mt19937_64& rng) {
  std::string b;
  switch (rng() % 6) {
    case 0:
      return "";  // missing
    case 1:
      b.assign(16, '\0');  // zero runs of every length
      for (int g = 0; g < 8; ++g) {
        if (rng() % 2) {
          b[2 * g] = static_cast<char>(rng() % 3 == 0 ? rng() : 0);
          b[2 * g + 1] = static_cast<char>(rng());
        }
      }
      if (b.compare(0, 12, std::string(12, '\0')) == 0) b[0] = 0x20;  // not ::a.b.c.d
      return b;
    case 2:
      return AddrBytes("::ffff:" + AddrText(std::string(4, static_cast<char>(rng()))));
    case 3:
      b.resize(16);
      for (char& c : b) c = static_cast<char>(rng());
      return b;
    default:
      b.resize(4);
      for (char& c : b) c = static_cast<char>(rng() % 3 == 0 ? 0 : rng());
      return b;
  }
}

uint64_t RandomNumber(std::mt19937_64& rng, uint64_t range) {
  switch (rng() % 4) {
    case 0:
      return 0;
    case 1:
      return range;  // the largest valid value (or past it)
    default:
      return range == ~0ull ? rng() : rng() % (range + 1);
  }
}

TEST(FlowMessageTest, RandomMessagesMatchTheirGoflow2Lines) {
  static const char* const kTypeNames[] = {"FLOWUNKNOWN", "SFLOW_5", "NETFLOW_V5",
                                           "NETFLOW_V9",  "IPFIX",   "5"};
  std::mt19937_64 rng(5);
  auto parser = MakeLineParser(JsonParserKind::kSimdjson);
  int records = 0;
  for (int i = 0; i < 4000; ++i) {
    const uint64_t type = rng() % 8 < 6 ? 2 + rng() % 3 : rng() % 6;
    const std::string src = RandomAddr(rng), dst = RandomAddr(rng);
    const uint64_t start = RandomNumber(rng, ~0ull), received = RandomNumber(rng, ~0ull);
    const uint64_t bytes = RandomNumber(rng, ~0ull), packets = RandomNumber(rng, ~0ull);
    const uint64_t sport = RandomNumber(rng, 65536), dport = RandomNumber(rng, 65536);
    const uint64_t proto = RandomNumber(rng, 256);
    const uint64_t in_if = RandomNumber(rng, 0xffffffffu), out_if = RandomNumber(rng, 0xffffffffu);
    Message m;
    m.U(kType, type).U(kTimeFlowStartNs, start).U(kTimeReceivedNs, received).U(kBytes, bytes);
    m.U(kPackets, packets).B(kSrcAddr, src).B(kDstAddr, dst).U(kSrcPort, sport);
    m.U(kDstPort, dport).U(kProto, proto).U(kInIf, in_if).U(kOutIf, out_if);
    // goflow2's JSON writes every field, zero or not; an absent address is "".
    std::string line =
        std::string(R"({"type":")") + kTypeNames[type] + "\"" +
        ",\"time_flow_start_ns\":" + std::to_string(start) +
        ",\"time_received_ns\":" + std::to_string(received) +
        ",\"bytes\":" + std::to_string(bytes) + ",\"packets\":" + std::to_string(packets) +
        ",\"src_addr\":\"" + (src.empty() ? "" : AddrText(src)) + "\",\"dst_addr\":\"" +
        (dst.empty() ? "" : AddrText(dst)) + "\",\"src_port\":" + std::to_string(sport) +
        ",\"dst_port\":" + std::to_string(dport) + ",\"proto\":" + std::to_string(proto) +
        ",\"in_if\":" + std::to_string(in_if) + ",\"out_if\":" + std::to_string(out_if) + "}";
    const Outcome want = FromJson(*parser, line);
    const Outcome got = FromMessage(m.bytes());
    ExpectSameOutcome(line, want, got);
    if (::testing::Test::HasFailure()) break;
    records += got.result.verdict == LineVerdict::kRecord;
  }
  EXPECT_GT(records, 500);
}

// --- address text ------------------------------------------------------------

std::string Text(const std::string& bytes) {
  IpText t;
  EXPECT_TRUE(FormatIpBytes(bytes, &t));
  return std::string(t.view());
}

TEST(FlowMessageTest, AddressTextIsGoNetip) {
  EXPECT_EQ(Text(AddrBytes("192.168.65.1")), "192.168.65.1");
  EXPECT_EQ(Text(AddrBytes("::ffff:1.2.3.4")), "::ffff:1.2.3.4");
  // Go prints IPv4-compatible addresses in hex, unlike inet_ntop's ::1.2.3.4.
  EXPECT_EQ(Text(AddrBytes("::1.2.3.4")), "::102:304");
  EXPECT_EQ(Text(AddrBytes("::")), "::");
  EXPECT_EQ(Text(AddrBytes("::1")), "::1");
  EXPECT_EQ(Text(AddrBytes("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");  // one zero group
  EXPECT_EQ(Text(AddrBytes("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");     // first of equals
  EXPECT_EQ(Text(AddrBytes("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");           // longest run
  EXPECT_EQ(Text(AddrBytes("2001:DB8:ABCD::")), "2001:db8:abcd::");
  EXPECT_EQ(Text(AddrBytes("0:0:0:0:0:ffff:ffff:ffff")), "::ffff:255.255.255.255");
  IpText t;
  EXPECT_FALSE(FormatIpBytes("abc", &t));
  EXPECT_FALSE(FormatIpBytes(std::string(15, '\1'), &t));
  EXPECT_FALSE(FormatIpBytes("", &t));
}

// --- the wire format ---------------------------------------------------------

TEST(FlowMessageTest, BaseMessageMaps) { EXPECT_EQ(FromMessage(Base().bytes()).json, kBaseRecord); }

TEST(FlowMessageTest, UnknownFieldsAreSkippedByWireType) {
  Message m = Base();
  m.Fixed64(5).Fixed32(8).U(999, 1).B(1000, "x").Fixed32(1500).Fixed64(70000);
  m.U((uint64_t{1} << 29) - 1, 3).B(kAsPath, Varint(1) + Varint(300));
  EXPECT_EQ(FromMessage(m.bytes()).json, kBaseRecord);
}

TEST(FlowMessageTest, UnusedContractFieldsAreReadAndIgnored) {
  Message m = Base();
  m.U(kSamplingRate, 100).U(kSequenceNum, 7).B(kSamplerAddress, AddrBytes("192.168.65.1"));
  m.U(kEtype, 0x800).U(kTimeFlowEndNs, 1755245596000000000ull);
  EXPECT_EQ(FromMessage(m.bytes()).json, kBaseRecord);
}

TEST(FlowMessageTest, LastOccurrenceWins) {
  Message m = Base();
  m.U(kSrcPort, 99).B(kSrcAddr, AddrBytes("2001:db8::7")).U(kType, 1).U(kType, 4);
  const std::string json = FromMessage(m.bytes()).json;
  EXPECT_NE(json.find(R"("src_ip":"2001:db8::7")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("src_port":99,)"), std::string::npos) << json;
}

TEST(FlowMessageTest, EmptyAndUnknownTypesAreFiltered) {
  EXPECT_EQ(FromMessage("").result.verdict, LineVerdict::kFiltered);
  for (uint64_t type : {0, 1, 5, 100}) {
    Message m = Base();
    m.Raw(Tag(kType, 0) + Varint(type));  // explicit, even 0, so it overrides Base()'s type
    EXPECT_EQ(FromMessage(m.bytes()).result.verdict, LineVerdict::kFiltered) << type;
  }
  Message no_type;
  no_type.B(kSrcAddr, AddrBytes("10.0.0.1")).B(kDstAddr, AddrBytes("10.0.0.2"));
  EXPECT_EQ(FromMessage(no_type.bytes()).result.verdict, LineVerdict::kFiltered);
  // Filtering wins over a bad address, as for JSON lines.
  Message sflow;
  sflow.U(kType, 1).B(kSrcAddr, "abc");
  EXPECT_EQ(FromMessage(sflow.bytes()).result.verdict, LineVerdict::kFiltered);
}

TEST(FlowMessageTest, Uint32FieldsKeepTheLow32Bits) {
  // A varint beyond 32 bits in a uint32 field, as every protobuf parser reads it.
  Message m = Base();
  m.U(kSrcPort, (uint64_t{1} << 32) + 443).U(kType, (uint64_t{1} << 32) + 2);
  const std::string json = FromMessage(m.bytes()).json;
  EXPECT_NE(json.find(R"("src_port":443,)"), std::string::npos) << json;
}

TEST(FlowMessageTest, ProtoNumberWithoutAnIanaKeywordIsKept) {
  Message m = Base();
  m.U(kProto, 200);
  const Outcome o = FromMessage(m.bytes());
  EXPECT_NE(o.json.find(R"("proto":200,)"), std::string::npos) << o.json;
  EXPECT_FALSE(o.result.unknown_proto);
}

TEST(FlowMessageTest, BadAddressesAreInvalid) {
  Message three = Base();
  three.B(kSrcAddr, "\x0a\x00\x01");
  EXPECT_EQ(Invalid(three.bytes()), "src_addr is not 4 or 16 bytes");
  Message five = Base();
  five.B(kDstAddr, std::string(5, '\x01'));
  EXPECT_EQ(Invalid(five.bytes()), "dst_addr is not 4 or 16 bytes");
  // An empty address is an absent one (proto3 cannot tell them apart).
  Message empty = Base();
  empty.Raw(Tag(kSrcAddr, 2) + Varint(0));
  EXPECT_EQ(Invalid(empty.bytes()), "src_addr is missing");
}

TEST(FlowMessageTest, MalformedWireFormatIsInvalid) {
  const std::string base = Base().bytes();
  EXPECT_EQ(Invalid(base + Tag(kBytes, 0)), "bad varint");               // value missing
  EXPECT_EQ(Invalid(base + Tag(kBytes, 0) + "\x80\x80"), "bad varint");  // truncated varint
  EXPECT_EQ(Invalid(base + "\x80"), "bad varint");                       // truncated tag
  EXPECT_EQ(Invalid(base + Tag(kBytes, 0) + std::string(10, '\xff') + "\x01"), "bad varint");
  EXPECT_EQ(Invalid(base + Tag(kBytes, 0) + std::string(9, '\xff') + "\x02"), "bad varint");
  EXPECT_EQ(Invalid(base + Tag(kSrcAddr, 2) + Varint(5) + "\x01\x02"),
            "a field runs past the end of the message");
  EXPECT_EQ(Invalid(base + Tag(1000, 2) + Varint(uint64_t{1} << 40)),
            "a field runs past the end of the message");
  EXPECT_EQ(Invalid(base + Tag(1000, 1) + "1234567"), "a field runs past the end of the message");
  EXPECT_EQ(Invalid(base + Tag(1000, 5) + "123"), "a field runs past the end of the message");
  EXPECT_EQ(Invalid(base + Tag(kSrcAddr, 0) + Varint(1)), "a known field has the wrong wire type");
  EXPECT_EQ(Invalid(base + Tag(kSrcPort, 2) + Varint(1) + "x"),
            "a known field has the wrong wire type");
  EXPECT_EQ(Invalid(base + Tag(kTimeFlowStartNs, 1) + "12345678"),
            "a known field has the wrong wire type");
  EXPECT_EQ(Invalid(base + Tag(kSequenceNum, 5) + "1234"), "a known field has the wrong wire type");
  EXPECT_EQ(Invalid(base + Tag(kSamplerAddress, 0) + Varint(1)),
            "a known field has the wrong wire type");
  EXPECT_EQ(Invalid(base + Tag(0, 0) + Varint(1)), "bad field number");
  EXPECT_EQ(Invalid(base + Varint(uint64_t{1} << 32)), "bad field number");
  EXPECT_EQ(Invalid(base + Tag(1000, 3) + Tag(1000, 4)), "unsupported wire type");  // group
  EXPECT_EQ(Invalid(base + Tag(1000, 6)), "unsupported wire type");
  // A ten-byte varint holding 2^64-1 is well-formed.
  EXPECT_EQ(FromMessage(base + Tag(999, 0) + std::string(9, '\xff') + "\x01").json, kBaseRecord);
}

// --- framed chunks -----------------------------------------------------------

struct ChunkResult {
  ParseCounts counts;
  std::vector<std::string> records;
  std::vector<std::string> reasons;
};

ChunkResult ParseChunk(const LineChunk& chunk) {
  ChunkResult r;
  RecordChunk out;
  ParseDelimitedProtobufChunk(chunk, &out, &r.counts, [&](std::string_view, std::string_view why) {
    r.reasons.emplace_back(why);
  });
  for (const FlowRecord& rec : out.records) {
    std::string json;
    AppendFlowRecordJson(rec, &json);
    r.records.push_back(std::move(json));
  }
  EXPECT_EQ(r.counts.lines, r.counts.records + r.counts.filtered + r.counts.invalid);
  EXPECT_EQ(r.counts.records, out.records.size());
  EXPECT_EQ(r.counts.invalid, r.reasons.size());
  return r;
}

std::string WithPort(uint64_t port) {
  Message m = Base();
  m.U(kDstPort, port);
  return m.Delimited();
}

std::string RecordWithPort(uint64_t port) {
  std::string s = kBaseRecord;
  s.replace(s.find("\"dst_port\":80"), 13, "\"dst_port\":" + std::to_string(port));
  return s;
}

LineChunk Framed(const std::vector<std::string>& values) {
  LineChunk chunk;
  StartFramedChunk(&chunk);
  for (const std::string& v : values) EXPECT_TRUE(AppendFramedValue(&chunk, v));
  return chunk;
}

TEST(FramedChunkTest, AppendKeepsPaddingAndTheFormat) {
  LineChunk chunk;
  chunk.format = ChunkFormat::kJsonLines;  // a recycled chunk from another source
  chunk.size = 99;
  chunk.data.assign(10, 'x');
  StartFramedChunk(&chunk);
  EXPECT_EQ(chunk.size, 0u);
  EXPECT_EQ(chunk.format, ChunkFormat::kDelimitedProtobuf);
  size_t want_size = 0;
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(AppendFramedValue(&chunk, WithPort(i)));
    want_size += FramedValueBytes(WithPort(i).size());
    EXPECT_EQ(chunk.size, want_size);
    EXPECT_GE(chunk.data.size(), chunk.size + kLinePadding);
  }
  const auto first = static_cast<char>(WithPort(1).size());
  EXPECT_EQ(std::string_view(chunk.data).substr(0, 4), std::string({first, 0, 0, 0}));
  const ChunkResult r = ParseChunk(chunk);
  ASSERT_EQ(r.records.size(), 100u);
  EXPECT_EQ(r.records[41], RecordWithPort(42));
}

TEST(FramedChunkTest, PoisonedValueCountsOneInvalidAndSparesTheOthers) {
  const std::vector<std::string> poisons = {
      Varint(50) + Base().bytes(),               // length past the end of the value
      "\xff\xff",                                // truncated length varint
      Base().Delimited() + "\x05\x01",           // a good message, then a short one
      WithPort(7) + std::string(11, '\xff'),     // a good message, then a bad varint
      "",                                        // no message at all
      Varint(4) + Tag(kSrcAddr, 0) + Varint(1),  // framed, but not a FlowMessage
  };
  for (size_t i = 0; i < poisons.size(); ++i) {
    SCOPED_TRACE(i);
    const ChunkResult r = ParseChunk(Framed({WithPort(1), WithPort(2), poisons[i], WithPort(3)}));
    EXPECT_EQ(r.counts.invalid, 1u);
    ASSERT_GE(r.records.size(), 3u);
    EXPECT_EQ(r.records.front(), RecordWithPort(1));
    EXPECT_EQ(r.records[1], RecordWithPort(2));
    EXPECT_EQ(r.records.back(), RecordWithPort(3));
  }
}

TEST(FramedChunkTest, AValueMayHoldSeveralMessages) {
  Message sflow;
  sflow.U(kType, 1);
  const ChunkResult r =
      ParseChunk(Framed({WithPort(1) + WithPort(2) + sflow.Delimited() + Varint(0), WithPort(3)}));
  EXPECT_EQ(r.counts.lines, 5u);
  EXPECT_EQ(r.counts.filtered, 2u);  // SFLOW_5, and the empty message
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[1], RecordWithPort(2));
}

TEST(FramedChunkTest, TruncatedFramingCountsOneInvalid) {
  LineChunk chunk = Framed({WithPort(1), WithPort(2)});
  chunk.size -= 3;  // the last value's bytes run past the end of the chunk
  ChunkResult r = ParseChunk(chunk);
  EXPECT_EQ(r.records, std::vector<std::string>{RecordWithPort(1)});
  EXPECT_EQ(r.counts.invalid, 1u);
  chunk.size = FramedValueBytes(WithPort(1).size()) + 2;  // half a header
  r = ParseChunk(chunk);
  EXPECT_EQ(r.counts.records, 1u);
  EXPECT_EQ(r.counts.invalid, 1u);
}

TEST(FramedChunkTest, EmptyChunkCountsNothing) {
  const ChunkResult r = ParseChunk(Framed({}));
  EXPECT_EQ(r.counts.lines, 0u);
}

TEST(FramedChunkTest, ReasonsNameTheFramingProblem) {
  // The last value: one SFLOW_5 message, then a length with nothing after it.
  const ChunkResult r = ParseChunk(Framed({"", "\x80", "\x05\x01", "\x02\x08\x01\x02"}));
  EXPECT_EQ(r.reasons, (std::vector<std::string>{"empty message value", "bad message length varint",
                                                 "message length past the end",
                                                 "message length past the end"}));
  EXPECT_EQ(r.counts.filtered, 0u);  // a value that does not frame cleanly is one invalid unit
  EXPECT_EQ(r.counts.lines, 4u);
}

TEST(FramedChunkTest, GarbageValueCountsOnceHoweverManyFramesItSeemsToHold) {
  // A value whose first bytes frame a good FlowMessage and whose rest is a
  // JSON line: one bad message, not a record plus an invalid.
  const std::string json =
      R"({"type":"NETFLOW_V5","time_received_ns":1,"bytes":"\x01\x02","packets":3,"proto":"TCP"})";
  const ChunkResult r = ParseChunk(Framed({WithPort(1), WithPort(7) + json, WithPort(2)}));
  EXPECT_EQ(r.counts.lines, 3u);
  EXPECT_EQ(r.counts.invalid, 1u);
  EXPECT_EQ(r.records, (std::vector<std::string>{RecordWithPort(1), RecordWithPort(2)}));
}

}  // namespace
}  // namespace nf2
