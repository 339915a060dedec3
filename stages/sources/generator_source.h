// The load-test source: goflow2 lines from the built-in generator (the one
// flowgen uses), at a fixed rate or in rising steps (a ramp), open loop.
//
// Line i is due at start + i / rate whatever the API does: the schedule never
// waits for answers. The queue it feeds is bounded like any other source's,
// so when the pipeline cannot keep up the push blocks and the generator falls
// behind its schedule; that lag is measured (per chunk, from the time its
// first line was due) and the lines it never got to are counted, rather than
// buffered without limit. A slow API so shows up as backlog and lag, and as
// offered > achieved, never as a quietly lower offered rate.
#ifndef NF2INGEST_STAGES_SOURCES_GENERATOR_SOURCE_H_
#define NF2INGEST_STAGES_SOURCES_GENERATOR_SOURCE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/metrics.h"
#include "pipeline/recycler.h"
#include "pipeline/shutdown.h"
#include "stages/flows/chunks.h"
#include "stages/sources/flow_generator.h"

namespace nf2 {

// One step of a ramp, as reported at its end.
struct GeneratorStep {
  int index = 0;         // from 0
  double rate = 0;       // lines per second
  uint64_t offered = 0;  // lines the step's schedule called for
  uint64_t lines = 0;    // of those, handed to the pipeline before the step's end
};

struct GeneratorSourceOptions {
  double rate = 1000;                           // lines per second (the first step's)
  absl::Duration duration = absl::Seconds(10);  // of each step
  uint64_t seed = 1;
  size_t chunk_bytes = 1024 * 1024;
  // A ramp (--ramp): `steps` steps of `duration` each, step k (from 0) at
  // rate * (k + 1). 1 is a fixed rate.
  int steps = 1;
  // With a hook, every step ends at its scheduled end, even when the
  // pipeline held lines back (they are skipped, and counted as behind); then
  // the hook runs, and returning false ends the run there. It runs on the
  // generator's thread: while it runs, no lines are generated. Without one,
  // lines due before the end still go out, however late.
  std::function<bool(const GeneratorStep&)> on_step_end;
};

struct GeneratorStats {
  uint64_t offered = 0;    // lines the schedule called for by the end
  uint64_t generated = 0;  // lines handed to the pipeline
  absl::Duration elapsed;  // from the first line's due time to the end
};

class GeneratorSource {
 public:
  // `lag_us` (optional) gets, per chunk, how late its first line was (µs).
  GeneratorSource(GeneratorSourceOptions options, pipeline::BoundedQueue<LineChunk>* out,
                  pipeline::Shutdown* shutdown, pipeline::Recycler<LineChunk>* recycler,
                  pipeline::LogLinearHistogram* lag_us);

  // Generates until the last step is over, a step's hook says stop, or a
  // stop is requested. Does not close the queue.
  absl::Status Run();

  GeneratorStats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  // One step at `rate` over [start, end): hands on the lines due in it
  // (with `hard_end`, only until `end`). Returns how many it handed on.
  uint64_t RunStep(flowgen::FlowGenerator& gen, double rate, Clock::time_point start,
                   Clock::time_point end, uint64_t total, bool hard_end);
  // Sleeps towards `due` when it is at least a millisecond away (a stop
  // wakes it); true when it slept, so the caller looks at the clock again.
  bool SleepUntilDue(Clock::time_point due, Clock::time_point now);
  // Records how late a chunk whose first line was due at `due` goes out.
  void RecordLag(Clock::time_point due);
  // Pushes `chunk`, waiting for room no later than `end`; true when pushed.
  bool PushBefore(std::unique_ptr<LineChunk>& chunk, Clock::time_point end);
  // Hands `chunk` to the pipeline: with `hard_end` only before `end` (false,
  // and the chunk recycled, when it could not), otherwise blocking for room.
  bool HandOn(std::unique_ptr<LineChunk> chunk, Clock::time_point end, bool hard_end);
  // Waits (a timer; a stop wakes it) until the step's scheduled end.
  void WaitForStepEnd(Clock::time_point end);

  GeneratorSourceOptions options_;
  pipeline::BoundedQueue<LineChunk>* out_;
  pipeline::Shutdown* shutdown_;
  pipeline::Recycler<LineChunk>* recycler_;
  pipeline::LogLinearHistogram* lag_us_;
  std::atomic<uint64_t> offered_{0};
  std::atomic<uint64_t> generated_{0};
  std::atomic<int64_t> elapsed_ns_{0};
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_GENERATOR_SOURCE_H_
