// The acknowledged watermark: it moves only over a fully acknowledged prefix
// of chunks, whatever order batches finish in, however their lines are spread
// over batches, split, retried or acked from many threads at once.
#include "pipeline/ack_tracker.h"

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace nf2::pipeline {
namespace {

ChunkRef MustRegister(AckTracker& t, AckTracker::InputId in, uint64_t begin, uint64_t end,
                      uint64_t units) {
  auto ref = t.Register(in, begin, end, units);
  EXPECT_TRUE(ref.ok()) << ref.status();
  return ref.ok() ? *ref : ChunkRef();
}

TEST(AckTrackerTest, OutOfOrderAcksMoveTheWatermarkOnlyOverACompletePrefix) {
  AckTracker t;
  const auto in = t.AddInput();
  ChunkRef a = MustRegister(t, in, 0, 100, 2);
  ChunkRef b = MustRegister(t, in, 100, 250, 3);
  ChunkRef c = MustRegister(t, in, 250, 300, 1);
  EXPECT_EQ(t.Watermark(in), 0u);
  EXPECT_EQ(t.UnackedBytes(in), 300u);

  AckTracker::Ack(c, 1);  // the last chunk first
  EXPECT_EQ(t.Watermark(in), 0u);
  AckTracker::Ack(b, 3);
  EXPECT_EQ(t.Watermark(in), 0u);
  AckTracker::Ack(a, 1);
  EXPECT_EQ(t.Watermark(in), 0u);  // one unit of the first chunk still in flight
  AckTracker::Ack(a, 1);
  EXPECT_EQ(t.Watermark(in), 300u);
  EXPECT_EQ(t.UnackedBytes(in), 0u);
  EXPECT_EQ(t.PendingChunks(in), 0u);
}

TEST(AckTrackerTest, AHoleHoldsTheWatermark) {
  AckTracker t;
  const auto in = t.AddInput();
  std::vector<ChunkRef> refs;
  for (uint64_t i = 0; i < 10; ++i) refs.push_back(MustRegister(t, in, i * 10, i * 10 + 10, 1));
  for (uint64_t i = 0; i < 10; ++i) {
    if (i != 4) AckTracker::Ack(refs[i], 1);
  }
  EXPECT_EQ(t.Watermark(in), 40u);  // chunks 0..3 done, chunk 4 is the hole
  EXPECT_EQ(t.UnackedBytes(in), 60u);
  EXPECT_EQ(t.PendingChunks(in), 6u);
  AckTracker::Ack(refs[4], 1);
  EXPECT_EQ(t.Watermark(in), 100u);
}

TEST(AckTrackerTest, ResumedInputStartsAtItsOffsetAndGapsNeedNoAck) {
  AckTracker t;
  const auto in = t.AddInput(5000);
  EXPECT_EQ(t.Watermark(in), 5000u);
  EXPECT_FALSE(t.Register(in, 4000, 4100, 1).ok());  // before the start
  ChunkRef a = MustRegister(t, in, 5000, 5100, 1);
  ChunkRef b = MustRegister(t, in, 5300, 5400, 1);   // 5100..5300: a skipped overlong line
  EXPECT_FALSE(t.Register(in, 5350, 5500, 1).ok());  // overlaps the previous chunk
  AckTracker::Ack(b, 1);
  AckTracker::Ack(a, 1);
  EXPECT_EQ(t.Watermark(in), 5400u);
}

TEST(AckTrackerTest, ZeroUnitChunksAreCompleteAtOnce) {
  AckTracker t;
  const auto in = t.AddInput();
  MustRegister(t, in, 0, 64, 0);
  EXPECT_EQ(t.Watermark(in), 64u);
  ChunkRef b = MustRegister(t, in, 64, 128, 1);
  MustRegister(t, in, 128, 200, 0);  // complete, but behind an open chunk
  EXPECT_EQ(t.Watermark(in), 64u);
  AckTracker::Ack(b, 1);
  EXPECT_EQ(t.Watermark(in), 200u);
}

// The source registers one "parse" unit; the parser swaps it for the records
// it produced. A chunk of only invalid/filtered lines completes at parse time.
TEST(AckTrackerTest, ParseUnitIsReplacedByTheRecordsProduced) {
  AckTracker t;
  const auto in = t.AddInput();
  ChunkRef all_invalid = MustRegister(t, in, 0, 100, 1);
  ChunkRef with_records = MustRegister(t, in, 100, 200, 1);
  AckTracker::AddUnits(all_invalid, 0);
  AckTracker::Ack(all_invalid, 1);
  EXPECT_EQ(t.Watermark(in), 100u);
  AckTracker::AddUnits(with_records, 7);
  AckTracker::Ack(with_records, 1);
  EXPECT_EQ(t.Watermark(in), 100u);
  AckTracker::Ack(with_records, 7);
  EXPECT_EQ(t.Watermark(in), 200u);
}

TEST(AckTrackerTest, ABatchHoldingLinesOfManyChunks) {
  AckTracker t;
  const auto in = t.AddInput();
  ChunkRef a = MustRegister(t, in, 0, 10, 3);
  ChunkRef b = MustRegister(t, in, 10, 20, 4);
  ChunkRef c = MustRegister(t, in, 20, 30, 2);
  AckSpans first, second;
  first.Append(a, 3);
  first.Append(b, 1);
  first.Append(b, 1);  // same chunk again: one run
  second.Append(b, 2);
  second.Append(c, 2);
  ASSERT_EQ(first.spans().size(), 2u);
  EXPECT_EQ(first.units(), 5u);
  second.AckAll();  // finishes first
  EXPECT_EQ(t.Watermark(in), 0u);
  first.AckAll();
  EXPECT_EQ(t.Watermark(in), 30u);
}

TEST(AckTrackerTest, SplitHalvesAckTheirOwnShareOnly) {
  AckTracker t;
  const auto in = t.AddInput();
  ChunkRef a = MustRegister(t, in, 0, 10, 3);
  ChunkRef b = MustRegister(t, in, 10, 20, 5);
  AckSpans batch;
  batch.Append(a, 3);
  batch.Append(b, 5);
  // A 413: halves of records [0, 4) and [4, 8), the second split again.
  AckSpans left = batch.Slice(0, 4);
  AckSpans right = batch.Slice(4, 8);
  ASSERT_EQ(left.spans().size(), 2u);
  EXPECT_EQ(left.spans()[0].units, 3u);
  EXPECT_EQ(left.spans()[1].units, 1u);
  ASSERT_EQ(right.spans().size(), 1u);
  EXPECT_EQ(right.units(), 4u);
  AckSpans right_a = right.Slice(0, 2), right_b = right.Slice(2, 4);
  EXPECT_EQ(right_a.units() + right_b.units(), 4u);

  right_b.AckAll();
  left.AckAll();
  EXPECT_EQ(t.Watermark(in), 10u);  // chunk a done; two units of b in flight
  right_a.AckAll();
  EXPECT_EQ(t.Watermark(in), 20u);
}

TEST(AckTrackerTest, SlicesOutsideTheBatchAreEmpty) {
  AckSpans batch;
  AckTracker t;
  const auto in = t.AddInput();
  batch.Append(MustRegister(t, in, 0, 10, 2), 2);
  EXPECT_TRUE(batch.Slice(2, 5).empty());
  EXPECT_TRUE(batch.Slice(1, 1).empty());
  EXPECT_EQ(batch.Slice(1, 2).units(), 1u);
}

TEST(AckTrackerTest, RetriesAndSecondOutcomesDoNotCountTwice) {
  AckTracker t;
  const auto in = t.AddInput();
  ChunkRef a = MustRegister(t, in, 0, 10, 2);
  ChunkRef b = MustRegister(t, in, 10, 20, 1);
  AckSpans batch;
  batch.Append(a, 1);
  AckSpans other;
  other.Append(a, 1);
  other.Append(b, 1);
  // Attempts that fail ack nothing; the batch is spooled (final) and later
  // delivered from the spool: only the first final outcome acks.
  batch.AckAll();
  batch.AckAll();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(t.Watermark(in), 0u);  // `a` still has the unit `other` holds
  other.AckAll();
  EXPECT_EQ(t.Watermark(in), 20u);
}

TEST(AckTrackerTest, UntrackedRefsAreIgnored) {
  AckSpans batch;
  batch.Append(ChunkRef(), 5);
  EXPECT_EQ(batch.units(), 5u);
  batch.AckAll();  // no tracker behind it: nothing to do, nothing to crash
  AckTracker::AddUnits(ChunkRef(), 3);
  AckTracker::Ack(ChunkRef(), 3);
}

TEST(AckTrackerTest, InputsAreIndependent) {
  AckTracker t;
  std::vector<AckTracker::InputId> ids;
  std::vector<ChunkRef> refs;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(t.AddInput(i * 1000));
    EXPECT_EQ(ids.back(), static_cast<AckTracker::InputId>(i));
    refs.push_back(MustRegister(t, ids.back(), i * 1000, i * 1000 + 10 + i, 1));
  }
  for (int i = 0; i < 8; i += 2) AckTracker::Ack(refs[i], 1);
  const std::vector<uint64_t> marks = t.Watermarks();
  ASSERT_EQ(marks.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    const uint64_t want = i % 2 == 0 ? i * 1000 + 10 + i : i * 1000;
    EXPECT_EQ(marks[i], want) << "input " << i;
    EXPECT_EQ(t.Watermark(ids[i]), want);
  }
  EXPECT_FALSE(t.Register(99, 0, 1, 1).ok());
}

TEST(AckTrackerTest, VersionMovesWithTheWatermarkAndWakesWaiters) {
  AckTracker t;
  const auto in = t.AddInput();
  ChunkRef a = MustRegister(t, in, 0, 10, 1);
  ChunkRef b = MustRegister(t, in, 10, 20, 1);
  const uint64_t v0 = t.version();
  AckTracker::Ack(b, 1);  // behind a hole: no movement, no new version
  EXPECT_EQ(t.version(), v0);
  EXPECT_EQ(t.WaitForChange(v0, std::chrono::milliseconds(1)), v0);

  std::thread acker([&] { AckTracker::Ack(a, 1); });
  // Bounded: returns as soon as the ack lands; the deadline only guards a hang.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uint64_t v = v0;
  while (v == v0 && std::chrono::steady_clock::now() < deadline) {
    v = t.WaitForChange(v0, std::chrono::seconds(10));
  }
  acker.join();
  EXPECT_NE(v, v0);
  EXPECT_EQ(t.Watermark(in), 20u);

  // StopWaiting releases a waiter whether it comes before or after the wait.
  std::thread stopper([&] { t.StopWaiting(); });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(t.WaitForChange(v, std::chrono::seconds(30)), v);
  stopper.join();
  EXPECT_EQ(t.WaitForChange(v, std::chrono::seconds(30)), v);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// A source thread registering, parser-like threads swapping the parse unit
// for records, sender-like threads acking batch spans in random order. The
// watermark must end at the last byte of every input.
TEST(AckTrackerTest, ConcurrentStressEndsAtTotalBytes) {
  constexpr int kInputs = 3;
  constexpr int kChunksPerInput = 2000;
  constexpr int kAckers = 4;
  AckTracker t;
  std::vector<AckTracker::InputId> ids;
  ids.reserve(kInputs);
  for (int i = 0; i < kInputs; ++i) ids.push_back(t.AddInput());

  struct Work {
    ChunkRef ref;
    uint64_t units;
  };
  std::mutex mu;
  std::vector<Work> pool;  // chunk shares waiting for a sender-like thread
  std::atomic<bool> source_done{false};
  std::vector<uint64_t> total(kInputs, 0);

  std::thread source([&] {
    std::mt19937 rng(1);
    std::vector<uint64_t> at(kInputs, 0);
    for (int c = 0; c < kChunksPerInput; ++c) {
      for (int i = 0; i < kInputs; ++i) {
        const uint64_t len = 1 + rng() % 500;
        auto ref = t.Register(ids[i], at[i], at[i] + len, 1);
        if (!ref.ok()) {
          ADD_FAILURE() << ref.status();
          continue;
        }
        at[i] += len;
        const uint64_t records = rng() % 6;  // zero: every line invalid
        AckTracker::AddUnits(*ref, records);
        std::lock_guard<std::mutex> lock(mu);
        for (uint64_t left = records; left > 0;) {  // spread over "batches"
          const uint64_t part = 1 + rng() % left;
          pool.push_back({*ref, part});
          left -= part;
        }
        pool.push_back({*ref, 1});  // the parse unit, released by a sender too
      }
    }
    for (int i = 0; i < kInputs; ++i) total[i] = at[i];
    source_done = true;
  });

  std::vector<std::thread> ackers;
  ackers.reserve(kAckers);
  for (int k = 0; k < kAckers; ++k) {
    ackers.emplace_back([&, k] {
      std::mt19937 rng(100 + k);
      while (true) {
        Work w;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (pool.empty()) {
            if (source_done) return;
            std::this_thread::yield();
            continue;
          }
          const size_t pick = rng() % pool.size();  // out of order
          w = pool[pick];
          pool[pick] = pool.back();
          pool.pop_back();
        }
        AckTracker::Ack(w.ref, w.units);
      }
    });
  }
  std::thread watcher([&] {  // reads while the others write
    uint64_t v = 0;
    while (!source_done) {
      v = t.WaitForChange(v, std::chrono::milliseconds(5));
      for (int i = 0; i < kInputs; ++i) t.UnackedBytes(ids[i]);
    }
  });
  source.join();
  for (auto& a : ackers) a.join();
  watcher.join();
  for (int i = 0; i < kInputs; ++i) {
    EXPECT_EQ(t.Watermark(ids[i]), total[i]) << "input " << i;
    EXPECT_EQ(t.UnackedBytes(ids[i]), 0u);
    EXPECT_EQ(t.PendingChunks(ids[i]), 0u);
  }
}

}  // namespace
}  // namespace nf2::pipeline
