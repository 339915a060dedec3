// The librdkafka configuration of the consumer, shared by the start-up check
// and the source (internal to nf2_kafka_source: exposes librdkafka types).
#ifndef NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_CONF_H_
#define NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_CONF_H_

#include <librdkafka/rdkafka.h>

#include <memory>

#include "absl/status/statusor.h"
#include "stages/sources/kafka/kafka_options.h"

namespace nf2::kafka_internal {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// Our fixed settings (group, offsets stored by us only), then the user's
// options; an option librdkafka refuses is InvalidArgument naming its key.
absl::StatusOr<ConfPtr> MakeConsumerConf(const KafkaSourceOptions& options);

// A consumer handle from `conf` (which it takes over, also on failure).
absl::StatusOr<HandlePtr> MakeConsumer(ConfPtr conf);

}  // namespace nf2::kafka_internal

#endif  // NF2INGEST_STAGES_SOURCES_KAFKA_KAFKA_CONF_H_
