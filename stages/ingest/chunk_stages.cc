#include "stages/ingest/chunk_stages.h"

#include <cstring>

#include "stages/flows/flow_record_json.h"

namespace nf2 {

void ParseLineChunk(LineParser& parser, const LineChunk& chunk, RecordChunk* out,
                    ParseCounts* counts, const InvalidLineFn& on_invalid) {
  const char* const base = chunk.data.data();
  const size_t readable_end = chunk.data.size();  // lines plus padding
  size_t pos = 0;
  FlowRecord rec;
  while (pos < chunk.size) {
    const void* nl = std::memchr(base + pos, '\n', chunk.size - pos);
    const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - base) : chunk.size;
    std::string_view line(base + pos, end - pos);
    ++counts->lines;
    ParseResult r = ParseGoflow2Line(parser, line, readable_end - pos, &rec);
    switch (r.verdict) {
      case LineVerdict::kRecord:
        out->records.push_back(rec);
        ++counts->records;
        if (r.unknown_proto) ++counts->unknown_proto;
        break;
      case LineVerdict::kFiltered:
        ++counts->filtered;
        break;
      case LineVerdict::kInvalid:
        ++counts->invalid;
        if (on_invalid) on_invalid(line, r.error);
        break;
    }
    pos = end + 1;
  }
}

void MapRecordChunk(const RecordChunk& in, FragmentChunk* out) {
  out->data.clear();
  out->ends.clear();
  out->data.reserve(in.records.size() * 200);
  out->ends.reserve(in.records.size());
  for (const FlowRecord& rec : in.records) {
    AppendFlowRecordJson(rec, &out->data);
    out->ends.push_back(static_cast<uint32_t>(out->data.size()));
  }
}

}  // namespace nf2
