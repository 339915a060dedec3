// SignalWatcher: every signal sent to the process reaches the callback on the
// watcher's thread, and Stop() ends it without any signal.
#include "pipeline/signal_watcher.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace nf2::pipeline {
namespace {

class Received {
 public:
  void Add(const SignalEvent& e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
    threads_.push_back(std::this_thread::get_id());
    cv_.notify_all();
  }
  // Waits (5 s at most) until `n` signals have arrived.
  std::vector<SignalEvent> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return events_.size() >= n; });
    return events_;
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SignalEvent> events_;
  std::vector<std::thread::id> threads_;
};

TEST(SignalWatcher, DeliversEachSignalOnItsOwnThread) {
  Received got;
  auto watcher =
      SignalWatcher::Start({SIGUSR1, SIGUSR2}, [&got](const SignalEvent& e) { got.Add(e); });
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);  // would end the test process if not blocked
  ASSERT_EQ(got.WaitFor(1).size(), 1u);
  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
  const std::vector<SignalEvent> events = got.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].signo, SIGUSR1);
  EXPECT_EQ(events[1].signo, SIGUSR2);
  EXPECT_EQ(events[0].sender_pid, getpid());
  for (const auto& id : got.threads()) EXPECT_NE(id, std::this_thread::get_id());
  (*watcher)->Stop();
  (*watcher)->Stop();  // idempotent
}

TEST(SignalWatcher, StopsWithoutASignalAndLeavesLaterOnesPending) {
  Received got;
  auto watcher = SignalWatcher::Start({SIGUSR1}, [&got](const SignalEvent& e) { got.Add(e); });
  ASSERT_TRUE(watcher.ok());
  watcher->reset();  // Stop() through the private eventfd, then join
  // Still blocked: a late signal stays pending instead of killing the process.
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  sigset_t pending;
  ASSERT_EQ(sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGUSR1), 1);
  EXPECT_TRUE(got.WaitFor(0).empty());
  // Take it, so it does not reach another test.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  const timespec none{0, 0};
  EXPECT_EQ(sigtimedwait(&set, nullptr, &none), SIGUSR1);
}

}  // namespace
}  // namespace nf2::pipeline
