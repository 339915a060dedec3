// Paces flowgen's output on an absolute schedule (item i is due at
// start + i / rate), so a slow moment is caught up rather than lost.
#ifndef NF2INGEST_TOOLS_FLOWGEN_PACER_H_
#define NF2INGEST_TOOLS_FLOWGEN_PACER_H_

#include <time.h>

#include <cerrno>
#include <csignal>
#include <cstdint>

namespace nf2::flowgen {

inline uint64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

class Pacer {
 public:
  // `stop` is set by a signal handler; a sleep it interrupts ends early.
  Pacer(double rate, const volatile std::sig_atomic_t* stop)
      : rate_(rate), start_ns_(NowNs(CLOCK_MONOTONIC)), stop_(stop) {}

  // Sleeps until item `done` is due, then returns how many items should have been emitted by now
  // (more than `done`). Returns `done` early when a stop signal arrives.
  uint64_t WaitForBudget(uint64_t done) {
    const uint64_t deadline = start_ns_ + OffsetNs(done);
    timespec ts;
    ts.tv_sec = static_cast<time_t>(deadline / 1'000'000'000ULL);
    ts.tv_nsec = static_cast<long>(deadline % 1'000'000'000ULL);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
      if (*stop_) return done;
    }
    const long double elapsed = static_cast<long double>(NowNs(CLOCK_MONOTONIC) - start_ns_);
    const uint64_t due = static_cast<uint64_t>(elapsed * rate_ / 1e9L) + 1;
    return due > done ? due : done + 1;
  }

 private:
  uint64_t OffsetNs(uint64_t i) const {
    return static_cast<uint64_t>(static_cast<long double>(i) * 1e9L / rate_);
  }

  long double rate_;
  uint64_t start_ns_;
  const volatile std::sig_atomic_t* stop_;
};

}  // namespace nf2::flowgen

#endif  // NF2INGEST_TOOLS_FLOWGEN_PACER_H_
