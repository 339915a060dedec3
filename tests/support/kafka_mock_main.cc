// kafka-mock: a Kafka cluster for tests and benchmarks, where no broker is
// packaged. It runs librdkafka's mock cluster (the real protocol over TCP on
// loopback, consumer groups and offset commits included), creates one topic,
// prints "BOOTSTRAP host:port,..." on stdout and then produces on command:
//
//   produce FILE   every message of FILE, round robin over the partitions;
//                  answers "PRODUCED <total> errors=<n>" once all are acked
//
// A message is one line of FILE (goflow2 JSON), or with --protobuf one
// length-delimited frame, varint prefix included (goflow2 -format=bin writes
// each Kafka value that way). Messages are lz4-compressed in batches: the
// mock keeps only 5 MiB per partition. The cluster lives until stdin closes.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  int brokers = 1;
  int partitions = 4;
  std::string topic = "flow-messages";
  bool protobuf = false;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "kafka-mock: %s\nusage: kafka-mock [--brokers N] [--partitions P] [--topic T] "
               "[--protobuf]\n",
               why.c_str());
  std::exit(2);
}

int PositiveInt(const std::string& flag, const char* text) {
  char* end = nullptr;
  const long n = std::strtol(text, &end, 10);
  if (*end != '\0' || n < 1 || n > 1000) Usage("bad value for " + flag);
  return static_cast<int>(n);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--protobuf") {
      o.protobuf = true;
      continue;
    }
    if (i + 1 >= argc) Usage("unknown or incomplete flag " + a);
    if (a == "--brokers") {
      o.brokers = PositiveInt(a, argv[++i]);
    } else if (a == "--partitions") {
      o.partitions = PositiveInt(a, argv[++i]);
    } else if (a == "--topic") {
      o.topic = argv[++i];
    } else {
      Usage("unknown flag " + a);
    }
  }
  return o;
}

rd_kafka_t* NewProducer(const std::string& bootstraps, uint64_t* errors) {
  std::array<char, 512> err{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", bootstraps}, {"compression.codec", "lz4"}, {"linger.ms", "5"},
      {"batch.num.messages", "10000"},   {"acks", "all"},              {"log_level", "3"}};
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key, value.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK) {
      Usage(err.data());
    }
  }
  rd_kafka_conf_set_opaque(conf, errors);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != 0) ++*static_cast<uint64_t*>(opaque);
  });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (rk == nullptr) Usage(err.data());
  return rk;
}

// The messages of `data`: lines, or varint-length-delimited frames.
std::vector<std::string_view> SplitMessages(std::string_view data, bool protobuf) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < data.size()) {
    if (!protobuf) {
      size_t nl = data.find('\n', pos);
      if (nl == std::string_view::npos) nl = data.size();
      if (nl > pos) out.push_back(data.substr(pos, nl - pos));
      pos = nl + 1;
      continue;
    }
    uint64_t len = 0;
    size_t p = pos;
    for (int shift = 0; p < data.size() && shift < 64; shift += 7) {
      const auto b = static_cast<uint8_t>(data[p++]);
      len |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    const size_t end = std::min<size_t>(data.size(), p + len);
    out.push_back(data.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

class Producer {
 public:
  Producer(const std::string& bootstraps, const Options& o)
      : rk_(NewProducer(bootstraps, &errors_)), options_(o) {}
  ~Producer() { rd_kafka_destroy(rk_); }

  void ProduceFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::string_view m : SplitMessages(data, options_.protobuf)) Produce(m);
    rd_kafka_flush(rk_, 60000);
    std::printf("PRODUCED %llu errors=%llu\n", static_cast<unsigned long long>(produced_),
                static_cast<unsigned long long>(errors_));
    std::fflush(stdout);
  }

 private:
  void Produce(std::string_view value) {
    const int32_t partition = static_cast<int32_t>(produced_ % options_.partitions);
    while (true) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk_, 10);
        continue;
      }
      if (err != 0) ++errors_;
      break;
    }
    ++produced_;
    rd_kafka_poll(rk_, 0);
  }

  uint64_t errors_ = 0;
  uint64_t produced_ = 0;
  rd_kafka_t* rk_;
  Options options_;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  uint64_t unused = 0;
  rd_kafka_t* host = NewProducer("", &unused);  // the mock cluster lives in a handle
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, o.brokers);
  if (cluster == nullptr) Usage("cannot start the mock cluster");
  if (rd_kafka_mock_topic_create(cluster, o.topic.c_str(), o.partitions, 1) != 0) {
    Usage("cannot create the topic");
  }
  const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
  std::printf("BOOTSTRAP %s\n", bootstraps.c_str());
  std::fflush(stdout);
  {
    Producer producer(bootstraps, o);
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.rfind("produce ", 0) == 0) {
        producer.ProduceFile(line.substr(8));
      } else if (!line.empty()) {
        std::fprintf(stderr, "kafka-mock: unknown command '%s'\n", line.c_str());
      }
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  return 0;
}
