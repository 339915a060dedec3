// The generic runtime under concurrency: BoundedQueue, WorkerGroup, Outcomes
// and Shutdown. Written to be run under ThreadSanitizer too (NF2_TSAN): the
// threads hand plain (non-atomic) data to each other only through the
// component under test, so a missing happens-before edge is a TSan report,
// and every wait is on the component itself (no sleeps).
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "pipeline/worker_group.h"

namespace nf2::pipeline {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using IntQueue = BoundedQueue<int>;

// Generous: TSan slows these threads down 5-15x on a loaded 2-core runner.
constexpr auto kHang = seconds(60);

// Waits for a future; a hang fails the test with a message instead of
// blocking until ctest kills the whole binary.
template <typename T>
T GetWithin(std::future<T>& f, const char* what) {
  if (f.wait_for(kHang) != std::future_status::ready) {
    ADD_FAILURE() << what << " did not finish within " << kHang.count() << " s";
    std::fflush(nullptr);
    std::abort();  // the thread is stuck; joining it would hang
  }
  return f.get();
}

// Spins (yielding) until `cond` holds; aborts the test after kHang.
template <typename Cond>
void SpinUntil(Cond cond, const char* what) {
  const auto deadline = steady_clock::now() + kHang;
  while (!cond()) {
    if (steady_clock::now() > deadline) {
      ADD_FAILURE() << "timed out waiting for " << what;
      std::fflush(nullptr);
      std::abort();
    }
    std::this_thread::yield();
  }
}

// ---------------------------------------------------------------------------
// BoundedQueue

enum class PopStyle { kPop, kPopWait, kTryPop };

// Drains `q` until the end of the stream with the given style; returns the
// items received (in order).
std::vector<int> Consume(IntQueue& q, PopStyle style) {
  std::vector<int> got;
  while (true) {
    IntQueue::Item item;
    switch (style) {
      case PopStyle::kPop:
        item = q.Pop();
        break;
      case PopStyle::kPopWait:
        while (!q.PopWait(item, milliseconds(3))) {
        }
        break;
      case PopStyle::kTryPop:
        while (!q.TryPop(item)) std::this_thread::yield();
        break;
    }
    if (!item) break;
    got.push_back(*item);
  }
  return got;
}

struct MpmcCase {
  int producers;
  int consumers;
  int per_producer;
  size_t capacity;
};

void RunMpmc(const MpmcCase& c) {
  IntQueue q(c.capacity);
  std::atomic<size_t> max_depth{0};
  std::vector<std::future<std::vector<int>>> consumers;
  for (int i = 0; i < c.consumers; ++i) {
    const auto style = static_cast<PopStyle>(i % 3);
    consumers.push_back(std::async(std::launch::async, [&q, style] { return Consume(q, style); }));
  }
  std::vector<std::future<void>> producers;
  producers.reserve(c.producers);
  for (int p = 0; p < c.producers; ++p) {
    producers.push_back(std::async(std::launch::async, [&, p] {
      for (int i = 0; i < c.per_producer; ++i) {
        q.Push(std::make_unique<int>(p * c.per_producer + i));
        size_t d = q.Depth();
        size_t seen = max_depth.load();
        while (d > seen && !max_depth.compare_exchange_weak(seen, d)) {
        }
      }
    }));
  }
  for (auto& f : producers) GetWithin(f, "a producer");
  // Every producer has returned from Push: now the stream may end.
  q.Close(c.consumers);

  const int total = c.producers * c.per_producer;
  std::vector<int> seen(total, 0);
  size_t received = 0;
  for (auto& f : consumers) {
    // Returning at all means this consumer saw the end of the stream.
    std::vector<int> got = GetWithin(f, "a consumer (end of stream not seen)");
    received += got.size();
    // moodycamel keeps each producer's items in order for a given consumer.
    std::vector<int> last(c.producers, -1);
    for (int v : got) {
      ASSERT_GE(v, 0);
      ASSERT_LT(v, total);
      ++seen[v];
      const int p = v / c.per_producer;
      EXPECT_GT(v, last[p]) << "producer " << p << "'s items out of order";
      last[p] = v;
    }
  }
  EXPECT_EQ(received, static_cast<size_t>(total));
  for (int v = 0; v < total; ++v) ASSERT_EQ(seen[v], 1) << "item " << v;
  EXPECT_LE(max_depth.load(), c.capacity);
  EXPECT_EQ(q.Depth(), 0u);
  // The end is sticky: every later pop sees it at once.
  IntQueue::Item item = std::make_unique<int>(-1);
  EXPECT_TRUE(q.TryPop(item));
  EXPECT_EQ(item, nullptr);
  item = std::make_unique<int>(-1);
  EXPECT_TRUE(q.PopWait(item, milliseconds(0)));
  EXPECT_EQ(item, nullptr);
  EXPECT_EQ(q.Pop(), nullptr);
}

TEST(BoundedQueueTest, ManyProducersManyConsumersEveryItemExactlyOnce) {
  RunMpmc({/*producers=*/4, /*consumers=*/3, /*per_producer=*/3000, /*capacity=*/4});
}

TEST(BoundedQueueTest, CapacityOneManyConsumers) {
  RunMpmc({/*producers=*/3, /*consumers=*/5, /*per_producer=*/1000, /*capacity=*/1});
}

TEST(BoundedQueueTest, MoreConsumersThanItems) {
  RunMpmc({/*producers=*/2, /*consumers=*/6, /*per_producer=*/2, /*capacity=*/2});
}

TEST(BoundedQueueTest, NoItemsAtAllEndsEveryConsumer) {
  RunMpmc({/*producers=*/1, /*consumers=*/4, /*per_producer=*/0, /*capacity=*/3});
}

// Close's markers come from another thread than the items, so they may be
// dequeued first: the end must still wait until every item is taken.
TEST(BoundedQueueTest, EndOfStreamWaitsForItemsThatMarkersOvertook) {
  for (int round = 0; round < 50; ++round) {
    IntQueue q(8);
    // Items from two producer threads (two moodycamel sub-queues).
    std::thread a([&] {
      for (int i = 0; i < 3; ++i) q.Push(std::make_unique<int>(i));
    });
    std::thread b([&] {
      for (int i = 3; i < 6; ++i) q.Push(std::make_unique<int>(i));
    });
    a.join();
    b.join();
    q.Close(8);  // many markers, from a third producer
    EXPECT_EQ(q.Depth(), 6u);
    std::vector<int> got;
    if (round % 2 == 0) {
      got = Consume(q, PopStyle::kTryPop);
    } else {
      got = Consume(q, PopStyle::kPopWait);
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5})) << "round " << round;
  }
}

