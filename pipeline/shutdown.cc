#include "pipeline/shutdown.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace nf2::pipeline {

Shutdown::Shutdown(Clock::duration drain_timeout)
    : drain_timeout_(drain_timeout), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Shutdown::~Shutdown() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Shutdown::RequestStop() {
  stop_requests_.fetch_add(1);
  MarkInputFinished();  // a stop ends input even where no source marks it
  uint64_t one = 1;
  if (wake_fd_ >= 0) {
    ssize_t ignored = write(wake_fd_, &one, sizeof one);
    (void)ignored;  // the counter only ever needs to be non-zero
  }
}

void Shutdown::MarkInputFinished() {
  int64_t now = Clock::now().time_since_epoch().count();
  if (now == 0) now = 1;
  int64_t expected = 0;
  input_finished_ns_.compare_exchange_strong(expected, now);
}

std::optional<Shutdown::Clock::time_point> Shutdown::DrainDeadline() const {
  int64_t t = input_finished_ns_.load();
  if (t == 0) return std::nullopt;
  return Clock::time_point(Clock::duration(t)) + drain_timeout_;
}

}  // namespace nf2::pipeline
