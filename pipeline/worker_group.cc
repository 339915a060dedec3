#include "pipeline/worker_group.h"

#include <utility>

namespace nf2::pipeline {

WorkerGroup::WorkerGroup(std::string name, int threads, const std::function<void(int)>& work,
                         const std::function<void()>& on_all_done)
    : name_(std::move(name)), running_(threads) {
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i, work, on_all_done] {
      work(i);
      if (running_.fetch_sub(1, std::memory_order_acq_rel) == 1 && on_all_done) on_all_done();
    });
  }
}

WorkerGroup::~WorkerGroup() { Join(); }

void WorkerGroup::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

}  // namespace nf2::pipeline
