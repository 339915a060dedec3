// goflow2's protobuf output (`-format=bin`, docs/contract.md §5) → FlowRecord.
// A FlowMessage must become exactly the record its goflow2 JSON line would
// (same verdicts, same defaults, same address text), so the Kafka input and
// the line inputs cannot drift apart. Also the framing of the chunks a Kafka
// source hands to the parser pool: several message values per chunk, each
// kept separate so one broken value cannot disturb its neighbours.
//
// The decoder is written by hand instead of using libprotobuf: it reads only
// the fields the mapping needs, keeps nothing of the others, allocates
// nothing, and measured 1.8x libprotobuf's speed on goflow2's messages
// (bench/README.md, "goflow2 protobuf decoder").
#ifndef NF2INGEST_STAGES_GOFLOW2_FLOW_MESSAGE_H_
#define NF2INGEST_STAGES_GOFLOW2_FLOW_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stages/flows/chunks.h"
#include "stages/flows/flow_record.h"
#include "stages/goflow2/record_builder.h"

namespace nf2 {

// The FlowMessage fields the mapping reads, as they come off the wire.
// Absent fields keep proto3's defaults (zero, empty), as goflow2 omits them.
struct FlowMessageFields {
  uint32_t type = 0;  // FlowType enum value (the low 32 bits, as int32 in proto3)
  uint64_t time_received_ns = 0;
  uint64_t time_flow_start_ns = 0;
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint32_t in_if = 0;
  uint32_t out_if = 0;
  uint32_t proto = 0;
  uint32_t src_port = 0;
  uint32_t dst_port = 0;
  std::string_view src_addr;  // raw address bytes, pointing into the message
  std::string_view dst_addr;
};

// Reads the wire format of one FlowMessage (without its length prefix) into
// `fields`. Returns empty when the message is well-formed, otherwise why not
// (a static string): a bad varint, a length past the end, a known field with
// the wrong wire type. Unknown fields are skipped by their wire type.
std::string_view DecodeFlowMessageFields(std::string_view message, FlowMessageFields* fields);

// docs/contract.md §1-2 applied to decoded fields: the verdict, and for
// kRecord the record in `out` (which other verdicts may leave half written).
// Shared by every FlowMessage decoder.
ParseResult MapFlowMessage(const FlowMessageFields& fields, FlowRecord* out);

// Both steps: one FlowMessage's bytes to a verdict and record.
ParseResult DecodeFlowMessage(std::string_view message, FlowRecord* out);

// --- Kafka message values in a LineChunk (ChunkFormat::kDelimitedProtobuf) --
//
// The chunk's bytes are a sequence of { uint32 little-endian size; value },
// one entry per Kafka message value; each value holds one or more FlowMessages,
// each after its length as a varint.

inline constexpr size_t kFramedValueHeaderBytes = 4;

// Bytes a value takes in a chunk (to decide whether it still fits).
inline constexpr size_t FramedValueBytes(size_t value_size) {
  return kFramedValueHeaderBytes + value_size;
}

// Empties a (possibly recycled) chunk for framed values.
void StartFramedChunk(LineChunk* chunk);

// Appends one message value to the chunk (tagging it kDelimitedProtobuf) and
// keeps kLinePadding readable bytes after `size`. False, and nothing
// appended, for a value of 4 GiB or more (far beyond any Kafka limit).
bool AppendFramedValue(LineChunk* chunk, std::string_view value);

// Walks the values of a framed chunk in order.
class FramedValueReader {
 public:
  explicit FramedValueReader(std::string_view framed) : rest_(framed) {}

  // The next value; false at the end. When a header promises more bytes than
  // remain, returns those remaining bytes once with truncated() true.
  bool Next(std::string_view* value);
  bool truncated() const { return truncated_; }

 private:
  std::string_view rest_;
  bool truncated_ = false;
};

// Walks the varint-delimited FlowMessages of one value.
class DelimitedMessageReader {
 public:
  enum class Step : uint8_t { kMessage, kEnd, kBadFraming };

  explicit DelimitedMessageReader(std::string_view value) : rest_(value), empty_(value.empty()) {}

  // kMessage with the message's bytes; kEnd after the last one; kBadFraming
  // (once, then kEnd) when the rest of the value is not a length and that
  // many bytes, or the value is empty. error() then says why.
  Step Next(std::string_view* message);
  std::string_view error() const { return error_; }
  // What is left of the value (the bytes that could not be framed).
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
  std::string_view error_;
  bool empty_;
  bool done_ = false;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_GOFLOW2_FLOW_MESSAGE_H_
