// goflow2 JSON line → FlowRecord. Two interchangeable JSON back ends
// (simdjson on-demand, RapidJSON SAX) share RecordBuilder, so they apply the
// same mapping rules; the default is the faster one (see bench/).
#ifndef NF2INGEST_STAGES_GOFLOW2_LINE_PARSER_H_
#define NF2INGEST_STAGES_GOFLOW2_LINE_PARSER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "stages/flows/chunks.h"
#include "stages/flows/flow_record.h"
#include "stages/goflow2/record_builder.h"

namespace nf2 {

class LineParser {
 public:
  virtual ~LineParser() = default;
  // Parses one JSON object. `readable` bytes starting at json.data() may be
  // read; it is at least json.size() + kLinePadding.
  virtual ParseResult ParseJson(std::string_view json, size_t readable, FlowRecord* out) = 0;
  virtual std::string_view name() const = 0;
};

enum class JsonParserKind { kSimdjson, kRapidjson };

absl::StatusOr<JsonParserKind> JsonParserKindFromName(std::string_view name);
std::unique_ptr<LineParser> MakeLineParser(JsonParserKind kind);

// Strips blanks, a trailing CR and a container-log prefix ("name  | {...}");
// returns the JSON text, or an empty view when nothing is left.
std::string_view StripLine(std::string_view line);

// The whole per-line contract: strip, then parse. `readable` counts from
// line.data(), as for LineParser::ParseJson.
ParseResult ParseGoflow2Line(LineParser& parser, std::string_view line, size_t readable,
                             FlowRecord* out);

// Convenience for tests and tools: copies the line into a padded buffer.
ParseResult ParseGoflow2LineCopy(LineParser& parser, std::string_view line, FlowRecord* out);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_GOFLOW2_LINE_PARSER_H_
