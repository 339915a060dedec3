// v9 and IPFIX messages: the header, then sets of templates, options
// templates and data, decoded with the exporter's session locked.
#include <algorithm>
#include <utility>

#include "stages/netflow/decoder_state.h"
#include "stages/netflow/wire.h"

namespace nf2::netflow {
namespace internal {

struct MessageDecoder {
  Decoder::Impl& impl;
  Session& s;
  ExportContext ctx;
  DomainState* dom = nullptr;
  uint64_t received_unix_ns = 0;
  std::vector<FlowRecord>* out = nullptr;
  DecodeCounts* counts = nullptr;
  DatagramOutcome outcome = DatagramOutcome::kOk;
  uint32_t units = 0;  // data records in this message (IPFIX sequence unit)
  bool units_known = true;

  void Fail(DatagramOutcome o) {
    if (outcome == DatagramOutcome::kOk) outcome = o;
  }
  bool ipfix() const { return ctx.version == 10; }

  void Sets(const uint8_t* p, size_t n);
  void Set(uint16_t id, const uint8_t* p, size_t n);
  void V9TemplateSet(const uint8_t* p, size_t n);
  void V9OptionsSet(const uint8_t* p, size_t n);
  void IpfixTemplateSet(const uint8_t* p, size_t n, bool options);
  bool ReadFields(const uint8_t** p, size_t* n, size_t count, FlowTemplate* t);
  void Store(uint16_t id, FlowTemplate t);
  void Withdraw(uint16_t id, bool options);
  void DataSet(uint16_t id, const uint8_t* p, size_t n);
  void Records(const FlowTemplate& t, const ExportContext& c, const uint8_t* p, size_t n,
               bool current);
  void Flow(const RecordValues& v, const ExportContext& c);
  void Option(const RecordValues& v);
  void Pend(uint64_t key, const uint8_t* p, size_t n);
  void ExpirePending();
  void ResolvePending(uint64_t key);
};

void MessageDecoder::Sets(const uint8_t* p, size_t n) {
  while (n >= 4) {
    const uint16_t id = wire::U16(p);
    const uint16_t length = wire::U16(p + 2);
    if (length < 4 || length > n) {
      Fail(DatagramOutcome::kBadSet);
      units_known = false;  // the records of the rest are unknown
      return;
    }
    Set(id, p + 4, length - 4u);
    p += length;
    n -= length;
  }
}

void MessageDecoder::Set(uint16_t id, const uint8_t* p, size_t n) {
  if (id >= 256) {
    DataSet(id, p, n);
  } else if (!ipfix() && id == 0) {
    V9TemplateSet(p, n);
  } else if (!ipfix() && id == 1) {
    V9OptionsSet(p, n);
  } else if (ipfix() && (id == 2 || id == 3)) {
    IpfixTemplateSet(p, n, id == 3);
  }
  // Other ids are reserved: skipped.
}

bool MessageDecoder::ReadFields(const uint8_t** p, size_t* n, size_t count, FlowTemplate* t) {
  t->fields.resize(count);
  for (FieldSpec& f : t->fields) {
    if (*n < 4) {
      Fail(DatagramOutcome::kBadSet);
      return false;
    }
    f.type = wire::U16(*p);
    f.length = wire::U16(*p + 2);
    *p += 4;
    *n -= 4;
    if (ipfix() && (f.type & 0x8000) != 0) {
      if (*n < 4) {
        Fail(DatagramOutcome::kBadSet);
        return false;
      }
      f.type &= 0x7fff;
      f.has_enterprise = true;
      f.enterprise = wire::U32(*p);
      *p += 4;
      *n -= 4;
    }
  }
  return true;
}

void MessageDecoder::V9TemplateSet(const uint8_t* p, size_t n) {
  while (n >= 4) {
    const uint16_t id = wire::U16(p);
    const uint16_t count = wire::U16(p + 2);
    if (id == 0 && count == 0) return;  // padding
    p += 4;
    n -= 4;
    if (id < 256 || count == 0 || count > kMaxTemplateFields) {
      Fail(DatagramOutcome::kBadTemplate);
      return;
    }
    FlowTemplate t;
    t.version = 9;
    if (!ReadFields(&p, &n, count, &t)) return;
    Store(id, std::move(t));
  }
}

void MessageDecoder::V9OptionsSet(const uint8_t* p, size_t n) {
  while (n >= 6) {
    const uint16_t id = wire::U16(p);
    const uint16_t scope_bytes = wire::U16(p + 2);
    const uint16_t option_bytes = wire::U16(p + 4);
    if (id == 0) return;  // padding
    p += 6;
    n -= 6;
    const size_t count = (scope_bytes + option_bytes) / 4u;
    if (id < 256 || scope_bytes % 4 != 0 || option_bytes % 4 != 0 || count == 0 ||
        count > kMaxTemplateFields) {
      Fail(DatagramOutcome::kBadTemplate);
      return;
    }
    FlowTemplate t;
    t.version = 9;
    t.options = true;
    t.scope_fields = static_cast<uint16_t>(scope_bytes / 4u);
    if (!ReadFields(&p, &n, count, &t)) return;
    Store(id, std::move(t));
  }
}

void MessageDecoder::IpfixTemplateSet(const uint8_t* p, size_t n, bool options) {
  while (n >= 4) {
    const uint16_t id = wire::U16(p);
    const uint16_t count = wire::U16(p + 2);
    if (id == 0 && count == 0) return;  // padding
    if (count == 0) {
      Withdraw(id, options);
      p += 4;
      n -= 4;
      continue;
    }
    const size_t header = options ? 6 : 4;
    if (n < header) {
      Fail(DatagramOutcome::kBadSet);
      return;
    }
    FlowTemplate t;
    t.version = 10;
    t.options = options;
    t.scope_fields = options ? wire::U16(p + 4) : 0;
    p += header;
    n -= header;
    if (id < 256 || count > kMaxTemplateFields || t.scope_fields > count) {
      Fail(DatagramOutcome::kBadTemplate);
      return;
    }
    if (!ReadFields(&p, &n, count, &t)) return;
    Store(id, std::move(t));
  }
}

void MessageDecoder::Store(uint16_t id, FlowTemplate t) {
  if (!t.Compile()) {
    Fail(DatagramOutcome::kBadTemplate);
    return;
  }
  const uint64_t key = TemplateKey(ctx.version, ctx.domain, id);
  auto it = s.templates.find(key);
  if (it != s.templates.end()) {
    it->second = std::move(t);
  } else if (s.templates.size() >= impl.options.max_templates_per_exporter) {
    Fail(DatagramOutcome::kBadTemplate);
    return;
  } else {
    s.templates.emplace(key, std::move(t));
    impl.totals.templates.fetch_add(1, std::memory_order_relaxed);
  }
  if (!s.pending.empty()) ResolvePending(key);
}

void MessageDecoder::Withdraw(uint16_t id, bool options) {
  // Id 2 (templates) or 3 (options templates) withdraws all of that kind.
  const bool all = id == (options ? 3 : 2);
  if (!all && id < 256) {
    Fail(DatagramOutcome::kBadTemplate);
    return;
  }
  const size_t before = s.templates.size();
  if (all) {
    absl::erase_if(s.templates, [&](const auto& kv) {
      return KeyVersion(kv.first) == ctx.version && KeyDomain(kv.first) == ctx.domain &&
             kv.second.options == options;
    });
  } else {
    s.templates.erase(TemplateKey(ctx.version, ctx.domain, id));
  }
  impl.totals.templates.fetch_sub(before - s.templates.size(), std::memory_order_relaxed);
}

void MessageDecoder::DataSet(uint16_t id, const uint8_t* p, size_t n) {
  const uint64_t key = TemplateKey(ctx.version, ctx.domain, id);
  auto it = s.templates.find(key);
  if (it == s.templates.end()) {
    Pend(key, p, n);
    return;
  }
  Records(it->second, ctx, p, n, true);
}

void MessageDecoder::Records(const FlowTemplate& t, const ExportContext& c, const uint8_t* p,
                             size_t n, bool current) {
  // What is left after the last whole record is padding.
  while (n >= t.min_record_length) {
    RecordValues v;
    const size_t used = t.Extract(p, n, &v);
    if (used == 0) {
      Fail(DatagramOutcome::kBadSet);
      if (current) units_known = false;
      return;
    }
    p += used;
    n -= used;
    if (current) ++units;
    if (t.options) {
      Option(v);
    } else {
      Flow(v, c);
    }
  }
}

void MessageDecoder::Flow(const RecordValues& v, const ExportContext& c) {
  FlowRecord rec;
  ++s.flows;
  if (BuildFlowRecord(v, c, dom != nullptr ? dom->system_init_ms : 0, &rec)) {
    out->push_back(rec);
    ++counts->records;
  } else {
    ++counts->invalid;
  }
}

void MessageDecoder::Option(const RecordValues& v) {
  ++counts->options_records;
  if (dom == nullptr) return;
  if (v.has(Role::kSamplingInterval)) dom->stats.sampling_interval = v.get(Role::kSamplingInterval);
  if (v.has(Role::kSamplingAlgorithm)) {
    dom->stats.sampling_algorithm = v.get(Role::kSamplingAlgorithm);
  }
  if (v.has(Role::kSystemInit)) dom->system_init_ms = v.get(Role::kSystemInit);
}

void MessageDecoder::Pend(uint64_t key, const uint8_t* p, size_t n) {
  units_known = false;
  DecoderTotals& totals = impl.totals;
  if (totals.pending_bytes.load(std::memory_order_relaxed) + n > impl.options.max_pending_bytes ||
      impl.options.max_pending_sets == 0) {
    totals.pending_dropped.fetch_add(1, std::memory_order_relaxed);
    ++counts->expired;
    return;
  }
  if (s.pending.size() >= impl.options.max_pending_sets) {
    ForgetPending(&s, &impl.totals, s.pending.begin());
    totals.pending_dropped.fetch_add(1, std::memory_order_relaxed);
    ++counts->expired;
  }
  s.pending.push_back(
      PendingSet{key, received_unix_ns, ctx, std::string(reinterpret_cast<const char*>(p), n)});
  totals.pending_sets.fetch_add(1, std::memory_order_relaxed);
  totals.pending_bytes.fetch_add(n, std::memory_order_relaxed);
  ++counts->pending;
}

void MessageDecoder::ExpirePending() {
  counts->expired +=
      ExpireOldPending(&s, &impl.totals, received_unix_ns, impl.options.max_pending_age_ns);
}

void MessageDecoder::ResolvePending(uint64_t key) {
  const FlowTemplate& t = s.templates.find(key)->second;
  for (auto it = s.pending.begin(); it != s.pending.end();) {
    if (it->key != key) {
      ++it;
      continue;
    }
    const auto* p = reinterpret_cast<const uint8_t*>(it->bytes.data());
    Records(t, it->context, p, it->bytes.size(), false);
    const auto index = it - s.pending.begin();
    ForgetPending(&s, &impl.totals, it);
    it = s.pending.begin() + index;
  }
}

}  // namespace internal

namespace {

constexpr size_t kV9Header = 20;
constexpr size_t kIpfixHeader = 16;

// Reads the v9/IPFIX header into `ctx`; the sets span [*begin, *end).
DatagramOutcome ReadHeader(uint8_t version, std::string_view datagram, ExportContext* ctx,
                           uint32_t* sequence, size_t* begin, size_t* end) {
  const auto* d = reinterpret_cast<const uint8_t*>(datagram.data());
  ctx->version = version;
  if (version == 9) {
    if (datagram.size() < kV9Header) return DatagramOutcome::kTruncatedHeader;
    ctx->sys_uptime_ms = wire::U32(d + 4);
    ctx->unix_secs = wire::U32(d + 8);
    *sequence = wire::U32(d + 12);
    ctx->domain = wire::U32(d + 16);
    *begin = kV9Header;
    *end = datagram.size();
    return DatagramOutcome::kOk;
  }
  if (datagram.size() < kIpfixHeader) return DatagramOutcome::kTruncatedHeader;
  const uint16_t length = wire::U16(d + 2);
  if (length < kIpfixHeader || length > datagram.size()) return DatagramOutcome::kBadLength;
  ctx->unix_secs = wire::U32(d + 4);
  *sequence = wire::U32(d + 8);
  ctx->domain = wire::U32(d + 12);
  *begin = kIpfixHeader;
  *end = length;
  return DatagramOutcome::kOk;
}

}  // namespace

DatagramOutcome Decoder::Impl::DecodeTemplated(uint8_t version, const Exporter& exporter,
                                               uint64_t received_unix_ns, std::string_view datagram,
                                               std::vector<FlowRecord>* out, DecodeCounts* counts) {
  ExportContext ctx;
  uint32_t sequence = 0;
  size_t begin = 0;
  size_t end = 0;
  const DatagramOutcome header = ReadHeader(version, datagram, &ctx, &sequence, &begin, &end);
  if (header != DatagramOutcome::kOk) return header;
  internal::Session* session =
      sessions.FindOrCreate(exporter, options.max_exporters, &totals.exporters);
  if (session == nullptr) return DatagramOutcome::kExporterLimit;
  std::lock_guard lock(session->mu);
  internal::MessageDecoder m{*this, *session, ctx};
  m.dom = session->Domain(version, ctx.domain);
  m.received_unix_ns = received_unix_ns;
  m.out = out;
  m.counts = counts;
  m.ExpirePending();
  m.Sets(reinterpret_cast<const uint8_t*>(datagram.data()) + begin, end - begin);
  ++session->datagrams;
  session->last_seen_unix_ns = std::max(session->last_seen_unix_ns, received_unix_ns);
  if (m.dom != nullptr) {
    // v9 numbers export packets; IPFIX numbers data records.
    const bool v9 = version == 9;
    internal::TrackSequence(m.dom, sequence, v9 ? 1 : m.units, v9 || m.units_known);
  }
  return m.outcome;
}

}  // namespace nf2::netflow
