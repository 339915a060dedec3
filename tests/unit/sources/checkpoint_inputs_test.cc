// The entry written for a path across a rotation: it stays on the old file
// until every line of it is final, then moves to the new one; paths not
// read this run keep their loaded entries.
#include "stages/sources/checkpoint_inputs.h"

#include "gtest/gtest.h"

namespace nf2 {
namespace {

checkpoint::FileIdentity FileWithInode(uint64_t ino) {
  checkpoint::FileIdentity id;
  id.dev = 1;
  id.ino = ino;
  return id;
}

TEST(CheckpointInputs, TheEntryStaysOnTheOldFileUntilItsTailIsFinal) {
  pipeline::AckTracker tracker;
  CheckpointInputs inputs(&tracker, {});
  const auto old_file = inputs.Open("flows.json", FileWithInode(10), 0);
  auto tail = tracker.Register(old_file, 0, 100, 1);
  ASSERT_TRUE(tail.ok());
  inputs.Close(old_file, 100);
  const auto new_file = inputs.Open("flows.json", FileWithInode(11), 0);
  auto first = tracker.Register(new_file, 0, 40, 1);
  ASSERT_TRUE(first.ok());
  pipeline::AckTracker::Ack(*first, 1);

  auto entries = inputs.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].ino, 10u);
  EXPECT_EQ(entries[0].offset, 0u);

  pipeline::AckTracker::Ack(*tail, 1);
  entries = inputs.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].ino, 11u);
  EXPECT_EQ(entries[0].offset, 40u);
  CheckpointInputs::Position pos;
  ASSERT_TRUE(inputs.PositionOf("flows.json", &pos));
  EXPECT_EQ(pos.acked, 40u);
  EXPECT_EQ(pos.unacked, 0u);
}

TEST(CheckpointInputs, PathsNotReadKeepTheirLoadedEntries) {
  pipeline::AckTracker tracker;
  checkpoint::Entry other;
  other.path = "other.json";
  other.offset = 77;
  checkpoint::Entry mine;
  mine.path = "flows.json";
  mine.offset = 5;
  CheckpointInputs inputs(&tracker, {other, mine});
  ASSERT_NE(inputs.Loaded("flows.json"), nullptr);
  EXPECT_EQ(inputs.Loaded("flows.json")->offset, 5u);
  const auto id = inputs.Open("flows.json", FileWithInode(3), 5);
  auto chunk = tracker.Register(id, 5, 9, 2);
  ASSERT_TRUE(chunk.ok());
  pipeline::AckTracker::Ack(*chunk, 1);
  auto entries = inputs.Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].path, "other.json");
  EXPECT_EQ(entries[0].offset, 77u);
  EXPECT_EQ(entries[1].path, "flows.json");
  EXPECT_EQ(entries[1].offset, 5u);  // one unit still in flight
  pipeline::AckTracker::Ack(*chunk, 1);
  EXPECT_EQ(inputs.Entries()[1].offset, 9u);
  EXPECT_FALSE(inputs.PositionOf("other.json", nullptr));
}

}  // namespace
}  // namespace nf2
