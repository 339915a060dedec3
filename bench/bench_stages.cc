// Per-stage throughput, single thread (except the queue handoff), in records:
// every benchmark reports items_per_second = records per second.
//
// The corpus is NF2_BENCH_RECORDS (default 1024) flowgen lines of ~1 KB,
// cut into the 256 KiB line chunks LineSource hands out; each iteration
// processes one chunk (or one 5000-record batch for the encoders), cycling
// through the corpus.
//
// BM_SplitLines_memchr is the baseline: finding the lines with memchr, what
// every stage must at least do. The other single-thread benchmarks time their
// work on the thread's CPU clock (manual time: items_per_second is records per
// CPU second of the stage alone) and, between iterations, split as many lines
// with memchr, timed the same way (PairedBaseline, bench_support.h); the
// counter ratio_to_memchr is the stage's rate over that paired baseline, and
// bench/gate.py compares it with bench/baseline.json.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "pipeline/bounded_queue.h"
#include "stages/encode/batch.h"
#include "stages/encode/gzip.h"
#include "stages/flows/flow_record_json.h"
#include "stages/goflow2/line_parser.h"
#include "stages/ingest/chunk_stages.h"

namespace nf2::bench {
namespace {

constexpr size_t kBatchSize = 5000;  // BATCH_SIZE of the end-to-end benchmark

struct Corpus {
  std::vector<std::unique_ptr<LineChunk>> lines;
  std::vector<RecordChunk> records;      // lines, parsed (simdjson)
  std::vector<FragmentChunk> fragments;  // records, serialized
  uint64_t total_records = 0;
};

const Corpus& TheCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    const uint64_t n = EnvU64("NF2_BENCH_RECORDS", 1024);
    const std::string text = GenerateCorpus(n, EnvU64("NF2_BENCH_SEED", 1));
    c->lines = SplitIntoChunks(text);
    auto parser = MakeLineParser(JsonParserKind::kSimdjson);
    for (const auto& chunk : c->lines) {
      RecordChunk rc;
      ParseCounts counts;
      ParseLineChunk(*parser, *chunk, &rc, &counts, nullptr);
      FragmentChunk fc;
      MapRecordChunk(rc, &fc);
      c->total_records += rc.records.size();
      c->records.push_back(std::move(rc));
      c->fragments.push_back(std::move(fc));
    }
    if (c->total_records != n) {
      std::fprintf(stderr, "bench: corpus has %llu records, expected %llu\n",
                   static_cast<unsigned long long>(c->total_records),
                   static_cast<unsigned long long>(n));
      std::exit(1);
    }
    return c;
  }();
  return *corpus;
}

// Times one stage on the thread CPU clock, pairs each iteration with the
// memchr baseline, and reports both.
class StageTimer {
 public:
  explicit StageTimer(const Corpus& c) : baseline_(&c.lines) {}

  void Start() { t0_ = ThreadCpuSeconds(); }
  // Ends an iteration that handled `records` records; then runs the baseline.
  void Stop(benchmark::State& state, int64_t records) {
    const double dt = ThreadCpuSeconds() - t0_;
    state.SetIterationTime(dt);
    seconds_ += dt;
    records_ += records;
    baseline_.Run(records);
  }
  void Report(benchmark::State& state) {
    baseline_.Flush();
    state.SetItemsProcessed(records_);
    if (seconds_ > 0 && baseline_.rate() > 0) {
      state.counters["ratio_to_memchr"] =
          static_cast<double>(records_) / seconds_ / baseline_.rate();
      state.counters["memchr_records_per_s"] = baseline_.rate();
    }
  }

 private:
  PairedBaseline baseline_;
  double t0_ = 0;
  double seconds_ = 0;
  int64_t records_ = 0;
};

// The baseline: find every line of a chunk with memchr, nothing else.
void BM_SplitLines_memchr(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  size_t i = 0;
  int64_t lines = 0, bytes = 0;
  for (auto _ : state) {
    const LineChunk& chunk = *c.lines[i];
    if (++i == c.lines.size()) i = 0;
    lines += SplitLinesMemchr(chunk.data.data(), chunk.size);
    bytes += static_cast<int64_t>(chunk.size);
  }
  state.SetItemsProcessed(lines);
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_SplitLines_memchr);

