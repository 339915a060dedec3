#include "stages/netflow/decoder.h"

#include <algorithm>
#include <utility>

#include "stages/flows/ip_text.h"
#include "stages/netflow/decoder_state.h"
#include "stages/netflow/wire.h"

namespace nf2::netflow {
namespace internal {

DomainState* Session::Domain(uint8_t version, uint32_t domain) {
  for (DomainState& d : domains) {
    if (d.stats.version == version && d.stats.domain == domain) return &d;
  }
  if (domains.size() >= kMaxDomains) return nullptr;
  DomainState& d = domains.emplace_back();
  d.stats.version = version;
  d.stats.domain = domain;
  return &d;
}

namespace {

// A late datagram: if it lies in the latest gap, that part was not lost.
void FillGap(DomainState* d, uint32_t sequence, uint32_t units) {
  if (d->gap_missing == 0 || sequence - d->gap_begin >= d->gap_size) return;
  const uint32_t filled = std::min(units, d->gap_missing);
  d->gap_missing -= filled;
  d->stats.sequence_lost -= std::min<uint64_t>(filled, d->stats.sequence_lost);
  if (d->gap_missing == 0 && d->stats.sequence_gaps > 0) --d->stats.sequence_gaps;
}

}  // namespace

void TrackSequence(DomainState* d, uint32_t sequence, uint32_t units, bool units_known) {
  // A step back by less than this is a datagram overtaken by a later one.
  constexpr uint32_t kLateWindow = 65536;
  if (d->sequence_known) {
    const uint32_t ahead = sequence - d->next_sequence;  // modulo 2^32
    const uint32_t behind = d->next_sequence - sequence;
    if (ahead != 0 && ahead < 0x80000000u) {
      ++d->stats.sequence_gaps;
      d->stats.sequence_lost += ahead;
      d->gap_begin = d->next_sequence;
      d->gap_size = d->gap_missing = ahead;
    } else if (ahead != 0 && behind < kLateWindow) {
      FillGap(d, sequence, units);
      return;
    }
  }
  d->next_sequence = sequence + units;
  d->sequence_known = units_known;
}

void ForgetPending(Session* s, DecoderTotals* totals, const std::deque<PendingSet>::iterator& it) {
  totals->pending_sets.fetch_sub(1, std::memory_order_relaxed);
  totals->pending_bytes.fetch_sub(it->bytes.size(), std::memory_order_relaxed);
  s->pending.erase(it);
}

uint64_t ExpireOldPending(Session* s, DecoderTotals* totals, uint64_t now_unix_ns,
                          uint64_t max_age_ns) {
  uint64_t expired = 0;
  // Sets are kept in arrival order, so the oldest are in front.
  while (!s->pending.empty() && now_unix_ns > s->pending.front().received_unix_ns &&
         now_unix_ns - s->pending.front().received_unix_ns > max_age_ns) {
    ForgetPending(s, totals, s->pending.begin());
    ++expired;
  }
  totals->pending_expired.fetch_add(expired, std::memory_order_relaxed);
  return expired;
}

Session* SessionMap::FindOrCreate(const Exporter& exporter, size_t max_exporters,
                                  std::atomic<uint64_t>* count) {
  Shard& shard = shards_[ExporterHash()(exporter) % kShards];
  {
    std::shared_lock lock(shard.mu);
    auto it = shard.sessions.find(exporter);
    if (it != shard.sessions.end()) return it->second.get();
  }
  std::unique_lock lock(shard.mu);
  auto it = shard.sessions.find(exporter);
  if (it != shard.sessions.end()) return it->second.get();
  if (count->load(std::memory_order_relaxed) >= max_exporters) return nullptr;
  count->fetch_add(1, std::memory_order_relaxed);
  auto& slot = shard.sessions[exporter];
  slot = std::make_unique<Session>(exporter);
  return slot.get();
}

}  // namespace internal

namespace {

constexpr size_t kV5Header = 24;
constexpr size_t kV5Record = 48;

void ReadV5Record(const uint8_t* r, const ExportContext& ctx, FlowRecord* rec) {
  FormatIpv4(r, &rec->src_ip);
  FormatIpv4(r + 4, &rec->dst_ip);
  rec->ingress_if = wire::U16(r + 12);
  rec->egress_if = wire::U16(r + 14);
  rec->packets = wire::U32(r + 16);
  rec->bytes = wire::U32(r + 20);
  rec->ts = UptimeRelativeSeconds(ctx, wire::U32(r + 24));
  rec->src_port = wire::U16(r + 32);
  rec->dst_port = wire::U16(r + 34);
  rec->proto = r[38];
}

}  // namespace

std::string_view DatagramOutcomeName(DatagramOutcome outcome) {
  switch (outcome) {
    case DatagramOutcome::kOk:
      return "ok";
    case DatagramOutcome::kTruncatedHeader:
      return "truncated_header";
    case DatagramOutcome::kUnknownVersion:
      return "unknown_version";
    case DatagramOutcome::kBadLength:
      return "bad_length";
    case DatagramOutcome::kBadSet:
      return "bad_set";
    case DatagramOutcome::kBadTemplate:
      return "bad_template";
    case DatagramOutcome::kExporterLimit:
      return "exporter_limit";
  }
  return "unknown";
}

DatagramOutcome Decoder::Impl::DecodeV5(const Exporter& exporter, uint64_t received_unix_ns,
                                        std::string_view datagram, std::vector<FlowRecord>* out,
                                        DecodeCounts* counts) {
  const auto* d = reinterpret_cast<const uint8_t*>(datagram.data());
  if (datagram.size() < kV5Header) return DatagramOutcome::kTruncatedHeader;
  const uint16_t count = wire::U16(d + 2);
  if (datagram.size() != kV5Header + kV5Record * count) return DatagramOutcome::kBadLength;
  ExportContext ctx;
  ctx.version = 5;
  ctx.sys_uptime_ms = wire::U32(d + 4);
  ctx.unix_secs = wire::U32(d + 8);
  ctx.unix_nsecs = wire::U32(d + 12);
  ctx.domain = wire::U16(d + 20);  // engine_type, engine_id
  FlowRecord rec;
  for (size_t i = 0; i < count; ++i) {
    ReadV5Record(d + kV5Header + kV5Record * i, ctx, &rec);
    out->push_back(rec);
  }
  counts->records = count;
  internal::Session* session =
      sessions.FindOrCreate(exporter, options.max_exporters, &totals.exporters);
  if (session == nullptr) return DatagramOutcome::kOk;
  std::lock_guard lock(session->mu);
  ++session->datagrams;
  session->flows += count;
  session->last_seen_unix_ns = std::max(session->last_seen_unix_ns, received_unix_ns);
  if (internal::DomainState* dom = session->Domain(5, ctx.domain)) {
    internal::TrackSequence(dom, wire::U32(d + 16), count, true);
    const uint16_t sampling = wire::U16(d + 22);
    if ((sampling & 0x3fff) != 0) {
      dom->stats.sampling_interval = sampling & 0x3fff;
      dom->stats.sampling_algorithm = sampling >> 14;
    }
  }
  return DatagramOutcome::kOk;
}

Decoder::Decoder(DecoderOptions options) : impl_(std::make_unique<Impl>(options)) {}
Decoder::~Decoder() = default;

DatagramOutcome Decoder::Decode(const Exporter& exporter, uint64_t received_unix_ns,
                                std::string_view datagram, std::vector<FlowRecord>* out,
                                DecodeCounts* counts) {
  *counts = DecodeCounts{};
  if (datagram.size() < 2) return DatagramOutcome::kTruncatedHeader;
  const uint16_t version = wire::U16(reinterpret_cast<const uint8_t*>(datagram.data()));
  switch (version) {
    case 5:
      counts->version = 5;
      return impl_->DecodeV5(exporter, received_unix_ns, datagram, out, counts);
    case 9:
    case 10:
      counts->version = static_cast<uint8_t>(version);
      return impl_->DecodeTemplated(static_cast<uint8_t>(version), exporter, received_unix_ns,
                                    datagram, out, counts);
    default:
      return DatagramOutcome::kUnknownVersion;
  }
}

uint64_t Decoder::ExpirePending(uint64_t now_unix_ns) {
  uint64_t expired = 0;
  impl_->sessions.ForEachMutable([&](internal::Session& s) {
    expired += internal::ExpireOldPending(&s, &impl_->totals, now_unix_ns,
                                          impl_->options.max_pending_age_ns);
  });
  return expired;
}

DecoderSnapshot Decoder::Snapshot() const {
  DecoderSnapshot snap;
  snap.templates_known = impl_->totals.templates.load(std::memory_order_relaxed);
  snap.pending_sets = impl_->totals.pending_sets.load(std::memory_order_relaxed);
  snap.pending_expired = impl_->totals.pending_expired.load(std::memory_order_relaxed);
  snap.pending_dropped = impl_->totals.pending_dropped.load(std::memory_order_relaxed);
  impl_->sessions.ForEach([&snap](const internal::Session& s) {
    ExporterStats& e = snap.exporters.emplace_back();
    e.exporter = s.exporter;
    e.datagrams = s.datagrams;
    e.flows = s.flows;
    e.last_seen_unix_ns = s.last_seen_unix_ns;
    e.templates = s.templates.size();
    e.pending_sets = s.pending.size();
    for (const internal::DomainState& d : s.domains) e.domains.push_back(d.stats);
  });
  return snap;
}

}  // namespace nf2::netflow
