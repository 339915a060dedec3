// Takes process signals on one thread of its own and turns each into a plain
// function call, so stopping a program happens in ordinary code (locks,
// logging, allocation) rather than in an async-signal handler, and no worker
// thread is ever interrupted by one.
//
// The watched signals are blocked in the thread that creates the watcher and
// so in every thread it starts afterwards: create it first thing in main(),
// before any other thread exists. They stay blocked after the watcher stops,
// so a late signal is left pending rather than killing a program that is
// already finishing. The watcher is stopped through a private eventfd that
// nobody outside the process can write to, never by a signal. A signal the
// program inherited as ignored (nohup, a shell's background job) stays
// ignored: the kernel discards it and the watcher never sees it, as the
// one who started the program asked.
#ifndef NF2INGEST_PIPELINE_SIGNAL_WATCHER_H_
#define NF2INGEST_PIPELINE_SIGNAL_WATCHER_H_

#include <sys/types.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"

namespace nf2::pipeline {

struct SignalEvent {
  int signo = 0;
  pid_t sender_pid = 0;  // 0 when the kernel sent it
};

class SignalWatcher {
 public:
  using Callback = std::function<void(const SignalEvent&)>;

  // Blocks `signals` and starts watching them; `on_signal` runs on the
  // watcher's thread, once per signal received, in order.
  static absl::StatusOr<std::unique_ptr<SignalWatcher>> Start(std::initializer_list<int> signals,
                                                              Callback on_signal);
  ~SignalWatcher();  // Stop()
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Ends the watching thread and waits for it (a callback under way is
  // finished first). Idempotent; not to be called from the callback.
  void Stop();

 private:
  SignalWatcher(int signal_fd, int wake_fd, Callback on_signal);
  void Watch();
  // Reads every signal queued on the signalfd; false on a read error.
  bool DeliverPending();

  const int signal_fd_;
  const int wake_fd_;
  const Callback on_signal_;
  std::thread thread_;
};

}  // namespace nf2::pipeline

#endif  // NF2INGEST_PIPELINE_SIGNAL_WATCHER_H_
