#include "stages/generator_source.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "stages/flow_generator.h"
#include "stages/line_parser.h"

namespace nf2 {

GeneratorSource::GeneratorSource(GeneratorSourceOptions options,
                                 pipeline::BoundedQueue<LineChunk>* out,
                                 pipeline::Shutdown* shutdown,
                                 pipeline::Recycler<LineChunk>* recycler,
                                 pipeline::LogLinearHistogram* lag_us)
    : options_(options), out_(out), shutdown_(shutdown), recycler_(recycler), lag_us_(lag_us) {}

GeneratorStats GeneratorSource::stats() const {
  return {offered_.load(), generated_.load(), absl::Nanoseconds(elapsed_ns_.load())};
}

absl::Status GeneratorSource::Run() {
  using Clock = std::chrono::steady_clock;
  flowgen::GeneratorOptions gen_options;
  gen_options.seed = options_.seed;
  flowgen::FlowGenerator gen(gen_options);

  const double rate = options_.rate;
  const auto total =
      static_cast<uint64_t>(std::llround(rate * absl::ToDoubleSeconds(options_.duration)));
  // Small chunks (~5 ms of lines) keep the time a line waits for its chunk
  // to fill out of the measured latency, yet stay far above per-item cost.
  const size_t room =
      std::max<size_t>(options_.chunk_bytes, 2 * flowgen::FlowGenerator::kMaxLineBytes);
  const uint64_t per_chunk = std::max<uint64_t>(1, static_cast<uint64_t>(rate * 0.005));
  const auto start = Clock::now();
  const auto end = start + absl::ToChronoNanoseconds(options_.duration);
  auto due_at = [&](uint64_t i) {
    return start +
           std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate));
  };

  uint64_t made = 0;
  while (made < total && !shutdown_->stop_requested()) {
    auto now = Clock::now();
    // Lines due before the end still go out, however late.
    if (now >= end && due_at(made) >= end) break;
    const auto due = due_at(made);
    if (due > now) {
      // Wait for the schedule (a timer, not synchronisation); a stop request
      // wakes the poll at once.
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count();
      pollfd pfd{shutdown_->wake_fd(), POLLIN, 0};
      if (wait > 0) poll(&pfd, 1, static_cast<int>(wait));
      if (wait > 0) continue;
      // Less than a millisecond early: close enough.
    }
    // Everything due by now, in chunks of at most `per_chunk` lines.
    const uint64_t ready = std::min<uint64_t>(
        total,
        static_cast<uint64_t>(std::chrono::duration<double>(now - start).count() * rate) + 1);
    const uint64_t n = std::min<uint64_t>(std::max<uint64_t>(ready, made + 1) - made, per_chunk);
    auto chunk = recycler_ ? recycler_->Take() : std::make_unique<LineChunk>();
    if (chunk->data.size() < room + kLinePadding) chunk->data.resize(room + kLinePadding);
    char* p = chunk->data.data();
    char* const limit = chunk->data.data() + room - flowgen::FlowGenerator::kMaxLineBytes;
    uint64_t lines = 0;
    while (lines < n && p <= limit) {
      p = gen.WriteLine(p, nullptr);
      ++lines;
    }
    chunk->size = static_cast<size_t>(p - chunk->data.data());
    if (lag_us_) {
      const auto late = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - due);
      lag_us_->Record(static_cast<uint64_t>(std::max<int64_t>(late.count(), 0)));
    }
    out_->Push(std::move(chunk));  // blocks while the pipeline is full: lag grows
    made += lines;
    generated_.store(made);
  }
  // A run that made every line ends at the schedule's end, however early
  // the last chunk went out.
  const auto stopped = made >= total ? end : std::min(Clock::now(), end);
  const double secs = std::chrono::duration<double>(stopped - start).count();
  // What the schedule called for up to the end (the whole run unless stopped).
  offered_.store(std::min<uint64_t>(total, static_cast<uint64_t>(std::llround(secs * rate))));
  if (stopped >= end) offered_.store(total);
  elapsed_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(stopped - start).count());
  return absl::OkStatus();
}

}  // namespace nf2
