// Shutdown state shared by every stage.
//
// Draining goes front to back: the source stops reading (EOF or a first stop
// request), every stage finishes its queue, and the sink of the pipeline gets
// until `DrainDeadline()` to finish. A second stop request (`StopNow`) asks
// every stage to give up at once and account for what it still holds.
#ifndef NF2INGEST_PIPELINE_SHUTDOWN_H_
#define NF2INGEST_PIPELINE_SHUTDOWN_H_

#include <atomic>
#include <chrono>
#include <optional>

namespace nf2::pipeline {

class Shutdown {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Shutdown(Clock::duration drain_timeout);
  ~Shutdown();
  Shutdown(const Shutdown&) = delete;
  Shutdown& operator=(const Shutdown&) = delete;

  // A stop request (a signal): the first stops input, the second stops now.
  // Async-signal-unsafe callers only (call from a signal-watching thread).
  void RequestStop();

  // The source calls this once, when it has stopped reading for any reason.
  void MarkInputFinished();

  bool stop_requested() const { return stop_requests_.load() > 0; }
  bool stop_now() const { return stop_requests_.load() > 1; }
  bool input_finished() const { return input_finished_ns_.load() != 0; }

  // When input finished plus the drain timeout; nullopt while input goes on.
  std::optional<Clock::time_point> DrainDeadline() const;
  Clock::duration drain_timeout() const { return drain_timeout_; }

  // A descriptor that becomes readable on the first stop request, for
  // sources that wait in poll(2).
  int wake_fd() const { return wake_fd_; }

 private:
  const Clock::duration drain_timeout_;
  std::atomic<int> stop_requests_{0};
  std::atomic<int64_t> input_finished_ns_{0};
  int wake_fd_ = -1;
};

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_SHUTDOWN_H_
