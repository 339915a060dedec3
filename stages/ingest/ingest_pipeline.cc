#include "stages/ingest/ingest_pipeline.h"

#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"
#include "pipeline/log.h"
#include "pipeline/worker_group.h"

namespace nf2 {
namespace {

// One log-safe line of input: printable ASCII kept, the rest escaped.
std::string Printable(std::string_view line) {
  std::string out;
  const size_t limit = 160;
  for (size_t i = 0; i < line.size() && i < limit; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  if (line.size() > limit) out += "...";
  return out;
}

}  // namespace

IngestPipeline::IngestPipeline(PipelineOptions options, pipeline::Outcomes* outcomes,
                               pipeline::Shutdown* shutdown)
    : options_(std::move(options)), outcomes_(outcomes), shutdown_(shutdown) {}

std::unique_ptr<BatchEncoder> IngestPipeline::MakeEncoder() {
  return std::make_unique<BatchEncoder>(options_.limits, options_.collector_id,
                                        MakeGzipCompressor(options_.gzip_impl, options_.gzip_level),
                                        &next_batch_id_);
}

void IngestPipeline::ParseWorker(int) {
  auto parser = MakeLineParser(options_.json_parser);
  auto on_invalid = [this](std::string_view line, std::string_view why) {
    uint64_t suppressed;
    if (!LogEnabled(LogLevel::kWarn) || !invalid_log_.Allow(&suppressed)) return;
    std::string msg =
        absl::StrCat("[PARSE] invalid line skipped (", Av(why), "): ", Printable(line));
    if (suppressed > 0) absl::StrAppend(&msg, " [", suppressed, " more since the last report]");
    LogWarn(msg);
  };
  while (auto chunk = q_lines_->Pop()) {
    auto records = free_records_->Take();
    records->records.clear();
    ParseCounts counts;
    ParseLineChunk(*parser, *chunk, records.get(), &counts, on_invalid);
    // The chunk's parse unit becomes one unit per record still travelling;
    // filtered and invalid lines are final here.
    const pipeline::ChunkRef ref = std::exchange(chunk->ref, pipeline::ChunkRef());
    records->ref = ref;
    pipeline::AckTracker::AddUnits(ref, counts.records);
    pipeline::AckTracker::Ack(ref, 1);
    free_lines_->Give(std::move(chunk));  // before blocking on the next queue
    outcomes_->AddLines(counts.lines);
    outcomes_->AddFiltered(counts.filtered);
    outcomes_->AddInvalid(counts.invalid);
    unknown_proto_ += counts.unknown_proto;
    if (!records->records.empty()) q_records_->Push(std::move(records));
  }
}

void IngestPipeline::MapWorker(int) {
  while (auto records = q_records_->Pop()) {
    auto fragments = free_fragments_->Take();
    MapRecordChunk(*records, fragments.get());
    fragments->ref = records->ref;
    free_records_->Give(std::move(records));
    q_fragments_->Push(std::move(fragments));
  }
}

void IngestPipeline::AssembleWorker(int) {
  using Clock = std::chrono::steady_clock;
  auto encoder = MakeEncoder();
  std::unique_ptr<Batch> batch;
  Clock::time_point deadline;
  std::vector<std::unique_ptr<Batch>> sealed;
  const auto flush_interval = absl::ToChronoNanoseconds(options_.flush_interval);

  // Records of the current chunk appended to the current batch and not yet
  // in its acks: one run per (batch, chunk), never one call per record.
  pipeline::ChunkRef run_ref;
  uint64_t run = 0;
  auto close_run = [&] {
    if (batch) batch->acks.Append(run_ref, run);
    run = 0;
  };
  auto seal = [&] {
    close_run();
    if (!batch) return;
    encoder->Seal(std::move(batch), &sealed);
    for (auto& b : sealed) {
      if (batch_records_) {
        batch_records_->Record(b->records());
        batch_raw_bytes_->Record(b->body.size());
        batch_wire_bytes_->Record(b->wire_size());
      }
      q_batches_->Push(std::move(b));
    }
    sealed.clear();
  };

  while (true) {
    std::unique_ptr<FragmentChunk> chunk;
    if (batch) {
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
      if (left.count() <= 0 || !q_fragments_->PopWait(chunk, left)) {
        seal();  // FLUSH_INTERVAL passed since the batch's first record
        continue;
      }
    } else {
      chunk = q_fragments_->Pop();
    }
    if (!chunk) break;  // end of input
    run_ref = chunk->ref;
    for (size_t i = 0; i < chunk->count(); ++i) {
      std::string_view fragment = chunk->fragment(i);
      if (batch && !encoder->Fits(*batch, fragment.size())) seal();
      if (!batch) {
        batch = encoder->Begin();
        deadline = Clock::now() + flush_interval;
      }
      encoder->Append(batch.get(), fragment);
      ++run;
      if (batch->records() >= options_.batch_size) seal();
    }
    close_run();
    free_fragments_->Give(std::move(chunk));
  }
  seal();
}

absl::Status IngestPipeline::Run() {
  const size_t qc = std::max<size_t>(options_.queue_chunks, 1);
  // As many spares as can be in flight between two stages, plus one per worker.
  const size_t spares = qc + static_cast<size_t>(options_.parser_threads + options_.mapper_threads +
                                                 options_.assembler_threads);
  free_lines_ = std::make_unique<pipeline::Recycler<LineChunk>>(spares);
  free_records_ = std::make_unique<pipeline::Recycler<RecordChunk>>(spares);
  free_fragments_ = std::make_unique<pipeline::Recycler<FragmentChunk>>(spares);
  q_lines_ = std::make_unique<pipeline::BoundedQueue<LineChunk>>(qc);
  q_records_ = std::make_unique<pipeline::BoundedQueue<RecordChunk>>(qc);
  q_fragments_ = std::make_unique<pipeline::BoundedQueue<FragmentChunk>>(qc);
  // Enough sealed batches to keep every request slot busy while the
  // assemblers fill the next ones.
  q_batches_ = std::make_unique<pipeline::BoundedQueue<Batch>>(
      static_cast<size_t>(options_.sender.max_in_flight) + options_.assembler_threads);

  // Queue depths are sampled when scraped; the handles unregister them
  // before the queues go away.
  std::vector<pipeline::MetricsRegistry::CallbackHandle> depth_gauges;
  if (pipeline::MetricsRegistry* m = options_.metrics) {
    auto depth = [&](const char* queue, auto* q) {
      depth_gauges.push_back(m->AddCallback(
          "nf2ingest_queue_depth", "Items waiting in each bounded queue between stages.", "gauge",
          {{"queue", queue}}, [q] { return static_cast<double>(q->Depth()); }));
    };
    depth("lines", q_lines_.get());
    depth("records", q_records_.get());
    depth("fragments", q_fragments_.get());
    depth("batches", q_batches_.get());
    const std::vector<double> record_bounds = {1, 10, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
    const std::vector<double> byte_bounds = {1024,   4096,    16384,   65536,  262144,
                                             524288, 1048576, 2097152, 5242880};
    batch_records_ = m->GetHistogram("nf2ingest_batch_records", "Records per sealed batch.", {}, 1,
                                     record_bounds);
    batch_raw_bytes_ = m->GetHistogram("nf2ingest_batch_bytes",
                                       "Bytes per sealed batch: raw JSON, and on the wire.",
                                       {{"kind", "raw"}}, 1, byte_bounds);
    batch_wire_bytes_ = m->GetHistogram("nf2ingest_batch_bytes",
                                        "Bytes per sealed batch: raw JSON, and on the wire.",
                                        {{"kind", "wire"}}, 1, byte_bounds);
    options_.sender.metrics = m;
  }

  auto splitter = MakeEncoder();
  HttpSender sender(options_.sender, q_batches_.get(), splitter.get(), outcomes_, shutdown_);
  q_batches_->SetOnPush([&sender] { sender.Wake(); });
  std::thread sender_thread([&sender] { sender.Run(); });

  {
    const int assemblers = options_.assembler_threads;
    const int mappers = options_.mapper_threads;
    const int parsers = options_.parser_threads;
    pipeline::WorkerGroup assemble(
        "assembler", assemblers, [this](int i) { AssembleWorker(i); },
        [this] { q_batches_->Close(1); });
    pipeline::WorkerGroup map(
        "mapper", mappers, [this](int i) { MapWorker(i); },
        [this, assemblers] { q_fragments_->Close(assemblers); });
    pipeline::WorkerGroup parse(
        "parser", parsers, [this](int i) { ParseWorker(i); },
        [this, mappers] { q_records_->Close(mappers); });

    absl::Status st;
    if (options_.generator) {
      pipeline::LogLinearHistogram* lag = nullptr;
      if (options_.metrics) {
        lag = options_.metrics->GetHistogram(
            "nf2ingest_generator_lag_seconds",
            "Load-test mode: how late each chunk of generated lines was against its schedule.", {},
            1e-6, {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
      }
      GeneratorSource source(*options_.generator, q_lines_.get(), shutdown_, free_lines_.get(),
                             lag);
      st = source.Run();
      shutdown_->MarkInputFinished();  // the drain deadline counts from here
      generator_stats_ = source.stats();
    } else if (!options_.replay_only) {
      LineSource source(options_.source, q_lines_.get(), outcomes_, shutdown_, free_lines_.get());
      st = source.Run();
    }
    q_lines_->Close(parsers);
    parse.Join();
    map.Join();
    assemble.Join();
    sender_thread.join();
    sender_stats_ = sender.stats();
    return st;
  }
}

PipelineStats IngestPipeline::stats() const {
  PipelineStats s;
  s.unknown_proto = unknown_proto_.load();
  s.sender = sender_stats_;
  s.generator = generator_stats_;
  return s;
}

}  // namespace nf2
