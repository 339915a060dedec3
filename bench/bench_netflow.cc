// NetFlow v5 / v9 / IPFIX decoding against the goflow2 JSON path, on the same
// flows, single thread, in records per CPU second of the thread:
//   BM_Decode/<format>  ParseDatagramChunk (or ParseLineChunk for json) over
//                       256 KiB chunks: what the parser pool does per chunk;
//   BM_Fused/<format>   decode + flows.v1 serialization + 5000-record bodies
//                       + gzip L1 (nf2ingest's default compressor), in one
//                       loop: the per-core ceiling of the whole job.
//
// The flows are NF2_BENCH_RECORDS (default 30000) flowgen lines parsed by
// the JSON path; the same records are then encoded as v5 (IPv4 flows only:
// v5 cannot carry IPv6; 30 per datagram), v9 and IPFIX (an IPv4 and an IPv6
// template, resent every 32 datagrams, datagrams up to 1400 bytes; v9 with
// uptime-relative times, IPFIX with flowStartMilliseconds). At start every
// datagram is decoded once and compared with the JSON path's flows.v1 output:
// a mismatch aborts the benchmark.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "stages/encode/gzip.h"
#include "stages/flows/flow_record_json.h"
#include "stages/ingest/chunk_stages.h"
#include "stages/netflow/datagram_chunk.h"
#include "stages/netflow/decoder.h"
#include "tests/support/netflow_datagrams.h"

namespace nf2::bench {
namespace {

using nf2::testing::Bytes;
using nf2::testing::Field;
using nf2::testing::Message;

constexpr size_t kBatchSize = 5000;
constexpr size_t kChunkBytes = 256 * 1024;
constexpr size_t kMaxDatagram = 1400;
constexpr uint32_t kUptimeMs = 500'000'000;
constexpr char kPrefix[] = "{\"records\":[";
constexpr char kSuffix[] = R"(],"collector_id":"gw-local","format":"flows.v1"})";
constexpr size_t kGzipThreshold = 51200;

enum class Format { kJson, kV5, kV9, kIpfix };

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "bench_netflow: %s\n", what);
  std::exit(1);
}

struct Address {
  bool v6 = false;
  uint8_t bytes[16] = {};
};

Address Parse(const IpText& text) {
  Address a;
  const std::string s(text.view());
  if (inet_pton(AF_INET, s.c_str(), a.bytes) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes) != 1)
    Die("address the JSON path accepted is not an address");
  return a;
}

// v5 cannot carry what v5 fields are too narrow for: the record as v5 sees it.
FlowRecord AsV5(FlowRecord r) {
  r.bytes = std::min<uint64_t>(r.bytes, UINT32_MAX);
  r.packets = std::min<uint64_t>(r.packets, UINT32_MAX);
  r.ingress_if = std::min<uint32_t>(r.ingress_if, UINT16_MAX);
  r.egress_if = std::min<uint32_t>(r.egress_if, UINT16_MAX);
  return r;
}

std::string V5Datagram(const std::vector<FlowRecord>& recs, uint32_t sequence) {
  uint64_t export_s = 0;
  for (const FlowRecord& r : recs) export_s = std::max(export_s, r.ts);
  Bytes b;
  b.u16(5).u16(recs.size()).u32(kUptimeMs).u32(export_s).u32(0).u32(sequence).u32(0);
  for (const FlowRecord& r : recs) {
    const Address s = Parse(r.src_ip), d = Parse(r.dst_ip);
    b.raw(std::string_view(reinterpret_cast<const char*>(s.bytes), 4));
    b.raw(std::string_view(reinterpret_cast<const char*>(d.bytes), 4));
    b.u32(0).u16(r.ingress_if).u16(r.egress_if).u32(r.packets).u32(r.bytes);
    b.u32(kUptimeMs - (export_s - r.ts) * 1000).u32(kUptimeMs).u16(r.src_port).u16(r.dst_port);
    b.u8(0).u8(0).u8(r.proto).u8(0).u32(0).u32(0);
  }
  return b.str();
}

