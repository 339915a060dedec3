// kafka-mock: a Kafka cluster for tests and benchmarks, where no broker is
// packaged. It runs librdkafka's mock cluster (the real protocol over TCP on
// loopback, consumer groups and offset commits included), creates one topic,
// prints "BOOTSTRAP host:port,..." on stdout and then produces on command:
//
//   produce FILE   every message of FILE, round robin over the partitions;
//                  answers "PRODUCED <total> errors=<n>" once all are acked
//
// A message is one line of FILE (goflow2 JSON). With --protobuf each line is
// sent as goflow2 -format=bin would send that flow: its FlowMessage
// (docs/contract.md §5) after a varint length, so both formats carry the same
// flows; a line that is not a JSON object goes as its raw bytes (a poisoned
// frame). Messages are lz4-compressed in batches: the mock keeps only 5 MiB
// per partition. The cluster lives until stdin closes.
#include <arpa/inet.h>
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
#include <utility>
#include <vector>

#include "rapidjson/document.h"
#include "stages/flows/proto_table.h"

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
  const std::pair<const char*, std::string> settings[] = {{"bootstrap.servers", bootstraps},
                                                          {"compression.codec", "lz4"},
                                                          {"linger.ms", "5"},
                                                          {"batch.num.messages", "10000"},
                                                          {"acks", "all"},
                                                          {"log_level", "3"}};
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

// The lines of `data`, blank ones left out.
std::vector<std::string_view> SplitLines(std::string_view data) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    if (nl > pos) out.push_back(data.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// A FlowMessage being written, field by field (proto3: zero values left out).
class MessageWriter {
 public:
  void Uint(uint32_t field, uint64_t v) {
    if (v == 0) return;
    PutVarint(&bytes_, uint64_t{field} << 3);
    PutVarint(&bytes_, v);
  }
  void Bytes(uint32_t field, std::string_view b) {
    if (b.empty()) return;
    PutVarint(&bytes_, (uint64_t{field} << 3) | 2);
    PutVarint(&bytes_, b.size());
    bytes_.append(b);
  }
  std::string Delimited() const {
    std::string out;
    PutVarint(&out, bytes_.size());
    return out + bytes_;
  }

 private:
  std::string bytes_;
};

uint64_t UintField(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsUint64() ? it->value.GetUint64() : 0;
}

std::string StringField(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// Address text to the raw bytes goflow2 puts in the message.
std::string AddressBytes(const std::string& text) {
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1) {
    return std::string(reinterpret_cast<char*>(buf.data()), 4);
  }
  if (inet_pton(AF_INET6, text.c_str(), buf.data()) == 1) {
    return std::string(reinterpret_cast<char*>(buf.data()), 16);
  }
  return "";
}

// proto as goflow2 JSON writes it: a name, or a number (custom mappings).
uint64_t ProtoNumber(const rapidjson::Value& v) {
  if (const uint64_t n = UintField(v, "proto"); n != 0) return n;
  const std::string text = StringField(v, "proto");
  char* end = nullptr;
  const uint64_t n = std::strtoull(text.c_str(), &end, 10);
  if (!text.empty() && *end == '\0') return n;
  return nf2::ProtoNumberFromName(text).value_or(0);
}

uint64_t FlowType(const std::string& name) {
  const std::pair<const char*, uint64_t> types[] = {
      {"SFLOW_5", 1}, {"NETFLOW_V5", 2}, {"NETFLOW_V9", 3}, {"IPFIX", 4}};
  for (const auto& [n, v] : types) {
    if (name == n) return v;
  }
  return 0;
}

// One goflow2 JSON line as goflow2 -format=bin writes the same flow.
std::string FlowMessageOf(std::string_view line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::string(line);
  MessageWriter m;
  m.Uint(1, FlowType(StringField(doc, "type")));
  m.Uint(3, UintField(doc, "sampling_rate"));
  m.Uint(4, UintField(doc, "sequence_num"));
  m.Bytes(6, AddressBytes(StringField(doc, "src_addr")));
  m.Bytes(7, AddressBytes(StringField(doc, "dst_addr")));
  m.Uint(9, UintField(doc, "bytes"));
  m.Uint(10, UintField(doc, "packets"));
  m.Bytes(11, AddressBytes(StringField(doc, "sampler_address")));
  m.Uint(18, UintField(doc, "in_if"));
  m.Uint(19, UintField(doc, "out_if"));
  m.Uint(20, ProtoNumber(doc));
  m.Uint(21, UintField(doc, "src_port"));
  m.Uint(22, UintField(doc, "dst_port"));
  const std::string etype = StringField(doc, "etype");
  m.Uint(30, etype == "IPv4" ? 0x0800 : etype == "IPv6" ? 0x86dd : 0);
  m.Uint(110, UintField(doc, "time_received_ns"));
  m.Uint(111, UintField(doc, "time_flow_start_ns"));
  m.Uint(112, UintField(doc, "time_flow_end_ns"));
  return m.Delimited();
}

class Producer {
 public:
  Producer(const std::string& bootstraps, Options o)
      : rk_(NewProducer(bootstraps, &errors_)), options_(std::move(o)) {}
  ~Producer() { rd_kafka_destroy(rk_); }
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  void ProduceFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::string_view line : SplitLines(data)) {
      if (options_.protobuf) {
        Produce(FlowMessageOf(line));
      } else {
        Produce(line);
      }
    }
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
