// Reads goflow2 messages from a Kafka topic as one member of a consumer
// group, so N instances share a topic's partitions and Kafka, not
// nf2ingest, does the clustering.
//
// At least once: each assigned partition is one tracked input of an
// AckTracker (offsets are its positions, one chunk = one partition's
// messages in offset order). Offsets are committed only up to each
// partition's contiguous acknowledged watermark, soon after it moves, on a
// revoke (after waiting a bounded time for the partition's batches) and at
// the end. A crash re-delivers what was pushed past the committed offsets,
// which the source keeps under `max_uncommitted` messages.
#ifndef NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_SOURCE_H_
#define NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/metrics.h"
#include "pipeline/recycler.h"
#include "pipeline/shutdown.h"
#include "stages/flows/chunks.h"
#include "stages/sources/kafka/kafka_options.h"

namespace nf2 {

class KafkaSource {
 public:
  struct Parts;  // librdkafka handles and per-partition state (kafka_source.cc)

  // `metrics` (optional) gets lag, committed offsets and rebalances.
  KafkaSource(KafkaSourceOptions options, pipeline::BoundedQueue<LineChunk>* out,
              pipeline::Shutdown* shutdown, pipeline::Recycler<LineChunk>* recycler,
              pipeline::MetricsRegistry* metrics);
  ~KafkaSource();
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Joins the group and feeds the queue until a stop is requested. Does not
  // close the queue. The consumer stays in the group until Finish().
  absl::Status Run();

  // Once the pipeline has drained (every chunk acknowledged or given up):
  // commits the final watermarks and leaves the group.
  void Finish();

  // "[KAFKA] ..." for the end of the run: committed offsets, rebalances.
  std::string SummaryLine() const;

 private:
  std::unique_ptr<Parts> parts_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_SOURCE_H_