std::vector<Field> TemplateFields(bool v6, bool ipfix) {
  std::vector<Field> f = {{static_cast<uint16_t>(v6 ? 27 : 8), static_cast<uint16_t>(v6 ? 16 : 4)},
                          {static_cast<uint16_t>(v6 ? 28 : 12), static_cast<uint16_t>(v6 ? 16 : 4)},
                          {7, 2},
                          {11, 2},
                          {4, 1},
                          {1, 8},
                          {2, 8},
                          {10, 4},
                          {14, 4}};
  if (ipfix) {
    f.push_back({152, 8});
    f.push_back({153, 8});
  } else {
    f.push_back({22, 4});
    f.push_back({21, 4});
  }
  return f;
}

std::string TemplatedRecord(const FlowRecord& r, uint32_t export_s, bool ipfix) {
  const Address s = Parse(r.src_ip), d = Parse(r.dst_ip);
  const size_t n = s.v6 ? 16 : 4;
  Bytes b;
  b.raw(std::string_view(reinterpret_cast<const char*>(s.bytes), n));
  b.raw(std::string_view(reinterpret_cast<const char*>(d.bytes), n));
  b.u16(r.src_port).u16(r.dst_port).u8(r.proto).u64(r.bytes).u64(r.packets);
  b.u32(r.ingress_if).u32(r.egress_if);
  if (ipfix) {
    b.u64(r.ts * 1000).u64(r.ts * 1000 + 500);
  } else {
    b.u32(kUptimeMs - (export_s - r.ts) * 1000).u32(kUptimeMs);
  }
  return b.str();
}

// v9/IPFIX datagrams for `recs`: IPv4 records under template 256, IPv6 under
// 257; `expected` gets the records in the order a decoder returns them.
std::vector<std::string> TemplatedDatagrams(const std::vector<FlowRecord>& recs, bool ipfix,
                                            std::vector<FlowRecord>* expected) {
  std::vector<std::string> out;
  uint64_t export_s = 0;
  for (const FlowRecord& r : recs) export_s = std::max(export_s, r.ts);
  const auto es = static_cast<uint32_t>(export_s);
  for (size_t i = 0; i < recs.size();) {
    Message m(ipfix ? 10 : 9, es, static_cast<uint32_t>(out.size()), 0, kUptimeMs);
    if (out.size() % 32 == 0) {
      m.Templates({{256, TemplateFields(false, ipfix)}, {257, TemplateFields(true, ipfix)}});
    }
    size_t bytes = 100;
    std::string v4, v6;
    std::vector<FlowRecord> v6_recs;
    for (; i < recs.size() && bytes < kMaxDatagram - 100; ++i) {
      const std::string rec = TemplatedRecord(recs[i], es, ipfix);
      if (Parse(recs[i].src_ip).v6) {
        v6 += rec;
        v6_recs.push_back(recs[i]);
      } else {
        v4 += rec;
        expected->push_back(recs[i]);
      }
      bytes += rec.size();
    }
    expected->insert(expected->end(), v6_recs.begin(), v6_recs.end());
    if (!v4.empty()) m.Data(256, v4);
    if (!v6.empty()) m.Data(257, v6);
    out.push_back(m.Build());
  }
  return out;
}

struct Corpus {
  std::vector<std::unique_ptr<LineChunk>> json;
  std::vector<std::unique_ptr<LineChunk>> v5, v9, ipfix;
};

std::vector<std::unique_ptr<LineChunk>> Chunks(const std::vector<std::string>& datagrams) {
  std::vector<std::unique_ptr<LineChunk>> chunks;
  const auto exporter = netflow::Exporter::FromIpv4(0x0A000001, 2055);
  for (const std::string& d : datagrams) {
    if (chunks.empty() || chunks.back()->size + d.size() > kChunkBytes) {
      chunks.push_back(std::make_unique<LineChunk>());
      netflow::ResetDatagramChunk(chunks.back().get());
    }
    netflow::AppendDatagram(chunks.back().get(), exporter, 1'700'000'000'000'000'000ull, d);
  }
  return chunks;
}

