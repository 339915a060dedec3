// docs/contract.md §1-2: one goflow2 JSON line in, one flows.v1 record (or a
// verdict) out. Every case runs against both JSON back ends.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "stages/flows/flow_record.h"
#include "stages/flows/flow_record_json.h"
#include "stages/goflow2/line_parser.h"
#include "stages/goflow2/record_builder.h"
#include "tests/support/fixtures.h"

namespace nf2 {
namespace {

// The record of docs/contract.md §1 and its flows.v1 form from §2, verbatim.
constexpr char kContractLine[] =
    R"({"type":"NETFLOW_V5","time_received_ns":1755636366839794752,"sequence_num":3915400858,"sampling_rate":0,)"
    R"("sampler_address":"192.168.65.1","time_flow_start_ns":1755245595022470127,"time_flow_end_ns":1755245595051470127,)"
    R"("bytes":66,"packets":2176909475,"src_addr":"193.192.249.98","dst_addr":"195.43.108.180","etype":"IPv4",)"
    R"("proto":"HOPOPT","src_port":0,"dst_port":3894,"in_if":0,"out_if":7451,"src_mac":"00:00:00:00:00:00",)"
    R"("dst_mac":"00:00:00:00:00:00","src_vlan":0,"dst_vlan":0,"vlan_id":0,"ip_tos":233,"forwarding_status":0,)"
    R"("ip_ttl":0,"ip_flags":0,"tcp_flags":63,"icmp_type":0,"icmp_code":0,"ipv6_flow_label":0,"fragment_id":0,)"
    R"("fragment_offset":0,"src_as":317,"dst_as":24552,"next_hop":"253.147.37.253","next_hop_as":0,)"
    R"("src_net":"invalid Prefix","dst_net":"invalid Prefix","bgp_next_hop":"","bgp_communities":[],"as_path":[],)"
    R"("mpls_ttl":[],"mpls_label":[],"mpls_ip":[],"observation_domain_id":0,"observation_point_id":0,)"
    R"("layer_stack":[],"layer_size":[],"ipv6_routing_header_addresses":[],"ipv6_routing_header_seg_left":0})";
constexpr char kContractRecord[] =
    R"({"ts":1755245595,"src_ip":"193.192.249.98","dst_ip":"195.43.108.180","src_port":0,)"
    R"("dst_port":3894,"proto":0,"bytes":66,"packets":2176909475,"egress_if":7451})";

// A goflow2 object as an ordered list of (key, raw JSON value).
class Obj {
 public:
  Obj() = default;
  // The fields every valid test record starts from.
  static Obj Base() {
    Obj o;
    o.Set("type", R"("NETFLOW_V9")")
        .Set("time_received_ns", "1755636366839794752")
        .Set("time_flow_start_ns", "1755245595022470127")
        .Set("bytes", "66")
        .Set("packets", "3")
        .Set("src_addr", R"("10.0.0.1")")
        .Set("dst_addr", R"("10.0.0.2")")
        .Set("proto", R"("TCP")")
        .Set("src_port", "1234")
        .Set("dst_port", "80");
    return o;
  }
  // Replaces the value of `key` (in place), or appends it.
  Obj& Set(const std::string& key, const std::string& raw) {
    for (auto& kv : fields_) {
      if (kv.first == key) {
        kv.second = raw;
        return *this;
      }
    }
    fields_.emplace_back(key, raw);
    return *this;
  }
  // Appends even when the key exists (a duplicate key).
  Obj& Add(const std::string& key, const std::string& raw) {
    fields_.emplace_back(key, raw);
    return *this;
  }
  Obj& Erase(const std::string& key) {
    std::erase_if(fields_, [&](const auto& kv) { return kv.first == key; });
    return *this;
  }
  Obj& Reverse() {
    std::reverse(fields_.begin(), fields_.end());
    return *this;
  }
  std::string Str() const {
    std::string s = "{";
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (i) s += ',';
      s += '"' + fields_[i].first + "\":" + fields_[i].second;
    }
    return s + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

std::string Q(const std::string& s) { return '"' + s + '"'; }

// The flows.v1 text docs/contract.md §2 prescribes, built independently of the
// serializer under test: compact, fixed key order, interfaces only when
// non-zero.
struct Want {
  uint64_t ts = 1755245595;
  std::string src = "10.0.0.1";
  std::string dst = "10.0.0.2";
  uint64_t src_port = 1234;
  uint64_t dst_port = 80;
  uint64_t proto = 6;
  uint64_t bytes = 66;
  uint64_t packets = 3;
  uint64_t in_if = 0;
  uint64_t out_if = 0;