// ParseLineChunk: split + strip + parse + validate into FlowRecords.
void BM_ParseChunk(benchmark::State& state, JsonParserKind kind) {
  const Corpus& c = TheCorpus();
  auto parser = MakeLineParser(kind);
  RecordChunk out;
  out.records.reserve(1024);
  const InvalidLineFn on_invalid;
  StageTimer timer(c);
  size_t i = 0;
  for (auto _ : state) {
    const LineChunk& chunk = *c.lines[i];
    if (++i == c.lines.size()) i = 0;
    timer.Start();
    out.records.clear();
    ParseCounts counts;
    ParseLineChunk(*parser, chunk, &out, &counts, on_invalid);
    benchmark::DoNotOptimize(out.records.data());
    timer.Stop(state, static_cast<int64_t>(counts.records));
  }
  timer.Report(state);
}
BENCHMARK_CAPTURE(BM_ParseChunk, simdjson, JsonParserKind::kSimdjson)->UseManualTime();
BENCHMARK_CAPTURE(BM_ParseChunk, rapidjson, JsonParserKind::kRapidjson)->UseManualTime();

// MapRecordChunk: FlowRecords → flows.v1 JSON fragments (the mapper pool's
// work; the goflow2 → FlowRecord mapping happens in the parser).
void BM_MapSerialize(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  FragmentChunk out;
  StageTimer timer(c);
  size_t i = 0;
  for (auto _ : state) {
    const RecordChunk& in = c.records[i];
    if (++i == c.records.size()) i = 0;
    timer.Start();
    MapRecordChunk(in, &out);
    benchmark::DoNotOptimize(out.data.data());
    timer.Stop(state, static_cast<int64_t>(in.records.size()));
  }
  timer.Report(state);
}
BENCHMARK(BM_MapSerialize)->UseManualTime();

// BatchEncoder: append 5000 fragments, seal (gzip above the 50 KB threshold).
// Per iteration one batch, as the assembler pool builds them.
void BM_BatchEncode(benchmark::State& state, bool gzip, GzipImpl impl, int level) {
  const Corpus& c = TheCorpus();
  BatchLimits limits;
  if (!gzip) limits.gzip_threshold = limits.max_wire_bytes;  // never gzip
  std::atomic<uint64_t> next_id{1};
  BatchEncoder encoder(limits, "gw-local", MakeGzipCompressor(impl, level), &next_id);
  std::vector<std::unique_ptr<Batch>> sealed;
  StageTimer timer(c);
  size_t ci = 0, fi = 0;
  int64_t body_bytes = 0, wire_bytes = 0;
  for (auto _ : state) {
    timer.Start();
    auto batch = encoder.Begin();
    for (size_t n = 0; n < kBatchSize; ++n) {
      const FragmentChunk& chunk = c.fragments[ci];
      std::string_view fragment = chunk.fragment(fi);
      if (++fi == chunk.count()) {
        fi = 0;
        if (++ci == c.fragments.size()) ci = 0;
      }
      if (!encoder.Fits(*batch, fragment.size())) {
        state.SkipWithError("batch limits reached before 5000 records");
        break;
      }
      encoder.Append(batch.get(), fragment);
    }
    const auto records = static_cast<int64_t>(batch->records());
    body_bytes += static_cast<int64_t>(batch->body.size());
    encoder.Seal(std::move(batch), &sealed);
    for (const auto& b : sealed) {
      if (gzip && !b->gzipped) state.SkipWithError("batch was not gzipped");
      wire_bytes += static_cast<int64_t>(b->wire_size());
    }
    sealed.clear();  // frees the batch, as the sender does after delivery
    timer.Stop(state, records);
  }
  timer.Report(state);
  state.SetBytesProcessed(body_bytes);
  if (body_bytes > 0) {
    state.counters["wire_ratio"] =
        static_cast<double>(wire_bytes) / static_cast<double>(body_bytes);
  }
}
BENCHMARK_CAPTURE(BM_BatchEncode, plain, false, GzipImpl::kLibdeflate, 1)->UseManualTime();
BENCHMARK_CAPTURE(BM_BatchEncode, isal_L1, true, GzipImpl::kIsal, 1)->UseManualTime();
BENCHMARK_CAPTURE(BM_BatchEncode, isal_L3, true, GzipImpl::kIsal, 3)->UseManualTime();
BENCHMARK_CAPTURE(BM_BatchEncode, libdeflate_L1, true, GzipImpl::kLibdeflate, 1)->UseManualTime();
BENCHMARK_CAPTURE(BM_BatchEncode, libdeflate_L6, true, GzipImpl::kLibdeflate, 6)->UseManualTime();
BENCHMARK_CAPTURE(BM_BatchEncode, zlib_L1, true, GzipImpl::kZlib, 1)->UseManualTime();
BENCHMARK_CAPTURE(BM_BatchEncode, zlib_L6, true, GzipImpl::kZlib, 6)->UseManualTime();

