#include "stages/ingest/ingest_pipeline.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string_view>
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

using Clock = std::chrono::steady_clock;

// Per-batch size histograms (all null without metrics).
struct BatchHistograms {
  pipeline::LogLinearHistogram* records = nullptr;
  pipeline::LogLinearHistogram* raw_bytes = nullptr;
  pipeline::LogLinearHistogram* wire_bytes = nullptr;
};

// One assembler's open batch: fragments go in until it is full or its flush
// deadline passes, then it is sealed (split if too large) and queued.
class BatchAssembler {
 public:
  BatchAssembler(std::unique_ptr<BatchEncoder> encoder, pipeline::BoundedQueue<Batch>* out,
                 BatchHistograms histograms, size_t batch_size, Clock::duration flush_interval)
      : encoder_(std::move(encoder)),
        out_(out),
        histograms_(histograms),
        batch_size_(batch_size),
        flush_interval_(flush_interval) {}

  bool has_batch() const { return batch_ != nullptr; }
  // FLUSH_INTERVAL after the open batch's first record.
  Clock::time_point deadline() const { return deadline_; }

  void AddChunk(const FragmentChunk& chunk) {
    run_ref_ = chunk.ref;
    for (size_t i = 0; i < chunk.count(); ++i) AddFragment(chunk.fragment(i));
    CloseRun();
  }

  void Seal() {
    CloseRun();
    if (!batch_) return;
    encoder_->Seal(std::move(batch_), &sealed_);
    for (auto& b : sealed_) {
      RecordSizes(*b);
      out_->Push(std::move(b));
    }
    sealed_.clear();
  }

 private:
  void AddFragment(std::string_view fragment) {
    if (batch_ && !encoder_->Fits(*batch_, fragment.size())) Seal();
    if (!batch_) {
      batch_ = encoder_->Begin();
      deadline_ = Clock::now() + flush_interval_;
    }
    encoder_->Append(batch_.get(), fragment);
    ++run_;
    if (batch_->records() >= batch_size_) Seal();
  }

  // Records of the current chunk appended to the current batch and not yet
  // in its acks: one run per (batch, chunk), never one call per record.
  void CloseRun() {
    if (batch_) batch_->acks.Append(run_ref_, run_);
    run_ = 0;
  }

  void RecordSizes(const Batch& b) {
    if (!histograms_.records) return;
    histograms_.records->Record(b.records());
    histograms_.raw_bytes->Record(b.body.size());
    histograms_.wire_bytes->Record(b.wire_size());
  }

  std::unique_ptr<BatchEncoder> encoder_;
  pipeline::BoundedQueue<Batch>* out_;
  BatchHistograms histograms_;
  size_t batch_size_;
  Clock::duration flush_interval_;
  std::unique_ptr<Batch> batch_;
  Clock::time_point deadline_;
  std::vector<std::unique_ptr<Batch>> sealed_;
  pipeline::ChunkRef run_ref_;
  uint64_t run_ = 0;
};

