// What checkpoint bookkeeping costs per chunk: registration, the parser's
// AddUnits and release of its parse unit, and acks from two batches that
// share the chunk's records, with a window of chunks in flight so the
// watermark advances the way it does in a running pipeline.
#include <deque>

#include "benchmark/benchmark.h"
#include "pipeline/ack_tracker.h"

namespace {

using nf2::pipeline::AckSpans;
using nf2::pipeline::AckTracker;
using nf2::pipeline::ChunkRef;

constexpr uint64_t kChunkBytes = 1 << 20;

void BM_AckTrackerChunkLifecycle(benchmark::State& state) {
  const size_t in_flight = static_cast<size_t>(state.range(0));
  AckTracker tracker;
  const auto input = tracker.AddInput();
  std::deque<ChunkRef> window;
  uint64_t offset = 0;
  for (auto _ : state) {
    auto ref = tracker.Register(input, offset, offset + kChunkBytes, 1);
    offset += kChunkBytes;
    AckTracker::AddUnits(*ref, 5000);  // the records the parser produced
    AckTracker::Ack(*ref, 1);          // its parse unit
    window.push_back(*ref);
    if (window.size() > in_flight) {
      AckSpans first, second;  // the chunk's records spread over two batches
      first.Append(window.front(), 2500);
      second.Append(window.front(), 2500);
      second.AckAll();
      first.AckAll();
      window.pop_front();
    }
  }
  benchmark::DoNotOptimize(tracker.Watermark(input));
  state.SetItemsProcessed(state.iterations());  // chunks
}
BENCHMARK(BM_AckTrackerChunkLifecycle)->Arg(1)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