// A consumer blocked in Pop when the stream ends wakes up with the end.
TEST(BoundedQueueTest, CloseWakesBlockedConsumers) {
  IntQueue q(2);
  constexpr int kConsumers = 4;
  std::atomic<int> waiting{0};
  std::vector<std::future<bool>> consumers;
  consumers.reserve(kConsumers);
  for (int i = 0; i < kConsumers; ++i) {
    consumers.push_back(std::async(std::launch::async, [&] {
      waiting.fetch_add(1);
      IntQueue::Item item;
      // Far longer than the test: only Close can end this wait in time.
      const bool ok = q.PopWait(item, std::chrono::hours(1));
      return ok && item == nullptr;
    }));
  }
  SpinUntil([&] { return waiting.load() == kConsumers; }, "consumers to start");
  q.Close(kConsumers);
  for (auto& f : consumers) EXPECT_TRUE(GetWithin(f, "a consumer blocked in PopWait"));
}

// A full queue holds its producer: with one consumer that takes items one at
// a time, the producer can never be more than `capacity` items ahead, and it
// does fill the queue up to exactly `capacity` each time (so it is blocked,
// not merely slow). No sleeps: the test waits on Depth() and TryPop.
TEST(BoundedQueueTest, FullQueueBlocksItsProducer) {
  constexpr size_t kCapacity = 3;
  constexpr int kItems = 40;
  IntQueue q(kCapacity);
  EXPECT_EQ(q.Capacity(), kCapacity);
  std::atomic<int> pushed{0};  // Push calls that have returned
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) {
      q.Push(std::make_unique<int>(i));
      pushed.fetch_add(1);
    }
  });
  int popped = 0;
  while (popped < kItems) {
    const size_t want = std::min<size_t>(kCapacity, static_cast<size_t>(kItems - popped));
    SpinUntil([&] { return q.Depth() == want; }, "the producer to fill the queue");
    // Full, and nothing more can go in until we take something.
    EXPECT_LE(q.Depth(), kCapacity);
    EXPECT_LE(pushed.load(), popped + static_cast<int>(kCapacity)) << "producer ran ahead";
    if (popped + static_cast<int>(kCapacity) < kItems) {
      EXPECT_LT(pushed.load(), kItems) << "producer finished while the queue was full";
    }
    IntQueue::Item item;
    SpinUntil([&] { return q.TryPop(item); }, "an item");
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(*item, popped) << "single producer, single consumer: FIFO";
    ++popped;
    EXPECT_LE(pushed.load(), popped + static_cast<int>(kCapacity));
  }
  producer.join();
  EXPECT_EQ(pushed.load(), kItems);
  EXPECT_EQ(q.Depth(), 0u);
  IntQueue::Item item;
  EXPECT_FALSE(q.TryPop(item)) << "not closed: no end of stream yet";
}

