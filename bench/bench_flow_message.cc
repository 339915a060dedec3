// goflow2 protobuf (`-format=bin`) decoders compared on the same messages,
// one thread, records per CPU second (items_per_second):
//   BM_Protobuf_Hand         ParseDelimitedProtobufChunk, the production path
//                            (framing + hand decoder + mapping)
//   BM_Protobuf_Libprotobuf  the same framing and mapping, each message parsed
//                            by libprotobuf into a generated class that holds
//                            only the fields the mapping knows (flowpb.proto)
//   BM_JsonLines_Simdjson    ParseLineChunk on the goflow2 JSON lines the
//                            messages were made from (nf2ingest's default)
//
// The corpus is NF2_BENCH_RECORDS (default 1024) flowgen lines; each becomes
// a goflow2-shaped FlowMessage (libprotobuf serializes it), one per Kafka
// value, in 256 KiB chunks. At start-up all three paths must give the same
// records, or the benchmark exits.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_support.h"
#include "flowpb.pb.h"
#include "rapidjson/document.h"
#include "stages/flows/flow_record_json.h"
#include "stages/flows/proto_table.h"
#include "stages/goflow2/flow_message.h"
#include "stages/goflow2/line_parser.h"
#include "stages/ingest/chunk_stages.h"

namespace nf2::bench {
namespace {

constexpr size_t kChunkBytes = 256 * 1024;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "bench_flow_message: %s\n", why.c_str());
  std::exit(1);
}

std::string AddrBytes(const std::string& text) {
  unsigned char buf[16];
  const bool v6 = text.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), buf) != 1) return "";
  return std::string(reinterpret_cast<char*>(buf), v6 ? 16 : 4);
}

uint64_t U64(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsUint64() ? it->value.GetUint64() : 0;
}

std::string Str(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// goflow2 writes the IANA name (flowgen sometimes the number, as custom
// mappings do); a name without a number is what the JSON path maps to 0.
uint32_t ProtoNumber(const rapidjson::Value& o) {
  auto it = o.FindMember("proto");
  if (it == o.MemberEnd()) return 0;
  if (it->value.IsUint()) return it->value.GetUint();
  const std::string name = Str(o, "proto");
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    return static_cast<uint32_t>(std::stoul(name));
  }
  return ProtoNumberFromName(name).value_or(0);
}

uint32_t FlowType(const std::string& name) {
  if (name == "NETFLOW_V5") return 2;
  if (name == "NETFLOW_V9") return 3;
  if (name == "IPFIX") return 4;
  return name == "SFLOW_5" ? 1 : 0;
}

// The FlowMessage goflow2 would have sent for one of its JSON lines.
std::string MessageForLine(std::string_view line) {
  rapidjson::Document d;
  d.Parse(line.data(), line.size());
  if (d.HasParseError() || !d.IsObject()) Die("flowgen wrote a line that is not an object");
  nf2bench::Goflow2FlowMessage m;
  m.set_type(FlowType(Str(d, "type")));
  m.set_time_received_ns(U64(d, "time_received_ns"));
  m.set_sequence_num(static_cast<uint32_t>(U64(d, "sequence_num")));
  m.set_sampling_rate(U64(d, "sampling_rate"));
  m.set_sampler_address(AddrBytes(Str(d, "sampler_address")));
  m.set_time_flow_start_ns(U64(d, "time_flow_start_ns"));
  m.set_time_flow_end_ns(U64(d, "time_flow_end_ns"));
  m.set_bytes(U64(d, "bytes"));
  m.set_packets(U64(d, "packets"));
  m.set_src_addr(AddrBytes(Str(d, "src_addr")));
  m.set_dst_addr(AddrBytes(Str(d, "dst_addr")));
  m.set_etype(Str(d, "etype") == "IPv6" ? 0x86dd : 0x800);
  m.set_proto(ProtoNumber(d));
  m.set_src_port(static_cast<uint32_t>(U64(d, "src_port")));
  m.set_dst_port(static_cast<uint32_t>(U64(d, "dst_port")));
  m.set_in_if(static_cast<uint32_t>(U64(d, "in_if")));
  m.set_out_if(static_cast<uint32_t>(U64(d, "out_if")));
  m.set_src_mac(0x0242ac110002);
  m.set_dst_mac(0x0242ac110003);
  m.set_ip_tos(static_cast<uint32_t>(U64(d, "ip_tos")));
  m.set_tcp_flags(static_cast<uint32_t>(U64(d, "tcp_flags")));
  m.set_src_as(static_cast<uint32_t>(U64(d, "src_as")));
  m.set_dst_as(static_cast<uint32_t>(U64(d, "dst_as")));
  m.set_next_hop(AddrBytes(Str(d, "next_hop")));
  std::string message = m.SerializeAsString();
  std::string value;
  for (uint64_t n = message.size();; n >>= 7) {  // the varint length prefix
    value.push_back(static_cast<char>(n < 0x80 ? n : (n & 0x7f) | 0x80));
    if (n < 0x80) break;
  }
  return value + message;
}

struct Corpus {
  std::vector<std::unique_ptr<LineChunk>> lines;   // goflow2 JSON
  std::vector<std::unique_ptr<LineChunk>> framed;  // the same flows as FlowMessages
  std::string expected;                            // every record, serialized
  uint64_t records = 0;
};

std::vector<std::unique_ptr<LineChunk>> FrameMessages(std::string_view text) {
  std::vector<std::unique_ptr<LineChunk>> chunks;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string value = MessageForLine(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (chunks.empty() || chunks.back()->size + FramedValueBytes(value.size()) > kChunkBytes) {
      chunks.push_back(std::make_unique<LineChunk>());
      StartFramedChunk(chunks.back().get());
    }
    AppendFramedValue(chunks.back().get(), value);
  }
  return chunks;
}

