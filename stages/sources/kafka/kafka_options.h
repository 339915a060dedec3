// What the Kafka source needs to join a consumer group, and the check that
// librdkafka accepts it, so a bad --kafka-option is bad configuration found
// before anything is read rather than a failure after the pipeline started.
#ifndef NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_OPTIONS_H_
#define NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "stages/flows/chunks.h"

namespace nf2 {

struct KafkaSourceOptions {
  std::string brokers;  // HOST:PORT[,...]
  std::string topic = "flow-messages";
  std::string group = "nf2ingest";
  ChunkFormat format = ChunkFormat::kJsonLines;  // or kDelimitedProtobuf
  bool start_earliest = true;                    // where a group without offsets starts
  // Passed to librdkafka as they are (security.protocol, sasl.*, fetch sizes).
  std::vector<std::pair<std::string, std::string>> options;
  // On a revoke: how long to wait for the partition's batches in flight.
  absl::Duration revoke_timeout = absl::Seconds(10);
  // The most messages pushed into the pipeline past the committed offsets,
  // over all partitions: what a crash can re-deliver.
  uint64_t max_uncommitted = 100000;
  size_t chunk_bytes = 1024 * 1024;
};

// Whether the option's value is a secret that must never reach a log line,
// a message or the process list.
bool IsSecretKafkaOption(std::string_view key);

// Builds the consumer's configuration (and a consumer, not connected to
// anything yet) as the source will: InvalidArgument naming the setting and
// the key librdkafka refused, never echoing a secret value.
absl::Status CheckKafkaOptions(const KafkaSourceOptions& options);

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_OPTIONS_H_
