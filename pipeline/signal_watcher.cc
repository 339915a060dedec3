#include "pipeline/signal_watcher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace nf2::pipeline {

absl::StatusOr<std::unique_ptr<SignalWatcher>> SignalWatcher::Start(
    std::initializer_list<int> signals, Callback on_signal) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : signals) sigaddset(&set, sig);
  // Blocked before the signalfd exists, so none can take its default action
  // in between; threads started later inherit the mask.
  if (const int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
    return absl::InternalError(absl::StrCat("pthread_sigmask: ", strerror(err)));
  }
  const int signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) return absl::InternalError(absl::StrCat("signalfd: ", strerror(errno)));
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int err = errno;
    close(signal_fd);
    return absl::InternalError(absl::StrCat("eventfd: ", strerror(err)));
  }
  return std::unique_ptr<SignalWatcher>(
      new SignalWatcher(signal_fd, wake_fd, std::move(on_signal)));
}

SignalWatcher::SignalWatcher(int signal_fd, int wake_fd, Callback on_signal)
    : signal_fd_(signal_fd), wake_fd_(wake_fd), on_signal_(std::move(on_signal)) {
  thread_ = std::thread([this] { Watch(); });
}

SignalWatcher::~SignalWatcher() {
  Stop();
  close(signal_fd_);
  close(wake_fd_);
}

void SignalWatcher::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof one);
  (void)ignored;  // an eventfd counter only needs to be non-zero
  thread_.join();
}

void SignalWatcher::Watch() {
  while (true) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    // Signals already queued are delivered even when a stop comes with them.
    if ((fds[0].revents & POLLIN) && !DeliverPending()) return;
    if (fds[1].revents & POLLIN) return;
  }
}

bool SignalWatcher::DeliverPending() {
  signalfd_siginfo info;
  while (true) {
    const ssize_t got = read(signal_fd_, &info, sizeof info);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno == EAGAIN;
    if (got != sizeof info) return false;
    on_signal_(SignalEvent{static_cast<int>(info.ssi_signo), static_cast<pid_t>(info.ssi_pid)});
  }
}

}  // namespace nf2::pipeline