// Decodes every chunk once and compares with the expected flows.v1 text.
void Verify(const char* name, const std::vector<std::unique_ptr<LineChunk>>& chunks,
            const std::vector<FlowRecord>& expected) {
  netflow::Decoder decoder;
  RecordChunk out;
  ParseCounts counts;
  DatagramCounts dc;
  for (const auto& c : chunks) ParseDatagramChunk(decoder, *c, &out, &counts, &dc);
  if (out.records.size() != expected.size()) Die(name);
  std::string a, b;
  for (size_t i = 0; i < expected.size(); ++i) {
    a.clear();
    b.clear();
    AppendFlowRecordJson(out.records[i], &a);
    AppendFlowRecordJson(expected[i], &b);
    if (a != b) {
      std::fprintf(stderr, "%s record %zu:\n  decoded  %s\n  expected %s\n", name, i, a.c_str(),
                   b.c_str());
      Die("decoded flows differ from the JSON path's");
    }
  }
}

const Corpus& TheCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    const std::string text =
        GenerateCorpus(EnvU64("NF2_BENCH_RECORDS", 30000), EnvU64("NF2_BENCH_SEED", 1));
    c->json = SplitIntoChunks(text);
    auto parser = MakeLineParser(JsonParserKind::kSimdjson);
    RecordChunk all;
    ParseCounts counts;
    for (const auto& chunk : c->json) ParseLineChunk(*parser, *chunk, &all, &counts, nullptr);
    std::vector<FlowRecord> v4_only;
    for (const FlowRecord& r : all.records) {
      if (!Parse(r.src_ip).v6 && !Parse(r.dst_ip).v6) v4_only.push_back(AsV5(r));
    }
    std::vector<std::string> v5;
    for (size_t i = 0; i < v4_only.size(); i += 30) {
      const std::vector<FlowRecord> part(v4_only.begin() + i,
                                         v4_only.begin() + std::min(i + 30, v4_only.size()));
      v5.push_back(V5Datagram(part, static_cast<uint32_t>(i)));
    }
    c->v5 = Chunks(v5);
    // v9/IPFIX put IPv4 and IPv6 records of a datagram in two sets: expect that order.
    std::vector<std::string> v9, ipfix;
    std::vector<FlowRecord> expected_v9, expected_ipfix;
    for (size_t i = 0; i < all.records.size(); i += 1000) {
      const std::vector<FlowRecord> part(
          all.records.begin() + i, all.records.begin() + std::min(i + 1000, all.records.size()));
      for (const std::string& d : TemplatedDatagrams(part, false, &expected_v9)) v9.push_back(d);
      for (const std::string& d : TemplatedDatagrams(part, true, &expected_ipfix))
        ipfix.push_back(d);
    }
    c->v9 = Chunks(v9);
    c->ipfix = Chunks(ipfix);
    Verify("v5", c->v5, v4_only);
    Verify("v9", c->v9, expected_v9);
    Verify("ipfix", c->ipfix, expected_ipfix);
    std::fprintf(stderr,
                 "bench_netflow: %zu flows (%zu IPv4 for v5); %zu v5, %zu v9, %zu IPFIX datagrams, "
                 "all decoded as the JSON path maps them\n",
                 all.records.size(), v4_only.size(), v5.size(), v9.size(), ipfix.size());
    return c;
  }();
  return *corpus;
}

const std::vector<std::unique_ptr<LineChunk>>& ChunksOf(const Corpus& c, Format f) {
  switch (f) {
    case Format::kJson:
      return c.json;
    case Format::kV5:
      return c.v5;
    case Format::kV9:
      return c.v9;
    case Format::kIpfix:
      return c.ipfix;
  }
  return c.json;
}