TEST(BoundedQueueTest, PushWaitTimesOutOnAFullQueueAndKeepsTheItem) {
  IntQueue q(1);
  q.Push(std::make_unique<int>(1));
  IntQueue::Item item = std::make_unique<int>(2);
  const auto start = steady_clock::now();
  EXPECT_FALSE(q.PushWait(item, milliseconds(30)));
  EXPECT_GE(steady_clock::now() - start, milliseconds(30));
  ASSERT_NE(item, nullptr) << "a push that timed out leaves the item with the caller";
  EXPECT_EQ(*item, 2);
  EXPECT_EQ(q.Depth(), 1u);
  // Room appears: the same item goes in.
  IntQueue::Item first;
  ASSERT_TRUE(q.TryPop(first));
  EXPECT_EQ(*first, 1);
  EXPECT_TRUE(q.PushWait(item, milliseconds(0)));
  EXPECT_EQ(item, nullptr);
  IntQueue::Item second;
  ASSERT_TRUE(q.TryPop(second));
  EXPECT_EQ(*second, 2);
}

TEST(BoundedQueueTest, PopWaitTimesOutOnAnEmptyOpenQueue) {
  IntQueue q(4);
  IntQueue::Item item = std::make_unique<int>(7);
  const auto start = steady_clock::now();
  EXPECT_FALSE(q.PopWait(item, milliseconds(30)));
  const auto waited = steady_clock::now() - start;
  EXPECT_GE(waited, milliseconds(30));
  EXPECT_LT(waited, seconds(20));
  EXPECT_FALSE(q.PopWait(item, milliseconds(0)));
  EXPECT_FALSE(q.PopWait(item, std::chrono::microseconds(1)));
  IntQueue::Item none;
  EXPECT_FALSE(q.TryPop(none));
}

TEST(BoundedQueueTest, PopWaitReturnsAnItemThatIsAlreadyThere) {
  IntQueue q(4);
  q.Push(std::make_unique<int>(42));
  IntQueue::Item item;
  ASSERT_TRUE(q.PopWait(item, milliseconds(0)));
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(*item, 42);
  EXPECT_EQ(q.Depth(), 0u);
}

TEST(BoundedQueueTest, PopWaitIsWokenByAPushFromAnotherThread) {
  IntQueue q(4);
  std::atomic<bool> started{false};
  auto consumer = std::async(std::launch::async, [&] {
    started.store(true);
    IntQueue::Item item;
    const bool ok = q.PopWait(item, std::chrono::hours(1));
    return ok && item ? *item : -1;
  });
  SpinUntil([&] { return started.load(); }, "the consumer");
  q.Push(std::make_unique<int>(5));
  EXPECT_EQ(GetWithin(consumer, "PopWait after a push"), 5);
}

