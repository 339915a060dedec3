// A bounded, blocking, multi-producer multi-consumer queue of owned chunks.
//
// moodycamel's BlockingConcurrentQueue is unbounded; a counting semaphore of
// free slots bounds it, so a full queue blocks its producer and memory stays
// fixed whatever the input rate or the consumer's health. Items are
// std::unique_ptr: a null pointer is the end-of-stream marker (see Close).
#ifndef NF2INGEST_PIPELINE_BOUNDED_QUEUE_H_
#define NF2INGEST_PIPELINE_BOUNDED_QUEUE_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

#include "concurrentqueue/blockingconcurrentqueue.h"
#include "concurrentqueue/lightweightsemaphore.h"

namespace nf2::pipeline {

template <typename T>
class BoundedQueue {
 public:
  using Item = std::unique_ptr<T>;

  explicit BoundedQueue(size_t capacity)
      : capacity_(capacity),
        free_slots_(static_cast<moodycamel::LightweightSemaphore::ssize_t>(capacity)) {}

  ~BoundedQueue() = default;
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Called after every push (e.g. to wake a consumer that waits on sockets).
  void SetOnPush(std::function<void()> on_push) { on_push_ = std::move(on_push); }

  // Blocks while the queue is full.
  void Push(Item item) {
    free_slots_.wait();
    depth_.fetch_add(1, std::memory_order_acq_rel);
    queue_.enqueue(std::move(item));
    if (on_push_) on_push_();
  }

  // Waits up to `timeout` for room. On success the item is moved in and true
  // is returned; on timeout `item` is left with the caller.
  bool PushWait(Item& item, std::chrono::microseconds timeout) {
    if (!free_slots_.wait(timeout.count())) return false;
    depth_.fetch_add(1, std::memory_order_acq_rel);
    queue_.enqueue(std::move(item));
    if (on_push_) on_push_();
    return true;
  }

  // Ends the stream: call once every producer has returned from Push. The
  // null markers it queues only wake blocked consumers; the end itself is
  // "closed and empty", because moodycamel keeps FIFO order per producer
  // only and a marker may overtake other producers' items.
  void Close(int consumers) {
    closed_.store(true, std::memory_order_release);
    for (int i = 0; i < consumers; ++i) queue_.enqueue(Item());
    if (on_push_) on_push_();
  }

  // Waits up to `timeout` for an item. Returns false on timeout; on success
  // `out` holds the item, or null for end of stream.
  bool PopWait(Item& out, std::chrono::microseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (TryPop(out)) return true;
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (queue_.wait_dequeue_timed(out, std::min(left, kRecheck).count()) && out) {
        Release();
        return true;
      }
    }
  }

  // Waits without limit. Returns the item, or null for end of stream.
  Item Pop() {
    Item out;
    while (!PopWait(out, std::chrono::hours(24))) {
    }
    return out;
  }

  // Returns false when nothing is ready right now; true with an item, or
  // with null at the end of the stream.
  bool TryPop(Item& out) {
    // A marker dequeued here is dropped; a few tries get past markers that
    // sit ahead of items.
    for (int tries = 0; tries < 8; ++tries) {
      if (!queue_.try_dequeue(out)) break;
      if (out) {
        Release();
        return true;
      }
    }
    if (closed_.load(std::memory_order_acquire) && depth_.load(std::memory_order_acquire) == 0) {
      out.reset();
      return true;
    }
    return false;
  }

  size_t Depth() const { return depth_.load(std::memory_order_relaxed); }
  size_t Capacity() const { return capacity_; }

 private:
  void Release() {
    depth_.fetch_sub(1, std::memory_order_acq_rel);
    free_slots_.signal();
  }

  // Bound on how long a consumer can miss the end of the stream when the
  // marker meant for it was taken by another consumer.
  static constexpr std::chrono::microseconds kRecheck{20000};

  const size_t capacity_;
  moodycamel::BlockingConcurrentQueue<Item> queue_;
  moodycamel::LightweightSemaphore free_slots_;
  std::atomic<size_t> depth_{0};
  std::atomic<bool> closed_{false};
  std::function<void()> on_push_;
};

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_BOUNDED_QUEUE_H_
