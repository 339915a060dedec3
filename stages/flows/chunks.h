// The units that travel between stages: a block of whole lines, the records
// parsed from it, and their flows.v1 JSON. One queue hop per chunk, never per
// record.
#ifndef NF2INGEST_STAGES_FLOWS_CHUNKS_H_
#define NF2INGEST_STAGES_FLOWS_CHUNKS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/ack_tracker.h"
#include "stages/flows/flow_record.h"

namespace nf2 {

// Bytes that must be readable past the end of any line handed to a parser
// (simdjson reads ahead in 64-byte blocks; their content does not matter).
// Every source pads its chunks with at least this many bytes.
inline constexpr size_t kLinePadding = 64;

// What the bytes of a LineChunk hold, so the parser stage knows which decoder
// turns them into records. Every format shares the queues, the outcomes and
// the acknowledgements downstream of the parser.
enum class ChunkFormat : uint8_t {
  kJsonLines,          // goflow2 JSON objects, one per line
  kDelimitedProtobuf,  // goflow2 flowpb.FlowMessage values, each after a varint length
  kDatagrams,          // NetFlow v5/v9/IPFIX datagrams, each framed with its exporter
};

// Whole lines, each ending in '\n' except possibly the last one of an input
// (or, per `format`, whole frames or datagrams). `data` holds `size` bytes of
// input followed by padding (see kLinePadding).
struct LineChunk {
  std::string data;
  size_t size = 0;
  ChunkFormat format = ChunkFormat::kJsonLines;
  // Where the lines came from, for acknowledgements (null: not tracked).
  pipeline::ChunkRef ref;
  std::string_view lines() const { return {data.data(), size}; }
};

struct RecordChunk {
  std::vector<FlowRecord> records;
  pipeline::ChunkRef ref;
};

// flows.v1 records serialized back to back; record i is
// data[ends[i-1] .. ends[i]) (with ends[-1] = 0).
struct FragmentChunk {
  std::string data;
  std::vector<uint32_t> ends;
  pipeline::ChunkRef ref;
  size_t count() const { return ends.size(); }
  std::string_view fragment(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(data).substr(begin, ends[i] - begin);
  }
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_FLOWS_CHUNKS_H_