TEST(BoundedQueueTest, OnPushRunsForEveryPushAndForClose) {
  IntQueue q(16);
  std::atomic<int> calls{0};
  q.SetOnPush([&] { calls.fetch_add(1); });
  std::vector<std::thread> producers;
  producers.reserve(3);
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 4; ++i) q.Push(std::make_unique<int>(i));
    });
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(calls.load(), 12);
  q.Close(2);
  EXPECT_EQ(calls.load(), 13);
  EXPECT_EQ(Consume(q, PopStyle::kPop).size(), 12u);
}

// The sender's pattern: an item handed over carries plain data written by
// the producer; the consumer reads it without any other synchronisation.
TEST(BoundedQueueTest, HandsOverPlainDataSafely) {
  struct Payload {
    std::vector<uint64_t> values;
    std::string text;
  };
  BoundedQueue<Payload> q(2);
  std::thread producer([&] {
    for (int i = 0; i < 500; ++i) {
      auto p = std::make_unique<Payload>();
      p->values.assign(16, static_cast<uint64_t>(i));
      p->text = std::to_string(i);
      q.Push(std::move(p));
    }
    q.Close(1);
  });
  int n = 0;
  while (auto p = q.Pop()) {
    EXPECT_EQ(p->text, std::to_string(n));
    EXPECT_EQ(std::accumulate(p->values.begin(), p->values.end(), uint64_t{0}),
              16u * static_cast<uint64_t>(n));
    ++n;
  }
  producer.join();
  EXPECT_EQ(n, 500);
}

// ---------------------------------------------------------------------------
// WorkerGroup

TEST(WorkerGroupTest, OnAllDoneRunsOnceAfterEveryWorker) {
  for (int round = 0; round < 30; ++round) {
    constexpr int kThreads = 4;
    // Plain data: each worker writes its own slot; on_all_done reads them
    // all, which is only race-free if it really runs after every worker.
    std::vector<int> results(kThreads, 0);
    std::vector<std::thread::id> worker_ids(kThreads);
    std::atomic<int> finished{0};
    std::atomic<int> done_calls{0};
    int finished_at_done = -1;
    std::vector<int> results_at_done;
    std::thread::id done_thread;
    {
      WorkerGroup group(
          "test", kThreads,
          [&](int i) {
            results[i] = (i + 1) * 10;
            worker_ids[i] = std::this_thread::get_id();
            finished.fetch_add(1);
          },
          [&] {
            finished_at_done = finished.load();
            results_at_done = results;
            done_thread = std::this_thread::get_id();
            done_calls.fetch_add(1);
          });
      EXPECT_EQ(group.size(), kThreads);
      EXPECT_EQ(group.name(), "test");
      group.Join();
      group.Join();  // idempotent; the destructor joins again
    }
    EXPECT_EQ(done_calls.load(), 1);
    EXPECT_EQ(finished_at_done, kThreads);
    EXPECT_EQ(results_at_done, (std::vector<int>{10, 20, 30, 40}));
    EXPECT_NE(std::find(worker_ids.begin(), worker_ids.end(), done_thread), worker_ids.end())
        << "on_all_done runs on the thread of the last worker";
  }
}

TEST(WorkerGroupTest, WithoutOnAllDone) {
  std::atomic<int> ran{0};
  WorkerGroup group(
      "plain", 3, [&](int) { ran.fetch_add(1); }, nullptr);
  group.Join();
  EXPECT_EQ(ran.load(), 3);
}

