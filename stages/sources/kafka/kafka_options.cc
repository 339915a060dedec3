#include "stages/sources/kafka/kafka_options.h"

#include <algorithm>
#include <array>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pipeline/absl_compat.h"
#include "stages/sources/kafka/kafka_conf.h"

namespace nf2 {
namespace kafka_internal {
namespace {

constexpr const char* kSetting = "--kafka-option / KAFKA_OPTIONS";

absl::Status Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  std::array<char, 512> err{};
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err.data(), err.size()) ==
      RD_KAFKA_CONF_OK) {
    return absl::OkStatus();
  }
  const std::string shown = IsSecretKafkaOption(key) ? "(secret, not shown)" : value;
  return absl::InvalidArgumentError(absl::StrCat("invalid setting ", kSetting, "='", key, "=",
                                                 shown, "': librdkafka: ", err.data()));
}

}  // namespace

absl::StatusOr<ConfPtr> MakeConsumerConf(const KafkaSourceOptions& options) {
  ConfPtr conf(rd_kafka_conf_new());
  const std::pair<const char*, std::string> fixed[] = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", options.start_earliest ? "earliest" : "latest"},
      {"client.id", "nf2ingest"},
  };
  for (const auto& [key, value] : fixed) {
    if (absl::Status st = Set(conf.get(), key, value); !st.ok()) return st;
  }
  for (const auto& [key, value] : options.options) {
    if (absl::Status st = Set(conf.get(), key, value); !st.ok()) return st;
  }
  return conf;
}

absl::StatusOr<HandlePtr> MakeConsumer(ConfPtr conf) {
  std::array<char, 512> err{};
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err.data(), err.size());
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid setting ", kSetting, ": librdkafka refuses the consumer: ", err.data()));
  }
  (void)conf.release();  // rd_kafka_new owns it now
  return HandlePtr(rk);
}

}  // namespace kafka_internal

bool IsSecretKafkaOption(std::string_view key) {
  static constexpr std::array<const char*, 6> kWords = {"password", "secret", "jaas",
                                                        ".pem",     "key",    "token"};
  return std::ranges::any_of(kWords,
                             [key](const char* word) { return absl::StrContains(Av(key), word); });
}

absl::Status CheckKafkaOptions(const KafkaSourceOptions& options) {
  if (options.brokers.empty()) {
    return absl::InvalidArgumentError(
        "invalid setting --kafka-brokers / KAFKA_BROKERS: must not be empty");
  }
  auto conf = kafka_internal::MakeConsumerConf(options);
  if (!conf.ok()) return conf.status();
  // rd_kafka_new checks what single keys cannot (e.g. a protocol this
  // build lacks); the handle connects to nothing before a subscribe.
  auto consumer = kafka_internal::MakeConsumer(*std::move(conf));
  return consumer.status();
}

}  // namespace nf2
