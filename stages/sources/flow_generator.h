// FlowGenerator: deterministic goflow2 v2 JSON line generator (plus the flows.v1 record each valid
// line must become), and Rng, the small PRNG it and the NetFlow v5 generator share.
#ifndef NF2INGEST_STAGES_SOURCES_FLOW_GENERATOR_H_
#define NF2INGEST_STAGES_SOURCES_FLOW_GENERATOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nf2::flowgen {

// xoshiro256** seeded through splitmix64: fast, good enough, identical on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); n > 0. Lemire's multiply-shift (the bias is negligible for our n).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

  // Uniform in [lo, hi], lo <= hi.
  uint64_t Range(uint64_t lo, uint64_t hi) {
    const uint64_t span = hi - lo + 1;
    return span == 0 ? Next() : lo + Below(span);
  }

  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // True with probability per_mille / 1000.
  bool Chance(uint32_t per_mille) { return Below(1000) < per_mille; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

enum class LineKind { kValid, kFiltered, kInvalid };

struct GeneratorOptions {
  uint64_t seed = 1;
  double junk_ratio = 0.0;     // fraction of lines that are junk, 0..1
  bool docker_prefix = false;  // prefix every line with "collector-N  | "
};

class FlowGenerator {
 public:
  // Room WriteLine needs at `out` (one line and its '\n').
  static constexpr size_t kMaxLineBytes = 4096;
  // Room WriteLine needs at `*expected` (one flows.v1 record and its '\n').
  static constexpr size_t kMaxExpectedBytes = 512;

  explicit FlowGenerator(const GeneratorOptions& options);

  // Writes the next line, '\n' included, at `out` and returns its end. When the line is one the
  // mapper must deliver and `expected` is not null, also writes its flows.v1 record (compact JSON
  // and '\n') at `*expected` and advances `*expected`. The output does not depend on `expected`.
  char* WriteLine(char* out, char** expected);

  // Convenience form of WriteLine for tests: appends to strings.
  void AppendLine(std::string& out, std::string* expected = nullptr);

  LineKind last_kind() const { return last_kind_; }

 private:
  struct Proto {
    std::string_view name;  // empty: written as a plain JSON number
    uint8_t number;
    uint16_t weight;  // per mille
  };

  struct Flow {
    std::string_view type;
    uint64_t time_received_ns;
    uint64_t sequence_num;
    std::string_view sampler_address;
    uint64_t time_flow_start_ns;
    uint64_t time_flow_end_ns;
    uint64_t bytes;
    uint64_t packets;
    char src_addr[64];
    size_t src_addr_len;
    char dst_addr[64];
    size_t dst_addr_len;
    bool ipv6;
    const Proto* proto;
    uint32_t src_port;
    uint32_t dst_port;
    std::string_view src_port_raw;  // junk: written verbatim instead of src_port when not empty
    std::string_view dst_port_raw;  // junk: written verbatim instead of dst_port when not empty
    uint64_t in_if;
    uint64_t out_if;
    char src_mac[17];
    char dst_mac[17];
    uint32_t ip_tos;
    uint32_t tcp_flags;
    uint32_t icmp_type;
    uint32_t icmp_code;
    uint32_t ipv6_flow_label;
    uint32_t src_as;
    uint32_t dst_as;
    char next_hop[16];
    size_t next_hop_len;
    char src_net[24];
    size_t src_net_len;
    char dst_net[24];
    size_t dst_net_len;
  };

  enum class Junk {
    kBlank,
    kLogLine,
    kTruncated,
    kBadUtf8,
    kBadAddress,
    kBadPort,
    kSflow,
    kCount,
  };

  static const Proto kProtos[];
  static const size_t kNumProtos;

  void MakeFlow(Flow& f);
  void MakeTimes(Flow& f);
  void MakeCounters(Flow& f);
  void MakeEndpoints(Flow& f);
  void MakeHeaderFields(Flow& f);
  void MakeRouting(Flow& f);
  const Proto* PickProto();
  void PickPorts(Flow& f);
  void MakeIpv4(char* out, size_t& len);
  void MakeIpv6(char* out, size_t& len);
  void MakeMac(char* out);
  uint64_t PickCounter(bool big, uint64_t small_max);
  uint64_t PickInterface();

  char* WriteRecord(char* p, const Flow& f) const;
  static char* WriteRecordTail(char* p, const Flow& f);
  static char* WriteExpected(char* p, const Flow& f);
  char* WriteJunk(char* p, Junk kind);
  char* WriteLogLine(char* p);

  Rng rng_;
  double junk_ratio_;
  bool docker_prefix_;
  uint64_t clock_ns_;  // simulated time_received_ns, moves forward line by line
  uint32_t next_junk_ = 0;
  uint32_t junk_variant_ = 0;
  LineKind last_kind_ = LineKind::kValid;
};

}  // namespace nf2::flowgen

#endif  // NF2INGEST_STAGES_SOURCES_FLOW_GENERATOR_H_