// Two stages as the pipeline wires them: the last producer's on_all_done
// closes the queue, the last consumer's on_all_done publishes the total.
TEST(WorkerGroupTest, ChainedStagesDrainThroughABoundedQueue) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 2;
  constexpr int kPerProducer = 2000;
  IntQueue q(3);
  std::vector<int64_t> sums(kConsumers, 0);  // plain, one slot per consumer
  int64_t total = -1;                        // written by the consumers' on_all_done
  std::atomic<int> closes{0};
  std::promise<void> all_done;
  auto all_done_future = all_done.get_future();
  {
    WorkerGroup consumers(
        "consumers", kConsumers,
        [&](int i) {
          while (auto item = q.Pop()) sums[i] += *item;
        },
        [&] {
          total = std::accumulate(sums.begin(), sums.end(), int64_t{0});
          all_done.set_value();
        });
    WorkerGroup producers(
        "producers", kProducers,
        [&](int p) {
          for (int i = 1; i <= kPerProducer; ++i) q.Push(std::make_unique<int>(p * 100000 + i));
        },
        [&] {
          closes.fetch_add(1);
          q.Close(kConsumers);
        });
    GetWithin(all_done_future, "the consumer stage");
  }
  int64_t want = 0;
  for (int p = 0; p < kProducers; ++p) {
    for (int i = 1; i <= kPerProducer; ++i) want += p * 100000 + i;
  }
  EXPECT_EQ(closes.load(), 1);
  EXPECT_EQ(total, want);
}

// ---------------------------------------------------------------------------
// Outcomes

TEST(OutcomesTest, SnapshotBalanceAndText) {
  Outcomes o;
  EXPECT_TRUE(o.Snapshot().Balanced());
  o.AddLines(21);
  o.AddDelivered(10);
  o.AddFiltered(1);
  o.AddInvalid(2);
  o.AddRejected(3);
  o.AddSpooled(4);
  OutcomeSnapshot s = o.Snapshot();
  EXPECT_EQ(s.Accounted(), 20u);
  EXPECT_FALSE(s.Balanced());
  o.AddUndelivered(1);
  s = o.Snapshot();
  EXPECT_TRUE(s.Balanced());
  EXPECT_EQ(s.ToString(),
            "lines=21 delivered=10 filtered=1 invalid=2 rejected=3 spooled=4 undelivered=1");
}

// Lines are counted by the source and their outcomes by later stages, which
// get them through a queue: a snapshot taken while that runs never shows
// more accounted than read, and the totals are exact at the end.
TEST(OutcomesTest, ConcurrentCountingIsExactAndNeverOverAccounts) {
  Outcomes o;
  constexpr int kChunks = 4000;
  IntQueue q(4);
  std::atomic<bool> stop{false};
  std::thread source([&] {
    for (int i = 0; i < kChunks; ++i) {
      o.AddLines(3);
      q.Push(std::make_unique<int>(i));
    }
    q.Close(2);
  });
  auto stage = [&] {
    while (auto item = q.Pop()) {
      o.AddDelivered(1);
      o.AddFiltered(*item % 2 == 0 ? 1 : 0);
      o.AddInvalid(*item % 2 == 0 ? 0 : 1);
      o.AddRejected(1);
    }
  };
  std::thread s1(stage), s2(stage);
  auto watcher = std::async(std::launch::async, [&] {
    int bad = 0;
    while (!stop.load()) {
      OutcomeSnapshot s = o.Snapshot();
      if (s.Accounted() > s.lines_read) ++bad;
    }
    return bad;
  });
  source.join();
  s1.join();
  s2.join();
  stop.store(true);
  EXPECT_EQ(GetWithin(watcher, "the snapshot watcher"), 0);
  OutcomeSnapshot s = o.Snapshot();
  EXPECT_EQ(s.lines_read, 3u * kChunks);
  EXPECT_EQ(s.delivered, static_cast<uint64_t>(kChunks));
  EXPECT_EQ(s.filtered + s.invalid, static_cast<uint64_t>(kChunks));
  EXPECT_EQ(s.rejected, static_cast<uint64_t>(kChunks));
  EXPECT_TRUE(s.Balanced());
}

// ---------------------------------------------------------------------------
// Shutdown

bool Readable(int fd, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN) != 0;
}

TEST(ShutdownTest, DrainDeadlineStartsWhenInputFinishes) {
  Shutdown s(seconds(7));
  EXPECT_FALSE(s.input_finished());
  EXPECT_FALSE(s.DrainDeadline().has_value());
  const auto before = steady_clock::now();
  s.MarkInputFinished();
  const auto after = steady_clock::now();
  EXPECT_TRUE(s.input_finished());
  std::optional<steady_clock::time_point> d = s.DrainDeadline();
  ASSERT_TRUE(d.has_value());
  EXPECT_GE(*d, before + seconds(7));
  EXPECT_LE(*d, after + seconds(7));
  // The first finish counts; later calls do not move the deadline.
  s.MarkInputFinished();
  EXPECT_EQ(s.DrainDeadline(), d);
  // Input finishing is not a stop request.
  EXPECT_FALSE(s.stop_requested());
  EXPECT_FALSE(s.stop_now());
}