// Pops the next chunk if one comes before `deadline`; false when the
// deadline passed first.
bool PopBefore(pipeline::BoundedQueue<FragmentChunk>& q, Clock::time_point deadline,
               std::unique_ptr<FragmentChunk>& chunk) {
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
  return left.count() > 0 && q.PopWait(chunk, left);
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
  while (auto chunk = q_lines_->Pop()) {
    auto records = free_records_->Take();
    records->records.clear();
    ParseCounts counts;
    ParseChunk(*parser, *chunk, records.get(), &counts);
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

// The decoder each chunk's format calls for.
void IngestPipeline::ParseChunk(LineParser& parser, const LineChunk& chunk, RecordChunk* records,
                                ParseCounts* counts) {
  const InvalidLineFn on_invalid = [this](std::string_view unit, std::string_view why) {
    LogInvalidUnit(unit, why);
  };
  switch (chunk.format) {
    case ChunkFormat::kJsonLines:
      ParseLineChunk(parser, chunk, records, counts, on_invalid);
      return;
    case ChunkFormat::kDelimitedProtobuf:
      ParseDelimitedProtobufChunk(chunk, records, counts, on_invalid);
      return;
    case ChunkFormat::kDatagrams: {
      DatagramCounts datagrams;
      ParseDatagramChunk(
          *options_.netflow, chunk, records, counts, &datagrams,
          [this](const netflow::Exporter& e, netflow::DatagramOutcome o) { LogBadDatagram(e, o); });
      AddDatagramCounts(datagrams);
      return;
    }
  }
}

// A line or message that could not be used, logged rate-limited.
void IngestPipeline::LogInvalidUnit(std::string_view unit, std::string_view why) {
  LogThrottled(invalid_log_, LogLevel::kWarn, [&] {
    return absl::StrCat("[PARSE] invalid line skipped (", Av(why), "): ", Printable(unit));
  });
}

void IngestPipeline::LogBadDatagram(const netflow::Exporter& exporter,
                                    netflow::DatagramOutcome outcome) {
  LogThrottled(bad_datagram_log_, LogLevel::kWarn, [&] {
    return absl::StrCat("[NETFLOW] bad datagram from ", exporter.ToString(), ": ",
                        Av(netflow::DatagramOutcomeName(outcome)));
  });
}

void IngestPipeline::AddDatagramCounts(const DatagramCounts& c) {
  std::lock_guard<std::mutex> lock(datagrams_mu_);
  DatagramCounts& t = datagrams_;
  for (size_t i = 0; i < c.by_outcome.size(); ++i) t.by_outcome[i] += c.by_outcome[i];
  t.v5 += c.v5;
  t.v9 += c.v9;
  t.ipfix += c.ipfix;
  t.options_records += c.options_records;
  t.pending_sets += c.pending_sets;
  t.expired_sets += c.expired_sets;
  t.malformed_chunks += c.malformed_chunks;
}

DatagramCounts IngestPipeline::datagram_counts() const {
  std::lock_guard<std::mutex> lock(datagrams_mu_);
  return datagrams_;
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
  BatchAssembler assembler(MakeEncoder(), q_batches_.get(),
                           {batch_records_, batch_raw_bytes_, batch_wire_bytes_},
                           options_.batch_size, absl::ToChronoNanoseconds(options_.flush_interval));
  while (true) {
    std::unique_ptr<FragmentChunk> chunk;
    if (!assembler.has_batch()) {
      chunk = q_fragments_->Pop();
    } else if (!PopBefore(*q_fragments_, assembler.deadline(), chunk)) {
      assembler.Seal();  // FLUSH_INTERVAL passed since the batch's first record
      continue;
    }
    if (!chunk) break;  // end of input
    assembler.AddChunk(*chunk);
    free_fragments_->Give(std::move(chunk));
  }
  assembler.Seal();
}

void IngestPipeline::MakeQueues() {
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
}

// Queue depths are sampled when scraped; the returned handles unregister
// them before the queues go away.
std::vector<pipeline::MetricsRegistry::CallbackHandle> IngestPipeline::RegisterInstruments() {
  std::vector<pipeline::MetricsRegistry::CallbackHandle> depth_gauges;
  pipeline::MetricsRegistry* m = options_.metrics;
  if (!m) return depth_gauges;
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
  batch_records_ =
      m->GetHistogram("nf2ingest_batch_records", "Records per sealed batch.", {}, 1, record_bounds);
  batch_raw_bytes_ =
      m->GetHistogram("nf2ingest_batch_bytes", "Bytes per sealed batch: raw JSON, and on the wire.",
                      {{"kind", "raw"}}, 1, byte_bounds);
  batch_wire_bytes_ =
      m->GetHistogram("nf2ingest_batch_bytes", "Bytes per sealed batch: raw JSON, and on the wire.",
                      {{"kind", "wire"}}, 1, byte_bounds);
  options_.sender.metrics = m;
  if (options_.netflow) RegisterNetflowInstruments(&depth_gauges);
  return depth_gauges;
}

// Datagram outcomes and versions, read when scraped.
void IngestPipeline::RegisterNetflowInstruments(
    std::vector<pipeline::MetricsRegistry::CallbackHandle>* out) {
  pipeline::MetricsRegistry* m = options_.metrics;
  for (size_t i = 0; i < netflow::kDatagramOutcomeCount; ++i) {
    const auto outcome = static_cast<netflow::DatagramOutcome>(i);
    out->push_back(m->AddCallback(
        "nf2ingest_netflow_datagrams_total", "NetFlow/IPFIX datagrams decoded, by outcome.",
        "counter", {{"outcome", std::string(netflow::DatagramOutcomeName(outcome))}},
        [this, i] { return static_cast<double>(datagram_counts().by_outcome[i]); }));
  }
  const std::pair<const char*, uint64_t DatagramCounts::*> versions[] = {
      {"5", &DatagramCounts::v5}, {"9", &DatagramCounts::v9}, {"10", &DatagramCounts::ipfix}};
  for (const auto& [version, field] : versions) {
    out->push_back(m->AddCallback(
        "nf2ingest_netflow_version_datagrams_total",
        "NetFlow/IPFIX datagrams by version (10: IPFIX).", "counter", {{"version", version}},
        [this, field = field] { return static_cast<double>(datagram_counts().*field); }));
  }
  if (!options_.udp) return;
  out->push_back(m->AddCallback(
      "nf2ingest_netflow_kernel_drops_total",
      "Datagrams the kernel dropped because a socket's receive buffer was full (SO_RXQ_OVFL).",
      "counter", {},
      [udp = options_.udp] { return static_cast<double>(udp->stats().kernel_drops); }));
}

absl::Status IngestPipeline::RunGenerator() {
  pipeline::LogLinearHistogram* lag = nullptr;
  if (options_.metrics) {
    lag = options_.metrics->GetHistogram(
        "nf2ingest_generator_lag_seconds",
        "Load-test mode: how late each chunk of generated lines was against its schedule.", {},
        1e-6, {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  }
  GeneratorSource source(*options_.generator, q_lines_.get(), shutdown_, free_lines_.get(), lag);
  absl::Status st = source.Run();
  shutdown_->MarkInputFinished();  // the drain deadline counts from here
  generator_stats_ = source.stats();
  return st;
}

// Feeds the lines queue from the generator, Kafka, UDP or the inputs (nothing in
// replay mode) until the input ends or a stop is requested.
absl::Status IngestPipeline::RunSource() {
  if (options_.generator) return RunGenerator();
  if (options_.kafka) {
    kafka_ = std::make_unique<KafkaSource>(*options_.kafka, q_lines_.get(), shutdown_,
                                           free_lines_.get(), options_.metrics);
    return kafka_->Run();
  }
  if (options_.replay_only) return absl::OkStatus();
  if (options_.udp) return options_.udp->Run(q_lines_.get(), shutdown_, free_lines_.get());
  LineSource source(options_.source, q_lines_.get(), outcomes_, shutdown_, free_lines_.get());
  return source.Run();
}

absl::Status IngestPipeline::Run() {
  MakeQueues();
  const auto instruments = RegisterInstruments();
  auto splitter = MakeEncoder();
  HttpSender sender(options_.sender, q_batches_.get(), splitter.get(), outcomes_, shutdown_);
  q_batches_->SetOnPush([&sender] { sender.Wake(); });
  std::thread sender_thread([&sender] { sender.Run(); });

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

  absl::Status st = RunSource();
  q_lines_->Close(parsers);
  parse.Join();
  map.Join();
  assemble.Join();
  sender_thread.join();
  sender_stats_ = sender.stats();
  if (kafka_) {
    kafka_->Finish();  // every batch has its outcome: the final commit
    kafka_summary_ = kafka_->SummaryLine();
  }
  return st;
}

PipelineStats IngestPipeline::stats() const {
  PipelineStats s;
  s.unknown_proto = unknown_proto_.load();
  s.sender = sender_stats_;
  s.generator = generator_stats_;
  s.kafka_summary = kafka_summary_;
  s.datagrams = datagram_counts();
  return s;
}

}  // namespace nf2
