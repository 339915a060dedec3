// The whole nf2ingest pipeline, wired as docs/architecture.md §2 draws it:
//   source ─Q1─▶ parser pool ─Q2─▶ mapper pool ─Q3─▶ assembler pool ─Q4─▶ sender
// Every queue is bounded and carries chunks or batches; each pool closes the
// next queue when its last worker ends, so end of input drains front to back.
#ifndef NF2INGEST_STAGES_INGEST_INGEST_PIPELINE_H_
#define NF2INGEST_STAGES_INGEST_INGEST_PIPELINE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pipeline/log.h"
#include "pipeline/metrics.h"
#include "pipeline/outcomes.h"
#include "pipeline/recycler.h"
#include "pipeline/shutdown.h"
#include "stages/encode/batch.h"
#include "stages/encode/gzip.h"
#include "stages/goflow2/line_parser.h"
#include "stages/ingest/chunk_stages.h"
#include "stages/sinks/http/http_sender.h"
#include "stages/sources/generator_source.h"
#include "stages/sources/kafka/kafka_options.h"
#include "stages/sources/kafka/kafka_source.h"
#include "stages/sources/line_source.h"
#include "stages/sources/udp/udp_source.h"

namespace nf2 {

struct PipelineOptions {
  LineSourceOptions source;
  int parser_threads = 1;
  int mapper_threads = 1;
  int assembler_threads = 1;
  size_t queue_chunks = 4;  // capacity of each chunk queue
  size_t batch_size = 200;  // records per batch (BATCH_SIZE, already clamped)
  absl::Duration flush_interval = absl::Seconds(1);
  BatchLimits limits;
  std::string collector_id = "gw-local";
  JsonParserKind json_parser = JsonParserKind::kSimdjson;
  GzipImpl gzip_impl = kDefaultGzipImpl;
  int gzip_level = 1;
  SenderOptions sender;
  // Read no input: only replay the spool (`sender.spool`), e.g. --replay.
  bool replay_only = false;
  // Where to record metrics (not owned; null records none): queue depths and
  // batch sizes here, request metrics in the sender.
  pipeline::MetricsRegistry* metrics = nullptr;
  // Load-test mode (--generate): lines come from the built-in generator
  // instead of `source.inputs`.
  std::optional<GeneratorSourceOptions> generator;
  // Kafka input (--kafka-brokers): messages of a consumer group's
  // partitions instead of `source.inputs`.
  std::optional<KafkaSourceOptions> kafka;
  // --listen: datagrams from these sockets instead of `source.inputs`,
  // decoded by one decoder that every parser thread shares (templates and
  // sequence numbers are per exporter, not per thread). Neither is owned.
  UdpSource* udp = nullptr;
  netflow::Decoder* netflow = nullptr;
};

struct PipelineStats {
  // Line outcomes live in pipeline::Outcomes; this is the one parse count
  // that has no outcome of its own (proto names outside the IANA table).
  uint64_t unknown_proto = 0;
  SenderStats sender;
  GeneratorStats generator;   // load-test mode only
  std::string kafka_summary;  // Kafka input only: the [KAFKA] line
  DatagramCounts datagrams;   // --listen only
};

class IngestPipeline {
 public:
  IngestPipeline(PipelineOptions options, pipeline::Outcomes* outcomes,
                 pipeline::Shutdown* shutdown);

  // Runs until every line read has an outcome. Returns the source's error,
  // if an input could not be read.
  absl::Status Run();

  PipelineStats stats() const;
  // Datagrams decoded so far (--listen); safe from any thread.
  DatagramCounts datagram_counts() const;

 private:
  void ParseWorker(int index);
  void ParseChunk(LineParser& parser, const LineChunk& chunk, RecordChunk* records,
                  ParseCounts* counts);
  void AddDatagramCounts(const DatagramCounts& c);
  void LogInvalidUnit(std::string_view unit, std::string_view why);
  void LogBadDatagram(const netflow::Exporter& exporter, netflow::DatagramOutcome outcome);
  void RegisterNetflowInstruments(std::vector<pipeline::MetricsRegistry::CallbackHandle>* out);
  void MapWorker(int index);
  void AssembleWorker(int index);
  std::unique_ptr<BatchEncoder> MakeEncoder();
  void MakeQueues();
  std::vector<pipeline::MetricsRegistry::CallbackHandle> RegisterInstruments();
  absl::Status RunSource();
  absl::Status RunGenerator();

  PipelineOptions options_;
  pipeline::Outcomes* outcomes_;
  pipeline::Shutdown* shutdown_;
  std::atomic<uint64_t> next_batch_id_{1};
  LogThrottle invalid_log_{10, 10.0};
  LogThrottle bad_datagram_log_{10, 10.0};

  std::unique_ptr<pipeline::BoundedQueue<LineChunk>> q_lines_;
  std::unique_ptr<pipeline::BoundedQueue<RecordChunk>> q_records_;
  std::unique_ptr<pipeline::BoundedQueue<FragmentChunk>> q_fragments_;
  std::unique_ptr<pipeline::BoundedQueue<Batch>> q_batches_;
  // Spent chunks go back to be refilled: no per-chunk allocation in steady state.
  std::unique_ptr<pipeline::Recycler<LineChunk>> free_lines_;
  std::unique_ptr<pipeline::Recycler<RecordChunk>> free_records_;
  std::unique_ptr<pipeline::Recycler<FragmentChunk>> free_fragments_;

  std::atomic<uint64_t> unknown_proto_{0};
  SenderStats sender_stats_;
  GeneratorStats generator_stats_;
  // Kafka input: lives until the pipeline has drained (its tracker holds
  // the refs the chunks carry), then commits and leaves the group.
  std::unique_ptr<KafkaSource> kafka_;
  std::string kafka_summary_;
  mutable std::mutex datagrams_mu_;
  DatagramCounts datagrams_;  // guarded by datagrams_mu_
  // Batch size histograms (null without a registry), recorded per batch.
  pipeline::LogLinearHistogram* batch_records_ = nullptr;
  pipeline::LogLinearHistogram* batch_raw_bytes_ = nullptr;
  pipeline::LogLinearHistogram* batch_wire_bytes_ = nullptr;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_INGEST_INGEST_PIPELINE_H_
