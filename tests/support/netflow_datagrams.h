// Builds NetFlow v5, v9 and IPFIX datagrams byte by byte, for the decoder's
// golden tests, its fuzz seeds and its benchmark: each test states the exact
// wire form it feeds the decoder, so nothing depends on an exporter's habits.
#ifndef NF2INGEST_TESTS_SUPPORT_NETFLOW_DATAGRAMS_H_
#define NF2INGEST_TESTS_SUPPORT_NETFLOW_DATAGRAMS_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace nf2::testing {

// Big-endian byte writer.
class Bytes {
 public:
  Bytes& u8(uint64_t v) { return Put(v, 1); }
  Bytes& u16(uint64_t v) { return Put(v, 2); }
  Bytes& u32(uint64_t v) { return Put(v, 4); }
  Bytes& u64(uint64_t v) { return Put(v, 8); }
  // `n` bytes of v, big-endian (reduced-size encoding).
  Bytes& Put(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  Bytes& ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return u8(a).u8(b).u8(c).u8(d); }
  Bytes& ipv6(std::initializer_list<uint16_t> groups) {
    for (uint16_t g : groups) u16(g);
    return *this;
  }
  Bytes& raw(std::string_view b) {
    s_.append(b);
    return *this;
  }
  Bytes& zeros(size_t n) {
    s_.append(n, '\0');
    return *this;
  }
  const std::string& str() const { return s_; }
  size_t size() const { return s_.size(); }

 private:
  std::string s_;
};

struct V5Header {
  uint32_t sys_uptime_ms = 100000;
  uint32_t unix_secs = 1700000000;
  uint32_t unix_nsecs = 0;
  uint32_t flow_sequence = 0;
  uint8_t engine_type = 0;
  uint8_t engine_id = 0;
  uint16_t sampling = 0;
  int count_override = -1;  // >= 0: the header's count instead of the real one
};

struct V5Record {
  uint8_t src[4] = {10, 0, 0, 1};
  uint8_t dst[4] = {10, 0, 0, 2};
  uint16_t input = 0;
  uint16_t output = 0;
  uint32_t packets = 1;
  uint32_t octets = 64;
  uint32_t first_ms = 99000;
  uint32_t last_ms = 99500;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;
  uint8_t proto = 6;
};

inline std::string V5Datagram(const V5Header& h, const std::vector<V5Record>& records) {
  Bytes b;
  b.u16(5).u16(h.count_override >= 0 ? static_cast<uint64_t>(h.count_override) : records.size());
  b.u32(h.sys_uptime_ms).u32(h.unix_secs).u32(h.unix_nsecs).u32(h.flow_sequence);
  b.u8(h.engine_type).u8(h.engine_id).u16(h.sampling);
  for (const V5Record& r : records) {
    b.ipv4(r.src[0], r.src[1], r.src[2], r.src[3]).ipv4(r.dst[0], r.dst[1], r.dst[2], r.dst[3]);
    b.u32(0).u16(r.input).u16(r.output).u32(r.packets).u32(r.octets);
    b.u32(r.first_ms).u32(r.last_ms).u16(r.src_port).u16(r.dst_port);
    b.u8(0).u8(r.tcp_flags).u8(r.proto).u8(0).u16(0).u16(0).u8(0).u8(0).u16(0);
  }
  return b.str();
}

struct Field {
  uint16_t type;
  uint16_t length;
  uint32_t enterprise = 0;  // non-zero: IPFIX enterprise field
};

// A v9 (version 9) or IPFIX (version 10) message, set by set.
class Message {
 public:
  Message(uint16_t version, uint32_t export_secs, uint32_t sequence, uint32_t domain,
          uint32_t sys_uptime_ms = 0)
      : version_(version) {
    header_.u16(version).u16(0);  // v9: count, IPFIX: length (both set by Build)
    if (version == 9) header_.u32(sys_uptime_ms);
    header_.u32(export_secs).u32(sequence).u32(domain);
  }

  // One template set holding one template per entry.
  Message& Templates(const std::vector<std::pair<uint16_t, std::vector<Field>>>& templates) {
    Bytes body;
    for (const auto& [id, fields] : templates) {
      body.u16(id).u16(fields.size());
      PutFields(&body, fields);
    }
    return RawSet(version_ == 9 ? 0 : 2, body.str());
  }
  Message& Template(uint16_t id, const std::vector<Field>& fields) {
    return Templates({{id, fields}});
  }
  Message& OptionsTemplate(uint16_t id, const std::vector<Field>& scope,
                           const std::vector<Field>& options) {
    Bytes body;
    if (version_ == 9) {
      body.u16(id).u16(scope.size() * 4).u16(options.size() * 4);
    } else {
      body.u16(id).u16(scope.size() + options.size()).u16(scope.size());
    }
    PutFields(&body, scope);
    PutFields(&body, options);
    return RawSet(version_ == 9 ? 1 : 3, body.str());
  }
  // IPFIX template withdrawal (field count 0).
  Message& Withdraw(uint16_t id, bool options = false) {
    return RawSet(options ? 3 : 2, Bytes().u16(id).u16(0).str());
  }
  Message& Data(uint16_t id, const std::string& records, size_t padding = 0) {
    return RawSet(id, records + std::string(padding, '\0'));
  }
  Message& RawSet(uint16_t id, std::string_view body) {
    sets_.u16(id).u16(body.size() + 4).raw(body);
    ++set_count_;
    return *this;
  }
  // Bytes after the sets (not covered by any set header).
  Message& Trailer(std::string_view bytes) {
    sets_.raw(bytes);
    return *this;
  }

  std::string Build() const {
    std::string out = header_.str() + sets_.str();
    const size_t v = version_ == 9 ? set_count_ : out.size();
    out[2] = static_cast<char>(v >> 8);
    out[3] = static_cast<char>(v);
    return out;
  }

 private:
  void PutFields(Bytes* body, const std::vector<Field>& fields) const {
    for (const Field& f : fields) {
      body->u16(f.enterprise != 0 ? (f.type | 0x8000) : f.type).u16(f.length);
      if (f.enterprise != 0) body->u32(f.enterprise);
    }
  }

  uint16_t version_;
  Bytes header_;
  Bytes sets_;
  size_t set_count_ = 0;
};

}  // namespace nf2::testing

#endif  // NF2INGEST_TESTS_SUPPORT_NETFLOW_DATAGRAMS_H_
