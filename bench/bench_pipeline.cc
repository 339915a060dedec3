// The whole in-process pipeline (file source → parser pool → mapper pool →
// assembler pool with libdeflate L1 → sender whose transport discards), with
// 1, 2 and hardware_concurrency threads in every pool, BATCH_SIZE 5000.
// items_per_second = records per second of wall time.
//
// The corpus is NF2_BENCH_PIPELINE_RECORDS (default 200000) flowgen lines,
// written once to $TMPDIR/nf2-bench-corpus-<n>-<seed>.jsonl and read from the
// page cache.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <thread>

#include "bench/bench_support.h"
#include "pipeline/log.h"
#include "pipeline/outcomes.h"
#include "pipeline/shutdown.h"
#include "stages/ingest/ingest_pipeline.h"

namespace nf2::bench {
namespace {

uint64_t PipelineRecords() {
  static const uint64_t n = EnvU64("NF2_BENCH_PIPELINE_RECORDS", 200000);
  return n;
}

const std::string& PipelineCorpus() {
  static const std::string path = CorpusFile(PipelineRecords(), EnvU64("NF2_BENCH_SEED", 1));
  return path;
}

// The memchr baseline for the gate, split from an in-memory corpus of the
// same lines around every pipeline run (see PairedBaseline).
const std::vector<std::unique_ptr<LineChunk>>& BaselineChunks() {
  static const auto* chunks = new std::vector<std::unique_ptr<LineChunk>>(
      SplitIntoChunks(GenerateCorpus(16384, EnvU64("NF2_BENCH_SEED", 1))));
  return *chunks;
}

void BM_Pipeline(benchmark::State& state) {
  SetLogLevel(LogLevel::kWarn);
  const int threads = static_cast<int>(state.range(0));
  const std::string& corpus = PipelineCorpus();
  const uint64_t expected = PipelineRecords();
  PairedBaseline baseline(&BaselineChunks());
  int64_t records = 0;
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    baseline.Run(static_cast<int64_t>(expected / 2));
    state.ResumeTiming();
    PipelineOptions options;
    options.source.inputs = {corpus};
    options.parser_threads = options.mapper_threads = options.assembler_threads = threads;
    options.batch_size = 5000;
    options.sender.discard_transport = true;
    options.sender.run_id = "bench";
    options.sender.ingest_url = "http://127.0.0.1:9/v1/ingest";
    pipeline::Outcomes outcomes;
    pipeline::Shutdown shutdown(std::chrono::seconds(30));
    const double cpu0 = ProcessCpuSeconds();
    IngestPipeline p(options, &outcomes, &shutdown);
    const absl::Status st = p.Run();
    cpu += ProcessCpuSeconds() - cpu0;
    const pipeline::OutcomeSnapshot s = outcomes.Snapshot();
    if (!st.ok() || s.delivered != expected || !s.Balanced()) {
      state.SkipWithError(("pipeline did not deliver every record: " + s.ToString()).c_str());
      break;
    }
    records += static_cast<int64_t>(s.delivered);
    state.PauseTiming();
    baseline.Run(static_cast<int64_t>(expected / 2));
    state.ResumeTiming();
  }
  baseline.Flush();
  state.SetItemsProcessed(records);
  // Records per second of CPU over all threads: the cost per record, which
  // the gate compares with the memchr baseline (wall time on a shared machine
  // mostly measures the neighbours).
  if (cpu > 0) {
    const double per_cpu = static_cast<double>(records) / cpu;
    state.counters["records_per_cpu_s"] = per_cpu;
    state.counters["ratio_to_memchr"] = per_cpu / baseline.rate();
    state.counters["memchr_records_per_s"] = baseline.rate();
  }
}

void PipelineArgs(benchmark::internal::Benchmark* b) {
  const int n = static_cast<int>(std::thread::hardware_concurrency());
  b->ArgName("threads")->Arg(1)->Arg(2);
  if (n > 2) b->Arg(n);
  b->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_Pipeline)->Apply(PipelineArgs);

}  // namespace
}  // namespace nf2::bench

BENCHMARK_MAIN();
