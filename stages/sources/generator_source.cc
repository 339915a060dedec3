#include "stages/sources/generator_source.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

namespace nf2 {

GeneratorSource::GeneratorSource(GeneratorSourceOptions options,
                                 pipeline::BoundedQueue<LineChunk>* out,
                                 pipeline::Shutdown* shutdown,
                                 pipeline::Recycler<LineChunk>* recycler,
                                 pipeline::LogLinearHistogram* lag_us)
    : options_(std::move(options)),
      out_(out),
      shutdown_(shutdown),
      recycler_(recycler),
      lag_us_(lag_us) {}

GeneratorStats GeneratorSource::stats() const {
  return {offered_.load(), generated_.load(), absl::Nanoseconds(elapsed_ns_.load())};
}

absl::Status GeneratorSource::Run() {
  flowgen::GeneratorOptions gen_options;
  gen_options.seed = options_.seed;
  flowgen::FlowGenerator gen(gen_options);

  const auto step_length = absl::ToChronoNanoseconds(options_.duration);
  const double step_s = absl::ToDoubleSeconds(options_.duration);
  const int steps = std::max(1, options_.steps);
  const bool hard_end = static_cast<bool>(options_.on_step_end);
  const auto start = Clock::now();
  uint64_t offered = 0;
  auto stopped = start;
  for (int k = 0; k < steps; ++k) {
    const double rate = options_.rate * (k + 1);
    const auto step_start = start + k * step_length;
    const auto step_end = step_start + step_length;
    const auto total = static_cast<uint64_t>(std::llround(rate * step_s));
    const uint64_t lines = RunStep(gen, rate, step_start, step_end, total, hard_end);
    const auto now = Clock::now();
    if (shutdown_->stop_requested()) {  // what the schedule called for so far
      const double secs =
          std::chrono::duration<double>(std::min(now, step_end) - step_start).count();
      offered += std::min<uint64_t>(total, static_cast<uint64_t>(std::llround(secs * rate)));
      stopped = std::min(now, step_end);
      break;
    }
    // A step ends at its scheduled end, however early its last chunk went
    // out (or, without a hook, when its last line went out, however late).
    offered += total;
    stopped = step_end;
    if (hard_end) {
      GeneratorStep step;
      step.index = k;
      step.rate = rate;
      step.offered = total;
      step.lines = lines;
      if (!options_.on_step_end(step)) break;
    }
  }
  offered_.store(offered);
  elapsed_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(stopped - start).count());
  return absl::OkStatus();
}

namespace {

using Clock = std::chrono::steady_clock;

// When line `i` of a step at `rate` that began at `start` is due.
inline Clock::time_point DueAt(Clock::time_point start, double rate, uint64_t i) {
  return start +
         std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate));
}

// How many lines the next chunk gets: everything due by `now` (at least the
// next line), at most `per_chunk`.
inline uint64_t LinesForChunk(Clock::time_point start, Clock::time_point now, double rate,
                              uint64_t made, uint64_t total, uint64_t per_chunk) {
  const uint64_t ready = std::min<uint64_t>(
      total, static_cast<uint64_t>(std::chrono::duration<double>(now - start).count() * rate) + 1);
  return std::min<uint64_t>(std::max<uint64_t>(ready, made + 1) - made, per_chunk);
}

// Writes up to `n` lines into `chunk` (`room` bytes of them, plus the
// parser's padding) and returns how many it wrote.
inline uint64_t FillChunk(flowgen::FlowGenerator& gen, LineChunk& chunk, uint64_t n, size_t room) {
  if (chunk.data.size() < room + kLinePadding) chunk.data.resize(room + kLinePadding);
  char* p = chunk.data.data();
  char* const limit = chunk.data.data() + room - flowgen::FlowGenerator::kMaxLineBytes;
  uint64_t lines = 0;
  while (lines < n && p <= limit) {
    p = gen.WriteLine(p, nullptr);
    ++lines;
  }
  chunk.size = static_cast<size_t>(p - chunk.data.data());
  return lines;
}

}  // namespace