// Parses or decodes one chunk into `out` (cleared first); returns records.
class ChunkDecoder {
 public:
  explicit ChunkDecoder(Format f)
      : format_(f), parser_(MakeLineParser(JsonParserKind::kSimdjson)) {}
  size_t Run(const LineChunk& chunk, RecordChunk* out) {
    out->records.clear();
    ParseCounts counts;
    if (format_ == Format::kJson) {
      ParseLineChunk(*parser_, chunk, out, &counts, nullptr);
    } else {
      ParseDatagramChunk(decoder_, chunk, out, &counts, &datagrams_);
    }
    return out->records.size();
  }

 private:
  Format format_;
  std::unique_ptr<LineParser> parser_;
  netflow::Decoder decoder_;
  DatagramCounts datagrams_;
};

void BM_Decode(benchmark::State& state, Format f) {
  const auto& chunks = ChunksOf(TheCorpus(), f);
  ChunkDecoder dec(f);
  RecordChunk out;
  int64_t records = 0;
  size_t i = 0;
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    records += static_cast<int64_t>(dec.Run(*chunks[i], &out));
    state.SetIterationTime(ThreadCpuSeconds() - t0);
    if (++i == chunks.size()) i = 0;
  }
  state.SetItemsProcessed(records);
}
BENCHMARK_CAPTURE(BM_Decode, json, Format::kJson)->UseManualTime();
BENCHMARK_CAPTURE(BM_Decode, v5, Format::kV5)->UseManualTime();
BENCHMARK_CAPTURE(BM_Decode, v9, Format::kV9)->UseManualTime();
BENCHMARK_CAPTURE(BM_Decode, ipfix, Format::kIpfix)->UseManualTime();

// decode + serialize + batch + gzip in one loop.
class Fused {
 public:
  explicit Fused(Format f)
      : dec_(f), gzip_(MakeGzipCompressor(kDefaultGzipImpl, 1)), body_(kPrefix) {}
  size_t Feed(const LineChunk& chunk) {
    const size_t n = dec_.Run(chunk, &records_);
    for (const FlowRecord& r : records_.records) {
      if (in_body_ > 0) body_.push_back(',');
      AppendFlowRecordJson(r, &body_);
      if (++in_body_ == kBatchSize) Seal();
    }
    return n;
  }

 private:
  void Seal() {
    body_ += kSuffix;
    if (body_.size() > kGzipThreshold && !gzip_->Compress(body_, &wire_).ok()) Die("gzip failed");
    benchmark::DoNotOptimize(wire_.data());
    in_body_ = 0;
    body_.assign(kPrefix);
  }

  ChunkDecoder dec_;
  std::unique_ptr<GzipCompressor> gzip_;
  RecordChunk records_;
  std::string body_;
  std::string wire_;
  size_t in_body_ = 0;
};

void BM_Fused(benchmark::State& state, Format f) {
  const auto& chunks = ChunksOf(TheCorpus(), f);
  Fused loop(f);
  int64_t records = 0;
  size_t i = 0;
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    records += static_cast<int64_t>(loop.Feed(*chunks[i]));
    state.SetIterationTime(ThreadCpuSeconds() - t0);
    if (++i == chunks.size()) i = 0;
  }
  state.SetItemsProcessed(records);
}
BENCHMARK_CAPTURE(BM_Fused, json, Format::kJson)->UseManualTime();
BENCHMARK_CAPTURE(BM_Fused, v5, Format::kV5)->UseManualTime();
BENCHMARK_CAPTURE(BM_Fused, v9, Format::kV9)->UseManualTime();
BENCHMARK_CAPTURE(BM_Fused, ipfix, Format::kIpfix)->UseManualTime();

}  // namespace
}  // namespace nf2::bench

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);  // as bench_stages: no mmap churn per batch body
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
