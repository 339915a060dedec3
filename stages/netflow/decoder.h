// Turns NetFlow v5, v9 and IPFIX datagrams into flows.v1 records with
// goflow2's semantics (docs/contract.md §6), keeping what decoding needs
// across datagrams: templates per exporter, data that arrived before its
// template, sequence numbers, sampling and uptime bases. Pure: no sockets, no
// threads; Decode may be called from several parser threads at once, even for
// datagrams of one exporter (each exporter's state has its own lock).
#ifndef NF2INGEST_STAGES_NETFLOW_DECODER_H_
#define NF2INGEST_STAGES_NETFLOW_DECODER_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "stages/flows/flow_record.h"
#include "stages/netflow/datagram_chunk.h"

namespace nf2::netflow {

// What became of one datagram. A datagram with a bad set or template still
// yields the records of its good sets; the outcome names the first problem.
enum class DatagramOutcome : uint8_t {
  kOk,
  kTruncatedHeader,  // too short for its version's header (or for a version)
  kUnknownVersion,   // not 5, 9 or 10
  kBadLength,        // v5 length disagrees with its count; IPFIX length past the datagram
  kBadSet,           // a set shorter than its header or running past the datagram
  kBadTemplate,      // absurd field count or length, reserved template id
  kExporterLimit,    // v9/IPFIX from a new exporter past DecoderOptions::max_exporters
};
inline constexpr size_t kDatagramOutcomeCount = 7;

// The stable lower-case name used as the metric label outcome="...".
std::string_view DatagramOutcomeName(DatagramOutcome outcome);

// What one Decode call produced.
struct DecodeCounts {
  uint64_t records = 0;          // flows appended to `out`
  uint64_t invalid = 0;          // data records without (valid) addresses
  uint64_t options_records = 0;  // options data records (not flows)
  uint64_t pending = 0;          // data sets kept until their template arrives
  uint64_t expired = 0;          // kept data sets dropped (too old, or too many)
  uint8_t version = 0;           // 5, 9, 10; 0 when unreadable
};

struct DecoderOptions {
  // Data sets waiting for their template, per exporter, and for how long.
  size_t max_pending_sets = 256;
  uint64_t max_pending_age_ns = 60'000'000'000ull;
  // Templates kept per exporter (all versions and domains); more are refused
  // as bad templates so a hostile sender cannot grow memory without bound.
  size_t max_templates_per_exporter = 4096;
  // Bytes of waiting data sets over all exporters.
  size_t max_pending_bytes = size_t{64} << 20;
  // Exporters tracked at once; datagrams from more are still decoded for
  // v5, but v9/IPFIX from new exporters are refused (exporter_limit).
  size_t max_exporters = 65536;
};

// Per (exporter, version, source id / observation domain).
struct DomainStats {
  uint8_t version = 0;
  uint32_t domain = 0;  // v5: engine_type << 8 | engine_id
  // Sequence discontinuities (forward jumps) and the units they skipped: v5
  // flows, v9 export packets, IPFIX data records. Late datagrams that fall in
  // the latest gap reduce it (and a gap filled entirely is uncounted): two
  // parser threads may decode one exporter's chunks out of order.
  uint64_t sequence_gaps = 0;
  uint64_t sequence_lost = 0;
  // From options data (34/35, 49/50; IPFIX also 304/305) or the v5 header; 0 = unknown.
  uint64_t sampling_interval = 0;
  uint64_t sampling_algorithm = 0;
};

struct ExporterStats {
  Exporter exporter;
  uint64_t datagrams = 0;
  uint64_t flows = 0;  // data records of data templates (records + invalid)
  uint64_t last_seen_unix_ns = 0;
  uint64_t templates = 0;
  uint64_t pending_sets = 0;
  std::vector<DomainStats> domains;
};

struct DecoderSnapshot {
  uint64_t templates_known = 0;
  uint64_t pending_sets = 0;
  uint64_t pending_expired = 0;  // too old when looked at
  uint64_t pending_dropped = 0;  // pushed out by newer ones past the count bound
  std::vector<ExporterStats> exporters;
};

class Decoder {
 public:
  explicit Decoder(DecoderOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one datagram; valid flow records are appended to `out`
  // (including those of earlier data sets this datagram's templates unlock).
  // `counts` is overwritten.
  DatagramOutcome Decode(const Exporter& exporter, uint64_t received_unix_ns,
                         std::string_view datagram, std::vector<FlowRecord>* out,
                         DecodeCounts* counts);

  // Drops data sets that have waited longer than max_pending_age_ns for
  // their template. Decode does this for the exporter it decodes; a caller
  // runs this now and then (e.g. once a second) so that data from an
  // exporter that went silent is counted as expired too. Returns how many.
  uint64_t ExpirePending(uint64_t now_unix_ns);

  DecoderSnapshot Snapshot() const;

  // Every known template and uptime base, in a versioned, checksummed form.
  std::string SaveTemplates() const;
  // Adds the templates of a SaveTemplates() result. A corrupt or foreign
  // input is an error and adds nothing.
  absl::Status LoadTemplates(std::string_view saved);

  // The state behind the decoder (stages/netflow/decoder_state.h).
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nf2::netflow

#endif  // NF2INGEST_STAGES_NETFLOW_DECODER_H_
