// A bounded, blocking, multi-producer multi-consumer queue of owned chunks.
//
// moodycamel's BlockingConcurrentQueue is unbounded; a counting semaphore of
// free slots bounds it, so a full queue blocks its producer and memory stays
// fixed whatever the input rate or the consumer's health. Items are
// std::unique_ptr: a null pointer is the end-of-stream marker (see Close).
#ifndef NF2INGEST_PIPELINE_BOUNDED_QUEUE_H_
#define NF2INGEST_PIPELINE_BOUNDED_QUEUE_H_

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
      : capacity_(capacity), free_slots_(static_cast<moodycamel::LightweightSemaphore::ssize_t>(capacity)) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Called after every push (e.g. to wake a consumer that waits on sockets).
  void SetOnPush(std::function<void()> on_push) { on_push_ = std::move(on_push); }

  // Blocks while the queue is full.
  void Push(Item item) {
    free_slots_.wait();
    depth_.fetch_add(1, std::memory_order_relaxed);
    queue_.enqueue(std::move(item));
    if (on_push_) on_push_();
  }

  // Pushes one end-of-stream marker per consumer. Markers do not take a slot,
  // so closing never blocks.
  void Close(int consumers) {
    for (int i = 0; i < consumers; ++i) queue_.enqueue(Item());
    if (on_push_) on_push_();
  }

  // Waits up to `timeout` for an item. Returns false on timeout; on success
  // `out` holds the item, or null for end of stream.
  bool PopWait(Item& out, std::chrono::microseconds timeout) {
    if (!queue_.wait_dequeue_timed(out, timeout.count())) return false;
    Release(out);
    return true;
  }

  // Waits without limit. Returns the item, or null for end of stream.
  Item Pop() {
    Item out;
    queue_.wait_dequeue(out);
    Release(out);
    return out;
  }

  bool TryPop(Item& out) {
    if (!queue_.try_dequeue(out)) return false;
    Release(out);
    return true;
  }

  size_t Depth() const { return depth_.load(std::memory_order_relaxed); }
  size_t Capacity() const { return capacity_; }

 private:
  void Release(const Item& out) {
    if (out) {
      depth_.fetch_sub(1, std::memory_order_relaxed);
      free_slots_.signal();
    }
  }

  const size_t capacity_;
  moodycamel::BlockingConcurrentQueue<Item> queue_;
  moodycamel::LightweightSemaphore free_slots_;
  std::atomic<size_t> depth_{0};
  std::function<void()> on_push_;
};

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_BOUNDED_QUEUE_H_
