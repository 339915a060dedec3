// Kafka message values turned into pipeline chunks: one chunk holds messages
// of one partition with contiguous offsets, so the chunk's acknowledgement
// maps to a range of offsets that can be committed. Free of librdkafka so it
// can be tested directly.
#ifndef NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_CHUNKS_H_
#define NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_CHUNKS_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "stages/flows/chunks.h"

namespace nf2 {

// Appends one goflow2 JSON message as one line: a newline or carriage return
// inside the value (legal JSON whitespace) becomes a space, so one message is
// always one line and one outcome.
void AppendJsonValue(LineChunk* chunk, std::string_view value);

// Appends `value` in the chunk's format.
void AppendKafkaValue(LineChunk* chunk, std::string_view value);

// A chunk of one partition being filled: offsets [begin, end).
struct OpenChunk {
  std::unique_ptr<LineChunk> chunk;
  int64_t begin = -1;
  int64_t end = -1;
  uint64_t messages = 0;
  bool empty() const { return messages == 0; }
};

// Starts `open` on a recycled or new `chunk` for `format`.
void StartChunk(OpenChunk* open, std::unique_ptr<LineChunk> chunk, ChunkFormat format);

// Adds the message at `offset`. Returns false (and adds nothing) when the
// offset goes back (the partition was fetched again from an earlier offset):
// the caller seals the chunk and starts another. Offsets a partition skips
// (compaction, transaction markers) stay inside the chunk's range.
bool AddMessage(OpenChunk* open, int64_t offset, std::string_view value);

// Pads the chunk's bytes for the parsers (kLinePadding) once it is complete.
void SealChunk(OpenChunk* open);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_CHUNKS_H_
