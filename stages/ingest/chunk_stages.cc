#include "stages/ingest/chunk_stages.h"

#include <cstring>

#include "stages/flows/flow_record_json.h"
#include "stages/goflow2/flow_message.h"
#include "stages/netflow/datagram_chunk.h"

namespace nf2 {
namespace {

// One unit's verdict into the counts (and the record into `out`).
void Tally(const ParseResult& r, const FlowRecord& rec, std::string_view unit, RecordChunk* out,
           ParseCounts* counts, const InvalidLineFn& on_invalid) {
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
      if (on_invalid) on_invalid(unit, r.error);
      break;
  }
}

void CountInvalid(std::string_view unit, std::string_view why, ParseCounts* counts,
                  const InvalidLineFn& on_invalid) {
  ++counts->lines;
  ++counts->invalid;
  if (on_invalid) on_invalid(unit, why);
}

// Whether `value` is wholly made of length-prefixed frames; `why` says what
// is wrong when it is not.
bool FramesCleanly(std::string_view value, std::string_view* why) {
  DelimitedMessageReader frames(value);
  std::string_view message;
  while (true) {
    switch (frames.Next(&message)) {
      case DelimitedMessageReader::Step::kEnd:
        return true;
      case DelimitedMessageReader::Step::kBadFraming:
        *why = frames.error();
        return false;
      case DelimitedMessageReader::Step::kMessage:
        break;
    }
  }
}

// The FlowMessages of one Kafka message value. A value whose framing is
// broken anywhere counts as one invalid message: garbage must not count as
// several lines because some of its bytes happen to look like frames.
void ParseMessageValue(std::string_view value, RecordChunk* out, ParseCounts* counts,
                       const InvalidLineFn& on_invalid) {
  std::string_view why;
  if (!FramesCleanly(value, &why)) {
    CountInvalid(value, why, counts, on_invalid);
    return;
  }
  DelimitedMessageReader messages(value);
  FlowRecord rec;
  std::string_view message;
  while (messages.Next(&message) == DelimitedMessageReader::Step::kMessage) {
    ++counts->lines;
    Tally(DecodeFlowMessage(message, &rec), rec, message, out, counts, on_invalid);
  }
}

}  // namespace

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
    Tally(ParseGoflow2Line(parser, line, readable_end - pos, &rec), rec, line, out, counts,
          on_invalid);
    pos = end + 1;
  }
}

void ParseDelimitedProtobufChunk(const LineChunk& chunk, RecordChunk* out, ParseCounts* counts,
                                 const InvalidLineFn& on_invalid) {
  FramedValueReader values(chunk.lines());
  std::string_view value;
  while (values.Next(&value)) {
    if (values.truncated()) {  // the source's framing, not the data: never expected
      CountInvalid(value, "framed value past the end of the chunk", counts, on_invalid);
      break;
    }
    ParseMessageValue(value, out, counts, on_invalid);
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

// ---- NetFlow/IPFIX datagram chunks ----

namespace {

void CountVersion(uint8_t version, DatagramCounts* datagrams) {
  if (version == 5) ++datagrams->v5;
  if (version == 9) ++datagrams->v9;
  if (version == 10) ++datagrams->ipfix;
}

}  // namespace

void ParseDatagramChunk(netflow::Decoder& decoder, const LineChunk& chunk, RecordChunk* out,
                        ParseCounts* counts, DatagramCounts* datagrams,
                        const BadDatagramFn& on_bad) {
  netflow::DatagramReader reader(chunk);
  netflow::DatagramView d;
  netflow::DecodeCounts dc;
  while (reader.Next(&d)) {
    const netflow::DatagramOutcome outcome =
        decoder.Decode(d.exporter, d.received_unix_ns, d.bytes, &out->records, &dc);
    ++datagrams->by_outcome[static_cast<size_t>(outcome)];
    CountVersion(dc.version, datagrams);
    datagrams->options_records += dc.options_records;
    datagrams->pending_sets += dc.pending;
    datagrams->expired_sets += dc.expired;
    counts->lines += dc.records + dc.invalid;
    counts->records += dc.records;
    counts->invalid += dc.invalid;
    if (outcome != netflow::DatagramOutcome::kOk && on_bad) on_bad(d.exporter, outcome);
  }
  if (reader.malformed()) ++datagrams->malformed_chunks;
}

}  // namespace nf2