// BoundedQueue handoff between two threads: a producer pushes empty chunk
// pointers, this thread pops them. One item stands for a 256-record chunk
// (what a 256 KiB chunk of ~1 KB lines holds), so items_per_second is the
// record rate the queue alone could carry (wall time). records_per_cpu_s
// divides by both threads' CPU time instead; the baseline is measured on this
// thread before and after.
void BM_QueueHandoff(benchmark::State& state) {
  constexpr int64_t kRecordsPerChunk = 256;
  const Corpus& c = TheCorpus();
  PairedBaseline baseline(&c.lines);
  baseline.Run(4096);
  pipeline::BoundedQueue<RecordChunk> q(8);
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::thread producer([&] {
    while (!stop.load(std::memory_order_relaxed)) q.Push(std::make_unique<RecordChunk>());
    done.store(true);
  });
  int64_t items = 0;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    auto item = q.Pop();
    benchmark::DoNotOptimize(item.get());
    ++items;
  }
  const double cpu = ProcessCpuSeconds() - cpu0;
  stop.store(true);
  std::unique_ptr<RecordChunk> item;
  while (!done.load()) q.TryPop(item);  // unblock a producer waiting for a slot
  producer.join();
  baseline.Run(4096);
  baseline.Flush();
  const int64_t records = items * kRecordsPerChunk;
  state.SetItemsProcessed(records);
  if (cpu > 0) {
    const double per_cpu = static_cast<double>(records) / cpu;
    state.counters["records_per_cpu_s"] = per_cpu;
    state.counters["ratio_to_memchr"] = per_cpu / baseline.rate();
    state.counters["memchr_records_per_s"] = baseline.rate();
  }
}
BENCHMARK(BM_QueueHandoff)->UseRealTime();

// The fused ceiling loop of issue 4 on one core: simdjson + hand serializer +
// gzip L1 (nf2ingest's default compressor) over 5000-record bodies, no queues,
// no threads.
void BM_FusedCeiling(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  FusedLoop loop(kBatchSize, kDefaultGzipImpl, 1);
  StageTimer timer(c);
  size_t i = 0;
  for (auto _ : state) {
    const LineChunk& chunk = *c.lines[i];
    if (++i == c.lines.size()) i = 0;
    timer.Start();
    const uint64_t before = loop.records();
    loop.Feed(chunk.data.data(), chunk.size, chunk.data.size());
    timer.Stop(state, static_cast<int64_t>(loop.records() - before));
  }
  timer.Report(state);
}
BENCHMARK(BM_FusedCeiling)->UseManualTime();

}  // namespace
}  // namespace nf2::bench

int main(int argc, char** argv) {
  // A fixed malloc policy: glibc's dynamic mmap threshold otherwise depends on
  // what was freed before (a corpus above 32 MiB leaves it at 128 KiB), and
  // then every ~1 MB batch body is mmapped and unmapped per iteration:
  // BM_BatchEncode/plain measured 15x slower from page faults alone. (In
  // nf2ingest the first batch body freed raises the threshold for good.)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
