// Runs N copies of a worker loop on N threads and tells the next stage when
// the last of them has finished (so it can close the downstream queue).
#ifndef NF2INGEST_PIPELINE_WORKER_GROUP_H_
#define NF2INGEST_PIPELINE_WORKER_GROUP_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace nf2::pipeline {

class WorkerGroup {
 public:
  // `work(i)` runs on thread i; `on_all_done` runs once, on the thread of the
  // worker that finishes last.
  WorkerGroup(std::string name, int threads, const std::function<void(int)>& work,
              const std::function<void()>& on_all_done);
  ~WorkerGroup();  // joins

  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  void Join();
  int size() const { return static_cast<int>(threads_.size()); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::atomic<int> running_;
  std::vector<std::thread> threads_;
};

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_WORKER_GROUP_H_
