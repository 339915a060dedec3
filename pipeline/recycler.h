// A free list of chunks, so the hot path reuses buffers (and their capacity)
// instead of allocating, zero-filling and page-faulting new ones per chunk.
// Lock-free; bounded: chunks given back beyond `max_free` are freed.
#ifndef NF2INGEST_PIPELINE_RECYCLER_H_
#define NF2INGEST_PIPELINE_RECYCLER_H_

#include <atomic>
#include <cstddef>
#include <memory>

#include "concurrentqueue/concurrentqueue.h"

namespace nf2::pipeline {

template <typename T>
class Recycler {
 public:
  explicit Recycler(size_t max_free) : max_free_(max_free) {}

  // A chunk from the free list, or a new default-constructed one.
  std::unique_ptr<T> Take() {
    std::unique_ptr<T> item;
    if (free_.try_dequeue(item)) {
      count_.fetch_sub(1, std::memory_order_relaxed);
      return item;
    }
    return std::make_unique<T>();
  }

  // Returns a chunk for reuse; the caller resets what needs resetting.
  void Give(std::unique_ptr<T> item) {
    if (!item) return;
    if (count_.fetch_add(1, std::memory_order_relaxed) >= max_free_) {
      count_.fetch_sub(1, std::memory_order_relaxed);
      return;  // enough spares: let it go
    }
    free_.enqueue(std::move(item));
  }

 private:
  const size_t max_free_;
  std::atomic<size_t> count_{0};
  moodycamel::ConcurrentQueue<std::unique_ptr<T>> free_;
};

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_RECYCLER_H_