// The libprotobuf decoder: the production framing and mapping around
// MappedFlowMessage::ParseFromArray (one message object, reused).
void ParseChunkWithLibprotobuf(const LineChunk& chunk, nf2bench::MappedFlowMessage* m,
                               RecordChunk* out, ParseCounts* counts) {
  FramedValueReader values(chunk.lines());
  std::string_view value, message;
  FlowRecord rec;
  while (values.Next(&value)) {
    DelimitedMessageReader messages(value);
    while (messages.Next(&message) == DelimitedMessageReader::Step::kMessage) {
      ++counts->lines;
      if (!m->ParseFromArray(message.data(), static_cast<int>(message.size()))) {
        ++counts->invalid;
        continue;
      }
      FlowMessageFields f;
      f.type = m->type();
      f.time_received_ns = m->time_received_ns();
      f.time_flow_start_ns = m->time_flow_start_ns();
      f.bytes = m->bytes();
      f.packets = m->packets();
      f.in_if = m->in_if();
      f.out_if = m->out_if();
      f.proto = m->proto();
      f.src_port = m->src_port();
      f.dst_port = m->dst_port();
      f.src_addr = m->src_addr();
      f.dst_addr = m->dst_addr();
      if (MapFlowMessage(f, &rec).verdict == LineVerdict::kRecord) {
        out->records.push_back(rec);
        ++counts->records;
      }
    }
  }
}

std::string Serialize(const RecordChunk& rc) {
  std::string s;
  for (const FlowRecord& r : rc.records) AppendFlowRecordJson(r, &s);
  return s;
}

// Every path must give the records of the JSON lines.
void CheckSameRecords(const Corpus& c) {
  std::string hand, lib;
  nf2bench::MappedFlowMessage m;
  for (const auto& chunk : c.framed) {
    RecordChunk a, b;
    ParseCounts ca, cb;
    ParseDelimitedProtobufChunk(*chunk, &a, &ca, nullptr);
    ParseChunkWithLibprotobuf(*chunk, &m, &b, &cb);
    hand += Serialize(a);
    lib += Serialize(b);
  }
  if (hand != c.expected) {
    size_t at = 0;
    while (at < hand.size() && at < c.expected.size() && hand[at] == c.expected[at]) ++at;
    const size_t from = at < 200 ? 0 : at - 200;
    Die("the hand decoder's records differ from the JSON lines': " + hand.substr(from, 300) +
        "\nvs\n" + c.expected.substr(from, 300));
  }
  if (lib != c.expected) Die("libprotobuf's records differ from the JSON lines'");
}

const Corpus& TheCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    const std::string text =
        GenerateCorpus(EnvU64("NF2_BENCH_RECORDS", 1024), EnvU64("NF2_BENCH_SEED", 1));
    c->lines = SplitIntoChunks(text, kChunkBytes);
    c->framed = FrameMessages(text);
    auto parser = MakeLineParser(JsonParserKind::kSimdjson);
    for (const auto& chunk : c->lines) {
      RecordChunk rc;
      ParseCounts counts;
      ParseLineChunk(*parser, *chunk, &rc, &counts, nullptr);
      c->records += rc.records.size();
      c->expected += Serialize(rc);
    }
    CheckSameRecords(*c);
    return c;
  }();
  return *corpus;
}

template <typename ParseFn>
void RunOverChunks(benchmark::State& state, const std::vector<std::unique_ptr<LineChunk>>& chunks,
                   ParseFn parse) {
  RecordChunk out;
  out.records.reserve(8192);
  size_t i = 0;
  int64_t records = 0;
  double input_bytes = 0;
  for (const auto& c : chunks) input_bytes += static_cast<double>(c->size);
  state.counters["input_bytes_per_record"] = input_bytes / static_cast<double>(TheCorpus().records);
  for (auto _ : state) {
    out.records.clear();
    ParseCounts counts;
    parse(*chunks[i], &out, &counts);
    records += static_cast<int64_t>(counts.records);
    benchmark::DoNotOptimize(out.records.data());
    i = (i + 1) % chunks.size();
  }
  state.SetItemsProcessed(records);
}

void BM_Protobuf_Hand(benchmark::State& state) {
  RunOverChunks(state, TheCorpus().framed, [](const LineChunk& c, RecordChunk* o, ParseCounts* n) {
    ParseDelimitedProtobufChunk(c, o, n, nullptr);
  });
}

void BM_Protobuf_Libprotobuf(benchmark::State& state) {
  nf2bench::MappedFlowMessage m;
  RunOverChunks(state, TheCorpus().framed, [&](const LineChunk& c, RecordChunk* o, ParseCounts* n) {
    ParseChunkWithLibprotobuf(c, &m, o, n);
  });
}

void BM_JsonLines_Simdjson(benchmark::State& state) {
  auto parser = MakeLineParser(JsonParserKind::kSimdjson);
  RunOverChunks(state, TheCorpus().lines, [&](const LineChunk& c, RecordChunk* o, ParseCounts* n) {
    ParseLineChunk(*parser, c, o, n, nullptr);
  });
}

BENCHMARK(BM_Protobuf_Hand);
BENCHMARK(BM_Protobuf_Libprotobuf);
BENCHMARK(BM_JsonLines_Simdjson);

}  // namespace
}  // namespace nf2::bench

BENCHMARK_MAIN();