TEST(ShutdownTest, ZeroDrainTimeoutMeansTheDeadlineIsWhenInputFinished) {
  Shutdown s(std::chrono::nanoseconds(0));
  const auto before = steady_clock::now();
  s.MarkInputFinished();
  ASSERT_TRUE(s.DrainDeadline().has_value());
  EXPECT_GE(*s.DrainDeadline(), before);
  EXPECT_LE(*s.DrainDeadline(), steady_clock::now());
}

TEST(ShutdownTest, ConcurrentMarkInputFinishedAgreeOnOneDeadline) {
  Shutdown s(seconds(1));
  std::vector<std::thread> threads;
  std::vector<steady_clock::time_point> seen(8);
  std::atomic<int> ready{0};
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < 8) std::this_thread::yield();
      s.MarkInputFinished();
      seen[i] = *s.DrainDeadline();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& d : seen) EXPECT_EQ(d, seen[0]);
}

TEST(ShutdownTest, FirstRequestStopsInputSecondStopsNow) {
  Shutdown s(seconds(30));
  ASSERT_GE(s.wake_fd(), 0);
  EXPECT_FALSE(Readable(s.wake_fd(), 0)) << "wake_fd readable before any stop request";
  EXPECT_FALSE(s.stop_requested());
  EXPECT_FALSE(s.stop_now());

  s.RequestStop();
  EXPECT_TRUE(s.stop_requested());
  EXPECT_FALSE(s.stop_now());
  EXPECT_TRUE(Readable(s.wake_fd(), 0));
  // A poll loop that does not read the descriptor keeps being woken.
  EXPECT_TRUE(Readable(s.wake_fd(), 0));
  // A stop request ends input even where no source marks it: the drain
  // deadline runs from the first request, and a later finish keeps it.
  ASSERT_TRUE(s.input_finished());
  const std::optional<steady_clock::time_point> deadline = s.DrainDeadline();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_LE(*deadline, steady_clock::now() + seconds(30));
  s.MarkInputFinished();
  EXPECT_EQ(s.DrainDeadline(), deadline);

  s.RequestStop();
  EXPECT_TRUE(s.stop_requested());
  EXPECT_TRUE(s.stop_now());
  uint64_t count = 0;
  ASSERT_EQ(read(s.wake_fd(), &count, sizeof count), static_cast<ssize_t>(sizeof count));
  EXPECT_GE(count, 1u);
}

// The signal-watching thread requests the stop while the source sleeps in
// poll(2) on wake_fd: the poll must end long before its timeout.
TEST(ShutdownTest, RequestStopFromAnotherThreadWakesAPoller) {
  Shutdown s(seconds(30));
  std::atomic<bool> polling{false};
  auto poller = std::async(std::launch::async, [&] {
    polling.store(true);
    const auto start = steady_clock::now();
    const bool woke = Readable(s.wake_fd(), 60000);
    return std::make_pair(woke && s.stop_requested(), steady_clock::now() - start);
  });
  SpinUntil([&] { return polling.load(); }, "the poller");
  std::thread signaller([&] { s.RequestStop(); });
  signaller.join();
  auto [woke, took] = GetWithin(poller, "poll on wake_fd");
  EXPECT_TRUE(woke);
  EXPECT_LT(took, seconds(30));
  EXPECT_FALSE(s.stop_now());
}

TEST(ShutdownTest, ConcurrentStopRequestsCountEveryOne) {
  Shutdown s(seconds(1));
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { s.RequestStop(); });
  for (auto& t : threads) t.join();
  EXPECT_TRUE(s.stop_requested());
  EXPECT_TRUE(s.stop_now());
  EXPECT_TRUE(Readable(s.wake_fd(), 0));
}

}  // namespace
}  // namespace nf2::pipeline
