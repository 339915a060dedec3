// Saving and loading templates (and IPFIX uptime bases), so a restart does
// not drop the first minutes of v9/IPFIX data while exporters resend them.
//
// Format (all integers big-endian):
//   "NF2TPL" u8 format-version(1) u8 0, u32 entry count, entries,
//   u64 FNV-1a of everything before it.
//   entry: u8 kind, exporter address (16), port (u16), version (u8), domain (u32), then
//     kind 1 (template): id (u16), options (u8), scope fields (u16), field count (u16),
//                        per field: type (u16), length (u16), has enterprise (u8), enterprise (u32)
//     kind 2 (uptime base): systemInitTimeMilliseconds (u64)
// A file that fails any check is refused whole.
#include <string>
#include <utility>
#include <vector>

#include "stages/netflow/decoder_state.h"
#include "stages/netflow/wire.h"

namespace nf2::netflow {
namespace {

constexpr char kMagic[] = "NF2TPL\x01";  // 8 bytes with the terminating 0
constexpr size_t kMagicSize = 8;
constexpr uint8_t kKindTemplate = 1;
constexpr uint8_t kKindUptimeBase = 2;

uint64_t Fnv1a(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (char c : bytes) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

void PutOwner(std::string* out, uint8_t kind, const Exporter& e, uint8_t version, uint32_t domain) {
  out->push_back(static_cast<char>(kind));
  out->append(reinterpret_cast<const char*>(e.addr.data()), e.addr.size());
  PutBE(out, e.port, 2);
  PutBE(out, version, 1);
  PutBE(out, domain, 4);
}

void PutTemplate(std::string* out, const Exporter& e, uint64_t key, const FlowTemplate& t) {
  PutOwner(out, kKindTemplate, e, internal::KeyVersion(key), internal::KeyDomain(key));
  PutBE(out, internal::KeyTemplateId(key), 2);
  PutBE(out, t.options ? 1 : 0, 1);
  PutBE(out, t.scope_fields, 2);
  PutBE(out, t.fields.size(), 2);
  for (const FieldSpec& f : t.fields) {
    PutBE(out, f.type, 2);
    PutBE(out, f.length, 2);
    PutBE(out, f.has_enterprise ? 1 : 0, 1);
    PutBE(out, f.enterprise, 4);
  }
}

// Reads big-endian values from the saved bytes; any read past the end sets
// failed() and returns 0.
class Reader {
 public:
  explicit Reader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), n_(bytes.size()) {}
  uint64_t Get(size_t bytes) {
    if (n_ - pos_ < bytes || failed_) {
      failed_ = true;
      return 0;
    }
    const uint64_t v = wire::UN(p_ + pos_, bytes);
    pos_ += bytes;
    return v;
  }
  const uint8_t* Take(size_t bytes) {
    if (n_ - pos_ < bytes || failed_) {
      failed_ = true;
      return nullptr;
    }
    pos_ += bytes;
    return p_ + pos_ - bytes;
  }
  bool failed() const { return failed_; }
  bool at_end() const { return pos_ == n_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool failed_ = false;
};

struct LoadedEntry {
  Exporter exporter;
  uint8_t kind = 0;
  uint64_t key = 0;  // templates; for uptime bases the id part is 0
  FlowTemplate tmpl;
  uint64_t system_init_ms = 0;
};

bool ReadTemplateBody(Reader* r, uint8_t version, LoadedEntry* e) {
  const auto id = static_cast<uint16_t>(r->Get(2));
  e->key = internal::TemplateKey(version, internal::KeyDomain(e->key), id);
  e->tmpl.version = version;
  e->tmpl.options = r->Get(1) != 0;
  e->tmpl.scope_fields = static_cast<uint16_t>(r->Get(2));
  const size_t count = r->Get(2);
  if (r->failed() || id < 256 || count > kMaxTemplateFields) return false;
  e->tmpl.fields.resize(count);
  for (FieldSpec& f : e->tmpl.fields) {
    f.type = static_cast<uint16_t>(r->Get(2));
    f.length = static_cast<uint16_t>(r->Get(2));
    f.has_enterprise = r->Get(1) != 0;
    f.enterprise = static_cast<uint32_t>(r->Get(4));
  }
  return !r->failed() && e->tmpl.Compile();
}

bool ReadEntry(Reader* r, LoadedEntry* e) {
  e->kind = static_cast<uint8_t>(r->Get(1));
  const uint8_t* addr = r->Take(16);
  if (addr == nullptr) return false;
  std::copy(addr, addr + 16, e->exporter.addr.begin());
  e->exporter.port = static_cast<uint16_t>(r->Get(2));
  const auto version = static_cast<uint8_t>(r->Get(1));
  const auto domain = static_cast<uint32_t>(r->Get(4));
  if (r->failed() || (version != 9 && version != 10)) return false;
  e->key = internal::TemplateKey(version, domain, 0);
  if (e->kind == kKindTemplate) return ReadTemplateBody(r, version, e);
  if (e->kind != kKindUptimeBase) return false;
  e->system_init_ms = r->Get(8);
  return !r->failed();
}

absl::Status ParseSaved(std::string_view saved, std::vector<LoadedEntry>* entries) {
  if (saved.size() < kMagicSize + 4 + 8 ||
      saved.substr(0, kMagicSize) != std::string_view(kMagic, kMagicSize)) {
    return absl::InvalidArgumentError("not a NetFlow template file (bad header)");
  }
  const std::string_view body = saved.substr(0, saved.size() - 8);
  Reader trailer(saved.substr(saved.size() - 8));
  if (trailer.Get(8) != Fnv1a(body)) {
    return absl::InvalidArgumentError("NetFlow template file is corrupt (checksum mismatch)");
  }
  Reader r(body.substr(kMagicSize));
  const uint64_t count = r.Get(4);
  for (uint64_t i = 0; i < count && !r.failed(); ++i) {
    if (!ReadEntry(&r, &entries->emplace_back())) {
      return absl::InvalidArgumentError("NetFlow template file holds an invalid entry");
    }
  }
  if (r.failed() || !r.at_end()) {
    return absl::InvalidArgumentError("NetFlow template file is truncated or has trailing bytes");
  }
  return absl::OkStatus();
}

}  // namespace

std::string Decoder::SaveTemplates() const {
  std::string body;
  uint32_t count = 0;
  impl_->sessions.ForEach([&](const internal::Session& s) {
    for (const auto& [key, t] : s.templates) {
      PutTemplate(&body, s.exporter, key, t);
      ++count;
    }
    for (const internal::DomainState& d : s.domains) {
      if (d.system_init_ms == 0) continue;
      PutOwner(&body, kKindUptimeBase, s.exporter, d.stats.version, d.stats.domain);
      PutBE(&body, d.system_init_ms, 8);
      ++count;
    }
  });
  std::string out(kMagic, kMagicSize);
  PutBE(&out, count, 4);
  out += body;
  PutBE(&out, Fnv1a(out), 8);
  return out;
}

absl::Status Decoder::LoadTemplates(std::string_view saved) {
  std::vector<LoadedEntry> entries;
  if (absl::Status st = ParseSaved(saved, &entries); !st.ok()) return st;
  for (LoadedEntry& e : entries) {
    internal::Session* s = impl_->sessions.FindOrCreate(e.exporter, impl_->options.max_exporters,
                                                        &impl_->totals.exporters);
    if (s == nullptr) continue;
    std::lock_guard lock(s->mu);
    if (e.kind == kKindUptimeBase) {
      if (internal::DomainState* d =
              s->Domain(internal::KeyVersion(e.key), internal::KeyDomain(e.key))) {
        d->system_init_ms = e.system_init_ms;
      }
      continue;
    }
    if (s->templates.size() >= impl_->options.max_templates_per_exporter) continue;
    auto [it, inserted] = s->templates.insert_or_assign(e.key, std::move(e.tmpl));
    if (inserted) impl_->totals.templates.fetch_add(1, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

}  // namespace nf2::netflow
