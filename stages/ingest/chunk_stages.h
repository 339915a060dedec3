// The pure per-chunk work of the parser and mapper pools, free of threads so
// it can be tested and benchmarked directly.
#ifndef NF2INGEST_STAGES_INGEST_CHUNK_STAGES_H_
#define NF2INGEST_STAGES_INGEST_CHUNK_STAGES_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string_view>

#include "stages/flows/chunks.h"
#include "stages/goflow2/line_parser.h"
#include "stages/netflow/decoder.h"

namespace nf2 {

struct ParseCounts {
  uint64_t lines = 0;
  uint64_t records = 0;
  uint64_t filtered = 0;
  uint64_t invalid = 0;
  uint64_t unknown_proto = 0;
};

// Called for each invalid line with the reason.
using InvalidLineFn = std::function<void(std::string_view line, std::string_view why)>;

// Splits `chunk` into lines and parses each; valid records are appended to
// `out->records`. `counts` accumulates.
void ParseLineChunk(LineParser& parser, const LineChunk& chunk, RecordChunk* out,
                    ParseCounts* counts, const InvalidLineFn& on_invalid);

// The same for a ChunkFormat::kDelimitedProtobuf chunk (framed Kafka message
// values, stages/goflow2/flow_message.h): `lines` counts FlowMessages, and a
// value whose framing breaks counts one invalid for the unframed rest, without
// touching the values after it. Records get the verdicts of their JSON lines.
void ParseDelimitedProtobufChunk(const LineChunk& chunk, RecordChunk* out, ParseCounts* counts,
                                 const InvalidLineFn& on_invalid);

// Serializes every record of `in` into `out` (which is cleared first).
void MapRecordChunk(const RecordChunk& in, FragmentChunk* out);

// ---- NetFlow/IPFIX datagram chunks ----

// Datagrams decoded from chunks, by outcome and version, for the
// [NETFLOW] line and metrics. Accumulates.
struct DatagramCounts {
  std::array<uint64_t, netflow::kDatagramOutcomeCount> by_outcome{};
  uint64_t v5 = 0;
  uint64_t v9 = 0;
  uint64_t ipfix = 0;
  uint64_t options_records = 0;
  uint64_t pending_sets = 0;      // data sets kept for a template
  uint64_t expired_sets = 0;      // kept data sets dropped unread
  uint64_t malformed_chunks = 0;  // framing cut short (a source bug)
};

// Called for each datagram whose outcome is not ok (for rate-limited logs).
using BadDatagramFn =
    std::function<void(const netflow::Exporter& exporter, netflow::DatagramOutcome outcome)>;

// Decodes every datagram of a kDatagrams chunk; records are appended to
// `out->records`. `counts->lines` counts the data records seen (flows:
// records + invalid), so lines = records + invalid as for JSON lines.
void ParseDatagramChunk(netflow::Decoder& decoder, const LineChunk& chunk, RecordChunk* out,
                        ParseCounts* counts, DatagramCounts* datagrams,
                        const BadDatagramFn& on_bad = nullptr);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_INGEST_CHUNK_STAGES_H_