bool GeneratorSource::SleepUntilDue(Clock::time_point due, Clock::time_point now) {
  if (due <= now) return false;
  // Wait for the schedule (a timer, not synchronisation); a stop request
  // wakes the poll at once.
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count();
  if (wait <= 0) return false;  // less than a millisecond early: close enough
  pollfd pfd{shutdown_->wake_fd(), POLLIN, 0};
  poll(&pfd, 1, static_cast<int>(wait));
  return true;
}

void GeneratorSource::RecordLag(Clock::time_point due) {
  if (!lag_us_) return;
  const auto late = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - due);
  lag_us_->Record(static_cast<uint64_t>(std::max<int64_t>(late.count(), 0)));
}

bool GeneratorSource::PushBefore(std::unique_ptr<LineChunk>& chunk, Clock::time_point end) {
  bool pushed = false;
  while (!pushed && !shutdown_->stop_requested()) {
    const auto left = end - Clock::now();
    if (left <= Clock::duration::zero()) break;
    pushed = out_->PushWait(chunk, std::min<std::chrono::microseconds>(
                                       std::chrono::duration_cast<std::chrono::microseconds>(left) +
                                           std::chrono::microseconds(1),
                                       std::chrono::milliseconds(50)));
  }
  return pushed;
}

bool GeneratorSource::HandOn(std::unique_ptr<LineChunk> chunk, Clock::time_point end,
                             bool hard_end) {
  if (!hard_end) {
    out_->Push(std::move(chunk));  // blocks while the pipeline is full: lag grows
    return true;
  }
  // Wait for room until the step's end; lines the pipeline never took by
  // then are dropped (the step counts them as behind).
  if (PushBefore(chunk, end)) return true;
  if (recycler_) recycler_->Give(std::move(chunk));
  return false;
}

void GeneratorSource::WaitForStepEnd(Clock::time_point end) {
  while (!shutdown_->stop_requested()) {
    const auto now = Clock::now();
    if (now >= end) break;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count();
    pollfd pfd{shutdown_->wake_fd(), POLLIN, 0};
    poll(&pfd, 1, static_cast<int>(std::max<int64_t>(wait, 1)));
  }
}

uint64_t GeneratorSource::RunStep(flowgen::FlowGenerator& gen, double rate, Clock::time_point start,
                                  Clock::time_point end, uint64_t total, bool hard_end) {
  // Small chunks (~5 ms of lines) keep the time a line waits for its chunk
  // to fill out of the measured latency, yet stay far above per-item cost.
  const size_t room =
      std::max<size_t>(options_.chunk_bytes, 2 * flowgen::FlowGenerator::kMaxLineBytes);
  const uint64_t per_chunk = std::max<uint64_t>(1, static_cast<uint64_t>(rate * 0.005));
  const uint64_t before = generated_.load();  // RunStep keeps the total current
  uint64_t made = 0;
  while (made < total && !shutdown_->stop_requested()) {
    const auto now = Clock::now();
    const auto due = DueAt(start, rate, made);
    if (now >= end && (hard_end || due >= end)) break;
    if (SleepUntilDue(due, now)) continue;
    // Everything due by now, in chunks of at most `per_chunk` lines.
    const uint64_t n = LinesForChunk(start, now, rate, made, total, per_chunk);
    auto chunk = recycler_ ? recycler_->Take() : std::make_unique<LineChunk>();
    const uint64_t lines = FillChunk(gen, *chunk, n, room);
    RecordLag(due);
    if (!HandOn(std::move(chunk), end, hard_end)) break;
    made += lines;
    generated_.store(before + made);
  }
  // A step that made every line early waits for its scheduled end, so that
  // the next one starts on time and a hook sees the whole step.
  if (made >= total) WaitForStepEnd(end);
  return made;
}

}  // namespace nf2
