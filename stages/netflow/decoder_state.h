// What the Decoder keeps between datagrams, shared by its source files:
// per-exporter sessions (templates, data waiting for a template, sequence and
// sampling per domain) in a sharded map, so parser threads decoding
// different exporters never wait for each other and two threads decoding
// one exporter take turns on that exporter's lock only.
#ifndef NF2INGEST_STAGES_NETFLOW_DECODER_STATE_H_
#define NF2INGEST_STAGES_NETFLOW_DECODER_STATE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "stages/netflow/decoder.h"
#include "stages/netflow/flow_template.h"

namespace nf2::netflow::internal {

// (version, source id / observation domain, template id) in one word.
inline uint64_t TemplateKey(uint8_t version, uint32_t domain, uint16_t id) {
  return (uint64_t{version} << 48) | (uint64_t{domain} << 16) | id;
}
inline uint8_t KeyVersion(uint64_t key) { return static_cast<uint8_t>(key >> 48); }
inline uint32_t KeyDomain(uint64_t key) { return static_cast<uint32_t>(key >> 16); }
inline uint16_t KeyTemplateId(uint64_t key) { return static_cast<uint16_t>(key); }

struct DomainState {
  DomainStats stats;
  bool sequence_known = false;
  uint32_t next_sequence = 0;
  // The latest gap, while late datagrams may still fill it: two parser
  // threads can decode one exporter's consecutive chunks out of order.
  uint32_t gap_begin = 0;
  uint32_t gap_size = 0;
  uint32_t gap_missing = 0;     // units of the gap not seen yet; 0 = no open gap
  uint64_t system_init_ms = 0;  // IPFIX 160; 0 = unknown
};

// A data set whose template had not arrived, with the header facts needed
// to decode it later.
struct PendingSet {
  uint64_t key = 0;
  uint64_t received_unix_ns = 0;
  ExportContext context;
  std::string bytes;  // the set's records (after the set header)
};

struct Session {
  explicit Session(const Exporter& e) : exporter(e) {}
  const Exporter exporter;
  std::mutex mu;
  absl::flat_hash_map<uint64_t, FlowTemplate> templates;
  std::deque<PendingSet> pending;
  std::vector<DomainState> domains;
  uint64_t datagrams = 0;
  uint64_t flows = 0;
  uint64_t last_seen_unix_ns = 0;

  // The state of (version, domain); null past kMaxDomains.
  DomainState* Domain(uint8_t version, uint32_t domain);
};

// Domains tracked per exporter; more are decoded but not tracked.
inline constexpr size_t kMaxDomains = 1024;

// Records where the sequence of (exporter, domain) continues: a forward jump
// is a gap of the units it skipped; a small step back is a late datagram,
// which fills the latest gap if it falls in it (a gap filled entirely was a
// reordering, and is uncounted); a big step back is a restarted exporter
// (tracking starts again).
// `units_known` false: this datagram's unit count is unknown (data without a
// template), so the next one cannot be checked.
void TrackSequence(DomainState* d, uint32_t sequence, uint32_t units, bool units_known);

struct DecoderTotals {
  std::atomic<uint64_t> templates{0};
  std::atomic<uint64_t> pending_sets{0};
  std::atomic<uint64_t> pending_bytes{0};
  std::atomic<uint64_t> pending_expired{0};
  std::atomic<uint64_t> pending_dropped{0};
  std::atomic<uint64_t> exporters{0};
};

// Drops one waiting data set and its share of the totals.
void ForgetPending(Session* s, DecoderTotals* totals, const std::deque<PendingSet>::iterator& it);
// Drops the waiting data sets received more than `max_age_ns` before
// `now_unix_ns`; returns how many.
uint64_t ExpireOldPending(Session* s, DecoderTotals* totals, uint64_t now_unix_ns,
                          uint64_t max_age_ns);

class SessionMap {
 public:
  // The exporter's session, created on first use; null when max_exporters
  // sessions exist already.
  Session* FindOrCreate(const Exporter& exporter, size_t max_exporters,
                        std::atomic<uint64_t>* count);
  // Calls fn(Session&) for every session (each under its own lock; the
  // map's shape is only read, so the shard locks are shared).
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const Shard& shard : shards_) {
      std::shared_lock lock(shard.mu);
      for (const auto& [exporter, session] : shard.sessions) {
        std::lock_guard session_lock(session->mu);
        fn(static_cast<const Session&>(*session));
      }
    }
  }
  template <typename Fn>
  void ForEachMutable(Fn fn) {
    for (Shard& shard : shards_) {
      std::shared_lock lock(shard.mu);
      for (auto& [exporter, session] : shard.sessions) {
        std::lock_guard session_lock(session->mu);
        fn(*session);
      }
    }
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::shared_mutex mu;
    absl::flat_hash_map<Exporter, std::unique_ptr<Session>, ExporterHash> sessions;
  };
  std::array<Shard, kShards> shards_;
};

// Decoding of one v9 or IPFIX message, with its session locked.
struct MessageDecoder;

}  // namespace nf2::netflow::internal

namespace nf2::netflow {

struct Decoder::Impl {
  explicit Impl(DecoderOptions o) : options(o) {}
  DecoderOptions options;
  internal::SessionMap sessions;
  internal::DecoderTotals totals;

  DatagramOutcome DecodeV5(const Exporter& exporter, uint64_t received_unix_ns,
                           std::string_view datagram, std::vector<FlowRecord>* out,
                           DecodeCounts* counts);
  DatagramOutcome DecodeTemplated(uint8_t version, const Exporter& exporter,
                                  uint64_t received_unix_ns, std::string_view datagram,
                                  std::vector<FlowRecord>* out, DecodeCounts* counts);
};

}  // namespace nf2::netflow

#endif  // NF2INGEST_STAGES_NETFLOW_DECODER_STATE_H_
