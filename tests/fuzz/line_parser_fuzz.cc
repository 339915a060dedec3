// libFuzzer target for the goflow2 line parser: the simdjson and RapidJSON
// back ends must give every line the same verdict and, for records, the same
// flows.v1 JSON (README: "same rules, differential-tested"). Any crash,
// sanitizer report or disagreement is a finding; a disagreement abort()s
// after printing both results.
//
// The input is a chunk of lines, split at '\n' as the source does, so a line
// never contains a newline (as in production) and seeds may hold several
// lines. The parsers live across inputs, as they do on a parser thread, so
// state leaking from one line into the next is caught too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "rapidjson/document.h"
#include "stages/flows/flow_record.h"
#include "stages/flows/flow_record_json.h"
#include "stages/goflow2/line_parser.h"
#include "stages/goflow2/record_builder.h"

namespace {

const char* VerdictName(nf2::LineVerdict v) {
  switch (v) {
    case nf2::LineVerdict::kRecord:
      return "record";
    case nf2::LineVerdict::kFiltered:
      return "filtered";
    case nf2::LineVerdict::kInvalid:
      return "invalid";
  }
  return "?";
}

struct Outcome {
  nf2::ParseResult result;
  std::string json;  // the serialized record when result.verdict == kRecord
};

Outcome Parse(nf2::LineParser& parser, std::string_view line) {
  Outcome o;
  nf2::FlowRecord rec;
  o.result = nf2::ParseGoflow2LineCopy(parser, line, &rec);
  if (o.result.verdict == nf2::LineVerdict::kRecord) {
    nf2::AppendFlowRecordJson(rec, &o.json);
    if (o.json.size() > nf2::MaxFlowRecordJsonSize()) {
      std::fprintf(stderr, "record JSON longer than MaxFlowRecordJsonSize(): %s\n", o.json.c_str());
      std::abort();
    }
    rapidjson::Document doc;
    doc.Parse(o.json.data(), o.json.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      std::fprintf(stderr, "%s produced a record that is not a JSON object: %s\n",
                   std::string(parser.name()).c_str(), o.json.c_str());
      std::abort();
    }
  }
  return o;
}

void Describe(const char* name, const Outcome& o) {
  std::fprintf(stderr, "  %-9s verdict=%s error=\"%.*s\" unknown_proto=%d json=%s\n", name,
               VerdictName(o.result.verdict), static_cast<int>(o.result.error.size()),
               o.result.error.data(), o.result.unknown_proto ? 1 : 0, o.json.c_str());
}

void CheckLine(nf2::LineParser& simd, nf2::LineParser& rapid, std::string_view line) {
  const Outcome a = Parse(simd, line);
  const Outcome b = Parse(rapid, line);
  if (a.result.verdict != b.result.verdict || a.json != b.json) {
    std::fprintf(stderr, "line parsers disagree on a line of %zu bytes:\n", line.size());
    Describe("simdjson", a);
    Describe("rapidjson", b);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<nf2::LineParser> simd =
      nf2::MakeLineParser(nf2::JsonParserKind::kSimdjson);
  static const std::unique_ptr<nf2::LineParser> rapid =
      nf2::MakeLineParser(nf2::JsonParserKind::kRapidjson);
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (true) {
    const size_t nl = rest.find('\n');
    CheckLine(*simd, *rapid, rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return 0;
}
