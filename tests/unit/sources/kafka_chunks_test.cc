// Kafka message values in chunks: one message is one line whatever newlines
// its JSON holds, offsets stay contiguous per chunk, and the parsers' padding
// is there once a chunk is sealed.
#include "stages/sources/kafka/kafka_chunks.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace nf2 {
namespace {

TEST(KafkaChunksTest, NewlinesInsideAJsonValueBecomeSpaces) {
  LineChunk chunk;
  AppendJsonValue(&chunk, "{\"a\":\n1,\r\n\"b\":2}");
  AppendJsonValue(&chunk, "{}");
  EXPECT_EQ(chunk.lines(), "{\"a\": 1,  \"b\":2}\n{}\n");
}

TEST(KafkaChunksTest, OffsetsGoingBackStartANewChunk) {
  OpenChunk open;
  StartChunk(&open, std::make_unique<LineChunk>(), ChunkFormat::kJsonLines);
  EXPECT_TRUE(open.empty());
  EXPECT_TRUE(AddMessage(&open, 10, "{}"));
  EXPECT_TRUE(AddMessage(&open, 12, "{}"));  // 11 compacted away: still one range
  EXPECT_FALSE(AddMessage(&open, 11, "{}"));
  EXPECT_EQ(open.begin, 10);
  EXPECT_EQ(open.end, 13);
  EXPECT_EQ(open.messages, 2u);
  SealChunk(&open);
  EXPECT_EQ(open.chunk->size, 6u);
  EXPECT_GE(open.chunk->data.size(), open.chunk->size + kLinePadding);
}

TEST(KafkaChunksTest, ARecycledChunkIsEmptiedAndTakesTheNewFormat) {
  auto used = std::make_unique<LineChunk>();
  AppendJsonValue(used.get(), "{\"old\":1}");
  OpenChunk open;
  StartChunk(&open, std::move(used), ChunkFormat::kDelimitedProtobuf);
  EXPECT_EQ(open.chunk->size, 0u);
  EXPECT_EQ(open.chunk->format, ChunkFormat::kDelimitedProtobuf);
  ASSERT_TRUE(AddMessage(&open, 0, std::string("\x02\x08\x02", 3)));
  // One framed value: a 4-byte little-endian size, then the value.
  EXPECT_EQ(open.chunk->lines(), std::string("\x03\x00\x00\x00\x02\x08\x02", 7));
}

}  // namespace
}  // namespace nf2
