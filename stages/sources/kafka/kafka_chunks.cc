#include "stages/sources/kafka/kafka_chunks.h"

#include <cstring>
#include <utility>

#include "stages/goflow2/flow_message.h"

namespace nf2 {

void AppendJsonValue(LineChunk* chunk, std::string_view value) {
  std::string& data = chunk->data;
  data.resize(chunk->size);
  const size_t start = data.size();
  data.append(value);
  char* p = data.data() + start;
  char* const end = data.data() + data.size();
  for (; p < end; ++p) {
    if (*p == '\n' || *p == '\r') *p = ' ';
  }
  data.push_back('\n');
  chunk->size = data.size();
}

void AppendKafkaValue(LineChunk* chunk, std::string_view value) {
  if (chunk->format == ChunkFormat::kDelimitedProtobuf) {
    // Only a value of 4 GiB or more is refused, far beyond what Kafka carries.
    (void)AppendFramedValue(chunk, value);
    return;
  }
  AppendJsonValue(chunk, value);
}

void StartChunk(OpenChunk* open, std::unique_ptr<LineChunk> chunk, ChunkFormat format) {
  chunk->data.clear();
  chunk->size = 0;
  chunk->format = format;
  chunk->ref = pipeline::ChunkRef();
  open->chunk = std::move(chunk);
  open->begin = -1;
  open->end = -1;
  open->messages = 0;
}

bool AddMessage(OpenChunk* open, int64_t offset, std::string_view value) {
  if (!open->empty() && offset < open->end) return false;
  if (open->empty()) open->begin = offset;
  AppendKafkaValue(open->chunk.get(), value);
  open->end = offset + 1;
  ++open->messages;
  return true;
}

void SealChunk(OpenChunk* open) {
  LineChunk& c = *open->chunk;
  c.data.resize(c.size + kLinePadding, '\0');
}

}  // namespace nf2