  std::string Str() const {
    std::ostringstream o;
    o << "{\"ts\":" << ts << R"(,"src_ip":")" << src << R"(","dst_ip":")" << dst
      << R"(","src_port":)" << src_port << ",\"dst_port\":" << dst_port << ",\"proto\":" << proto
      << ",\"bytes\":" << bytes << ",\"packets\":" << packets;
    if (in_if) o << ",\"ingress_if\":" << in_if;
    if (out_if) o << ",\"egress_if\":" << out_if;
    o << "}";
    return o.str();
  }
};

struct Outcome {
  ParseResult result;
  std::string json;  // the serialized record when verdict is kRecord
};

Outcome ParseLine(LineParser& parser, std::string_view line) {
  Outcome o;
  FlowRecord rec;
  o.result = ParseGoflow2LineCopy(parser, line, &rec);
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

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

class MappingTest : public ::testing::TestWithParam<JsonParserKind> {
 protected:
  void SetUp() override { parser_ = MakeLineParser(GetParam()); }

  Outcome Parse(std::string_view line) { return ParseLine(*parser_, line); }

  void ExpectRecord(std::string_view line, const std::string& want) {
    Outcome o = Parse(line);
    EXPECT_EQ(o.result.verdict, LineVerdict::kRecord)
        << "line: " << Printable(line) << "\nerror: " << o.result.error;
    EXPECT_EQ(o.json, want) << "line: " << Printable(line);
  }
  void ExpectInvalid(std::string_view line) {
    Outcome o = Parse(line);
    EXPECT_EQ(o.result.verdict, LineVerdict::kInvalid)
        << "line: " << Printable(line) << "\ngot: " << VerdictName(o.result.verdict) << " "
        << o.json;
    if (o.result.verdict == LineVerdict::kInvalid) {
      EXPECT_FALSE(o.result.error.empty()) << "an invalid line says why: " << Printable(line);
    }
  }

  std::unique_ptr<LineParser> parser_;
};

INSTANTIATE_TEST_SUITE_P(BothParsers, MappingTest,
                         ::testing::Values(JsonParserKind::kSimdjson, JsonParserKind::kRapidjson),
                         [](const auto& param_info) {
                           return param_info.param == JsonParserKind::kSimdjson ? "simdjson"
                                                                                : "rapidjson";
                         });

// --- §1/§2: the documented example ----------------------------------------

TEST_P(MappingTest, ContractExample) {
  ExpectRecord(kContractLine, kContractRecord);
  EXPECT_FALSE(Parse(kContractLine).result.unknown_proto);
}

TEST_P(MappingTest, BaseObjectMaps) { ExpectRecord(Obj::Base().Str(), Want().Str()); }

// --- §1: line framing --------------------------------------------------------

TEST_P(MappingTest, ContainerLogPrefixIsStripped) {
  const std::string line = kContractLine;
  ExpectRecord("collector-1  | " + line, kContractRecord);
  ExpectRecord("nf2-collector-1 | " + line, kContractRecord);
  ExpectRecord("  collector-1  | " + line, kContractRecord);
  ExpectRecord("collector-1  |   " + line, kContractRecord);
  ExpectRecord("collector-1  | " + line + "\r\n", kContractRecord);
  // The prefix is everything up to the first "| ", whatever it holds.
  ExpectRecord("x\xff\xfe | " + line, kContractRecord);
}

TEST_P(MappingTest, PrefixEndsAtFirstBarSpace) {
  // After the first "| " the rest must be the object itself.
  ExpectInvalid("a | b | " + Obj::Base().Str());
  ExpectInvalid("collector-1  |" + Obj::Base().Str());  // no "| "
  ExpectInvalid("collector-1 " + Obj::Base().Str());    // no bar at all
}

TEST_P(MappingTest, BarInsideAnObjectIsNotAPrefix) {
  // The line starts with '{': no prefix stripping even if "| " occurs.
  ExpectRecord(Obj::Base().Set("etype", Q("a | b")).Str(), Want().Str());
}

TEST_P(MappingTest, LeadingAndTrailingBlanks) {
  const std::string line = Obj::Base().Str();
  ExpectRecord("   " + line, Want().Str());
  ExpectRecord("\t \t" + line, Want().Str());
  ExpectRecord(line + "   ", Want().Str());
  ExpectRecord(line + "\t", Want().Str());
}

TEST_P(MappingTest, CrlfIsIgnored) {
  const std::string line = Obj::Base().Str();
  ExpectRecord(line + "\r", Want().Str());
  ExpectRecord(line + "\r\n", Want().Str());
  ExpectRecord(line + " \r\n", Want().Str());
  ExpectRecord(line + "\r \n", Want().Str());
  ExpectRecord("  " + line + " \r", Want().Str());
}

TEST_P(MappingTest, BlankLinesAreInvalid) {
  ExpectInvalid("");
  ExpectInvalid(" ");
  ExpectInvalid("\t  \t");
  ExpectInvalid("\r");
  ExpectInvalid("\r\n");
  ExpectInvalid("collector-1  | ");
  ExpectInvalid("collector-1  |   \r");
}

TEST_P(MappingTest, Goflow2LogLinesAreInvalid) {
  ExpectInvalid(
      R"(time="2025-08-22T00:54:01Z" level=info msg="starting collection" blocking=false count=1 )"
      R"(hostname= port=2055 queue_size=1000000 scheme=netflow workers=2)");
  ExpectInvalid(R"(collector-1  | time="2025-08-22T00:54:01Z" level=info msg="starting GoFlow2")");
  ExpectInvalid("collector-1 exited with code 0");
}

TEST_P(MappingTest, TruncatedJsonIsInvalid) {
  const std::string line = kContractLine;
  for (size_t n :
       {size_t{1}, size_t{2}, size_t{30}, line.size() / 2, line.size() - 2, line.size() - 1}) {
    ExpectInvalid(line.substr(0, n));
  }
  ExpectInvalid(R"({"type":"NETFLOW_V9","time_flow_start_ns":1755245595022470127,"bytes":1)");
  ExpectInvalid(R"({"type":"NETFLOW_V9","src_addr":"10.0.0.1","dst_addr":"10.0.0.2")");
  ExpectInvalid(R"({"type":"NETFLOW_V9","src_addr":"10.0.0.1","dst_addr":"10.0)");
}

TEST_P(MappingTest, TrailingGarbageIsInvalid) {
  const std::string line = Obj::Base().Str();
  ExpectInvalid(line + "x");
  ExpectInvalid(line + " x");
  ExpectInvalid(line + "}");
  ExpectInvalid(line + ",");
  ExpectInvalid(line + " 1");
  ExpectInvalid(line + line);
  ExpectInvalid(line + " " + line);
  ExpectInvalid(line + "\r\nx");
}

TEST_P(MappingTest, NonObjectTopLevelIsInvalid) {
  const std::string line = Obj::Base().Str();
  for (const std::string& bad :
       {"[" + line + "]", std::string("42"), std::string("[]"), std::string("\"text\""),
        std::string("null"), std::string("true"), "collector-1  | [" + line + "]",
        std::string("collector-1  | 42")}) {
    ExpectInvalid(bad);
  }
}

TEST_P(MappingTest, ParserItselfRejectsNonObjects) {
  // Past line framing: the JSON back end must refuse a non-object root too.
  const std::string line = Obj::Base().Str();
  for (const std::string& bad : {"[" + line + "]", std::string("42"), std::string("[1,2]"),
                                 std::string("\"text\""), std::string("null")}) {
    std::string padded = bad + std::string(kLinePadding, ' ');
    FlowRecord rec;
    ParseResult r =
        parser_->ParseJson(std::string_view(padded.data(), bad.size()), padded.size(), &rec);
    EXPECT_EQ(r.verdict, LineVerdict::kInvalid) << bad;
  }
}

TEST_P(MappingTest, InvalidUtf8IsInvalid) {
  // In a key or value the mapping ignores, and in one it uses.
  const std::vector<std::string> bad = {
      "\xff",
      "\xfe\xff",
      "\x80",
      "\xc0\xaf",          // overlong '/'
      "\xed\xa0\x80",      // UTF-8-encoded surrogate
      "\xe2\x82",          // truncated sequence
      "\xf4\x90\x80\x80",  // above U+10FFFF
  };
  for (const std::string& b : bad) {
    ExpectInvalid(Obj::Base().Set("sampler_address", Q("1" + b + "2")).Str());
    ExpectInvalid(Obj::Base().Set("src_net", Q(b)).Str());
    ExpectInvalid(Obj::Base().Set("x" + b, "0").Str());
    ExpectInvalid(Obj::Base().Set("etype", "[" + Q(b) + "]").Str());
    ExpectInvalid(Obj::Base().Set("proto", Q("TCP" + b)).Str());
    ExpectInvalid(Obj::Base().Set("type", Q("IPFIX" + b)).Str());
  }
  // Valid multi-byte UTF-8 in ignored places is fine.
  ExpectRecord(
      Obj::Base().Set("sampler_address", Q("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")).Str(),
      Want().Str());
}

// --- §1: type ---------------------------------------------------------------

TEST_P(MappingTest, SflowIsFiltered) {
  Outcome o = Parse(Obj::Base().Set("type", Q("SFLOW_5")).Str());
  EXPECT_EQ(o.result.verdict, LineVerdict::kFiltered);
  EXPECT_TRUE(o.json.empty());
  // The fixture's sFlow line.
  o = Parse(
      R"({"type":"SFLOW_5","time_received_ns":1755636366839794752,"src_addr":"10.1.1.1","dst_addr":"10.2.2.2","proto":"TCP"})");
  EXPECT_EQ(o.result.verdict, LineVerdict::kFiltered);
  o = Parse("collector-1  | " + Obj::Base().Set("type", Q("SFLOW_5")).Str() + "\r\n");
  EXPECT_EQ(o.result.verdict, LineVerdict::kFiltered);
}

TEST_P(MappingTest, NetflowTypesAreMapped) {
  for (const char* type : {"NETFLOW_V5", "NETFLOW_V9", "IPFIX"}) {
    ExpectRecord(Obj::Base().Set("type", Q(type)).Str(), Want().Str());
  }
}

TEST_P(MappingTest, MissingTypeIsMapped) {
  ExpectRecord(Obj::Base().Erase("type").Str(), Want().Str());
}

// --- §2: addresses -----------------------------------------------------------

TEST_P(MappingTest, ValidAddresses) {
  for (const char* ip : {"0.0.0.0", "10.0.0.1", "255.255.255.255", "193.192.249.98", "2001:db8::1",
                         "::1", "::", "::ffff:1.2.3.4", "fe80::1", "2001:db8:0:1:2:3:4:5",
                         "2001:DB8::ABCD", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"}) {
    Want w;
    w.src = ip;
    ExpectRecord(Obj::Base().Set("src_addr", Q(ip)).Str(), w.Str());
    w = Want();
    w.dst = ip;
    ExpectRecord(Obj::Base().Set("dst_addr", Q(ip)).Str(), w.Str());
  }
}

TEST_P(MappingTest, InvalidAddresses) {
  const std::vector<std::string> bad = {
      Q(""),
      Q("1.2.3"),
      Q("256.1.1.1"),
      Q("fe80::1%eth0"),
      Q("hello"),
      Q("1.2.3.4.5"),
      Q("1.2.3.4/24"),
      Q("2001:db8:::1"),
      Q("invalid Prefix"),
      Q(":::"),
      Q("1:2:3:4:5:6:7:8:9"),
      "167772161",
      "0",
      "-1",
      "1.5",
      "null",
      "true",
      "[]",
      "{}",
      R"(["10.0.0.1"])",
  };
  for (const std::string& v : bad) {
    ExpectInvalid(Obj::Base().Set("src_addr", v).Str());
    ExpectInvalid(Obj::Base().Set("dst_addr", v).Str());
  }
}

TEST_P(MappingTest, MissingAddressIsInvalid) {
  ExpectInvalid(Obj::Base().Erase("src_addr").Str());
  ExpectInvalid(Obj::Base().Erase("dst_addr").Str());
  ExpectInvalid(Obj::Base().Erase("src_addr").Erase("dst_addr").Str());
  ExpectInvalid("{}");
}

// --- §2: ports ---------------------------------------------------------------

TEST_P(MappingTest, PortBounds) {
  for (uint64_t port : {uint64_t{0}, uint64_t{1}, uint64_t{65535}}) {
    Want w;
    w.src_port = port;
    ExpectRecord(Obj::Base().Set("src_port", std::to_string(port)).Str(), w.Str());
    w = Want();
    w.dst_port = port;
    ExpectRecord(Obj::Base().Set("dst_port", std::to_string(port)).Str(), w.Str());
  }
}

TEST_P(MappingTest, BadPortsAreInvalid) {
  for (const char* v : {"65536", "4294967296", "18446744073709551615", "18446744073709551616", "-1",
                        "80.5", "80.0", "8e1", R"("80")", "null", "true", "[80]", R"({"p":80})"}) {
    ExpectInvalid(Obj::Base().Set("src_port", v).Str());
    ExpectInvalid(Obj::Base().Set("dst_port", v).Str());
  }
}

TEST_P(MappingTest, MissingPortsAreZero) {
  Want w;
  w.src_port = 0;
  ExpectRecord(Obj::Base().Erase("src_port").Str(), w.Str());
  w = Want();
  w.dst_port = 0;
  ExpectRecord(Obj::Base().Erase("dst_port").Str(), w.Str());
}

// --- §2: proto ---------------------------------------------------------------

TEST_P(MappingTest, ProtoNamesMapToIanaNumbers) {
  const std::vector<std::pair<const char*, uint64_t>> table = {
      {"TCP", 6},        {"UDP", 17},    {"ICMP", 1},     {"GRE", 47},   {"ESP", 50},
      {"IPv6-ICMP", 58}, {"ICMPv6", 58}, {"HOPOPT", 0},   {"SCTP", 132}, {"AH", 51},
      {"IPv6", 41},      {"IGMP", 2},    {"OSPFIGP", 89}, {"PIM", 103},  {"IPv6-Frag", 44},
  };
  for (const auto& [name, number] : table) {
    Want w;
    w.proto = number;
    Outcome o = Parse(Obj::Base().Set("proto", Q(name)).Str());
    EXPECT_EQ(o.result.verdict, LineVerdict::kRecord) << name;
    EXPECT_EQ(o.json, w.Str()) << name;
    EXPECT_FALSE(o.result.unknown_proto) << name;
  }
}

TEST_P(MappingTest, NumericProtoPassesThrough) {
  for (const char* v : {"17", R"("17")", "0", "255", R"("255")"}) {
    Want w;
    w.proto = std::stoull(std::string(v[0] == '"' ? v + 1 : v));
    Outcome o = Parse(Obj::Base().Set("proto", v).Str());
    EXPECT_EQ(o.result.verdict, LineVerdict::kRecord) << v;
    EXPECT_EQ(o.json, w.Str()) << v;
    EXPECT_FALSE(o.result.unknown_proto) << v;
  }
}

TEST_P(MappingTest, BadProtoIsInvalid) {
  for (const char* v : {"256", "1000", "-1", "6.0", "null", "true", "[6]", R"({"p":6})"}) {
    ExpectInvalid(Obj::Base().Set("proto", v).Str());
  }
}

TEST_P(MappingTest, UnknownProtoNameIsZeroAndCounted) {
  // Unknown names, and known names in the wrong case (names are case-sensitive).
  for (const char* name : {"NOT-A-PROTOCOL", "tcp", "Tcp", "udp", "", "ipv6-icmp"}) {
    Want w;
    w.proto = 0;
    Outcome o = Parse(Obj::Base().Set("proto", Q(name)).Str());
    EXPECT_EQ(o.result.verdict, LineVerdict::kRecord) << name;
    EXPECT_EQ(o.json, w.Str()) << name;
    EXPECT_TRUE(o.result.unknown_proto) << name;
  }
}

TEST_P(MappingTest, MissingProtoIsZeroAndNotUnknown) {
  Want w;
  w.proto = 0;
  Outcome o = Parse(Obj::Base().Erase("proto").Str());
  EXPECT_EQ(o.result.verdict, LineVerdict::kRecord);
  EXPECT_EQ(o.json, w.Str());
  EXPECT_FALSE(o.result.unknown_proto);
}

// --- §2: counters ------------------------------------------------------------

TEST_P(MappingTest, CountersAreExactUnsigned64) {
  for (uint64_t v :
       {uint64_t{0}, uint64_t{1}, uint64_t{9007199254740993ull}, uint64_t{9223372036854775807ull},
        uint64_t{9223372036854775808ull}, uint64_t{18446744073709551615ull}}) {
    Want w;
    w.bytes = v;
    ExpectRecord(Obj::Base().Set("bytes", std::to_string(v)).Str(), w.Str());
    w = Want();
    w.packets = v;
    ExpectRecord(Obj::Base().Set("packets", std::to_string(v)).Str(), w.Str());
  }
  // The fixture line: both counters above 2^53 at once.
  Want w;
  w.bytes = 18446744073709551615ull;
  w.packets = 9007199254740993ull;
  ExpectRecord(
      Obj::Base().Set("bytes", "18446744073709551615").Set("packets", "9007199254740993").Str(),
      w.Str());
}

TEST_P(MappingTest, BadCountersAreInvalid) {
  for (const char* v : {"18446744073709551616", "100000000000000000000", "-1", "1.5", "1e3",
                        R"("66")", "null", "false", "[]", "{}"}) {
    ExpectInvalid(Obj::Base().Set("bytes", v).Str());
    ExpectInvalid(Obj::Base().Set("packets", v).Str());
  }
}

TEST_P(MappingTest, MissingCountersAreZero) {
  Want w;
  w.bytes = 0;
  ExpectRecord(Obj::Base().Erase("bytes").Str(), w.Str());
  w = Want();
  w.packets = 0;
  ExpectRecord(Obj::Base().Erase("packets").Str(), w.Str());
}

// --- §2: ts ------------------------------------------------------------------

TEST_P(MappingTest, TsIsFlooredSeconds) {
  const std::vector<std::pair<uint64_t, uint64_t>> cases = {{1755245595022470127ull, 1755245595},
                                                            {1755245595999999999ull, 1755245595},
                                                            {1755245595000000000ull, 1755245595},
                                                            {1000000000, 1},
                                                            {999999999, 0},
                                                            {1, 0},
                                                            {18446744073709551615ull, 18446744073}};
  for (const auto& [ns, s] : cases) {
    Want w;
    w.ts = s;
    ExpectRecord(Obj::Base().Set("time_flow_start_ns", std::to_string(ns)).Str(), w.Str());
  }
}

TEST_P(MappingTest, TsFallsBackToTimeReceived) {
  Want w;
  w.ts = 1755636366;  // time_received_ns of Base()
  ExpectRecord(Obj::Base().Set("time_flow_start_ns", "0").Str(), w.Str());
  ExpectRecord(Obj::Base().Erase("time_flow_start_ns").Str(), w.Str());
  // Order of the two keys does not matter.
  ExpectRecord(Obj::Base()
                   .Erase("time_received_ns")
                   .Set("time_flow_start_ns", "0")
                   .Set("time_received_ns", "1755636366839794752")
                   .Str(),
               w.Str());
}

TEST_P(MappingTest, TsIsZeroWhenBothTimesAbsent) {
  Want w;
  w.ts = 0;
  ExpectRecord(Obj::Base().Erase("time_flow_start_ns").Erase("time_received_ns").Str(), w.Str());
  ExpectRecord(Obj::Base().Set("time_flow_start_ns", "0").Erase("time_received_ns").Str(), w.Str());
  ExpectRecord(Obj::Base().Set("time_flow_start_ns", "0").Set("time_received_ns", "0").Str(),
               w.Str());
}

TEST_P(MappingTest, BadTimesAreInvalid) {
  for (const char* v :
       {"18446744073709551616", "-1", "1.5e18", R"("1755245595022470127")", "null"}) {
    ExpectInvalid(Obj::Base().Set("time_flow_start_ns", v).Str());
    ExpectInvalid(Obj::Base().Set("time_received_ns", v).Str());
  }
}

// --- §2: interfaces ----------------------------------------------------------

TEST_P(MappingTest, InterfacesOnlyWhenNonZero) {
  {
    Want w;  // absent
    ExpectRecord(Obj::Base().Str(), w.Str());
    ExpectRecord(Obj::Base().Set("in_if", "0").Set("out_if", "0").Str(), w.Str());
  }
  {
    Want w;
    w.in_if = 7;
    ExpectRecord(Obj::Base().Set("in_if", "7").Set("out_if", "0").Str(), w.Str());
  }
  {
    Want w;
    w.out_if = 9;
    ExpectRecord(Obj::Base().Set("in_if", "0").Set("out_if", "9").Str(), w.Str());
  }
  {
    Want w;
    w.in_if = 4294967295u;
    w.out_if = 4294967295u;
    ExpectRecord(Obj::Base().Set("in_if", "4294967295").Set("out_if", "4294967295").Str(), w.Str());
  }
  {
    // Key order in the output is fixed whatever the input order.
    Want w;
    w.in_if = 1;
    w.out_if = 2;
    ExpectRecord(Obj::Base().Set("out_if", "2").Set("in_if", "1").Str(), w.Str());
  }
}

TEST_P(MappingTest, BadInterfacesAreInvalid) {
  for (const char* v :
       {"4294967296", "18446744073709551615", "-1", "1.5", R"("7")", "null", "[]"}) {
    ExpectInvalid(Obj::Base().Set("in_if", v).Str());
    ExpectInvalid(Obj::Base().Set("out_if", v).Str());
  }
}

// --- §1/§2: keys -------------------------------------------------------------

TEST_P(MappingTest, UnknownKeysAreIgnoredWhateverTheirValue) {
  for (const char* v :
       {"null", "true", "false", "-5", "-9223372036854775808", "18446744073709551615", "1.5",
        "-0.0", "1.7976931348623157e308", "18446744073709551616.0", R"("")", R"("\u0000\"\\")",
        "[]", "{}", R"([1,[2,[3,{"a":null}]]])", R"({"a":{"b":[1,2,{"c":-1}]}})",
        R"({"src_addr":"bogus","bytes":-1,"proto":999,"src_port":"x"})",
        R"([{"src_addr":""},"dst_addr",-1])"}) {
    ExpectRecord(Obj::Base().Set("unknown_key", v).Str(), Want().Str());
    // Also first, before the keys that are used.
    std::string line = "{\"zzz\":" + std::string(v) + "," + Obj::Base().Str().substr(1);
    ExpectRecord(line, Want().Str());
  }
}

TEST_P(MappingTest, UnusedGoflow2KeysAreIgnoredWhateverTheirValue) {
  // Keys goflow2 writes but the mapping does not use.
  for (const char* key :
       {"sequence_num", "time_flow_end_ns", "sampling_rate", "sampler_address", "etype", "src_mac",
        "src_as", "next_hop", "src_net", "ip_tos", "tcp_flags", "as_path", "layer_stack"}) {
    for (const char* v : {"-1", "null", R"("x")", "[-1]", "{}", "0.5", "1e300"}) {
      ExpectRecord(Obj::Base().Set(key, v).Str(), Want().Str());
    }
  }
}

TEST_P(MappingTest, KeyOrderDoesNotMatter) {
  Want w;
  w.in_if = 3;
  w.out_if = 4;
  Obj o = Obj::Base().Set("in_if", "3").Set("out_if", "4").Set("etype", Q("IPv4"));
  ExpectRecord(o.Str(), w.Str());
  ExpectRecord(o.Reverse().Str(), w.Str());
  // The contract example, keys reversed.
  Obj example;
  // Parse keys off the contract line by hand: rebuild it reversed.
  example.Set("ipv6_routing_header_seg_left", "0")
      .Set("out_if", "7451")
      .Set("in_if", "0")
      .Set("dst_port", "3894")
      .Set("src_port", "0")
      .Set("proto", Q("HOPOPT"))
      .Set("dst_addr", Q("195.43.108.180"))
      .Set("src_addr", Q("193.192.249.98"))
      .Set("packets", "2176909475")
      .Set("bytes", "66")
      .Set("time_flow_end_ns", "1755245595051470127")
      .Set("time_flow_start_ns", "1755245595022470127")
      .Set("time_received_ns", "1755636366839794752")
      .Set("type", Q("NETFLOW_V5"));
  ExpectRecord(example.Str(), kContractRecord);
}

TEST_P(MappingTest, DuplicateKeyLastWins) {
  {
    Want w;
    w.bytes = 2;
    ExpectRecord(Obj::Base().Set("bytes", "1").Add("bytes", "2").Str(), w.Str());
  }
  {
    Want w;
    w.src = "::1";
    ExpectRecord(Obj::Base().Add("src_addr", Q("::1")).Str(), w.Str());
    w.src = "10.9.8.7";
    ExpectRecord(
        Obj::Base().Set("src_addr", Q("2001:db8:0:1:2:3:4:5")).Add("src_addr", Q("10.9.8.7")).Str(),
        w.Str());
  }
  {
    // A bad value overridden by a good one, and the reverse.
    Want w;
    w.src_port = 80;
    ExpectRecord(Obj::Base().Set("src_port", "-1").Add("src_port", "80").Str(), w.Str());
    ExpectRecord(Obj::Base().Set("src_port", "70000").Add("src_port", "80").Str(), w.Str());
    ExpectInvalid(Obj::Base().Set("src_port", "80").Add("src_port", "-1").Str());
    ExpectInvalid(Obj::Base().Set("src_port", "80").Add("src_port", "70000").Str());
  }
  {
    Want w;
    w.dst = "10.0.0.9";
    ExpectRecord(Obj::Base().Set("dst_addr", Q("bogus")).Add("dst_addr", Q("10.0.0.9")).Str(),
                 w.Str());
    ExpectInvalid(Obj::Base().Add("dst_addr", Q("")).Str());
  }
  {
    Want w;
    w.proto = 17;
    Outcome o = Parse(Obj::Base().Set("proto", Q("NOPE")).Add("proto", Q("UDP")).Str());
    EXPECT_EQ(o.json, w.Str());
    EXPECT_FALSE(o.result.unknown_proto);
    w.proto = 0;
    o = Parse(Obj::Base().Set("proto", Q("UDP")).Add("proto", Q("NOPE")).Str());
    EXPECT_EQ(o.json, w.Str());
    EXPECT_TRUE(o.result.unknown_proto);
  }
  {
    // Last type wins too.
    Outcome o = Parse(Obj::Base().Set("type", Q("SFLOW_5")).Add("type", Q("IPFIX")).Str());
    EXPECT_EQ(o.result.verdict, LineVerdict::kRecord);
    o = Parse(Obj::Base().Add("type", Q("SFLOW_5")).Str());
    EXPECT_EQ(o.result.verdict, LineVerdict::kFiltered);
  }
}

TEST_P(MappingTest, NullForAUsedNumericFieldIsInvalid) {
  for (const char* key : {"time_flow_start_ns", "time_received_ns", "bytes", "packets", "src_port",
                          "dst_port", "proto", "in_if", "out_if"}) {
    ExpectInvalid(Obj::Base().Set(key, "null").Str());
  }
}

TEST_P(MappingTest, EscapedStringsAreUnescaped) {
  // JSON escapes in values the mapping reads.
  Want w;
  w.src = "10.0.0.1";
  w.proto = 17;
  ExpectRecord(
      Obj::Base().Set("src_addr", R"("10.0.0.\u0031")").Set("proto", R"("\u0055DP")").Str(),
      w.Str());
  // Escaped key names are the same keys.
  w = Want();
  w.bytes = 99;
  ExpectRecord(Obj::Base().Set("byt\\u0065s", "99").Erase("bytes").Str(), w.Str());
}

// --- lines that once split the two back ends -------------------------------

TEST_P(MappingTest, IgnoredKeysWithIntegersOutside64BitsAreIgnored) {
  // §1/§2: unknown keys and keys the mapping does not use "are ignored
  // whatever their value" — including integers no 64-bit type holds.
  for (const char* key : {"unknown_key", "sequence_num", "time_flow_end_ns", "src_as"}) {
    for (const char* v :
         {"18446744073709551616", "123456789012345678901234567890", "-9223372036854775809",
          R"([18446744073709551616])", R"({"a":-99999999999999999999})"}) {
      ExpectRecord(Obj::Base().Set(key, v).Str(), Want().Str());
    }
  }
}

TEST_P(MappingTest, NulAfterTheObjectIsTrailingGarbage) {
  // §1: junk after the object makes the line invalid; a NUL byte is junk.
  const std::string line = Obj::Base().Str();
  ExpectInvalid(line + std::string(1, '\0'));
  ExpectInvalid(line + std::string(1, '\0') + "garbage");
  ExpectInvalid(line + std::string(1, '\0') + line);
  ExpectInvalid(line + " " + std::string(3, '\0'));
}

TEST_P(MappingTest, DeeplyNestedIgnoredValueIsIgnored) {
  // §2: an ignored key's value does not matter, however deeply nested.
  ExpectRecord(Obj::Base().Set("x", std::string(500, '[') + std::string(500, ']')).Str(),
               Want().Str());
  ExpectRecord(Obj::Base().Set("x", std::string(1100, '[') + std::string(1100, ']')).Str(),
               Want().Str());
}

TEST_P(MappingTest, PathologicalNestingDoesNotCrash) {
  // §1: "A bad line is counted and skipped; it never stops the stream." A
  // line of ~1 MB (the default MAX_LINE_BYTES) that is nothing but nesting
  // must get a verdict, not take the process down.
  const JsonParserKind kind = GetParam();
  EXPECT_EXIT(
      {
        auto parser = MakeLineParser(kind);
        for (int depth : {500000, 600000}) {
          const std::string line =
              Obj::Base().Set("x", std::string(depth, '[') + std::string(depth, ']')).Str();
          FlowRecord rec;
          ParseResult r = ParseGoflow2LineCopy(*parser, line, &rec);
          if (r.verdict == LineVerdict::kFiltered) std::exit(3);
          // Unterminated nesting is certainly invalid.
          r = ParseGoflow2LineCopy(*parser, "{\"x\":" + std::string(depth, '['), &rec);
          if (r.verdict != LineVerdict::kInvalid) std::exit(4);
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

// --- both parsers agree -------------------------------------------------------

// Inputs whose verdict the contract leaves to interpretation: whatever it is,
// the two back ends must agree.
TEST(ParsersAgree, OnEdgeCases) {
  auto simd = MakeLineParser(JsonParserKind::kSimdjson);
  auto rapid = MakeLineParser(JsonParserKind::kRapidjson);
  const std::vector<std::string> lines = {
      Obj::Base().Set("src_port", "-0").Str(),
      Obj::Base().Set("bytes", "-0").Str(),
      Obj::Base().Set("bytes", "0.0").Str(),
      Obj::Base().Set("bytes", "1E2").Str(),
      Obj::Base().Set("bytes", "00").Str(),
      Obj::Base().Set("bytes", "01").Str(),
      Obj::Base().Set("bytes", "+1").Str(),
      Obj::Base().Set("type", "null").Str(),
      Obj::Base().Set("type", "5").Str(),
      Obj::Base().Set("type", Q("netflow_v5")).Str(),
      Obj::Base().Set("type", Q("")).Str(),
      Obj::Base().Set("proto", Q("256")).Str(),
      Obj::Base().Set("proto", Q("-1")).Str(),
      Obj::Base().Set("proto", Q(" 6")).Str(),
      Obj::Base().Set("proto", Q("06")).Str(),
      Obj::Base().Set("src_addr", Q(" 10.0.0.1")).Str(),
      Obj::Base().Set("src_addr", Q("010.0.0.1")).Str(),
      Obj::Base().Set("src_addr", Q("10.0.0.1\\u0000")).Str(),
      Obj::Base().Set("src_addr", Q("::ffff:1.2.3.4:5")).Str(),
      Obj::Base().Set("src_addr", Q(std::string(46, '1'))).Str(),
      Obj::Base().Set("sampler_address", R"("\ud800")").Str(),
      Obj::Base().Set("sampler_address", R"("\udc00\ud800")").Str(),
      Obj::Base().Set("sampler_address", R"("\ud83d\ude00")").Str(),
      Obj::Base().Set("sampler_address", R"("\x")").Str(),
      Obj::Base().Set("sampler_address", std::string("\"a\tb\"")).Str(),
      Obj::Base().Set("sampler_address", std::string("\"a\x01z\"")).Str(),
      Obj::Base().Set("sampler_address", std::string("\"a\x7fz\"")).Str(),
      Obj::Base().Set("nested", std::string(100, '[') + std::string(100, ']')).Str(),
      Obj::Base().Set("huge", "1e400").Str(),
      Obj::Base().Set("huge", "-1e400").Str(),
      Obj::Base().Add("bytes", "null").Str(),
      Obj::Base().Set("bytes", "null").Add("bytes", "5").Str(),
      Obj::Base().Set("src_addr", "1").Add("src_addr", Q("10.0.0.3")).Str(),
      Obj::Base().Set("type", "1").Add("type", Q("IPFIX")).Str(),
      std::string(1, '\0') + Obj::Base().Str(),
      Obj::Base().Str().insert(1, 1, '\0'),
      Obj::Base().Str() + "\f",
      "\f" + Obj::Base().Str(),
      "\v" + Obj::Base().Str(),
      "\xef\xbb\xbf" + Obj::Base().Str(),  // UTF-8 BOM
      "{\"a\":1,}",
      "{,}",
      R"({"src_addr":"10.0.0.1" "dst_addr":"10.0.0.2"})",
      "{'src_addr':'10.0.0.1','dst_addr':'10.0.0.2'}",
      R"({"src_addr":"10.0.0.1","dst_addr":"10.0.0.2"})",
  };
  for (const std::string& line : lines) {
    Outcome a = ParseLine(*simd, line);
    Outcome b = ParseLine(*rapid, line);
    EXPECT_EQ(VerdictName(a.result.verdict), VerdictName(b.result.verdict))
        << "line: " << Printable(line) << "\nsimdjson: " << a.result.error
        << "\nrapidjson: " << b.result.error;
    EXPECT_EQ(a.json, b.json) << "line: " << Printable(line);
    EXPECT_EQ(a.result.unknown_proto, b.result.unknown_proto) << "line: " << Printable(line);
  }
}

std::vector<std::string> FixtureLines() {
  return testing::ReadFixtureLines("goflow2/sample.jsonl").value_or(std::vector<std::string>{});
}

std::string Mutate(std::string s, std::mt19937_64& rng) {
  static const std::string kInteresting = [] {
    std::string chars = "\"{}[],:-.0123456789eE+\\ \t\r\xff\x80\xc3\xa9|aAtfnul";
    chars.push_back('\0');
    return chars;
  }();
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const int rounds = 1 + static_cast<int>(pick(3));
  for (int r = 0; r < rounds; ++r) {
    if (s.empty()) s = "{";
    switch (pick(7)) {
      case 0:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 1:  // flip one bit
        s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 2:  // delete a byte
        s.erase(pick(s.size()), 1);
        break;
      case 3:  // replace a byte with an interesting one
        s[pick(s.size())] = kInteresting[pick(kInteresting.size())];
        break;
      case 4:  // insert an interesting byte
        s.insert(pick(s.size() + 1), 1, kInteresting[pick(kInteresting.size())]);
        break;
      case 5: {  // delete a span
        size_t at = pick(s.size());
        s.erase(at, 1 + pick(16));
        break;
      }
      case 6: {  // duplicate a span
        size_t at = pick(s.size());
        size_t len = 1 + pick(24);
        std::string span = s.substr(at, len);
        s.insert(pick(s.size() + 1), span);
        break;
      }
    }
  }
  return s;
}

TEST(ParsersAgree, OnMutatedFixtureLines) {
  std::vector<std::string> seeds = FixtureLines();
  ASSERT_GE(seeds.size(), 40u) << "fixture " << testing::FixturePath("goflow2/sample.jsonl")
                               << " is missing lines";
  seeds.emplace_back(kContractLine);
  seeds.push_back(Obj::Base().Set("in_if", "5").Set("out_if", "4294967295").Str());
  seeds.push_back(Obj::Base().Set("proto", "17").Set("src_addr", Q("::ffff:1.2.3.4")).Str());

  auto simd = MakeLineParser(JsonParserKind::kSimdjson);
  auto rapid = MakeLineParser(JsonParserKind::kRapidjson);
  std::mt19937_64 rng(20250822);
  int records = 0, invalid = 0, filtered = 0, disagreements = 0;
  constexpr int kCases = 6000;
  for (int i = 0; i < kCases; ++i) {
    const std::string line = Mutate(seeds[rng() % seeds.size()], rng);
    Outcome a = ParseLine(*simd, line);
    Outcome b = ParseLine(*rapid, line);
    const bool same = a.result.verdict == b.result.verdict && a.json == b.json &&
                      a.result.unknown_proto == b.result.unknown_proto;
    if (!same && ++disagreements <= 10) {
      ADD_FAILURE() << "parsers disagree on: " << Printable(line)
                    << "\nsimdjson: " << VerdictName(a.result.verdict) << " " << a.result.error
                    << " " << a.json << "\nrapidjson: " << VerdictName(b.result.verdict) << " "
                    << b.result.error << " " << b.json;
    }
    switch (a.result.verdict) {
      case LineVerdict::kRecord:
        ++records;
        break;
      case LineVerdict::kInvalid:
        ++invalid;
        break;
      case LineVerdict::kFiltered:
        ++filtered;
        break;
    }
  }
  EXPECT_EQ(disagreements, 0);
  // The corpus must exercise both outcomes to mean anything.
  EXPECT_GT(records, kCases / 20);
  EXPECT_GT(invalid, kCases / 5);
}

// Lookup's first step filters on first letter and length; every mapped key
// must still be found, and keys that pass the filter but differ must not.
TEST(RecordBuilderLookupTest, FindsEveryMappedKeyAndNothingElse) {
  for (const MappedKey& k : kMappedKeys)
    EXPECT_EQ(RecordBuilder::Lookup(k.name), k.field) << k.name;
  for (const char* other :
       {"time_flow_end_ns", "src_vlan", "dst_vlan", "src_mac", "etype", "in_iff", "in_i", "", "t",
        "TYPE", "type ", "\x80\x81", "sampler_address"}) {
    EXPECT_EQ(RecordBuilder::Lookup(other), Field::kNone) << other;
  }
  EXPECT_EQ(RecordBuilder::Lookup(std::string(70, 't')), Field::kNone);
  EXPECT_EQ(RecordBuilder::Lookup(std::string_view("src_addr\0", 9)), Field::kNone);
}

}  // namespace
}  // namespace nf2
