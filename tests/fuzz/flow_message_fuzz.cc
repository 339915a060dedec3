// libFuzzer target for the goflow2 protobuf path (docs/contract.md §5):
// ParseDelimitedProtobufChunk on arbitrary bytes, read two ways: as a whole
// framed chunk (size headers included), and as one Kafka message value (so
// mutations reach the varint framing and the FlowMessage decoder directly).
//
// Beyond crashes and sanitizer reports, a finding is: counts that do not add
// up, or a record whose goflow2 JSON line (rendered here from the record)
// the JSON path would refuse or map differently. That catches address text
// the line parser would not accept, or any other field the two paths read
// differently. A finding abort()s after printing what disagreed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "stages/flows/chunks.h"
#include "stages/flows/flow_record.h"
#include "stages/flows/flow_record_json.h"
#include "stages/goflow2/flow_message.h"
#include "stages/goflow2/line_parser.h"
#include "stages/ingest/chunk_stages.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
  std::abort();
}

// The line goflow2 would have written for a flow that maps to `rec`.
std::string Goflow2Line(const nf2::FlowRecord& rec) {
  std::string s = R"({"type":"IPFIX","time_flow_start_ns":)";
  s += std::to_string(rec.ts * 1'000'000'000ull);
  s += R"(,"src_addr":")" + std::string(rec.src_ip.view());
  s += R"(","dst_addr":")" + std::string(rec.dst_ip.view());
  s += R"(","src_port":)" + std::to_string(rec.src_port);
  s += R"(,"dst_port":)" + std::to_string(rec.dst_port);
  s += R"(,"proto":)" + std::to_string(rec.proto);
  s += R"(,"bytes":)" + std::to_string(rec.bytes);
  s += R"(,"packets":)" + std::to_string(rec.packets);
  s += R"(,"in_if":)" + std::to_string(rec.ingress_if);
  s += R"(,"out_if":)" + std::to_string(rec.egress_if) + "}";
  return s;
}

void CheckRecordAgainstJson(nf2::LineParser& parser, const nf2::FlowRecord& rec) {
  std::string got;
  nf2::AppendFlowRecordJson(rec, &got);
  if (got.size() > nf2::MaxFlowRecordJsonSize()) Fail("record longer than the maximum", got);
  const std::string line = Goflow2Line(rec);
  nf2::FlowRecord from_json;
  const nf2::ParseResult r = nf2::ParseGoflow2LineCopy(parser, line, &from_json);
  if (r.verdict != nf2::LineVerdict::kRecord) {
    Fail("the JSON path refuses the record's goflow2 line",
         line + " (" + std::string(r.error) + ")");
  }
  std::string want;
  nf2::AppendFlowRecordJson(from_json, &want);
  if (want != got) Fail("the JSON path maps the record's line differently", got + " vs " + want);
}

void CheckChunk(nf2::LineParser& parser, const nf2::LineChunk& chunk) {
  nf2::RecordChunk out;
  nf2::ParseCounts counts;
  uint64_t reported = 0;
  nf2::ParseDelimitedProtobufChunk(chunk, &out, &counts,
                                   [&](std::string_view, std::string_view why) {
                                     if (why.empty()) Fail("invalid without a reason", "");
                                     ++reported;
                                   });
  if (counts.lines != counts.records + counts.filtered + counts.invalid ||
      counts.records != out.records.size() || counts.invalid != reported ||
      counts.unknown_proto != 0) {
    Fail("counts do not add up", std::to_string(counts.lines) + " lines");
  }
  for (const nf2::FlowRecord& rec : out.records) CheckRecordAgainstJson(parser, rec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<nf2::LineParser> parser =
      nf2::MakeLineParser(nf2::JsonParserKind::kSimdjson);
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  nf2::LineChunk framed;  // the bytes as a whole chunk, headers and all
  framed.format = nf2::ChunkFormat::kDelimitedProtobuf;
  framed.data.assign(bytes);
  framed.data.resize(size + nf2::kLinePadding);
  framed.size = size;
  CheckChunk(*parser, framed);

  nf2::LineChunk one_value;  // the bytes as one Kafka message value
  nf2::StartFramedChunk(&one_value);
  if (!nf2::AppendFramedValue(&one_value, bytes)) Fail("value refused", "");
  CheckChunk(*parser, one_value);
  return 0;
}
